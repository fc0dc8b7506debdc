"""The COSEM data type classes of dlmsmesh.types: validation, equality with
plain values, repr, date/time helpers, OBIS codes, natural() and the JSON
contract of docs/json.md (``data``)."""

from __future__ import annotations

import datetime as dt
import json
import math
import pickle
from typing import Any

import pytest

from dlmsmesh import types as T
from dlmsmesh.errors import EncodeError
from dlmsmesh.types import (
    Array,
    ArrayDescription,
    Bcd,
    BitString,
    Boolean,
    ClockStatus,
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
    describe,
    from_json,
    natural,
    to_json,
)

try:
    from zoneinfo import ZoneInfo

    BERLIN: dt.tzinfo | None = ZoneInfo("Europe/Berlin")
except Exception:  # no tz database on this machine
    BERLIN = None

needs_tzdata = pytest.mark.skipif(BERLIN is None, reason="no IANA time zone database")

CET = dt.timezone(dt.timedelta(hours=1))
CEST = dt.timezone(dt.timedelta(hours=2))

# --------------------------------------------------------------------------
# names and tags
# --------------------------------------------------------------------------

EXPECTED_TAGS = {
    "NullData": (0, "null-data"),
    "Array": (1, "array"),
    "Structure": (2, "structure"),
    "Boolean": (3, "boolean"),
    "BitString": (4, "bit-string"),
    "DoubleLong": (5, "double-long"),
    "DoubleLongUnsigned": (6, "double-long-unsigned"),
    "OctetString": (9, "octet-string"),
    "VisibleString": (10, "visible-string"),
    "Utf8String": (12, "utf8-string"),
    "Bcd": (13, "bcd"),
    "Integer": (15, "integer"),
    "Long": (16, "long"),
    "Unsigned": (17, "unsigned"),
    "LongUnsigned": (18, "long-unsigned"),
    "CompactArray": (19, "compact-array"),
    "Long64": (20, "long64"),
    "Long64Unsigned": (21, "long64-unsigned"),
    "Enum": (22, "enum"),
    "Float32": (23, "float32"),
    "Float64": (24, "float64"),
    "DateTime": (25, "date-time"),
    "Date": (26, "date"),
    "Time": (27, "time"),
    "DeltaInteger": (28, "delta-integer"),
    "DeltaLong": (29, "delta-long"),
    "DeltaDoubleLong": (30, "delta-double-long"),
    "DeltaUnsigned": (31, "delta-unsigned"),
    "DeltaLongUnsigned": (32, "delta-long-unsigned"),
    "DeltaDoubleLongUnsigned": (33, "delta-double-long-unsigned"),
    "DontCare": (255, "dont-care"),
}


def test_one_class_per_data_type_with_its_tag_and_asn1_name() -> None:
    for cls_name, (tag, name) in EXPECTED_TAGS.items():
        cls = getattr(T, cls_name)
        assert (cls.TAG, cls.NAME) == (tag, name), cls_name
        assert T.TYPES_BY_TAG[tag] is cls
        assert T.TYPES_BY_NAME[name] is cls
        assert T.DataType(tag).asn1_name == name
    assert len(T.TYPES_BY_TAG) == len(EXPECTED_TAGS)


# --------------------------------------------------------------------------
# integers
# --------------------------------------------------------------------------

INT_RANGES = [
    (Integer, -128, 127),
    (Long, -32768, 32767),
    (DoubleLong, -(2**31), 2**31 - 1),
    (Long64, -(2**63), 2**63 - 1),
    (Unsigned, 0, 255),
    (LongUnsigned, 0, 65535),
    (DoubleLongUnsigned, 0, 2**32 - 1),
    (Long64Unsigned, 0, 2**64 - 1),
    (Enum, 0, 255),
    (Bcd, 0, 255),
    (Boolean, 0, 1),
]


