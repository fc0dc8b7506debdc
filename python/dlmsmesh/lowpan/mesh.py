"""RFC 4944 mesh addressing header (RFC 4944 section 5.2).

``10 V F HopsLeft`` then the originator and the final destination, each an
EUI-64 (V/F = 0) or a short address (V/F = 1), big-endian.  Hops left 0xF
means one more byte carries the count ("deep hops left").  With a mesh header
the IIDs of SAM/DAM = 11 and the reassembly key use these two addresses
instead of the link-layer ones.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import _status as S
from .._common.fail import Fail
from .._common.mesh import DEEP_HOPS as _DEEP
from .._common.mesh import is_mesh, read_mesh
from .link import link_address

__all__ = ["MeshHeader", "parse_mesh", "is_mesh"]

LAYER = "lowpan"


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
    try:
        hops, originator, final_destination, end = read_mesh(frame, offset)
    except Fail as f:
        raise S.decode_error(f.code, f.offset, LAYER) from None
    return MeshHeader(hops, originator, final_destination), end
