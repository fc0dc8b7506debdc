"""Datagrams over the operating system's UDP sockets (asyncio datagram endpoints)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import struct
from typing import Any

from dlmsmesh.transport._inbox import Inbox
from dlmsmesh.transport.clock import RealClock
from dlmsmesh.transport.interface import (
    MAX_DATAGRAM,
    Address,
    AddressError,
    TransportClosed,
    TransportError,
    as_address,
)

__all__ = ["UdpTransport"]

# asyncio buffers a datagram the socket cannot take yet, without limit; past
# this many bytes waiting we drop instead (UDP promises no delivery).
_SEND_BUFFER_LIMIT = 1 << 20


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, inbox: Inbox) -> None:
        self.inbox = inbox
        self.errors = 0
        self.last_error: TransportError | None = None
        self.lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        # IPv6 addresses come as (host, port, flowinfo, scope_id)
        self.inbox.put(data, Address(addr[0], addr[1]))

    def error_received(self, exc: Exception) -> None:
        # ICMP errors (port unreachable...) about earlier sends: counted, not
        # raised into an unrelated receive, as UDP owes the sender nothing
        self.errors += 1
        self.last_error = _wrap(exc, "socket error")

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lost.done():
            self.lost.set_result(None)


def _wrap(exc: BaseException, what: str) -> TransportError:
    code = getattr(exc, "errno", None)
    return TransportError(f"{what}: {exc}", errno=code if isinstance(code, int) else None)


class UdpTransport:
    """One UDP socket as a :class:`~dlmsmesh.transport.Datagram`.

    Open with ``await UdpTransport.open(host, port)``; ``host`` picks the
    family (``"::1"`` IPv6, ``"127.0.0.1"`` IPv4).  ``queue_size`` bounds the
    datagrams waiting to be received; more are dropped and counted.
    ``errors`` counts errors the socket reported about earlier sends, the
    last one is ``last_error``.
    """

    def __init__(self, transport: asyncio.DatagramTransport, protocol: _Protocol, inbox: Inbox) -> None:
        self._transport = transport
        self._protocol = protocol
        self._inbox = inbox
        sock = transport.get_extra_info("socket")
        self._family: int = sock.family
        name = sock.getsockname()
        self._local = Address(name[0], name[1])
        self.sent = 0
        self.send_dropped = 0

    @classmethod
    async def open(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        queue_size: int = 4096,
        reuse_port: bool = False,
    ) -> UdpTransport:
        local = as_address((host, port))
        loop = asyncio.get_running_loop()
        inbox = Inbox(RealClock(), queue_size, f"udp {local.host} {local.port}")
        family: int
        try:
            family = (
                socket.AF_INET6 if ipaddress.ip_address(local.host.partition("%")[0]).version == 6 else socket.AF_INET
            )
        except ValueError:
            family = 0  # a host name: let the resolver choose
        try:
            transport, protocol = await loop.create_datagram_endpoint(
                lambda: _Protocol(inbox),
                local_addr=(local.host, local.port),
                family=family,
                reuse_port=reuse_port or None,
            )
        except OSError as exc:
            raise _wrap(exc, f"cannot open UDP {local.host} port {local.port}") from exc
        return cls(transport, protocol, inbox)

    @property
    def local_address(self) -> Address:
        return self._local

    @property
    def dropped(self) -> int:
        return self._inbox.dropped

    @property
    def received(self) -> int:
        return self._inbox.received

    @property
    def errors(self) -> int:
        return self._protocol.errors

    @property
    def last_error(self) -> TransportError | None:
        return self._protocol.last_error

    @property
    def closed(self) -> bool:
        return self._transport.is_closing()

    async def send(self, data: bytes | bytearray | memoryview, address: tuple[str, int]) -> None:
        if self._transport.is_closing():
            raise TransportClosed(f"udp {self._local.host} {self._local.port} is closed")
        peer = as_address(address)
        if len(data) > MAX_DATAGRAM:
            raise TransportError(f"datagram of {len(data)} bytes exceeds the UDP maximum of {MAX_DATAGRAM}")
        if peer.port == 0:
            raise AddressError("cannot send to port 0")
        target: tuple[Any, ...] = (peer.host, peer.port)
        if self._family == socket.AF_INET and ":" in peer.host:
            raise AddressError(f"an IPv4 socket cannot reach {peer.host}")
        if self._family == socket.AF_INET6 and ":" not in peer.host:
            try:
                ipaddress.IPv4Address(peer.host)
            except ValueError:
                pass
            else:
                target = (f"::ffff:{peer.host}", peer.port)  # dual-stack socket: v4-mapped
        buffered = getattr(self._transport, "get_write_buffer_size", None)
        if buffered is not None and buffered() > _SEND_BUFFER_LIMIT:
            self.send_dropped += 1
            return
        try:
            self._transport.sendto(bytes(data), target)
        except OSError as exc:  # asyncio reports most errors to error_received; some raise
            raise _wrap(exc, f"cannot send to {peer.host} port {peer.port}") from exc
        self.sent += 1

    async def recv(self, timeout: float | None = None) -> tuple[bytes, Address]:
        return await self._inbox.get(timeout)

    async def recv_batch(self, max_count: int = 64, timeout: float | None = None) -> list[tuple[bytes, Address]]:
        return await self._inbox.get_batch(max_count, timeout)

    def join_group(self, group: str, interface: int | str = 0) -> None:
        """Join multicast ``group``: ``interface`` is an IPv6 interface index
        (0: the system's choice) or, for IPv4, the local interface address."""
        self._membership(group, interface, join=True)

    def leave_group(self, group: str, interface: int | str = 0) -> None:
        self._membership(group, interface, join=False)

    def _membership(self, group: str, interface: int | str, *, join: bool) -> None:
        if self._transport.is_closing():
            raise TransportClosed("udp endpoint is closed")
        try:
            address = ipaddress.ip_address(group)
        except ValueError:
            raise AddressError(f"{group!r} is not an IP address") from None
        if not address.is_multicast:
            raise AddressError(f"{group} is not a multicast address")
        sock: socket.socket = self._transport.get_extra_info("socket")
        try:
            if address.version == 6:
                if self._family != socket.AF_INET6:
                    raise AddressError("an IPv4 socket cannot join an IPv6 group")
                index = interface if isinstance(interface, int) else socket.if_nametoindex(interface)
                option = socket.IPV6_JOIN_GROUP if join else socket.IPV6_LEAVE_GROUP
                sock.setsockopt(socket.IPPROTO_IPV6, option, address.packed + struct.pack("@I", index))
            else:
                if self._family != socket.AF_INET:
                    raise AddressError("join IPv4 groups from an IPv4 socket")
                local = socket.inet_aton(interface) if isinstance(interface, str) else bytes(4)
                option = socket.IP_ADD_MEMBERSHIP if join else socket.IP_DROP_MEMBERSHIP
                sock.setsockopt(socket.IPPROTO_IP, option, address.packed + local)
        except OSError as exc:
            verb = "join" if join else "leave"
            raise _wrap(exc, f"cannot {verb} multicast group {group}") from exc

    async def close(self) -> None:
        self._inbox.close()
        if not self._transport.is_closing():
            self._transport.close()
        # connection_lost comes one loop turn later: wait for it so the
        # socket is really released when close() returns
        await asyncio.wait([self._protocol.lost], timeout=1.0)

    async def __aenter__(self) -> UdpTransport:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<UdpTransport {self._local.host} port {self._local.port} {state}>"
