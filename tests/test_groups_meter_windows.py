"""Where a group answer's delay falls: the response-window Push setup's
attribute 5 (longest random delay) and attribute 4 (windows, absolute or
patterns with wildcards), read against the meter's clock."""

from __future__ import annotations

import random
from typing import Any

import pytest

from dlmsmesh.cosem.push import PushSetup
from dlmsmesh.server.delayed import DelayedAnswers, response_delay, response_slot
from dlmsmesh.transport.clock import VirtualClock
from dlmsmesh.types import LAST_DAY, Array, DateTime, LongUnsigned, OctetString, Structure

from .test_groups_meter import group_meter

# the meters' clock: Saturday 2026-12-05 12:00:00 UTC (server_support.NOW)
HOUR = 3600.0


def pattern(**fields: Any) -> bytes:
    return bytes(DateTime.from_fields(**fields))


def meter_with(windows: list[tuple[bytes, bytes]], max_delay: int) -> Any:
    meter = group_meter(0, max_delay=max_delay)
    setup = meter.logical_devices[1].get("0.3.25.9.0.255")
    assert isinstance(setup, PushSetup)
    setup.communication_window = Array(Structure((OctetString(a), OctetString(b))) for a, b in windows)
    setup.randomisation_start_interval = LongUnsigned(max_delay)
    return meter


def delays(meter: Any, n: int = 200, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    out = [response_delay(meter, rng) for _ in range(n)]
    assert all(d is not None for d in out)
    return [d for d in out if d is not None]


def test_without_windows_the_delay_is_uniform_below_attribute_5() -> None:
    drawn = delays(meter_with([], 60))
    assert all(0 <= d < 60 for d in drawn)
    assert min(drawn) < 3 and max(drawn) > 57
    assert delays(meter_with([], 0)) == [0.0] * 200


def test_a_daily_window_open_now_bounds_the_delay_by_its_end() -> None:
    # every day 11:00-12:10: ten minutes left, a longer random delay is cut there
    meter = meter_with([(pattern(hour=11, minute=0, second=0), pattern(hour=12, minute=10, second=0))], 3600)
    drawn = delays(meter)
    assert all(0 <= d < 600 for d in drawn) and max(drawn) > 550


def test_the_slot_names_when_its_window_closes() -> None:
    # the window ahead closes 3 h from now, whatever the delay drawn in it
    meter = meter_with([(pattern(hour=14, minute=0, second=0), pattern(hour=15, minute=0, second=0))], 60)
    slot = response_slot(meter, random.Random(2))
    assert slot is not None and 2 * HOUR <= slot.delay < 2 * HOUR + 60 and slot.closes == 3 * HOUR
    assert slot.calendar  # a window of the calendar: a later one may take a late answer
    # without windows the request's own window: the randomisation interval from now, nothing after it
    free = response_slot(meter_with([], 60), random.Random(2))
    assert free is not None and 0 <= free.delay < 60 and free.closes == 60 and not free.calendar
    # an answer due at once is never late
    now = response_slot(meter_with([], 0), random.Random(2))
    assert now is not None and now.delay == 0 and now.closes == float("inf")


def test_a_daily_window_later_today_starts_the_delay_at_its_start() -> None:
    meter = meter_with([(pattern(hour=14, minute=0, second=0), pattern(hour=15, minute=0, second=0))], 60)
    drawn = delays(meter)
    assert all(2 * HOUR <= d < 2 * HOUR + 60 for d in drawn)


def test_a_window_over_midnight_and_a_passed_one_move_to_the_next_occurrence() -> None:
    # 22:00-02:00: the next one opens tonight
    meter = meter_with([(pattern(hour=22, minute=0, second=0), pattern(hour=2, minute=0, second=0))], 0)
    assert delays(meter, 1) == [10 * HOUR]
    # 09:00-10:00 has passed today: tomorrow's
    meter = meter_with([(pattern(hour=9, minute=0, second=0), pattern(hour=10, minute=0, second=0))], 0)
    assert delays(meter, 1) == [21 * HOUR]


def test_the_earliest_of_several_windows_is_taken() -> None:
    windows = [
        (pattern(hour=20, minute=0, second=0), pattern(hour=21, minute=0, second=0)),
        (pattern(hour=13, minute=0, second=0), pattern(hour=13, minute=30, second=0)),
    ]
    assert delays(meter_with(windows, 0), 1) == [HOUR]


def test_day_of_week_last_day_and_dst_month_patterns() -> None:
    # Sundays 00:00-06:00: tomorrow (the meters' day is a Saturday)
    sunday = meter_with([(pattern(day_of_week=7, hour=0, minute=0, second=0), pattern(hour=6, minute=0, second=0))], 0)
    assert delays(sunday, 1) == [12 * HOUR]
    # the last day of the month, 00:00-23:59: 2026-12-31
    last = meter_with([(pattern(day=LAST_DAY, hour=0, minute=0, second=0), pattern(hour=23, minute=59, second=0))], 0)
    assert delays(last, 1) == [(25 * 24 + 12) * HOUR]
    # a DST month pattern names no moment: no window ahead
    dst = meter_with([(pattern(month=0xFE, hour=0, minute=0, second=0), pattern(hour=1, minute=0, second=0))], 0)
    assert response_delay(dst, random.Random(1)) is None


def test_a_deviation_places_the_window_in_its_zone() -> None:
    # 13:00-14:00 at UTC+1 (deviation -60 minutes, standard sign) is 12:00-13:00 UTC: open now
    window = (pattern(hour=13, minute=0, second=0, deviation=-60), pattern(hour=14, minute=0, second=0, deviation=-60))
    drawn = delays(meter_with([window], 7200))
    assert all(0 <= d < HOUR for d in drawn)


def test_an_absolute_window_in_the_past_leaves_none() -> None:
    window = (
        pattern(year=2026, month=12, day=4, hour=0, minute=0, second=0),
        pattern(year=2026, month=12, day=4, hour=23, minute=0, second=0),
    )
    assert response_delay(meter_with([window], 10), random.Random(1)) is None


@pytest.mark.asyncio
async def test_delayed_answers_queue_bound_and_order() -> None:
    clock = VirtualClock()
    dropped: list[int] = []
    sent: list[int] = []
    answers = DelayedAnswers(lambda: clock, max_per_meter=2, on_drop=lambda p: dropped.append(int(p.due)))
    meter = group_meter(0)

    def send(tag: int) -> Any:
        async def go() -> None:
            sent.append(tag)

        return go

    for tag, delay in ((1, 5.0), (2, 1.0), (3, 3.0)):
        answers.schedule(0, meter, delay, send(tag))
    assert dropped == [5] and len(answers) == 2 and answers.waiting(0) == 2
    await clock.advance(10)
    assert sent == [2, 3] and len(answers) == 0
    with pytest.raises(ValueError):
        DelayedAnswers(lambda: clock, max_per_meter=0)
    await answers.close()
