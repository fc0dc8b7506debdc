"""UDP specifics: the ports, socket errors as DlmsErrors, address families,
multicast membership where the OS allows it.  Loopback only."""

from __future__ import annotations

import asyncio
import errno
import socket
import struct
import sys

import pytest

from dlmsmesh import ipv6
from dlmsmesh.errors import DlmsError
from dlmsmesh.transport import (
    DLMS_UDP_PORT,
    MESH_UDP_PORT,
    Address,
    AddressError,
    TransportClosed,
    TransportError,
    UdpTransport,
)
from dlmsmesh.transport.udp import _destination

pytestmark = pytest.mark.single_backend  # sockets only, no codec


def test_the_ports_are_the_codecs_ports() -> None:
    assert DLMS_UDP_PORT == ipv6.DLMS_PORT == 4059
    assert MESH_UDP_PORT == ipv6.MESH_PORT == 0xF0B0 == 61616


@pytest.mark.asyncio
async def test_a_port_in_use_is_a_transport_error() -> None:
    async with await UdpTransport.open("127.0.0.1", 0) as first:
        with pytest.raises(TransportError) as info:
            await UdpTransport.open("127.0.0.1", first.local_address.port)
    assert info.value.errno == errno.EADDRINUSE
    assert isinstance(info.value, DlmsError)


@pytest.mark.asyncio
async def test_an_address_not_on_this_host_is_a_transport_error() -> None:
    with pytest.raises(TransportError) as info:
        await UdpTransport.open("192.0.2.1", 0)  # TEST-NET-1, never local
    assert info.value.errno == errno.EADDRNOTAVAIL


@pytest.mark.asyncio
async def test_an_ipv4_socket_refuses_an_ipv6_peer() -> None:
    async with await UdpTransport.open("127.0.0.1", 0) as t:
        with pytest.raises(AddressError):
            await t.send(b"x", ("::1", 4059))
        assert t.sent == 0


@pytest.mark.asyncio
async def test_ipv6_addresses_come_back_canonical() -> None:
    try:
        t = await UdpTransport.open("0:0:0:0:0:0:0:1", 0)
    except TransportError:
        pytest.skip("no IPv6 loopback here")
    async with t, await UdpTransport.open("::1", 0) as u:
        assert t.local_address.host == "::1"
        await u.send(b"v6", ("0::1", t.local_address.port))  # any spelling reaches it
        data, source = await t.recv(timeout=2)
        assert (data, source) == (b"v6", u.local_address)


@pytest.mark.asyncio
async def test_socket_errors_are_counted_as_transport_errors() -> None:
    async with await UdpTransport.open("127.0.0.1", 0) as t:
        assert t.errors == 0 and t.last_error is None
        # a socket whose recvfrom fails (as an ICMP error for an earlier send does on some systems)
        real = t._sock
        t._sock = _Failing(errno.ECONNREFUSED)  # type: ignore[assignment]
        t._read_ready()
        t._sock = real
        assert t.errors == 1
        assert isinstance(t.last_error, TransportError) and t.last_error.errno == errno.ECONNREFUSED
        # and the endpoint still works
        await t.send(b"self", t.local_address)
        assert (await t.recv(timeout=2))[0] == b"self"


class _Failing:
    def __init__(self, code: int) -> None:
        self.code = code

    def recvfrom(self, size: int) -> tuple[bytes, tuple[str, int]]:
        raise OSError(self.code, "Connection refused")

    def recvmsg(self, size: int, ancillary: int) -> tuple[bytes, list[tuple[int, int, bytes]], int, tuple[str, int]]:
        raise OSError(self.code, "Connection refused")

    def sendto(self, data: bytes, address: tuple[str, int]) -> int:
        if self.code == errno.EAGAIN:
            raise BlockingIOError(errno.EAGAIN, "Resource temporarily unavailable")
        raise OSError(self.code, "Network is unreachable")


@pytest.mark.asyncio
async def test_a_full_send_buffer_drops_instead_of_growing() -> None:
    async with await UdpTransport.open("127.0.0.1", 0) as t:
        real = t._sock
        t._sock = _Failing(errno.EAGAIN)  # type: ignore[assignment]
        try:
            await t.send(b"x", ("127.0.0.1", 9))
        finally:
            t._sock = real
        assert (t.sent, t.send_dropped) == (0, 1)


@pytest.mark.asyncio
async def test_a_send_the_kernel_refuses_is_a_transport_error() -> None:
    async with await UdpTransport.open("127.0.0.1", 0) as t:
        real = t._sock
        t._sock = _Failing(errno.ENETUNREACH)  # type: ignore[assignment]
        try:
            with pytest.raises(TransportError) as info:
                await t.send(b"x", ("127.0.0.1", 9))
        finally:
            t._sock = real
        assert info.value.errno == errno.ENETUNREACH and t.sent == 0


