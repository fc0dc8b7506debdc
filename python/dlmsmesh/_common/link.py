"""``LinkPairs``: the link-layer addresses of a batch as both backends take
them (``dlmsmesh.lowpan.link`` re-exports it with the address helpers)."""

from __future__ import annotations

import struct
from collections.abc import Iterable

__all__ = ["LinkPairs", "link_address"]

_PAIR = struct.Struct("8s8sBB")  # dm_ll_pair


def link_address(
    value: bytes | bytearray | memoryview | None, what: str = "link-layer address", *, optional: bool = True
) -> bytes:
    """``value`` checked as a 2- or 8-byte address; with ``optional``, None or
    b"" (not known) give b""."""
    raw = b"" if value is None else bytes(value)
    if len(raw) not in ((0, 2, 8) if optional else (2, 8)):
        raise ValueError(f"{what} must be 2 or 8 bytes, not {len(raw)}")
    return raw


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
