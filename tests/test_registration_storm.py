"""Issue 14, "Done when": 10,000 meters registering within the same 60 s
window (in-process network, virtual clock) are all registered, none lost.

A neighbourhood powering up together: each meter sends its registration at
a uniform random instant of the window (the Push setup's
randomisation_start_interval) and repeats it twice, 5 s apart, each copy a
new frame under a new invocation counter, as the Announcer does; 30,000
ciphered datagrams in one minute.  The meters are emulated by their frames
(10,000 full Meter objects would cost the test 300 MB; the Announcer's end
to end behaviour is tested in test_registration_loss).  The listener's
receive queue holds a whole minute's burst and its batches are up to 4,096
datagrams: nothing is dropped, every meter is registered, and the storm is
a few dozen transactions, not 30,000.
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path

import pytest

from dlmsmesh.registration.announce import AnnouncementKind
from dlmsmesh.registration.listener import Listener
from dlmsmesh.registration.registry import Registry, Status
from dlmsmesh.transport import InProcessNetwork, LinkProfile

from .registration_support import HES, address, announcement, frame, keyring, meter_context, title

pytestmark = pytest.mark.single_backend  # a load run: the native backend, as deployed

METERS = 10_000
WINDOW = 60.0
COPIES = 3
REPETITION = 5.0
LISTENER = ("2001:db8:ffff::10", 61616)


@pytest.mark.asyncio
async def test_ten_thousand_meters_in_one_minute_all_registered(tmp_path: Path) -> None:
    rng = random.Random(10_000)
    titles = [title(i) for i in range(METERS)]
    events: list[tuple[float, int, bytes]] = []
    for i, t in enumerate(titles):
        ctx = meter_context(t)
        a = announcement(t, [address(i)], kind=AnnouncementKind.REGISTRATION, sequence=1)
        start = rng.uniform(0, WINDOW)
        for copy in range(COPIES):
            events.append((start + copy * REPETITION, i, frame(ctx, a)))
    events.sort(key=lambda e: e[0])

    network = InProcessNetwork(seed=10, link=LinkProfile(delay=0.045, jitter=0.5))
    meters = network.endpoint("fd00::1", 61616, aliases=[address(i) for i in range(METERS)])
    with Registry.open(tmp_path / "registry.sqlite") as registry:
        listener = Listener(
            network.endpoint(*LISTENER, queue_size=1 << 16), registry, keyring(titles, registry), system_title=HES
        )
        clock = network.clock

        async def storm() -> None:
            for when, i, data in events:
                if when > clock.time():
                    await clock.sleep(when - clock.time())
                await meters.send(data, LISTENER, source=address(i))

        started = time.perf_counter()
        await listener.start()
        try:
            sender = asyncio.get_running_loop().create_task(storm())
            await network.run_until_idle()
            await sender
            await listener.drain(timeout=120)
        finally:
            await listener.close()
        elapsed = time.perf_counter() - started

        registered = [registry.lookup(t) for t in titles]
        assert all(b is not None and b.status is Status.REGISTERED for b in registered)
        assert [b.addresses[0] for b in registered if b is not None] == [address(i) for i in range(METERS)]
    s = listener.stats
    assert network.stats.delivered == len(events) == METERS * COPIES
    assert listener.transport.dropped == 0 and network.stats.dropped == 0
    assert s.received == METERS * COPIES
    assert s.received == s.recorded + s.duplicates + s.stale + s.replays
    assert s.security_failures == s.malformed == s.quarantined == s.store_errors == 0
    assert s.batches < METERS * COPIES / 10  # a storm is batches, not datagrams one by one
    print(
        f"\nstorm: {METERS} meters x {COPIES} copies in {WINDOW:.0f} s (virtual): all registered;"
        f" {s.batches} batches, {elapsed:.1f} s real time, listener {s.as_dict()}"
    )
