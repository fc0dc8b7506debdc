"""The meter side of group requests over real sockets: the Server's UDP
endpoint joins the group addresses of its meters (IPv6 multicast, where the
host allows it) and answers a group request sent to one; and the
subscription bookkeeping against a transport that records (or refuses)
joins and leaves."""

from __future__ import annotations

import asyncio
import random
import socket
from typing import Any

import pytest

from dlmsmesh import apdu as A
from dlmsmesh import wrapper
from dlmsmesh.cosem import Group, GroupCondition
from dlmsmesh.security import Role, SecurityContext
from dlmsmesh.security.envelope import general_sender_title
from dlmsmesh.server import ALL_STATION, PRE_ESTABLISHED_CLIENT, Server
from dlmsmesh.transport import TransportError, UdpTransport
from dlmsmesh.types import Array, OctetString, VisibleString

from .loopback_support import loopback_multicast_refusal
from .server_support import AK, BK, EK
from .test_groups_meter import FEEDER_LN, HEAD_END, LDN, group_meter, title_of

G5 = Group(5)
#: every wait here: the answers come within a second
BOUND = 10.0


@pytest.mark.asyncio
async def test_group_request_over_real_ipv6_multicast() -> None:
    reason = loopback_multicast_refusal()
    if reason is not None:
        pytest.skip(reason)
    meters = [group_meter(i, groups=[G5] if i < 2 else [], max_delay=1) for i in range(3)]
    async with asyncio.timeout(BOUND):
        server = Server(await UdpTransport.open("::", 0), rng=random.Random(1))
        server.add_meters(meters)
        head = await UdpTransport.open("::", 0)
        # out of the loopback interface only
        head._sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_IF, socket.if_nametoindex("lo"))
        async with server, head:
            assert server.group_stats.subscription_failures == 0
            ctx = SecurityContext(HEAD_END, ek=EK, ak=AK, bk=BK, role=Role.CLIENT)
            frame = ctx.protect(A.encode(A.GetRequestNormal(LDN, invoke_id=3)), general=True, broadcast=True)
            loop = asyncio.get_running_loop()
            sent = loop.time()
            await head.send(
                wrapper.encode(PRE_ESTABLISHED_CLIENT, ALL_STATION, frame),
                (G5.address, server.transport.local_address.port),
            )
            titles = set()
            for _ in range(2):
                data, _source = await head.recv(timeout=3.0)
                _, payload = wrapper.decode(data)
                title = general_sender_title(payload)
                assert title is not None
                answer = A.decode(ctx.unprotect(payload).plaintext)
                assert isinstance(answer, A.GetResponseNormal) and answer.invoke_id == 3
                titles.add(title)
            # inside the 1 s window (and a margin for a loaded machine)
            assert loop.time() - sent < 1.0 + 2.0
            assert titles == {title_of(0), title_of(1)}
            assert meters[2].security_log["not_member"] == 1


class Recorder:
    """The subscription side of a Datagram, recording what the server asks."""

    def __init__(self, refuse: bool = False) -> None:
        self.calls: list[tuple[str, str]] = []
        self.refuse = refuse
        self.closed = False

    def join_group(self, group: str) -> None:
        self.calls.append(("join", group))
        if self.refuse:
            raise TransportError(f"cannot join multicast group {group}")

    def leave_group(self, group: str) -> None:
        self.calls.append(("leave", group))

    async def close(self) -> None:
        self.closed = True


def _server(transport: Any) -> Server:
    return Server(transport)


def test_one_join_per_address_and_a_leave_when_the_last_member_goes() -> None:
    recorder = Recorder()
    server = _server(recorder)
    condition = GroupCondition(Group(7), 1, FEEDER_LN, 2, VisibleString("A"))
    server.add_meter(group_meter(0, groups=[G5]))
    assert sorted(recorder.calls) == [("join", "ff03::1"), ("join", "ff03::d1:5"), ("join", "ff05::1")]
    recorder.calls.clear()
    server.add_meter(group_meter(1, groups=[G5, Group(6, "site")], conditions=[condition]))
    assert sorted(recorder.calls) == [("join", "ff03::d1:7"), ("join", "ff05::d1:6"), ("join", "ff05::d1:7")]
    recorder.calls.clear()
    server.remove_meter(title_of(0))
    assert recorder.calls == []  # meter 1 still needs every address
    meter = server.meter(title_of(1))
    ipv6 = meter.logical_devices[1].get("0.0.25.7.0.255")
    ipv6.multicast_ipv6_addresses = Array([OctetString(Group(6, "site").packed)])  # type: ignore[union-attr]
    assert recorder.calls == [("leave", "ff03::d1:5")]
    recorder.calls.clear()
    server.remove_meter(title_of(1))
    assert sorted(recorder.calls) == [
        ("leave", "ff03::1"),
        ("leave", "ff03::d1:7"),
        ("leave", "ff05::1"),
        ("leave", "ff05::d1:6"),
        ("leave", "ff05::d1:7"),
    ]
    assert server.group_addresses == frozenset()
    # a meter's watcher is gone with it: changing its objects changes nothing
    recorder.calls.clear()
    ipv6.multicast_ipv6_addresses = Array([OctetString(G5.packed)])  # type: ignore[union-attr]
    assert recorder.calls == []


def test_a_refused_join_is_counted_and_the_meter_still_served() -> None:
    recorder = Recorder(refuse=True)
    server = _server(recorder)
    server.add_meter(group_meter(0, groups=[G5]))
    assert server.group_stats.subscription_failures == 3
    assert server.meter(title_of(0)).system_title == title_of(0)


@pytest.mark.asyncio
async def test_close_forgets_every_subscription_even_of_a_meter_with_nothing_to_watch() -> None:
    from dlmsmesh.cosem import ObjectList
    from dlmsmesh.server import Meter, MeterKeys

    recorder = Recorder()
    server = _server(recorder)
    # keys with a broadcast key but no objects: it hears the all-nodes addresses only
    server.add_meter(Meter(title_of(0), {1: ObjectList()}, {}, keys=MeterKeys(ek=EK, ak=AK, bk=BK)))
    assert server.group_addresses == {"ff03::1", "ff05::1"}
    await server.close()
    assert server.group_addresses == frozenset() and recorder.closed
    # a closed endpoint is not asked to leave
    assert all(call[0] == "join" for call in recorder.calls)
