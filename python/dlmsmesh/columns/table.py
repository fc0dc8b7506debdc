"""The decoded columns: numpy arrays when numpy is importable, ``array.array``
otherwise, and the two composite columns (date-times, octet strings)."""

from __future__ import annotations

import datetime as _dt
import sys
from array import array
from collections.abc import Iterator, Sequence
from typing import Any

from .layout import Layout

__all__ = ["Table", "DateTimeColumn", "BytesColumn", "NAT", "UNITS", "numpy_module"]

#: the epoch of a date-time that names no moment (numpy's NaT as int64)
NAT = -(2**63)
#: epoch units: name -> ticks per second
UNITS: dict[str, int] = {"s": 1, "ms": 1000, "us": 1_000_000}
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc)


# The message of the ImportError of ``import numpy`` once it failed with numpy
# absent: Python does not remember a failed import, and searching sys.path
# again on every decode costs more than decoding a small profile.
_numpy_missing: str | None = None


def numpy_module(use: bool | None) -> Any:
    """numpy when ``use`` allows it and it imports, else None (``use=True``
    without numpy is an ImportError).

    A failed import is not tried again while ``"numpy"`` stays out of
    ``sys.modules``; ``sys.modules["numpy"] = None`` (how tests make numpy
    unimportable) is obeyed on every call and not remembered."""
    global _numpy_missing
    if use is False:
        return None
    if _numpy_missing is not None and "numpy" not in sys.modules:
        if use:
            raise ImportError(_numpy_missing, name="numpy")
        return None
    try:
        import numpy
    except ImportError as exc:
        if "numpy" not in sys.modules:
            _numpy_missing = str(exc)
        if use:
            raise
        return None
    return numpy


class DateTimeColumn:
    """A date-time column: ``epoch`` (int64, ``unit`` ticks since 1970-01-01
    UTC; :data:`NAT` where the octets name no moment), ``deviation`` (int16
    minutes as sent, -32768 = not specified) and ``status`` (uint8 clock status
    as sent, 0xFF = not specified).

    The epoch is UTC = local time + deviation.  Where the deviation is not
    specified it is the local wall-clock time read as UTC (a naive time).
    """

    __slots__ = ("epoch", "deviation", "status", "unit")

    def __init__(self, epoch: Any, deviation: Any, status: Any, unit: str = "s") -> None:
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {tuple(UNITS)}, not {unit!r}")
        self.epoch = epoch
        self.deviation = deviation
        self.status = status
        self.unit = unit

    def __len__(self) -> int:
        return len(self.epoch)

    def __repr__(self) -> str:
        return f"DateTimeColumn({len(self)} rows, unit={self.unit!r})"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DateTimeColumn):
            return NotImplemented
        return (
            self.unit == other.unit
            and list(self.epoch) == list(other.epoch)
            and list(self.deviation) == list(other.deviation)
            and list(self.status) == list(other.status)
        )

    __hash__ = None  # type: ignore[assignment]

    def datetime64(self) -> Any:
        """The epoch as a numpy ``datetime64[unit]`` array (NaT where missing)."""
        import numpy

        return numpy.asarray(self.epoch, dtype="int64").view(f"datetime64[{self.unit}]")

    def to_datetime(self, i: int) -> _dt.datetime | None:
        """Row ``i`` as an aware UTC ``datetime`` (naive when the deviation is
        not specified), or None for NaT."""
        e = int(self.epoch[i])
        if e == NAT:
            return None
        moment = _EPOCH + _dt.timedelta(microseconds=e * (1_000_000 // UNITS[self.unit]))
        if int(self.deviation[i]) == -0x8000:
            return moment.replace(tzinfo=None)
        return moment

    @classmethod
    def from_datetimes(
        cls, values: Sequence[_dt.datetime | None], *, unit: str = "s", clock_status: int | None = None
    ) -> DateTimeColumn:
        """From ``datetime`` objects: an aware one gives its UTC offset as the
        deviation (UTC+01:00 -> -60), a naive one is local time with the
        deviation not specified, None is NaT.  Without ``clock_status`` the
        status is 0x80 where ``dst()`` is non-zero, else 0."""
        ticks = UNITS[unit]
        epoch, deviation, status = array("q"), array("h"), array("B")
        for v in values:
            if v is None:
                epoch.append(NAT)
                deviation.append(-0x8000)
                status.append(0xFF if clock_status is None else clock_status)
                continue
            offset = v.utcoffset()
            naive = v.replace(tzinfo=None)
            delta = naive - _EPOCH.replace(tzinfo=None)
            micro = (delta.days * 86400 + delta.seconds) * 1_000_000 + delta.microseconds
            if offset is not None:
                micro -= (offset.days * 86400 + offset.seconds) * 1_000_000
            epoch.append(micro * ticks // 1_000_000)
            deviation.append(-0x8000 if offset is None else -int(offset.total_seconds() // 60))
            dst = v.dst()
            status.append(clock_status if clock_status is not None else (0x80 if dst else 0))
        return cls(epoch, deviation, status, unit)


class BytesColumn:
    """An octet-string (or visible-string, date, time) column: value ``i`` is
    ``data[offsets[i]:offsets[i + 1]]``; ``offsets`` has rows + 1 entries."""

    __slots__ = ("offsets", "data")

    def __init__(self, offsets: Any, data: bytes) -> None:
        self.offsets = offsets
        self.data = data

    @classmethod
    def from_values(cls, values: Sequence[bytes]) -> BytesColumn:
        offsets = array("q", [0])
        total = 0
        for v in values:
            total += len(v)
            offsets.append(total)
        return cls(offsets, b"".join(values))

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def __getitem__(self, i: int) -> bytes:
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("row out of range")
        return self.data[int(self.offsets[i]) : int(self.offsets[i + 1])]

    def __iter__(self) -> Iterator[bytes]:
        data, offsets = self.data, [int(x) for x in self.offsets]
        return (data[a:b] for a, b in zip(offsets, offsets[1:]))

    def tolist(self) -> list[bytes]:
        return list(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BytesColumn):
            return self.tolist() == other.tolist()
        if isinstance(other, (list, tuple)):
            return self.tolist() == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"BytesColumn({len(self)} rows, {len(self.data)} bytes)"


class Table:
    """Decoded columns, one per field of ``layout``.

    ``columns[k]`` is a numpy array (or ``array.array``) for number, enum and
    boolean fields, a :class:`DateTimeColumn` or a :class:`BytesColumn`;
    ``valid[k]`` is None, or for a nullable field a mask (1 present, 0
    null-data; the value there is 0 / NaT / empty).  ``table["name"]`` finds a
    column by field name.
    """

    __slots__ = ("layout", "columns", "valid", "rows", "unit")

    def __init__(self, layout: Layout, columns: list[Any], valid: list[Any], rows: int, unit: str) -> None:
        self.layout = layout
        self.columns = columns
        self.valid = valid
        self.rows = rows
        self.unit = unit

    def __len__(self) -> int:
        return self.rows

    def index(self, key: int | str) -> int:
        if isinstance(key, str):
            try:
                return self.layout.names.index(key)
            except ValueError:
                raise KeyError(key) from None
        return key

    def __getitem__(self, key: int | str) -> Any:
        return self.columns[self.index(key)]

    @property
    def names(self) -> list[str | None]:
        return self.layout.names

    def __repr__(self) -> str:
        kinds = ", ".join(f.type_name for f in self.layout.fields)
        return f"Table({self.rows} rows: {kinds})"
