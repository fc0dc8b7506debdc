"""Concurrency: one Client holds 10,000 open associations with 10,000 meters
and reads one register from each (issue 13, "Done when").

The meters are made from one template (as in test_load_scale.py) and served
by one Server endpoint with 10,000 aliases, each meter at its own address;
the Server answers from the alias it was asked at, so the Client routes each
reply to its association by the meter's address.  The Client finds every
meter through its resolver (asked on every send) and runs on the in-process
network with real time.  Opening, reading and releasing go in bounded
batches of concurrent coroutines (``asyncio.gather``).  The Client keeps
its default cap of requests in flight per border router (all 10,000
addresses are in one /64: one router), which holds at scale (its peak is
sampled and asserted), and lifts the cap on new associations per second (at
the default 20 per second, opening 10,000 would take over eight minutes).

What an open association costs is measured twice.  The growth of the
process's resident set (``/proc/self/statm``) from before the first AARQ to
after the AARE of the first 9,000, all still open, divided by their number:
what the operating system sees, allocator overhead included, but low when the
process reuses memory freed by earlier work (other tests in the same run).
And the Python heap's growth (tracemalloc, one frame) while the last 1,000
open: exact for what Python allocates, and unaffected by reuse.  Client and
Server share the process, so both figures hold both sides (the Server's
session of each association too): upper bounds on the Client's own share.
They are printed with the times of the three phases, for the issue note.

Measured once with tracemalloc (30 frames, 2,000 associations; too slow to
run here): 5.7 kB traced per association in all, 4.7 kB of it allocated
with ``dlmsmesh.client`` code on the stack.  By the file that allocated:
asyncio/queues.py 2.3 kB (the association's inbox, an ``asyncio.Queue``:
three deques), client/core.py 1.0 kB, asyncio/locks.py 0.74 kB,
client/association.py 0.28 kB, server/associate.py 0.30 kB, server/core.py
0.11 kB, server/session.py 0.07 kB.
"""

from __future__ import annotations

import asyncio
import gc
import os
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import pytest

from dlmsmesh.client import Client, MemoryResolver
from dlmsmesh.client.association import Association
from dlmsmesh.client.pacing import DEFAULT_IN_FLIGHT_PER_ROUTER
from dlmsmesh.cosem import MeterTemplate
from dlmsmesh.server import Meter, Server
from dlmsmesh.transport import Address, InProcessNetwork, RealClock

from .test_load_scale import IMPORT, LDN, _bind_energy, _bind_name, _bind_rows, _device, _host, _title

pytestmark = pytest.mark.single_backend  # a load run: the native backend, as deployed

COUNT = int(os.environ.get("CLIENT_LOAD_COUNT", "10000"))
#: coroutines in flight at once (one batch is gathered before the next starts)
BATCH = 500
#: the associations opened last, while tracemalloc traces the Python heap
TRACED = min(1000, COUNT // 10)
PORT = 4059
HEAD_END_TITLE = b"HES00001"
#: the issue's target for one open association
TARGET_BYTES = 20_000

_T = TypeVar("_T")


def _rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


async def _in_batches(items: Sequence[Any], call: Callable[[Any], Awaitable[_T]]) -> list[_T]:
    out: list[_T] = []
    for start in range(0, len(items), BATCH):
        out += await asyncio.gather(*(call(item) for item in items[start : start + BATCH]))
    return out


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc/self/statm (Linux)")
@pytest.mark.asyncio
async def test_one_client_holds_ten_thousand_associations_and_reads_each_meter() -> None:
    template = MeterTemplate(_device, {LDN: _bind_name, IMPORT: _bind_energy, "1.0.99.1.0.255": _bind_rows})
    titles = [_title(i) for i in range(COUNT)]
    hosts = [_host(i) for i in range(COUNT)]
    network = InProcessNetwork(seed=13, clock=RealClock())
    server = Server(network.endpoint("fd00::ffff", PORT, aliases=hosts, queue_size=COUNT + 16))
    server.add_meters(
        Meter.from_template(template, title, associations={16: "0.0.40.0.0.255"}, address=host, serial=i)
        for i, (title, host) in enumerate(zip(titles, hosts))
    )
    resolver = MemoryResolver()
    for title, host in zip(titles, hosts):
        resolver.set(title, Address(host, PORT))
    # a generous timeout: a batch of 500 takes well under a second, and a retry would be a finding
    endpoint = network.endpoint("fd01::1", 40000, queue_size=COUNT + 16)
    client = Client(
        endpoint, system_title=HEAD_END_TITLE, resolver=resolver, timeout=30.0, associations_per_second=None
    )
    limiter = client.in_flight
    assert limiter is not None and limiter.limit == DEFAULT_IN_FLIGHT_PER_ROUTER
    router = Address(hosts[0], PORT)  # every meter's /64
    peaks = {"in_flight": 0, "waiting": 0}

    async def sample() -> None:
        while True:
            peaks["in_flight"] = max(peaks["in_flight"], limiter.in_flight(router))
            peaks["waiting"] = max(peaks["waiting"], limiter.waiting(router))
            await asyncio.sleep(0.002)

    async with server, client:
        sampler = asyncio.get_running_loop().create_task(sample())
        gc.collect()
        before = _rss()
        started = time.perf_counter()
        associations: list[Association] = await _in_batches(titles[: COUNT - TRACED], client.open)
        gc.collect()
        rss_per_association = (_rss() - before) / (COUNT - TRACED)
        tracemalloc.start()
        try:
            traced_before = tracemalloc.get_traced_memory()[0]
            associations += await _in_batches(titles[COUNT - TRACED :], client.open)
            gc.collect()
            traced_per_association = (tracemalloc.get_traced_memory()[0] - traced_before) / TRACED
        finally:
            tracemalloc.stop()
        opened = time.perf_counter()
        assert client.stats.associations_opened == COUNT and server.associations == COUNT
        assert all(a.open for a in associations)

        values = await _in_batches(associations, lambda a: a.get((3, IMPORT, 2)))
        read = time.perf_counter()
        # every meter answered with its own register, to the association that asked it
        assert [int(v) for v in values] == [i * 10 for i in range(COUNT)]
        assert [a.meter_title for a in associations] == titles

        await _in_batches(associations, client.release)
        released = time.perf_counter()
        sampler.cancel()
        await asyncio.gather(sampler, return_exceptions=True)

    stats = client.stats
    assert stats.associations_released == COUNT and server.associations == 0
    assert stats.sent == stats.received == 3 * COUNT
    assert (stats.retries, stats.timeouts, stats.strays) == (0, 0, 0)
    assert server.stats.internal_errors == 0
    # 500 requests wanted a slot at once; never more than the cap were outstanding
    assert peaks["in_flight"] == DEFAULT_IN_FLIGHT_PER_ROUTER and peaks["waiting"] > 0, peaks
    print(
        f"\none Client, {COUNT} open associations (in-process network, batches of {BATCH}):"
        f" {rss_per_association:.0f} bytes of RSS per open association over the first {COUNT - TRACED},"
        f" {traced_per_association:.0f} bytes of Python heap over the last {TRACED} (client + server sessions);"
        f" open {opened - started:.1f} s, one GET each {read - opened:.1f} s"
        f" ({COUNT / (read - opened):.0f} GET/s), release {released - read:.1f} s,"
        f" total {released - started:.1f} s (the last {TRACED} opened under tracemalloc)"
    )
    assert rss_per_association <= TARGET_BYTES, rss_per_association
    assert traced_per_association <= TARGET_BYTES, traced_per_association
