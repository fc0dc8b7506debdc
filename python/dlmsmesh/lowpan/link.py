"""IEEE 802.15.4 link-layer addresses and the interface identifiers they
stand for (RFC 4944 section 6, RFC 6282 section 3.2.2).

Addresses are bytes in canonical (big-endian) order: 8 bytes for an EUI-64,
2 for a short address.  802.15.4 frames carry them little-endian; reverse
them with :func:`from_frame_order` first.
"""

from __future__ import annotations

import ipaddress

from .._common.link import LinkPairs, link_address

__all__ = ["LinkAddress", "LinkPairs", "link_address", "iid", "link_local", "from_frame_order"]

LinkAddress = bytes

_SHORT_IID = b"\x00\x00\x00\xff\xfe\x00"
_LINK_LOCAL = b"\xfe\x80" + bytes(6)


def iid(address: bytes) -> bytes:
    """The 64-bit interface identifier of a link-layer address: the EUI-64
    with the U/L bit inverted, or 0000:00ff:fe00:XXXX for a short address."""
    raw = link_address(address, optional=False)
    if len(raw) == 8:
        return bytes((raw[0] ^ 0x02,)) + raw[1:]
    return _SHORT_IID + raw


def link_local(address: bytes) -> ipaddress.IPv6Address:
    """The link-local address fe80::/64 + :func:`iid`."""
    return ipaddress.IPv6Address(_LINK_LOCAL + iid(address))


def from_frame_order(address: bytes) -> bytes:
    """An address as an 802.15.4 frame carries it (little-endian), in canonical order."""
    return link_address(bytes(reversed(bytes(address))))