@pytest.mark.parametrize(("cls", "lo", "hi"), INT_RANGES, ids=[c[0].__name__ for c in INT_RANGES])
def test_integer_ranges(cls: Any, lo: int, hi: int) -> None:
    assert (cls.MIN, cls.MAX) == (lo, hi)
    for good in (lo, hi, (lo + hi) // 2):
        v = cls(good)
        assert type(v) is cls and v == good and int(v) == good
    for bad in (lo - 1, hi + 1, lo - 2**70, hi + 2**70):
        with pytest.raises(ValueError, match=f"{cls.__name__} must be in {lo}..{hi}"):
            cls(bad)


@pytest.mark.parametrize("cls", [c[0] for c in INT_RANGES], ids=[c[0].__name__ for c in INT_RANGES])
@pytest.mark.parametrize("bad", [1.0, 1.5, float("nan"), float("inf"), "1", "abc", b"1", None, [1]])
def test_integers_refuse_floats_and_text(cls: Any, bad: Any) -> None:
    with pytest.raises(TypeError, match=f"{cls.__name__} takes an integer"):
        cls(bad)


def test_integers_accept_index_objects_and_other_int_types() -> None:
    class Idx:
        def __index__(self) -> int:
            return 7

    assert Unsigned(Idx()) == 7 and type(Unsigned(Idx())) is Unsigned
    assert LongUnsigned(Unsigned(200)) == 200 and type(LongUnsigned(Unsigned(200))) is LongUnsigned
    assert Unsigned(True) == 1
    assert Unsigned() == 0


def test_integers_equal_plain_ints_and_keep_their_type() -> None:
    assert DoubleLongUnsigned(5) == 5 and hash(DoubleLongUnsigned(5)) == hash(5)
    assert {Unsigned(3): "x"}[3] == "x"
    assert Unsigned(5) == LongUnsigned(5)  # plain int equality: the type is not part of ==
    assert repr(Unsigned(5)) == "Unsigned(5)"
    assert repr(Long64(-2)) == "Long64(-2)"
    assert str(Enum(30)) == "Enum(30)"
    assert pickle.loads(pickle.dumps(Long64Unsigned(2**64 - 1))) == 2**64 - 1
    assert type(pickle.loads(pickle.dumps(Integer(-3)))) is Integer


def test_boolean() -> None:
    assert Boolean(True) == True  # noqa: E712
    assert Boolean(False) == False  # noqa: E712
    assert Boolean(1) is not True and Boolean(1) == 1
    assert bool(Boolean(1)) is True and bool(Boolean(0)) is False
    assert repr(Boolean(True)) == "Boolean(True)" and repr(Boolean(0)) == "Boolean(False)"
    with pytest.raises(ValueError):
        Boolean(2)
    with pytest.raises(TypeError):
        Boolean("true")


def test_null_data_and_dont_care() -> None:
    assert NullData() == None  # noqa: E711
    assert DontCare() == None  # noqa: E711
    assert NullData() is NullData() and DontCare() is DontCare()
    assert NullData() != DontCare()
    assert not NullData() and not DontCare()
    assert hash(NullData()) == hash(None)
    assert repr(NullData()) == "NullData()" and repr(DontCare()) == "DontCare()"
    assert pickle.loads(pickle.dumps(DontCare())) is DontCare()
    assert NullData() != 0 and NullData() != ""


# --------------------------------------------------------------------------
# floats
# --------------------------------------------------------------------------


def test_float32_exactness() -> None:
    for good in (1.5, -0.0, 0.0, 2.0**-149, 3.4028234663852886e38, float("inf"), -float("inf"), 16777216.0):
        v = Float32(good)
        assert type(v) is Float32 and (v == good or math.isnan(good))
    assert math.isnan(Float32(float("nan")))
    for bad in (0.1, 1e300, 16777217.0, 2.0**-150, 3.4028236e38):
        with pytest.raises(ValueError, match="float32"):
            Float32(bad)
    assert Float32(3) == 3.0 and type(Float32(3)) is Float32
    assert repr(Float32(1.5)) == "Float32(1.5)"


@pytest.mark.parametrize("cls", [Float32, Float64])
@pytest.mark.parametrize("bad", ["1.5", "abc", b"1", bytearray(b"1")])
def test_floats_refuse_text(cls: Any, bad: Any) -> None:
    with pytest.raises(TypeError, match=f"{cls.__name__} takes a number"):
        cls(bad)


def test_float64() -> None:
    assert Float64(0.1) == 0.1 and type(Float64(0.1)) is Float64
    assert repr(Float64(-0.1)) == "Float64(-0.1)"
    with pytest.raises(TypeError):
        Float64(None)


# --------------------------------------------------------------------------
# strings
# --------------------------------------------------------------------------


def test_octet_string() -> None:
    v = OctetString(b"\x01\xab")
    assert v == b"\x01\xab" and type(v) is OctetString
    assert repr(v) == "OctetString('01ab')" and repr(OctetString(b"")) == "OctetString(b'')"
    assert OctetString.fromhex("01AB") == v and type(OctetString.fromhex("01")) is OctetString
    assert OctetString(bytearray(b"ab")) == b"ab"
    for bad in ("ab", 5):
        with pytest.raises(TypeError):
            OctetString(bad)


def test_visible_and_utf8_strings() -> None:
    assert VisibleString("ABC") == "ABC" and repr(VisibleString("ABC")) == "VisibleString('ABC')"
    assert VisibleString("caf\u00e9\xff") == "caf\u00e9\xff"  # one octet per character
    with pytest.raises(ValueError):
        VisibleString("\u20ac")
    with pytest.raises(TypeError):
        VisibleString(b"ABC")
    assert Utf8String("\u00e4\u20ac") == "\u00e4\u20ac" and repr(Utf8String("x")) == "Utf8String('x')"
    with pytest.raises(ValueError):
        Utf8String("\ud800")
    with pytest.raises(TypeError):
        Utf8String(5)


def test_bit_string() -> None:
    b = BitString("0100000011")
    assert b == "0100000011" and repr(b) == "BitString('0100000011')"
    assert b.to_bytes() == b"\x40\xc0"
    assert BitString("").to_bytes() == b""
    assert BitString("1").to_bytes() == b"\x80"
    assert BitString.from_bytes(b"\x40\xc0", 10) == b
    assert BitString.from_bytes(b"\x40\xff", 10) == b  # unused bits ignored
    assert BitString.from_bytes(b"\xa5") == "10100101"
    assert type(BitString.from_bytes(b"\x00", 3)) is BitString
    with pytest.raises(ValueError):
        BitString.from_bytes(b"\x00", 9)
    with pytest.raises(ValueError):
        BitString("0120")
    with pytest.raises(TypeError):
        BitString(b"01")


# --------------------------------------------------------------------------
# date-time, date, time
# --------------------------------------------------------------------------


@pytest.mark.parametrize(("cls", "size"), [(DateTime, 12), (Date, 5), (Time, 4)])
def test_fixed_lengths(cls: Any, size: int) -> None:
    assert cls.SIZE == size
    v = cls(bytes(range(size)))
    assert type(v) is cls and v == bytes(range(size))
    assert repr(v) == f"{cls.__name__}({bytes(range(size)).hex()!r})"
    assert cls.fromhex(bytes(size).hex()) == bytes(size)
    for n in (0, size - 1, size + 1):
        with pytest.raises(ValueError, match=f"{size} bytes"):
            cls(bytes(n))
    for bad in ("x" * size, size):
        with pytest.raises(TypeError):
            cls(bad)


A20 = bytes.fromhex("07E8030F050C1E2D00FFC400")
A21 = bytes.fromhex("07E807010108000000FF8880")
A22 = bytes.fromhex("FFFF030FFF0C1E2DFF8000FF")


def test_date_time_from_fields_gives_the_spec_examples() -> None:
    assert DateTime.from_fields(2024, 3, 15, 5, 12, 30, 45, 0, -60, 0) == A20
    assert DateTime.from_fields(2024, 7, 1, 1, 8, 0, 0, 0, -120, 0x80) == A21
    assert DateTime.from_fields(None, 3, 15, None, 12, 30, 45, None, None, None) == A22
    assert DateTime.from_fields() == bytes.fromhex("FFFFFFFFFFFFFFFFFF8000FF")
    assert type(DateTime.from_fields()) is DateTime


@pytest.mark.parametrize(
    "fields",
    [
        {"month": 13},
        {"month": 0},
        {"day": 32},
        {"day": 0},
        {"day_of_week": 8},
        {"day_of_week": 0},
        {"hour": 24},
        {"minute": 60},
        {"second": 60},
        {"hundredths": 100},
        {"deviation": 721},
        {"deviation": -721},
        {"year": 65536},
        {"year": -1},
        {"clock_status": 256},
    ],
)
def test_date_time_field_ranges(fields: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        DateTime.from_fields(**fields)


def test_date_time_special_values() -> None:
    v = DateTime.from_fields(2024, T.DST_BEGIN_MONTH, T.LAST_DAY, 7, 2, 0, 0, 0)
    assert v.month == 0xFE and v.day == 0xFE and v.day_of_week == 7
    assert DateTime.from_fields(month=T.DST_END_MONTH, day=T.SECOND_LAST_DAY).hex()[4:8] == "fdfd"
    with pytest.raises(ValueError, match="pattern"):
        v.to_datetime()


def test_date_time_fields_of_the_spec_examples() -> None:
    a20 = DateTime(A20)
    assert (a20.year, a20.month, a20.day, a20.day_of_week) == (2024, 3, 15, 5)
    assert (a20.hour, a20.minute, a20.second, a20.hundredths) == (12, 30, 45, 0)
    assert a20.deviation == -60 and a20.clock_status == ClockStatus(0)
    assert a20.date == bytes.fromhex("07E8030F05") and type(a20.date) is Date
    assert a20.time == bytes.fromhex("0C1E2D00") and type(a20.time) is Time
    a21 = DateTime(A21)
    assert a21.deviation == -120
    assert a21.clock_status == ClockStatus.DAYLIGHT_SAVING_ACTIVE
    a22 = DateTime(A22)
    assert (a22.year, a22.day_of_week, a22.hundredths, a22.deviation, a22.clock_status) == (None,) * 5


def test_to_datetime_uses_the_standard_deviation_sign() -> None:
    assert DateTime(A20).to_datetime() == dt.datetime(2024, 3, 15, 12, 30, 45, tzinfo=CET)
    assert DateTime(A20).to_datetime().utcoffset() == dt.timedelta(hours=1)
    assert DateTime(A21).to_datetime() == dt.datetime(2024, 7, 1, 8, 0, tzinfo=CEST)
    assert DateTime(A21).to_datetime().astimezone(dt.timezone.utc) == dt.datetime(2024, 7, 1, 6, tzinfo=dt.timezone.utc)
    # meters using the opposite sign are read with standard_sign=False
    assert DateTime(A20).to_datetime(standard_sign=False).utcoffset() == dt.timedelta(hours=-1)
    utc_minus_5 = DateTime.from_fields(2024, 1, 1, None, 0, 0, 0, 0, 300, 0)
    assert utc_minus_5.to_datetime().utcoffset() == dt.timedelta(hours=-5)


def test_to_datetime_naive_without_deviation_and_hundredths() -> None:
    v = DateTime.from_fields(2024, 3, 15, None, 12, 30, 45, 12, None, None)
    assert v.to_datetime() == dt.datetime(2024, 3, 15, 12, 30, 45, 120000)
    assert v.to_datetime().tzinfo is None
    assert DateTime.from_fields(2024, 3, 15, None, 12, 30, 45).to_datetime().microsecond == 0


@pytest.mark.parametrize("missing", ["year", "month", "day", "hour", "minute", "second"])
def test_to_datetime_refuses_unspecified_fields(missing: str) -> None:
    fields: dict[str, Any] = {"year": 2024, "month": 3, "day": 15, "hour": 1, "minute": 2, "second": 3}
    fields[missing] = None
    with pytest.raises(ValueError, match=missing):
        DateTime.from_fields(**fields).to_datetime()


def test_to_datetime_refuses_the_wildcard_example() -> None:
    with pytest.raises(ValueError):
        DateTime(A22).to_datetime()


def test_from_datetime_fixed_offsets() -> None:
    assert DateTime.from_datetime(dt.datetime(2024, 3, 15, 12, 30, 45, tzinfo=CET)) == A20
    assert DateTime.from_datetime(dt.datetime(2024, 7, 1, 8, tzinfo=CEST), clock_status=0x80) == A21
    # fixed offsets have no dst(): the DST bit stays clear unless asked for
    assert DateTime.from_datetime(dt.datetime(2024, 7, 1, 8, tzinfo=CEST)).clock_status == 0
    utc5 = DateTime.from_datetime(dt.datetime(2024, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=-5))))
    assert utc5.deviation == 300 and utc5[9:11] == b"\x01\x2c"
    assert DateTime.from_datetime(dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)).deviation == 0


