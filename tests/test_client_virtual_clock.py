"""A Client on the in-process network's virtual clock: every wait (reply
deadlines, retries' backoff, the in-flight slot timeout, the COSEM-OPEN
rate) runs on the network's time, so a lossy multi-hop exchange that takes
virtual minutes runs in a moment and repeats exactly from its seed."""

from __future__ import annotations

import asyncio
import random
import time
from typing import Any

import pytest

from dlmsmesh.client import Client, MemoryResolver
from dlmsmesh.client.pacing import InFlightLimiter
from dlmsmesh.errors import DlmsTimeout
from dlmsmesh.server import Server
from dlmsmesh.transport import Address, InProcessNetwork, LinkProfile
from dlmsmesh.transport.clock import VirtualClock

from .loopback_support import HEAD_END, TITLE, make_meter

SERVER_HOST, CLIENT_HOST, PORT = "fd00::1", "fd00::2", 4059
LDN = (1, "0.0.42.0.0.255", 2)
PROFILE = (7, "1.0.99.1.0.255", 2)


async def _drive(net: InProcessNetwork, work: Any, *, step: float = 0.05, limit: float = 3600.0) -> Any:
    """Run ``work`` while moving the virtual clock on, ``step`` at a time."""
    task = asyncio.get_running_loop().create_task(work)
    moved = 0.0
    while not task.done():
        if moved > limit:
            task.cancel()
            raise AssertionError(f"not done after {limit} virtual seconds")
        await net.advance(step)
        moved += step
    return task.result()


async def _run(seed: int, link: LinkProfile) -> tuple[list[Any], dict[str, int], float]:
    net = InProcessNetwork(seed=seed, link=link)
    server = Server(net.endpoint(SERVER_HOST, PORT))
    server.add_meter(make_meter(address=None))
    resolver = MemoryResolver()
    resolver.set(TITLE, Address(SERVER_HOST, PORT), hops=4)
    client = Client(net.endpoint(CLIENT_HOST, PORT), system_title=HEAD_END, resolver=resolver, rng=random.Random(seed))
    assert isinstance(client.clock, VirtualClock)

    async def work() -> list[Any]:
        async with server, client, client.associate(TITLE) as meter:
            return [bytes(await meter.get(LDN)) for _ in range(5)] + [len(await meter.get(PROFILE))]

    values = await _drive(net, work())
    return values, client.stats.as_dict(), net.clock.time()


@pytest.mark.asyncio
async def test_a_lossy_exchange_runs_on_virtual_time_and_repeats_from_its_seed() -> None:
    link = LinkProfile(delay=0.3, jitter=0.2, loss=0.1)
    started = time.monotonic()
    values, stats, virtual = await _run(7, link)
    wall = time.monotonic() - started
    assert values[:5] == [b"MMM0000012345678"] * 5 and values[5] > 0
    assert stats["retries"] > 0 and stats["timeouts"] == 0
    # retries waited virtual seconds (a 4-hop round-trip estimate), not real ones
    assert virtual > 5.0 and wall < virtual
    again = await _run(7, link)
    assert again == (values, stats, virtual)


@pytest.mark.asyncio
async def test_the_in_flight_slot_timeout_runs_on_the_given_clock() -> None:
    clock = VirtualClock()
    limiter = InFlightLimiter(1, timeout=30.0, clock=clock)
    key = limiter.key_of(Address("fd00::1", 1))
    await limiter.acquire(key)
    waiting = asyncio.get_running_loop().create_task(limiter.acquire(key))
    await clock.advance(29.0)
    assert not waiting.done()
    await clock.advance(1.5)
    with pytest.raises(DlmsTimeout, match="no request slot"):
        await waiting
    limiter.release(key)
    assert len(limiter) == 0
    # a slot handed over before the deadline is taken, and the timer is dropped
    await limiter.acquire(key)
    waiting = asyncio.get_running_loop().create_task(limiter.acquire(key))
    await clock.advance(1.0)
    limiter.release(key)
    await asyncio.wait_for(waiting, 1)
    await clock.advance(60.0)
    assert limiter.in_flight(Address("fd00::1", 1)) == 1
    limiter.release(key)
    assert len(limiter) == 0


@pytest.mark.asyncio
async def test_a_slow_resolver_does_not_eat_the_attempts_timeout() -> None:
    """The wait for a reply starts when the request leaves: a resolver that
    takes longer than the timeout (a registry read in a worker thread, on a
    clock that runs on meanwhile) costs no retry."""
    net = InProcessNetwork(seed=3, link=LinkProfile(delay=0.05))
    server = Server(net.endpoint(SERVER_HOST, PORT))
    server.add_meter(make_meter(address=None))
    slow = MemoryResolver()
    slow.set(TITLE, Address(SERVER_HOST, PORT))
    clock = net.clock

    class SlowResolver:
        async def resolve(self, title: bytes) -> Address:
            await clock.sleep(3.0)  # three timeouts' worth
            return await slow.resolve(title)

    client = Client(net.endpoint(CLIENT_HOST, PORT), system_title=HEAD_END, resolver=SlowResolver(), timeout=1.0,
                    retries=0, associations_per_second=None)  # fmt: skip

    async def work() -> bytes:
        async with server, client, client.associate(TITLE) as meter:
            return bytes(await meter.get(LDN))

    assert (await _drive(net, work())).startswith(b"MMM")
    assert client.stats.retries == 0 and client.stats.timeouts == 0
