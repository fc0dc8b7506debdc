"""Pure-Python A-XDR codec for the COSEM ``Data`` type (the baseline twin).

Written for speed within Python: one pass over a ``bytes`` object with
``struct`` unpackers, a tag-indexed table instead of branches, no per-byte
loops, and shared instances for the 1-octet types (they are immutable).
"""

from __future__ import annotations

import struct
from typing import Any, Callable

from .. import _status as S
from ..errors import EncodeError
from ..types import (
    Array,
    ArrayDescription,
    Bcd,
    BitString,
    Boolean,
    CompactArray,
    CosemValue,
    Date,
    DateTime,
    DontCare,
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
    NullData,
    OctetString,
    Structure,
    StructureDescription,
    Time,
    TypeDescription,
    Unsigned,
    Utf8String,
    VisibleString,
    natural,
)

LAYER = "data"
DEFAULT_MAX_DEPTH = 64
# Hard ceiling on max_depth: both decoders recurse once per nesting level, so an
# unbounded limit would trade a DecodeError for a RecursionError here and a
# stack overflow in the C core.
MAX_DEPTH_CEILING = 256

_inew = int.__new__
_fnew = float.__new__
_bnew = bytes.__new__
_snew = str.__new__
_tnew = tuple.__new__


def _err(code: int, offset: int) -> Exception:
    return S.decode_error(code, offset, LAYER)


# Shared instances of the one-octet types, indexed by the raw octet (they are
# immutable, so one object per value serves every decode).  boolean decodes to
# the plain bool: any non-zero octet is TRUE.
BYTE_CACHE: dict[int, tuple[Any, ...]] = {
    Unsigned.TAG: tuple(_inew(Unsigned, b) for b in range(256)),
    Integer.TAG: tuple(_inew(Integer, b - 256 if b > 127 else b) for b in range(256)),
    Enum.TAG: tuple(_inew(Enum, b) for b in range(256)),
    Bcd.TAG: tuple(_inew(Bcd, b) for b in range(256)),
    Boolean.TAG: (False,) + (True,) * 255,
}

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
    if p >= end:
        raise _err(S.TRUNCATED, p)
    b = buf[p]
    if b < 0x80:
        return b, p + 1
    n = b & 0x7F
    if n == 0 or n > 4:
        raise _err(S.BAD_LENGTH, p)
    q = p + 1 + n
    if q > end:
        raise _err(S.TRUNCATED, p)
    return int.from_bytes(buf[p + 1 : q], "big"), q


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

_SIMPLE_DESCRIPTION_TAGS = frozenset((3, 4, 5, 6, 9, 10, 12, 13, 15, 16, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27))


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


def check_max_depth(max_depth: int) -> None:
    """Callers skip this for the default (``max_depth is DEFAULT_MAX_DEPTH``: small
    ints are cached objects), so the common call pays nothing."""
    if type(max_depth) is not int or not 0 <= max_depth <= MAX_DEPTH_CEILING:
        raise ValueError(f"max_depth must be an int in 0..{MAX_DEPTH_CEILING}, not {max_depth!r}")


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


def put_length(out: bytearray, n: int) -> None:
    """Shortest A-XDR length form of ``n``."""
    if n < 0x80:
        out.append(n)
    elif n < 0x100:
        out += b"\x81" + n.to_bytes(1, "big")
    elif n < 0x10000:
        out += b"\x82" + n.to_bytes(2, "big")
    elif n < 0x1000000:
        out += b"\x83" + n.to_bytes(3, "big")
    elif n < 0x100000000:
        out += b"\x84" + n.to_bytes(4, "big")
    else:
        raise EncodeError(f"length {n} does not fit an A-XDR length field")


Encoder = Callable[[Any, bytearray, int], None]
ENCODERS: dict[type, Encoder] = {}


def _fixed_encoder(tag: int, fmt: str) -> Encoder:
    pack = struct.Struct(">B" + fmt).pack

    def enc(v: Any, out: bytearray, depth: int) -> None:
        out += pack(tag, v)

    return enc


_enc_cls: Any
for _enc_cls, _fmt in (
    (DoubleLong, "i"),
    (DoubleLongUnsigned, "I"),
    (Long, "h"),
    (LongUnsigned, "H"),
    (Long64, "q"),
    (Long64Unsigned, "Q"),
    (Unsigned, "B"),
    (Integer, "b"),
    (Enum, "B"),
    (Bcd, "B"),
    (Boolean, "?"),
    (Float32, "f"),
    (Float64, "d"),
):
    ENCODERS[_enc_cls] = _fixed_encoder(_enc_cls.TAG, _fmt)


def _enc_fixed_octets(v: Any, out: bytearray, depth: int) -> None:
    out.append(v.TAG)
    out += v


def _enc_octet_string(v: Any, out: bytearray, depth: int) -> None:
    out.append(9)
    put_length(out, len(v))
    out += v


def _enc_visible_string(v: Any, out: bytearray, depth: int) -> None:
    raw = v.encode("latin-1")
    out.append(10)
    put_length(out, len(raw))
    out += raw


