"""Pure-Python A-XDR codec for the COSEM ``Data`` type (the baseline twin).

Written for speed within Python: one pass over a ``bytes`` object with
``struct`` unpackers, a tag-indexed table instead of branches, no per-byte
loops, and shared instances for the 1-octet types (they are immutable).
"""

from __future__ import annotations

import struct
from typing import Any, Callable

from .. import _status as S
from .._common.axdr import BYTE_CACHE, ENCODERS, check_max_depth, encode_with, put_length
from .._common.fail import Fail
from .._common.length import read_length as _read_length
from ..limits import DEFAULT_MAX_DEPTH
from ..types import (
    ArrayDescription,
    BitString,
    CompactArray,
    Date,
    DateTime,
    DeltaDoubleLong,
    DeltaDoubleLongUnsigned,
    DeltaInteger,
    DeltaLong,
    DeltaLongUnsigned,
    DeltaUnsigned,
    DontCare,
    DoubleLong,
    DoubleLongUnsigned,
    Float32,
    Float64,
    Long,
    Long64,
    Long64Unsigned,
    LongUnsigned,
    StructureDescription,
    Time,
    TypeDescription,
    Utf8String,
    VisibleString,
)

__all__ = [
    "BYTE_CACHE",
    "DEFAULT_MAX_DEPTH",
    "ENCODERS",
    "LAYER",
    "decode",
    "decode_prefix",
    "encode",
    "put_length",
    "read_length",
]

LAYER = "data"

_inew = int.__new__
_fnew = float.__new__
_bnew = bytes.__new__
_snew = str.__new__
_tnew = tuple.__new__


def _err(code: int, offset: int) -> Exception:
    return S.decode_error(code, offset, LAYER)


# Fixed-size types: tag -> (content size, unpack_from, constructor, class or cache):
#   constructor None, unpack None  -> cache[octet]
#   constructor None               -> unpack()[0], a plain value (float64)
#   unpack None                    -> constructor(class, content octets)
#   otherwise                      -> constructor(class, unpack()[0])
_Fixed = tuple[int, Any, Any, Any]
FIXED: list[_Fixed | None] = [None] * 256
for _cls, _fmt in (
    (DoubleLong, ">i"),
    (DoubleLongUnsigned, ">I"),
    (Long, ">h"),
    (LongUnsigned, ">H"),
    (Long64, ">q"),
    (Long64Unsigned, ">Q"),
    (DeltaInteger, ">b"),
    (DeltaLong, ">h"),
    (DeltaDoubleLong, ">i"),
    (DeltaUnsigned, ">B"),
    (DeltaLongUnsigned, ">H"),
    (DeltaDoubleLongUnsigned, ">I"),
):
    _st = struct.Struct(_fmt)
    FIXED[_cls.TAG] = (_st.size, _st.unpack_from, _inew, _cls)
for _tag, _cache in BYTE_CACHE.items():
    FIXED[_tag] = (1, None, None, _cache)
FIXED[Float32.TAG] = (4, struct.Struct(">f").unpack_from, _fnew, Float32)
FIXED[Float64.TAG] = (8, struct.Struct(">d").unpack_from, None, None)
for _octets_cls in (DateTime, Date, Time):
    FIXED[_octets_cls.TAG] = (_octets_cls.SIZE, None, _bnew, _octets_cls)
_DONT_CARE = DontCare()


def read_length(buf: bytes, p: int, end: int) -> tuple[int, int]:
    """A-XDR length/count at ``p``: (value, offset after it)."""
    if p < end:
        b = buf[p]
        if b < 0x80:  # the short form inline: the shared codec only for long forms
            return b, p + 1
    try:
        return _read_length(buf, p, end)
    except Fail as exc:
        raise _err(exc.code, exc.offset) from None


def _value(buf: bytes, pos: int, end: int, depth: int, maxd: int) -> tuple[Any, int]:
    if pos >= end:
        raise _err(S.TRUNCATED, pos)
    tag = buf[pos]
    p = pos + 1
    fx = FIXED[tag]
    if fx is not None:
        size, unpack, new, cls = fx
        q = p + size
        if q > end:
            raise _err(S.TRUNCATED, p)
        if new is None:
            return (cls[buf[p]] if unpack is None else unpack(buf, p)[0]), q
        if unpack is None:
            return new(cls, buf[p:q]), q
        return new(cls, unpack(buf, p)[0]), q
    handler = VARIABLE[tag]
    if handler is None:
        raise _err(S.BAD_TAG, pos)
    return handler(buf, pos, end, depth, maxd)


