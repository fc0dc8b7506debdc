"""UdpHosts: one endpoint over a UDP socket per loopback address (the
udp transport of ``dlmsmesh simulate``): each datagram says which address it
came to, a reply leaves from the address asked, addresses come and go while
it runs, and a group request relayed by unicast is delivered once, as come
to its group.  Loopback addresses only (127.30.0.0/16)."""

from __future__ import annotations

import asyncio

import pytest

from dlmsmesh.client import Client, MemoryResolver
from dlmsmesh.errors import DlmsError, DlmsTimeout
from dlmsmesh.server import Server
from dlmsmesh.transport import (
    Address,
    AddressError,
    Datagram,
    TransportError,
    UdpHosts,
    UdpTransport,
    relay_datagram,
    unrelay_datagram,
)

from .loopback_support import HEAD_END, make_meter

pytestmark = pytest.mark.single_backend  # sockets, not codecs

A, B, C = "127.30.0.1", "127.30.0.2", "127.30.0.3"
GROUP = "ff03::d1:516"
BOUND = 5.0


def test_the_endpoint_is_a_datagram() -> None:
    async def main() -> None:
        hosts = await UdpHosts.open([A])
        try:
            assert isinstance(hosts, Datagram)
        finally:
            await hosts.close()

    asyncio.run(main())


def test_each_datagram_names_the_address_it_came_to_and_replies_leave_from_the_one_asked() -> None:
    async def main() -> None:
        hosts = await UdpHosts.open([A, B])
        peer = await UdpTransport.open("127.0.0.1", 0)
        try:
            port = hosts.local_address.port
            assert port != 0 and hosts.addresses == (Address(A, port), Address(B, port))
            assert hosts.owns(Address(B, port)) and not hosts.owns(Address(C, port))
            assert not hosts.owns(Address(B, port + 1))
            await peer.send(b"to a", (A, port))
            await peer.send(b"to b", (B, port))
            got = sorted([await hosts.recv_incoming(BOUND), await hosts.recv_incoming(BOUND)])
            assert [(g.data, g.destination) for g in got] == [(b"to a", Address(A, port)), (b"to b", Address(B, port))]
            assert got[0].source == peer.local_address
            await hosts.send(b"from b", peer.local_address, source=B)
            await hosts.send(b"from the first", peer.local_address)
            assert await peer.recv(BOUND) == (b"from b", Address(B, port))
            assert await peer.recv(BOUND) == (b"from the first", Address(A, port))
            assert hosts.sent == 2
            with pytest.raises(AddressError):
                await hosts.send(b"x", peer.local_address, source=C)
        finally:
            await peer.close()
            await hosts.close()

    asyncio.run(main())


def test_addresses_are_bound_and_closed_while_it_runs() -> None:
    async def main() -> None:
        hosts = await UdpHosts.open([A])
        peer = await UdpTransport.open("127.0.0.1", 0)
        try:
            port = hosts.local_address.port
            assert hosts.add(f"::ffff:{C}") == Address(C, port)  # the mapped form names the same address
            with pytest.raises(TransportError):
                hosts.add(C)
            await peer.send(b"moved", (C, port))
            assert (await hosts.recv_incoming(BOUND)).destination == Address(C, port)
            hosts.remove(A)
            assert hosts.addresses == (Address(C, port),) and hosts.local_address == Address(C, port)
            await peer.send(b"to the old address", (A, port))
            with pytest.raises(DlmsTimeout):
                await hosts.recv_incoming(0.3)
            with pytest.raises(AddressError):
                hosts.remove(A)
        finally:
            await peer.close()
            await hosts.close()
        assert hosts.closed

    asyncio.run(main())


def test_a_relayed_group_datagram_is_delivered_once_as_come_to_its_group() -> None:
    async def main() -> None:
        hosts = await UdpHosts.open([A, B], relay_port=0)
        peer = await UdpTransport.open("127.0.0.1", 0)
        try:
            port, relay = hosts.local_address.port, hosts.relay_port
            assert relay is not None and relay not in (0, port)
            copy = relay_datagram(GROUP, b"group request")
            # the head-end sends every member its copy: the endpoint stands for both
            await peer.send(copy, (A, relay))
            await peer.send(copy, (B, relay))
            await peer.send(relay_datagram(GROUP, b"the next one"), (B, relay))
            first = await hosts.recv_incoming(BOUND)
            assert (first.data, first.destination, first.source) == (
                b"group request",
                Address(GROUP, port),
                peer.local_address,
            )
            second = await hosts.recv_incoming(BOUND)
            assert (second.data, second.destination) == (b"the next one", Address(GROUP, port))
            with pytest.raises(DlmsTimeout):
                await hosts.recv_incoming(0.3)
            # not a relayed datagram (no group address in front): dropped
            await peer.send(b"\x00\x01" * 20, (A, relay))
            with pytest.raises(DlmsTimeout):
                await hosts.recv_incoming(0.3)
        finally:
            await peer.close()
            await hosts.close()

    asyncio.run(main())


