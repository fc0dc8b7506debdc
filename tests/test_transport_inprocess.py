"""The in-process network: its link model, its determinism from a seed,
multicast groups, and a virtual clock that runs faster than real time."""

from __future__ import annotations

import asyncio
import time

import pytest

from dlmsmesh.errors import DlmsTimeout
from dlmsmesh.transport import (
    MESH_UDP_PORT,
    Address,
    AddressError,
    InProcessEndpoint,
    InProcessNetwork,
    LinkProfile,
    RealClock,
    TransportError,
    VirtualClock,
)

pytestmark = pytest.mark.single_backend  # no codec involved

A, B = "2001:db8::a", "2001:db8::b"
N = 10_000


async def _collect(ep: InProcessEndpoint, clock: VirtualClock, out: list[tuple[float, bytes]], limit: int) -> None:
    for _ in range(limit):
        data, _ = await ep.recv()
        out.append((clock.time(), data))


async def _run_traffic(seed: int, profile: LinkProfile, count: int = N, gap: float = 0.001) -> tuple[
    list[tuple[float, bytes]], InProcessNetwork
]:  # fmt: skip
    """``count`` numbered datagrams A -> B, one every ``gap`` seconds; what B
    received and when, in virtual time."""
    net = InProcessNetwork(seed=seed, link=profile)
    clock = net.clock
    assert isinstance(clock, VirtualClock)
    a, b = net.endpoint(A, MESH_UDP_PORT), net.endpoint(B, MESH_UDP_PORT)
    got: list[tuple[float, bytes]] = []
    receiver = asyncio.create_task(_collect(b, clock, got, 3 * count))
    for i in range(count):
        await a.send(i.to_bytes(4, "big"), b.local_address)
        await net.advance(gap)
    await net.run_until_idle()
    await b.close()
    with pytest.raises(TransportError):
        await receiver  # closed while waiting for more
    await a.close()
    return got, net


LOSSY = LinkProfile(delay=0.010, jitter=0.0, loss=0.10, duplicate=0.05, reorder=0.10, reorder_delay=0.0045)


@pytest.mark.asyncio
async def test_same_seed_same_run_other_seed_other_run() -> None:
    profile = LinkProfile(delay=0.02, jitter=0.03, loss=0.1, duplicate=0.05, reorder=0.1)
    first, net1 = await _run_traffic(42, profile, count=2000)
    second, net2 = await _run_traffic(42, profile, count=2000)
    other, _ = await _run_traffic(43, profile, count=2000)
    assert first == second  # order, bytes and virtual arrival times, exactly
    assert net1.stats == net2.stats
    assert first != other
    assert len(first) > 1500


@pytest.mark.asyncio
async def test_loss_duplication_and_reordering_rates() -> None:
    got, net = await _run_traffic(2024, LOSSY)
    stats = net.stats
    assert stats.sent == N
    assert abs(stats.lost / N - 0.10) < 0.015
    survived = N - stats.lost
    assert abs(stats.duplicated / survived - 0.05) < 0.01
    copies = survived + stats.duplicated
    assert abs(stats.reordered / copies - 0.10) < 0.015
    assert stats.delivered == len(got) == copies
    assert stats.dropped == stats.unroutable == 0

    # what the receiver saw agrees with the counters
    seqs = [int.from_bytes(d, "big") for _, d in got]
    assert len(seqs) - len(set(seqs)) == stats.duplicated
    assert len(set(seqs)) == survived
    # a datagram is out of order when one sent after it arrived before it
    later_max, overtaken = -1, 0
    for seq in seqs:
        if seq < later_max:
            overtaken += 1
        later_max = max(later_max, seq)
    # held copies are overtaken, except a duplicate's second copy whose twin arrived first
    assert abs(overtaken / copies - 0.10) < 0.02
    # every arrival is 10 ms after its send, or 14.5 ms when held back
    for when, data in got[:500]:
        sent = int.from_bytes(data, "big") * 0.001
        assert round(when - sent, 6) in (0.010, 0.0145)


@pytest.mark.asyncio
async def test_jitter_stays_within_its_bounds() -> None:
    got, _ = await _run_traffic(5, LinkProfile(delay=0.1, jitter=0.05), count=1000, gap=0.01)
    flights = [when - int.from_bytes(d, "big") * 0.01 for when, d in got]
    assert len(flights) == 1000
    assert 0.1 - 1e-9 <= min(flights) and max(flights) < 0.15 + 1e-9
    assert max(flights) - min(flights) > 0.04  # really spread, not constant


