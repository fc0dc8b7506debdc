"""Demand register (class 5, version 0), IEC 62056-6-2: the average of a
quantity over the current period and the last completed one.

Attributes and methods as gurux-dlms has them (read from its object model,
not from the standard's text): 2 current_average_value, 3 last_average_value, 4 scaler_unit,
5 status, 6 capture_time, 7 start_time_current, 8 period (seconds,
double-long-unsigned), 9 number_of_periods (long-unsigned); method 1 reset,
method 2 next_period.  The averaging itself is the caller's: it writes
``current_average_value`` as the period runs and calls ``next_period`` (or
ACTION 2) at each period end, as with a Profile generic's capture.
"""

from __future__ import annotations

from typing import Any

from ..apdu_model import DataAccessResult
from ..types import (
    CosemValue,
    DateTime,
    DoubleLongUnsigned,
    Enum,
    Integer,
    LongUnsigned,
    NullData,
    Obis,
    OctetString,
    Structure,
)
from .base import READ_ONLY, READ_WRITE, CosemObject, DataAccessError, attribute, method
from .registers import Now, Unit, utc_now
from .typespec import ANY, DATE_TIME, SIMPLE, StructureOf

__all__ = ["DemandRegister"]


def _zero_of(value: CosemValue) -> CosemValue:
    if isinstance(value, int) and not isinstance(value, bool):
        return type(value)(0)
    if isinstance(value, float):
        return type(value)(0.0)
    return value


def _stamp(now: Now) -> OctetString:
    return bytes.__new__(OctetString, bytes(DateTime.from_datetime(now())))


class DemandRegister(CosemObject):
    """Demand register: both averages keep the type they were built with (a
    SET of another type is type-unmatched, as for a Register)."""

    class_id = 5
    version = 0

    def _typed(self, new: CosemValue) -> CosemValue:
        current = getattr(self, "_current", None)
        if current is not None and type(new) is not type(current):
            raise DataAccessError(
                DataAccessResult.TYPE_UNMATCHED, f"the average is {type(current).__name__}, not {type(new).__name__}"
            )
        return new

    def _read_current(self) -> CosemValue:
        return self._current

    def _write_current(self, new: CosemValue) -> None:
        self._current = self._typed(new)

    def _read_last(self) -> CosemValue:
        return self._last

    def _write_last(self, new: CosemValue) -> None:
        self._last = self._typed(new)

    current_average_value = attribute(2, SIMPLE, access=READ_ONLY)(_read_current).setter(_write_current)
    last_average_value = attribute(3, SIMPLE, access=READ_ONLY)(_read_last).setter(_write_last)
    scaler_unit = attribute(4, StructureOf(Integer, Enum), access=READ_ONLY)
    status = attribute(5, ANY, access=READ_ONLY)
    capture_time = attribute(6, DATE_TIME, access=READ_ONLY)
    start_time_current = attribute(7, DATE_TIME, access=READ_ONLY)
    period = attribute(8, DoubleLongUnsigned, access=READ_WRITE)
    number_of_periods = attribute(9, LongUnsigned, access=READ_WRITE)

    def __init__(
        self,
        logical_name: Obis | str | bytes,
        value: Any = None,
        *,
        scaler: int = 0,
        unit: int = Unit.COUNT,
        status: Any = None,
        period: int = 900,
        number_of_periods: int = 1,
        now: Now = utc_now,
    ) -> None:
        super().__init__(logical_name)
        self._now = now
        self.current_average_value = DoubleLongUnsigned(0) if value is None else value
        self.last_average_value = _zero_of(self.current_average_value)
        self.scaler_unit = Structure((Integer(scaler), Enum(int(unit))))
        self.status = NullData() if status is None else status
        self.period = DoubleLongUnsigned(period)
        self.number_of_periods = LongUnsigned(number_of_periods)
        self.capture_time = self.start_time_current = _stamp(now)

    @method(1, Integer)
    def reset(self, parameters: Any) -> None:
        """Both averages back to zero; a new period starts now."""
        zero = _zero_of(self.current_average_value)
        self.current_average_value = zero
        self.last_average_value = zero
        self.capture_time = self.start_time_current = _stamp(self._now)

    @method(2, Integer)
    def next_period(self, parameters: Any) -> None:
        """Close the current period: its average becomes the last one, stamped now."""
        self.last_average_value = self.current_average_value
        self.current_average_value = _zero_of(self.current_average_value)
        self.capture_time = self.start_time_current = _stamp(self._now)