def test_from_datetime_opposite_sign_option() -> None:
    v = DateTime.from_datetime(dt.datetime(2024, 3, 15, 12, 30, 45, tzinfo=CET), standard_sign=False)
    assert v.deviation == 60 and v[9:11] == b"\x00\x3c"
    assert v.to_datetime(standard_sign=False) == dt.datetime(2024, 3, 15, 12, 30, 45, tzinfo=CET)


def test_from_datetime_naive_and_options() -> None:
    v = DateTime.from_datetime(dt.datetime(2024, 3, 15, 12, 30, 45, 990000))
    assert v.deviation is None and v.hundredths == 99 and v.day_of_week == 5 and v.clock_status == 0
    assert v[9:11] == b"\x80\x00"
    assert DateTime.from_datetime(dt.datetime(2024, 3, 15), day_of_week=False).day_of_week is None
    assert (
        DateTime.from_datetime(dt.datetime(2024, 3, 15), clock_status=0x02).clock_status == ClockStatus.DOUBTFUL_VALUE
    )


@needs_tzdata
def test_from_datetime_with_a_dst_zone() -> None:
    winter = dt.datetime(2024, 3, 15, 12, 30, 45, tzinfo=BERLIN)
    summer = dt.datetime(2024, 7, 1, 8, 0, tzinfo=BERLIN)
    assert DateTime.from_datetime(winter) == A20  # CET: -60, DST bit clear
    assert DateTime.from_datetime(summer) == A21  # CEST: -120, DST bit from dt.dst()
    assert DateTime.from_datetime(summer).to_datetime() == summer
    assert DateTime.from_datetime(summer, clock_status=0).clock_status == 0


