"""RFC 4944 mesh addressing header (spec/sixlowpan.md section 5).

``10 V F HopsLeft`` then the originator and the final destination, each an
EUI-64 (V/F = 0) or a short address (V/F = 1), big-endian.  Hops left 0xF
means one more byte carries the count ("deep hops left").  With a mesh header
the IIDs of SAM/DAM = 11 and the reassembly key use these two addresses
instead of the link-layer ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import _status as S
from .link import link_address

__all__ = ["MeshHeader", "parse_mesh", "is_mesh"]

LAYER = "lowpan"
_DEEP = 0x0F


def is_mesh(dispatch: int) -> bool:
    return dispatch & 0xC0 == 0x80


@dataclass(frozen=True)
class MeshHeader:
    hops_left: int
    originator: bytes
    final_destination: bytes

    def __post_init__(self) -> None:
        object.__setattr__(self, "originator", link_address(self.originator, "originator", optional=False))
        object.__setattr__(
            self, "final_destination", link_address(self.final_destination, "final_destination", optional=False)
        )
        if not 0 <= self.hops_left <= 0xFF:
            raise ValueError(f"hops_left must be in 0..255, got {self.hops_left}")

    def encode(self) -> bytes:
        v = 1 if len(self.originator) == 2 else 0
        f = 1 if len(self.final_destination) == 2 else 0
        if self.hops_left < _DEEP:
            head = bytes((0x80 | v << 5 | f << 4 | self.hops_left,))
        else:
            head = bytes((0x80 | v << 5 | f << 4 | _DEEP, self.hops_left))
        return head + self.originator + self.final_destination

    def __len__(self) -> int:
        return len(self.encode())


def parse_mesh(frame: bytes, offset: int = 0) -> tuple[MeshHeader, int]:
    """The mesh header at ``offset`` and the offset after it."""
    n = len(frame)
    p = offset
    if p >= n or not is_mesh(frame[p]):
        raise S.decode_error(S.LOWPAN_DISPATCH, p, LAYER)
    b = frame[p]
    olen = 2 if b & 0x20 else 8
    flen = 2 if b & 0x10 else 8
    hops = b & 0x0F
    p += 1
    if hops == _DEEP:
        if p >= n:
            raise S.decode_error(S.TRUNCATED, p, LAYER)
        hops = frame[p]
        p += 1
    if n - p < olen:
        raise S.decode_error(S.TRUNCATED, p, LAYER)
    if n - p - olen < flen:
        raise S.decode_error(S.TRUNCATED, p + olen, LAYER)
    header = MeshHeader(hops, frame[p : p + olen], frame[p + olen : p + olen + flen])
    return header, p + olen + flen
