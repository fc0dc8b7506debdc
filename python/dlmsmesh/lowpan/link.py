"""IEEE 802.15.4 link-layer addresses and the interface identifiers they
stand for (spec/sixlowpan.md section 3).

Addresses are bytes in canonical (big-endian) order: 8 bytes for an EUI-64,
2 for a short address.  802.15.4 frames carry them little-endian; reverse
them with :func:`from_frame_order` first.
"""

from __future__ import annotations

import ipaddress

__all__ = ["LinkAddress", "link_address", "iid", "link_local", "from_frame_order"]

LinkAddress = bytes

_SHORT_IID = b"\x00\x00\x00\xff\xfe\x00"
_LINK_LOCAL = b"\xfe\x80" + bytes(6)


def link_address(value: bytes | bytearray | memoryview | None, what: str = "link-layer address") -> bytes:
    """``value`` checked as a 2- or 8-byte address; None (not known) gives b""."""
    if value is None:
        return b""
    raw = bytes(value)
    if len(raw) not in (2, 8):
        raise ValueError(f"{what} must be 2 or 8 bytes, not {len(raw)}")
    return raw


def iid(address: bytes) -> bytes:
    """The 64-bit interface identifier of a link-layer address: the EUI-64
    with the U/L bit inverted, or 0000:00ff:fe00:XXXX for a short address."""
    raw = link_address(address)
    if len(raw) == 8:
        return bytes((raw[0] ^ 0x02,)) + raw[1:]
    return _SHORT_IID + raw


def link_local(address: bytes) -> ipaddress.IPv6Address:
    """The link-local address fe80::/64 + :func:`iid`."""
    return ipaddress.IPv6Address(_LINK_LOCAL + iid(address))


def from_frame_order(address: bytes) -> bytes:
    """An address as an 802.15.4 frame carries it (little-endian), in canonical order."""
    return link_address(bytes(reversed(bytes(address))))
