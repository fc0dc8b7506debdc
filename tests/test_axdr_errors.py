"""Bad input: every A-XDR decoder failure is a DecodeError at the right offset,
on both backends, and never any other exception."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dlmsmesh import _status as S
from dlmsmesh import axdr
from dlmsmesh.errors import DecodeError, DlmsError, EncodeError
from dlmsmesh.types import (
    TYPES_BY_TAG,
    ArrayDescription,
    BitString,
    CompactArray,
    LongUnsigned,
    OctetString,
    StructureDescription,
    Unsigned,
    Utf8String,
    VisibleString,
)

from .helpers import hexbytes
from .test_axdr_vectors import BY_ID, VECTORS, assert_typed_equal


def decode_error(data: bytes, **kwargs: Any) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        axdr.decode(data, **kwargs)
    err = info.value
    assert err.layer == "data"
    assert isinstance(err, DlmsError) and isinstance(err, ValueError)
    assert str(err) == f"data at offset {err.offset}: {err.reason}"
    return err


def assert_fails(hexstr: str | bytes, code: int, offset: int, **kwargs: Any) -> None:
    data = hexbytes(hexstr) if isinstance(hexstr, str) else hexstr
    err = decode_error(data, **kwargs)
    assert (err.reason, err.offset) == (S.MESSAGES[code], offset)


# --------------------------------------------------------------------------
# truncation
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("vid", "hexstr", "value"), VECTORS, ids=[v[0] for v in VECTORS])
def test_every_truncation_of_every_vector_is_a_decode_error(backend: str, vid: str, hexstr: str, value: Any) -> None:
    data = hexbytes(hexstr)
    for cut in range(len(data)):
        prefix = data[:cut]
        try:
            axdr.decode(prefix)
        except DecodeError as err:
            assert err.layer == "data"
            assert 0 <= err.offset <= cut, (cut, err)
            # a cut-off input is reported as such, wherever the cut falls
            assert err.reason in (S.MESSAGES[S.TRUNCATED], S.MESSAGES[S.TOO_MANY]), (cut, err)
        else:
            pytest.fail(f"{vid} cut to {cut} bytes decoded")
        # decode_prefix reads the same bytes and fails the same way
        with pytest.raises(DecodeError):
            axdr.decode_prefix(prefix)


def test_truncated_offsets(backend: str) -> None:
    assert_fails("", S.TRUNCATED, 0)
    assert_fails("12 03", S.TRUNCATED, 1)  # a fixed-size content points at its start
    assert_fails("19 07 E8 03", S.TRUNCATED, 1)
    assert_fails("09 05 01 02", S.TRUNCATED, 2)  # variable content: just after its length
    assert_fails("09 82 01", S.TRUNCATED, 1)  # a long length form points at its first byte
    assert_fails("04 09 FF", S.TRUNCATED, 2)  # 9 bits need 2 bytes
    assert_fails("01 02 11 01", S.TRUNCATED, 4)  # the missing element's tag
    assert_fails("01 02 11 01 12 00", S.TRUNCATED, 5)
    assert_fails("13 12 04 00 01", S.TRUNCATED, 3)  # compact-array contents length beyond the input
    assert_fails("13 01 00", S.TRUNCATED, 2)  # array description needs 2 count bytes
    assert_fails("13 02 02 12 06", S.TRUNCATED, 5)  # no contents length after the description
    assert_fails("13 02 02 12", S.TOO_MANY, 2)  # 2 members cannot fit in 1 byte


def test_huge_declared_counts_fail_at_once(backend: str) -> None:
    start = time.perf_counter()
    assert_fails("01 84 80 00 00 00", S.TOO_MANY, 1)
    assert_fails("02 84 FF FF FF FF", S.TOO_MANY, 1)
    assert_fails("01 84 7F FF FF FF 00 00 00", S.TOO_MANY, 1)
    assert_fails("01 02 01 84 80 00 00 00", S.TOO_MANY, 3)
    assert_fails("13 02 84 80 00 00 00 11", S.TOO_MANY, 2)  # structure description members
    assert_fails("09 84 FF FF FF FF", S.TRUNCATED, 6)
    assert_fails("0A 84 80 00 00 00 41", S.TRUNCATED, 6)
    assert_fails("04 84 FF FF FF FF FF", S.TRUNCATED, 6)
    assert_fails("13 12 84 FF FF FF FF 00 01", S.TRUNCATED, 7)
    assert time.perf_counter() - start < 0.5


# --------------------------------------------------------------------------
# nesting depth
# --------------------------------------------------------------------------


def nested(levels: int, kinds: bytes = b"\x01") -> bytes:
    """``levels`` containers, each holding the next; the innermost is empty."""
    out = bytearray()
    for i in range(levels):
        out += bytes([kinds[i % len(kinds)], 1 if i < levels - 1 else 0])
    return bytes(out)


def test_default_depth_limit_is_64(backend: str) -> None:
    assert axdr.DEFAULT_MAX_DEPTH == 64
    value = axdr.decode(nested(64))
    for _ in range(63):
        assert type(value) is list and len(value) == 1
        value = value[0]
    assert value == []
    assert_fails(nested(65), S.TOO_DEEP, 128)  # the 65th container's tag
    assert_fails(nested(65, b"\x02\x01"), S.TOO_DEEP, 128)
    assert_fails(nested(200), S.TOO_DEEP, 128)


def test_max_depth_keyword(backend: str) -> None:
    assert axdr.decode(nested(3), max_depth=3) == [[[]]]
    assert_fails(nested(4), S.TOO_DEEP, 6, max_depth=3)
    assert axdr.decode(nested(100), max_depth=100) is not None
    assert_fails(nested(101), S.TOO_DEEP, 200, max_depth=100)
    assert axdr.decode(hexbytes("11 05"), max_depth=0) == Unsigned(5)
    assert_fails("01 00", S.TOO_DEEP, 0, max_depth=0)
    assert axdr.decode_prefix(nested(2) + b"\x00", max_depth=2) == ([[]], 4)
    with pytest.raises(DecodeError) as info:
        axdr.decode_prefix(b"\x00" + nested(3), 1, max_depth=2)
    assert info.value.offset == 5


def test_compact_arrays_and_their_descriptions_count_as_levels(backend: str) -> None:
    a32 = BY_ID["A32"][0]
    assert axdr.decode(b"\x01\x01" + a32, max_depth=2) == [BY_ID["A32"][1]]
    assert_fails(b"\x01\x01" + a32, S.TOO_DEEP, 2, max_depth=1)
    a36 = BY_ID["A36"][0]  # compact-array > structure > array: three levels
    assert_typed_equal(axdr.decode(a36, max_depth=3), BY_ID["A36"][1])
    assert_fails(a36, S.TOO_DEEP, 4, max_depth=2)  # the inner array description
    assert_fails(a36, S.TOO_DEEP, 1, max_depth=1)


def test_deep_compact_descriptions_within_the_limit_decode(backend: str) -> None:
    # the compact-array and 63 nested one-element array descriptions: 64 levels,
    # and every content byte becomes 63 nested lists (the most output per input
    # byte the native decoder can be asked for)
    description = b"\x01\x00\x01" * 63 + b"\x11"
    contents = bytes(i % 251 for i in range(3000))
    data = b"\x13" + description + b"\x82" + len(contents).to_bytes(2, "big") + contents
    value = axdr.decode(data)
    assert type(value) is CompactArray and len(value) == len(contents)
    leaf = value[-1]
    for _ in range(63):
        assert type(leaf) is list and len(leaf) == 1
        leaf = leaf[0]
    assert leaf == Unsigned(2999 % 251)
    # one more description level is the 65th
    assert_fails(b"\x13" + b"\x01\x00\x01" * 64 + b"\x11\x01\x00", S.TOO_DEEP, 1 + 3 * 63)


@pytest.mark.parametrize("bad", [-1, 257, 10**6, 1.5, 64.0, "64", None, True])
def test_max_depth_outside_its_range_is_refused(backend: str, bad: Any) -> None:
    with pytest.raises((ValueError, TypeError)):
        axdr.decode(nested(2), max_depth=bad)
    with pytest.raises((ValueError, TypeError)):
        axdr.decode_prefix(nested(2), max_depth=bad)


def test_max_depth_ceiling_is_usable(backend: str) -> None:
    # the highest accepted limit works on both backends without exhausting a stack
    assert axdr.decode(nested(256), max_depth=256) is not None
    assert_fails(nested(257), S.TOO_DEEP, 512, max_depth=256)


# --------------------------------------------------------------------------
# tags, trailing bytes, decode_prefix
# --------------------------------------------------------------------------

UNASSIGNED = sorted(set(range(256)) - set(TYPES_BY_TAG))


def test_unassigned_tags_are_the_expected_ones() -> None:
    assert {7, 8, 11, 14} <= set(UNASSIGNED)
    assert set(range(34, 255)) <= set(UNASSIGNED)  # 28-33: the delta types
    assert len(UNASSIGNED) == 256 - 31


@pytest.mark.parametrize("tag", [7, 8, 11, 14])
def test_unknown_tags_are_rejected_at_the_tag(backend: str, tag: int) -> None:
    assert_fails(bytes([tag]), S.BAD_TAG, 0)
    assert_fails(bytes([tag, 0, 0, 0, 0]), S.BAD_TAG, 0)
    assert_fails(bytes([1, 2, 0x11, 0, tag, 0]), S.BAD_TAG, 4)
    assert_fails(bytes([2, 3, 0, 9, 1, 0xAA, tag]), S.BAD_TAG, 6)
    assert_fails(bytes([1, 1, 1, 1, tag]), S.BAD_TAG, 4)
    # in a compact-array description the same byte is not a type
    assert_fails(bytes([0x13, tag, 0]), S.BAD_DESCRIPTION, 1)


def test_every_unassigned_tag_is_rejected(backend: str) -> None:
    for tag in UNASSIGNED:
        assert_fails(bytes([tag, 1, 2, 3]), S.BAD_TAG, 0)
        assert_fails(bytes([2, 2, 0, tag]), S.BAD_TAG, 3)


@pytest.mark.parametrize(
    ("hexstr", "offset"),
    [("00 00", 1), ("11 05 00", 2), ("01 00 01 00", 2), ("09 01 AA BB", 3), ("13 12 02 00 01 00 02", 5), ("FF FF", 1)],
)
def test_trailing_bytes_are_an_error_at_the_end_of_the_value(backend: str, hexstr: str, offset: int) -> None:
    assert_fails(hexstr, S.TRAILING, offset)


def test_trailing_bytes_after_every_vector(backend: str) -> None:
    for _, hexstr, _ in VECTORS:
        data = hexbytes(hexstr)
        assert_fails(data + b"\x00", S.TRAILING, len(data))
        assert_fails(data + b"\x07\x07", S.TRAILING, len(data))


def test_decode_prefix_walks_a_buffer_of_values(backend: str) -> None:
    parts = [hexbytes(h) for _, h, _ in VECTORS]
    buf = b"".join(parts)
    pos = 0
    for (vid, _, value), part in zip(VECTORS, parts):
        got, end = axdr.decode_prefix(buf, pos)
        assert end == pos + len(part), vid
        assert_typed_equal(got, value)
        pos = end
    assert pos == len(buf)
    with pytest.raises(DecodeError) as info:
        axdr.decode_prefix(buf, pos)
    assert (info.value.reason, info.value.offset) == (S.MESSAGES[S.TRUNCATED], len(buf))


def test_decode_prefix_offsets(backend: str) -> None:
    buf = hexbytes("11 01 12 00 02 07")
    assert axdr.decode_prefix(buf) == (Unsigned(1), 2)
    assert axdr.decode_prefix(buf, 2) == (LongUnsigned(2), 5)
    with pytest.raises(DecodeError) as info:
        axdr.decode_prefix(buf, 5)
    assert (info.value.reason, info.value.offset) == (S.MESSAGES[S.BAD_TAG], 5)
    with pytest.raises(ValueError):
        axdr.decode_prefix(buf, 7)
    with pytest.raises(ValueError):
        axdr.decode_prefix(buf, -1)


# --------------------------------------------------------------------------
# strings and bit-strings
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [
        "C3 28",  # bad continuation byte
        "C0 80",  # overlong NUL
        "E0 80 80",  # overlong
        "ED A0 80",  # a surrogate
        "F4 90 80 80",  # above U+10FFFF
        "F8 88 80 80 80",  # no 5-byte forms
        "E2 82",  # ends inside a sequence
        "41 FF",
        "80",
    ],
)
def test_invalid_utf8_is_rejected(backend: str, content: str) -> None:
    raw = hexbytes(content)
    assert_fails(bytes([0x0C, len(raw)]) + raw, S.BAD_UTF8, 2)
    assert_fails(bytes([0x02, 0x02, 0x00, 0x0C, len(raw)]) + raw, S.BAD_UTF8, 5)
    # inside compact-array contents too: the offset of the string's content
    assert_fails(bytes([0x13, 0x0C, len(raw) + 1, len(raw)]) + raw, S.BAD_UTF8, 4)


def test_valid_utf8_edges_decode(backend: str) -> None:
    for text in [
        "",
        "\x00",
        "\x7f",
        "\u0080",
        "\u07ff",
        "\u0800",
        "\ud7ff",
        "\ue000",
        "\uffff",
        "\U00010000",
        "\U0010ffff",
    ]:
        raw = text.encode("utf-8")
        data = bytes([0x0C, len(raw)]) + raw
        assert_typed_equal(axdr.decode(data), Utf8String(text))
        assert axdr.encode(Utf8String(text)) == data


def test_visible_string_high_bytes_are_latin1_and_round_trip(backend: str) -> None:
    data = hexbytes("0A 05 41 80 E9 FF 00")
    value = axdr.decode(data)
    assert_typed_equal(value, VisibleString("A\x80\u00e9\u00ff\x00"))
    assert axdr.encode(value) == data
    every = bytes(range(256))
    data = hexbytes("0A 82 01 00") + every
    value = axdr.decode(data)
    assert value == every.decode("latin-1") and type(value) is VisibleString
    assert axdr.encode(value) == data


@pytest.mark.parametrize(
    ("hexstr", "bits", "canonical"),
    [
        ("04 00", "", "04 00"),
        ("04 01 80", "1", "04 01 80"),
        ("04 01 7F", "0", "04 01 00"),  # unused bits ignored
        ("04 03 FF", "111", "04 03 E0"),
        ("04 07 AB", "1010101", "04 07 AA"),
        ("04 08 A5", "10100101", "04 08 A5"),
        ("04 09 A5 FF", "101001011", "04 09 A5 80"),
        ("04 0A 40 C0", "0100000011", "04 0A 40 C0"),
        ("04 0A 40 FF", "0100000011", "04 0A 40 C0"),
        ("04 10 12 34", "0001001000110100", "04 10 12 34"),
    ],
)
def test_bit_string_lengths_and_unused_bits(backend: str, hexstr: str, bits: str, canonical: str) -> None:
    value = axdr.decode(hexbytes(hexstr))
    assert_typed_equal(value, BitString(bits))
    assert axdr.encode(value) == hexbytes(canonical)


def test_long_bit_string(backend: str) -> None:
    bits = "".join("1" if (i * 7) % 3 else "0" for i in range(1001))
    data = hexbytes("04 82 03 E9") + BitString(bits).to_bytes()
    assert len(data) == 4 + 126
    assert_typed_equal(axdr.decode(data), BitString(bits))
    assert axdr.encode(BitString(bits)) == data


# --------------------------------------------------------------------------
# compact-array
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hexstr", "offset"),
    [
        ("13 00 00", 1),  # null-data
        ("13 FF 00", 1),  # dont-care
        ("13 02 00 00", 1),  # empty structure
        ("13 01 00 00 11 00", 1),  # array of 0 elements
        ("13 02 02 11 00 00", 4),  # a null-data member
        ("13 02 02 11 02 00 00", 4),  # an empty structure member
        ("13 02 01 01 00 00 12 00", 3),  # an array member of 0 elements
        ("13 01 00 02 02 01 FF 00", 6),
    ],
)
def test_zero_size_descriptions_are_rejected(backend: str, hexstr: str, offset: int) -> None:
    assert_fails(hexstr, S.ZERO_SIZE, offset)


@pytest.mark.parametrize(
    ("hexstr", "offset"),
    [
        ("13 13 00", 1),  # a compact-array cannot describe its elements
        ("13 02 01 13 00", 3),
        ("13 07 00", 1),
        ("13 22 00", 1),  # 0x22: the first tag after the delta types (28-33)
        ("13 80 00", 1),
        ("13 01 00 01 0E 00", 4),
    ],
)
def test_invalid_descriptions_are_rejected(backend: str, hexstr: str, offset: int) -> None:
    assert_fails(hexstr, S.BAD_DESCRIPTION, offset)


@pytest.mark.parametrize(
    ("hexstr", "offset"),
    [
        ("13 12 03 00 01 00", 5),  # long-unsigned: one byte of the second
        ("13 12 01 00", 3),
        ("13 06 06 00 00 00 01 00 00", 7),
        ("13 19 0D" + " 00" * 13, 15),  # a date-time and one byte
        ("13 02 02 12 06 08 00 01 00 00 00 0A 00 02", 14),  # a row without its second member
        ("13 02 02 12 06 05 00 01 00 00 00", 8),  # the double-long-unsigned itself is cut
        ("13 09 04 05 AA BB CC", 3),  # an octet-string longer than the contents left
        ("13 09 05 02 AA BB 03 CC", 6),  # the second one has no room for its 3 bytes
        ("13 09 01 81", 3),  # its long length form is cut by the contents' end
        ("13 04 02 09 FF", 3),  # 9 bits need 2 bytes
        ("13 01 00 02 11 03 0A 0B 0C", 9),  # the second element of the array[2] is cut
    ],
)
def test_compact_contents_ending_inside_an_element(backend: str, hexstr: str, offset: int) -> None:
    assert_fails(hexstr, S.COMPACT_OVERRUN, offset)


def test_compact_contents_are_bounded_by_their_length(backend: str) -> None:
    # the bytes after the contents belong to whatever follows, never to an element
    value, end = axdr.decode_prefix(hexbytes("13 09 03 02 AA BB 11 07"))
    assert_typed_equal(value, CompactArray(OctetString, [b"\xaa\xbb"]))
    assert end == 6
    assert_fails("13 09 02 02 AA BB", S.COMPACT_OVERRUN, 3)


def test_empty_compact_array(backend: str) -> None:
    value = axdr.decode(hexbytes("13 12 00"))
    assert type(value) is CompactArray and value == [] and value.description is LongUnsigned
    assert axdr.encode(value) == hexbytes("13 12 00")


def test_compact_array_with_top_level_array_description_decodes(backend: str) -> None:
    # spec 5.3: decode it, do not emit it
    value = axdr.decode(hexbytes("13 01 00 03 12 0C 00 01 00 02 00 03 00 04 00 05 00 06"))
    assert value.description == ArrayDescription(3, LongUnsigned)
    assert_typed_equal(
        list(value),
        [[LongUnsigned(1), LongUnsigned(2), LongUnsigned(3)], [LongUnsigned(4), LongUnsigned(5), LongUnsigned(6)]],
    )
    with pytest.raises(EncodeError):
        axdr.encode(value)


# --------------------------------------------------------------------------
# encode refusals
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        5,
        [1, 2, 3],
        [Unsigned(1)] * 7 + [2],
        [(Unsigned(1), 2)] * 9,
        {"a": 1},
        {1, 2},
        object(),
        (None, 3.5, 7),
    ],
    ids=["int", "list-of-int", "mixed", "rows-with-int", "dict", "set", "object", "tuple-with-int"],
)
def test_values_without_a_cosem_type_are_encode_errors(backend: str, value: Any) -> None:
    with pytest.raises(EncodeError):
        axdr.encode(value)


def test_bare_int_error_names_the_integer_types(backend: str) -> None:
    with pytest.raises(EncodeError, match="Unsigned.*LongUnsigned"):
        axdr.encode(7)


def test_compact_array_items_must_match_the_description(backend: str) -> None:
    desc = StructureDescription((LongUnsigned, Unsigned))
    for items in ([(1,)], [(1, 2, 3)], [5], [(1, 256)], [(-1, 0)], [(1.5, 0)]):
        with pytest.raises(EncodeError):
            axdr.encode(CompactArray(desc, items))
    with pytest.raises(EncodeError):
        axdr.encode(CompactArray(StructureDescription((ArrayDescription(2, Unsigned),)), [([1],)]))


def test_nesting_deeper_than_the_limit_is_an_encode_error(backend: str) -> None:
    deep: list[Any] = []
    inner = deep
    for _ in range(64):
        inner.append([])
        inner = inner[0]
    with pytest.raises(EncodeError):
        axdr.encode(deep)
    assert axdr.encode(deep[0]) == nested(64)
