"""Native BER TLV walker: C fills a reused node array, Python reads it as one
flat run of uint32 and builds the :class:`Node` tuples."""

from __future__ import annotations

import threading
from typing import Any

from .. import _status as S
from .._common.ber import (
    APPLICATION,
    CONTEXT,
    DEFAULT_MAX_DEPTH,
    DEPTH_LIMIT,
    LAYER,
    PRIVATE,
    UNIVERSAL,
    Node,
    check_args,
    check_header,
    encode_length,
)
from .._core import ffi, lib

__all__ = [
    "APPLICATION",
    "CONTEXT",
    "DEFAULT_MAX_DEPTH",
    "DEPTH_LIMIT",
    "LAYER",
    "PRIVATE",
    "UNIVERSAL",
    "Node",
    "walk",
    "encode_length",
    "encode_header",
    "encode_tlv",
]

assert lib.DM_BER_DEPTH_LIMIT == DEPTH_LIMIT
_FIELDS = 7
assert ffi.sizeof("dm_ber_node") == 4 * _FIELDS


class _Scratch(threading.local):
    def __init__(self) -> None:
        self.cap = 64
        self.nodes = ffi.new("dm_ber_node[]", self.cap)
        self.res = ffi.new("dm_ber_result *")
        self.header = ffi.new("uint8_t[]", 10)


_scratch = _Scratch()
_new = tuple.__new__


def walk(
    data: Any,
    offset: int = 0,
    end: int | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    *,
    flat: bool = False,
    one: bool = False,
) -> list[Node]:
    n = len(data)
    end = check_args(n, offset, end, max_depth)
    flags = (lib.DM_BER_ONE if one else 0) | (lib.DM_BER_FLAT if flat else 0)
    src = ffi.from_buffer("uint8_t[]", data)
    sc = _scratch
    res = sc.res
    rc = lib.dm_ber_walk(src, n, offset, end, max_depth, flags, sc.nodes, sc.cap, res)
    if rc == lib.DM_ERR_NO_SPACE:
        # C counted every node; each takes at least two input octets, so the
        # size asked for is bounded by the input
        need = res.count
        if need > (end - offset) // 2 + 1:
            raise MemoryError("BER walk reports more nodes than the input can hold")
        sc.cap = max(need, 2 * sc.cap)
        sc.nodes = ffi.new("dm_ber_node[]", sc.cap)
        rc = lib.dm_ber_walk(src, n, offset, end, max_depth, flags, sc.nodes, sc.cap, res)
    if rc < 0:
        if rc == lib.DM_ERR_BAD_ARGUMENT:
            raise ValueError(f"range {offset}..{end} or max_depth {max_depth} is not accepted")
        raise S.decode_error(rc, res.err_offset, LAYER)
    count = res.count
    if not count:
        return []
    flat_values = memoryview(ffi.buffer(sc.nodes, count * 4 * _FIELDS)).cast("I").tolist()
    it = iter(flat_values)
    return [
        _new(Node, (cls, constructed == 1, number, header, content, length, depth))
        for cls, constructed, number, header, content, length, depth in zip(it, it, it, it, it, it, it)
    ]


def encode_header(cls: int, constructed: bool, number: int, length: int) -> bytes:
    check_header(cls, number, length)  # the pure twin's errors, before C sees the fields
    out = _scratch.header
    n = lib.dm_ber_header(cls | (0x20 if constructed else 0), number, length, out, 10)
    return ffi.buffer(out, n)[:]


def encode_tlv(cls: int, constructed: bool, number: int, content: bytes) -> bytes:
    return encode_header(cls, constructed, number, len(content)) + bytes(content)
