"""IEEE 802.15.4 link-layer addresses and the interface identifiers they
stand for (spec/sixlowpan.md section 3).

Addresses are bytes in canonical (big-endian) order: 8 bytes for an EUI-64,
2 for a short address.  802.15.4 frames carry them little-endian; reverse
them with :func:`from_frame_order` first.
"""

from __future__ import annotations

import ipaddress
import struct
from collections.abc import Iterable

__all__ = ["LinkAddress", "LinkPairs", "link_address", "iid", "link_local", "from_frame_order"]

LinkAddress = bytes

_SHORT_IID = b"\x00\x00\x00\xff\xfe\x00"
_PAIR = struct.Struct("8s8sBB")  # dm_ll_pair
_LINK_LOCAL = b"\xfe\x80" + bytes(6)


def link_address(
    value: bytes | bytearray | memoryview | None, what: str = "link-layer address", *, optional: bool = True
) -> bytes:
    """``value`` checked as a 2- or 8-byte address; with ``optional``, None or
    b"" (not known) give b""."""
    raw = b"" if value is None else bytes(value)
    if len(raw) not in ((0, 2, 8) if optional else (2, 8)):
        raise ValueError(f"{what} must be 2 or 8 bytes, not {len(raw)}")
    return raw


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


class LinkPairs:
    """The (source, destination) link-layer addresses of a batch: none known
    (empty), one pair for every item, or one pair per item.

    Build it once and pass it to every batch over the same peers: the
    addresses are checked once, and packed once for the C core.
    """

    __slots__ = ("pairs", "_packed")

    def __init__(
        self, pairs: Iterable[tuple[bytes | bytearray | memoryview | None, bytes | bytearray | memoryview | None]] = ()
    ) -> None:
        self.pairs: list[tuple[bytes, bytes]] = [
            (link_address(s, "link-layer source"), link_address(d, "link-layer destination")) for s, d in pairs
        ]
        self._packed: bytes | None = None

    @classmethod
    def single(cls, src: bytes, dst: bytes) -> LinkPairs:
        """One pair of addresses already checked by :func:`link_address` (b"":
        not known); the same neighbours give the same (shared, packed once) object."""
        key = (src, dst)
        links = _SINGLES.get(key)
        if links is None:
            if len(_SINGLES) >= _SINGLES_MAX:
                _SINGLES.clear()
            links = cls.__new__(cls)
            links.pairs = [key] if src or dst else []
            links._packed = None
            _SINGLES[key] = links
        return links

    def __len__(self) -> int:
        return len(self.pairs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LinkPairs) and other.pairs == self.pairs

    def __hash__(self) -> int:
        return hash(tuple(self.pairs))

    def __repr__(self) -> str:
        return f"LinkPairs({len(self.pairs)} pairs)"

    def pair(self, index: int) -> tuple[bytes, bytes]:
        """The addresses of item ``index``."""
        if not self.pairs:
            return (b"", b"")
        return self.pairs[0] if len(self.pairs) == 1 else self.pairs[index]

    def check(self, n: int) -> None:
        if len(self.pairs) > 1 and len(self.pairs) != n:
            raise ValueError(f"{len(self.pairs)} link-layer address pairs for {n} items")

    @property
    def packed(self) -> bytes:
        """For the native backend: the dm_ll_pair structs."""
        if self._packed is None:
            pack = _PAIR.pack
            self._packed = b"".join([pack(s, d, len(s), len(d)) for s, d in self.pairs])
        return self._packed


# LinkPairs.single: one object per recently seen (source, destination)
_SINGLES: dict[tuple[bytes, bytes], LinkPairs] = {}
_SINGLES_MAX = 4096
