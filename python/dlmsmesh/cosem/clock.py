"""Clock (class 8, version 0), IEC 62056-6-2.

The clock runs on a time source the caller injects (``now``: a callable giving
an aware datetime; a simulator passes a virtual clock).  Setting the time or
adjusting it stores only an offset from that source, so many meters can share
one source.  ``time_zone`` has the sign of the date-time deviation: minutes
such that UTC = local standard time + time_zone (CET is -60).
"""

from __future__ import annotations

import calendar
import datetime as _dt
import enum
import math
from typing import Any

from ..apdu_model import ActionResult, DataAccessResult
from ..types import LAST_DAY as _LAST_DAY
from ..types import SECOND_LAST_DAY as _SECOND_LAST_DAY
from ..types import (
    Boolean,
    ClockStatus,
    DateTime,
    Enum,
    Integer,
    Long,
    Obis,
    OctetString,
    Structure,
    Unsigned,
)
from .base import READ_ONLY, READ_WRITE, ActionError, CosemObject, DataAccessError, attribute, method
from .registers import Now, utc_now
from .typespec import DATE_TIME, StructureOf, octets

__all__ = ["Clock", "ClockBase", "EU_DST_BEGIN", "EU_DST_END"]

_UTC = _dt.timezone.utc


#: minutes east of UTC -> the fixed-offset zone (a clock reads its time again and again)
_ZONES: dict[int, _dt.timezone] = {}

class ClockBase(enum.IntEnum):
    NOT_DEFINED = 0
    INTERNAL_CRYSTAL = 1
    MAINS_50_HZ = 2
    MAINS_60_HZ = 3
    GPS = 4
    RADIO_CONTROLLED = 5


#: the European rule as patterns: last Sunday of March 02:00, last Sunday of October 03:00
EU_DST_BEGIN = octets(DateTime.from_fields(None, 3, _LAST_DAY, 7, 2, 0, 0, 0))
EU_DST_END = octets(DateTime.from_fields(None, 10, _LAST_DAY, 7, 3, 0, 0, 0))


def _resolve(pattern: bytes, year: int) -> _dt.datetime | None:
    """The naive local moment a (possibly wildcard) date-time names in ``year``;
    None when it cannot be resolved (no month, DST month patterns)."""
    stamp = bytes.__new__(DateTime, bytes(pattern))
    month, day, dow = stamp.month, stamp.day, stamp.day_of_week
    if month is None or month > 12:
        return None
    year = stamp.year if stamp.year is not None else year
    last = calendar.monthrange(year, month)[1]
    if day == _LAST_DAY or day == _SECOND_LAST_DAY:
        date = _dt.date(year, month, last - (1 if day == _SECOND_LAST_DAY else 0))
        if dow is not None:  # the last such weekday on or before that day
            date -= _dt.timedelta(days=(date.isoweekday() - dow) % 7)
    elif day is not None:
        if day > last:
            return None
        date = _dt.date(year, month, day)
        if dow is not None:  # the first such weekday on or after that day
            date += _dt.timedelta(days=(dow - date.isoweekday()) % 7)
    elif dow is not None:
        date = _dt.date(year, month, 1)
        date += _dt.timedelta(days=(dow - date.isoweekday()) % 7)
    else:
        return None
    return _dt.datetime(date.year, date.month, date.day, stamp.hour or 0, stamp.minute or 0, stamp.second or 0)


