"""Data (class 1), Register (3) and Extended register (4), IEC 62056-6-2;
and the invocation counter object, a Data at 0.b.43.1.e.255."""

from __future__ import annotations

import datetime as _dt
import enum
from collections.abc import Callable
from typing import Any

from ..apdu_model import DataAccessResult
from ..types import (
    CosemValue,
    DateTime,
    DoubleLongUnsigned,
    Enum,
    Float32,
    Float64,
    Integer,
    NullData,
    Obis,
    Structure,
)
from .base import READ_ONLY, CosemObject, DataAccessError, attribute, method
from .typespec import ANY, DATE_TIME, SIMPLE, StructureOf, octets

__all__ = ["Unit", "Data", "Register", "ExtendedRegister", "InvocationCounter", "invocation_counter", "utc_now", "Now"]

Now = Callable[[], _dt.datetime]


def utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc)


class Unit(enum.IntEnum):
    """The unit codes of scaler_unit met most often (any 0..255 is accepted)."""

    SECOND = 7
    CELSIUS = 9
    CUBIC_METRE = 13
    WATT = 27
    VOLT_AMPERE = 28
    VAR = 29
    WATT_HOUR = 30
    VOLT_AMPERE_HOUR = 31
    VAR_HOUR = 32
    AMPERE = 33
    VOLT = 35
    HERTZ = 44
    PERCENT = 56
    COUNT = 255


class Data(CosemObject):
    """Data: one value of any type (class 1, version 0)."""

    class_id = 1
    version = 0

    value = attribute(2, ANY, access=READ_ONLY)

    def __init__(self, logical_name: Obis | str | bytes, value: Any = None) -> None:
        super().__init__(logical_name)
        self.value = NullData() if value is None else value


def _zero_of(value: CosemValue) -> CosemValue:
    if isinstance(value, int) and not isinstance(value, bool):
        return type(value)(0)
    if isinstance(value, (Float32, Float64)):
        return type(value)(0.0)
    return value


class Register(CosemObject):
    """Register: a value with its scaler and unit (class 3, version 0).

    The physical value is ``value * 10**scaler`` in ``unit``; ``reset`` (method 1)
    puts back ``default`` (zero of the value's type unless given).
    The value keeps the type it was built with: a SET of another type is
    type-unmatched, as on a meter whose register has one wire type.
    """

    class_id = 3
    version = 0

    def _read_value(self) -> CosemValue:
        return self._value

    def _write_value(self, new: CosemValue) -> None:
        current = getattr(self, "_value", None)
        if current is not None and type(new) is not type(current):
            raise DataAccessError(
                DataAccessResult.TYPE_UNMATCHED, f"the value is {type(current).__name__}, not {type(new).__name__}"
            )
        self._value = new

    value = attribute(2, SIMPLE, access=READ_ONLY)(_read_value).setter(_write_value)
    scaler_unit = attribute(3, StructureOf(Integer, Enum), access=READ_ONLY)

    def __init__(
        self,
        logical_name: Obis | str | bytes,
        value: Any = None,
        *,
        scaler: int = 0,
        unit: int = Unit.COUNT,
        default: Any = None,
    ) -> None:
        super().__init__(logical_name)
        self.value = DoubleLongUnsigned(0) if value is None else value
        self.scaler_unit = Structure((Integer(scaler), Enum(int(unit))))
        self._default: CosemValue = _zero_of(self.value) if default is None else SIMPLE.check(default)
        if type(self._default) is not type(self.value):
            raise TypeError(f"the default must be a {type(self.value).__name__} like the value")

    @property
    def scaler(self) -> int:
        return int(self.scaler_unit[0])

    @property
    def unit(self) -> int:
        return int(self.scaler_unit[1])

    @property
    def physical_value(self) -> float:
        """value × 10^scaler (in ``unit``)."""
        return float(self.value) * 10.0**self.scaler

    @method(1, Integer)
    def reset(self, parameters: Any) -> None:
        self.value = self._default


class ExtendedRegister(Register):
    """Extended register: a Register with a status and the time its value was
    captured (class 4, version 0). Every write of the value stamps
    capture_time from ``now`` (a callable giving an aware datetime)."""

    class_id = 4
    version = 0

    status = attribute(4, ANY, access=READ_ONLY)
    capture_time = attribute(5, DATE_TIME, access=READ_ONLY)

    def __init__(
        self,
        logical_name: Obis | str | bytes,
        value: Any = None,
        *,
        scaler: int = 0,
        unit: int = Unit.COUNT,
        status: Any = None,
        default: Any = None,
        now: Now = utc_now,
    ) -> None:
        self._now = now
        super().__init__(logical_name, value, scaler=scaler, unit=unit, default=default)
        self.status = NullData() if status is None else status

    def _write_stamped(self, new: CosemValue) -> None:
        self._write_value(new)
        self.capture_time = octets(DateTime.from_datetime(self._now()))

    value = attribute(2, SIMPLE, access=READ_ONLY)(Register._read_value).setter(_write_stamped)


class InvocationCounter(Data):
    """Data 0.x.43.1.x.255: the invocation counter, read from ``counter`` at every GET
    (a server points ``counter`` at its counter store: :meth:`rebind`)."""

    def __init__(self, logical_name: Obis | str | bytes, counter: Callable[[], int]) -> None:
        self._counter = counter
        CosemObject.__init__(self, logical_name)

    def _read_value(self) -> DoubleLongUnsigned:
        return DoubleLongUnsigned(self._counter())

    value = attribute(2, DoubleLongUnsigned, access=READ_ONLY)(_read_value)

    def rebind(self, counter: Callable[[], int]) -> None:
        """Read the value from ``counter`` from now on (this object's own state)."""
        self._counter = counter


_InvocationCounter = InvocationCounter


def invocation_counter(counter: Callable[[], int], *, instance: int = 0, channel: int = 0) -> Data:
    """The Data object 0.channel.43.1.instance.255 whose value (double-long-unsigned)
    is read from ``counter`` at every GET: the invocation counter paired with
    Security setup 0.0.43.0.instance.255."""
    return _InvocationCounter(Obis(bytes((0, channel, 43, 1, instance, 255))), counter)