@pytest.mark.asyncio
async def test_per_link_profile_overrides_the_default() -> None:
    net = InProcessNetwork(seed=1, link=LinkProfile(delay=1.0))
    net.set_link(A, "2001:db8:0::c", LinkProfile(delay=0.25))
    assert net.link("2001:db8::c", A).delay == 0.25  # both ways, and any spelling of the address
    a, b, c = net.endpoint(A, 1), net.endpoint(B, 1), net.endpoint("2001:db8::c", 1)
    await a.send(b"to-b", b.local_address)
    await a.send(b"to-c", c.local_address)
    await net.advance(0.5)
    assert await c.recv(timeout=0) == (b"to-c", Address(A, 1))
    with pytest.raises(DlmsTimeout):
        await b.recv(timeout=0)
    await net.advance(0.5)
    assert (await b.recv(timeout=0))[0] == b"to-b"


def test_link_profile_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        LinkProfile(loss=1.5)
    with pytest.raises(ValueError):
        LinkProfile(delay=-1)
    with pytest.raises(ValueError):
        LinkProfile(jitter=float("nan"))


@pytest.mark.asyncio
async def test_multicast_reaches_every_member_on_the_port() -> None:
    net = InProcessNetwork(seed=3, link=LinkProfile(delay=0.01, jitter=0.01))
    group = "ff03::d1:1"
    head_end = net.endpoint("2001:db8:ffff::10", MESH_UDP_PORT)
    members = [net.endpoint(f"2001:db8:1::{i}", MESH_UDP_PORT) for i in range(1, 51)]
    outsider = net.endpoint("2001:db8:1::99", MESH_UDP_PORT)
    other_port = net.endpoint("2001:db8:1::98", 4059)
    for ep in [*members, other_port]:
        ep.join_group("ff03:0:0:0:0:0:d1:1")  # any spelling of the group
    await head_end.send(b"group request", (group, MESH_UDP_PORT))
    await net.run_until_idle()
    for ep in members:
        assert await ep.recv(timeout=0) == (b"group request", head_end.local_address)
        with pytest.raises(DlmsTimeout):
            await ep.recv(timeout=0)
    for ep in (outsider, other_port):
        with pytest.raises(DlmsTimeout):
            await ep.recv(timeout=0)
    assert net.stats.delivered == 50

    # a member that leaves hears no more; a member's own send does not come back to it
    members[0].leave_group(group)
    await members[1].send(b"from a member", (group, MESH_UDP_PORT))
    await net.run_until_idle()
    with pytest.raises(DlmsTimeout):
        await members[0].recv(timeout=0)
    with pytest.raises(DlmsTimeout):
        await members[1].recv(timeout=0)
    assert [(await ep.recv(timeout=0))[0] for ep in members[2:]] == [b"from a member"] * 48


@pytest.mark.asyncio
async def test_one_endpoint_serves_many_addresses_and_knows_which() -> None:
    """A server hosting many meters: one endpoint, one queue, the destination
    of each datagram telling the meter (or the group) it was meant for."""
    net = InProcessNetwork(link=LinkProfile(delay=0.01))
    meters = [f"2001:db8:1::{i:x}" for i in range(1, 101)]
    server = net.endpoint(meters[0], MESH_UDP_PORT, aliases=meters[1:])
    assert server.addresses[0] == server.local_address and len(server.addresses) == 100
    server.join_group("ff03::d1:7")
    head_end = net.endpoint("2001:db8:ffff::10", MESH_UDP_PORT)
    for host in reversed(meters):
        await head_end.send(host.encode(), (host, MESH_UDP_PORT))
    await head_end.send(b"group", ("ff03::d1:7", MESH_UDP_PORT))
    await net.run_until_idle()
    got = await server.recv_batch_incoming(200, timeout=0)
    assert [(d, dst) for d, _, dst in got[:100]] == [(h.encode(), Address(h, MESH_UDP_PORT)) for h in reversed(meters)]
    assert got[100] == (b"group", head_end.local_address, Address("ff03::d1:7", MESH_UDP_PORT))
    with pytest.raises(TransportError, match="in use"):
        net.endpoint("2001:db8::5", MESH_UDP_PORT, aliases=[meters[5]])
    await server.close()
    assert net.endpoint(meters[5], MESH_UDP_PORT).local_address == (meters[5], MESH_UDP_PORT)  # all freed


