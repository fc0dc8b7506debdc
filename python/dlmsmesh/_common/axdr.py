"""The A-XDR parts both backends share: the shared instances of the
one-octet types, the ``max_depth`` check, and the encoder walk (the native
backend swaps in C row packing for some arrays through its own table)."""

from __future__ import annotations

import struct
from typing import Any, Callable

from ..errors import EncodeError
from ..limits import DEFAULT_MAX_DEPTH, MAX_DEPTH_CEILING
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
    DeltaDoubleLong,
    DeltaDoubleLongUnsigned,
    DeltaInteger,
    DeltaLong,
    DeltaLongUnsigned,
    DeltaUnsigned,
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
from .length import put_length

__all__ = [
    "BYTE_CACHE",
    "ENCODERS",
    "Encoder",
    "check_max_depth",
    "encode_with",
    "put_description",
    "put_length",
    "sequence_encoder",
]

_inew = int.__new__


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


def check_max_depth(max_depth: int) -> None:
    """Callers skip this for the default (``max_depth is DEFAULT_MAX_DEPTH``: small
    ints are cached objects), so the common call pays nothing."""
    if type(max_depth) is not int or not 0 <= max_depth <= MAX_DEPTH_CEILING:
        raise ValueError(f"max_depth must be an int in 0..{MAX_DEPTH_CEILING}, not {max_depth!r}")


# --------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------


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
    (DeltaInteger, "b"),
    (DeltaLong, "h"),
    (DeltaDoubleLong, "i"),
    (DeltaUnsigned, "B"),
    (DeltaLongUnsigned, "H"),
    (DeltaDoubleLongUnsigned, "I"),
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


def sequence_encoder(tag: int, table: dict[type, Encoder]) -> Encoder:
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
        # the ASN.1 allows it, but Gurux rejects it and no meter is known to send it
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
ENCODERS[Array] = ENCODERS[list] = sequence_encoder(1, ENCODERS)
ENCODERS[Structure] = ENCODERS[tuple] = sequence_encoder(2, ENCODERS)
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
