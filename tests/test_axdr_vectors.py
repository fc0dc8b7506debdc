"""Known answers: the worked examples A1-A36 of tests/vectors/axdr_examples.json
(checked against gurux-dlms and dlms-cosem) and the A-XDR length forms,
decoded and encoded on both backends.

Also home of ``typed_equal``, the comparison the other A-XDR test modules use:
equal values AND equal types, recursively, so ``Unsigned(5)`` never passes for
``LongUnsigned(5)`` and a decoded ``bytes`` never passes for ``OctetString``.
"""

from __future__ import annotations

import datetime as dt
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from dlmsmesh import axdr
from dlmsmesh.errors import DecodeError
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
    Obis,
    OctetString,
    Structure,
    StructureDescription,
    Time,
    Unsigned,
    Utf8String,
    VisibleString,
    from_json,
    natural,
    to_json,
)

from .helpers import hexbytes

VECTOR_FILE = Path(__file__).parent / "vectors" / "axdr_examples.json"


def typed_equal(a: Any, b: Any) -> bool:
    """Same type and same value, recursively.  Floats compare by their bits, so
    NaN equals the same NaN and -0.0 differs from 0.0."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float):
        return struct.pack(">d", a) == struct.pack(">d", b)
    if isinstance(a, CompactArray) and a.description != b.description:
        return False
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(typed_equal(x, y) for x, y in zip(a, b))
    return bool(a == b)


def assert_typed_equal(got: Any, want: Any) -> None:
    assert typed_equal(got, want), f"got {got!r} ({type(got).__name__}), want {want!r} ({type(want).__name__})"


def _obis(text: str) -> bytes:
    return bytes(Obis(text))


CET_STAMP = DateTime.from_fields(2024, 3, 15, 5, 12, 30, 45, 0, -60, 0)

# (id, bytes as the spec writes them, the decoded value per the axdr.py convention)
VECTORS: list[tuple[str, str, Any]] = [
    ("A1", "00", None),
    ("A2", "03 01", True),
    ("A3", "04 0A 40 C0", BitString("0100000011")),
    ("A4", "05 FF FF FF FE", DoubleLong(-2)),
    ("A5", "06 12 34 56 78", DoubleLongUnsigned(0x12345678)),
    ("A6", "09 06 00 00 01 00 00 FF", _obis("0.0.1.0.0.255")),
    # an octet-string that happens to hold a date-time (Clock.time): plain bytes
    ("A7", "09 0C 07 E8 03 0F 05 0C 1E 2D 00 FF C4 00", bytes(CET_STAMP)),
    ("A8", "0A 03 41 42 43", VisibleString("ABC")),
    ("A9", "0C 05 C3 A4 E2 82 AC", Utf8String("\u00e4\u20ac")),
    ("A10", "0D 12", Bcd(0x12)),
    ("A11", "0F FF", Integer(-1)),
    ("A12", "10 FE D4", Long(-300)),
    ("A13", "11 C8", Unsigned(200)),
    ("A14", "12 03 E8", LongUnsigned(1000)),
    ("A15", "14 FF FF FF FF FF FF FF FE", Long64(-2)),
    ("A16", "15 00 00 01 00 00 00 00 00", Long64Unsigned(2**40)),
    ("A17", "16 1E", Enum(30)),
    ("A18", "17 3F C0 00 00", Float32(1.5)),
    ("A19", "18 BF B9 99 99 99 99 99 9A", -0.1),
    ("A20", "19 07 E8 03 0F 05 0C 1E 2D 00 FF C4 00", CET_STAMP),
    ("A21", "19 07 E8 07 01 01 08 00 00 00 FF 88 80", DateTime.from_fields(2024, 7, 1, 1, 8, 0, 0, 0, -120, 0x80)),
    ("A22", "19 FF FF 03 0F FF 0C 1E 2D FF 80 00 FF", DateTime.from_fields(None, 3, 15, None, 12, 30, 45)),
    ("A23", "1A 07 E8 03 0F 05", Date.from_fields(2024, 3, 15, 5)),
    ("A24", "1B 17 3B 3A FF", Time.from_fields(23, 59, 58, None)),
    ("A25", "FF", DontCare()),
    ("A26", "01 03 12 00 01 12 00 02 12 00 03", [LongUnsigned(1), LongUnsigned(2), LongUnsigned(3)]),
    ("A27", "02 02 0F FD 16 1E", (Integer(-3), Enum(30))),
    (
        "A28",
        "01 02 02 04 12 00 08 09 06 00 00 01 00 00 FF 0F 02 12 00 00"
        " 02 04 12 00 03 09 06 01 00 01 08 00 FF 0F 02 12 00 00",
        [
            (LongUnsigned(8), _obis("0.0.1.0.0.255"), Integer(2), LongUnsigned(0)),
            (LongUnsigned(3), _obis("1.0.1.8.0.255"), Integer(2), LongUnsigned(0)),
        ],
    ),
    # A29-A31: the spec shows the header; the full value is built here
    ("A29", "09 81 C8" + " 00" * 200, bytes(200)),
    ("A30", "09 82 01 2C " + bytes(range(256)).hex() + bytes(range(44)).hex(), bytes(range(256)) + bytes(range(44))),
    ("A31", "01 81 82 " + "".join(f"11{i:02x}" for i in range(130)), [Unsigned(i) for i in range(130)]),
    (
        "A32",
        "13 12 06 00 01 00 02 00 03",
        CompactArray(LongUnsigned, [LongUnsigned(1), LongUnsigned(2), LongUnsigned(3)]),
    ),
    (
        "A33",
        "13 02 02 12 06 0C 00 01 00 00 00 0A 00 02 00 00 00 14",
        CompactArray(
            StructureDescription((LongUnsigned, DoubleLongUnsigned)),
            [(LongUnsigned(1), DoubleLongUnsigned(10)), (LongUnsigned(2), DoubleLongUnsigned(20))],
        ),
    ),
    ("A34", "13 09 08 03 AA BB CC 03 01 02 03", CompactArray(OctetString, [b"\xaa\xbb\xcc", b"\x01\x02\x03"])),
    (
        "A35",
        "13 02 03 12 09 16 0A 00 01 02 AA BB 1E 00 02 00 1B",
        CompactArray(
            StructureDescription((LongUnsigned, OctetString, Enum)),
            [(LongUnsigned(1), b"\xaa\xbb", Enum(30)), (LongUnsigned(2), b"", Enum(27))],
        ),
    ),
    (
        "A36",
        "13 02 02 12 01 00 02 11 08 00 01 0A 0B 00 02 0C 0D",
        CompactArray(
            StructureDescription((LongUnsigned, ArrayDescription(2, Unsigned))),
            [(LongUnsigned(1), [Unsigned(10), Unsigned(11)]), (LongUnsigned(2), [Unsigned(12), Unsigned(13)])],
        ),
    ),
]

VECTOR_IDS = [v[0] for v in VECTORS]
BY_ID = {v[0]: (hexbytes(v[1]), v[2]) for v in VECTORS}


def test_every_worked_example_is_covered() -> None:
    assert VECTOR_IDS == [f"A{i}" for i in range(1, 37)]


@pytest.mark.parametrize(("vid", "hexstr", "value"), VECTORS, ids=VECTOR_IDS)
def test_decode_example(backend: str, vid: str, hexstr: str, value: Any) -> None:
    assert_typed_equal(axdr.decode(hexbytes(hexstr)), value)


@pytest.mark.parametrize(("vid", "hexstr", "value"), VECTORS, ids=VECTOR_IDS)
def test_encode_example(backend: str, vid: str, hexstr: str, value: Any) -> None:
    assert axdr.encode(value) == hexbytes(hexstr)


@pytest.mark.parametrize(("vid", "hexstr", "value"), VECTORS, ids=VECTOR_IDS)
def test_decode_prefix_example_inside_a_buffer(backend: str, vid: str, hexstr: str, value: Any) -> None:
    data = hexbytes(hexstr)
    buf = b"\x07\x07\x07" + data + b"\x07"  # tag 7 is unassigned: reading past the value would fail
    got, end = axdr.decode_prefix(buf, 3)
    assert end == 3 + len(data)
    assert_typed_equal(got, value)
    assert axdr.decode(bytearray(data)) == value
    assert axdr.decode(memoryview(buf)[3 : 3 + len(data)]) == value


# The same examples written with the typed classes (and plain values with a
# natural type) a caller builds by hand: they encode to the same bytes.
USER_FORMS: list[tuple[str, Any]] = [
    ("A1", NullData()),
    ("A2", Boolean(True)),
    ("A6", Obis("0.0.1.0.0.255")),
    ("A6", OctetString(_obis("0.0.1.0.0.255"))),
    ("A7", OctetString(bytes(CET_STAMP))),
    ("A8", "ABC"),
    ("A9", "\u00e4\u20ac"),
    ("A19", Float64(-0.1)),
    ("A20", DateTime.from_datetime(dt.datetime(2024, 3, 15, 12, 30, 45, tzinfo=dt.timezone(dt.timedelta(hours=1))))),
    ("A23", dt.date(2024, 3, 15)),
    ("A26", Array([LongUnsigned(1), LongUnsigned(2), LongUnsigned(3)])),
    ("A27", Structure((Integer(-3), Enum(30)))),
    (
        "A28",
        Array(
            [
                Structure((LongUnsigned(8), Obis("0.0.1.0.0.255"), Integer(2), LongUnsigned(0))),
                Structure((LongUnsigned(3), Obis("1-0:1.8.0*255"), Integer(2), LongUnsigned(0))),
            ]
        ),
    ),
    ("A29", OctetString(bytes(200))),
    ("A29", bytearray(200)),
    ("A31", Array(Unsigned(i) for i in range(130))),
    # compact-array items given plain: the description types them
    ("A32", CompactArray(LongUnsigned, [1, 2, 3])),
    ("A33", CompactArray(StructureDescription((LongUnsigned, DoubleLongUnsigned)), [(1, 10), (2, 20)])),
    (
        "A35",
        CompactArray(StructureDescription([LongUnsigned, OctetString, Enum]), [(1, b"\xaa\xbb", 30), (2, b"", 27)]),
    ),
    (
        "A36",
        CompactArray(
            StructureDescription((LongUnsigned, ArrayDescription(2, Unsigned))), [(1, [10, 11]), (2, [12, 13])]
        ),
    ),
]


@pytest.mark.parametrize(("vid", "value"), USER_FORMS, ids=[f[0] for f in USER_FORMS])
def test_encode_example_from_user_form(backend: str, vid: str, value: Any) -> None:
    data, decoded = BY_ID[vid]
    assert axdr.encode(value) == data
    # and the hand-built value (as the encoder reads it) equals what decoding gives
    assert natural(value) == decoded


def test_spec_headers_of_the_long_examples() -> None:
    assert BY_ID["A29"][0].startswith(hexbytes("09 81 C8 00 00"))
    assert BY_ID["A30"][0].startswith(hexbytes("09 82 01 2C"))
    assert BY_ID["A31"][0].startswith(hexbytes("01 81 82 11 00"))
    assert len(BY_ID["A29"][0]) == 3 + 200
    assert len(BY_ID["A30"][0]) == 4 + 300
    assert len(BY_ID["A31"][0]) == 3 + 2 * 130


def test_a7_payload_is_the_a20_date_time(backend: str) -> None:
    raw = axdr.decode(BY_ID["A7"][0])
    assert type(raw) is bytes and len(raw) == 12
    stamp = DateTime(raw)
    assert stamp == axdr.decode(BY_ID["A20"][0])
    assert stamp.to_datetime() == dt.datetime(2024, 3, 15, 12, 30, 45, tzinfo=dt.timezone(dt.timedelta(hours=1)))


def test_a20_a21_a22_fields(backend: str) -> None:
    a20 = axdr.decode(BY_ID["A20"][0])
    assert (a20.year, a20.month, a20.day, a20.day_of_week) == (2024, 3, 15, 5)
    assert (a20.hour, a20.minute, a20.second, a20.hundredths) == (12, 30, 45, 0)
    assert a20.deviation == -60 and a20.clock_status == 0
    a21 = axdr.decode(BY_ID["A21"][0])
    assert a21.deviation == -120
    assert a21.clock_status is not None and a21.clock_status.DAYLIGHT_SAVING_ACTIVE in a21.clock_status
    assert a21.to_datetime().astimezone(dt.timezone.utc) == dt.datetime(2024, 7, 1, 6, 0, tzinfo=dt.timezone.utc)
    a22 = axdr.decode(BY_ID["A22"][0])
    assert (a22.year, a22.day_of_week, a22.hundredths, a22.deviation, a22.clock_status) == (None,) * 5
    assert (a22.month, a22.day, a22.hour, a22.minute, a22.second) == (3, 15, 12, 30, 45)


# --------------------------------------------------------------------------
# the shared vector file (also read by the command-line tests)
# --------------------------------------------------------------------------


def _load_vector_file() -> list[dict[str, Any]]:
    return json.loads(VECTOR_FILE.read_text(encoding="utf-8"))  # type: ignore[no-any-return]


def test_vector_file_matches_the_table() -> None:
    entries = _load_vector_file()
    assert [e["id"] for e in entries] == VECTOR_IDS
    for e in entries:
        assert bytes.fromhex(e["hex"]) == BY_ID[e["id"]][0], e["id"]


@pytest.mark.parametrize("entry", _load_vector_file(), ids=lambda e: e["id"])
def test_vector_file_json_forms(backend: str, entry: dict[str, Any]) -> None:
    data = bytes.fromhex(entry["hex"])
    assert to_json(axdr.decode(data)) == entry["json"]
    assert axdr.encode(from_json(entry["json"])) == data
    # the JSON object survives a trip through text
    assert from_json(json.loads(json.dumps(entry["json"]))) == BY_ID[entry["id"]][1]


# --------------------------------------------------------------------------
# section 2: length forms
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("hexstr", "size"),
    [("09 81 C8", 200), ("09 82 01 2C", 300), ("09 83 01 11 70", 70000), ("09 84 00 01 11 70", 70000)],
)
def test_long_length_forms_decode(backend: str, hexstr: str, size: int) -> None:
    body = bytes(range(256)) * (size // 256) + bytes(range(size % 256))
    assert axdr.decode(hexbytes(hexstr) + body) == body


def test_encode_uses_the_shortest_length_form(backend: str) -> None:
    for size, header in [
        (0, "09 00"),
        (127, "09 7F"),
        (128, "09 81 80"),
        (255, "09 81 FF"),
        (256, "09 82 01 00"),
        (65535, "09 82 FF FF"),
        (65536, "09 83 01 00 00"),
        (70000, "09 83 01 11 70"),
    ]:
        assert axdr.encode(bytes(size)) == hexbytes(header) + bytes(size), size


def test_encode_uses_the_84_form_above_2_24(backend: str) -> None:
    size = 1 << 24
    assert axdr.encode(bytes(size))[:6] == hexbytes("09 84 01 00 00 00")


def test_element_counts_use_the_same_forms(backend: str) -> None:
    n = 70000
    gurux = hexbytes("01 84 00 01 11 70") + b"\x00" * n  # what Gurux emits
    decoded = axdr.decode(gurux)
    assert type(decoded) is list and len(decoded) == n and decoded[0] is None and decoded[-1] is None
    assert axdr.encode(decoded) == hexbytes("01 83 01 11 70") + b"\x00" * n
    rows = [Unsigned(i % 256) for i in range(300)]
    assert axdr.encode(rows)[:4] == hexbytes("01 82 01 2C")
    assert axdr.encode(tuple(rows))[:4] == hexbytes("02 82 01 2C")


NON_MINIMAL: list[tuple[str, str, Any]] = [
    ("09 81 05 01 02 03 04 05", "09 05 01 02 03 04 05", b"\x01\x02\x03\x04\x05"),
    ("09 82 00 05 01 02 03 04 05", "09 05 01 02 03 04 05", b"\x01\x02\x03\x04\x05"),
    ("09 83 00 00 05 01 02 03 04 05", "09 05 01 02 03 04 05", b"\x01\x02\x03\x04\x05"),
    ("09 84 00 00 00 05 01 02 03 04 05", "09 05 01 02 03 04 05", b"\x01\x02\x03\x04\x05"),
    ("09 81 00", "09 00", b""),
    ("09 82 00 C8" + " 00" * 200, "09 81 C8" + " 00" * 200, bytes(200)),
    ("0A 81 03 41 42 43", "0A 03 41 42 43", VisibleString("ABC")),
    ("0C 82 00 05 C3 A4 E2 82 AC", "0C 05 C3 A4 E2 82 AC", Utf8String("\u00e4\u20ac")),
    ("04 81 0A 40 C0", "04 0A 40 C0", BitString("0100000011")),
    ("01 81 02 11 01 11 02", "01 02 11 01 11 02", [Unsigned(1), Unsigned(2)]),
    ("02 84 00 00 00 02 11 01 11 02", "02 02 11 01 11 02", (Unsigned(1), Unsigned(2))),
    ("13 12 81 06 00 01 00 02 00 03", "13 12 06 00 01 00 02 00 03", BY_ID["A32"][1]),
    (
        "13 02 82 00 02 12 06 0C 00 01 00 00 00 0A 00 02 00 00 00 14",
        "13 02 02 12 06 0C 00 01 00 00 00 0A 00 02 00 00 00 14",
        BY_ID["A33"][1],
    ),
    ("13 09 09 81 03 AA BB CC 03 01 02 03", "13 09 08 03 AA BB CC 03 01 02 03", BY_ID["A34"][1]),
]


@pytest.mark.parametrize(("lenient", "canonical", "value"), NON_MINIMAL, ids=[n[0][:14] for n in NON_MINIMAL])
def test_non_minimal_length_forms_are_accepted(backend: str, lenient: str, canonical: str, value: Any) -> None:
    got = axdr.decode(hexbytes(lenient))
    assert_typed_equal(got, value)
    assert axdr.encode(got) == hexbytes(canonical)


# (input, offset of the bad length byte)
BAD_LENGTH_FORMS: list[tuple[str, int]] = [
    ("09 80", 1),
    ("09 80 00", 1),
    ("09 85 00 00 00 00 01 AA", 1),
    ("0A 80", 1),
    ("0C 85 00 00 00 00 00", 1),
    ("04 80 00", 1),
    ("01 80", 1),
    ("02 85 00 00 00 00 00", 1),
    ("01 02 11 00 09 80 00", 5),
    ("02 01 01 01 0A 85 00 00 00 00 03", 5),
    ("13 12 80", 2),  # compact-array contents length
    ("13 02 85 00 00 00 00 01 11 00", 2),  # structure description member count
    ("13 09 04 80 AA BB CC", 3),  # octet-string length inside the contents
]


@pytest.mark.parametrize(("hexstr", "offset"), BAD_LENGTH_FORMS)
def test_80_and_85_length_forms_are_rejected(backend: str, hexstr: str, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        axdr.decode(hexbytes(hexstr))
    assert info.value.layer == "data"
    assert info.value.offset == offset
    assert info.value.reason == "invalid length form"


@pytest.mark.parametrize("first", range(0x85, 0x100))
def test_every_length_byte_above_84_is_rejected(backend: str, first: int) -> None:
    with pytest.raises(DecodeError) as info:
        axdr.decode(bytes([0x09, first]) + bytes(8))
    assert (info.value.offset, info.value.reason) == (1, "invalid length form")
