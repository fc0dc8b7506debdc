"""The registration and address-update message of the mesh profile
(IEC TS 62056-8-20 5.5.3; design in ``docs/registration.md``).

A meter tells the head-end which IPv6 addresses its system title answers at
with a data-notification sent by a Push setup.  The TS's own tables are not
public: everything below is the project's DESIGN, built only from standard
DLMS/COSEM parts, and lives in this one module so it can be changed:

* the registration Push setup is ``0.1.25.9.0.255`` (cold start: the
  head-end may drop association state for the title), the address-update
  Push setup ``0.2.25.9.0.255`` (association state kept);
* its push_object_list is ``[(40, push setup, 1), (64, 0.0.43.0.0.255, 5),
  (48, 0.0.25.7.0.255, 4), (41, 0.0.25.0.0.255, 2)]``, so the notification
  body is ::

      structure {
        octet-string[6]    the Push setup's logical name (registration / update)
        octet-string[8]    the meter's system title
        array of octet-string[16]   its unicast IPv6 addresses, global first
        long-unsigned      the UDP port it listens on
        [double-long-unsigned  sequence number, +1 per announcement]
      }

* it goes to ``send_destination_and_method`` = {UDP, ``[addr]:port`` as
  ASCII, A-XDR}, at wPort 0x66 (push_client_SAP), in general-glo-ciphering
  (authenticated and encrypted with the meter's global unicast key), the
  only framing that carries the sender's system title.

:func:`decode_body` is total: any byte string gives an :class:`Announcement`
or a :class:`~dlmsmesh.registration.errors.RegistrationError` with the
offset of the byte at fault.
"""

from __future__ import annotations

import enum
import ipaddress
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from socket import AF_INET6, inet_ntop
from typing import Any, Union

from .. import apdu as _apdu
from .. import axdr
from ..apdu_model import DataNotification
from ..errors import DlmsError
from ..types import Array, DateTime, DoubleLongUnsigned, LongUnsigned, Obis, OctetString, Structure
from .errors import RegistrationError

__all__ = [
    "REGISTRATION_PUSH",
    "UPDATE_PUSH",
    "REGISTRATION_PORT",
    "PUSH_CLIENT_SAP",
    "MAX_ADDRESSES",
    "AnnouncementKind",
    "Announcement",
    "encode_body",
    "decode_body",
    "notification",
    "from_notification",
    "parse_destination",
    "format_destination",
    "canonical_address",
    "global_first",
    "push_setup_of",
]

#: the Push setup whose notification is an address registration (cold start)
REGISTRATION_PUSH = Obis("0.1.25.9.0.255")
#: the Push setup whose notification is an address update (associations kept)
UPDATE_PUSH = Obis("0.2.25.9.0.255")
#: the mesh profile's UDP port (0xF0B0, compressed to 4 bits by 6LoWPAN NHC)
REGISTRATION_PORT = 61616
#: the head-end's wPort announcements are sent to (the pre-established client)
PUSH_CLIENT_SAP = 0x66
#: the most addresses one announcement carries (a meter has a handful;
#: the bound keeps a hostile body from costing more than a datagram)
MAX_ADDRESSES = 64

_ADDRESS_SIZE = 16
_TITLE_SIZE = 8


class AnnouncementKind(str, enum.Enum):
    """Which Push setup sent the announcement."""

    REGISTRATION = "registration"
    UPDATE = "update"

    @property
    def push_setup(self) -> Obis:
        return REGISTRATION_PUSH if self is AnnouncementKind.REGISTRATION else UPDATE_PUSH


_KIND_OF = {bytes(REGISTRATION_PUSH): AnnouncementKind.REGISTRATION, bytes(UPDATE_PUSH): AnnouncementKind.UPDATE}

AddressLike = Union[str, bytes, bytearray, ipaddress.IPv6Address]


