"""The COSEM data types (the A-XDR ``Data`` CHOICE) as Python classes.

Each class is named after its ASN.1 alternative and subclasses the plain
Python type it resembles, so a decoded value compares equal to its plain
counterpart: ``DoubleLongUnsigned(5) == 5``, ``OctetString(b"ab") == b"ab"``,
``Array([...]) == [...]``, ``Structure((...)) == (...)``.  The class keeps the
wire type, so ``axdr.encode(axdr.decode(b)) == b``.

Instances are validated when built by hand (integer ranges, fixed lengths,
float32 exactness).  The decoders build them without re-validating: they have
already checked the bytes.

``to_json``/``from_json`` give the JSON form of docs/json.md (``data``).
"""

from __future__ import annotations

import datetime as _dt
import enum
import operator
import struct
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Union

from .errors import EncodeError

__all__ = [
    "DataType",
    "CosemValue",
    "NullData",
    "Array",
    "Structure",
    "Boolean",
    "BitString",
    "DoubleLong",
    "DoubleLongUnsigned",
    "OctetString",
    "VisibleString",
    "Utf8String",
    "Bcd",
    "Integer",
    "Long",
    "Unsigned",
    "LongUnsigned",
    "CompactArray",
    "Long64",
    "Long64Unsigned",
    "Enum",
    "Float32",
    "Float64",
    "DateTime",
    "Date",
    "Time",
    "DontCare",
    "DeltaInteger",
    "DeltaLong",
    "DeltaDoubleLong",
    "DeltaUnsigned",
    "DeltaLongUnsigned",
    "DeltaDoubleLongUnsigned",
    "DELTA_TYPES",
    "ClockStatus",
    "ArrayDescription",
    "StructureDescription",
    "TypeDescription",
    "Obis",
    "INTEGER_TYPES",
    "TYPES_BY_TAG",
    "TYPES_BY_NAME",
    "natural",
    "describe",
    "to_json",
    "from_json",
]


class DataType(enum.IntEnum):
    """Tag numbers of the ``Data`` CHOICE (IEC 62056-6-2; A-XDR, IEC 61334-6)."""

    NULL_DATA = 0
    ARRAY = 1
    STRUCTURE = 2
    BOOLEAN = 3
    BIT_STRING = 4
    DOUBLE_LONG = 5
    DOUBLE_LONG_UNSIGNED = 6
    OCTET_STRING = 9
    VISIBLE_STRING = 10
    UTF8_STRING = 12
    BCD = 13
    INTEGER = 15
    LONG = 16
    UNSIGNED = 17
    LONG_UNSIGNED = 18
    COMPACT_ARRAY = 19
    LONG64 = 20
    LONG64_UNSIGNED = 21
    ENUM = 22
    FLOAT32 = 23
    FLOAT64 = 24
    DATE_TIME = 25
    DATE = 26
    TIME = 27
    DELTA_INTEGER = 28
    DELTA_LONG = 29
    DELTA_DOUBLE_LONG = 30
    DELTA_UNSIGNED = 31
    DELTA_LONG_UNSIGNED = 32
    DELTA_DOUBLE_LONG_UNSIGNED = 33
    DONT_CARE = 255

    @property
    def asn1_name(self) -> str:
        return self.name.lower().replace("_", "-")


class CosemValue:
    """Marker base of every COSEM data type class."""

    __slots__ = ()
    TAG: ClassVar[int]
    NAME: ClassVar[str]


def _type_name(value: object) -> str:
    return type(value).__name__


# --------------------------------------------------------------------------
# null-data and dont-care: one instance each, equal to None
# --------------------------------------------------------------------------


class _Nothing(CosemValue):
    __slots__ = ()
    _instance: ClassVar[Any]

    def __new__(cls) -> Any:
        inst = cls.__dict__.get("_instance")
        if inst is None:
            inst = object.__new__(cls)
            cls._instance = inst
        return inst

    def __eq__(self, other: object) -> bool:
        return other is None or other is self

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(None)

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"

    def __reduce__(self) -> tuple[Any, tuple[()]]:
        return (type(self), ())


class NullData(_Nothing):
    """null-data (tag 0). ``NullData() == None``."""

    __slots__ = ()
    TAG = 0
    NAME = "null-data"


class DontCare(_Nothing):
    """dont-care (tag 255). ``DontCare() == None``."""

    __slots__ = ()
    TAG = 255
    NAME = "dont-care"


# --------------------------------------------------------------------------
# integers
# --------------------------------------------------------------------------


# Validation of hand-built numbers lives in the metaclasses' __call__, which
# runs before int()/float() sees the argument (so Unsigned("x") and
# Unsigned(nan) are TypeErrors like Unsigned(1.5), not whatever int() raises).
# The decoders build instances through int.__new__ or the unpickler's NEWOBJ,
# which call tp_new directly and skip it: they have already bounded the bytes.