class Clock(CosemObject):
    """Clock: local time, time zone, status, daylight-saving rule and clock base.

    Methods 1-3 round the time to the nearest quarter, measuring period
    (``measuring_period`` seconds) and minute; 5 presets a time that 4 applies
    within its validity interval; 6 shifts the time by -900..900 seconds.  A
    request the clock cannot honour (a pattern as the time, a shift out of
    range, no valid preset) answers other-reason.
    """

    class_id = 8
    version = 0

    daylight_savings_begin = attribute(5, DATE_TIME, access=READ_WRITE)
    daylight_savings_end = attribute(6, DATE_TIME, access=READ_WRITE)
    daylight_savings_deviation = attribute(7, Integer, access=READ_WRITE)
    daylight_savings_enabled = attribute(8, Boolean, access=READ_WRITE)
    clock_base = attribute(9, Enum, access=READ_ONLY)

    def __init__(
        self,
        logical_name: Obis | str | bytes = "0.0.1.0.0.255",
        *,
        now: Now = utc_now,
        time_zone: int = 0,
        dst_enabled: bool = False,
        dst_begin: bytes = EU_DST_BEGIN,
        dst_end: bytes = EU_DST_END,
        dst_deviation: int = 60,
        clock_base: int = ClockBase.INTERNAL_CRYSTAL,
        measuring_period: int = 900,
    ) -> None:
        super().__init__(logical_name)
        self._now = now
        self._offset = _dt.timedelta(0)
        self._preset: tuple[_dt.datetime, _dt.datetime, _dt.datetime] | None = None
        self.status_bits = ClockStatus(0)
        self.measuring_period = measuring_period
        self.time_zone = Long(time_zone)
        self.daylight_savings_begin = octets(dst_begin)
        self.daylight_savings_end = octets(dst_end)
        self.daylight_savings_deviation = Integer(dst_deviation)
        self.daylight_savings_enabled = bool(dst_enabled)
        self.clock_base = Enum(int(clock_base))

    # ------------------------------------------------------------ the time

    def utc(self) -> _dt.datetime:
        """The clock's current moment (aware, UTC)."""
        source = self._now()
        if source.tzinfo is None:
            source = source.replace(tzinfo=_UTC)
        return source.astimezone(_UTC) + self._offset

    def dst_active(self, utc: _dt.datetime | None = None) -> bool:
        if not self.daylight_savings_enabled:
            return False
        utc = self.utc() if utc is None else utc
        standard = (utc - _dt.timedelta(minutes=int(self.time_zone))).replace(tzinfo=None)
        begin = _resolve(self.daylight_savings_begin, standard.year)
        end = _resolve(self.daylight_savings_end, standard.year)
        if begin is None or end is None:
            return False
        # the end pattern is in daylight time: compare it in standard time
        end -= _dt.timedelta(minutes=int(self.daylight_savings_deviation))
        if begin <= end:
            return begin <= standard < end
        return standard >= begin or standard < end  # southern hemisphere

    def _zone(self, dst: bool) -> _dt.timezone:
        minutes = -int(self.time_zone) + (int(self.daylight_savings_deviation) if dst else 0)
        zone = _ZONES.get(minutes)
        if zone is None:
            zone = _ZONES[minutes] = _dt.timezone(_dt.timedelta(minutes=minutes))
        return zone

    def local(self) -> _dt.datetime:
        """The clock's local time (aware, with its deviation)."""
        utc = self.utc()
        return utc.astimezone(self._zone(self.dst_active(utc)))

    def _status(self, dst: bool) -> int:
        return int(self.status_bits) | (int(ClockStatus.DAYLIGHT_SAVING_ACTIVE) if dst else 0)

    def _read_time(self) -> OctetString:
        utc = self.utc()
        dst = self.dst_active(utc)
        return octets(DateTime.from_datetime(utc.astimezone(self._zone(dst)), clock_status=self._status(dst)))

    def _moment(self, value: bytes) -> _dt.datetime:
        moment = bytes.__new__(DateTime, bytes(value)).to_datetime()
        if moment.tzinfo is None:  # deviation not specified: the clock's own local time
            moment = moment.replace(tzinfo=self._zone(self.dst_active()))
        return moment

    def set_time(self, moment: _dt.datetime) -> None:
        """Set the clock to an aware moment (the source keeps running beneath)."""
        source = self._now()
        if source.tzinfo is None:
            source = source.replace(tzinfo=_UTC)
        self._offset = moment - source

    def _write_time(self, value: OctetString) -> None:
        try:
            moment = self._moment(value)
        except ValueError:
            raise DataAccessError(DataAccessResult.OTHER_REASON, "the time is a pattern, not a moment") from None
        self.set_time(moment)

    time = attribute(2, DATE_TIME, access=READ_WRITE)(_read_time).setter(_write_time)

    def _read_time_zone(self) -> Long:
        return self._time_zone

    def _write_time_zone(self, value: Long) -> None:
        if not -720 <= value <= 720:
            raise DataAccessError(DataAccessResult.OTHER_REASON, "time_zone is -720..720 minutes")
        self._time_zone = value

    time_zone = attribute(3, Long, access=READ_WRITE)(_read_time_zone).setter(_write_time_zone)

    def _read_status(self) -> Unsigned:
        return Unsigned(self._status(self.dst_active()))

    status = attribute(4, Unsigned, access=READ_ONLY)(_read_status)

    # ------------------------------------------------------------ methods

    def _round_to(self, period: int) -> None:
        local = self.local()
        midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
        elapsed = (local - midnight).total_seconds()
        nearest = math.floor(elapsed / period + 0.5) * period
        self._offset += _dt.timedelta(seconds=nearest - elapsed)

    @method(1, Integer)
    def adjust_to_quarter(self, parameters: Any) -> None:
        self._round_to(900)

    @method(2, Integer)
    def adjust_to_measuring_period(self, parameters: Any) -> None:
        if self.measuring_period <= 0:
            raise ActionError(ActionResult.OTHER_REASON, "no measuring period")
        self._round_to(self.measuring_period)

    @method(3, Integer)
    def adjust_to_minute(self, parameters: Any) -> None:
        self._round_to(60)

    @method(4, Integer)
    def adjust_to_preset_time(self, parameters: Any) -> None:
        if self._preset is None:
            raise ActionError(ActionResult.OTHER_REASON, "no preset time")
        preset, start, end = self._preset
        if not start <= self.utc() <= end:
            raise ActionError(ActionResult.OTHER_REASON, "outside the preset's validity interval")
        self.set_time(preset)
        self._preset = None

    @method(5, StructureOf(DATE_TIME, DATE_TIME, DATE_TIME))
    def preset_adjusting_time(self, parameters: Structure) -> None:
        try:
            preset, start, end = (self._moment(p) for p in parameters)
        except ValueError:
            raise ActionError(ActionResult.OTHER_REASON, "a preset field is a pattern") from None
        self._preset = (preset, start, end)

    @method(6, Long)
    def shift_time(self, parameters: Long) -> None:
        if not -900 <= parameters <= 900:
            raise ActionError(ActionResult.OTHER_REASON, "shift_time is -900..900 seconds")
        self._offset += _dt.timedelta(seconds=int(parameters))
