"""Clock (class 8): time from an injected source, time zone and daylight
saving, status, and the six adjusting methods."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmsmesh import axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import ActionResult, DataAccessResult
from dlmsmesh.cosem import EU_DST_BEGIN, EU_DST_END, AccessRights, Clock, ClockBase

from .helpers import hexbytes

UTC = dt.timezone.utc


class VirtualTime:
    """A time source the test moves by hand."""

    def __init__(self, start: dt.datetime) -> None:
        self.moment = start

    def __call__(self) -> dt.datetime:
        return self.moment


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def cet_clock(start: dt.datetime) -> tuple[Clock, VirtualTime]:
    source = VirtualTime(start)
    return Clock(now=source, time_zone=-60, dst_enabled=True), source


def time_bytes(clock: Clock) -> bytes:
    return axdr.encode(run(clock.get(2)))


def stamp(text: str) -> t.OctetString:
    return t.OctetString(hexbytes(text))


def test_class_id_version_and_tables() -> None:
    assert (Clock.class_id, Clock.version) == (8, 0)
    assert list(Clock.attribute_specs()) == list(range(1, 10))
    assert list(Clock.method_specs()) == [1, 2, 3, 4, 5, 6]
    assert Clock().logical_name == t.Obis("0.0.1.0.0.255")


def test_time_in_winter_matches_the_gurux_encoded_push_example() -> None:
    clock, _ = cet_clock(dt.datetime(2024, 3, 15, 11, 30, 45, tzinfo=UTC))
    assert time_bytes(clock) == hexbytes("09 0C 07 E8 03 0F 05 0C 1E 2D 00 FF C4 00")
    assert axdr.encode(run(clock.get(4))).hex() == "1100"


def test_time_in_summer_has_the_dst_deviation_and_status_bit() -> None:
    clock, _ = cet_clock(dt.datetime(2024, 7, 1, 10, 0, 0, tzinfo=UTC))
    assert time_bytes(clock) == hexbytes("09 0C 07 E8 07 01 01 0C 00 00 00 FF 88 80")
    assert axdr.encode(run(clock.get(4))).hex() == "1180"


def test_dst_switches_on_the_last_sunday_of_march_and_october() -> None:
    clock, source = cet_clock(dt.datetime(2024, 3, 31, 0, 59, 59, tzinfo=UTC))  # 01:59:59 CET
    assert not clock.dst_active()
    source.moment = dt.datetime(2024, 3, 31, 1, 0, 0, tzinfo=UTC)  # 02:00 CET -> 03:00 CEST
    assert clock.dst_active() and clock.local().hour == 3
    source.moment = dt.datetime(2024, 10, 27, 0, 59, 59, tzinfo=UTC)  # 02:59:59 CEST
    assert clock.dst_active()
    source.moment = dt.datetime(2024, 10, 27, 1, 0, 0, tzinfo=UTC)  # 03:00 CEST -> 02:00 CET
    assert not clock.dst_active() and clock.local().hour == 2
    clock.daylight_savings_enabled = False
    source.moment = dt.datetime(2024, 7, 1, tzinfo=UTC)
    assert not clock.dst_active()


def test_daylight_saving_attributes() -> None:
    clock = Clock(now=lambda: dt.datetime(2024, 1, 1, tzinfo=UTC))
    assert axdr.encode(run(clock.get(5))) == hexbytes("09 0C FF FF 03 FE 07 02 00 00 00 80 00 FF")
    assert run(clock.get(5)) == EU_DST_BEGIN and run(clock.get(6)) == EU_DST_END
    assert axdr.encode(run(clock.get(7))).hex() == "0f3c"
    assert axdr.encode(run(clock.get(8))).hex() == "0300"
    assert axdr.encode(run(clock.get(9))).hex() == "1601" and clock.clock_base == ClockBase.INTERNAL_CRYSTAL
    assert run(clock.set(8, True)) == DataAccessResult.SUCCESS and clock.daylight_savings_enabled
    assert run(clock.set(7, t.Integer(30))) == DataAccessResult.SUCCESS
    assert run(clock.set(7, t.Long(30))) == DataAccessResult.TYPE_UNMATCHED
    assert run(clock.set(5, bytes(11))) == DataAccessResult.TYPE_UNMATCHED
    assert AccessRights().check_set(clock, 9) is DataAccessResult.READ_WRITE_DENIED
    assert AccessRights().check_set(clock, 4) is DataAccessResult.READ_WRITE_DENIED


def test_southern_hemisphere_rule_wraps_the_year() -> None:
    source = VirtualTime(dt.datetime(2024, 1, 15, tzinfo=UTC))
    clock = Clock(
        now=source,
        time_zone=-600,
        dst_enabled=True,
        dst_begin=t.DateTime.from_fields(None, 10, 1, 7, 2, 0, 0, 0),  # first Sunday of October
        dst_end=t.DateTime.from_fields(None, 4, 1, 7, 3, 0, 0, 0),  # first Sunday of April
    )
    assert clock.dst_active()
    source.moment = dt.datetime(2024, 6, 15, tzinfo=UTC)
    assert not clock.dst_active()


def test_set_time_keeps_running_from_the_source() -> None:
    clock, source = cet_clock(dt.datetime(2024, 3, 15, 11, 30, 45, tzinfo=UTC))
    new = stamp("07 E8 01 02 02 08 00 00 00 FF C4 00")  # 2024-01-02 08:00:00 CET
    assert run(clock.set(2, new)) == DataAccessResult.SUCCESS
    assert time_bytes(clock) == hexbytes("09 0C 07 E8 01 02 02 08 00 00 00 FF C4 00")
    source.moment += dt.timedelta(seconds=90)
    assert clock.utc() == dt.datetime(2024, 1, 2, 7, 1, 30, tzinfo=UTC)


def test_set_time_without_deviation_is_read_as_the_clocks_local_time() -> None:
    clock, _ = cet_clock(dt.datetime(2024, 3, 15, 11, 30, 45, tzinfo=UTC))
    assert run(clock.set(2, stamp("07 E8 03 0F FF 0D 00 00 00 80 00 FF"))) == DataAccessResult.SUCCESS
    assert clock.utc() == dt.datetime(2024, 3, 15, 12, 0, 0, tzinfo=UTC)


def test_set_time_refuses_patterns_and_wrong_types() -> None:
    clock, _ = cet_clock(dt.datetime(2024, 3, 15, 11, 30, 45, tzinfo=UTC))
    before = clock.utc()
    assert run(clock.set(2, EU_DST_BEGIN)) == DataAccessResult.OTHER_REASON
    assert run(clock.set(2, t.DateTime.from_datetime(before))) == DataAccessResult.TYPE_UNMATCHED
    assert clock.utc() == before


def test_time_zone_range() -> None:
    clock, _ = cet_clock(dt.datetime(2024, 3, 15, tzinfo=UTC))
    assert axdr.encode(run(clock.get(3))).hex() == "10ffc4"
    assert run(clock.set(3, t.Long(-120))) == DataAccessResult.SUCCESS and clock.time_zone == -120
    assert run(clock.set(3, t.Long(721))) == DataAccessResult.OTHER_REASON and clock.time_zone == -120
    assert run(clock.set(3, t.Integer(0))) == DataAccessResult.TYPE_UNMATCHED


@pytest.mark.parametrize(
    ("method_id", "start", "expected"),
    [
        (1, dt.datetime(2024, 3, 15, 11, 7, 29, tzinfo=UTC), dt.datetime(2024, 3, 15, 11, 0, tzinfo=UTC)),
        (1, dt.datetime(2024, 3, 15, 11, 7, 30, tzinfo=UTC), dt.datetime(2024, 3, 15, 11, 15, tzinfo=UTC)),
        (1, dt.datetime(2024, 3, 15, 22, 53, 0, tzinfo=UTC), dt.datetime(2024, 3, 15, 23, 0, tzinfo=UTC)),
        (2, dt.datetime(2024, 3, 15, 11, 52, 31, tzinfo=UTC), dt.datetime(2024, 3, 15, 12, 0, tzinfo=UTC)),
        (3, dt.datetime(2024, 3, 15, 11, 7, 29, 990000, tzinfo=UTC), dt.datetime(2024, 3, 15, 11, 7, tzinfo=UTC)),
        (3, dt.datetime(2024, 3, 15, 11, 7, 30, tzinfo=UTC), dt.datetime(2024, 3, 15, 11, 8, tzinfo=UTC)),
    ],
)
def test_adjust_methods_round_to_the_nearest_step(method_id: int, start: dt.datetime, expected: dt.datetime) -> None:
    clock, source = cet_clock(start)
    clock.measuring_period = 1800
    assert run(clock.action(method_id, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert clock.utc() == expected
    source.moment += dt.timedelta(seconds=5)
    assert clock.utc() == expected + dt.timedelta(seconds=5)


def test_shift_time() -> None:
    clock, _ = cet_clock(dt.datetime(2024, 3, 15, 11, 30, 45, tzinfo=UTC))
    assert run(clock.action(6, t.Long(-900))) == (ActionResult.SUCCESS, None)
    assert clock.utc() == dt.datetime(2024, 3, 15, 11, 15, 45, tzinfo=UTC)
    assert run(clock.action(6, t.Long(901))) == (ActionResult.OTHER_REASON, None)
    assert run(clock.action(6, t.Integer(5))) == (ActionResult.TYPE_UNMATCHED, None)
    assert clock.utc() == dt.datetime(2024, 3, 15, 11, 15, 45, tzinfo=UTC)


def test_preset_then_adjust_to_preset_time() -> None:
    clock, source = cet_clock(dt.datetime(2024, 3, 15, 11, 30, 45, tzinfo=UTC))
    assert run(clock.action(4, t.Integer(0))) == (ActionResult.OTHER_REASON, None)  # nothing preset
    preset = (
        stamp("07 E8 03 0F FF 0D 00 00 00 FF C4 00"),  # 13:00:00 CET
        stamp("07 E8 03 0F FF 0C 00 00 00 FF C4 00"),  # valid from 12:00
        stamp("07 E8 03 0F FF 0C 3B 00 00 FF C4 00"),  # to 12:59
    )
    assert run(clock.action(5, preset)) == (ActionResult.SUCCESS, None)
    assert run(clock.action(5, preset[:2])) == (ActionResult.TYPE_UNMATCHED, None)
    assert run(clock.action(5, (EU_DST_BEGIN, preset[1], preset[2]))) == (ActionResult.OTHER_REASON, None)
    source.moment = dt.datetime(2024, 3, 15, 12, 0, 0, tzinfo=UTC)  # 13:00 CET: outside
    assert run(clock.action(4, t.Integer(0))) == (ActionResult.OTHER_REASON, None)
    source.moment = dt.datetime(2024, 3, 15, 11, 40, 0, tzinfo=UTC)
    assert run(clock.action(4, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert clock.utc() == dt.datetime(2024, 3, 15, 12, 0, 0, tzinfo=UTC)
    assert run(clock.action(4, t.Integer(0))) == (ActionResult.OTHER_REASON, None)  # used up


def test_unknown_method_and_status_bits() -> None:
    clock, _ = cet_clock(dt.datetime(2024, 3, 15, tzinfo=UTC))
    assert run(clock.action(7, t.Integer(0))) == (ActionResult.OBJECT_UNDEFINED, None)
    clock.status_bits = t.ClockStatus.DOUBTFUL_VALUE
    assert run(clock.get(4)) == t.Unsigned(2)
    assert time_bytes(clock)[-1] == 0x02


@settings(max_examples=300, deadline=None)
@given(
    st.datetimes(min_value=dt.datetime(1, 1, 1), max_value=dt.datetime(9999, 12, 31, 23, 59, 59, 999999)),
    st.one_of(st.none(), st.integers(-720, 720)),
    st.one_of(st.none(), st.integers(0, 255)),
)
def test_date_time_from_a_datetime_is_its_fields(moment: dt.datetime, offset: Any, status: Any) -> None:
    """DateTime.from_datetime packs a datetime's fields at once: the same
    octets as from_fields with each field given."""
    from dlmsmesh.types import DateTime

    if offset is not None:
        moment = moment.replace(tzinfo=dt.timezone(dt.timedelta(minutes=offset)))
    packed = DateTime.from_datetime(moment, clock_status=status)
    deviation = None if offset is None else -offset
    expected = DateTime.from_fields(
        moment.year, moment.month, moment.day, moment.isoweekday(), moment.hour, moment.minute, moment.second,
        moment.microsecond // 10000, deviation, 0 if status is None else status,
    )  # fmt: skip
    assert packed == expected and type(packed) is DateTime