def test_date_helpers() -> None:
    d = Date.from_date(dt.date(2024, 3, 15))
    assert d == bytes.fromhex("07E8030F05") and type(d) is Date
    assert (d.year, d.month, d.day, d.day_of_week) == (2024, 3, 15, 5)
    assert d.to_date() == dt.date(2024, 3, 15)
    assert Date.from_date(dt.date(2024, 3, 15), day_of_week=False) == bytes.fromhex("07E8030FFF")
    assert Date.from_fields() == b"\xff" * 5
    w = Date.from_fields(None, 10, T.LAST_DAY, 7)  # last Sunday of October, any year
    assert w.year is None and w.day == 0xFE
    with pytest.raises(ValueError):
        w.to_date()
    with pytest.raises(ValueError):
        Date.from_fields(2024, 13)


def test_time_helpers() -> None:
    t = Time.from_fields(23, 59, 58, None)
    assert t == bytes.fromhex("173B3AFF") and type(t) is Time
    assert (t.hour, t.minute, t.second, t.hundredths) == (23, 59, 58, None)
    assert t.to_time() == dt.time(23, 59, 58)
    assert Time.from_time(dt.time(1, 2, 3, 459999)) == bytes.fromhex("0102032D")  # 45 hundredths
    assert Time.from_fields(1, 2, 3, 45).to_time() == dt.time(1, 2, 3, 450000)
    with pytest.raises(ValueError):
        Time.from_fields(None, 0, 0).to_time()
    with pytest.raises(ValueError):
        Time.from_fields(24)