def canonical_address(address: AddressLike) -> str:
    """The RFC 5952 text of an IPv6 address given as text, 16 octets or an
    :class:`ipaddress.IPv6Address` (lower case, the longest run of two or
    more zero groups as ``::``, an IPv4-mapped address as ``::ffff:a.b.c.d``).
    ValueError for anything else (an IPv4 address, a zone, a prefix)."""
    if isinstance(address, ipaddress.IPv6Address):
        ip = address
    elif isinstance(address, (bytes, bytearray)):
        if len(address) != _ADDRESS_SIZE:
            raise ValueError(f"an IPv6 address is 16 octets, not {len(address)}")
        ip = ipaddress.IPv6Address(bytes(address))
    elif isinstance(address, str):
        try:
            ip = ipaddress.IPv6Address(address)
        except ValueError:
            raise ValueError(f"not an IPv6 address: {address!r}") from None
        if ip.scope_id is not None:
            raise ValueError(f"an announced address has no zone: {address!r}")
    else:
        raise ValueError(f"an IPv6 address is text or 16 octets, not {type(address).__name__}")
    mapped = ip.ipv4_mapped
    # RFC 5952 section 5; Python's own text for these changed in 3.13
    return f"::ffff:{mapped}" if mapped is not None else ip.compressed


_HEXTETS = struct.Struct(">8H")


def _rfc5952(packed: bytes) -> str:
    """:func:`canonical_address` of 16 octets, without building an
    ipaddress object (the listener decodes thousands a second)."""
    groups = _HEXTETS.unpack(packed)
    if groups[:6] == (0, 0, 0, 0, 0, 0xFFFF):
        return f"::ffff:{packed[12]}.{packed[13]}.{packed[14]}.{packed[15]}"
    best_at, best_len, at, run = -1, 1, -1, 0
    for i, g in enumerate(groups):
        if g:
            run = 0
            continue
        if not run:
            at = i
        run += 1
        if run > best_len:
            best_at, best_len = at, run
    if best_at < 0:
        return ":".join(f"{g:x}" for g in groups)
    head = ":".join(f"{g:x}" for g in groups[:best_at])
    tail = ":".join(f"{g:x}" for g in groups[best_at + best_len :])
    return f"{head}::{tail}"


def _unicast_problem(ip: ipaddress.IPv6Address) -> str | None:
    if ip.is_multicast:
        return "a multicast address"
    if ip.is_unspecified:
        return "the unspecified address"
    return None


def global_first(addresses: Iterable[AddressLike]) -> tuple[str, ...]:
    """The addresses as canonical text, link-local ones after the others
    (a stable order otherwise: the meter's preference is kept), each once."""
    seen: dict[str, bool] = {}
    for address in addresses:
        text = canonical_address(address)
        seen.setdefault(text, ipaddress.IPv6Address(text).is_link_local)
    return tuple(sorted(seen, key=lambda text: seen[text]))


@dataclass(frozen=True)
class Announcement:
    """One registration or address update: ``system_title`` (8 octets)
    answers at ``addresses`` (IPv6, RFC 5952 text; the first is the one to
    use, global ones before link-local ones) and UDP ``port``.
    ``sequence`` is the optional fifth element (+1 per announcement, so a
    late one can be told from a newer one).  Addresses given in any IPv6
    spelling are stored canonical; their order is kept."""

    kind: AnnouncementKind
    system_title: bytes
    addresses: tuple[str, ...]
    port: int
    sequence: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "kind", AnnouncementKind(self.kind))
        title = bytes(self.system_title)
        if len(title) != _TITLE_SIZE:
            raise ValueError(f"a system title is 8 octets, not {len(title)}")
        object.__setattr__(self, "system_title", title)
        if isinstance(self.addresses, (str, bytes)):
            raise ValueError("addresses is a sequence of addresses, not one address")
        addresses = tuple(canonical_address(a) for a in self.addresses)
        if not addresses:
            raise ValueError("an announcement carries at least one address")
        if len(addresses) > MAX_ADDRESSES:
            raise ValueError(f"an announcement carries at most {MAX_ADDRESSES} addresses, not {len(addresses)}")
        for text in addresses:
            problem = _unicast_problem(ipaddress.IPv6Address(text))
            if problem is not None:
                raise ValueError(f"{text} is {problem}, not a meter's address")
        object.__setattr__(self, "addresses", addresses)
        if isinstance(self.port, bool) or not isinstance(self.port, int) or not 1 <= self.port <= 0xFFFF:
            raise ValueError(f"the UDP port is 1..65535, not {self.port!r}")
        object.__setattr__(self, "port", int(self.port))
        if self.sequence is not None:
            if isinstance(self.sequence, bool) or not isinstance(self.sequence, int):
                raise ValueError(f"the sequence number is an integer, not {self.sequence!r}")
            if not 0 <= self.sequence <= DoubleLongUnsigned.MAX:
                raise ValueError(f"the sequence number is 0..{DoubleLongUnsigned.MAX}, not {self.sequence}")
            object.__setattr__(self, "sequence", int(self.sequence))

    @classmethod
    def _checked(
        cls, kind: AnnouncementKind, title: bytes, addresses: tuple[str, ...], port: int, sequence: int | None
    ) -> Announcement:
        """An announcement of fields a decoder has already checked and made canonical."""
        new = object.__new__(cls)
        # frozen: the fields go straight into the instance dictionary
        new.__dict__.update(kind=kind, system_title=title, addresses=addresses, port=port, sequence=sequence)
        return new

    @property
    def push_setup(self) -> Obis:
        """The logical name of the Push setup that sends this kind."""
        return self.kind.push_setup

    @property
    def address(self) -> str:
        """The preferred address (the first)."""
        return self.addresses[0]