@pytest.mark.asyncio
async def test_one_readiness_drains_up_to_read_burst_datagrams() -> None:
    async with await UdpTransport.open("127.0.0.1", 0, receive_buffer=1 << 20, read_burst=100) as b:
        async with await UdpTransport.open("127.0.0.1", 0) as a:
            for i in range(250):  # loopback delivers into b's socket buffer at once, no yield needed
                await a.send(i.to_bytes(2, "big"), b.local_address)
            b._read_ready()
            assert b.received == 100
            b._read_ready()
            b._read_ready()
            assert b.received == 250
            assert [d for d, _ in await b.recv_batch(300, timeout=0)] == [i.to_bytes(2, "big") for i in range(250)]


@pytest.mark.asyncio
async def test_a_burst_larger_than_one_loop_turn_is_not_lost() -> None:
    """2,000 datagrams, the sender yielding once per 200: each readiness
    drains many (asyncio's own datagram transport reads one per loop turn
    and would leave most to overflow the kernel buffer)."""
    async with await UdpTransport.open("127.0.0.1", 0, receive_buffer=1 << 20) as b:
        async with await UdpTransport.open("127.0.0.1", 0) as a:
            for i in range(2000):
                await a.send(i.to_bytes(2, "big"), b.local_address)
                if i % 200 == 199:
                    await asyncio.sleep(0)
            got = []
            for _ in range(2000):  # bounded
                if len(got) == 2000:
                    break
                got.extend(d for d, _ in await b.recv_batch(512, timeout=2))
        assert len(got) == 2000 and b.dropped == 0


@pytest.mark.asyncio
async def test_close_releases_the_port() -> None:
    t = await UdpTransport.open("127.0.0.1", 0)
    port = t.local_address.port
    await t.close()
    assert t.closed
    async with await UdpTransport.open("127.0.0.1", port) as again:
        assert again.local_address.port == port
    with pytest.raises(TransportClosed):
        t.join_group("239.255.0.1")


@pytest.mark.asyncio
async def test_multicast_membership_checks_and_os_refusals() -> None:
    async with await UdpTransport.open("127.0.0.1", 0) as t:
        with pytest.raises(AddressError):
            t.join_group("127.0.0.1")  # not a group
        with pytest.raises(AddressError):
            t.join_group("ff03::d1:1")  # wrong family
        try:
            t.join_group("239.255.0.1", "127.0.0.1")
        except TransportError as exc:  # an OS without multicast on loopback says so as a DlmsError
            assert exc.errno is not None
        else:
            t.leave_group("239.255.0.1", "127.0.0.1")


@pytest.mark.asyncio
async def test_ipv6_multicast_join_on_loopback_or_a_clear_refusal() -> None:
    try:
        t = await UdpTransport.open("::1", 0)
    except TransportError:
        pytest.skip("no IPv6 loopback here")
    async with t:
        try:
            t.join_group("ff03::d1:1", socket.if_nametoindex("lo"))
        except OSError as exc:
            assert isinstance(exc, TransportError), "a raw OSError escaped"
        else:
            t.leave_group("ff03::d1:1", socket.if_nametoindex("lo"))


@pytest.mark.asyncio
async def test_many_datagrams_arrive_in_batches() -> None:
    async with await UdpTransport.open("127.0.0.1", 0) as a, await UdpTransport.open("127.0.0.1", 0) as b:
        for i in range(500):
            await a.send(i.to_bytes(2, "big"), b.local_address)
            if i % 50 == 49:
                await asyncio.sleep(0)  # let the receiver read: a socket buffer is finite
        got: list[bytes] = []
        for _ in range(500):  # bounded
            if len(got) == 500:
                break
            got.extend(d for d, _ in await b.recv_batch(128, timeout=2))
        assert got == [i.to_bytes(2, "big") for i in range(500)]
        assert b.received == 500 and b.dropped == 0


@pytest.mark.asyncio
async def test_receive_buffer_and_names_carry_the_real_port() -> None:
    async with await UdpTransport.open("127.0.0.1", 0, receive_buffer=1 << 20) as t:
        assert t._sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) >= 1 << 19  # Linux doubles, others cap
        with pytest.raises(DlmsError, match=f"port {t.local_address.port}"):
            await t.recv(timeout=0)
        assert repr(t) == f"<UdpTransport 127.0.0.1 port {t.local_address.port} open>"


