"""dlmsmesh.columns, known answers on both backends: profile buffers built with
dlmsmesh.axdr decode to columns equal, row by row, to axdr.decode's values;
date-time conversion (CET/CEST deviations, DST status, unspecified fields);
round trips; layouts from capture objects; with and without numpy."""

from __future__ import annotations

import calendar
import datetime as dt
import sys
from array import array
from typing import Any

import pytest

from dlmsmesh import axdr, columns
from dlmsmesh.columns import DATETIME_OCTETS, BytesColumn, DateTimeColumn, Field, Layout
from dlmsmesh.types import (
    Bcd,
    Boolean,
    Date,
    DateTime,
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
    Time,
    Unsigned,
    VisibleString,
)

from .columns_support import NAT, plain, ref_epoch, table_values
from .helpers import hexbytes


def _clock(t: dt.datetime, deviation: int | None = -60, status: int | None = 0, hundredths: int | None = 0) -> bytes:
    return bytes(
        DateTime.from_fields(
            t.year, t.month, t.day, t.isoweekday(), t.hour, t.minute, t.second, hundredths, deviation, status
        )
    )


def load_profile(rows: int = 96) -> tuple[bytes, list[tuple[Any, ...]]]:
    """A day of 15-minute rows {clock octet-string, A+, A-, status}, encoded by axdr."""
    values = []
    start = dt.datetime(2024, 3, 30, 0, 0)
    for i in range(rows):
        t = start + dt.timedelta(minutes=15 * i)
        values.append(
            (
                OctetString(_clock(t)),
                DoubleLongUnsigned(1_000_000 + 17 * i),
                DoubleLongUnsigned(3 * i),
                Unsigned(0x08 if i % 7 == 0 else 0),
            )
        )
    return axdr.encode(values), values


def test_profile_equals_axdr_decode_row_by_row(backend: str) -> None:
    data, _ = load_profile()
    rows = axdr.decode(data)
    table = columns.decode(data)
    assert len(table) == len(rows) == 96
    assert table.layout == Layout((DATETIME_OCTETS, Field(6), Field(6), Field(17)))
    clock = table[0]
    assert isinstance(clock, DateTimeColumn)
    for r, row in enumerate(rows):
        assert int(clock.epoch[r]) == ref_epoch(row[0])
        assert int(clock.deviation[r]) == DateTime(row[0]).deviation == -60
        assert int(clock.status[r]) == 0
        assert int(table[1][r]) == row[1]
        assert int(table[2][r]) == row[2]
        assert int(table[3][r]) == row[3]
    # 2024-03-30 00:00 CET is 2024-03-29 23:00 UTC
    assert int(clock.epoch[0]) == calendar.timegm((2024, 3, 29, 23, 0, 0))


def test_profile_round_trip_is_identity(backend: str) -> None:
    data, _ = load_profile()
    assert columns.encode(columns.decode(data)) == data


ALL_TYPES: list[tuple[Any, Any, str, str]] = [
    # (layout spec, sample values, numpy dtype, array typecode)
    (Integer, [Integer(-128), Integer(0), Integer(127)], "int8", "b"),
    (Long, [Long(-32768), Long(1), Long(32767)], "int16", "h"),
    (DoubleLong, [DoubleLong(-(2**31)), DoubleLong(2), DoubleLong(2**31 - 1)], "int32", "i"),
    (Long64, [Long64(-(2**63)), Long64(3), Long64(2**63 - 1)], "int64", "q"),
    (Unsigned, [Unsigned(0), Unsigned(7), Unsigned(255)], "uint8", "B"),
    (LongUnsigned, [LongUnsigned(0), LongUnsigned(8), LongUnsigned(65535)], "uint16", "H"),
    (DoubleLongUnsigned, [DoubleLongUnsigned(0), DoubleLongUnsigned(9), DoubleLongUnsigned(2**32 - 1)], "uint32", "I"),
    (Long64Unsigned, [Long64Unsigned(0), Long64Unsigned(10), Long64Unsigned(2**64 - 1)], "uint64", "Q"),
    (Enum, [Enum(0), Enum(30), Enum(255)], "uint8", "B"),
    (Bcd, [Bcd(0x00), Bcd(0x12), Bcd(0x99)], "uint8", "B"),
    (Boolean, [True, False, True], "bool", "B"),
    (Float32, [Float32(-1.5), Float32(0.0), Float32(2.0**127)], "float32", "f"),
    (Float64, [-0.1, 0.0, 1e300], "float64", "d"),
]