def body_value(a: Announcement) -> Structure:
    """The notification body as a COSEM value (what a Push setup pushes)."""
    members: list[Any] = [
        OctetString(bytes(a.push_setup)),
        OctetString(a.system_title),
        Array(OctetString(ipaddress.IPv6Address(text).packed) for text in a.addresses),
        LongUnsigned(a.port),
    ]
    if a.sequence is not None:
        members.append(DoubleLongUnsigned(a.sequence))
    return Structure(members)


def encode_body(a: Announcement) -> bytes:
    """The A-XDR notification body of ``a``."""
    return axdr.encode(body_value(a))


def _header_size(body: bytes) -> int:
    """Octets of a structure or array tag plus its A-XDR element count
    (the value has already decoded, so the count is well formed)."""
    first = body[1]
    return 2 if first < 0x80 else 2 + (first & 0x7F)


def _is_octets(value: Any, size: int) -> bool:
    return type(value) in (bytes, OctetString) and len(value) == size


def decode_body(body: bytes | bytearray | memoryview) -> Announcement:
    """The announcement a notification body holds.  Any other input raises
    RegistrationError with the offset (in ``body``) of the element at fault."""
    data = bytes(body)
    fast = _decode_canonical(data)
    return fast if fast is not None else _decode_general(data)


def _decode_canonical(data: bytes) -> Announcement | None:
    """The announcement of a body in the encoding :func:`encode_body` writes
    (shortest lengths), else None: the general decoder then decides, and
    gives the offset of the fault.  Accepts nothing the general decoder
    refuses, and gives the same announcement (a test checks both)."""
    n = len(data)
    if n < 43 or data[0] != 0x02 or data[2] != 0x09 or data[3] != 6 or data[10] != 0x09 or data[11] != 8:
        return None
    members = data[1]
    kind = _KIND_OF.get(data[4:10])
    count = data[21]
    if kind is None or members not in (4, 5) or data[20] != 0x01 or not 1 <= count <= MAX_ADDRESSES:
        return None
    pos = 22
    texts = []
    for _ in range(count):
        if pos + 18 > n or data[pos] != 0x09 or data[pos + 1] != _ADDRESS_SIZE:
            return None
        packed = data[pos + 2 : pos + 18]
        if packed[0] == 0xFF or not any(packed):
            return None  # multicast or unspecified: the general decoder says where
        text = inet_ntop(AF_INET6, packed)
        # the C library's text is RFC 5952's but for the dotted forms
        # (IPv4-compatible ones differ between libraries): those are ours
        texts.append(_rfc5952(packed) if "." in text else text)
        pos += 18
    if pos + 3 > n or data[pos] != 0x12:
        return None
    port = data[pos + 1] << 8 | data[pos + 2]
    pos += 3
    sequence = None
    if members == 5:
        if pos + 5 != n or data[pos] != 0x06:
            return None
        sequence = int.from_bytes(data[pos + 1 : pos + 5], "big")
        pos += 5
    if pos != n or not port:
        return None
    return Announcement._checked(kind, data[12:20], tuple(texts), port, sequence)