class _IntType(type):
    def __call__(cls, value: Any = 0) -> Any:
        if type(value) is not int:
            if not isinstance(value, int):
                try:
                    value = operator.index(value)
                except TypeError:
                    raise TypeError(f"{cls.__name__} takes an integer, not {_type_name(value)}") from None
            value = int(value)
        if not cls.MIN <= value <= cls.MAX:  # type: ignore[attr-defined]
            raise ValueError(f"{cls.__name__} must be in {cls.MIN}..{cls.MAX}, got {value}")  # type: ignore[attr-defined]
        return int.__new__(cls, value)  # type: ignore[arg-type]


_F32 = struct.Struct(">f")


class _FloatType(type):
    def __call__(cls, value: Any = 0.0) -> Any:
        if isinstance(value, (str, bytes, bytearray, memoryview)):
            raise TypeError(f"{cls.__name__} takes a number, not {_type_name(value)}")
        f = float(value)
        if cls.SINGLE and f == f:  # type: ignore[attr-defined]
            try:
                exact = _F32.unpack(_F32.pack(f))[0] == f
            except OverflowError:
                exact = False
            if not exact:
                raise ValueError(f"{f!r} is not exactly representable as float32")
        return float.__new__(cls, f)  # type: ignore[arg-type]


class _IntValue(CosemValue, int, metaclass=_IntType):
    __slots__ = ()
    MIN: ClassVar[int]
    MAX: ClassVar[int]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({int(self)})"

    __str__ = __repr__


class DoubleLong(_IntValue):
    """double-long (tag 5): Integer32."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 5, "double-long", -(2**31), 2**31 - 1


class DoubleLongUnsigned(_IntValue):
    """double-long-unsigned (tag 6): Unsigned32."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 6, "double-long-unsigned", 0, 2**32 - 1


class Bcd(_IntValue):
    """bcd (tag 13): one octet holding two BCD digits, kept as the raw octet (0-255)."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 13, "bcd", 0, 255


class Integer(_IntValue):
    """integer (tag 15): Integer8."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 15, "integer", -128, 127


class Long(_IntValue):
    """long (tag 16): Integer16."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 16, "long", -(2**15), 2**15 - 1


class Unsigned(_IntValue):
    """unsigned (tag 17): Unsigned8."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 17, "unsigned", 0, 255


class LongUnsigned(_IntValue):
    """long-unsigned (tag 18): Unsigned16."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 18, "long-unsigned", 0, 2**16 - 1


class Long64(_IntValue):
    """long64 (tag 20): Integer64."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 20, "long64", -(2**63), 2**63 - 1


class Long64Unsigned(_IntValue):
    """long64-unsigned (tag 21): Unsigned64."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 21, "long64-unsigned", 0, 2**64 - 1


class Enum(_IntValue):
    """enum (tag 22): an ENUMERATED value, 0-255."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 22, "enum", 0, 255


class Boolean(_IntValue):
    """boolean (tag 3). Equal to ``True``/``False``; decodes any non-zero octet as TRUE."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 3, "boolean", 0, 1

    def __repr__(self) -> str:
        return f"Boolean({bool(self)})"

    __str__ = __repr__


# The delta types (tags 28-33) of newer editions, for delta-value-encoded
# compact arrays (conformance bit 6): on the wire a tag and a fixed 1/2/4-octet
# big-endian number, like integer .. double-long-unsigned.  What a delta is a
# delta *of* is not public, so a value is only ever the number it carries:
# nothing is accumulated, on decode or on encode.


class DeltaInteger(_IntValue):
    """delta-integer (tag 28): Integer8, a delta kept as sent."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 28, "delta-integer", -128, 127


class DeltaLong(_IntValue):
    """delta-long (tag 29): Integer16, a delta kept as sent."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 29, "delta-long", -(2**15), 2**15 - 1


class DeltaDoubleLong(_IntValue):
    """delta-double-long (tag 30): Integer32, a delta kept as sent."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 30, "delta-double-long", -(2**31), 2**31 - 1


class DeltaUnsigned(_IntValue):
    """delta-unsigned (tag 31): Unsigned8, a delta kept as sent."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 31, "delta-unsigned", 0, 255


class DeltaLongUnsigned(_IntValue):
    """delta-long-unsigned (tag 32): Unsigned16, a delta kept as sent."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 32, "delta-long-unsigned", 0, 2**16 - 1


class DeltaDoubleLongUnsigned(_IntValue):
    """delta-double-long-unsigned (tag 33): Unsigned32, a delta kept as sent."""

    __slots__ = ()
    TAG, NAME, MIN, MAX = 33, "delta-double-long-unsigned", 0, 2**32 - 1


