"""hypothesis properties of the A-XDR codec, on both backends:

* decode(encode(v)) is v, type for type, for generated values of every type
  (nested arrays/structures, compact-arrays, uniform rows the native encoder
  packs from columns), given in decoded form or built from the typed classes;
* encode(decode(b)) is b for generated canonical encodings, built here from
  the spec's rules, independently of the encoder;
* both encoders write the same bytes for the same value.
"""

from __future__ import annotations

import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlmsmesh import axdr
from dlmsmesh._native import axdr as native_axdr
from dlmsmesh._pure import axdr as pure_axdr
from dlmsmesh.types import (
    Array,
    ArrayDescription,
    Bcd,
    BitString,
    Boolean,
    CompactArray,
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
    Unsigned,
    Utf8String,
    VisibleString,
)

from .conftest import BACKENDS
from .test_axdr_vectors import assert_typed_equal

SETTINGS = settings(
    max_examples=100,
    deadline=None,
    database=None,
    # the backend fixture only selects the live backend: sharing it between
    # examples is what is wanted
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

INT_TYPES = [Integer, Long, DoubleLong, Long64, Unsigned, LongUnsigned, DoubleLongUnsigned, Long64Unsigned, Enum, Bcd]

# --------------------------------------------------------------------------
# values, in the form decode returns them
# --------------------------------------------------------------------------


def ints(cls: Any) -> st.SearchStrategy[Any]:
    edges = st.sampled_from([cls.MIN, cls.MAX, 0 if cls.MIN <= 0 else cls.MIN, 1 if cls.MAX >= 1 else cls.MAX])
    return st.one_of(edges, st.integers(cls.MIN, cls.MAX)).map(cls)


def lengths_around_forms(max_size: int = 300) -> st.SearchStrategy[int]:
    """Sizes that hit every short/long length form boundary we can afford."""
    return st.one_of(
        st.integers(0, 20), st.sampled_from([126, 127, 128, 129, 255, 256, 257, 300]).filter(lambda n: n <= max_size)
    )


def sized_binary(max_size: int = 300) -> st.SearchStrategy[bytes]:
    return lengths_around_forms(max_size).flatmap(lambda n: st.binary(min_size=n, max_size=n))


def typed_simple(cls: Any) -> st.SearchStrategy[Any]:
    """Values of a simple type, in decoded form (bool, bytes, float are plain)."""
    if cls in INT_TYPES:
        return ints(cls)
    if cls is Boolean:
        return st.booleans()
    if cls is Float32:
        return st.floats(width=32, allow_nan=False).map(Float32)
    if cls is Float64:
        return st.floats(allow_nan=False)
    if cls is OctetString:
        return sized_binary()
    if cls is VisibleString:
        return st.text(st.characters(max_codepoint=255), max_size=140).map(VisibleString)
    if cls is Utf8String:
        return st.text(max_size=60).map(Utf8String)
    if cls is BitString:
        return st.one_of(st.text("01", max_size=40), st.text("01", min_size=126, max_size=140)).map(BitString)
    if cls in (DateTime, Date, Time):
        return st.binary(min_size=cls.SIZE, max_size=cls.SIZE).map(cls)
    raise AssertionError(cls)


SIMPLE_TYPES = [
    Boolean,
    BitString,
    DoubleLong,
    DoubleLongUnsigned,
    OctetString,
    VisibleString,
    Utf8String,
    Bcd,
    Integer,
    Long,
    Unsigned,
    LongUnsigned,
    Long64,
    Long64Unsigned,
    Enum,
    Float32,
    Float64,
    DateTime,
    Date,
    Time,
]

simple_values = st.one_of(st.none(), st.just(DontCare()), *[typed_simple(c) for c in SIMPLE_TYPES])

# compact-array descriptions: simple types, structures, nested arrays; the
# top level is a simple type or a structure (an array there is decoded only)
inner_descriptions = st.recursive(
    st.sampled_from(SIMPLE_TYPES),
    lambda inner: st.one_of(
        st.lists(inner, min_size=1, max_size=4).map(lambda e: StructureDescription(tuple(e))),
        st.tuples(st.integers(1, 3), inner).map(lambda t: ArrayDescription(*t)),
    ),
    max_leaves=6,
)
top_descriptions = st.one_of(
    st.sampled_from(SIMPLE_TYPES),
    st.lists(inner_descriptions, min_size=1, max_size=5).map(lambda e: StructureDescription(tuple(e))),
)


def described_item(d: Any) -> st.SearchStrategy[Any]:
    if isinstance(d, StructureDescription):
        return st.tuples(*[described_item(e) for e in d.elements])
    if isinstance(d, ArrayDescription):
        return st.lists(described_item(d.element), min_size=d.count, max_size=d.count)
    return typed_simple(d)


compact_arrays = top_descriptions.flatmap(
    lambda d: st.lists(described_item(d), max_size=6).map(lambda items: CompactArray(d, items))
)

# arrays of >= 8 uniform rows: the native encoder packs these from columns
COLUMN_TYPES = [
    Unsigned,
    Enum,
    Bcd,
    Integer,
    LongUnsigned,
    Long,
    DoubleLongUnsigned,
    DoubleLong,
    Long64Unsigned,
    Long64,
    Float32,
    Float64,
    Boolean,
    DateTime,
    Date,
    Time,
    OctetString,
]


def _rows(types: list[Any]) -> st.SearchStrategy[list[Any]]:
    row = st.tuples(*[typed_simple(t) for t in types])
    return st.lists(row, min_size=8, max_size=20)


uniform_rows = st.one_of(
    st.lists(st.sampled_from(COLUMN_TYPES), min_size=1, max_size=6).flatmap(_rows),
    st.sampled_from(COLUMN_TYPES).flatmap(lambda t: st.lists(typed_simple(t), min_size=8, max_size=40)),
)

values = (
    st.recursive(
        st.one_of(simple_values, compact_arrays),
        lambda children: st.one_of(
            st.lists(children, max_size=5),
            st.lists(children, max_size=5).map(tuple),
        ),
        max_leaves=25,
    )
    | uniform_rows
)


def as_typed(v: Any) -> Any:
    """The same value built from the typed classes a caller would use."""
    t = type(v)
    if v is None:
        return NullData()
    if t is bool:
        return Boolean(v)
    if t is bytes:
        return OctetString(v)
    if t is float:
        return Float64(v)
    if t is list:
        return Array(as_typed(x) for x in v)
    if t is tuple:
        return Structure(as_typed(x) for x in v)
    return v


@given(values)
@SETTINGS
def test_decode_encode_round_trip(backend: str, value: Any) -> None:
    data = axdr.encode(value)
    assert_typed_equal(axdr.decode(data), value)
    assert axdr.decode_prefix(data + b"\x07") == (value, len(data))


@given(values)
@SETTINGS
def test_typed_forms_encode_like_plain_forms(backend: str, value: Any) -> None:
    data = axdr.encode(value)
    assert axdr.encode(as_typed(value)) == data
    assert_typed_equal(axdr.decode(data), value)


@pytest.mark.single_backend
@pytest.mark.skipif("native" not in BACKENDS, reason="the C core is not built")
@given(values)
@SETTINGS
def test_both_encoders_write_the_same_bytes(value: Any) -> None:
    assert native_axdr.encode(value) == pure_axdr.encode(value)
    typed = as_typed(value)
    assert native_axdr.encode(typed) == pure_axdr.encode(typed)


@given(st.lists(st.floats(width=32), min_size=1, max_size=12))
@SETTINGS
def test_float32_nan_round_trips_by_bytes(backend: str, floats: list[float]) -> None:
    value = [Float32(f) for f in floats]
    data = axdr.encode(value)
    back = axdr.decode(data)
    assert [type(x) for x in back] == [Float32] * len(floats)
    assert axdr.encode(back) == data


# --------------------------------------------------------------------------
# canonical encodings, built from the spec's rules (not by the encoder)
# --------------------------------------------------------------------------


def length(n: int) -> bytes:
    """Shortest A-XDR length form (spec section 2)."""
    if n < 0x80:
        return bytes([n])
    size = (n.bit_length() + 7) // 8
    return bytes([0x80 | size]) + n.to_bytes(size, "big")


FIXED_SIZES = {5: 4, 6: 4, 13: 1, 15: 1, 16: 2, 17: 1, 18: 2, 20: 8, 21: 8, 22: 1, 24: 8, 25: 12, 26: 5, 27: 4}


def _not_nan32(raw: bytes) -> bool:
    return not (raw[0] & 0x7F == 0x7F and raw[1] & 0x80 and (raw[1] & 0x7F or raw[2] or raw[3]))


@st.composite
def content(draw: st.DrawFn, tag: int) -> bytes:
    """The content octets of a simple type, canonical: what follows the tag."""
    if tag == 3:
        return draw(st.sampled_from([b"\x00", b"\x01"]))
    if tag == 23:
        # a float32 NaN may come back quieted through the double it becomes
        return draw(st.binary(min_size=4, max_size=4).filter(_not_nan32))
    if tag in FIXED_SIZES:
        return draw(st.binary(min_size=FIXED_SIZES[tag], max_size=FIXED_SIZES[tag]))
    if tag == 4:
        bits = draw(st.one_of(st.integers(0, 40), st.integers(1000, 1100)))
        raw = bytearray(draw(st.binary(min_size=(bits + 7) // 8, max_size=(bits + 7) // 8)))
        if bits % 8:
            raw[-1] &= (0xFF << (8 - bits % 8)) & 0xFF  # unused bits are sent as 0
        return length(bits) + bytes(raw)
    if tag == 9 or tag == 10:
        raw = draw(sized_binary())
        return length(len(raw)) + raw
    if tag == 12:
        raw = draw(st.text(max_size=60)).encode("utf-8")
        return length(len(raw)) + raw
    raise AssertionError(tag)


SIMPLE_TAGS = [3, 4, 5, 6, 9, 10, 12, 13, 15, 16, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27]


@st.composite
def description_bytes(draw: st.DrawFn, depth: int = 0, top: bool = True) -> tuple[bytes, Any]:
    """A TypeDescription's bytes and a strategy for one element's contents."""
    kinds = ["simple"] + (["structure", "array"] if depth < 3 else [])
    if top:
        kinds = [k for k in kinds if k != "array"]
    kind = draw(st.sampled_from(kinds))
    if kind == "simple":
        tag = draw(st.sampled_from(SIMPLE_TAGS))
        return bytes([tag]), content(tag)
    if kind == "structure":
        members = draw(st.lists(description_bytes(depth + 1, False), min_size=1, max_size=4))
        desc = b"\x02" + length(len(members)) + b"".join(m[0] for m in members)
        return desc, st.tuples(*[m[1] for m in members]).map(b"".join)
    count = draw(st.integers(1, 3))
    edesc, element = draw(description_bytes(depth + 1, False))
    return b"\x01" + count.to_bytes(2, "big") + edesc, st.lists(element, min_size=count, max_size=count).map(b"".join)


@st.composite
def compact_array_bytes(draw: st.DrawFn) -> bytes:
    desc, element = draw(description_bytes())
    body = b"".join(draw(st.lists(element, max_size=6)))
    return b"\x13" + desc + length(len(body)) + body


simple_encodings = st.one_of(
    st.sampled_from([b"\x00", b"\xff"]),
    st.sampled_from(SIMPLE_TAGS).flatmap(lambda tag: content(tag).map(lambda c: bytes([tag]) + c)),
)


def _container(children: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.tuples(st.sampled_from([1, 2]), st.lists(children, max_size=5)).map(
        lambda t: bytes([t[0]]) + length(len(t[1])) + b"".join(t[1])
    )


canonical_encodings = st.recursive(st.one_of(simple_encodings, compact_array_bytes()), _container, max_leaves=25)


@given(canonical_encodings)
@SETTINGS
def test_encode_decode_round_trip_of_canonical_encodings(backend: str, data: bytes) -> None:
    value = axdr.decode(data)
    assert axdr.encode(value) == data
    assert axdr.decode_prefix(b"\x00" + data + b"\x00", 1)[1] == 1 + len(data)


@given(st.lists(canonical_encodings, min_size=1, max_size=4))
@settings(SETTINGS, max_examples=40)
def test_decode_prefix_walks_concatenated_values(backend: str, parts: list[bytes]) -> None:
    buf = b"".join(parts)
    pos = 0
    for part in parts:
        value, end = axdr.decode_prefix(buf, pos)
        assert end == pos + len(part)
        assert axdr.encode(value) == part
        pos = end


@given(canonical_encodings, st.data())
@SETTINGS
def test_truncations_of_canonical_encodings_fail_cleanly(backend: str, data: bytes, draw: st.DataObject) -> None:
    from dlmsmesh.errors import DecodeError

    cut = draw.draw(st.integers(0, len(data) - 1))
    with pytest.raises(DecodeError) as info:
        axdr.decode(data[:cut])
    assert info.value.layer == "data" and 0 <= info.value.offset <= cut


def test_canonical_float_bytes_helper() -> None:
    assert _not_nan32(struct.pack(">f", 1.5)) and _not_nan32(struct.pack(">f", float("inf")))
    assert not _not_nan32(bytes.fromhex("7fc00000")) and not _not_nan32(bytes.fromhex("ff800001"))
    assert length(127) == b"\x7f" and length(128) == b"\x81\x80" and length(70000) == b"\x83\x01\x11\x70"
