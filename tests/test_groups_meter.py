"""The meter side of group requests on the in-process network (virtual
clock): membership (explicit and by condition), the endpoint's multicast
subscription, fan-out to member meters only, the broadcast-key checks and
each meter's security log, and the delayed randomized answers."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import random
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from dlmsmesh import apdu as A
from dlmsmesh import wrapper
from dlmsmesh.apdu_model import AttributeDescriptor, MethodDescriptor
from dlmsmesh.cosem import (
    ALL_NODES,
    CosemObject,
    Data,
    Group,
    GroupCondition,
    Ipv6AddressType,
    attribute,
    default_meter,
)
from dlmsmesh.cosem.groups import add_group_objects
from dlmsmesh.cosem.typespec import ANY
from dlmsmesh.security import Role, SecurityContext
from dlmsmesh.security.envelope import general_sender_title
from dlmsmesh.security.tags import GENERAL_GLO_CIPHERING
from dlmsmesh.server import ALL_STATION, PRE_ESTABLISHED_CLIENT, Meter, MeterKeys, Server
from dlmsmesh.transport import Incoming, InProcessNetwork
from dlmsmesh.transport.clock import VirtualClock
from dlmsmesh.types import Array, DateTime, Enum, Long, LongUnsigned, OctetString, Structure, VisibleString

from .server_support import AK, BK, EK, KEK, NOW

HEAD_END = bytes.fromhex("4845530000000001")
SERVER_HOST = "fd00::1"
HEAD_HOST = "fd00::2"
PORT = 4059
LDN = AttributeDescriptor(1, "0.0.42.0.0.255", 2)
TIME_ZONE = AttributeDescriptor(8, "0.0.1.0.0.255", 3)
FEEDER_LN = "0.0.96.99.0.255"
FEEDER = AttributeDescriptor(1, FEEDER_LN, 2)
IPV6_SETUP = "0.0.25.7.0.255"
WINDOW_PS = AttributeDescriptor(40, "0.3.25.9.0.255", 5)


def title_of(i: int) -> bytes:
    return bytes.fromhex("4D4D4D00") + (0x1000 + i).to_bytes(4, "big")


def address_of(i: int) -> str:
    return f"fd00::1:{i:x}"


def group_meter(
    i: int,
    *,
    groups: Iterable[Group] = (),
    max_delay: int = 30,
    feeder: str = "",
    conditions: Iterable[GroupCondition] = (),
    windows: Sequence[tuple[bytes, bytes]] = (),
    bk: bytes | None = BK,
) -> Meter:
    objects = default_meter(title_of(i), now=lambda: NOW)
    add_group_objects(objects, max_delay=max_delay, conditions=conditions, windows=windows)
    objects.ipv6_setup.multicast_ipv6_addresses = Array(OctetString(g.packed) for g in groups)
    # a value condition-based membership can name (a feeder the meter hangs off)
    feeder_obj = Data(FEEDER_LN, VisibleString(feeder))
    objects.logical_devices[1].add(feeder_obj)
    keys = MeterKeys(ek=EK, ak=AK, bk=bk, kek=KEK)
    return Meter.from_objects(objects, keys=keys, address=address_of(i))


@dataclass
class Answer:
    at: float
    title: bytes
    apdu: Any
    invocation_counter: int
    source: str


@dataclass
class Rig:
    net: InProcessNetwork
    server: Server
    head: Any
    ctx: SecurityContext
    received: list[tuple[float, Incoming]] = field(default_factory=list)
    opener: SecurityContext = field(default_factory=lambda: SecurityContext(HEAD_END, ek=EK, ak=AK, bk=BK))

    @property
    def clock(self) -> VirtualClock:
        clock = self.net.clock
        assert isinstance(clock, VirtualClock)
        return clock

    def frame(self, request: A.Apdu, *, broadcast: bool = True, ctx: SecurityContext | None = None) -> bytes:
        apdu = (ctx or self.ctx).protect(A.encode(request), general=True, broadcast=broadcast)
        return wrapper.encode(PRE_ESTABLISHED_CLIENT, ALL_STATION, apdu)

    async def send(self, datagram: bytes, destination: str) -> float:
        await self.head.send(datagram, (destination, PORT))
        await self.net.advance(0)
        return self.clock.time()

    async def request(self, request: A.Apdu, destination: str | Group, **kwargs: Any) -> float:
        host = destination.address if isinstance(destination, Group) else destination
        return await self.send(self.frame(request, **kwargs), host)

    def answers(self) -> list[Answer]:
        out = []
        for at, incoming in self.received:
            header, payload = wrapper.decode(incoming.data)
            assert (header.source_wport, header.destination_wport) == (1, PRE_ESTABLISHED_CLIENT)
            assert payload[0] == GENERAL_GLO_CIPHERING
            title = general_sender_title(payload)
            assert title is not None
            opened = self.opener.unprotect(payload)
            ic = opened.info.invocation_counter
            assert ic is not None
            out.append(Answer(at, title, A.decode(opened.plaintext), ic, incoming.source.host))
        self.received.clear()
        return out


@contextlib.asynccontextmanager
async def rig(meters: Sequence[Meter], *, seed: int = 7, **server_kwargs: Any) -> AsyncIterator[Rig]:
    net = InProcessNetwork(seed=1, clock=VirtualClock())
    aliases = [m.address for m in meters if m.address is not None]
    server = Server(net.endpoint(SERVER_HOST, PORT, aliases=aliases), rng=random.Random(seed), **server_kwargs)
    server.add_meters(meters)
    head = net.endpoint(HEAD_HOST, PORT)
    ctx = SecurityContext(HEAD_END, ek=EK, ak=AK, bk=BK, role=Role.CLIENT)
    r = Rig(net, server, head, ctx)
    head.on_receive(lambda incoming: r.received.append((net.clock.time(), incoming)))
    async with asyncio.timeout(60), server:
        yield r
    await head.close()


def get(descriptor: AttributeDescriptor = LDN, invoke_id: int = 1) -> A.GetRequestNormal:
    return A.GetRequestNormal(descriptor, invoke_id=invoke_id)


G5, G6, G7 = Group(5), Group(6), Group(7)


# ------------------------------------------------------------------ membership


@pytest.mark.asyncio
async def test_explicit_members_answer_once_each_inside_the_window() -> None:
    meters = [group_meter(i, groups=[G5] if i % 2 else [G6]) for i in range(10)]
    async with rig(meters) as r:
        assert r.server.group_addresses == {"ff03::d1:5", "ff03::d1:6", "ff03::1", "ff05::1"}
        sent = await r.request(get(invoke_id=9), G5)
        await r.net.advance(31)
        answers = r.answers()
        members = {title_of(i) for i in range(1, 10, 2)}
        assert {a.title for a in answers} == members and len(answers) == 5
        for a in answers:
            assert isinstance(a.apdu, A.GetResponseNormal) and a.apdu.invoke_id == 9
            # each meter answers from its own address
            assert a.source == address_of(int.from_bytes(a.title[4:], "big") - 0x1000)
            assert sent <= a.at < sent + 30
        # drawn per meter: no two at one instant
        assert len({a.at for a in answers}) == 5
        for i, meter in enumerate(meters):
            expected = 0 if i % 2 else 1
            assert meter.security_log.as_dict()["not_member"] == expected
            assert sum(meter.security_log.values()) == expected
        stats = r.server.group_stats
        assert (stats.received, stats.executed, stats.not_member, stats.answered) == (1, 5, 5, 5)


@pytest.mark.asyncio
async def test_answers_carry_the_meters_value_under_its_unicast_key() -> None:
    meters = [group_meter(i, groups=[G5]) for i in range(3)]
    async with rig(meters) as r:
        await r.request(get(), G5)
        await r.net.advance(31)
        answers = r.answers()
        for a in answers:
            meter = next(m for m in meters if m.system_title == a.title)
            device = meter.logical_devices[1]
            name = device.get("0.0.42.0.0.255")
            assert a.apdu.result == name.value  # type: ignore[union-attr]
            # the meter's own first unicast-key counter: ciphered when sent
            assert a.invocation_counter == 1


@pytest.mark.asyncio
async def test_all_nodes_reaches_every_meter_and_other_groups_nobody() -> None:
    meters = [group_meter(i, groups=[G5] if i < 2 else []) for i in range(4)]
    async with rig(meters) as r:
        await r.request(get(), ALL_NODES["realm"])
        await r.net.advance(31)
        assert {a.title for a in r.answers()} == {title_of(i) for i in range(4)}
        await r.request(get(invoke_id=2), ALL_NODES["site"])
        await r.net.advance(31)
        assert len(r.answers()) == 4
        # a group no meter is in: the endpoint is not subscribed, nothing arrives
        received = r.server.group_stats.received
        await r.request(get(invoke_id=3), Group(99))
        await r.net.advance(31)
        assert r.answers() == [] and r.server.group_stats.received == received
        assert all(m.security_log.as_dict()["not_member"] == 0 for m in meters)


@pytest.mark.asyncio
async def test_subscription_follows_set_and_actions_of_attribute_5() -> None:
    meters = [group_meter(i) for i in range(2)]
    ipv6 = [m.logical_devices[1].get(IPV6_SETUP) for m in meters]
    async with rig(meters) as r:
        assert r.server.group_addresses == {"ff03::1", "ff05::1"}
        # a SET of attribute 5 as a client writes it
        assert await ipv6[0].set(5, Array([OctetString(G5.packed)])) == 0  # type: ignore[union-attr]
        assert "ff03::d1:5" in r.server.group_addresses
        # ACTION add_ipv6_address on the second meter: one subscription for both
        add = Structure((Enum(Ipv6AddressType.MULTICAST), OctetString(G5.packed)))
        result, _ = await ipv6[1].action(1, add)  # type: ignore[union-attr]
        assert result == 0
        await r.request(get(), G5)
        await r.net.advance(31)
        assert len(r.answers()) == 2
        # the first leaves: the address stays subscribed for the second
        await ipv6[0].action(2, add)  # type: ignore[union-attr]
        assert "ff03::d1:5" in r.server.group_addresses
        await r.request(get(invoke_id=2), G5)
        await r.net.advance(31)
        assert [a.title for a in r.answers()] == [title_of(1)]
        assert meters[0].security_log["not_member"] == 1
        # the last leaves: the endpoint leaves the group, nothing arrives any more
        await ipv6[1].action(2, add)  # type: ignore[union-attr]
        assert "ff03::d1:5" not in r.server.group_addresses
        received = r.server.group_stats.received
        await r.request(get(invoke_id=3), G5)
        await r.net.advance(31)
        assert r.answers() == [] and r.server.group_stats.received == received


@pytest.mark.asyncio
async def test_removing_a_meter_leaves_its_groups_and_drops_its_answers() -> None:
    meters = [group_meter(i, groups=[G5] if i == 0 else [G6]) for i in range(2)]
    async with rig(meters) as r:
        await r.request(get(), G5)
        assert r.server.delayed_answers == 1
        r.server.remove_meter(title_of(0))
        assert r.server.delayed_answers == 0
        assert r.server.group_addresses == {"ff03::d1:6", "ff03::1", "ff05::1"}
        await r.net.advance(31)
        assert r.answers() == []


@pytest.mark.asyncio
async def test_condition_based_membership_is_evaluated_when_a_request_arrives() -> None:
    condition = GroupCondition(G7, 1, FEEDER_LN, 2, VisibleString("A"))
    meters = [group_meter(i, feeder="A" if i < 2 else "B", conditions=[condition]) for i in range(4)]
    async with rig(meters) as r:
        # both scopes of a group a condition names are subscribed
        assert {"ff03::d1:7", "ff05::d1:7"} <= r.server.group_addresses
        await r.request(get(), G7)
        await r.net.advance(31)
        assert {a.title for a in r.answers()} == {title_of(0), title_of(1)}
        # the value changes: membership with it, at the next request
        feeder = meters[3].logical_devices[1].get(FEEDER_LN)
        feeder.value = VisibleString("A")  # type: ignore[union-attr]
        await r.request(get(invoke_id=2), Group(7, "site"))
        await r.net.advance(31)
        assert {a.title for a in r.answers()} == {title_of(0), title_of(1), title_of(3)}
        assert meters[2].security_log["not_member"] == 2


@pytest.mark.asyncio
async def test_conditions_written_by_set_change_the_subscription() -> None:
    meters = [group_meter(i, feeder="A") for i in range(2)]
    conditions = [m.logical_devices[1].get("0.0.128.25.9.255") for m in meters]
    async with rig(meters) as r:
        assert "ff03::d1:7" not in r.server.group_addresses
        entry = GroupCondition(G7, 1, FEEDER_LN, 2, VisibleString("A")).to_cosem()
        assert await conditions[0].set(2, Array([entry])) == 0  # type: ignore[union-attr]
        assert {"ff03::d1:7", "ff05::d1:7"} <= r.server.group_addresses
        await r.request(get(), G7)
        await r.net.advance(31)
        assert [a.title for a in r.answers()] == [title_of(0)]
        assert await conditions[0].set(2, Array()) == 0  # type: ignore[union-attr]
        assert "ff03::d1:7" not in r.server.group_addresses


@pytest.mark.asyncio
async def test_a_condition_on_a_missing_object_or_other_type_does_not_match() -> None:
    conditions = [
        GroupCondition(G7, 1, "0.0.96.77.0.255", 2, VisibleString("A")),  # no such object
        GroupCondition(G7, 3, FEEDER_LN, 2, VisibleString("A")),  # wrong class
        GroupCondition(G7, 1, FEEDER_LN, 2, OctetString(b"A")),  # other type, same octets
    ]
    meters = [group_meter(0, feeder="A", conditions=conditions)]
    async with rig(meters) as r:
        await r.request(get(), G7)
        await r.net.advance(31)
        assert r.answers() == []
        assert meters[0].security_log["not_member"] == 1


# ---------------------------------------------------------------------- security


@pytest.mark.asyncio
async def test_wrong_key_unicast_key_replay_and_plain_are_ignored_and_logged() -> None:
    meters = [group_meter(i, groups=[G5] if i < 2 else []) for i in range(4)]
    async with rig(meters) as r:
        wrong = SecurityContext(HEAD_END, ek=EK, ak=AK, bk=bytes(16), role=Role.CLIENT)
        await r.request(get(), G5, ctx=wrong)
        await r.request(get(), G5, broadcast=False)  # unicast key (SC bit 6 clear)
        good = r.frame(get(invoke_id=3))
        await r.send(good, G5.address)
        await r.net.advance(31)
        assert len(r.answers()) == 2
        await r.send(good, G5.address)  # replayed counter
        plain = wrapper.encode(PRE_ESTABLISHED_CLIENT, ALL_STATION, A.encode(get()))
        await r.send(plain, G5.address)
        await r.net.advance(31)
        assert r.answers() == []
        for i, meter in enumerate(meters):
            log = meter.security_log.as_dict()
            assert log["wrong_key"] == 1
            assert log["unicast_key_on_group"] == 1
            assert log["replay"] == 1
            assert log["unprotected_on_group"] == 1
            assert log["not_member"] == (0 if i < 2 else 1)
        assert r.server.stats.replays == 4 and r.server.stats.security_failures == 4


@pytest.mark.asyncio
async def test_a_meter_without_broadcast_key_ignores_group_requests() -> None:
    meters = [group_meter(0, groups=[G5], bk=None), group_meter(1, groups=[G5])]
    async with rig(meters) as r:
        # only the meter with a broadcast key hears the all-nodes addresses
        await r.request(get(), G5)
        await r.net.advance(31)
        assert [a.title for a in r.answers()] == [title_of(1)]
        assert meters[0].security_log["no_broadcast_key"] == 1


# ----------------------------------------------------------------------- timing


@pytest.mark.asyncio
async def test_unconfirmed_group_set_is_executed_by_members_only_and_not_answered() -> None:
    meters = [group_meter(i, groups=[G5] if i < 2 else []) for i in range(3)]
    async with rig(meters) as r:
        request = A.SetRequestNormal(TIME_ZONE, Long(-60), service_class=A.ServiceClass.UNCONFIRMED)
        await r.request(request, G5)
        await r.net.advance(60)
        assert r.answers() == []
        zones = [int(m.logical_devices[1].get("0.0.1.0.0.255").time_zone) for m in meters]  # type: ignore[union-attr]
        assert zones == [-60, -60, 0]
        assert r.server.group_stats.unconfirmed == 2 and r.server.delayed_answers == 0


@pytest.mark.asyncio
async def test_a_broadcast_set_of_the_window_designates_the_next_requests_window() -> None:
    meters = [group_meter(i, groups=[G5], max_delay=300) for i in range(20)]
    async with rig(meters) as r:
        narrow = A.SetRequestNormal(WINDOW_PS, LongUnsigned(5), service_class=A.ServiceClass.UNCONFIRMED)
        await r.request(narrow, G5)
        sent = await r.request(get(invoke_id=2), G5)
        await r.net.advance(5)
        answers = r.answers()
        assert len(answers) == 20
        assert all(sent <= a.at < sent + 5 for a in answers)


@pytest.mark.asyncio
async def test_delays_repeat_with_the_seed_and_differ_with_another() -> None:
    async def times(seed: int) -> list[float]:
        meters = [group_meter(i, groups=[G5]) for i in range(8)]
        async with rig(meters, seed=seed) as r:
            sent = await r.request(get(), G5)
            await r.net.advance(31)
            return [a.at - sent for a in sorted(r.answers(), key=lambda a: a.title)]

    first = await times(3)
    assert first == await times(3)
    assert first != await times(4)
    assert all(0 <= t < 30 for t in first)


@pytest.mark.asyncio
async def test_answer_times_spread_over_the_whole_window() -> None:
    meters = [group_meter(i, groups=[G5], max_delay=100) for i in range(200)]
    async with rig(meters, seed=11) as r:
        sent = await r.request(get(), G5)
        await r.net.advance(101)
        delays = sorted(a.at - sent for a in r.answers())
        assert len(delays) == 200
        # every tenth of the window holds about a tenth of the answers
        counts = [sum(1 for d in delays if 10 * k <= d < 10 * (k + 1)) for k in range(10)]
        assert sum(counts) == 200 and min(counts) >= 8 and max(counts) <= 35, counts


@pytest.mark.asyncio
async def test_no_response_window_object_means_an_immediate_answer() -> None:
    objects = default_meter(title_of(0), now=lambda: NOW)
    objects.ipv6_setup.multicast_ipv6_addresses = Array([OctetString(G5.packed)])
    meter = Meter.from_objects(objects, keys=MeterKeys(ek=EK, ak=AK, bk=BK, kek=KEK), address=address_of(0))
    async with rig([meter]) as r:
        sent = await r.request(get(), G5)
        answers = r.answers()
        assert len(answers) == 1 and answers[0].at == sent


@pytest.mark.asyncio
async def test_unicast_requests_are_answered_at_once() -> None:
    meters = [group_meter(0, groups=[G5], max_delay=300)]
    async with rig(meters) as r:
        sent = await r.request(get(invoke_id=4), address_of(0), broadcast=False)
        answers = r.answers()
        assert len(answers) == 1 and answers[0].at == sent and answers[0].apdu.invoke_id == 4


@pytest.mark.asyncio
async def test_a_full_queue_drops_the_oldest_answer_and_counts_it() -> None:
    meters = [group_meter(0, groups=[G5], max_delay=1000)]
    async with rig(meters) as r:
        for invoke_id in range(1, 7):
            await r.request(get(invoke_id=invoke_id), G5)
        assert r.server.delayed_answers == 4
        await r.net.advance(1001)
        answers = r.answers()
        assert sorted(a.apdu.invoke_id for a in answers) == [3, 4, 5, 6]
        # counters in the order the answers left: ciphered at send time
        in_time = sorted(answers, key=lambda a: a.at)
        assert [a.invocation_counter for a in in_time] == [1, 2, 3, 4]
        assert meters[0].security_log["queue_overflow"] == 2 and r.server.group_stats.dropped == 2


@pytest.mark.asyncio
async def test_max_delayed_is_a_constructor_argument() -> None:
    meters = [group_meter(0, groups=[G5], max_delay=1000)]
    async with rig(meters, max_delayed=1) as r:
        await r.request(get(invoke_id=1), G5)
        await r.request(get(invoke_id=2), G5)
        await r.net.advance(1001)
        assert [a.apdu.invoke_id for a in r.answers()] == [2]
    with pytest.raises(ValueError):
        Server(InProcessNetwork().endpoint("fd00::9", 1), max_delayed=0)


@pytest.mark.asyncio
async def test_close_cancels_the_answers_still_waiting() -> None:
    meters = [group_meter(i, groups=[G5], max_delay=100) for i in range(5)]
    net = InProcessNetwork(seed=1, clock=VirtualClock())
    server = Server(net.endpoint(SERVER_HOST, PORT), rng=random.Random(1))
    server.add_meters(meters)
    head = net.endpoint(HEAD_HOST, PORT)
    got: list[Incoming] = []
    head.on_receive(got.append)
    ctx = SecurityContext(HEAD_END, ek=EK, ak=AK, bk=BK, role=Role.CLIENT)
    async with asyncio.timeout(60):
        await server.start()
        await head.send(wrapper.encode(0x66, 0x7F, ctx.protect(A.encode(get()), general=True, broadcast=True)),
                        (G5.address, PORT))  # fmt: skip
        await net.advance(0)
        assert server.delayed_answers == 5
        await server.close()
        assert server.delayed_answers == 0
        # and leaves no watcher on the meters' objects
        assert server.group_addresses == frozenset()
        for meter in meters:
            for ln in (IPV6_SETUP, "0.0.128.25.9.255"):
                assert not vars(meter.logical_devices[1].get(ln)).get("_dlmsmesh_watchers")
        await net.advance(200)
        assert got == []
        await head.close()


# ----------------------------------------------------------------------- windows


def _stamp(moment: dt.datetime) -> bytes:
    return bytes(DateTime.from_datetime(moment))


@pytest.mark.asyncio
async def test_a_communication_window_ahead_holds_the_answers_inside_it() -> None:
    start, end = NOW + dt.timedelta(seconds=100), NOW + dt.timedelta(seconds=120)
    meters = [group_meter(i, groups=[G5], max_delay=60, windows=[(_stamp(start), _stamp(end))]) for i in range(10)]
    async with rig(meters) as r:
        sent = await r.request(get(), G5)
        await r.net.advance(130)
        answers = r.answers()
        assert len(answers) == 10
        assert all(sent + 100 <= a.at < sent + 120 for a in answers)


@pytest.mark.asyncio
async def test_no_window_ahead_drops_the_answer_and_counts_it() -> None:
    start, end = NOW - dt.timedelta(seconds=100), NOW - dt.timedelta(seconds=10)
    meters = [group_meter(0, groups=[G5], windows=[(_stamp(start), _stamp(end))])]
    async with rig(meters) as r:
        await r.request(get(), G5)
        await r.net.advance(1000)
        assert r.answers() == []
        assert meters[0].security_log["no_window"] == 1 and r.server.group_stats.no_window == 1


def _gated_rig(clock: VirtualClock, **window_setup: Any) -> tuple[Rig, Server, Meter, Gate, Any]:
    """One group-member meter whose management association also reaches a
    Gate (a value whose getter waits for the test), on a virtual clock."""
    objects = default_meter(title_of(0), now=lambda: NOW + dt.timedelta(seconds=clock.time()))
    add_group_objects(objects, **window_setup)
    objects.ipv6_setup.multicast_ipv6_addresses = Array([OctetString(G5.packed)])
    gate = Gate("0.0.96.97.0.255", opened=False)
    objects.logical_devices[1].add(gate)
    meter = Meter.from_objects(objects, keys=MeterKeys(ek=EK, ak=AK, bk=BK, kek=KEK), address=address_of(0))
    management = meter.pre_established(PRE_ESTABLISHED_CLIENT, 1)
    assert management is not None
    management.objects.add(gate)
    net = InProcessNetwork(seed=1, clock=clock)
    server = Server(net.endpoint(SERVER_HOST, PORT, aliases=[address_of(0)]), rng=random.Random(5))
    server.add_meter(meter)
    head = net.endpoint(HEAD_HOST, PORT)
    r = Rig(net, server, head, SecurityContext(HEAD_END, ek=EK, ak=AK, bk=BK, role=Role.CLIENT))
    head.on_receive(lambda incoming: r.received.append((clock.time(), incoming)))
    return r, server, meter, gate, head


@pytest.mark.asyncio
async def test_an_answer_held_past_its_windows_close_waits_for_the_next_window() -> None:
    clock = VirtualClock()
    windows = [
        (_stamp(NOW + dt.timedelta(seconds=100)), _stamp(NOW + dt.timedelta(seconds=120))),
        (_stamp(NOW + dt.timedelta(seconds=200)), _stamp(NOW + dt.timedelta(seconds=220))),
    ]
    r, server, meter, gate, head = _gated_rig(clock, max_delay=60, windows=windows)
    async with asyncio.timeout(60), server:
        await r.request(get(invoke_id=1), G5)  # its answer is due inside [100, 120)
        await r.net.advance(99)
        # a second group request whose object waits holds the meter's
        # association (and so the first answer) until after 120
        await r.request(get(AttributeDescriptor(9003, "0.0.96.97.0.255", 2), invoke_id=2), G5)
        await r.net.advance(26)
        assert r.answers() == []
        gate.event.set()
        await r.net.advance(105)
        answers = r.answers()
        assert sorted(a.apdu.invoke_id for a in answers) == [1, 2]
        # neither left outside a window: both in the next one, [200, 220)
        assert all(200 <= a.at < 220 for a in answers), [(a.apdu.invoke_id, a.at) for a in answers]
        stats = server.group_stats
        assert (stats.rescheduled, stats.answered, stats.no_window) == (1, 2, 0)
    await head.close()


@pytest.mark.asyncio
async def test_an_answer_held_past_the_requests_own_window_is_not_sent() -> None:
    """Without calendar windows the window is the request's own (the
    randomisation interval from its arrival): nothing follows it, so an
    answer held past its close (the meter busy) is dropped and counted, never
    sent outside it; the next request is answered inside its own window."""
    clock = VirtualClock()
    r, server, meter, gate, head = _gated_rig(clock, max_delay=20)
    async with asyncio.timeout(60), server:
        await r.request(get(invoke_id=1), G5)  # executed at once, its answer due inside [0, 20)
        # a second group request whose object waits holds the meter's
        # association (and so the first answer) until after 20
        await r.request(get(AttributeDescriptor(9003, "0.0.96.97.0.255", 2), invoke_id=2), G5)
        await r.net.advance(30)
        assert r.answers() == []
        gate.event.set()
        await r.net.advance(25)
        answers = r.answers()
        # the first never left (its window closed while it was held); the
        # second, executed at 30, inside its own window [30, 50)
        assert [(a.apdu.invoke_id, 30 <= a.at < 50) for a in answers] == [(2, True)]
        stats = server.group_stats
        assert (stats.window_missed, stats.answered, stats.rescheduled) == (1, 1, 0)
        assert meter.security_log.as_dict()["window_missed"] == 1
        # a request with the meter free again: answered inside its own window
        sent = clock.time()
        await r.request(get(invoke_id=3), G5)
        await r.net.advance(25)
        answers = r.answers()
        assert [a.apdu.invoke_id for a in answers] == [3] and all(sent <= a.at < sent + 20 for a in answers)
    await head.close()


# --------------------------------------------------------------- action, window


@pytest.mark.asyncio
async def test_a_group_action_is_answered_with_its_result() -> None:
    meters = [group_meter(i, groups=[G5]) for i in range(2)]
    async with rig(meters) as r:
        # IPv6 setup remove_ipv6_address of an address it does not hold: a per-meter error
        parameters = Structure((Enum(Ipv6AddressType.MULTICAST), OctetString(Group(40).packed)))
        request = A.ActionRequestNormal(MethodDescriptor(48, IPV6_SETUP, 2), parameters, invoke_id=5)
        await r.request(request, G5)
        await r.net.advance(31)
        answers = r.answers()
        assert len(answers) == 2
        for a in answers:
            assert isinstance(a.apdu, A.ActionResponseNormal) and a.apdu.invoke_id == 5
            assert int(a.apdu.result) != 0


class Gate(CosemObject):
    """A value whose getter waits until the test opens the gate."""

    class_id = 9003
    version = 0

    def __init__(self, logical_name: str, opened: bool) -> None:
        super().__init__(logical_name)
        self.event = asyncio.Event()
        if opened:
            self.event.set()

    @attribute(2, ANY)
    async def value(self) -> Any:
        await self.event.wait()
        return LongUnsigned(7)


@pytest.mark.asyncio
async def test_a_member_whose_objects_wait_holds_back_no_other_member() -> None:
    meters = [group_meter(i, groups=[G5], max_delay=0) for i in range(3)]
    gates = []
    for i, meter in enumerate(meters):
        gate = Gate("0.0.96.97.0.255", opened=i != 0)
        meter.logical_devices[1].add(gate)
        management = meter.pre_established(PRE_ESTABLISHED_CLIENT, 1)
        assert management is not None
        management.objects.add(gate)
        gates.append(gate)
    async with rig(meters) as r:
        sent = await r.request(get(AttributeDescriptor(9003, "0.0.96.97.0.255", 2)), G5)
        first = r.answers()
        assert {a.title for a in first} == {title_of(1), title_of(2)} and all(a.at == sent for a in first)
        gates[0].event.set()
        await r.net.advance(1)
        late = r.answers()
        assert [a.title for a in late] == [title_of(0)] and late[0].apdu.result == LongUnsigned(7)


@pytest.mark.asyncio
async def test_a_group_request_to_the_management_wport_is_answered_from_it() -> None:
    meters = [group_meter(i, groups=[G5]) for i in range(2)]
    async with rig(meters) as r:
        apdu = r.ctx.protect(A.encode(get(invoke_id=6)), general=True, broadcast=True)
        await r.send(wrapper.encode(PRE_ESTABLISHED_CLIENT, 1, apdu), G5.address)
        await r.net.advance(31)
        answers = r.answers()  # asserts source wPort 1, destination 0x66
        assert len(answers) == 2 and all(a.apdu.invoke_id == 6 for a in answers)
        # a logical device the meters do not have: not for them
        apdu = r.ctx.protect(A.encode(get(invoke_id=7)), general=True, broadcast=True)
        await r.send(wrapper.encode(PRE_ESTABLISHED_CLIENT, 0x20, apdu), G5.address)
        await r.net.advance(31)
        assert r.answers() == []


@pytest.mark.asyncio
async def test_a_group_request_from_a_client_without_pre_established_association_is_dropped() -> None:
    meters = [group_meter(0, groups=[G5])]
    async with rig(meters) as r:
        apdu = r.ctx.protect(A.encode(get()), general=True, broadcast=True)
        await r.send(wrapper.encode(0x10, ALL_STATION, apdu), G5.address)
        await r.net.advance(31)
        assert r.answers() == [] and r.server.group_stats.executed == 0
        # the management client's AARQ-less request opened nothing: not a replay later
        await r.request(get(invoke_id=2), G5)
        await r.net.advance(31)
        assert len(r.answers()) == 1


def test_multicast_hosts_are_told_from_unicast_ones() -> None:
    from dlmsmesh.server.groups import is_multicast

    for host in ("ff03::1", "FF05::D1:1", "ff02::1%eth0", "224.0.0.1", "239.255.255.250"):
        assert is_multicast(host), host
    for host in ("fd00::1", "fe80::1%eth0", "2001:db8::1", "127.0.0.1", "::1", "10.0.0.1", "node-a", ""):
        assert not is_multicast(host), host


def ks_statistic(samples: Sequence[float], width: float) -> float:
    """The one-sample Kolmogorov-Smirnov statistic against uniform [0, width)."""
    ordered = sorted(s / width for s in samples)
    n = len(ordered)
    return max(max((i + 1) / n - x, x - i / n) for i, x in enumerate(ordered))


@pytest.mark.asyncio
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_three_hundred_meters_in_three_groups(seed: int) -> None:
    meters = [group_meter(i, groups=[Group(1 + i % 3)], max_delay=60) for i in range(300)]
    async with rig(meters, seed=seed) as r:
        sent = await r.request(get(), Group(2))
        await r.net.advance(61)
        answers = r.answers()
        assert sorted(a.title for a in answers) == sorted(title_of(i) for i in range(1, 300, 3))
        delays = [a.at - sent for a in answers]
        assert all(0 <= d < 60 for d in delays)
        # uniform: below the 1% critical value of the KS statistic (1.628 / sqrt(n))
        assert ks_statistic(delays, 60) < 1.628 / len(delays) ** 0.5
        # which answers squeezed into the first half of the window would fail
        assert ks_statistic([d / 2 for d in delays], 60) > 1.628 / len(delays) ** 0.5
        assert sum(m.security_log["not_member"] for m in meters) == 200