@pytest.mark.asyncio
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="packet info checked where its layout is known")
async def test_the_destination_comes_from_packet_info() -> None:
    async with await UdpTransport.open("127.0.0.1", 0) as a, await UdpTransport.open("0.0.0.0", 0) as b:
        # a socket bound to the wildcard address asks for packet info; one
        # bound to one address receives only what was sent to it, so needs none
        assert b._pktinfo and not a._pktinfo
        await a.send(b"x", ("127.0.0.1", b.local_address.port))
        incoming = await b.recv_incoming(timeout=2)
        assert incoming == (b"x", a.local_address, ("127.0.0.1", b.local_address.port))
        await b.send(b"y", a.local_address)
        assert await a.recv_incoming(timeout=2) == (b"y", ("127.0.0.1", b.local_address.port), a.local_address)
    local = Address("::", 61616)
    in6 = socket.inet_pton(socket.AF_INET6, "ff03::d1:1") + struct.pack("@I", 1)
    assert _destination([(socket.IPPROTO_IPV6, socket.IPV6_PKTINFO, in6)], local) == ("ff03::d1:1", 61616)
    in4 = struct.pack("@i", 1) + socket.inet_aton("127.0.0.1") + socket.inet_aton("239.255.0.1")
    assert _destination([(socket.IPPROTO_IP, 8, in4)], local) == ("239.255.0.1", 61616)
    assert _destination([], local) == local


@pytest.mark.asyncio
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="127.0.0.0/8 is all local on Linux")
async def test_a_wildcard_socket_sends_from_the_address_it_is_told() -> None:
    async with await UdpTransport.open("0.0.0.0", 0) as server, await UdpTransport.open("127.0.0.1", 0) as peer:
        port = server.local_address.port
        for host in ("127.0.0.2", "127.0.0.3"):
            await peer.send(b"ask", (host, port))
            asked = await server.recv_incoming(timeout=2)
            assert asked.destination == (host, port)
            await server.send(b"answer", asked.source, source=asked.destination.host)
            assert await peer.recv_incoming(timeout=2) == (b"answer", (host, port), peer.local_address)
        # not an address to send from: the kernel's choice, not a failure
        await server.send(b"anyway", peer.local_address, source="255.255.255.255")
        assert (await peer.recv(timeout=2))[0] == b"anyway"
        with pytest.raises(DlmsError, match="not an IP address"):
            await server.send(b"x", peer.local_address, source="meter-1")
    # a socket bound to one address sends from it whatever it is told
    async with await UdpTransport.open("127.0.0.1", 0) as one, await UdpTransport.open("127.0.0.1", 0) as peer:
        await one.send(b"x", peer.local_address, source="127.0.0.9")
        assert await peer.recv_incoming(timeout=2) == (b"x", one.local_address, peer.local_address)


@pytest.mark.asyncio
async def test_one_at_a_time_and_bursts_both_arrive_whole() -> None:
    """A quiet socket asks the kernel whether another datagram waits instead
    of trying a read that fails; a burst is drained to the failed read.
    Either way every datagram arrives, in order, zero-length ones too (the
    kernel's count of waiting bytes is 0 for them: the selector wakes the
    reader for them again)."""
    opened = await UdpTransport.open("127.0.0.1", 0, read_burst=16)
    async with opened as server, await UdpTransport.open("127.0.0.1", 0) as client:
        to = (server.local_address.host, server.local_address.port)
        # one at a time
        for i in range(5):
            await client.send(bytes([i]) * 3, to)
            assert (await server.recv(timeout=2.0))[0] == bytes([i]) * 3
        # zero-length datagrams between others, sent at once
        for payload in (b"", b"a", b"", b"", b"bb", b""):
            await client.send(payload, to)
        got = [(await server.recv(timeout=2.0))[0] for _ in range(6)]
        assert got == [b"", b"a", b"", b"", b"bb", b""]
        # a burst of several wakeups' reads (within the kernel's receive buffer)
        burst = [i.to_bytes(2, "big") for i in range(100)]
        for payload in burst:
            await client.send(payload, to)
        received = [(await server.recv(timeout=2.0))[0] for _ in range(100)]
        assert received == burst
        assert server.errors == 0


@pytest.mark.asyncio
async def test_a_quiet_socket_reads_one_datagram_per_wakeup_and_probes_for_bursts() -> None:
    """A socket whose last draining wakeup found one datagram reads one per
    wakeup (no ioctl, no failed read: the level-triggered selector wakes it
    again); every 8th wakeup it drains what waits and leaves quiet mode when
    it found more than one."""
    async with await UdpTransport.open("127.0.0.1", 0, read_burst=64) as b:
        async with await UdpTransport.open("127.0.0.1", 0) as a:
            await a.send(b"first", b.local_address)
            b._read_ready()  # a fresh socket drains: one found, so it turns quiet
            assert b.received == 1 and b._one_at_a_time
            for i in range(20):
                await a.send(bytes([i]), b.local_address)
            for wakeup in range(1, 8):
                b._read_ready()
                assert b.received == 1 + wakeup  # one per wakeup
            assert b._one_at_a_time
            b._read_ready()  # the 8th: drains the 13 that wait
            assert b.received == 21 and not b._one_at_a_time
            got = [d for d, _ in await b.recv_batch(64, timeout=0)]
            assert got == [b"first"] + [bytes([i]) for i in range(20)]
