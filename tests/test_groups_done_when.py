"""Issue 15, "Done when": 300 emulated meters in 3 groups on the in-process
network (virtual clock), a head-end Client whose resolver is the Registry.

- a broadcast to group B gets exactly the B members' answers (explicit and
  condition-based members), none from the others, all inside the window; a
  Kolmogorov-Smirnov test does not reject uniformity of the answer times
  (p > 0.01) over several fixed seeds;
- a broadcast with a wrong key, a unicast key or a replayed counter is
  ignored by every meter and counted in its security log;
- under 10% datagram loss the client reports exactly the missing members and
  the follow-up reads them;
- real IPv6 multicast over loopback UDP where the OS allows it.
"""

from __future__ import annotations

import asyncio
import random
import socket
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from dlmsmesh import wrapper
from dlmsmesh.client import Broadcast, Client
from dlmsmesh.client.broadcast import ALL_STATION, PRE_ESTABLISHED_CLIENT
from dlmsmesh.cosem import Data, default_meter
from dlmsmesh.cosem.groups import Group, GroupCondition, add_group_objects
from dlmsmesh.groups.stats import ks_uniform
from dlmsmesh.registration import Registration, Registry
from dlmsmesh.security import SecurityContext
from dlmsmesh.server import Meter, MeterKeys, Server
from dlmsmesh.transport import Incoming, InProcessNetwork, LinkProfile, UdpTransport
from dlmsmesh.types import Array, OctetString, VisibleString

from .loopback_support import AK, BK, EK, KEK, NOW, loopback_multicast_refusal

HEAD_END = bytes.fromhex("4845530000000001")
SERVER_HOST, CLIENT_HOST, PORT = "fd00::1", "fd00::2", 4059
METERS = 300
A, B, C = GROUPS = (Group(0xA), Group(0xB), Group(0xC))
#: the members' largest random delay (response-window Push setup attribute 5)
MAX_DELAY = 30
#: one way across the network (constant: answer time - 2 * DELAY is the meter's delay)
DELAY = 0.05
#: the client collects for the delay and the network's round trip, with room to spare
WINDOW = MAX_DELAY + 2.0
LDN = (1, "0.0.42.0.0.255", 2)
FEEDER_LN = "0.0.96.99.0.255"
#: meters of group A that are members of B too, by condition (their feeder)
B_BY_CONDITION = frozenset(range(0, METERS, 30))
SEEDS = (1, 2, 3, 4, 5)
WRONG_KEY = bytes(range(0x40, 0x50))


def title_of(i: int) -> bytes:
    return bytes.fromhex("4D4D4D00") + (0x2000 + i).to_bytes(4, "big")


def address_of(i: int) -> str:
    return f"fd00::3:{i:x}"


def group_of(i: int) -> Group:
    return GROUPS[i % 3]


def members_of(group: Group) -> frozenset[bytes]:
    explicit = {title_of(i) for i in range(METERS) if group_of(i) == group}
    if group == B:
        explicit |= {title_of(i) for i in B_BY_CONDITION}
    return frozenset(explicit)


def name_of(title: bytes) -> bytes:
    return bytes(default_meter(title, now=lambda: NOW).logical_devices[1].get("0.0.42.0.0.255").value)


def emulated_meter(i: int, *, hosted: bool = True) -> Meter:
    objects = default_meter(title_of(i), now=lambda: NOW)
    feeder = "F-B" if i in B_BY_CONDITION else f"F-{i % 7}"
    conditions = [GroupCondition(B, 1, FEEDER_LN, 2, VisibleString("F-B"))]
    add_group_objects(objects, max_delay=MAX_DELAY, conditions=conditions)
    objects.ipv6_setup.multicast_ipv6_addresses = Array([OctetString(group_of(i).packed)])
    objects.logical_devices[1].add(Data(FEEDER_LN, VisibleString(feeder)))
    keys = MeterKeys(ek=EK, ak=AK, bk=BK, kek=KEK)
    return Meter.from_objects(objects, keys=keys, address=address_of(i) if hosted else None)