def _decode_general(data: bytes) -> Announcement:
    try:
        value = axdr.decode(data)
    except DlmsError as err:
        offset = getattr(err, "offset", 0)
        raise RegistrationError(f"the body is not one A-XDR value ({err})", offset=offset) from None
    if not isinstance(value, tuple):
        raise RegistrationError("the body is not a structure", offset=0)
    if len(value) not in (4, 5):
        raise RegistrationError(f"the body is a structure of 4 or 5 elements, not {len(value)}", offset=0)
    offsets = []
    position = _header_size(data)
    for _ in value:
        offsets.append(position)
        position = axdr.decode_prefix(data, position)[1]
    name, title, addresses, port = value[:4]
    if not _is_octets(name, 6):
        raise RegistrationError("element 1 is not a logical name (octet-string of 6)", offset=offsets[0])
    kind = _KIND_OF.get(bytes(name))
    if kind is None:
        raise RegistrationError(
            f"element 1 names Push setup {Obis(bytes(name))}, neither {REGISTRATION_PUSH} nor {UPDATE_PUSH}",
            offset=offsets[0],
        )
    if not _is_octets(title, _TITLE_SIZE):
        raise RegistrationError("element 2 is not a system title (octet-string of 8)", offset=offsets[1])
    if not isinstance(addresses, list):
        raise RegistrationError("element 3 is not an array of addresses", offset=offsets[2])
    if not addresses:
        raise RegistrationError("element 3 carries no address", offset=offsets[2])
    if len(addresses) > MAX_ADDRESSES:
        raise RegistrationError(f"element 3 carries more than {MAX_ADDRESSES} addresses", offset=offsets[2])
    texts = []
    position = offsets[2] + _header_size(data[offsets[2] :])
    for index, item in enumerate(addresses, 1):
        if not _is_octets(item, _ADDRESS_SIZE):
            raise RegistrationError(f"address {index} is not an octet-string of 16", offset=position)
        ip = ipaddress.IPv6Address(bytes(item))
        problem = _unicast_problem(ip)
        if problem is not None:
            raise RegistrationError(f"address {index} is {problem}", offset=position)
        texts.append(canonical_address(ip))
        position = axdr.decode_prefix(data, position)[1]
    if not isinstance(port, LongUnsigned) or int(port) == 0:
        raise RegistrationError("element 4 is not a UDP port (long-unsigned 1..65535)", offset=offsets[3])
    sequence = None
    if len(value) == 5:
        if not isinstance(value[4], DoubleLongUnsigned):
            raise RegistrationError("element 5 is not a sequence number (double-long-unsigned)", offset=offsets[4])
        sequence = int(value[4])
    return Announcement(kind, bytes(title), tuple(texts), int(port), sequence)


def notification(a: Announcement, *, invoke_id: int = 1, date_time: bytes | None = None) -> bytes:
    """The plaintext data-notification APDU announcing ``a`` (unconfirmed,
    normal priority; ``date_time`` is 12 octets of COSEM date-time or None).
    Protect it with general-glo-ciphering before it leaves the meter."""
    stamp = None if date_time is None else DateTime(bytes(date_time))
    return _apdu.encode(DataNotification(body_value(a), long_invoke_id=invoke_id, date_time=stamp))


def _body_offset(data: bytes) -> int:
    """Where the body of a decoded data-notification starts in ``data``."""
    position = 5
    if data[position] == 0x09:  # an octet-string tag before the date-time (decoded leniently)
        position += 1
    return position + (1 if data[position] == 0 else 13)


def from_notification(apdu: DataNotification | bytes | bytearray | memoryview) -> Announcement:
    """The announcement of a decoded data-notification, or of its plaintext
    bytes (offsets of errors are then in those bytes)."""
    if isinstance(apdu, DataNotification):
        try:
            body = axdr.encode(apdu.body)
        except DlmsError as err:
            raise RegistrationError(f"the body does not encode ({err})", offset=0) from None
        return decode_body(body)
    data = bytes(apdu)
    try:
        decoded = _apdu.decode(data)
    except DlmsError as err:
        raise RegistrationError(f"not an APDU ({err})", offset=getattr(err, "offset", 0)) from None
    if not isinstance(decoded, DataNotification):
        raise RegistrationError(f"a {decoded.TYPE}, not a data-notification", offset=0)
    start = _body_offset(data)
    try:
        return decode_body(data[start:])
    except RegistrationError as err:
        raise RegistrationError(err.reason, offset=start + err.offset) from None