@pytest.mark.parametrize("use_numpy", [True, False], ids=["numpy", "array"])
def test_every_number_type_matches_axdr(backend: str, use_numpy: bool) -> None:
    if use_numpy:
        pytest.importorskip("numpy")
    layout = [spec for spec, *_ in ALL_TYPES]
    rows = [tuple(values[r] for _, values, *_ in ALL_TYPES) for r in range(3)]
    data = axdr.encode(rows)
    table = columns.decode(data, numpy=use_numpy)
    assert table.layout == columns.infer_layout(data) == Layout.of(layout)
    decoded = axdr.decode(data)
    for k, (_, _, dtype, code) in enumerate(ALL_TYPES):
        col = table[k]
        if use_numpy:
            assert str(col.dtype) == dtype
        else:
            assert isinstance(col, array) and col.typecode == code
        assert plain(col) == [row[k] for row in decoded]


def test_strings_dates_and_times_are_bytes_columns(backend: str) -> None:
    rows = [
        (OctetString(b""), VisibleString("meter 1"), Date.from_fields(2024, 3, 15, 5), Time.from_fields(23, 59, 58)),
        (OctetString(b"\x00" * 300), VisibleString(""), Date.from_fields(None, 12, 31), Time.from_fields(0, 0, 0, 0)),
    ]
    data = axdr.encode(rows)
    table = columns.decode(data)
    assert [f.tag for f in table.layout] == [9, 10, 26, 27]
    for k in range(4):
        col = table[k]
        assert isinstance(col, BytesColumn)
        assert col.tolist() == [bytes(row[k]) if k != 1 else row[k].encode("latin-1") for row in rows]
    assert columns.encode(table) == data


# --------------------------------------------------------------------------
# date-time conversion
# --------------------------------------------------------------------------

DATETIME_CASES = [
    # (octets hex, epoch seconds or NAT, deviation, status)
    # A20: 2024-03-15 12:30:45 CET (deviation -60) -> 11:30:45Z
    ("07E8030F050C1E2D00FFC400", calendar.timegm((2024, 3, 15, 11, 30, 45)), -60, 0),
    # A21: 2024-07-01 08:00 CEST (deviation -120, DST) -> 06:00Z, status 0x80 kept
    ("07E8070101080000 00FF8880", calendar.timegm((2024, 7, 1, 6, 0, 0)), -120, 0x80),
    # the same instant as CET, as a meter without DST would send it
    ("07E8070101070000 00FFC400", calendar.timegm((2024, 7, 1, 6, 0, 0)), -60, 0),
    # UTC-05:00 sends +300
    ("07E8070101010000 00012C00", calendar.timegm((2024, 7, 1, 6, 0, 0)), 300, 0),
    # A22 wildcards: year, day-of-week, hundredths, deviation, status not specified -> NaT
    ("FFFF030FFF0C1E2DFF8000FF", NAT, -32768, 0xFF),
    # deviation not specified: the local time, naive
    ("07E8030F050C1E2D008000FF", calendar.timegm((2024, 3, 15, 12, 30, 45)), -32768, 0xFF),
    # hour, minute or second not specified -> NaT
    ("07E8030F05FF1E2D00FFC400", NAT, -60, 0),
    ("07E8030F050CFF2D00FFC400", NAT, -60, 0),
    ("07E8030F050C1EFF00FFC400", NAT, -60, 0),
    # hundredths not specified count as 0; day-of-week is not read
    ("07E8030F010C1E2DFFFFC400", calendar.timegm((2024, 3, 15, 11, 30, 45)), -60, 0),
    # patterns: DST begin month, last day of month -> NaT
    ("FFFFFE FE 07 02000000 FFC400".replace(" ", ""), NAT, -60, 0),
    ("07E803FE07020000 00FFC400", NAT, -60, 0),
    # out of range: 30 February, hour 24, hundredths 100
    ("07E8021E05000000 00FFC400", NAT, -60, 0),
    ("07E8030F05180000 00FFC400", NAT, -60, 0),
    ("07E8030F050C1E2D 64FFC400", NAT, -60, 0),
    # 29 February of a leap year; before 1970
    ("07E8021D04000000 00000000", calendar.timegm((2024, 2, 29, 0, 0, 0)), 0, 0),
    ("07B2010101000000 00FFC400", calendar.timegm((1969, 12, 31, 23, 0, 0)), -60, 0),
    # clock status bits as sent: doubtful + DST
    ("07E8070101080000 00FF8882", calendar.timegm((2024, 7, 1, 6, 0, 0)), -120, 0x82),
]


@pytest.mark.parametrize(("octets", "epoch", "deviation", "status"), DATETIME_CASES)
@pytest.mark.parametrize("wire", ["date-time", "octet-string"])
def test_datetime_conversion(backend: str, octets: str, epoch: int, deviation: int, status: int, wire: str) -> None:
    raw = hexbytes(octets)
    value = DateTime(raw) if wire == "date-time" else OctetString(raw)
    data = axdr.encode([(value, Unsigned(1))])
    layout = [DateTime if wire == "date-time" else DATETIME_OCTETS, Unsigned]
    col = columns.decode(data, layout)[0]
    assert (int(col.epoch[0]), int(col.deviation[0]), int(col.status[0])) == (epoch, deviation, status)
    assert int(col.epoch[0]) == ref_epoch(raw)