@pytest.mark.asyncio
async def test_multicast_addresses_are_checked() -> None:
    net = InProcessNetwork()
    ep = net.endpoint(A, 1)
    with pytest.raises(AddressError):
        ep.join_group("2001:db8::1")
    with pytest.raises(AddressError):
        net.endpoint("ff03::1", 1)


@pytest.mark.asyncio
async def test_ports_unroutable_and_in_flight_to_a_closed_endpoint() -> None:
    net = InProcessNetwork(link=LinkProfile(delay=1.0))
    a = net.endpoint(A)
    assert a.local_address == Address(A, 49152)
    assert net.endpoint(A).local_address.port == 49153
    with pytest.raises(TransportError, match="in use"):
        net.endpoint("2001:DB8::A", 49152)
    b = net.endpoint(B, 7)
    await a.send(b"nobody", (B, 8))
    await a.send(b"in flight", b.local_address)
    await b.close()
    await net.run_until_idle()
    assert net.stats.unroutable == 2 and net.stats.delivered == 0
    again = net.endpoint(B, 7)  # the port is free after close
    assert again.local_address == Address(B, 7)


@pytest.mark.asyncio
async def test_echo_replies_at_the_virtual_instant_of_arrival() -> None:
    """A coroutine that answers what it receives sends at the virtual time
    the request arrived: the clock lets woken coroutines run before it moves."""
    net = InProcessNetwork(link=LinkProfile(delay=0.3))
    client, server = net.endpoint(A, 1), net.endpoint(B, 2)

    async def echo() -> None:
        for _ in range(3):
            data, source = await server.recv()
            await asyncio.sleep(0)  # a few real loop turns in between do not matter
            await server.send(data.upper(), source)

    task = asyncio.create_task(echo())
    times = []
    for word in (b"one", b"two", b"six"):
        start = net.clock.time()
        await client.send(word, server.local_address)
        await net.advance(1.0)
        reply, _ = await client.recv(timeout=0)
        assert reply == word.upper()
        times.append(start)
    await task
    assert times == [0.0, 1.0, 2.0]
    # each reply landed 0.6 s after its request: nothing later than that is pending
    assert net.clock.time() == 3.0


@pytest.mark.asyncio
async def test_receive_timeout_runs_on_virtual_time() -> None:
    net = InProcessNetwork()
    ep = net.endpoint(A, 1)
    start = time.monotonic()
    task = asyncio.create_task(ep.recv(timeout=3600.0))  # an hour, virtually
    await net.advance(3599.0)
    assert not task.done()
    await net.advance(2.0)
    assert task.done()
    with pytest.raises(DlmsTimeout):
        task.result()
    assert time.monotonic() - start < 5.0


@pytest.mark.asyncio
async def test_a_thousand_meters_run_faster_than_real_time() -> None:
    """1,000 meters each answer a request over a link of 2 s each way: 4 s of
    virtual time per exchange, far less real time, and no task left over."""
    net = InProcessNetwork(seed=11, link=LinkProfile(delay=2.0, jitter=0.5))
    head_end = net.endpoint("2001:db8:ffff::10", MESH_UDP_PORT)
    meters = [net.endpoint(f"2001:db8:1::{i:x}", MESH_UDP_PORT) for i in range(1, 1001)]

    async def meter(ep: InProcessEndpoint) -> None:
        data, source = await ep.recv()
        await ep.send(b"reply:" + data, source)

    tasks = [asyncio.create_task(meter(m)) for m in meters]
    real_start = time.monotonic()
    for m in meters:
        await head_end.send(m.local_address.host.encode(), m.local_address)
    await net.run_until_idle()
    real = time.monotonic() - real_start
    answers = await head_end.recv_batch(2000, timeout=0)
    assert sorted(a for a, _ in answers) == sorted(b"reply:" + m.local_address.host.encode() for m in meters)
    assert 4.0 <= net.clock.time() < 5.0  # the slowest round trip
    assert real < net.clock.time()
    await asyncio.gather(*tasks)
    for ep in [head_end, *meters]:
        await ep.close()
    assert {t for t in asyncio.all_tasks() if t is not asyncio.current_task()} == set()