# --------------------------------------------------------------------------
# containers
# --------------------------------------------------------------------------


def test_array_and_structure_equal_lists_and_tuples() -> None:
    a = Array([Unsigned(1), Unsigned(2)])
    assert a == [1, 2] and type(a) is Array
    assert repr(a) == "Array([Unsigned(1), Unsigned(2)])"
    s = Structure((Integer(-3), Enum(30)))
    assert s == (-3, 30) and type(s) is Structure
    assert repr(s) == "Structure((Integer(-3), Enum(30)))"
    assert Structure([1, 2]) == (1, 2)
    assert Array([]) == [] and Structure() == ()


def test_compact_array() -> None:
    desc = StructureDescription((LongUnsigned, DoubleLongUnsigned))
    c = CompactArray(desc, [(1, 10), (2, 20)])
    assert c == [(1, 10), (2, 20)] and c.description == desc
    assert c != CompactArray(StructureDescription((LongUnsigned, LongUnsigned)), [(1, 10), (2, 20)])
    assert repr(CompactArray(Unsigned, [Unsigned(1)])) == "CompactArray(Unsigned, [Unsigned(1)])"
    assert pickle.loads(pickle.dumps(c)) == c
    assert StructureDescription([Unsigned]).elements == (Unsigned,)
    with pytest.raises(ValueError):
        ArrayDescription(65536, Unsigned)