@pytest.mark.parametrize("unit", ["s", "ms", "us"])
def test_units_keep_hundredths(backend: str, unit: str) -> None:
    raw = hexbytes("07E8030F050C1E2D07FFC400")  # .07 s
    data = axdr.encode([(DateTime(raw),)])
    table = columns.decode(data, unit=unit)
    seconds = calendar.timegm((2024, 3, 15, 11, 30, 45))
    ticks = columns.UNITS[unit]
    assert int(table[0].epoch[0]) == seconds * ticks + 7 * ticks // 100 == ref_epoch(raw, unit)
    assert table[0].unit == unit
    back = columns.encode(table)
    if unit == "s":  # hundredths are dropped in seconds
        assert back == axdr.encode([(DateTime(raw[:8] + b"\x00" + raw[9:]),)])
    else:
        assert back == data


def test_reversed_sign(backend: str) -> None:
    raw = hexbytes("07E8030F050C1E2D00003C00")  # +60 from a meter using the opposite sign = CET
    data = axdr.encode([(DateTime(raw),)])
    col = columns.decode(data, standard_sign=False)[0]
    assert int(col.epoch[0]) == calendar.timegm((2024, 3, 15, 11, 30, 45)) == ref_epoch(raw, standard_sign=False)
    assert columns.encode(columns.decode(data, standard_sign=False), standard_sign=False) == data


def test_extreme_years(backend: str) -> None:
    year0 = hexbytes("0000010106000000 00000000")  # 0000-01-01 (proleptic Gregorian)
    last = hexbytes("FFFE0C1F01173B3B 63000000")  # 65534-12-31 (a Monday, as 2334-12-31) 23:59:59.99
    data = axdr.encode([(DateTime(year0),), (DateTime(last),)])
    col = columns.decode(data, unit="ms")[0]
    cycle = 146097  # days in 400 Gregorian years
    first = (dt.date(400, 1, 1) - dt.date(1970, 1, 1)).days - cycle
    final = (dt.date(2334, 12, 31) - dt.date(1970, 1, 1)).days + 158 * cycle  # 65534 = 2334 + 158 * 400
    assert int(col.epoch[0]) == first * 86400 * 1000 == -62167219200 * 1000
    assert int(col.epoch[1]) == (final * 86400 + 86399) * 1000 + 990
    assert columns.encode(columns.decode(data, unit="ms")) == data


def test_datetime_helpers(backend: str) -> None:
    pytest.importorskip("numpy")
    data = axdr.encode([(DateTime(hexbytes("07E8070101080000 00FF8880")),), (DateTime(b"\xff" * 9 + b"\x80\x00\xff"),)])
    col = columns.decode(data)[0]
    assert col.datetime64().tolist()[0] == dt.datetime(2024, 7, 1, 6, 0)
    assert str(col.datetime64()[1]) == "NaT"
    assert col.to_datetime(0) == dt.datetime(2024, 7, 1, 6, 0, tzinfo=dt.timezone.utc)
    assert col.to_datetime(1) is None


def test_datetime_column_from_datetimes(backend: str) -> None:
    cest = dt.timezone(dt.timedelta(hours=2))
    values = [dt.datetime(2024, 7, 1, 8, 0, tzinfo=cest), dt.datetime(2024, 3, 15, 12, 30, 45), None]
    data = columns.encode([DateTimeColumn.from_datetimes(values)], [DATETIME_OCTETS])
    rows = axdr.decode(data)
    assert rows[0][0] == hexbytes("07E8070101080000 00FF8800")
    assert rows[1][0] == hexbytes("07E8030F050C1E2D 00800000")
    assert rows[2][0] == hexbytes("FFFFFFFFFFFFFFFFFF8000FF")


# --------------------------------------------------------------------------
# layouts
# --------------------------------------------------------------------------


def test_octet_string_of_12_that_is_no_date_time_stays_bytes(backend: str) -> None:
    blob = bytes(range(12))  # 0001-02-03 ... but deviation 0x090A = 2314 minutes: not read as a date-time
    data = axdr.encode([(blob, Unsigned(1))])
    table = columns.decode(data)
    assert table.layout.fields[0] == Field(9)
    assert table[0].tolist() == [blob]
    # the caller may say otherwise
    forced = columns.decode(data, [DATETIME_OCTETS, None])
    local = dt.datetime(1, 2, 3, 5, 6, 7) - dt.datetime(1970, 1, 1)  # 0001-02-03 05:06:07.08
    assert int(forced[0].deviation[0]) == 0x090A  # any deviation applies, even beyond +-720
    assert int(forced[0].epoch[0]) == local.days * 86400 + local.seconds + 0x090A * 60