def _enc_utf8_string(v: Any, out: bytearray, depth: int) -> None:
    raw = v.encode("utf-8")
    out.append(12)
    put_length(out, len(raw))
    out += raw


def _enc_bit_string(v: Any, out: bytearray, depth: int) -> None:
    out.append(4)
    put_length(out, len(v))
    out += v.to_bytes()


def _enc_nothing(v: Any, out: bytearray, depth: int) -> None:
    out.append(v.TAG)


def _sequence_encoder(tag: int, table: dict[type, Encoder]) -> Encoder:
    """Encoder of array (1) or structure (2) whose items are encoded through ``table``."""

    def enc(v: Any, out: bytearray, depth: int) -> None:
        depth += 1
        if depth > DEFAULT_MAX_DEPTH:
            raise EncodeError(f"nesting deeper than {DEFAULT_MAX_DEPTH}")
        out.append(tag)
        put_length(out, len(v))
        encoders = table
        for x in v:
            f = encoders.get(type(x))
            if f is None:
                x, f = _resolve(x, encoders)
            f(x, out, depth)

    return enc


def _enc_null(v: Any, out: bytearray, depth: int) -> None:
    out.append(0)


def _enc_bool(v: Any, out: bytearray, depth: int) -> None:
    out += b"\x03\x01" if v else b"\x03\x00"


_pack_float64 = struct.Struct(">Bd").pack


def _enc_float(v: Any, out: bytearray, depth: int) -> None:
    out += _pack_float64(24, v)


def put_description(out: bytearray, d: TypeDescription) -> None:
    if isinstance(d, ArrayDescription):
        out.append(1)
        out += d.count.to_bytes(2, "big")
        put_description(out, d.element)
    elif isinstance(d, StructureDescription):
        out.append(2)
        put_length(out, len(d.elements))
        for e in d.elements:
            put_description(out, e)
    else:
        out.append(d.TAG)  # type: ignore[union-attr,attr-defined]


def _compact_contents(d: TypeDescription, v: Any, out: bytearray) -> None:
    if isinstance(d, StructureDescription):
        if not isinstance(v, (tuple, list)) or len(v) != len(d.elements):
            raise EncodeError(f"compact-array element {v!r} does not match {d}")
        for m, x in zip(d.elements, v):
            _compact_contents(m, x, out)
        return
    if isinstance(d, ArrayDescription):
        if not isinstance(v, (tuple, list)) or len(v) != d.count:
            raise EncodeError(f"compact-array element {v!r} is not {d.count} items")
        for x in v:
            _compact_contents(d.element, x, out)
        return
    cls: Any = d
    if type(v) is not cls:
        try:
            v = cls(v)
        except (TypeError, ValueError) as exc:
            raise EncodeError(f"compact-array element {v!r} is not {cls.NAME}: {exc}") from None
    tmp = bytearray()
    ENCODERS[cls](v, tmp, 0)
    out += memoryview(tmp)[1:]


def _enc_compact_array(v: Any, out: bytearray, depth: int) -> None:
    if isinstance(v.description, ArrayDescription):
        # spec/axdr-data.md 5.3: Gurux rejects it and no meter is known to send it
        raise EncodeError("a compact-array whose description is an array is decoded but never emitted")
    out.append(19)
    put_description(out, v.description)
    body = bytearray()
    for x in v:
        _compact_contents(v.description, x, body)
    put_length(out, len(body))
    out += body


for _octets_cls in (DateTime, Date, Time):
    ENCODERS[_octets_cls] = _enc_fixed_octets
ENCODERS[OctetString] = _enc_octet_string
ENCODERS[VisibleString] = _enc_visible_string
ENCODERS[Utf8String] = _enc_utf8_string
ENCODERS[BitString] = _enc_bit_string
ENCODERS[NullData] = _enc_nothing
ENCODERS[DontCare] = _enc_nothing
ENCODERS[Array] = ENCODERS[list] = _sequence_encoder(1, ENCODERS)
ENCODERS[Structure] = ENCODERS[tuple] = _sequence_encoder(2, ENCODERS)
ENCODERS[bytes] = ENCODERS[bytearray] = _enc_octet_string
ENCODERS[type(None)] = _enc_null
ENCODERS[bool] = _enc_bool
ENCODERS[float] = _enc_float
ENCODERS[CompactArray] = _enc_compact_array


def _resolve(x: Any, table: dict[type, Encoder]) -> tuple[Any, Encoder]:
    """The encoder of a value whose exact type is not in the table: a subclass of
    a COSEM type, or a plain Python value with a natural type."""
    if isinstance(x, CosemValue):
        for base in type(x).__mro__:
            f = table.get(base)
            if f is not None:
                return x, f
    v = natural(x)
    return v, table[type(v)]


def encode_with(table: dict[type, Encoder], value: Any) -> bytes:
    out = bytearray()
    f = table.get(type(value))
    if f is None:
        value, f = _resolve(value, table)
    try:
        f(value, out, 0)
    except (struct.error, OverflowError) as exc:
        raise EncodeError(str(exc)) from None
    return bytes(out)


def encode(value: Any) -> bytes:
    return encode_with(ENCODERS, value)
