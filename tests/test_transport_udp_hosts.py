"""UdpHosts: one endpoint over a UDP socket per loopback address (the
udp transport of ``dlmsmesh simulate``): each datagram says which address it
came to, a reply leaves from the address asked, addresses come and go while
it runs, and a group request relayed by unicast is delivered once, as come
to its group.  Loopback addresses only (127.30.0.0/16)."""

from __future__ import annotations

import asyncio

import pytest

from dlmsmesh.client import Client
from dlmsmesh.errors import DlmsTimeout
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