def _sequence(buf: bytes, pos: int, end: int, depth: int, maxd: int) -> tuple[Any, int]:
    depth += 1
    if depth > maxd:
        raise _err(S.TOO_DEEP, pos)
    n, p = read_length(buf, pos + 1, end)
    if n > end - p:
        raise _err(S.TOO_MANY, pos + 1)
    items: list[Any] = []
    append = items.append
    fixed = FIXED
    variable = VARIABLE
    for _ in range(n):
        if p >= end:
            raise _err(S.TRUNCATED, p)
        tag = buf[p]
        fx = fixed[tag]
        if fx is not None:
            size, unpack, new, cls = fx
            q = p + 1 + size
            if q > end:
                raise _err(S.TRUNCATED, p + 1)
            if new is None:
                append(cls[buf[p + 1]] if unpack is None else unpack(buf, p + 1)[0])
            elif unpack is None:
                append(new(cls, buf[p + 1 : q]))
            else:
                append(new(cls, unpack(buf, p + 1)[0]))
            p = q
        elif tag == 9 and p + 1 < end and buf[p + 1] < 0x80:
            # short octet-strings (time stamps, OBIS codes) are most of what is not fixed-size
            q = p + 2 + buf[p + 1]
            if q > end:
                raise _err(S.TRUNCATED, p + 2)
            append(buf[p + 2 : q])
            p = q
        elif tag == 2 and p + 1 < end and buf[p + 1] < 0x80:
            # A structure inside a sequence (a profile-generic row): its items are
            # decoded right here, saving a call and a length read per row.  Same
            # checks, in the same order, as _sequence.
            if depth + 1 > maxd:
                raise _err(S.TOO_DEEP, p)
            k = buf[p + 1]
            p += 2
            if k > end - p:
                raise _err(S.TOO_MANY, p - 1)
            row: list[Any] = []
            add = row.append
            for _ in range(k):
                if p >= end:
                    raise _err(S.TRUNCATED, p)
                tag = buf[p]
                fx = fixed[tag]
                if fx is not None:
                    size, unpack, new, cls = fx
                    q = p + 1 + size
                    if q > end:
                        raise _err(S.TRUNCATED, p + 1)
                    if new is None:
                        add(cls[buf[p + 1]] if unpack is None else unpack(buf, p + 1)[0])
                    elif unpack is None:
                        add(new(cls, buf[p + 1 : q]))
                    else:
                        add(new(cls, unpack(buf, p + 1)[0]))
                    p = q
                elif tag == 9 and p + 1 < end and buf[p + 1] < 0x80:
                    q = p + 2 + buf[p + 1]
                    if q > end:
                        raise _err(S.TRUNCATED, p + 2)
                    add(buf[p + 2 : q])
                    p = q
                else:
                    handler = variable[tag]
                    if handler is None:
                        raise _err(S.BAD_TAG, p)
                    v, p = handler(buf, p, end, depth + 1, maxd)
                    add(v)
            append(tuple(row))
        else:
            handler = variable[tag]
            if handler is None:
                raise _err(S.BAD_TAG, p)
            v, p = handler(buf, p, end, depth, maxd)
            append(v)
    if buf[pos] == 2:
        return tuple(items), p
    return items, p


def _content(buf: bytes, pos: int, end: int) -> tuple[int, int]:
    n, p = read_length(buf, pos + 1, end)
    if n > end - p:
        raise _err(S.TRUNCATED, p)
    return p, p + n


def _octet_string(buf: bytes, pos: int, end: int, depth: int, maxd: int) -> tuple[Any, int]:
    p, q = _content(buf, pos, end)
    return buf[p:q], q


def _visible_string(buf: bytes, pos: int, end: int, depth: int, maxd: int) -> tuple[Any, int]:
    p, q = _content(buf, pos, end)
    return _snew(VisibleString, buf[p:q].decode("latin-1")), q


def _utf8_string(buf: bytes, pos: int, end: int, depth: int, maxd: int) -> tuple[Any, int]:
    p, q = _content(buf, pos, end)
    try:
        text = buf[p:q].decode("utf-8")
    except UnicodeDecodeError:
        raise _err(S.BAD_UTF8, p) from None
    return _snew(Utf8String, text), q


def _bit_string(buf: bytes, pos: int, end: int, depth: int, maxd: int) -> tuple[Any, int]:
    bits, p = read_length(buf, pos + 1, end)
    nbytes = (bits + 7) >> 3
    if nbytes > end - p:
        raise _err(S.TRUNCATED, p)
    q = p + nbytes
    return BitString.from_bytes(buf[p:q], bits), q


def _null(buf: bytes, pos: int, end: int, depth: int, maxd: int) -> tuple[Any, int]:
    return None, pos + 1


def _dont_care(buf: bytes, pos: int, end: int, depth: int, maxd: int) -> tuple[Any, int]:
    return _DONT_CARE, pos + 1


# --------------------------------------------------------------------------
# compact-array
# --------------------------------------------------------------------------

_SIMPLE_DESCRIPTION_TAGS = frozenset(
    (3, 4, 5, 6, 9, 10, 12, 13, 15, 16, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33)
)


