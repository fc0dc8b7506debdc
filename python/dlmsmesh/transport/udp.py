"""Datagrams over the operating system's UDP sockets.

A non-blocking socket watched by the event loop (``loop.add_reader``)
rather than asyncio's datagram transport: that one reads a single datagram
per loop turn and buffers unsent ones without limit, so a burst fills the
kernel buffer and valid traffic is lost while memory grows.  Here each
readiness drains up to ``read_burst`` datagrams into the bounded queue, and
a send the kernel cannot take now is dropped and counted, as UDP may.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import ipaddress
import socket
import struct
import sys
from typing import Any, Callable

from dlmsmesh.transport._endpoint import InboxEndpoint
from dlmsmesh.transport._inbox import Inbox
from dlmsmesh.transport.clock import RealClock
from dlmsmesh.transport.interface import (
    MAX_DATAGRAM,
    Address,
    AddressError,
    Incoming,
    TransportClosed,
    TransportError,
    as_address,
    normalize_host,
)

__all__ = ["UdpTransport", "UdpHosts", "relay_datagram", "unrelay_datagram"]

_ioctl: Any = None
_FIONREAD = 0
try:  # how many bytes wait on a socket, without a read that fails (POSIX)
    import fcntl
    import termios

    _ioctl, _FIONREAD = fcntl.ioctl, termios.FIONREAD
except ImportError:  # pragma: no cover - no fcntl: every read loop ends on a failed read
    pass

# the destination address of each datagram comes as ancillary data (RFC 3542
# for IPv6); Python names IP_PKTINFO only on some builds, Linux's value is 8
_IP_PKTINFO: int | None = getattr(socket, "IP_PKTINFO", 8 if sys.platform.startswith("linux") else None)
_IPV6_RECVPKTINFO: int | None = getattr(socket, "IPV6_RECVPKTINFO", None)
_IPV6_PKTINFO: int | None = getattr(socket, "IPV6_PKTINFO", None)
_CMSG_SPACE = 64
#: FIONREAD's answer when nothing waits (a zero-length datagram reads as this
#: too: the selector, level-triggered, wakes the reader for it again)
_NOTHING = bytes(4)


def _wrap(exc: OSError, what: str) -> TransportError:
    return TransportError(f"{what}: {exc.strerror or exc}", errno=exc.errno)


def _enable_pktinfo(sock: socket.socket) -> bool:
    try:
        if sock.family == socket.AF_INET6 and _IPV6_RECVPKTINFO is not None:
            sock.setsockopt(socket.IPPROTO_IPV6, _IPV6_RECVPKTINFO, 1)
            return True
        if sock.family == socket.AF_INET and _IP_PKTINFO is not None:
            sock.setsockopt(socket.IPPROTO_IP, _IP_PKTINFO, 1)
            return True
    except OSError:
        pass
    return False


def _destination(ancillary: list[tuple[int, int, bytes]], local: Address) -> Address:
    """The address a datagram was sent to, from its packet-info ancillary data
    (in6_pktinfo: address first; in_pktinfo: ifindex, spec_dst, then address)."""
    for level, kind, blob in ancillary:
        if level == socket.IPPROTO_IPV6 and kind == _IPV6_PKTINFO and len(blob) >= 16:
            return Address(socket.inet_ntop(socket.AF_INET6, blob[:16]), local.port)
        if level == socket.IPPROTO_IP and kind == _IP_PKTINFO and len(blob) >= 12:
            return Address(socket.inet_ntop(socket.AF_INET, blob[8:12]), local.port)
    return local


#: a named tuple made without its generated __new__ (once per datagram)
_tuple_new = tuple.__new__
#: a quiet socket asks the kernel whether a burst is building every this many wakeups
_PROBE_EVERY = 8
#: peers whose send target a socket keeps (a server's clients, a head-end's meters)
_TARGETS_MAX = 4096

class UdpTransport(InboxEndpoint):
    """One UDP socket as a :class:`~dlmsmesh.transport.Datagram`.

    Open with ``await UdpTransport.open(host, port)``; ``host`` picks the
    family (``"::1"`` IPv6, ``"127.0.0.1"`` IPv4).  ``queue_size`` bounds the
    datagrams waiting to be received; more are dropped and counted.
    ``receive_buffer`` asks the kernel for that many bytes of socket buffer
    (SO_RCVBUF), for bursts that arrive while the loop is busy elsewhere.
    ``errors`` counts errors the socket reported while receiving (ICMP
    errors about earlier sends, on systems that report them), the last one
    is ``last_error``; they never end a receive, as UDP owes the sender
    nothing.  :meth:`recv_incoming` also gives the address each datagram
    was sent to (from IP packet info where the OS gives it, else the bound
    address): a socket bound to ``::`` serves many addresses and groups.
    Needs an event loop with ``add_reader`` (the selector loops:
    every loop on POSIX).
    """

    KIND = "UdpTransport"

    def __init__(self, sock: socket.socket, loop: asyncio.AbstractEventLoop, inbox: Inbox, read_burst: int) -> None:
        name = sock.getsockname()
        super().__init__(Address(name[0], name[1]), inbox)
        self._sock = sock
        self._loop = loop
        self._read_burst = read_burst
        #: the last draining wakeup found one datagram: wakeups read one
        #: datagram each (a request and its answer, one at a time, is what
        #: most sockets here carry), every _PROBE_EVERY-th asking the kernel
        #: whether another waits; False: each wakeup drains the socket
        self._one_at_a_time = False
        self._quiet_wakeups = 0
        self._family = sock.family
        inbox.name = f"udp {self._local.host} port {self._local.port}"
        # only a socket bound to the wildcard address (:: or 0.0.0.0) needs
        # packet info to tell which address a datagram was sent to: one bound
        # to a single address receives only what was sent to that address
        self._pktinfo = ipaddress.ip_address(str(name[0]).partition("%")[0]).is_unspecified and _enable_pktinfo(sock)
        self.send_dropped = 0
        self.errors = 0
        self.last_error: TransportError | None = None
        #: peer address -> the (host, port) the socket sends it to
        self._targets: dict[Address, tuple[str, int]] = {}

    @classmethod
    async def open(
        cls,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        queue_size: int = 4096,
        reuse_port: bool = False,
        receive_buffer: int | None = None,
        read_burst: int = 256,
    ) -> UdpTransport:
        local = as_address((host, port))
        inbox = Inbox(RealClock(), queue_size, f"udp {local.host} port {local.port}")
        return cls._bound(local, inbox, reuse_port=reuse_port, receive_buffer=receive_buffer, read_burst=read_burst)

    @classmethod
    def _bound(
        cls, local: Address, inbox: Inbox, *, reuse_port: bool, receive_buffer: int | None, read_burst: int
    ) -> UdpTransport:
        """A socket bound to ``local`` whose datagrams go to ``inbox`` (its own, or one shared)."""
        loop = asyncio.get_running_loop()
        try:
            version = ipaddress.ip_address(local.host.partition("%")[0]).version
        except ValueError:
            raise AddressError(f"open needs an IP address, not {local.host!r}") from None
        family = socket.AF_INET6 if version == 6 else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_DGRAM)
        try:
            sock.setblocking(False)
            if reuse_port:
                option = getattr(socket, "SO_REUSEPORT", None)
                if option is None:
                    raise TransportError("this system has no SO_REUSEPORT")
                sock.setsockopt(socket.SOL_SOCKET, option, 1)
            if receive_buffer is not None:
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
            # getaddrinfo resolves a scoped address's zone to its index
            info = socket.getaddrinfo(local.host, local.port, family, socket.SOCK_DGRAM)
            sock.bind(info[0][4])
            transport = cls(sock, loop, inbox, read_burst)
            loop.add_reader(sock.fileno(), transport._read_ready)
        except OSError as exc:
            sock.close()
            raise _wrap(exc, f"cannot open UDP {local.host} port {local.port}") from exc
        except NotImplementedError:
            sock.close()
            raise TransportError("UdpTransport needs an event loop with add_reader (a selector loop)") from None
        except TransportError:
            sock.close()
            raise
        return transport

    def _read_ready(self) -> None:
        one_at_a_time = self._one_at_a_time
        limit = self._read_burst
        if one_at_a_time:
            # a quiet socket reads one datagram per wakeup and asks nothing
            # more: the selector is level-triggered and wakes it again at once
            # when another waits; every _PROBE_EVERY-th wakeup it asks the
            # kernel after its read, to notice a burst building up
            self._quiet_wakeups += 1
            if self._quiet_wakeups >= _PROBE_EVERY:
                self._quiet_wakeups = 0
            elif self._pktinfo:
                limit = 1
            else:
                # the loop below for one datagram without packet info: the round trip's every reply
                try:
                    data, addr = self._sock.recvfrom(65536)
                except (BlockingIOError, InterruptedError):
                    return
                except OSError as exc:
                    self.errors += 1
                    self.last_error = _wrap(exc, "socket error")
                    return
                host = addr[0]
                if host.startswith("::ffff:"):
                    host = normalize_host(host)
                self._inbox.put(data, _tuple_new(Address, (host, addr[1])), self._local)
                return
        sock, put, local = self._sock, self._inbox.put, self._local
        pktinfo = self._pktinfo
        got = 0
        for _ in range(limit):
            if got and one_at_a_time and _ioctl(sock.fileno(), _FIONREAD, _NOTHING) == _NOTHING:
                break
            try:
                if pktinfo:
                    data, ancillary, _flags, addr = sock.recvmsg(65536, _CMSG_SPACE)
                    destination = _destination(ancillary, local)
                else:
                    data, addr = sock.recvfrom(65536)
                    destination = local
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self.errors += 1
                self.last_error = _wrap(exc, "socket error")
                return
            got += 1
            # IPv6 addresses come as (host, port, flowinfo, scope_id); an IPv4
            # peer of a dual-stack socket as ::ffff:a.b.c.d (named a.b.c.d)
            host = addr[0]
            if host.startswith("::ffff:"):
                host = normalize_host(host)
            put(data, _tuple_new(Address, (host, addr[1])), destination)
        if limit == 1:
            return  # still quiet, as far as it asked
        # a burst drains to the failed read (or read_burst); one datagram found: quiet again
        self._one_at_a_time = got <= 1 and _ioctl is not None

    def _target(self, peer: Address) -> tuple[str, int]:
        v6 = ":" in peer.host
        if self._family == socket.AF_INET and v6:
            raise AddressError(f"an IPv4 socket cannot reach {peer.host}")
        if self._family == socket.AF_INET6 and not v6:
            try:
                ipaddress.IPv4Address(peer.host)
            except ValueError:
                raise AddressError(f"{peer.host!r} is not an IPv6 address") from None
            return (f"::ffff:{peer.host}", peer.port)  # v4-mapped, if the socket is dual-stack
        return (peer.host, peer.port)

    async def send(
        self, data: bytes | bytearray | memoryview, address: tuple[str, int], *, source: str | None = None
    ) -> None:
        """Send one datagram.  ``source``: the local address to send it from,
        on a socket bound to the wildcard address (a server answering from
        the address it was asked at, where it answers at several); ignored
        elsewhere, where the bound address is the only one."""
        self.send_now(data, address, source=source)

    def send_now(
        self, data: bytes | bytearray | memoryview, address: tuple[str, int], *, source: str | None = None
    ) -> None:
        """:meth:`send` without a coroutine (a UDP send never waits: a full
        kernel buffer drops the datagram and counts it in ``send_dropped``)."""
        if self._closed:
            raise TransportClosed(f"udp {self._local.host} port {self._local.port} is closed")
        if len(data) > MAX_DATAGRAM:
            raise TransportError(f"datagram of {len(data)} bytes exceeds the UDP maximum of {MAX_DATAGRAM}")
        # the peers a socket sends to are few and sent to again and again: each checked once
        targets = self._targets
        target = targets.get(address) if type(address) is Address else None
        if target is None:
            peer = as_address(address)
            if peer.port == 0:
                raise AddressError("cannot send to port 0")
            target = self._target(peer)
            if type(address) is Address:
                if len(targets) >= _TARGETS_MAX:
                    targets.clear()
                targets[address] = target
        try:
            if source is not None and self._pktinfo:
                try:
                    self._sock.sendmsg([data], [self._source_info(source)], 0, target)
                except OSError as exc:
                    if exc.errno not in (errno.EINVAL, errno.EADDRNOTAVAIL):
                        raise
                    # not an address to send from (a broadcast one, gone):
                    # the kernel's choice rather than no answer
                    self._sock.sendto(data, target)
            else:
                self._sock.sendto(data, target)
        except (BlockingIOError, InterruptedError):
            self.send_dropped += 1  # the kernel's send buffer is full: UDP may drop, memory stays bounded
            return
        except OSError as exc:
            raise _wrap(exc, f"cannot send to {target[0]} port {target[1]}") from exc
        self.sent += 1

    def _source_info(self, source: str) -> tuple[int, int, bytes]:
        """The packet-info ancillary data that sends from ``source``
        (in6_pktinfo: address, interface 0; in_pktinfo: interface 0, the
        source as spec_dst, address unused)."""
        host = source.partition("%")[0]
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise AddressError(f"{source!r} is not an IP address to send from") from None
        if self._family == socket.AF_INET6:
            if ip.version == 4:
                ip = ipaddress.IPv6Address(f"::ffff:{ip}")
            assert _IPV6_PKTINFO is not None  # packet info is on: the option exists
            return (socket.IPPROTO_IPV6, _IPV6_PKTINFO, ip.packed + struct.pack("@I", 0))
        if ip.version != 4:
            raise AddressError(f"an IPv4 socket cannot send from {source}")
        assert _IP_PKTINFO is not None
        return (socket.IPPROTO_IP, _IP_PKTINFO, struct.pack("@i", 0) + ip.packed + bytes(4))

    def join_group(self, group: str, interface: int | str = 0) -> None:
        """Join multicast ``group``: ``interface`` is an IPv6 interface index
        or name (0: the system's choice) or, for IPv4, the local interface
        address."""
        self._membership(group, interface, join=True)

    def leave_group(self, group: str, interface: int | str = 0) -> None:
        self._membership(group, interface, join=False)

    def _membership(self, group: str, interface: int | str, *, join: bool) -> None:
        if self._closed:
            raise TransportClosed("udp endpoint is closed")
        try:
            address = ipaddress.ip_address(group)
        except ValueError:
            raise AddressError(f"{group!r} is not an IP address") from None
        if not address.is_multicast:
            raise AddressError(f"{group} is not a multicast address")
        if (address.version == 6) != (self._family == socket.AF_INET6):
            raise AddressError(f"a socket of the other IP version cannot join {group}")
        try:
            if address.version == 6:
                index = interface if isinstance(interface, int) else socket.if_nametoindex(interface)
                option = socket.IPV6_JOIN_GROUP if join else socket.IPV6_LEAVE_GROUP
                self._sock.setsockopt(socket.IPPROTO_IPV6, option, address.packed + struct.pack("@I", index))
            else:
                local = socket.inet_aton(interface) if isinstance(interface, str) else bytes(4)
                option = socket.IP_ADD_MEMBERSHIP if join else socket.IP_DROP_MEMBERSHIP
                self._sock.setsockopt(socket.IPPROTO_IP, option, address.packed + local)
        except OSError as exc:
            verb = "join" if join else "leave"
            raise _wrap(exc, f"cannot {verb} multicast group {group}") from exc

    def _release(self) -> None:
        self._loop.remove_reader(self._sock.fileno())
        self._sock.close()


# ------------------------------------------------------------ many addresses

#: a relayed group datagram: the 16 octets of the group's IPv6 address, then the datagram
_RELAY_HEADER = 16
#: relayed datagrams remembered to deliver each once (RFC 7731's duplicate suppression)
_RELAY_MEMORY = 4096


def send_now_of(transport: object) -> Callable[..., None] | None:
    """``transport.send_now`` for a :class:`UdpTransport` whose ``send`` is
    its own (not replaced on the instance: a tap or a lossy link in a test
    sees every datagram), else None: await ``transport.send``."""
    if type(transport) is UdpTransport and "send" not in transport.__dict__:
        return transport.send_now
    return None


def relay_datagram(group: str, data: bytes | bytearray | memoryview) -> bytes:
    """``data`` as sent to multicast ``group``, wrapped to travel by unicast
    to an endpoint that relays it (:class:`UdpHosts` with ``relay_port``):
    the group's IPv6 address (16 octets; an IPv4 group as ``::ffff:a.b.c.d``), then the datagram."""
    try:
        ip = ipaddress.ip_address(group)
    except ValueError:
        raise AddressError(f"{group!r} is not an IP address") from None
    if not ip.is_multicast:
        raise AddressError(f"{group} is not a multicast address")
    packed = ip.packed if ip.version == 6 else ipaddress.IPv6Address(f"::ffff:{ip}").packed
    return packed + bytes(data)


def unrelay_datagram(data: bytes) -> tuple[str, bytes] | None:
    """(group, datagram) of a relayed datagram; None when it is not one."""
    if len(data) <= _RELAY_HEADER:
        return None
    ip = ipaddress.IPv6Address(data[:_RELAY_HEADER])
    group = ip.ipv4_mapped if ip.ipv4_mapped is not None else ip
    if not group.is_multicast:
        return None
    return normalize_host(str(group)), data[_RELAY_HEADER:]


class UdpHosts(InboxEndpoint):
    """One :class:`~dlmsmesh.transport.Datagram` over a UDP socket per local
    address, all on one port and one receive queue: a server hosting meters
    each at its own address, on real sockets (the in-process endpoint's
    aliases).  ``Incoming.destination`` says which address a datagram came
    to; ``send(..., source=host)`` sends from the socket of that address
    (default: the first).  :meth:`add` and :meth:`remove` bind and close an
    address while the endpoint runs: a meter that moves gets a new socket
    and keeps everything else.

    Where IPv6 multicast does not reach (a loopback without it, a network
    that drops it), a head-end may send each member's copy of a group
    request by unicast (:func:`relay_datagram`, and ``relay_port`` of
    :meth:`Client.broadcast <dlmsmesh.client.Client.broadcast>`): with
    ``relay_port`` every address also listens there, and a relayed datagram
    is delivered as if it had come to its group (destination: the group at
    the endpoint's port), once however many of the endpoint's addresses it
    was sent to (the endpoint stands for all their IP stacks, as one
    multicast datagram reaches a multicast socket once).
    """

    KIND = "UdpHosts"

    def __init__(self, port: int, inbox: Inbox, options: dict[str, Any], relay_port: int | None) -> None:
        super().__init__(Address("", port), inbox)
        self._options = options
        self._sockets: dict[str, UdpTransport] = {}
        self._relays: dict[str, UdpTransport] = {}
        self._relay_port = relay_port
        self._relay_inbox: Inbox | None = None
        self._seen: dict[bytes, None] = {}
        self.send_dropped = 0

    @classmethod
    async def open(
        cls,
        hosts: Any,
        port: int = 0,
        *,
        relay_port: int | None = None,
        queue_size: int = 4096,
        receive_buffer: int | None = None,
        read_burst: int = 256,
    ) -> UdpHosts:
        """Bind every host of ``hosts`` (at least one) at ``port`` (0: the
        first host's socket picks one, the others take the same);
        ``relay_port`` likewise (None: no relaying)."""
        hosts = [normalize_host(h) for h in hosts]
        if not hosts:
            raise AddressError("UdpHosts needs at least one address")
        inbox = Inbox(RealClock(), queue_size, f"udp hosts port {port}")
        options = {"reuse_port": False, "receive_buffer": receive_buffer, "read_burst": read_burst}
        endpoint = cls(port, inbox, options, relay_port)
        try:
            for host in hosts:
                endpoint.add(host)
        except BaseException:
            await endpoint.close()
            raise
        return endpoint

    @property
    def addresses(self) -> tuple[Address, ...]:
        """Every address the endpoint receives on, in the order bound."""
        return tuple(t.local_address for t in self._sockets.values())

    @property
    def relay_port(self) -> int | None:
        return self._relay_port

    def owns(self, address: Address) -> bool:
        """Whether the endpoint receives on ``address``."""
        member = self._sockets.get(address.host)
        return member is not None and member.local_address.port == address.port

    def add(self, host: str) -> Address:
        """Bind ``host`` too (at the endpoint's port, and its relay port)."""
        if self._closed:
            raise TransportClosed("udp hosts endpoint is closed")
        host = normalize_host(host)
        if host in self._sockets:
            raise TransportError(f"address in use: {host} port {self._local.port}")
        member = UdpTransport._bound(Address(host, self._local.port), self._inbox, **self._options)
        if not self._sockets:
            self._local = member.local_address  # the port the system picked, when 0 was asked
        self._inbox.name = f"udp hosts port {self._local.port}"  # each socket names the shared queue after itself
        self._sockets[host] = member
        if self._relay_port is not None:
            try:
                if self._relay_inbox is None:
                    self._relay_inbox = Inbox(RealClock(), 1, "relay")
                    self._relay_inbox.deliver = self._relayed
                relay = UdpTransport._bound(Address(host, self._relay_port), self._relay_inbox, **self._options)
            except BaseException:
                self._drop(member)
                del self._sockets[host]
                raise
            self._relay_port = relay.local_address.port
            self._relays[host] = relay
        return member.local_address

    def remove(self, host: str) -> None:
        """Close ``host``'s sockets (what arrives there from now is not received)."""
        host = normalize_host(host)
        member = self._sockets.pop(host, None)
        if member is None:
            raise AddressError(f"{host} is not an address of this endpoint")
        self._drop(member)
        relay = self._relays.pop(host, None)
        if relay is not None:
            self._drop(relay)
        if self._sockets and self._local.host == host:
            self._local = next(iter(self._sockets.values())).local_address

    @staticmethod
    def _drop(member: UdpTransport) -> None:
        member._closed = True  # its inbox is shared: only the socket goes
        member._release()

    def _relayed(self, incoming: Incoming) -> None:
        found = unrelay_datagram(incoming.data)
        if found is None:
            return
        group, data = found
        # one delivery per relayed datagram, however many of our addresses it was sent to
        digest = hashlib.blake2b(incoming.data, digest_size=16).digest()
        if digest in self._seen:
            return
        self._seen[digest] = None
        if len(self._seen) > _RELAY_MEMORY:
            del self._seen[next(iter(self._seen))]
        self._inbox.put(data, incoming.source, Address(group, self._local.port))

    async def send(
        self, data: bytes | bytearray | memoryview, address: tuple[str, int], *, source: str | None = None
    ) -> None:
        """Send one datagram from ``source``'s socket (default: the first address's)."""
        if self._closed or not self._sockets:
            raise TransportClosed(f"udp hosts port {self._local.port} is closed")
        if source is None:
            member = next(iter(self._sockets.values()))
        else:
            found = self._sockets.get(normalize_host(source))
            if found is None:
                raise AddressError(f"{source} is not an address of this endpoint")
            member = found
        sent, dropped = member.sent, member.send_dropped
        await member.send(data, address)
        self.sent += member.sent - sent
        self.send_dropped += member.send_dropped - dropped

    def join_group(self, group: str) -> None:
        """Join ``group`` on the first address's socket."""
        if self._closed or not self._sockets:
            raise TransportClosed("udp hosts endpoint is closed")
        next(iter(self._sockets.values())).join_group(group)

    def leave_group(self, group: str) -> None:
        if self._sockets:
            next(iter(self._sockets.values())).leave_group(group)

    def _release(self) -> None:
        for member in [*self._sockets.values(), *self._relays.values()]:
            self._drop(member)
        self._sockets.clear()
        self._relays.clear()
        if self._relay_inbox is not None:
            self._relay_inbox.close()
