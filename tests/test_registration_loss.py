"""Issue 14, "Done when": with 20% of datagrams dropped (in-process network,
virtual clock), every meter ends registered thanks to its repeats, and the
send times follow the Push setup's randomisation, checked statistically
with fixed seeds, end to end (meters' Announcers -> lossy network ->
listener -> registry).  The Announcer's own timing tests check each rule
in isolation; this one checks them on the traffic the listener is fed."""

from __future__ import annotations

import math
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from dlmsmesh.cosem import default_meter
from dlmsmesh.registration.announcer import Announcer
from dlmsmesh.registration.listener import Listener
from dlmsmesh.registration.registry import Registry, Status
from dlmsmesh.server import Meter, MeterKeys, Server
from dlmsmesh.transport import InProcessNetwork, LinkProfile

from .registration_support import HES, address, keyring, keys_of, title

pytestmark = pytest.mark.single_backend  # an end-to-end run: the native backend, as deployed

METERS = 400
LOSS = 0.2
START_INTERVAL = 60  # randomisation_start_interval, s
RETRIES = 7  # number_of_retries: P(all 8 copies lost) = 0.2**8 = 2.6e-6 per meter
REPETITION = 5  # repetition_delay, s
LISTENER = ("2001:db8:ffff::10", 61616)


def _meter(i: int) -> Meter:
    t = title(i)
    ek, ak = keys_of(t)
    return Meter.from_objects(
        default_meter(t, addresses=[address(i)]), keys=MeterKeys(ek=ek, ak=ak), address=address(i)
    )


def _ks_uniform(samples: list[float], low: float, high: float) -> float:
    """The Kolmogorov-Smirnov distance of ``samples`` from U(low, high)."""
    xs = sorted((s - low) / (high - low) for s in samples)
    n = len(xs)
    return max(max((k + 1) / n - x, x - k / n) for k, x in enumerate(xs))


@pytest.mark.asyncio
async def test_every_meter_registers_through_20_percent_loss(tmp_path: Path) -> None:
    titles = [title(i) for i in range(METERS)]
    network = InProcessNetwork(seed=14, link=LinkProfile(delay=0.045, jitter=0.4, loss=LOSS))
    endpoint = network.endpoint("fd00::1", 61616, aliases=[address(i) for i in range(METERS)])
    sends: dict[str, list[float]] = defaultdict(list)
    send = endpoint.send

    async def recording(data: Any, to: Any, *, source: str | None = None) -> None:
        sends[source or "?"].append(network.clock.time())
        await send(data, to, source=source)

    endpoint.send = recording  # type: ignore[method-assign]
    server = Server(endpoint)  # not started: the meters only announce here
    meters = [server.add_meter(_meter(i)) for i in range(METERS)]
    announcers = [
        Announcer(
            server,
            m,
            destination=LISTENER,
            rng=random.Random(i),
            randomisation_start_interval=START_INTERVAL,
            number_of_retries=RETRIES,
            repetition_delay=REPETITION,
        )  # fmt: skip
        for i, m in enumerate(meters)
    ]
    with Registry.open(tmp_path / "registry.sqlite") as registry:
        listener = Listener(
            network.endpoint(*LISTENER, queue_size=1 << 14), registry, keyring(titles, registry), system_title=HES
        )
        await listener.start()
        try:
            for a in announcers:
                await a.start()
            await network.run_until_idle()
            await listener.drain(timeout=60)
            # every meter is registered with its own address
            bindings = [registry.lookup(t) for t in titles]
            assert all(b is not None and b.status is Status.REGISTERED for b in bindings)
            assert [b.addresses for b in bindings if b is not None] == [(address(i),) for i in range(METERS)]
            # ... thanks to the repeats: about a fifth lost their first frame (counter 1)
            late = sum(1 for t in titles if registry.history(t)[0]["invocation_counter"] > 1)
            assert abs(late - LOSS * METERS) < 4 * math.sqrt(METERS * LOSS * (1 - LOSS)), late
        finally:
            for a in announcers:
                await a.close()
            await listener.close()

    # the network dropped a fifth of what was sent (binomial, 4 sigma)
    total = network.stats.sent
    assert total == METERS * (RETRIES + 1)
    assert abs(network.stats.lost - LOSS * total) < 4 * math.sqrt(total * LOSS * (1 - LOSS))
    # every meter sent its frame and its repeats, repetition_delay apart
    assert sorted(sends) == sorted(address(i) for i in range(METERS))
    for times in sends.values():
        assert len(times) == RETRIES + 1
        assert all(math.isclose(b - a, REPETITION) for a, b in zip(times, times[1:]))
    # first sends uniform over the randomisation start interval: Kolmogorov-Smirnov
    # at the 1% level (critical value 1.63 / sqrt(n)), mean and spread as U(0, 60)
    firsts = [times[0] for times in sends.values()]
    assert 0 <= min(firsts) and max(firsts) <= START_INTERVAL
    assert _ks_uniform(firsts, 0, START_INTERVAL) < 1.63 / math.sqrt(METERS)
    mean = sum(firsts) / METERS
    assert abs(mean - START_INTERVAL / 2) < 4 * (START_INTERVAL / math.sqrt(12)) / math.sqrt(METERS)
    variance = sum((x - mean) ** 2 for x in firsts) / (METERS - 1)
    assert abs(variance / (START_INTERVAL**2 / 12) - 1) < 0.25
    # and the listener accounted for every datagram that arrived
    s = listener.stats
    assert s.received == network.stats.delivered
    assert s.received == s.recorded + s.duplicates + s.stale + s.replays
    assert s.security_failures == s.malformed == s.quarantined == s.store_errors == 0
