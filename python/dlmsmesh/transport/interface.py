"""The datagram interface every dlmsmesh peer speaks through.

A server, a client, a registry listener and the simulator all move whole
datagrams: bytes to an address, bytes with the address they came from.
:class:`Datagram` is that contract; :mod:`dlmsmesh.transport.udp` carries
it over the operating system's UDP sockets, :mod:`dlmsmesh.transport.inprocess`
over a simulated network.  Nothing here knows DLMS: the payload is the
wrapper-layer datagram (IEC 62056-47 / 62056-9-7 UDP wrapper) or, on a
simulated mesh, whatever frame the simulation chooses to carry.
"""

from __future__ import annotations

import functools
import ipaddress
from typing import NamedTuple, Protocol, runtime_checkable

from dlmsmesh.errors import DlmsError

__all__ = [
    "DLMS_UDP_PORT",
    "MESH_UDP_PORT",
    "MAX_DATAGRAM",
    "Address",
    "Incoming",
    "Datagram",
    "TransportError",
    "TransportClosed",
    "AddressError",
    "normalize_host",
    "as_address",
]

DLMS_UDP_PORT = 4059
"""The IANA-registered port of DLMS/COSEM (``dlms-cosem``, UDP and TCP 4059),
the port of the IEC 62056-9-7 UDP profile; a mesh node always accepts it too."""

MESH_UDP_PORT = 61616
"""0xF0B0, the default port of the mesh profile (IEC TS 62056-8-20, 6.3.3).

The TS asks for a port that compresses well in 6LoWPAN UDP header
compression; RFC 6282 compresses both ports to one byte only inside
0xF0B0-0xF0BF, a range IANA does not assign, so the port is a convention.
The TS's own number is not public: 61616 is the first of that range, and is
configurable per node (TCP-UDP setup, class 41, attribute 2)."""

MAX_DATAGRAM = 65507
"""The largest UDP payload over IPv4 (65,535 - 8 UDP - 20 IPv4 header bytes);
both transports refuse anything larger, so a payload that works in a
simulation also fits a real socket."""


class TransportError(DlmsError):
    """A datagram could not be sent, received or the endpoint not opened.

    ``errno`` is the operating system's error number when a socket call
    failed, else None.
    """

    def __init__(self, message: str, *, errno: int | None = None) -> None:
        super().__init__(message)
        self.errno = errno


class TransportClosed(TransportError):
    """The endpoint is closed: raised by every call after ``close()`` and in
    every receive that was still waiting when it closed."""


class AddressError(TransportError, ValueError):
    """An address that is not a (host, port) this endpoint can reach."""


class Address(NamedTuple):
    """A datagram peer: host text (IPv6 or IPv4, or a simulated node name) and port."""

    host: str
    port: int


class Incoming(NamedTuple):
    """A received datagram with both ends: ``destination`` is the address it
    was sent to (a multicast group, or which of a server's addresses), so one
    endpoint can host many meters and tell a group request from a unicast one."""

    data: bytes
    source: Address
    destination: Address


@functools.lru_cache(maxsize=1 << 16)  # parsed on every send: a simulation reuses a few thousand hosts
def normalize_host(host: str) -> str:
    """The canonical text of an IP address (RFC 5952 for IPv6; an
    IPv4-mapped IPv6 address as the IPv4 address it maps), or ``host``
    unchanged when it is not an IP address (a simulated node's name).

    Two spellings of one address must reach the same endpoint.
    """
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        if "%" in host:  # scoped link-local address: keep the zone as given
            addr, _, zone = host.partition("%")
            try:
                return f"{ipaddress.ip_address(addr).compressed}%{zone}"
            except ValueError:
                pass
        return host
    # a dual-stack socket names an IPv4 peer ::ffff:a.b.c.d: one peer, one name
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return str(mapped) if mapped is not None else ip.compressed


def as_address(address: tuple[str, int]) -> Address:
    """Check and normalise a (host, port) pair."""
    try:
        host, port = address
    except (TypeError, ValueError):
        raise AddressError(f"an address is a (host, port) pair, not {address!r}") from None
    if not isinstance(host, str) or not host:
        raise AddressError(f"address host must be non-empty text, not {host!r}")
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 0xFFFF:
        raise AddressError(f"address port must be an integer 0..65535, not {port!r}")
    canonical = normalize_host(host)
    if type(address) is Address and canonical == host:
        return address  # already checked and canonical: most sends reply to a received source
    return Address(canonical, port)


@runtime_checkable
class Datagram(Protocol):
    """One datagram endpoint.

    Every wait takes ``timeout`` in seconds (None: wait for ever; 0: do not
    wait) and raises :class:`~dlmsmesh.errors.DlmsTimeout` when it runs out.
    Received datagrams wait in a bounded queue; when it is full new ones are
    dropped and counted in ``dropped`` (a datagram network may lose them
    anyway, memory stays bounded).  ``close()`` ends every receive still
    waiting with :class:`TransportClosed`; no background task outlives it.
    """

    @property
    def local_address(self) -> Address:
        """The (host, port) this endpoint receives on (the real port when opened with 0)."""
        ...

    @property
    def dropped(self) -> int:
        """Datagrams that arrived while the receive queue was full, so were discarded."""
        ...

    @property
    def closed(self) -> bool: ...

    async def send(self, data: bytes | bytearray | memoryview, address: tuple[str, int]) -> None:
        """Send one datagram; never waits for the network (like UDP, delivery is not confirmed)."""
        ...

    async def recv(self, timeout: float | None = None) -> tuple[bytes, Address]:
        """The next datagram and its source address."""
        ...

    async def recv_batch(self, max_count: int = 64, timeout: float | None = None) -> list[tuple[bytes, Address]]:
        """At least one and at most ``max_count`` datagrams: waits for the
        first, then takes those already queued, for batch decoding."""
        ...

    async def recv_incoming(self, timeout: float | None = None) -> Incoming:
        """The next datagram with its source and destination addresses."""
        ...

    async def recv_batch_incoming(self, max_count: int = 64, timeout: float | None = None) -> list[Incoming]:
        """:meth:`recv_batch` with destination addresses."""
        ...

    def join_group(self, group: str) -> None:
        """Receive datagrams sent to multicast ``group`` on this endpoint's port."""
        ...

    def leave_group(self, group: str) -> None: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Datagram: ...

    async def __aexit__(self, *exc: object) -> None: ...