@pytest.mark.parametrize(
    "description",
    [
        NullData,
        DontCare,
        StructureDescription(()),
        ArrayDescription(0, Unsigned),
        StructureDescription((Unsigned, NullData)),
    ],
    ids=["null-data", "dont-care", "empty-structure", "array-of-0", "null-member"],
)
def test_compact_array_refuses_zero_size_descriptions(description: Any) -> None:
    # the decoders refuse these (spec 5 / issue 2); a value built from one would
    # encode to bytes that do not decode
    with pytest.raises(ValueError):
        CompactArray(description, [])


@pytest.mark.parametrize(
    "description", [int, Array, Structure, CompactArray, "unsigned", StructureDescription((Array,))]
)
def test_compact_array_refuses_non_descriptions(description: Any) -> None:
    with pytest.raises(TypeError):
        CompactArray(description, [])


def test_describe() -> None:
    assert describe(LongUnsigned(1)) is LongUnsigned
    assert describe((LongUnsigned(1), b"ab", [Unsigned(1), Unsigned(2)])) == StructureDescription(
        (LongUnsigned, OctetString, ArrayDescription(2, Unsigned))
    )
    assert describe(True) is Boolean
    with pytest.raises(ValueError):
        describe([])
    with pytest.raises(ValueError):
        describe(CompactArray(Unsigned, []))


# --------------------------------------------------------------------------
# OBIS
# --------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["1.0.1.8.0.255", "1-0:1.8.0*255", "1-0:1.8.0.255", " 1.0.1.8.0.255 "])
def test_obis_notations(text: str) -> None:
    o = Obis(text)
    assert o == b"\x01\x00\x01\x08\x00\xff" and len(o) == 6
    assert str(o) == "1.0.1.8.0.255"
    assert repr(o) == "Obis('1.0.1.8.0.255')"


def test_obis_from_bytes_and_ints() -> None:
    assert str(Obis(b"\x00\x00\x01\x00\x00\xff")) == "0.0.1.0.0.255"
    assert Obis([0, 0, 96, 1, 0, 255]) == Obis("0.0.96.1.0.255")
    assert Obis(Obis("1.0.1.8.0.255")) == Obis("1.0.1.8.0.255")


@pytest.mark.parametrize(
    "bad",
    [
        "1.0.1.8.0",
        "1.0.1.8.0.255.1",
        "1.0.1.8.0.256",
        "1.0.1.8.0.-1",
        "a.b.c.d.e.f",
        "1..1.8.0.255",
        "",
        b"\x01\x02",
        bytes(7),
        [1, 2, 3, 4, 5, 300],
    ],
)
def test_invalid_obis_is_rejected(bad: Any) -> None:
    with pytest.raises(ValueError):
        Obis(bad)


def test_obis_refuses_a_bare_int() -> None:
    with pytest.raises(TypeError):
        Obis(6)  # bytes(6) would silently be 0.0.0.0.0.0


# --------------------------------------------------------------------------
# natural()
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("plain", "cls"),
    [
        (None, NullData),
        (True, Boolean),
        (False, Boolean),
        (b"ab", OctetString),
        (bytearray(b"ab"), OctetString),
        (memoryview(b"ab"), OctetString),
        (Obis("1.0.1.8.0.255"), OctetString),
        ("ABC", VisibleString),
        ("", VisibleString),
        ("\x7f", VisibleString),
        ("caf\u00e9", Utf8String),
        ("\u20ac", Utf8String),
        (1.5, Float64),
        ([1], Array),
        ((1,), Structure),
        (dt.datetime(2024, 3, 15, 12, 30, 45, tzinfo=CET), DateTime),
        (dt.date(2024, 3, 15), Date),
        (dt.time(1, 2, 3), Time),
    ],
)
def test_natural_types(plain: Any, cls: Any) -> None:
    v = natural(plain)
    assert type(v) is cls
    if cls not in (Date, DateTime, Time):
        assert v == plain