DELTA_TYPES: tuple[type[_IntValue], ...] = (
    DeltaInteger,
    DeltaLong,
    DeltaDoubleLong,
    DeltaUnsigned,
    DeltaLongUnsigned,
    DeltaDoubleLongUnsigned,
)

INTEGER_TYPES: tuple[type[_IntValue], ...] = (
    Integer,
    Long,
    DoubleLong,
    Long64,
    Unsigned,
    LongUnsigned,
    DoubleLongUnsigned,
    Long64Unsigned,
    Enum,
    Bcd,
)

# --------------------------------------------------------------------------
# floats
# --------------------------------------------------------------------------


class Float32(CosemValue, float, metaclass=_FloatType):
    """float32 (tag 23): IEEE 754 binary32. Only values a binary32 holds exactly."""

    __slots__ = ()
    TAG, NAME = 23, "float32"
    SINGLE: ClassVar[bool] = True

    def __repr__(self) -> str:
        return f"Float32({float(self)!r})"

    __str__ = __repr__


class Float64(CosemValue, float, metaclass=_FloatType):
    """float64 (tag 24): IEEE 754 binary64."""

    __slots__ = ()
    TAG, NAME = 24, "float64"
    SINGLE: ClassVar[bool] = False

    def __repr__(self) -> str:
        return f"Float64({float(self)!r})"

    __str__ = __repr__


# --------------------------------------------------------------------------
# strings
# --------------------------------------------------------------------------


class OctetString(CosemValue, bytes):
    """octet-string (tag 9)."""

    __slots__ = ()
    TAG, NAME = 9, "octet-string"

    def __init__(self, value: Any = b"") -> None:
        if isinstance(value, (str, int)):
            raise TypeError(f"OctetString takes bytes, not {_type_name(value)}")

    def __repr__(self) -> str:
        return f"OctetString({bytes(self).hex()!r})" if self else "OctetString(b'')"

    __str__ = __repr__

    @classmethod
    def fromhex(cls, text: str) -> OctetString:  # type: ignore[override]
        return cls(bytes.fromhex(text))


class VisibleString(CosemValue, str):
    """visible-string (tag 10). Characters U+0000..U+00FF, one octet each on the wire."""

    __slots__ = ()
    TAG, NAME = 10, "visible-string"

    def __init__(self, value: Any = "") -> None:
        if not isinstance(value, str):
            raise TypeError(f"VisibleString takes str, not {_type_name(value)}")
        if not self.isascii():
            try:
                self.encode("latin-1")
            except UnicodeEncodeError as exc:
                raise ValueError(
                    f"VisibleString holds one octet per character; {exc.object[exc.start]!r} does not fit"
                ) from None

    def __repr__(self) -> str:
        return f"VisibleString({str(self)!r})"


class Utf8String(CosemValue, str):
    """utf8-string (tag 12). The length on the wire counts UTF-8 bytes."""

    __slots__ = ()
    TAG, NAME = 12, "utf8-string"

    def __init__(self, value: Any = "") -> None:
        if not isinstance(value, str):
            raise TypeError(f"Utf8String takes str, not {_type_name(value)}")
        try:
            self.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise ValueError(f"not encodable as UTF-8: {exc.reason}") from None

    def __repr__(self) -> str:
        return f"Utf8String({str(self)!r})"


class BitString(CosemValue, str):
    """bit-string (tag 4) as a text of ``0``/``1``, first transmitted bit first."""

    __slots__ = ()
    TAG, NAME = 4, "bit-string"

    def __init__(self, value: Any = "") -> None:
        if not isinstance(value, str):
            raise TypeError(f"BitString takes a str of 0/1, not {_type_name(value)}")
        if self.strip("01"):
            raise ValueError("BitString holds only the characters 0 and 1")

    @classmethod
    def from_bytes(cls, data: bytes, bits: int | None = None) -> BitString:
        """Bits of ``data``, most significant bit of the first byte first."""
        n = len(data) * 8 if bits is None else bits
        if not 0 <= n <= len(data) * 8:
            raise ValueError(f"{n} bits do not fit in {len(data)} bytes")
        text = bin(int.from_bytes(data, "big"))[2:].zfill(len(data) * 8) if data else ""
        return str.__new__(cls, text[:n])

    def to_bytes(self) -> bytes:  # type: ignore[override]
        """The content octets, unused trailing bits zero."""
        n = len(self)
        if not n:
            return b""
        nbytes = (n + 7) // 8
        return (int(self, 2) << (nbytes * 8 - n)).to_bytes(nbytes, "big")

    def __repr__(self) -> str:
        return f"BitString({str(self)!r})"


# --------------------------------------------------------------------------
# date-time, date, time
# --------------------------------------------------------------------------