def test_relay_datagram_wraps_a_multicast_address_only() -> None:
    wrapped = relay_datagram(GROUP, b"abc")
    assert wrapped[:16] == bytes.fromhex("ff030000000000000000000000d10516") and wrapped[16:] == b"abc"
    assert unrelay_datagram(wrapped) == (GROUP, b"abc")
    assert unrelay_datagram(relay_datagram("239.1.2.3", b"v4")) == ("239.1.2.3", b"v4")
    with pytest.raises(AddressError):
        relay_datagram("127.0.0.1", b"abc")
    with pytest.raises(AddressError):
        relay_datagram("not an address", b"abc")
    assert unrelay_datagram(bytes(16) + b"abc") is None
    assert unrelay_datagram(wrapped[:16]) is None


def test_a_server_answers_each_meter_from_its_own_socket() -> None:
    """Two meters, each at its own loopback address: the client, which
    routes a reply by the address it asked, reads both (a reply from the
    endpoint's first address would be taken for no association)."""

    async def main() -> None:
        first = make_meter(title=b"MMM\x00\x00\x00\x00\x01", address=A)
        second = make_meter(title=b"MMM\x00\x00\x00\x00\x02", address=f"::ffff:{B}")
        hosts = await UdpHosts.open([A, B])
        server = Server(hosts)
        server.add_meters([first, second])
        client = Client(await UdpTransport.open("127.0.0.1", 0), system_title=HEAD_END, timeout=1.0, retries=1)
        port = hosts.local_address.port
        try:
            await server.start()
            for meter, host in ((first, A), (second, B)):
                async with client.associate(meter.system_title, address=(host, port)) as a:
                    assert len(bytes(await a.get((8, "0.0.1.0.0.255", 2)))) == 12
            assert client.stats.retries == 0 and client.stats.strays == 0
        finally:
            await client.close()
            await server.close()

    asyncio.run(main())


def test_a_group_request_relayed_by_unicast_is_answered_by_the_members_only() -> None:
    """The head-end sends the broadcast-key frame to every member the
    resolver knows (``relay_port``); the endpoint delivers it once as come to
    the group; the two members answer after their random delay, the meter
    outside the group verifies it and stays silent."""
    from dlmsmesh.cosem import Ipv6Setup
    from dlmsmesh.cosem.groups import Group
    from dlmsmesh.types import Array, OctetString

    from .loopback_support import AK, BK, EK

    group = Group(0x516)
    titles = [b"MMM\x00\x00\x00\x00\x0a", b"MMM\x00\x00\x00\x00\x0b", b"MMM\x00\x00\x00\x00\x0c"]

    async def main() -> None:
        meters = [make_meter(title=t, address=h) for t, h in zip(titles, (A, B, C))]
        for meter in meters[:2]:
            for obj in meter.logical_devices[1]:
                if isinstance(obj, Ipv6Setup):
                    obj.multicast_ipv6_addresses = Array([OctetString(group.packed)])
        hosts = await UdpHosts.open([A, B, C], relay_port=0)
        server = Server(hosts)
        server.add_meters(meters)
        resolver = MemoryResolver()
        port = hosts.local_address.port
        for title, host in zip(titles, (A, B, C)):
            resolver.set(title, Address(host, port))
        client = Client(await UdpTransport.open("127.0.0.1", 0), system_title=HEAD_END, resolver=resolver)
        try:
            await server.start()
            b = client.broadcast(group, (1, "0.0.42.0.0.255", 2), window=2.0, keys={t: (EK, AK) for t in titles},
                                 bk=BK, ak=AK, expected=titles, relay_port=hosts.relay_port)  # fmt: skip
            answered = {bytes(t): v async for t, v in b}
            assert b.relayed == 3
            assert set(answered) == set(titles[:2])
            summary = b.summary
            assert summary.missing == frozenset({titles[2]}) and summary.duplicates == 0
            # delivered once to the endpoint, not once per address it was sent to
            assert server.group_stats.received == 1
            assert (server.group_stats.executed, server.group_stats.not_member) == (2, 1)
        finally:
            await client.close()
            await server.close()

    asyncio.run(main())


def test_a_relayed_group_request_needs_its_members() -> None:
    async def main() -> None:
        client = Client(await UdpTransport.open("127.0.0.1", 0), system_title=HEAD_END)
        try:
            b = client.broadcast("ff03::1", (1, "0.0.42.0.0.255", 2), window=1.0, keys={}, bk=bytes(16),
                                 ak=bytes(16), relay_port=4059)  # fmt: skip
            with pytest.raises(DlmsError, match="needs its members"):
                await b.__anext__()
        finally:
            await client.close()

    asyncio.run(main())