def test_natural_keeps_typed_values_and_converts_dates() -> None:
    u = Unsigned(3)
    assert natural(u) is u
    assert natural(dt.datetime(2024, 3, 15, 12, 30, 45, tzinfo=CET)) == A20
    assert natural(dt.date(2024, 3, 15)) == bytes.fromhex("07E8030F05")
    assert natural(dt.time(23, 59, 58)) == bytes.fromhex("173B3A00")


@pytest.mark.parametrize("bare", [0, 5, -1, 2**70])
def test_natural_bare_int_names_the_integer_types(bare: int) -> None:
    with pytest.raises(EncodeError) as info:
        natural(bare)
    message = str(info.value)
    for cls in T.INTEGER_TYPES:
        assert cls.__name__ in message


@pytest.mark.parametrize("bad", [{"a": 1}, {1}, object(), 1j])
def test_natural_refuses_values_without_a_type(bad: Any) -> None:
    with pytest.raises(EncodeError):
        natural(bad)


# --------------------------------------------------------------------------
# JSON (docs/json.md, ``data``)
# --------------------------------------------------------------------------

JSON_FORMS: list[tuple[Any, dict[str, Any]]] = [
    (None, {"type": "null-data", "value": None}),
    (NullData(), {"type": "null-data", "value": None}),
    (DontCare(), {"type": "dont-care", "value": None}),
    (True, {"type": "boolean", "value": True}),
    (Boolean(False), {"type": "boolean", "value": False}),
    (BitString("0100000011"), {"type": "bit-string", "value": "0100000011"}),
    (BitString(""), {"type": "bit-string", "value": ""}),
    (DoubleLong(-2), {"type": "double-long", "value": -2}),
    (DoubleLongUnsigned(0x12345678), {"type": "double-long-unsigned", "value": 305419896}),
    (b"\x00\x00\x01\x00\x00\xff", {"type": "octet-string", "value": "0000010000ff"}),
    (OctetString(b"\xab"), {"type": "octet-string", "value": "ab"}),
    (b"", {"type": "octet-string", "value": ""}),
    (VisibleString("ABC"), {"type": "visible-string", "value": "ABC"}),
    (Utf8String("\u00e4\u20ac"), {"type": "utf8-string", "value": "\u00e4\u20ac"}),
    (Bcd(0x12), {"type": "bcd", "value": 18}),
    (Integer(-1), {"type": "integer", "value": -1}),
    (Long(-300), {"type": "long", "value": -300}),
    (Unsigned(200), {"type": "unsigned", "value": 200}),
    (LongUnsigned(1000), {"type": "long-unsigned", "value": 1000}),
    (Long64(-(2**63)), {"type": "long64", "value": -(2**63)}),
    (Long64Unsigned(2**64 - 1), {"type": "long64-unsigned", "value": 2**64 - 1}),
    (Enum(30), {"type": "enum", "value": 30}),
    (Float32(1.5), {"type": "float32", "value": 1.5}),
    (-0.1, {"type": "float64", "value": -0.1}),
    (Float64(2.5), {"type": "float64", "value": 2.5}),
    (DateTime(A20), {"type": "date-time", "value": "07e8030f050c1e2d00ffc400"}),
    (Date.from_fields(2024, 3, 15, 5), {"type": "date", "value": "07e8030f05"}),
    (Time.from_fields(23, 59, 58), {"type": "time", "value": "173b3aff"}),
    ([], {"type": "array", "value": []}),
    (
        [LongUnsigned(1), LongUnsigned(2)],
        {"type": "array", "value": [{"type": "long-unsigned", "value": 1}, {"type": "long-unsigned", "value": 2}]},
    ),
    ((), {"type": "structure", "value": []}),
    (
        (Integer(-3), Enum(30), None, [True]),
        {
            "type": "structure",
            "value": [
                {"type": "integer", "value": -3},
                {"type": "enum", "value": 30},
                {"type": "null-data", "value": None},
                {"type": "array", "value": [{"type": "boolean", "value": True}]},
            ],
        },
    ),
    (
        CompactArray(LongUnsigned, [LongUnsigned(1), LongUnsigned(2)]),
        {
            "type": "compact-array",
            "description": {"type": "long-unsigned"},
            "value": [{"type": "long-unsigned", "value": 1}, {"type": "long-unsigned", "value": 2}],
        },
    ),
    (
        CompactArray(
            StructureDescription((LongUnsigned, ArrayDescription(2, Unsigned), OctetString)),
            [(LongUnsigned(1), [Unsigned(10), Unsigned(11)], b"\xaa")],
        ),
        {
            "type": "compact-array",
            "description": {
                "type": "structure",
                "elements": [
                    {"type": "long-unsigned"},
                    {"type": "array", "count": 2, "element": {"type": "unsigned"}},
                    {"type": "octet-string"},
                ],
            },
            "value": [
                {
                    "type": "structure",
                    "value": [
                        {"type": "long-unsigned", "value": 1},
                        {
                            "type": "array",
                            "value": [{"type": "unsigned", "value": 10}, {"type": "unsigned", "value": 11}],
                        },
                        {"type": "octet-string", "value": "aa"},
                    ],
                }
            ],
        },
    ),
    (
        CompactArray(ArrayDescription(2, Boolean), [[True, False]]),
        {
            "type": "compact-array",
            "description": {"type": "array", "count": 2, "element": {"type": "boolean"}},
            "value": [
                {"type": "array", "value": [{"type": "boolean", "value": True}, {"type": "boolean", "value": False}]}
            ],
        },
    ),
]


