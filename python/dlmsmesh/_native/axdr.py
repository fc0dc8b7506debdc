"""Native A-XDR codec: C decodes, CPython's unpickler builds the objects;
arrays of uniform rows are encoded by C from columns."""

from __future__ import annotations

import threading
from array import array
from typing import Any

from .. import _status as S
from .._common import axdr as common
from .._core import ffi, lib
from ..limits import DEFAULT_MAX_DEPTH
from ..types import (
    Array,
    Bcd,
    Date,
    DateTime,
    DeltaDoubleLong,
    DeltaDoubleLongUnsigned,
    DeltaInteger,
    DeltaLong,
    DeltaLongUnsigned,
    DeltaUnsigned,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    Float32,
    Float64,
    Integer,
    Long,
    Long64,
    Long64Unsigned,
    LongUnsigned,
    OctetString,
    Structure,
    Time,
    Unsigned,
)
from .loader import loader

LAYER = "data"


class _Scratch(threading.local):
    def __init__(self) -> None:
        self.cap = 1 << 16
        self.out = ffi.new("uint8_t[]", self.cap)
        self.res = ffi.new("dm_decode_result *")

    def grow(self, need: int) -> None:
        self.cap = max(need, self.cap * 2)
        self.out = ffi.new("uint8_t[]", self.cap)


_scratch = _Scratch()


def _program_bound(n: int, max_depth: int) -> int:
    """No program is larger than this, so the retry loop ends.  The worst case
    is a compact-array whose description nests count-1 arrays as deep as
    allowed: each one-byte element then costs a 5-byte memo get (or 6 bytes for
    an empty string) plus 3 bytes (EMPTY_LIST MARK APPENDS) per level."""
    return (3 * max_depth + 16) * n + 4096


def _decode(data: Any, offset: int, max_depth: int, flags: int) -> tuple[Any, int]:
    if max_depth is not DEFAULT_MAX_DEPTH:  # the default (a cached small int) needs no check
        common.check_max_depth(max_depth)
    n = len(data)
    src = ffi.from_buffer("uint8_t[]", data)
    sc = _scratch
    res = sc.res
    while True:
        rc = lib.dm_axdr_decode(src, n, offset, max_depth, flags, sc.out, sc.cap, res)
        if rc != lib.DM_ERR_NO_SPACE:
            break
        if sc.cap > _program_bound(n, max_depth):
            raise MemoryError("A-XDR decode output exceeds its bound")
        sc.grow(4 * n + 4096)
    if rc < 0:
        if rc == lib.DM_ERR_BAD_ARGUMENT:
            raise ValueError(f"offset {offset} is outside the {n}-byte input")
        raise S.decode_error(rc, res.err_offset, LAYER)
    return loader().load(ffi.buffer(sc.out, res.out_len)), res.end


def decode_prefix(data: Any, offset: int = 0, max_depth: int = DEFAULT_MAX_DEPTH) -> tuple[Any, int]:
    return _decode(data, offset, max_depth, 0)


