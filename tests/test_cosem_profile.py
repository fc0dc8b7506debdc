"""Profile generic (class 7): capture objects, capture and reset, the buffer
whole and by range (selector 1) or entry (selector 2) with selected columns,
kept rows and rows generated on demand."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from dlmsmesh import apdu, axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import (
    ActionResult,
    AttributeDescriptor,
    CaptureObject,
    DataAccessResult,
    GetRequestNormal,
    SelectiveAccess,
    entry_descriptor,
    range_descriptor,
)
from dlmsmesh.cosem import AccessRights, Clock, GeneratedRows, ProfileGeneric, Register, Unit

from .helpers import hexbytes

UTC = dt.timezone.utc
START = dt.datetime(2024, 3, 15, 11, 0, tzinfo=UTC)  # 12:00 CET
CLOCK = CaptureObject(8, t.Obis("0.0.1.0.0.255"), 2)
IMPORT = CaptureObject(3, t.Obis("1.0.1.8.0.255"), 2)
EXPORT = CaptureObject(3, t.Obis("1.0.2.8.0.255"), 2)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def cet(minute: int) -> t.OctetString:
    """The clock column at 12:00 + ``minute`` CET on 2024-03-15."""
    moment = (START + dt.timedelta(minutes=minute)).astimezone(dt.timezone(dt.timedelta(hours=1)))
    return t.OctetString(bytes(t.DateTime.from_datetime(moment, clock_status=0)))


class Meter:
    def __init__(self, capacity: int = 10) -> None:
        self.moment = START
        self.clock = Clock(now=lambda: self.moment, time_zone=-60)
        self.imp = Register("1.0.1.8.0.255", t.DoubleLongUnsigned(1000), scaler=0, unit=Unit.WATT_HOUR)
        self.exp = Register("1.0.2.8.0.255", t.DoubleLongUnsigned(7), scaler=0, unit=Unit.WATT_HOUR)
        self.profile = ProfileGeneric(
            "1.0.99.1.0.255",
            [(self.clock, 2), (self.imp, 2), (self.exp, 2)],
            capture_period=900,
            profile_entries=capacity,
        )

    def capture_quarters(self, count: int) -> None:
        for i in range(count):
            self.moment = START + dt.timedelta(minutes=15 * i)
            self.imp.value = t.DoubleLongUnsigned(1000 + 10 * i)
            assert run(self.profile.action(2, t.Integer(0))) == (ActionResult.SUCCESS, None)


def buffer(profile: ProfileGeneric, access: SelectiveAccess | None = None) -> Any:
    if access is None:
        return run(profile.get(2))
    return run(profile.get(2, access.selector, access.parameters))


def row(minute: int, imp: int, exp: int = 7) -> tuple[Any, ...]:
    return (cet(minute), t.DoubleLongUnsigned(imp), t.DoubleLongUnsigned(exp))


def test_class_attributes_and_methods() -> None:
    assert (ProfileGeneric.class_id, ProfileGeneric.version) == (7, 1)
    assert list(ProfileGeneric.attribute_specs()) == list(range(1, 9))
    assert list(ProfileGeneric.method_specs()) == [1, 2]
    assert ProfileGeneric.attribute_specs()[2].selectors == (1, 2)


def test_capture_objects_period_sort_and_sizes() -> None:
    profile = Meter().profile
    assert axdr.encode(run(profile.get(3))) == hexbytes(
        "01 03 02 04 12 00 08 09 06 00 00 01 00 00 FF 0F 02 12 00 00"
        " 02 04 12 00 03 09 06 01 00 01 08 00 FF 0F 02 12 00 00"
        " 02 04 12 00 03 09 06 01 00 02 08 00 FF 0F 02 12 00 00"
    )
    assert axdr.encode(run(profile.get(4))).hex() == "0600000384"
    assert axdr.encode(run(profile.get(5))).hex() == "1601"
    assert axdr.encode(run(profile.get(6))).hex() == "020412000009060000000000000f00120000"
    assert axdr.encode(run(profile.get(7))).hex() == "0600000000"
    assert axdr.encode(run(profile.get(8))).hex() == "060000000a"
    assert run(profile.set(4, t.DoubleLongUnsigned(300))) == DataAccessResult.SUCCESS
    assert AccessRights().check_set(profile, 3) is DataAccessResult.READ_WRITE_DENIED
    assert run(profile.set(3, [])) == DataAccessResult.READ_WRITE_DENIED


def test_capture_reads_the_capture_objects_and_the_buffer_encodes() -> None:
    meter = Meter()
    meter.capture_quarters(2)
    assert run(meter.profile.get(7)) == 2
    assert buffer(meter.profile) == [row(0, 1000), row(15, 1010)]
    assert axdr.encode(buffer(meter.profile)) == hexbytes(
        "01 02"
        " 02 03 09 0C 07 E8 03 0F 05 0C 00 00 00 FF C4 00 06 00 00 03 E8 06 00 00 00 07"
        " 02 03 09 0C 07 E8 03 0F 05 0C 0F 00 00 FF C4 00 06 00 00 03 F2 06 00 00 00 07"
    )


def test_capture_is_first_in_first_out_within_profile_entries() -> None:
    meter = Meter(capacity=3)
    meter.capture_quarters(5)
    assert [r[1] for r in buffer(meter.profile)] == [1020, 1030, 1040]
    assert run(meter.profile.get(7)) == 3


def test_reset_clears_the_buffer() -> None:
    meter = Meter()
    meter.capture_quarters(3)
    assert run(meter.profile.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert buffer(meter.profile) == [] and run(meter.profile.get(7)) == 0
    assert run(meter.profile.action(1, t.Unsigned(0))) == (ActionResult.TYPE_UNMATCHED, None)
    assert run(meter.profile.action(3, t.Integer(0))) == (ActionResult.OBJECT_UNDEFINED, None)


def test_data_index_captures_one_element_and_a_column_without_object_is_null() -> None:
    register = Register("1.0.1.8.0.255", t.DoubleLongUnsigned(5), scaler=-3, unit=Unit.WATT_HOUR)
    profile = ProfileGeneric(
        "0.0.99.98.0.255", [(register, 3, 1), (register, 3, 2), CaptureObject(1, "0.0.96.1.0.255", 2)]
    )
    assert run(profile.action(2, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert axdr.encode(buffer(profile)).hex() == "010102030ffd161e00"


def test_entry_descriptor_rows_and_columns() -> None:
    meter = Meter()
    meter.capture_quarters(6)
    p = meter.profile
    assert buffer(p, entry_descriptor(2, 3)) == [row(15, 1010), row(30, 1020)]
    assert buffer(p, entry_descriptor(5)) == [row(60, 1040), row(75, 1050)]  # to 0 = last
    assert buffer(p, entry_descriptor(6, 9)) == [row(75, 1050)]
    assert buffer(p, entry_descriptor(7, 9)) == []
    assert buffer(p, entry_descriptor(1, 2, 2, 2)) == [(1000,), (1010,)]
    assert buffer(p, entry_descriptor(1, 1, 2)) == [(1000, 7)]
    assert axdr.encode(buffer(p, entry_descriptor(1, 1, 2, 2))).hex() == "010102010600 0003e8".replace(" ", "")
    assert buffer(p, entry_descriptor(1, 1, 2, 4)) == DataAccessResult.OTHER_REASON
    assert buffer(p, entry_descriptor(1, 1, 3, 2)) == DataAccessResult.OTHER_REASON


def test_range_descriptor_on_the_clock_with_selected_columns() -> None:
    meter = Meter()
    meter.capture_quarters(6)
    p = meter.profile
    assert buffer(p, range_descriptor(CLOCK, cet(15), cet(45))) == [row(15, 1010), row(30, 1020), row(45, 1030)]
    assert buffer(p, range_descriptor(CLOCK, cet(16), cet(44), (IMPORT,))) == [(1020,)]
    assert buffer(p, range_descriptor(CLOCK, cet(60), cet(999), (EXPORT, CLOCK))) == [(7, cet(60)), (7, cet(75))]
    assert buffer(p, range_descriptor(CLOCK, cet(100), cet(200))) == []
    # a bound in UTC selects the same moments
    utc_from = t.OctetString(bytes(t.DateTime.from_datetime(START + dt.timedelta(minutes=15), clock_status=0)))
    assert buffer(p, range_descriptor(CLOCK, utc_from, cet(15))) == [row(15, 1010)]
    # range on a numeric column
    low, high = t.DoubleLongUnsigned(1015), t.DoubleLongUnsigned(1030)
    assert buffer(p, range_descriptor(IMPORT, low, high, (IMPORT,))) == [(1020,), (1030,)]


def test_range_parameters_decoded_from_an_apdu_work_the_same() -> None:
    meter = Meter()
    meter.capture_quarters(4)
    access = range_descriptor(CLOCK, cet(15), cet(30), (IMPORT,))
    wire = apdu.encode(GetRequestNormal(AttributeDescriptor(7, "1.0.99.1.0.255", 2, access=access)))
    decoded = apdu.decode(wire).descriptor.access
    assert decoded is not None
    assert buffer(meter.profile, decoded) == [(1010,), (1020,)]


def test_bad_selective_access_is_refused() -> None:
    meter = Meter()
    meter.capture_quarters(2)
    p = meter.profile
    unknown = CaptureObject(3, "1.0.3.8.0.255", 2)
    assert buffer(p, range_descriptor(unknown, cet(0), cet(15))) == DataAccessResult.OTHER_REASON
    assert buffer(p, range_descriptor(CLOCK, cet(0), cet(15), (unknown,))) == DataAccessResult.OTHER_REASON
    assert buffer(p, SelectiveAccess(1, (1, 2))) == DataAccessResult.OTHER_REASON
    assert buffer(p, SelectiveAccess(2, None)) == DataAccessResult.OTHER_REASON
    assert buffer(p, range_descriptor(CLOCK, cet(0), t.Unsigned(1))) == DataAccessResult.OTHER_REASON
    assert run(p.get(2, 3, None)) == DataAccessResult.OTHER_REASON
    assert run(p.get(3, 1, None)) == DataAccessResult.OTHER_REASON


def month_profile() -> tuple[ProfileGeneric, list[int]]:
    built: list[int] = []

    def row_at(i: int) -> tuple[Any, ...]:
        built.append(i)
        return row(15 * i, 1000 + i)

    rows = GeneratedRows(31 * 96, row_at)
    return ProfileGeneric("1.0.99.1.0.255", [CLOCK, IMPORT, EXPORT], capture_period=900, rows=rows), built


def test_generated_rows_are_built_only_when_read() -> None:
    profile, built = month_profile()
    assert run(profile.get(7)) == 2976 and run(profile.get(8)) == 2976 and built == []
    assert buffer(profile, entry_descriptor(100, 101, 2, 2)) == [(1099,), (1100,)]
    assert built == [99, 100]
    built.clear()
    got = buffer(profile, range_descriptor(CLOCK, cet(15 * 2000), cet(15 * 2002 + 5), (IMPORT,)))
    assert got == [(3000,), (3001,), (3002,)]
    assert len(built) < 60  # bisection, not a scan of 2976 rows
    whole = buffer(profile)
    assert len(whole) == 2976 and whole[-1] == row(15 * 2975, 3975)


def test_generated_rows_refuse_capture_and_reset() -> None:
    profile, _ = month_profile()
    assert run(profile.action(2, t.Integer(0))) == (ActionResult.OTHER_REASON, None)
    assert run(profile.action(1, t.Integer(0))) == (ActionResult.OTHER_REASON, None)


def test_generated_rows_count_may_grow() -> None:
    count = [2]
    rows = GeneratedRows(lambda: count[0], lambda i: row(15 * i, i))
    assert len(rows) == 2 and rows[-1] == row(15, 1) and rows[0:5] == [row(0, 0), row(15, 1)]
    count[0] = 3
    assert len(rows) == 3 and rows[2] == row(30, 2)