@pytest.mark.parametrize(("value", "obj"), JSON_FORMS, ids=[o["type"] + f"-{i}" for i, (_, o) in enumerate(JSON_FORMS)])
def test_to_json_forms(value: Any, obj: dict[str, Any]) -> None:
    got = to_json(value)
    assert got == obj
    assert json.loads(json.dumps(got)) == obj  # plain JSON types only


@pytest.mark.parametrize(("value", "obj"), JSON_FORMS, ids=[o["type"] + f"-{i}" for i, (_, o) in enumerate(JSON_FORMS)])
def test_from_json_round_trip(value: Any, obj: dict[str, Any]) -> None:
    back = from_json(obj)
    assert type(back) is type(natural(value))
    assert back == natural(value)
    assert to_json(back) == obj


def test_to_json_types_plain_compact_array_items_by_the_description() -> None:
    c = CompactArray(StructureDescription((LongUnsigned, Boolean, Float64)), [(1, True, 0.5)])
    assert to_json(c)["value"] == [
        {
            "type": "structure",
            "value": [
                {"type": "long-unsigned", "value": 1},
                {"type": "boolean", "value": True},
                {"type": "float64", "value": 0.5},
            ],
        }
    ]
    with pytest.raises(ValueError):
        to_json(CompactArray(StructureDescription((LongUnsigned, Boolean)), [(1,)]))


def test_from_json_accepts_uppercase_hex_and_validates() -> None:
    assert from_json({"type": "octet-string", "value": "AB"}) == b"\xab"
    assert from_json({"type": "float32", "value": 2}) == 2.0
    assert type(from_json({"type": "float64", "value": 2})) is Float64


@pytest.mark.parametrize(
    "obj",
    [
        {"type": "unsigned", "value": 256},
        {"type": "unsigned", "value": 1.5},
        {"type": "unsigned", "value": True},
        {"type": "unsigned", "value": "1"},
        {"type": "boolean", "value": 1},
        {"type": "float32", "value": 0.1},
        {"type": "float64", "value": "1"},
        {"type": "date-time", "value": "00"},
        {"type": "date", "value": "07e8030f"},
        {"type": "time", "value": 5},
        {"type": "octet-string", "value": "zz"},
        {"type": "bit-string", "value": "012"},
        {"type": "visible-string", "value": 5},
        {"type": "null-data", "value": 0},
        {"type": "null-data"},
        {"type": "array", "value": None},
        {"type": "structure", "value": "ab"},
        {"type": "no-such-type", "value": 1},
        {"value": 1},
        [1, 2],
        {"type": "compact-array", "description": {"type": "null-data"}, "value": []},
        {
            "type": "compact-array",
            "description": {"type": "array", "count": 0, "element": {"type": "unsigned"}},
            "value": [],
        },
        {"type": "compact-array", "description": {"type": "structure", "elements": []}, "value": []},
        {"type": "compact-array", "description": {"type": "compact-array"}, "value": []},
        {"type": "compact-array", "description": {"type": "array"}, "value": []},
        {"type": "compact-array", "value": []},
    ],
)
def test_from_json_rejects_bad_objects(obj: Any) -> None:
    with pytest.raises((ValueError, TypeError, KeyError)):
        from_json(obj)