def test_layout_from_capture_objects(backend: str) -> None:
    cods = axdr.decode(
        hexbytes(
            "01 03 02 04 12 00 08 09 06 00 00 01 00 00 FF 0F 02 12 00 00"
            " 02 04 12 00 03 09 06 01 00 01 08 00 FF 0F 02 12 00 00"
            " 02 04 12 00 01 09 06 00 00 60 0A 01 FF 0F 02 12 00 00"
        )
    )
    layout = columns.from_capture_objects(cods)
    assert layout.names == ["0.0.1.0.0.255:2", "1.0.1.8.0.255:2", "0.0.96.10.1.255:2"]
    assert layout.fields[0].datetime and layout.fields[0].tag == 9
    assert layout.fields[1].tag is None and layout.fields[2].tag is None
    data, _ = load_profile(4)
    data = axdr.encode([row[:3] for row in axdr.decode(data)])
    table = columns.decode(data, layout)
    assert [f.tag for f in table.layout] == [9, 6, 6]
    assert plain(table["1.0.1.8.0.255:2"]) == [1_000_000 + 17 * i for i in range(4)]
    with pytest.raises(KeyError):
        table["nope"]
    empty = columns.decode(b"\x01\x00", layout)
    assert len(empty) == 0 and empty[1] == [] and len(empty[0]) == 0


def test_bare_array_of_values(backend: str) -> None:
    data = axdr.encode([LongUnsigned(1), LongUnsigned(2), LongUnsigned(65535)])
    table = columns.decode(data)
    assert table.layout.bare and plain(table[0]) == [1, 2, 65535]
    assert columns.encode(table) == data


def test_nullable_columns(backend: str) -> None:
    rows = [
        (OctetString(_clock(dt.datetime(2024, 1, 1))), DoubleLongUnsigned(5), OctetString(b"ab")),
        (None, None, None),
        (OctetString(_clock(dt.datetime(2024, 1, 2))), DoubleLongUnsigned(7), OctetString(b"")),
    ]
    data = axdr.encode(rows)
    layout = [Field(9, datetime=True, nullable=True), Field(6, nullable=True), Field(9, nullable=True)]
    table = columns.decode(data, layout)
    assert [plain(v) for v in table.valid] == [[1, 0, 1]] * 3
    assert plain(table[1]) == [5, 0, 7]
    assert int(table[0].epoch[1]) == NAT and int(table[0].deviation[1]) == -32768 and int(table[0].status[1]) == 0xFF
    assert table[2].tolist() == [b"ab", b"", b""]
    assert columns.encode(table) == data
    with pytest.raises(ValueError, match="validity mask"):
        columns.encode(table.columns, table.layout)


def test_encode_from_plain_sequences(backend: str) -> None:
    data = columns.encode(
        [[1, 2], [b"x", b"yz"], [True, False], [0.5, -2.0]], [LongUnsigned, OctetString, Boolean, Float32]
    )
    assert axdr.decode(data) == [(1, b"x", True, 0.5), (2, b"yz", False, -2.0)]


def test_empty_array(backend: str) -> None:
    table = columns.decode(b"\x01\x00", [Unsigned, DATETIME_OCTETS])
    assert len(table) == 0 and len(table[0]) == 0 and len(table[1]) == 0
    assert columns.encode(table) == b"\x01\x00"


# --------------------------------------------------------------------------
# numpy or not
# --------------------------------------------------------------------------


def test_without_numpy(backend: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "numpy", None)  # import numpy now raises ImportError
    data, _ = load_profile(8)
    table = columns.decode(data)
    assert isinstance(table[1], array) and table[1].typecode == "I"
    assert isinstance(table[0].epoch, array) and table[0].epoch.typecode == "q"
    assert isinstance(table[0].deviation, array) and table[0].deviation.typecode == "h"
    assert isinstance(table[0].status, array) and table[0].status.typecode == "B"
    assert columns.encode(table) == data
    with pytest.raises(ImportError):
        columns.decode(data, numpy=True)


def test_with_numpy_same_values(backend: str) -> None:
    numpy = pytest.importorskip("numpy")
    data, _ = load_profile(8)
    with_np = columns.decode(data)
    without = columns.decode(data, numpy=False)
    assert isinstance(with_np[1], numpy.ndarray) and with_np[1].dtype == numpy.uint32
    assert with_np[0].epoch.dtype == numpy.int64
    assert table_values(with_np) == table_values(without)
    # numpy columns of other integer dtypes encode when they fit
    cols = [with_np[0], with_np[1].astype(numpy.int64), with_np[2], with_np[3].astype(numpy.int32)]
    assert columns.encode(cols, with_np.layout) == data