def push_setup_of(kind: AnnouncementKind | str) -> Obis:
    return AnnouncementKind(kind).push_setup


# ---------------------------------------------------------------- destination


def _host_port(text: str, offset: int) -> tuple[str, int]:
    if text.startswith("["):
        close = text.find("]")
        if close < 0:
            raise RegistrationError("'[' without ']'", offset=offset)
        host, rest = text[1:close], text[close + 1 :]
        if rest and not rest.startswith(":"):
            raise RegistrationError("after ']' comes ':port' or nothing", offset=offset + close + 1)
        port_text = rest[1:] if rest else None
        port_at = offset + close + 2
        try:
            host = canonical_address(host)
        except ValueError:
            raise RegistrationError(f"not an IPv6 address in brackets: {host!r}", offset=offset + 1) from None
    elif text.count(":") >= 2:
        port_text, port_at = None, 0
        try:
            host = canonical_address(text)
        except ValueError:
            raise RegistrationError(f"not an IPv6 address: {text!r}", offset=offset) from None
    else:
        host, sep, port_part = text.partition(":")
        port_text, port_at = (port_part if sep else None), offset + len(host) + 1
        try:
            host = str(ipaddress.IPv4Address(host))
        except ValueError:
            raise RegistrationError(f"not an IP address: {host!r}", offset=offset) from None
    if port_text is None:
        return host, REGISTRATION_PORT
    if not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5:
        raise RegistrationError(f"not a port number: {port_text!r}", offset=port_at)
    port = int(port_text)
    if not 1 <= port <= 0xFFFF:
        raise RegistrationError(f"port {port} is not 1..65535", offset=port_at)
    return host, port


def parse_destination(value: bytes | bytearray | memoryview | str) -> tuple[str, int]:
    """(host, port) of a Push setup destination: ASCII ``[addr]:port``,
    ``[addr]`` or a bare IPv6 address (port 61616), ``a.b.c.d[:port]``; or
    binary, 16 octets (an IPv6 address, port 61616) or 18 (address and port,
    big-endian).  Printable ASCII is read as text (a binary address has an
    unprintable octet: 2001:db8:: starts ``20 01``).  Hosts come back in RFC 5952 text.
    RegistrationError (offset in ``value``) for anything else."""
    host, port = _destination(value)
    if ipaddress.ip_address(host).is_unspecified:
        raise RegistrationError("the unspecified address is no destination", offset=0)
    return host, port


def _destination(value: bytes | bytearray | memoryview | str) -> tuple[str, int]:
    raw = value.encode("ascii", "replace") if isinstance(value, str) else bytes(value)
    trimmed = raw.rstrip(b"\x00")  # fixed-size fields are padded with NULs
    text: str | None
    try:
        text = trimmed.decode("ascii")
    except UnicodeDecodeError:
        text = None
    if text is not None and text and text.isprintable():
        # printable ASCII is text: a binary address always holds an
        # unprintable octet in practice (2001:db8:: starts 20 01)
        return _host_port(text.strip(), len(text) - len(text.lstrip()))
    if len(raw) == 16:
        return canonical_address(raw), REGISTRATION_PORT
    if len(raw) == 18:
        port = int.from_bytes(raw[16:], "big")
        if port == 0:
            raise RegistrationError("port 0 in a binary destination", offset=16)
        return canonical_address(raw[:16]), port
    raise RegistrationError(
        f"a destination is '[addr]:port', an address, or 16 or 18 octets; got {len(raw)} octets", offset=0
    )


def format_destination(host: str, port: int = REGISTRATION_PORT) -> bytes:
    """The ASCII destination :func:`parse_destination` reads back:
    ``[addr]:port`` for IPv6, ``a.b.c.d:port`` for IPv4."""
    if not 1 <= port <= 0xFFFF:
        raise ValueError(f"the port is 1..65535, not {port}")
    ip = ipaddress.ip_address(host)
    if isinstance(ip, ipaddress.IPv6Address):
        return f"[{canonical_address(ip)}]:{port}".encode("ascii")
    return f"{ip}:{port}".encode("ascii")
