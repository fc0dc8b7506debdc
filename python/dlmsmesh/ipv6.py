"""IPv6 and UDP headers (RFC 8200, RFC 768; the checksum over the IPv6
pseudo-header: RFC 8200 section 8.1).

:class:`IPv6Header` and :class:`UDPHeader` are frozen dataclasses with
``pack()``; :func:`build` makes a whole IPv6/UDP datagram with its checksum,
:func:`parse` takes one apart (DecodeError with layer ``ipv6`` or ``udp``),
and :func:`udp_checksum` / :func:`verify_udp_checksum` compute the checksum
over the IPv6 pseudo-header on the live backend.

Addresses are :class:`ipaddress.IPv6Address`; every function also takes them
as text or 16 bytes.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass
from typing import Any, Union

from . import _backend
from . import _status as S
from .errors import EncodeError

__all__ = [
    "IPv6Header",
    "UDPHeader",
    "Datagram",
    "AddressLike",
    "address",
    "build",
    "build_udp",
    "parse",
    "parse_udp",
    "udp_checksum",
    "verify_udp_checksum",
    "IPV6_HEADER_LENGTH",
    "UDP_HEADER_LENGTH",
    "NEXT_HEADER_UDP",
    "DLMS_PORT",
    "MESH_PORT",
]

IPV6_HEADER_LENGTH = 40
UDP_HEADER_LENGTH = 8
NEXT_HEADER_UDP = 17
#: IANA DLMS/COSEM port (TCP and UDP)
DLMS_PORT = 4059
#: the mesh port: IEC 62056-8-20 asks for a port that compresses well but its number is not
#: public; a design choice, the first of the 16 ports NHC-UDP carries in 4 bits (RFC 6282)
MESH_PORT = 0xF0B0

AddressLike = Union[ipaddress.IPv6Address, str, bytes, bytearray]

_ip = struct.Struct(">IHBB16s16s")
_udp = struct.Struct(">HHHH")


def address(value: AddressLike) -> ipaddress.IPv6Address:
    """``value`` as an IPv6Address (from text, 16 bytes or an address)."""
    if isinstance(value, ipaddress.IPv6Address):
        return value
    if isinstance(value, (bytes, bytearray)):
        if len(value) != 16:
            raise ValueError(f"an IPv6 address is 16 bytes, not {len(value)}")
        return ipaddress.IPv6Address(bytes(value))
    return ipaddress.IPv6Address(value)


def _field(name: str, value: int, bits: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 1 << bits:
        raise EncodeError(f"{name} must be in 0..{(1 << bits) - 1}, got {value!r}")


@dataclass(frozen=True)
class IPv6Header:
    """The fixed 40-byte IPv6 header."""

    source: ipaddress.IPv6Address
    destination: ipaddress.IPv6Address
    next_header: int = NEXT_HEADER_UDP
    hop_limit: int = 64
    traffic_class: int = 0
    flow_label: int = 0
    payload_length: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", address(self.source))
        object.__setattr__(self, "destination", address(self.destination))
        _field("next_header", self.next_header, 8)
        _field("hop_limit", self.hop_limit, 8)
        _field("traffic_class", self.traffic_class, 8)
        _field("flow_label", self.flow_label, 20)
        _field("payload_length", self.payload_length, 16)

    def pack(self) -> bytes:
        first = 6 << 28 | self.traffic_class << 20 | self.flow_label
        return _ip.pack(
            first, self.payload_length, self.next_header, self.hop_limit,
            self.source.packed, self.destination.packed,
        )  # fmt: skip

    @classmethod
    def unpack(cls, data: bytes | bytearray | memoryview) -> IPv6Header:
        """The header at the start of ``data`` (at least 40 bytes, version 6)."""
        if len(data) < IPV6_HEADER_LENGTH:
            raise S.decode_error(S.TRUNCATED, 0, "ipv6")
        first, plen, nh, hop, src, dst = _ip.unpack_from(data)
        if first >> 28 != 6:
            raise S.decode_error(S.IPV6_VERSION, 0, "ipv6")
        return cls(
            ipaddress.IPv6Address(src), ipaddress.IPv6Address(dst), nh, hop,
            (first >> 20) & 0xFF, first & 0xFFFFF, plen,
        )  # fmt: skip

    def to_json(self) -> dict[str, Any]:
        """The ``ipv6`` object of docs/json.md (RFC 5952 addresses)."""
        return {
            "source": str(self.source),
            "destination": str(self.destination),
            "next_header": self.next_header,
            "hop_limit": self.hop_limit,
            "traffic_class": self.traffic_class,
            "flow_label": self.flow_label,
            "payload_length": self.payload_length,
        }


@dataclass(frozen=True)
class UDPHeader:
    """The 8-byte UDP header."""

    source_port: int
    destination_port: int
    length: int = UDP_HEADER_LENGTH
    checksum: int = 0

    def __post_init__(self) -> None:
        _field("source_port", self.source_port, 16)
        _field("destination_port", self.destination_port, 16)
        _field("length", self.length, 16)
        _field("checksum", self.checksum, 16)

    def pack(self) -> bytes:
        return _udp.pack(self.source_port, self.destination_port, self.length, self.checksum)

    def to_json(self, checksum_ok: bool | None) -> dict[str, Any]:
        """The ``udp`` object of docs/json.md (``checksum_ok`` None: not checked)."""
        return {
            "source_port": self.source_port,
            "destination_port": self.destination_port,
            "length": self.length,
            "checksum": self.checksum,
            "checksum_ok": checksum_ok,
        }


@dataclass(frozen=True)
class Datagram:
    """A parsed IPv6 datagram: the UDP header when next header is UDP, the
    payload above the last header, and whether the UDP checksum verified."""

    ipv6: IPv6Header
    udp: UDPHeader | None
    payload: bytes
    checksum_ok: bool | None

    @property
    def payload_offset(self) -> int:
        """Where the payload starts in the datagram."""
        return IPV6_HEADER_LENGTH + (UDP_HEADER_LENGTH if self.udp is not None else 0)


def udp_checksum(source: AddressLike, destination: AddressLike, segment: bytes | bytearray | memoryview) -> int:
    """The checksum of a UDP ``segment`` (header + payload) between two IPv6
    addresses; the segment's own checksum field counts as zero.  Never 0: a
    zero result is sent as 0xFFFF."""
    src, dst = address(source).packed, address(destination).packed
    return _backend.live.checksum.udp_checksum(src, dst, segment)


def verify_udp_checksum(source: AddressLike, destination: AddressLike, segment: bytes | bytearray | memoryview) -> bool:
    """Whether the checksum field of ``segment`` is right (0, "no checksum", never is over IPv6)."""
    if len(segment) < UDP_HEADER_LENGTH:
        return False
    carried = segment[6] << 8 | segment[7]
    return carried != 0 and carried == udp_checksum(source, destination, segment)


def build_udp(
    source: AddressLike, destination: AddressLike, source_port: int, destination_port: int, payload: bytes
) -> bytes:
    """A UDP segment with its checksum for the given IPv6 addresses."""
    length = UDP_HEADER_LENGTH + len(payload)
    if length > 0xFFFF:
        raise EncodeError(f"UDP payload of {len(payload)} bytes is too long")
    head = UDPHeader(source_port, destination_port, length, 0).pack()
    segment = head + bytes(payload)
    check = udp_checksum(source, destination, segment)
    return segment[:6] + check.to_bytes(2, "big") + segment[8:]


def build(
    source: AddressLike,
    destination: AddressLike,
    payload: bytes,
    *,
    source_port: int = DLMS_PORT,
    destination_port: int = DLMS_PORT,
    hop_limit: int = 64,
    traffic_class: int = 0,
    flow_label: int = 0,
) -> bytes:
    """A whole IPv6/UDP datagram carrying ``payload``, with the UDP checksum."""
    src, dst = address(source), address(destination)
    segment = build_udp(src, dst, source_port, destination_port, payload)
    head = IPv6Header(src, dst, NEXT_HEADER_UDP, hop_limit, traffic_class, flow_label, len(segment))
    return head.pack() + segment


def parse_udp(
    segment: bytes | bytearray | memoryview,
    *,
    source: AddressLike | None = None,
    destination: AddressLike | None = None,
    base: int = 0,
) -> tuple[UDPHeader, bytes, bool | None]:
    """(header, payload, checksum_ok) of a whole UDP segment; the checksum is
    checked only when both addresses are given (else None).  ``base`` is
    added to error offsets (the segment's place in a larger buffer)."""
    n = len(segment)
    if n < UDP_HEADER_LENGTH:
        raise S.decode_error(S.TRUNCATED, base, "udp")
    head = UDPHeader(*_udp.unpack_from(segment))
    if head.length != n:
        raise S.decode_error(S.UDP_LENGTH, base + 4, "udp")
    ok = None
    if source is not None and destination is not None:
        ok = verify_udp_checksum(source, destination, segment)
    return head, bytes(segment[UDP_HEADER_LENGTH:]), ok


def parse(datagram: bytes | bytearray | memoryview) -> Datagram:
    """A whole IPv6 datagram: the payload length must match, and when next
    header is UDP the UDP length must match too (DecodeError otherwise)."""
    head = IPv6Header.unpack(datagram)
    if head.payload_length != len(datagram) - IPV6_HEADER_LENGTH:
        raise S.decode_error(S.IPV6_LENGTH, 4, "ipv6")
    body = bytes(datagram[IPV6_HEADER_LENGTH:])
    if head.next_header != NEXT_HEADER_UDP:
        return Datagram(head, None, body, None)
    udp, payload, ok = parse_udp(body, source=head.source, destination=head.destination, base=IPV6_HEADER_LENGTH)
    return Datagram(head, udp, payload, ok)
