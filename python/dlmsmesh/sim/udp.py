"""The ``udp`` transport of a run: real UDP sockets on loopback, wall-clock time.

Every peer is a socket of this machine's loopback interface and nothing
else: the head-end (client and registration listener) at 127.0.0.1, each
meter at its own address of 127.16.0.0/12 (Linux routes the whole 127/8 to
the loopback interface; IPv6 has the one address ::1, and the server tells
its meters apart by the address they are asked at).  A meter's address is
announced and kept as the IPv4-mapped IPv6 address (``::ffff:127.16.0.5``),
the form the registration message carries.  One
:class:`~dlmsmesh.transport.UdpHosts` endpoint hosts every meter's socket;
a meter that moves gets a new socket at a new address and its old one
closes.  Group requests reach the meters by unicast relay
(:func:`~dlmsmesh.transport.relay_datagram`): IPv6 multicast does not reach
IPv4 sockets, and this loopback carries none anyway.

The clock is the event loop's: phases take the wall-clock time they take.
The counters are what left the sockets (datagrams and UDP payload bytes);
there are no radio frames.
"""

from __future__ import annotations

import asyncio
import ipaddress
from collections.abc import Iterable
from typing import Any

from ..transport import RealClock, UdpHosts, UdpTransport

__all__ = ["LoopbackNetwork", "HEAD_END_HOST", "meter_host"]

#: the head-end's address (client and registration listener, each its own port)
HEAD_END_HOST = "127.0.0.1"
_METERS = int(ipaddress.IPv4Address("127.16.0.0"))
#: addresses per generation of meter addresses (a move takes the next generation's)
_GENERATION = 1 << 16


def meter_host(index: int, generation: int = 0) -> str:
    """Meter ``index``'s address in ``generation`` (0: where it joins), as it
    announces it: the IPv4-mapped IPv6 address of a loopback address."""
    if not 0 <= index < _GENERATION - 2:
        raise ValueError(f"the udp transport numbers meters 0..{_GENERATION - 3}, not {index}")
    return f"::ffff:{ipaddress.IPv4Address(_METERS + generation * _GENERATION + index + 1)}"


class _Counted:
    """What an endpoint of the run sent: datagrams and UDP payload bytes."""

    bytes_sent = 0

    def _count(self, data: Any) -> None:
        self.bytes_sent += len(data)


class _Socket(_Counted, UdpTransport):
    async def send(self, data: Any, address: tuple[str, int], *, source: str | None = None) -> None:
        sent = self.sent
        await super().send(data, address, source=source)
        if self.sent != sent:
            self._count(data)


class _Hosts(_Counted, UdpHosts):
    async def send(self, data: Any, address: tuple[str, int], *, source: str | None = None) -> None:
        sent = self.sent
        await super().send(data, address, source=source)
        if self.sent != sent:
            self._count(data)


class LoopbackNetwork:
    """The sockets of one run and their counters (a ``network`` of :mod:`.run`)."""

    def __init__(self) -> None:
        self.clock = RealClock()
        self._endpoints: list[_Counted] = []

    async def endpoint(self, host: str = HEAD_END_HOST, port: int = 0, *, queue_size: int = 4096) -> UdpTransport:
        ep = await _Socket.open(host, port, queue_size=queue_size, receive_buffer=1 << 22)
        assert isinstance(ep, _Counted)
        self._endpoints.append(ep)
        return ep

    async def hosts(self, hosts: Iterable[str], port: int = 0, *, queue_size: int = 4096) -> UdpHosts:
        """One endpoint for every meter address, relaying group requests."""
        ep = await _Hosts.open(list(hosts), port, relay_port=0, queue_size=queue_size)
        assert isinstance(ep, _Counted)
        self._endpoints.append(ep)
        return ep

    async def advance(self, seconds: float) -> None:
        await asyncio.sleep(seconds)

    def snapshot(self) -> dict[str, Any]:
        return {
            "datagrams": sum(getattr(e, "sent", 0) for e in self._endpoints),
            "udp_bytes": sum(e.bytes_sent for e in self._endpoints),
        }
