"""Several head-end processes on one PostgreSQL database (issue 17's done-when):

- four processes protecting with the same keys through one PostgreSQL counter
  store never use a (key, invocation counter) pair twice, also when one of
  them is SIGKILLed mid-way and restarted;
- two registration listeners fed one storm record every registration once,
  and the bindings are what one listener gives.

Every wait is bounded."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable

import pytest

pytestmark = [pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL"), pytest.mark.single_backend]

SENDER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "postgres_sender_child.py")
BOUND = 120.0


def _used(log: str) -> list[tuple[str, int]]:
    if not os.path.exists(log):
        return []
    with open(log) as fh:
        return [(k, int(v)) for k, v in (line.split() for line in fh if line.strip())]


def _sender(url: str, log: str, frames: int, block: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, SENDER, url, log, str(frames), str(block)])


def _wait(procs: list[subprocess.Popen[bytes]]) -> None:
    deadline = time.monotonic() + BOUND
    for proc in procs:
        try:
            assert proc.wait(timeout=max(0.1, deadline - time.monotonic())) == 0
        except subprocess.TimeoutExpired:
            for p in procs:
                p.kill()
            pytest.fail("a sender did not finish in time")


def _no_pair_twice(logs: list[str]) -> list[tuple[str, int]]:
    used = [pair for log in logs for pair in _used(log)]
    twice = [pair for pair, n in Counter(used).items() if n > 1]
    assert not twice, f"(key, counter) pairs used twice: {twice[:10]}"
    return used


def _run(tmp_path: object, url: str, frames: int, block: int, kill: bool) -> None:
    logs = [os.path.join(str(tmp_path), f"sender{i}.log") for i in range(4)]
    procs = [_sender(url, log, frames, block) for log in logs]
    before = 0
    if kill:
        deadline = time.monotonic() + BOUND
        while len(_used(logs[0])) < frames // 4:  # mid-way
            assert time.monotonic() < deadline, "the sender never got mid-way"
            assert procs[0].poll() is None, f"the sender exited with {procs[0].returncode}"
            time.sleep(0.005)
        procs[0].send_signal(signal.SIGKILL)
        assert procs[0].wait(timeout=BOUND) == -signal.SIGKILL
        before = len(_used(logs[0]))
        assert before < frames  # killed before it finished
        procs = procs[1:] + [_sender(url, logs[0], frames, block)]
    _wait(procs)
    used = _no_pair_twice(logs)
    expected = 4 * frames + before
    assert len(used) == expected
    # both keys (unicast and broadcast) were shared by all four processes
    for key in ("u", "b"):
        per_process = [{ic for k, ic in _used(log) if k == key} for log in logs]
        assert all(per_process)


@pytest.mark.parametrize("kill", [False, True], ids=["all-run", "one-killed"])
def test_four_processes_on_one_postgres_never_use_a_counter_twice(
    tmp_path: object, postgres_db: Callable[[str], str], kill: bool
) -> None:
    _run(tmp_path, postgres_db("counters"), frames=10_000, block=64, kill=kill)


# ---------------------------------------------------------------- two listeners, one storm

STORM_METERS = 1500
STORM_COPIES = 3
STORM_CHUNK = 100
#: how long the listener that does not lead a chunk waits before taking it (seconds)
LEAD = 0.02
LISTENER_AT = ("2001:db8:ffff::10", 61616)


def _storm() -> list[tuple[bytes, str]]:
    """Every meter registers, repeats it twice (new frames, new counters),
    a third of them then move (an update from a new address); in time order."""
    import random

    from dlmsmesh.registration.announce import AnnouncementKind

    from .registration_support import address, announcement, frame, meter_context, title

    rng = random.Random(17)
    events: list[tuple[float, bytes, str]] = []
    for i in range(STORM_METERS):
        t = title(i)
        ctx = meter_context(t)
        start = rng.uniform(0, 60)
        a = announcement(t, [address(i)], sequence=1)
        for copy in range(STORM_COPIES):
            events.append((start + 5 * copy, frame(ctx, a), address(i)))
        if i % 3 == 0:
            moved = announcement(t, [address(i, 1)], kind=AnnouncementKind.UPDATE, sequence=2)
            events.append((start + 5 * STORM_COPIES, frame(ctx, moved), address(i, 1)))
    events.sort(key=lambda e: e[0])
    return [(data, host) for _, data, host in events]


async def _feed_storm(
    url: str, storm: list[tuple[bytes, str]], together: object = None, index: int = 0
) -> dict[str, int]:
    from dlmsmesh.registration.listener import Listener
    from dlmsmesh.registration.registry import Registry
    from dlmsmesh.transport import Address, Incoming, InProcessNetwork, RealClock

    from .registration_support import HES, keyring, title

    titles = [title(i) for i in range(STORM_METERS)]
    with Registry.open(url) as registry:
        network = InProcessNetwork(seed=1, clock=RealClock())
        listener = Listener(network.endpoint(*LISTENER_AT), registry, keyring(titles, registry), system_title=HES)
        here = Address(*LISTENER_AT)
        datagrams = [Incoming(data, Address(host, 61616), here) for data, host in storm]
        try:
            for n, start in enumerate(range(0, len(datagrams), STORM_CHUNK)):
                if together is not None:  # the storm reaches both listeners at once, chunk by chunk
                    await asyncio.to_thread(together.wait, BOUND)  # type: ignore[attr-defined]
                    if n % 2 != index:
                        # the other listener leads this chunk: both still race for
                        # the same registrations, and neither wins every chunk
                        await asyncio.sleep(LEAD)
                await listener.handle_batch(datagrams[start : start + STORM_CHUNK])
            await listener.drain(timeout=BOUND)
        finally:
            await listener.close()
        return listener.stats.as_dict()


def _untimed(binding: object) -> object:
    from dataclasses import replace

    return replace(binding, last_update=0.0, previous_until=None)  # type: ignore[type-var]


def _listener_process(url: str, storm: list[tuple[bytes, str]], barrier: object, results: object, index: int) -> None:
    results.put(asyncio.run(_feed_storm(url, storm, barrier, index)))  # type: ignore[attr-defined]


def test_two_listener_processes_fed_one_storm_record_each_registration_once(
    postgres_db: Callable[[str], str],
) -> None:
    import multiprocessing

    from dlmsmesh.registration.registry import Registry, Status

    from .registration_support import address, title

    storm = _storm()
    shared, alone = postgres_db("shared"), postgres_db("alone")
    Registry.open(shared).close()  # the schema, before two processes race to it
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    barrier = ctx.Barrier(2)
    procs = [ctx.Process(target=_listener_process, args=(shared, storm, barrier, results, i)) for i in range(2)]
    for proc in procs:
        proc.start()
    try:
        stats = [results.get(timeout=BOUND) for _ in procs]
    finally:
        for proc in procs:
            proc.join(BOUND)
            if proc.is_alive():
                proc.kill()
    assert [proc.exitcode for proc in procs] == [0, 0]
    one = asyncio.run(_feed_storm(alone, storm))
    for s in stats:  # each process saw and judged every datagram, none failed
        assert s["received"] == len(storm)
        assert s["security_failures"] == s["malformed"] == s["quarantined"] == s["store_errors"] == 0
    # alone, every frame is recorded (each copy carries a new counter)
    assert one["recorded"] == len(storm)
    with Registry.open(shared) as two_wrote, Registry.open(alone) as one_wrote:
        assert len(two_wrote.list()) == STORM_METERS
        # the same bindings, but for the wall-clock times of reception
        assert [_untimed(b) for b in two_wrote.list()] == [_untimed(b) for b in one_wrote.list()]
        shared_pairs: list[tuple[bytes, int]] = []
        alone_pairs: set[tuple[bytes, int]] = set()
        for i in range(STORM_METERS):
            t = title(i)
            binding = two_wrote.lookup(t)
            assert binding is not None and binding.status is Status.REGISTERED
            assert binding.addresses == ((address(i, 1),) if i % 3 == 0 else (address(i),))
            counters = [h["invocation_counter"] for h in two_wrote.history(t)]
            assert counters == sorted(counters)
            shared_pairs += [(t, ic) for ic in counters]
            alone_pairs.update((t, h["invocation_counter"]) for h in one_wrote.history(t))
            assert counters[-1] == one_wrote.history(t)[-1]["invocation_counter"]
    # both wrote (the storm reached them together), and each registration
    # was recorded once: by one process or the other, never both
    assert all(s["recorded"] > 0 for s in stats), stats
    assert len(shared_pairs) == len(set(shared_pairs)) == sum(s["recorded"] for s in stats)
    # and none was lost: a frame is judged after every earlier frame of its
    # meter, by each listener, so one of them recorded it
    assert set(shared_pairs) == alone_pairs and len(shared_pairs) == len(storm)
    # a copy the other listener had overtaken is stale there, never written twice
    for s in stats:
        assert s["received"] == s["recorded"] + s["duplicates"] + s["stale"] + s["replays"]
