"""The RFC 4944 mesh addressing header reader, shared by ``lowpan.mesh``
(single frames) and the pure batch pipeline (the C core's twin is in
csrc/pipeline_decode.c's walk).

``10 V F HopsLeft``, then the originator and the final destination, each an
EUI-64 (V/F = 0) or a 16-bit short address (V/F = 1).  Hops left 0xF means
one more octet carries the count ("deep hops left").
"""

from __future__ import annotations

from .. import _status as S
from .fail import Fail

DEEP_HOPS = 0x0F


def is_mesh(dispatch: int) -> bool:
    return dispatch & 0xC0 == 0x80


def read_mesh(frame: bytes | bytearray | memoryview, offset: int = 0) -> tuple[int, bytes, bytes, int]:
    """(hops left, originator, final destination, offset after) of the mesh
    header at ``offset``; ``Fail`` with the status code and offset otherwise."""
    n = len(frame)
    p = offset
    if p >= n or not is_mesh(frame[p]):
        raise Fail(S.LOWPAN_DISPATCH, p)
    b = frame[p]
    olen = 2 if b & 0x20 else 8
    flen = 2 if b & 0x10 else 8
    hops = b & 0x0F
    p += 1
    if hops == DEEP_HOPS:
        if p >= n:
            raise Fail(S.TRUNCATED, p)
        hops = frame[p]
        p += 1
    if n - p < olen:
        raise Fail(S.TRUNCATED, p)
    if n - p - olen < flen:
        raise Fail(S.TRUNCATED, p + olen)
    q = p + olen
    return hops, bytes(frame[p:q]), bytes(frame[q : q + flen]), q + flen