def read_description(buf: bytes, p: int, end: int, depth: int, maxd: int) -> tuple[TypeDescription, int]:
    """A TypeDescription at ``p``. Zero-size descriptions are refused: they would
    let a few bytes of contents stand for unbounded numbers of values."""
    if p >= end:
        raise _err(S.TRUNCATED, p)
    tag = buf[p]
    if tag in _SIMPLE_DESCRIPTION_TAGS:
        from ..types import TYPES_BY_TAG

        return TYPES_BY_TAG[tag], p + 1
    if tag == 0 or tag == 255:
        raise _err(S.ZERO_SIZE, p)
    if tag != 1 and tag != 2:
        raise _err(S.BAD_DESCRIPTION, p)
    depth += 1
    if depth > maxd:
        raise _err(S.TOO_DEEP, p)
    if tag == 1:
        if p + 3 > end:
            raise _err(S.TRUNCATED, p + 1)
        count = (buf[p + 1] << 8) | buf[p + 2]
        if count == 0:
            raise _err(S.ZERO_SIZE, p)
        element, q = read_description(buf, p + 3, end, depth, maxd)
        return ArrayDescription(count, element), q
    count, q = read_length(buf, p + 1, end)
    if count == 0:
        raise _err(S.ZERO_SIZE, p)
    if count > end - q:
        raise _err(S.TOO_MANY, p + 1)
    members = []
    for _ in range(count):
        d, q = read_description(buf, q, end, depth, maxd)
        members.append(d)
    return StructureDescription(tuple(members)), q


def _compact_element(d: TypeDescription, buf: bytes, p: int, stop: int) -> tuple[Any, int]:
    if isinstance(d, StructureDescription):
        items = []
        for m in d.elements:
            v, p = _compact_element(m, buf, p, stop)
            items.append(v)
        return tuple(items), p
    if isinstance(d, ArrayDescription):
        arr = []
        for _ in range(d.count):
            v, p = _compact_element(d.element, buf, p, stop)
            arr.append(v)
        return arr, p
    tag = d.TAG  # type: ignore[union-attr,attr-defined]
    fx = FIXED[tag]
    if fx is not None:
        size, unpack, new, cls = fx
        q = p + size
        if q > stop:
            raise _err(S.COMPACT_OVERRUN, p)
        if new is None:
            return (cls[buf[p]] if unpack is None else unpack(buf, p)[0]), q
        if unpack is None:
            return new(cls, buf[p:q]), q
        return new(cls, unpack(buf, p)[0]), q
    # variable-size simple types keep their length prefix inside the contents
    try:
        return VARIABLE[tag](buf, p - 1, stop, 0, 0)  # type: ignore[misc]
    except Exception as exc:
        code = getattr(exc, "offset", None)
        if code is not None and getattr(exc, "reason", "") == S.MESSAGES[S.TRUNCATED]:
            raise _err(S.COMPACT_OVERRUN, p) from None
        raise


def _compact_array(buf: bytes, pos: int, end: int, depth: int, maxd: int) -> tuple[Any, int]:
    depth += 1
    if depth > maxd:
        raise _err(S.TOO_DEEP, pos)
    desc, p = read_description(buf, pos + 1, end, depth, maxd)
    n, p = read_length(buf, p, end)
    if n > end - p:
        raise _err(S.TRUNCATED, p)
    stop = p + n
    items: list[Any] = []
    while p < stop:
        v, p = _compact_element(desc, buf, p, stop)
        items.append(v)
    out = list.__new__(CompactArray)
    list.extend(out, items)
    out.description = desc
    return out, stop


VARIABLE: list[Callable[..., tuple[Any, int]] | None] = [None] * 256
VARIABLE[0] = _null
VARIABLE[1] = _sequence
VARIABLE[2] = _sequence
VARIABLE[4] = _bit_string
VARIABLE[9] = _octet_string
VARIABLE[10] = _visible_string
VARIABLE[12] = _utf8_string
VARIABLE[19] = _compact_array
VARIABLE[255] = _dont_care


def decode_prefix(data: bytes, offset: int = 0, max_depth: int = DEFAULT_MAX_DEPTH) -> tuple[Any, int]:
    if max_depth is not DEFAULT_MAX_DEPTH:
        check_max_depth(max_depth)
    buf = data if type(data) is bytes else bytes(data)
    return _value(buf, offset, len(buf), 0, max_depth)


def decode(data: bytes, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
    if max_depth is not DEFAULT_MAX_DEPTH:
        check_max_depth(max_depth)
    buf = data if type(data) is bytes else bytes(data)
    value, end = _value(buf, 0, len(buf), 0, max_depth)
    if end != len(buf):
        raise _err(S.TRAILING, end)
    return value


# --------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------


def encode(value: Any) -> bytes:
    return encode_with(ENCODERS, value)