@pytest.mark.asyncio
async def test_real_time_mode_delivers_on_the_loop_clock() -> None:
    net = InProcessNetwork(seed=1, link=LinkProfile(delay=0.05), clock=RealClock())
    a, b = net.endpoint(A, 1), net.endpoint(B, 1)
    loop = asyncio.get_running_loop()
    start = loop.time()
    await a.send(b"x", b.local_address)
    assert await b.recv(timeout=2) == (b"x", a.local_address)
    assert loop.time() - start >= 0.049
    with pytest.raises(TypeError):
        await net.advance(1)


@pytest.mark.asyncio
async def test_virtual_clock_timers_fire_in_due_then_set_order() -> None:
    clock = VirtualClock(start=100.0)
    fired: list[str] = []
    clock.call_later(2, fired.append, "b1")
    clock.call_later(1, fired.append, "a")
    clock.call_later(2, fired.append, "b2")
    cancelled = clock.call_later(1.5, fired.append, "never")
    cancelled.cancel()
    assert clock.pending == 3
    assert await clock.advance(1.0) == 1
    assert fired == ["a"] and clock.time() == 101.0
    assert await clock.run_until_idle() == 2
    assert fired == ["a", "b1", "b2"] and clock.time() == 102.0
    with pytest.raises(ValueError):
        await clock.advance(-1)

    async def sleeper() -> float:
        await clock.sleep(10)
        return clock.time()

    task = asyncio.create_task(sleeper())
    await clock.advance(10)
    assert task.done() and task.result() == 112.0


@pytest.mark.asyncio
async def test_virtual_clock_bounds_a_run_that_never_ends() -> None:
    clock = VirtualClock()

    def again() -> None:
        clock.call_later(0, again)

    clock.call_later(0, again)
    with pytest.raises(Exception, match="more than 100 events"):
        await clock.run_until_idle(max_events=100)


_SCRIPT = """
import asyncio, hashlib
from dlmsmesh.transport import InProcessNetwork, LinkProfile

async def main():
    net = InProcessNetwork(seed=99, link=LinkProfile(delay=0.02, jitter=0.05, loss=0.2, duplicate=0.1, reorder=0.2))
    hosts = [f"2001:db8::{i:x}" for i in range(1, 21)]
    eps = [net.endpoint(h, 61616) for h in hosts]
    for ep in eps[10:]:
        ep.join_group("ff03::d1:1")
    for i in range(400):
        src = eps[i % 20]
        dst = ("ff03::d1:1", 61616) if i % 7 == 0 else (hosts[(i * 7) % 20], 61616)
        await src.send(i.to_bytes(2, "big"), dst)
        await net.advance(0.003)
    await net.run_until_idle()
    h = hashlib.sha256()
    for ep in eps:
        while True:
            try:
                data, source = await ep.recv(timeout=0)
            except Exception:
                break
            h.update(repr((ep.local_address, source, data)).encode())
    h.update(repr(net.stats).encode())
    print(h.hexdigest(), net.clock.time())

asyncio.run(main())
"""


def test_a_run_repeats_across_processes_and_hash_seeds() -> None:
    """Nothing in the delivery order depends on str hashing or the process:
    the same seed gives the same run under different PYTHONHASHSEEDs."""
    import os
    import subprocess
    import sys

    outputs = []
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        proc = subprocess.run(
            [sys.executable, "-c", _SCRIPT], env=env, capture_output=True, text=True, timeout=120, check=True
        )
        outputs.append(proc.stdout.strip())
    assert outputs[0] == outputs[1]
    assert len(outputs[0].split()[0]) == 64


@pytest.mark.asyncio
async def test_an_endpoint_answers_from_the_alias_it_names() -> None:
    net = InProcessNetwork(seed=3)
    meters = net.endpoint("fd00::1", 4059, aliases=["fd00::2"])
    head_end = net.endpoint("fd00::9", 4059)
    await meters.send(b"x", ("fd00::9", 4059), source="fd00:0::2")
    await meters.send(b"y", ("fd00::9", 4059))
    await net.run_until_idle()
    assert [(d, a.host) for d, a in await head_end.recv_batch(8, timeout=0)] == [(b"x", "fd00::2"), (b"y", "fd00::1")]
    with pytest.raises(AddressError):
        await meters.send(b"z", ("fd00::9", 4059), source="fd00::3")
