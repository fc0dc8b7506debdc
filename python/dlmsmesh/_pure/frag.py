"""Pure-Python RFC 4944 fragmentation (the twin of csrc/frag.c)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import _status as S
from .._common.iphc import ELIDE_CHECKSUM, Fail, Link
from ..limits import MAX_DATAGRAM_SIZE
from .iphc import compress_header

if TYPE_CHECKING:
    from .._protocols.iphc import ContextsLike

FRAG1_HEADER = 4
FRAGN_HEADER = 5


def split(
    datagram: bytes, link: Link, contexts: ContextsLike | None, flags: int, mtu: int, tag: int, prefix: bytes
) -> tuple[list[bytes], int]:
    """(the frames, the compressed header length) of one datagram; raises Fail."""
    data = bytes(datagram)
    rows = contexts.rows if contexts is not None else None
    hdr, consumed, _ = compress_header(data, link, rows, flags & ELIDE_CHECKSUM)
    h = len(hdr)
    n = len(data)
    if len(prefix) + h + n - consumed <= mtu:
        return [prefix + hdr + data[consumed:]], h
    if n > MAX_DATAGRAM_SIZE:
        raise Fail(S.FRAG_TOO_BIG, 0)
    if mtu < len(prefix) + FRAG1_HEADER + h or mtu < len(prefix) + FRAGN_HEADER + 8:
        raise Fail(S.FRAG_MTU, 0)
    room1 = mtu - len(prefix) - FRAG1_HEADER - h
    first = (room1 + consumed) // 8 * 8 - consumed
    step = (mtu - len(prefix) - FRAGN_HEADER) // 8 * 8
    size = bytes((0xC0 | n >> 8, n & 0xFF, tag >> 8, tag & 0xFF))
    frames = [prefix + size + hdr + data[consumed : consumed + first]]
    head = bytes((0xE0 | n >> 8, n & 0xFF, tag >> 8, tag & 0xFF))
    for off in range(consumed + first, n, step):
        frames.append(prefix + head + bytes((off // 8,)) + data[off : off + step])
    return frames, h