def decode(data: Any, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    return _decode(data, 0, max_depth, lib.DM_DECODE_WHOLE)[0]


# --------------------------------------------------------------------------
# encode: the pure walk, with arrays of uniform rows packed by C
# --------------------------------------------------------------------------

# exact column type -> (column kind, Data tag, array typecode or width)
_COLUMN: dict[type, tuple[int, int, Any]] = {
    Unsigned: (lib.DM_COL_U8, 17, "B"),
    Enum: (lib.DM_COL_U8, 22, "B"),
    Bcd: (lib.DM_COL_U8, 13, "B"),
    Integer: (lib.DM_COL_I8, 15, "b"),
    LongUnsigned: (lib.DM_COL_U16, 18, "H"),
    Long: (lib.DM_COL_I16, 16, "h"),
    DoubleLongUnsigned: (lib.DM_COL_U32, 6, "I"),
    DoubleLong: (lib.DM_COL_I32, 5, "i"),
    Long64Unsigned: (lib.DM_COL_U64, 21, "Q"),
    Long64: (lib.DM_COL_I64, 20, "q"),
    DeltaInteger: (lib.DM_COL_I8, 28, "b"),
    DeltaLong: (lib.DM_COL_I16, 29, "h"),
    DeltaDoubleLong: (lib.DM_COL_I32, 30, "i"),
    DeltaUnsigned: (lib.DM_COL_U8, 31, "B"),
    DeltaLongUnsigned: (lib.DM_COL_U16, 32, "H"),
    DeltaDoubleLongUnsigned: (lib.DM_COL_U32, 33, "I"),
    Float32: (lib.DM_COL_F32, 23, "f"),
    Float64: (lib.DM_COL_F64, 24, "d"),
    float: (lib.DM_COL_F64, 24, "d"),
    bool: (lib.DM_COL_BOOL, 3, "B"),
    DateTime: (lib.DM_COL_FIXED_OCTETS, 25, 12),
    Date: (lib.DM_COL_FIXED_OCTETS, 26, 5),
    Time: (lib.DM_COL_FIXED_OCTETS, 27, 4),
    bytes: (lib.DM_COL_OCTETS, 9, None),
    OctetString: (lib.DM_COL_OCTETS, 9, None),
}
for _code in ("B", "b", "H", "h", "I", "i", "Q", "q"):
    assert array(_code).itemsize == {"B": 1, "b": 1, "H": 2, "h": 2, "I": 4, "i": 4, "Q": 8, "q": 8}[_code]

# below this many rows the column set-up costs more than it saves
_MIN_ROWS = 8


def _pack(columns: list[tuple[Any, ...]], row_tag: int) -> bytes | None:
    """A-XDR of the rows given as columns, or None when a column is not uniform."""
    rows = len(columns[0])
    cols = ffi.new("dm_column[]", len(columns))
    keep: list[Any] = []
    for k, col in enumerate(columns):
        kinds = set(map(type, col))
        if len(kinds) != 1:
            return None
        spec = _COLUMN.get(kinds.pop())
        if spec is None:
            return None
        kind, tag, code = spec
        c = cols[k]
        c.kind = kind
        c.tag = tag
        if kind == lib.DM_COL_FIXED_OCTETS:
            blob = b"".join(col)
            if len(blob) != code * rows:
                return None
            c.width = code
            buf = ffi.from_buffer(blob)
        elif kind == lib.DM_COL_OCTETS:
            blob = b"".join(col)
            lengths = array("I", map(len, col))
            c.lengths = ffi.cast("uint32_t *", ffi.from_buffer(lengths))
            keep.append(lengths)
            buf = ffi.from_buffer(blob)
        else:
            try:
                values = array(code, col)
            except OverflowError:
                return None  # the generic walk reports it, with the pure twin's message
            buf = ffi.from_buffer(values)
            keep.append(values)
        keep.append(buf)
        c.values = buf
    cap = 0
    for k, col in enumerate(columns):
        kind = cols[k].kind
        if kind == lib.DM_COL_OCTETS:
            cap += sum(map(len, col)) + 6 * rows
        else:
            cap += (13 if kind != lib.DM_COL_FIXED_OCTETS else cols[k].width + 1) * rows
    cap += 2 * rows
    out = ffi.new("uint8_t[]", cap)
    n = lib.dm_axdr_pack_rows(cols, len(columns), rows, row_tag, out, cap)
    if n < 0:
        return None
    return ffi.buffer(out, n)[:]


def _pack_rows(v: Any) -> bytes | None:
    first = v[0]
    t = type(first)
    if t is tuple or t is Structure:
        width = len(first)
        if not 0 < width < lib.DM_PACK_MAX_COLUMNS:
            return None
        kinds = set(map(type, v))
        if not kinds <= {tuple, Structure} or set(map(len, v)) != {width}:
            return None
        return _pack(list(zip(*v)), 2)
    if t in _COLUMN:
        return _pack([tuple(v)], 0)
    return None


def _array_encoder(tag: int, table: dict[type, common.Encoder]) -> common.Encoder:
    generic = common.sequence_encoder(tag, table)

    def enc(v: Any, out: bytearray, depth: int) -> None:
        if len(v) >= _MIN_ROWS and depth + 2 <= DEFAULT_MAX_DEPTH:
            packed = _pack_rows(v)
            if packed is not None:
                out.append(tag)
                common.put_length(out, len(v))
                out += packed
                return
        generic(v, out, depth)

    return enc


ENCODERS: dict[type, common.Encoder] = dict(common.ENCODERS)
ENCODERS[Array] = ENCODERS[list] = _array_encoder(1, ENCODERS)
ENCODERS[Structure] = ENCODERS[tuple] = common.sequence_encoder(2, ENCODERS)


def encode(value: Any) -> bytes:
    return common.encode_with(ENCODERS, value)