class ClockStatus(enum.IntFlag):
    """Bits of the date-time clock status octet (IEC 62056-6-2, date and time formats)."""

    INVALID_VALUE = 0x01
    DOUBTFUL_VALUE = 0x02
    DIFFERENT_CLOCK_BASE = 0x04
    INVALID_CLOCK_STATUS = 0x08
    DAYLIGHT_SAVING_ACTIVE = 0x80


#: month octet: daylight-saving end / begin month
DST_END_MONTH = 0xFD
DST_BEGIN_MONTH = 0xFE
#: day-of-month octet: second-last / last day of the month
SECOND_LAST_DAY = 0xFD
LAST_DAY = 0xFE
#: deviation: not specified
DEVIATION_NOT_SPECIFIED = -0x8000


def _octet(name: str, value: int | None, lo: int, hi: int, special: tuple[int, ...] = ()) -> int:
    if value is None:
        return 0xFF
    if not (lo <= value <= hi or value in special):
        raise ValueError(f"{name} {value} is outside {lo}..{hi}")
    return value


class _DateParts:
    """Field access shared by DateTime and Date (bytes 0-4)."""

    __slots__ = ()

    @property
    def year(self) -> int | None:
        y = (self[0] << 8) | self[1]  # type: ignore[index]  # bytes in the classes that mix this in
        return None if y == 0xFFFF else y

    @property
    def month(self) -> int | None:
        """1-12, ``DST_END_MONTH``/``DST_BEGIN_MONTH``, or None when not specified."""
        return None if self[2] == 0xFF else self[2]  # type: ignore[index]  # bytes in the classes that mix this in

    @property
    def day(self) -> int | None:
        """1-31, ``SECOND_LAST_DAY``/``LAST_DAY``, or None when not specified."""
        return None if self[3] == 0xFF else self[3]  # type: ignore[index]  # bytes in the classes that mix this in

    @property
    def day_of_week(self) -> int | None:
        """1 = Monday ... 7 = Sunday, or None."""
        return None if self[4] == 0xFF else self[4]  # type: ignore[index]  # bytes in the classes that mix this in


#: date-time octets: year, month, day, day of week, hour, minute, second, hundredths, deviation, status
_DATE_TIME_FIELDS = struct.Struct(">HBBBBBBBhB")


def _date_octets(year: int | None, month: int | None, day: int | None, day_of_week: int | None) -> bytes:
    y = 0xFFFF if year is None else year
    if not 0 <= y <= 0xFFFF:
        raise ValueError(f"year {year} is outside 0..65534")
    return bytes(
        (
            y >> 8,
            y & 0xFF,
            _octet("month", month, 1, 12, (DST_END_MONTH, DST_BEGIN_MONTH)),
            _octet("day", day, 1, 31, (SECOND_LAST_DAY, LAST_DAY)),
            _octet("day_of_week", day_of_week, 1, 7),
        )
    )


def _time_octets(hour: int | None, minute: int | None, second: int | None, hundredths: int | None) -> bytes:
    return bytes(
        (
            _octet("hour", hour, 0, 23),
            _octet("minute", minute, 0, 59),
            _octet("second", second, 0, 59),
            _octet("hundredths", hundredths, 0, 99),
        )
    )


def _time_fields(octets: bytes) -> tuple[int | None, ...]:
    return tuple(None if b == 0xFF else b for b in octets)


class _FixedOctets(CosemValue, bytes):
    __slots__ = ()
    SIZE: ClassVar[int]

    def __init__(self, value: Any = None) -> None:
        if isinstance(value, (str, int)):
            raise TypeError(f"{type(self).__name__} takes {self.SIZE} bytes, not {_type_name(value)}")
        if len(self) != self.SIZE:
            raise ValueError(f"{type(self).__name__} is {self.SIZE} bytes, got {len(self)}")

    def __repr__(self) -> str:
        return f"{type(self).__name__}({bytes(self).hex()!r})"

    __str__ = __repr__

    @classmethod
    def fromhex(cls, text: str) -> Any:  # type: ignore[override]
        return cls(bytes.fromhex(text))