class RegistryOnLoop:
    """The Registry as the client's resolver, read on the event loop.

    The tests drive the in-process network's virtual clock as fast as the
    loop turns; the Registry reads a binding it has not cached in a worker
    thread, and the milliseconds that thread takes in real time are hundreds
    of virtual seconds of the drive: the paced follow-up would wait on them
    rather than on the network.  Read on the loop, the same answers come in
    no virtual time."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    async def resolve(self, system_title: bytes) -> Any:
        from dlmsmesh.client import NoAddress
        from dlmsmesh.registration import Status
        from dlmsmesh.transport import Address

        binding = self.registry.lookup(system_title)
        if binding is None or binding.status is not Status.REGISTERED or not binding.addresses:
            raise NoAddress(bytes(system_title))
        return Address(binding.addresses[0], binding.port)

    def members(self, group_id: int) -> Any:
        return self.registry.members(group_id)


@dataclass
class World:
    net: InProcessNetwork
    server: Server
    servers: list[Server]
    client: Client
    registry: Registry
    meters: list[Meter]
    keys: dict[bytes, tuple[bytes, bytes]]
    #: the source host of every datagram that reached the client, in order
    arrived: list[str]

    async def drive(self, work: Any, *, step: float = 0.5, limit: float = 7200.0) -> Any:
        task = asyncio.get_running_loop().create_task(work)
        moved = 0.0
        while not task.done():
            if moved > limit:
                task.cancel()
                raise AssertionError(f"not done after {limit} virtual seconds")
            await self.net.advance(step)
            moved += step
        return task.result()

    async def collect(self, broadcast: Broadcast) -> list[tuple[bytes, Any]]:
        async def run() -> list[tuple[bytes, Any]]:
            return [answer async for answer in broadcast]

        out: list[tuple[bytes, Any]] = await self.drive(run())
        return out

    def broadcast(self, group: Group, **options: Any) -> Broadcast:
        return self.client.broadcast(group, LDN, window=WINDOW, keys=self.keys, bk=BK, ak=AK, **options)

    def logs(self) -> list[dict[str, int]]:
        return [m.security_log.as_dict() for m in self.meters]


def _registry(path: Path) -> Registry:
    # what the head-end knows: every meter registered at its address, and the
    # memberships its administration wrote (explicit, and condition-based)
    registry = Registry.open(path, synchronous="normal", staleness=3600.0)
    registry.record_many([
        Registration(title_of(i), (address_of(i),), PORT, 1, "registration", 1, None, time.time(), address_of(i))
        for i in range(METERS)
    ])  # fmt: skip
    for i in range(METERS):
        registry.set_groups(title_of(i), [group_of(i).id])
    registry.add_members(B.id, [title_of(i) for i in B_BY_CONDITION])
    return registry


@pytest_asyncio.fixture
async def world_factory(tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    made: list[World] = []

    async def make(seed: int, link: LinkProfile | None = None, *, endpoint_per_meter: bool = False) -> World:
        net = InProcessNetwork(seed=seed, link=link or LinkProfile(delay=DELAY))
        meters = [emulated_meter(i, hosted=not endpoint_per_meter) for i in range(METERS)]
        if endpoint_per_meter:
            # each meter on its own host: the network loses a group request per meter
            servers = [
                Server(net.endpoint(address_of(i), PORT), rng=random.Random(seed * 1000 + i)) for i in range(METERS)
            ]
            for server, meter in zip(servers, meters):
                server.add_meter(meter)
        else:
            endpoint = net.endpoint(SERVER_HOST, PORT, aliases=[address_of(i) for i in range(METERS)])
            servers = [Server(endpoint, rng=random.Random(seed))]
            servers[0].add_meters(meters)
        for server in servers:
            await server.start()
        registry = _registry(tmp_path / f"registry-{seed}-{len(made)}.sqlite")
        client = Client(net.endpoint(CLIENT_HOST, PORT), system_title=HEAD_END, resolver=RegistryOnLoop(registry),
                        rng=random.Random(seed), in_flight_per_router=None, associations_per_second=None)  # fmt: skip
        await client.start()
        arrived: list[str] = []
        route = client._route

        def tap(incoming: Incoming) -> None:
            arrived.append(incoming.source.host)
            route(incoming)

        client.transport.on_receive(tap)  # type: ignore[attr-defined]
        keys = {title_of(i): (EK, AK) for i in range(METERS)}
        world = World(net, servers[0], servers, client, registry, meters, keys, arrived)
        made.append(world)
        return world

    yield make
    for w in made:
        await w.client.close()
        for server in w.servers:
            await server.close()
        w.registry.close()


# ---------------------------------------------------------------- exactly the members, inside the window, uniform


@pytest.mark.asyncio
async def test_a_broadcast_to_b_gets_exactly_the_b_members_answers_inside_the_window_uniformly(
    world_factory: Callable[..., Any],
) -> None:
    expected_b = members_of(B)
    assert len(expected_b) == 110 and len(members_of(A)) == len(members_of(C)) == 100
    pvalues = []
    for seed in SEEDS:
        w = await world_factory(seed)
        b = w.broadcast(B)
        answers = await w.collect(b)
        s = b.summary
        # exactly B's members, each once, with its own value
        assert sorted(t for t, _ in answers) == sorted(expected_b)
        assert all(bytes(v) == name_of(t) for t, v in answers)
        assert s.expected == expected_b and s.missing == frozenset() and s.unexpected == frozenset()
        assert s.late == {} and s.duplicates == 0 and s.rejected == 0
        # inside the window: the meter's delay in [0, MAX_DELAY), plus the round trip
        delays = [s.times[t] - 2 * DELAY for t in expected_b]
        assert all(0.0 <= d < MAX_DELAY for d in delays), (min(delays), max(delays))
        ks = ks_uniform(delays, 0.0, MAX_DELAY)
        pvalues.append(ks.pvalue)
        assert ks.pvalue > 0.01, (seed, ks)
        # the others stayed silent and counted it; the members counted nothing
        for i, log in enumerate(w.logs()):
            assert log["not_member"] == (0 if title_of(i) in expected_b else 1), i
            assert sum(log.values()) == log["not_member"]
    # the seeds draw different delays: the test is not one run repeated
    assert len(set(pvalues)) == len(SEEDS)


@pytest.mark.asyncio
async def test_the_ks_test_used_here_rejects_answers_that_are_not_uniform(world_factory: Callable[..., Any]) -> None:
    # the same measurement, with the window taken twice too wide: the answers
    # fill only its first half, which the test must see
    w = await world_factory(SEEDS[0])
    b = w.broadcast(B)
    await w.collect(b)
    delays = [t - 2 * DELAY for t in b.summary.times.values()]
    assert ks_uniform(delays, 0.0, 2 * MAX_DELAY).pvalue < 1e-6


# ---------------------------------------------------------------- wrong key, unicast key, replay


@pytest.mark.asyncio
async def test_wrong_key_unicast_key_and_replay_are_ignored_by_every_meter_and_counted(
    world_factory: Callable[..., Any],
) -> None:
    w = await world_factory(11)
    # a genuine request first, so that its datagram can be replayed
    sent: list[bytes] = []
    original = w.client.transport.send

    async def tap(data: Any, destination: Any, **kwargs: Any) -> None:
        sent.append(bytes(data))
        await original(data, destination, **kwargs)

    w.client.transport.send = tap  # type: ignore[method-assign]
    good = w.broadcast(B)
    assert len(await w.collect(good)) == len(members_of(B))
    before = [log["not_member"] for log in w.logs()]
    received = w.client.stats.received

    # 1. a wrong broadcast key
    wrong = w.client.broadcast(B, LDN, window=WINDOW, keys=w.keys, bk=WRONG_KEY, ak=AK)
    assert await w.collect(wrong) == []
    assert wrong.summary.missing == members_of(B)
    # 2. the unicast key on a group address (security control bit 6 clear)
    unicast = SecurityContext(HEAD_END, ek=EK, ak=AK)
    plain = bytes.fromhex("C001C1000100002A0000FF0200")  # get-request LDN, invoke-id 1
    frame = wrapper.encode(PRE_ESTABLISHED_CLIENT, ALL_STATION, unicast.protect(plain, general=True))
    await w.client.transport.send(frame, (B.address, PORT))
    # 3. the genuine request's datagram again: its counter is spent
    await w.client.transport.send(sent[0], (B.address, PORT))
    await w.net.advance(2 * WINDOW)

    assert w.client.stats.received == received  # nobody answered any of them
    for i, log in enumerate(w.logs()):
        assert (log["wrong_key"], log["unicast_key_on_group"], log["replay"]) == (1, 1, 1), (i, log)
        assert log["not_member"] == before[i]  # refused before membership was looked at


# ---------------------------------------------------------------- 10% loss: exactly the missing ones, then read


@pytest.mark.asyncio
async def test_under_ten_percent_loss_the_client_names_exactly_the_missing_members_and_reads_them(
    world_factory: Callable[..., Any],
) -> None:
    w = await world_factory(5, LinkProfile(delay=DELAY, loss=0.1))
    expected_b = members_of(B)
    b = w.broadcast(B)
    answers = await w.collect(b)
    s = b.summary
    # what really reached the client (the network's own record, by source address)
    by_address = {address_of(i): title_of(i) for i in range(METERS)}
    delivered = {by_address[host] for host in w.arrived}
    assert delivered == {t for t, _ in answers} == set(s.answered)
    assert s.missing == expected_b - delivered
    # the loss is real: about one answer in ten was lost (the request reached
    # the one endpoint hosting every meter, which fans it out)
    assert w.server.group_stats.answered == len(expected_b)
    assert 4 <= len(s.missing) <= 25 and w.net.stats.lost == len(s.missing), (len(s.missing), w.net.stats.lost)

    started = w.client.now()
    follow = await w.drive(b.follow_up(pace=1.0))
    assert set(follow.results) == s.missing
    assert follow.unreached == frozenset()
    for title, value in follow.results.items():
        assert bytes(value) == name_of(title)
    # one by one, paced: at least a second between reads
    assert w.client.now() - started >= len(s.missing) - 1


@pytest.mark.asyncio
async def test_under_ten_percent_loss_of_requests_and_answers_per_meter_the_missing_are_exact_and_read(
    world_factory: Callable[..., Any],
) -> None:
    w = await world_factory(8, LinkProfile(delay=DELAY, loss=0.1), endpoint_per_meter=True)
    expected_b = members_of(B)
    b = w.broadcast(B)
    await w.collect(b)
    s = b.summary
    by_address = {address_of(i): title_of(i) for i in range(METERS)}
    delivered = {by_address[host] for host in w.arrived}
    executed = sum(server.group_stats.executed for server in w.servers)
    # some members never got the request, some answers were lost: both are missing
    assert executed < len(expected_b) and len(delivered) < executed
    assert set(s.answered) == delivered and s.missing == expected_b - delivered
    assert 10 <= len(s.missing) <= 40, len(s.missing)
    follow = await w.drive(b.follow_up(pace=0.5))
    assert set(follow.results) == s.missing and follow.unreached == frozenset()
    assert all(bytes(value) == name_of(title) for title, value in follow.results.items())


# ---------------------------------------------------------------- real multicast over loopback


@pytest.mark.asyncio
async def test_real_ipv6_multicast_over_loopback_udp() -> None:
    reason = loopback_multicast_refusal("ff03::d1:b")
    if reason is not None:
        pytest.skip(reason)
    lo = socket.if_nametoindex("lo")
    server_transport = await UdpTransport.open("::", 0)
    port = server_transport.local_address.port
    server = Server(server_transport, rng=random.Random(3))
    server.add_meter(emulated_meter(0, hosted=False))  # the loopback has one address: one meter
    client_transport = await UdpTransport.open("::1", 0)
    client_transport._sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, lo)
    client = Client(client_transport, system_title=HEAD_END)
    async with server, client:
        group = group_of(0)
        b = client.broadcast(group, LDN, window=3.0, keys={title_of(0): (EK, AK)}, bk=BK, ak=AK, port=port,
                             expected=[title_of(0)], designate=1)  # fmt: skip
        answers = [a async for a in b]
    assert [t for t, _ in answers] == [title_of(0)] and bytes(answers[0][1]) == name_of(title_of(0))
