"""Several processes on one registry file: concurrent writers lose no update,
an acknowledged registration survives SIGKILL of the writer, and a watcher
sees another process's changes.  Every wait is bounded."""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable

import pytest

from dlmsmesh.registration import ChangeKind, Outcome, Registration, Registry

from .postgres_support import Databases

pytestmark = pytest.mark.single_backend  # processes and SQLite: no codec runs

BOUND = 60.0
TITLES = [bytes.fromhex("4D4D4D00") + i.to_bytes(4, "big") for i in range(200)]


def _item(title: bytes, ic: int, host: str) -> Registration:
    return Registration(title, (host,), 61616, 1, "update", ic, None, time.time(), host)


def _writer(path: str, parity: int, rounds: int, queue: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    """Record every title ``rounds`` times with counters of one parity, a batch per round."""
    recorded = 0
    with Registry.open(path) as registry:
        for n in range(rounds):
            ic = 2 * n + parity
            out = registry.record_many([_item(t, ic, f"fd00::{parity}:{n:x}") for t in TITLES])
            recorded += out.count(Outcome.RECORDED)
            assert all(o in (Outcome.RECORDED, Outcome.STALE, Outcome.DUPLICATE) for o in out)
    queue.put(recorded)


def test_two_processes_writing_one_file_lose_no_update(db: Databases) -> None:
    path = str(db("shared"))
    Registry.open(path).close()
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    rounds = 15
    procs = [ctx.Process(target=_writer, args=(path, parity, rounds, queue)) for parity in (1, 2)]
    for p in procs:
        p.start()
    try:
        counts = [queue.get(timeout=BOUND) for _ in procs]
    finally:
        for p in procs:
            p.join(BOUND)
            if p.is_alive():
                p.kill()
    assert [p.exitcode for p in procs] == [0, 0]
    with Registry.open(path) as registry:
        top = 2 * (rounds - 1) + 2
        total_history = 0
        for title in TITLES:
            binding = registry.lookup(title)
            assert binding is not None and binding.invocation_counter == top
            assert binding.addresses == (f"fd00::2:{rounds - 1:x}",)
            counters = [h["invocation_counter"] for h in registry.history(title)]
            # every accepted change raised the counter: none regressed, none lost
            assert counters == sorted(set(counters)) and counters[-1] == top
            total_history += len(counters)
        # the outcomes each process was told agree with what was stored
        assert sum(counts) == total_history


_CHILD = r"""
import os, sys, time
from dlmsmesh.registration import Registration, Registry
path, mode = sys.argv[1], sys.argv[2]
r = Registry.open(path)
n = 0
while True:
    batch = [Registration((n * 100 + i).to_bytes(8, "big"), ("fd00::%x" % i,), 61616, 1, "registration", 1, None,
                          time.time(), "fd00::1") for i in range(100)]
    r.record_many(batch)
    n += 1
    # acknowledged: the parent may count on every title of this batch
    os.write(1, b"%d\n" % n)
    if mode == "exit" and n == 5:
        os._exit(0)  # no close, no flush of anything Python holds
"""


def _run_child(path: str, mode: str, batches: int) -> int:
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, str(path), mode], stdout=subprocess.PIPE)
    acked = 0
    deadline = time.monotonic() + BOUND
    try:
        assert proc.stdout is not None
        while acked < batches and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            acked = int(line)
        if mode == "kill":
            os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(BOUND)
        if proc.stdout is not None:
            proc.stdout.close()
    return acked


@pytest.mark.parametrize("attempt", range(3))
def test_an_acknowledged_batch_survives_sigkill(db: Databases, attempt: int) -> None:
    path = db("crash")
    acked = _run_child(path, "kill", 3 + 2 * attempt)
    assert acked >= 3, f"the writer acknowledged {acked} batches before it was killed"
    with Registry.open(path) as registry:
        listed = {b.system_title for b in registry.list()}
        # every title of every acknowledged batch; an unacknowledged one is whole or absent
        expected = {(n * 100 + i).to_bytes(8, "big") for n in range(acked) for i in range(100)}
        assert expected <= listed, f"{len(expected - listed)} acknowledged titles lost ({acked} batches acked)"
        assert len(listed) % 100 == 0, f"{len(listed)} titles: a batch half written"
        # the file is usable after the crash
        assert registry.record_many([_item(bytes(8), 7, "fd00::7")]) == [Outcome.RECORDED]


def test_a_batch_acknowledged_before_os_exit_is_on_disk(db: Databases) -> None:
    path = db("exit")
    assert _run_child(path, "exit", 10) == 5
    with Registry.open(path) as registry:
        assert len(registry.list()) == 500


def _late_writer(path: str) -> None:
    time.sleep(0.2)
    with Registry.open(path) as registry:
        registry.record_many([_item(TITLES[0], 1, "fd00::1"), _item(TITLES[1], 1, "fd00::2")])
        registry.quarantine_many([_item(TITLES[2], 9, "fd00::3")])
        registry.admit(TITLES[2])
        registry.record_many([_item(TITLES[0], 2, "fd00::4")])


@pytest.mark.asyncio
async def test_watch_sees_another_process(db: Databases) -> None:
    path = str(db("watched"))
    ctx = multiprocessing.get_context("spawn")
    async with asyncio.timeout(BOUND):
        with Registry.open(path, poll=0.05) as registry:
            stream = registry.watch()
            first = asyncio.ensure_future(stream.__anext__())
            await asyncio.sleep(0.1)  # the watch has begun
            proc = ctx.Process(target=_late_writer, args=(path,))
            proc.start()
            try:
                changes = [await first]
                while len(changes) < 5:
                    changes.append(await stream.__anext__())
            finally:
                await asyncio.to_thread(proc.join, BOUND)
            await stream.aclose()
    assert [(c.kind, c.system_title) for c in changes] == [
        (ChangeKind.RECORDED, TITLES[0]),
        (ChangeKind.RECORDED, TITLES[1]),
        (ChangeKind.QUARANTINED, TITLES[2]),
        (ChangeKind.ADMITTED, TITLES[2]),
        (ChangeKind.UPDATED, TITLES[0]),
    ]
    assert changes[-1].binding is not None and changes[-1].binding.addresses == ("fd00::4",)
    assert changes[-1].binding.previous_addresses == ("fd00::1",)
    assert proc.exitcode == 0


@pytest.mark.asyncio
async def test_on_postgres_another_process_wakes_the_watch_at_once(postgres_db: Callable[[str], str]) -> None:
    """PostgreSQL's LISTEN/NOTIFY, not polling: with a poll interval of ten
    minutes, every change of another process still arrives within the bound."""
    path = postgres_db("notified")
    ctx = multiprocessing.get_context("spawn")
    with Registry.open(path, poll=600.0) as registry:
        stream = registry.watch()
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.1)
        proc = ctx.Process(target=_late_writer, args=(path,))
        proc.start()
        try:
            async with asyncio.timeout(20.0):  # the spawned child's start-up included
                changes = [await first]
                while len(changes) < 5:
                    changes.append(await stream.__anext__())
        finally:
            await asyncio.to_thread(proc.join, BOUND)
        await stream.aclose()
    assert [(c.kind, c.system_title) for c in changes] == [
        (ChangeKind.RECORDED, TITLES[0]),
        (ChangeKind.RECORDED, TITLES[1]),
        (ChangeKind.QUARANTINED, TITLES[2]),
        (ChangeKind.ADMITTED, TITLES[2]),
        (ChangeKind.UPDATED, TITLES[0]),
    ]
    assert proc.exitcode == 0