class DateTime(_DateParts, _FixedOctets):
    """date-time (tag 25): the 12 octets of IEC 62056-6-2 (date and time formats).

    ``deviation`` is in minutes with the standard sign: UTC = local time +
    deviation (CET sends -60).  Meters that use the opposite sign are read with
    ``standard_sign=False``.
    """

    __slots__ = ()
    TAG, NAME, SIZE = 25, "date-time", 12

    @classmethod
    def from_fields(
        cls,
        year: int | None = None,
        month: int | None = None,
        day: int | None = None,
        day_of_week: int | None = None,
        hour: int | None = None,
        minute: int | None = None,
        second: int | None = None,
        hundredths: int | None = None,
        deviation: int | None = None,
        clock_status: int | None = None,
    ) -> DateTime:
        """Build from fields; None means 'not specified'."""
        if deviation is None:
            dev = -0x8000
        elif -720 <= deviation <= 720:
            dev = deviation
        else:
            raise ValueError(f"deviation {deviation} is outside -720..720 minutes")
        status = _octet("clock_status", clock_status, 0, 0xFF)
        raw = (
            _date_octets(year, month, day, day_of_week)
            + _time_octets(hour, minute, second, hundredths)
            + dev.to_bytes(2, "big", signed=True)
            + bytes((status,))
        )
        return bytes.__new__(cls, raw)

    @classmethod
    def from_datetime(
        cls,
        value: _dt.datetime,
        *,
        clock_status: int | None = None,
        day_of_week: bool = True,
        standard_sign: bool = True,
    ) -> DateTime:
        """From a ``datetime``. An aware value gives its UTC offset as deviation; a
        naive one leaves deviation unspecified. Without ``clock_status`` the DST
        bit follows ``value.dst()``."""
        deviation: int | None = None
        offset = value.utcoffset()
        if offset is not None:
            minutes = int(offset.total_seconds() // 60)
            deviation = -minutes if standard_sign else minutes
        if clock_status is None:
            dst = value.dst()
            clock_status = int(ClockStatus.DAYLIGHT_SAVING_ACTIVE) if dst else 0
        if day_of_week and (deviation is None or -720 <= deviation <= 720) and 0 <= clock_status <= 0xFF:
            # every field of a datetime is in range: packed at once (a meter's
            # clock is read this way on every GET of it)
            return bytes.__new__(
                cls,
                _DATE_TIME_FIELDS.pack(
                    value.year, value.month, value.day, value.isoweekday(), value.hour, value.minute,
                    value.second, value.microsecond // 10000, -0x8000 if deviation is None else deviation,
                    clock_status,
                ),
            )  # fmt: skip
        return cls.from_fields(
            value.year,
            value.month,
            value.day,
            value.isoweekday() if day_of_week else None,
            value.hour,
            value.minute,
            value.second,
            value.microsecond // 10000,
            deviation,
            clock_status,
        )

    @property
    def hour(self) -> int | None:
        return None if self[5] == 0xFF else self[5]

    @property
    def minute(self) -> int | None:
        return None if self[6] == 0xFF else self[6]

    @property
    def second(self) -> int | None:
        return None if self[7] == 0xFF else self[7]

    @property
    def hundredths(self) -> int | None:
        return None if self[8] == 0xFF else self[8]

    @property
    def deviation(self) -> int | None:
        """Minutes, standard sign (UTC = local + deviation); None when not specified."""
        d = int.from_bytes(self[9:11], "big", signed=True)
        return None if d == -0x8000 else d

    @property
    def clock_status(self) -> ClockStatus | None:
        return None if self[11] == 0xFF else ClockStatus(self[11])

    @property
    def date(self) -> Date:
        return bytes.__new__(Date, self[0:5])

    @property
    def time(self) -> Time:
        return bytes.__new__(Time, self[5:9])

    def to_datetime(self, *, standard_sign: bool = True) -> _dt.datetime:
        """The moment as a ``datetime``: aware when deviation is given, naive otherwise.

        Raises ValueError when a field it needs is not specified or is a pattern
        (DST month, last day of month)."""
        y, mo, d = self.year, self.month, self.day
        h, mi, s = self.hour, self.minute, self.second
        missing = [
            n
            for n, v in (("year", y), ("month", mo), ("day", d), ("hour", h), ("minute", mi), ("second", s))
            if v is None
        ]
        if missing:
            raise ValueError(f"date-time leaves {', '.join(missing)} unspecified")
        assert y is not None and mo is not None and d is not None and h is not None and mi is not None and s is not None
        if mo > 12 or d > 31:
            raise ValueError("date-time is a pattern (DST month or last day), not a moment")
        micro = (self.hundredths or 0) * 10000
        dev = self.deviation
        tz = None
        if dev is not None:
            tz = _dt.timezone(_dt.timedelta(minutes=-dev if standard_sign else dev))
        return _dt.datetime(y, mo, d, h, mi, s, micro, tzinfo=tz)

    def __repr__(self) -> str:
        return f"DateTime({bytes(self).hex()!r})"

    __str__ = __repr__


class Date(_DateParts, _FixedOctets):
    """date (tag 26): year, month, day of month, day of week (5 octets)."""

    __slots__ = ()
    TAG, NAME, SIZE = 26, "date", 5

    @classmethod
    def from_fields(
        cls,
        year: int | None = None,
        month: int | None = None,
        day: int | None = None,
        day_of_week: int | None = None,
    ) -> Date:
        return bytes.__new__(cls, _date_octets(year, month, day, day_of_week))

    @classmethod
    def from_date(cls, value: _dt.date, *, day_of_week: bool = True) -> Date:
        return cls.from_fields(value.year, value.month, value.day, value.isoweekday() if day_of_week else None)

    def to_date(self) -> _dt.date:
        y, m, d = self.year, self.month, self.day
        if y is None or m is None or d is None or m > 12 or d > 31:
            raise ValueError("date is a pattern or leaves fields unspecified")
        return _dt.date(y, m, d)

    def __repr__(self) -> str:
        return f"Date({bytes(self).hex()!r})"

    __str__ = __repr__


class Time(_FixedOctets):
    """time (tag 27): hour, minute, second, hundredths (4 octets)."""

    __slots__ = ()
    TAG, NAME, SIZE = 27, "time", 4

    @classmethod
    def from_fields(
        cls,
        hour: int | None = None,
        minute: int | None = None,
        second: int | None = None,
        hundredths: int | None = None,
    ) -> Time:
        return bytes.__new__(cls, _time_octets(hour, minute, second, hundredths))

    @classmethod
    def from_time(cls, value: _dt.time) -> Time:
        return cls.from_fields(value.hour, value.minute, value.second, value.microsecond // 10000)

    @property
    def hour(self) -> int | None:
        return _time_fields(self)[0]

    @property
    def minute(self) -> int | None:
        return _time_fields(self)[1]

    @property
    def second(self) -> int | None:
        return _time_fields(self)[2]

    @property
    def hundredths(self) -> int | None:
        return _time_fields(self)[3]

    def to_time(self) -> _dt.time:
        h, m, s, c = _time_fields(self)
        if h is None or m is None or s is None:
            raise ValueError("time leaves fields unspecified")
        return _dt.time(h, m, s, (c or 0) * 10000)

    def __repr__(self) -> str:
        return f"Time({bytes(self).hex()!r})"

    __str__ = __repr__


# --------------------------------------------------------------------------
# containers
# --------------------------------------------------------------------------


class Array(CosemValue, list):  # type: ignore[type-arg]
    """array (tag 1): a SEQUENCE OF Data. Equal to a list of the same items."""

    __slots__ = ()
    TAG, NAME = 1, "array"

    def __repr__(self) -> str:
        return f"Array({list.__repr__(self)})"


class Structure(CosemValue, tuple):  # type: ignore[type-arg]
    """structure (tag 2): a SEQUENCE of Data. Equal to a tuple of the same items."""

    __slots__ = ()
    TAG, NAME = 2, "structure"

    def __repr__(self) -> str:
        return f"Structure({tuple.__repr__(self)})"


@dataclass(frozen=True)
class ArrayDescription:
    """TypeDescription of an array: ``count`` elements (Unsigned16) of ``element``."""

    count: int
    element: TypeDescription

    def __post_init__(self) -> None:
        if not 0 <= self.count <= 0xFFFF:
            raise ValueError("an array description counts 0..65535 elements")


@dataclass(frozen=True)
class StructureDescription:
    """TypeDescription of a structure: one description per member."""

    elements: tuple[TypeDescription, ...]

    def __post_init__(self) -> None:
        if not isinstance(self.elements, tuple):
            object.__setattr__(self, "elements", tuple(self.elements))


#: A compact-array TypeDescription: a simple type's class, or one of the two above.
TypeDescription = Union[type, ArrayDescription, StructureDescription]


class CompactArray(CosemValue, list):  # type: ignore[type-arg]
    """compact-array (tag 19): elements sharing one ``description``, sent without tags.

    The items match the description; built by hand they may be typed values or
    plain ones (typed from the description on encode); decoded, they follow the
    convention of :mod:`dlmsmesh.axdr` (plain where the plain type is unambiguous).
    """

    __slots__ = ("description",)
    TAG, NAME = 19, "compact-array"
    description: TypeDescription

    def __init__(self, description: TypeDescription, items: Iterable[Any] = ()) -> None:
        _check_description(description, top=True)
        list.__init__(self, items)
        self.description = description

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CompactArray) and other.description != self.description:
            return False
        return list.__eq__(self, other)  # type: ignore[arg-type]

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"CompactArray({_description_repr(self.description)}, {list.__repr__(self)})"

    def __reduce__(self) -> Any:
        return (CompactArray, (self.description, list(self)))


def _description_repr(d: TypeDescription) -> str:
    if isinstance(d, type):
        return d.__name__
    return repr(d)


def _check_description(d: Any, top: bool = False) -> None:
    # Zero-size descriptions are refused here as the decoders refuse them: a
    # value built from one would encode to bytes that do not decode.
    if isinstance(d, ArrayDescription):
        if d.count == 0:
            raise ValueError("a compact-array description cannot hold an array of 0 elements")
        _check_description(d.element)
    elif isinstance(d, StructureDescription):
        if not d.elements:
            raise ValueError("a compact-array description cannot hold an empty structure")
        for e in d.elements:
            _check_description(e)
    elif not (isinstance(d, type) and issubclass(d, CosemValue) and d not in (Array, Structure, CompactArray)):
        raise TypeError(f"not a compact-array type description: {d!r}")
    elif d in (NullData, DontCare):
        raise ValueError(f"{d.NAME} has no content and cannot describe compact-array elements")


# --------------------------------------------------------------------------
# tables
# --------------------------------------------------------------------------

ALL_TYPES: tuple[type[CosemValue], ...] = (
    NullData,
    Array,
    Structure,
    Boolean,
    BitString,
    DoubleLong,
    DoubleLongUnsigned,
    OctetString,
    VisibleString,
    Utf8String,
    Bcd,
    Integer,
    Long,
    Unsigned,
    LongUnsigned,
    CompactArray,
    Long64,
    Long64Unsigned,
    Enum,
    Float32,
    Float64,
    DateTime,
    Date,
    Time,
    *DELTA_TYPES,
    DontCare,
)

TYPES_BY_TAG: dict[int, type[CosemValue]] = {c.TAG: c for c in ALL_TYPES}
TYPES_BY_NAME: dict[str, type[CosemValue]] = {c.NAME: c for c in ALL_TYPES}


# --------------------------------------------------------------------------
# OBIS codes
# --------------------------------------------------------------------------


class Obis(bytes):
    """An OBIS code: six octets, written ``"a.b.c.d.e.f"``.

    Also read from the usual ``"1-0:1.8.0*255"`` and ``"1-0:1.8.0.255"``
    notations. Being bytes, it encodes as an octet-string of 6.
    """

    __slots__ = ()

    def __new__(cls, value: str | bytes | Sequence[int]) -> Obis:
        if type(value) is cls:
            return value  # immutable: an Obis is its own copy
        if isinstance(value, int):  # bytes(6) would be six zero octets
            raise TypeError(f"Obis takes text, bytes or six integers, not {_type_name(value)}")
        if isinstance(value, str):
            text = value.strip().replace("-", ".").replace(":", ".").replace("*", ".").replace("&", ".")
            parts = text.split(".")
            if len(parts) != 6 or not all(p.isdigit() for p in parts):
                raise ValueError(f"not an OBIS code: {value!r}")
            nums = [int(p) for p in parts]
            if any(n > 255 for n in nums):
                raise ValueError(f"OBIS groups are 0..255: {value!r}")
            return bytes.__new__(cls, bytes(nums))
        raw = bytes(value)
        if len(raw) != 6:
            raise ValueError(f"an OBIS code is 6 bytes, got {len(raw)}")
        return bytes.__new__(cls, raw)

    def __str__(self) -> str:
        return ".".join(map(str, self))

    def __repr__(self) -> str:
        return f"Obis({str(self)!r})"


# --------------------------------------------------------------------------
# plain values -> typed values
# --------------------------------------------------------------------------

_INT_CHOICES = ", ".join(c.__name__ for c in INTEGER_TYPES)


def natural(value: Any) -> CosemValue:
    """The typed value a plain Python value stands for.

    None -> NullData, bool -> Boolean, bytes -> OctetString, str ->
    VisibleString (ASCII) or Utf8String, float -> Float64, list -> Array,
    tuple -> Structure, datetime/date/time -> DateTime/Date/Time.  A bare int
    has no natural type; that is an error naming the choices.
    """
    if isinstance(value, CosemValue):
        return value
    if value is None:
        return NullData()
    if isinstance(value, bool):
        return int.__new__(Boolean, value)
    if isinstance(value, int):
        raise EncodeError(f"the integer {value} has no natural COSEM type: wrap it in one of {_INT_CHOICES}")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes.__new__(OctetString, bytes(value))
    if isinstance(value, str):
        return str.__new__(VisibleString if value.isascii() else Utf8String, value)  # type: ignore[return-value]
    if isinstance(value, float):
        return float.__new__(Float64, value)
    if isinstance(value, list):
        return Array(value)
    if isinstance(value, tuple):
        return tuple.__new__(Structure, value)
    if isinstance(value, _dt.datetime):
        return DateTime.from_datetime(value)
    if isinstance(value, _dt.date):
        return Date.from_date(value)
    if isinstance(value, _dt.time):
        return Time.from_time(value)
    raise EncodeError(f"{type(value).__name__} has no COSEM data type")


def describe(value: Any) -> TypeDescription:
    """The compact-array TypeDescription a (typed) value matches."""
    v = natural(value)
    if isinstance(v, Structure):
        return StructureDescription(tuple(describe(x) for x in v))
    if isinstance(v, Array):
        if not v:
            raise ValueError("cannot describe the element of an empty array")
        return ArrayDescription(len(v), describe(v[0]))
    if isinstance(v, CompactArray):
        raise ValueError("a compact-array cannot be described inside a compact-array")
    return type(v)


# --------------------------------------------------------------------------
# JSON
# --------------------------------------------------------------------------


def _description_to_json(d: TypeDescription) -> dict[str, Any]:
    if isinstance(d, ArrayDescription):
        return {"type": "array", "count": d.count, "element": _description_to_json(d.element)}
    if isinstance(d, StructureDescription):
        return {"type": "structure", "elements": [_description_to_json(e) for e in d.elements]}
    return {"type": d.NAME}  # type: ignore[union-attr,attr-defined]


def _description_from_json(obj: Any) -> TypeDescription:
    if not isinstance(obj, dict) or "type" not in obj:
        raise ValueError(f"not a type description: {obj!r}")
    name = obj["type"]
    if name == "array":
        return ArrayDescription(int(obj["count"]), _description_from_json(obj["element"]))
    if name == "structure":
        return StructureDescription(tuple(_description_from_json(e) for e in obj["elements"]))
    cls = TYPES_BY_NAME.get(name)
    if cls is None or cls in (Array, Structure, CompactArray):
        raise ValueError(f"not a simple type name: {name!r}")
    return cls


def _as_described(d: TypeDescription, x: Any) -> Any:
    """A compact-array item typed by its description: the items may be plain
    (decoded structures are tuples, plain ints are accepted when building)."""
    if isinstance(d, StructureDescription):
        if not isinstance(x, (tuple, list)) or len(x) != len(d.elements):
            raise ValueError(f"compact-array item {x!r} does not match {d}")
        return Structure(_as_described(m, e) for m, e in zip(d.elements, x))
    if isinstance(d, ArrayDescription):
        if not isinstance(x, (tuple, list)) or len(x) != d.count:
            raise ValueError(f"compact-array item {x!r} is not {d.count} items")
        return Array(_as_described(d.element, e) for e in x)
    return x if type(x) is d else d(x)


def to_json(value: Any) -> dict[str, Any]:
    """``{"type": ASN.1 name, "value": ...}`` (the ``data`` object of docs/json.md)."""
    v = natural(value)
    name = v.NAME
    out: Any
    if isinstance(v, _Nothing):
        out = None
    elif isinstance(v, Boolean):
        out = bool(v)
    elif isinstance(v, int):
        out = int(v)
    elif isinstance(v, float):
        out = float(v)
    elif isinstance(v, bytes):
        out = v.hex()
    elif isinstance(v, str):
        out = str(v)
    elif isinstance(v, CompactArray):
        d = v.description
        return {
            "type": name,
            "description": _description_to_json(d),
            "value": [to_json(_as_described(d, x)) for x in v],
        }
    else:  # Array, Structure
        out = [to_json(x) for x in v]  # type: ignore[attr-defined]
    return {"type": name, "value": out}


def from_json(obj: Any) -> CosemValue:
    """The typed value of a JSON object made by :func:`to_json`."""
    if not isinstance(obj, dict) or "type" not in obj:
        raise ValueError(f"expected {{'type': ..., 'value': ...}}, got {obj!r}")
    name = obj["type"]
    cls = TYPES_BY_NAME.get(name)
    if cls is None:
        raise ValueError(f"unknown COSEM data type {name!r}")
    if cls is CompactArray:
        desc = _description_from_json(obj.get("description"))
        return CompactArray(desc, [from_json(x) for x in obj.get("value", [])])
    if "value" not in obj:
        raise ValueError(f"{name} needs a 'value'")
    val = obj["value"]
    if issubclass(cls, _Nothing):
        if val is not None:
            raise ValueError(f"{name} has value null")
        return cls()
    if cls is Boolean:
        if not isinstance(val, bool):
            raise ValueError("boolean takes true or false")
        return Boolean(val)
    if issubclass(cls, _IntValue):
        if isinstance(val, bool) or not isinstance(val, int):
            raise ValueError(f"{name} takes a JSON integer")
        return cls(val)
    if cls in (Float32, Float64):
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            raise ValueError(f"{name} takes a JSON number")
        return cls(float(val))
    if cls in (OctetString, DateTime, Date, Time):
        if not isinstance(val, str):
            raise ValueError(f"{name} takes a hex string")
        return cls(bytes.fromhex(val))
    if cls in (VisibleString, Utf8String, BitString):
        if not isinstance(val, str):
            raise ValueError(f"{name} takes a string")
        return cls(val)
    if not isinstance(val, list):
        raise ValueError(f"{name} takes a list")
    items = [from_json(x) for x in val]
    return Array(items) if cls is Array else Structure(items)
