"""Profile generic (class 7, version 1), IEC 62056-6-2: a buffer of captured
rows, read whole or by range (selector 1) or entry (selector 2) with selected
columns.

The buffer is either kept here (``capture`` appends a row read from the
capture objects, first in first out, at most ``profile_entries`` rows) or
generated on demand: ``rows`` may be any sequence, e.g. :class:`GeneratedRows`,
which builds row *i* only when it is read.  Automatic capture every
``capture_period`` seconds is the caller's to schedule (``await
profile.action(2, Integer(0))``).
"""

from __future__ import annotations

import bisect
import datetime as _dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Union, overload

from ..apdu_model import ActionResult, CaptureObject, DataAccessResult
from ..types import (
    Array,
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
from .base import READ_ONLY, READ_WRITE, ActionError, CosemObject, DataAccessError, attribute, method
from .typespec import ANY, ArrayOf, StructureOf

__all__ = ["ProfileGeneric", "GeneratedRows", "CAPTURE_OBJECT", "SORT_FIFO"]

#: capture_object_definition {class_id, logical_name, attribute_index, data_index}
CAPTURE_OBJECT = StructureOf(LongUnsigned, OctetString, Integer, LongUnsigned)
SORT_FIFO = 1

Row = tuple[Any, ...]
Column = Union[CaptureObject, tuple[CosemObject, int], tuple[CosemObject, int, int]]


class GeneratedRows(Sequence[Row]):
    """A buffer whose row *i* is ``row_at(i)``, built when read; ``count`` is
    the number of rows, or a callable giving it (rows that grow with time)."""

    def __init__(self, count: int | Callable[[], int], row_at: Callable[[int], Row]) -> None:
        self._count = count
        self._row_at = row_at

    def __len__(self) -> int:
        return self._count() if callable(self._count) else self._count

    @overload
    def __getitem__(self, index: int) -> Row: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Row]: ...
    def __getitem__(self, index: int | slice) -> Row | Sequence[Row]:
        n = len(self)
        if isinstance(index, slice):
            return [self._row_at(i) for i in range(*index.indices(n))]
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(index)
        return self._row_at(index)


def _cod(definition: CaptureObject) -> Structure:
    return tuple.__new__(Structure, definition.to_data())


def _order_key(value: Any) -> Any:
    """What a range compares: the moment of a date-time (naive taken as UTC),
    the number of a numeric value, the value itself otherwise."""
    if isinstance(value, (bytes, DateTime)) and len(value) == 12:
        try:
            moment = bytes.__new__(DateTime, bytes(value)).to_datetime()
        except ValueError:
            return value
        return moment if moment.tzinfo is not None else moment.replace(tzinfo=_dt.timezone.utc)
    return value


class ProfileGeneric(CosemObject):
    """Profile generic: capture objects, a capture period and a buffer of rows."""

    class_id = 7
    version = 1

    capture_period = attribute(4, DoubleLongUnsigned, access=READ_WRITE)
    sort_method = attribute(5, Enum, access=READ_ONLY)
    sort_object = attribute(6, CAPTURE_OBJECT, access=READ_ONLY)

    def __init__(
        self,
        logical_name: Obis | str | bytes,
        capture_objects: Iterable[Column],
        *,
        capture_period: int = 0,
        profile_entries: int = 1000,
        rows: Sequence[Row] | None = None,
    ) -> None:
        super().__init__(logical_name)
        self._columns: list[tuple[CaptureObject, CosemObject | None]] = []
        for column in capture_objects:
            if isinstance(column, CaptureObject):
                self._columns.append((column, None))
            else:
                obj, index, *rest = column
                data_index = rest[0] if rest else 0
                self._columns.append((CaptureObject(obj.class_id, obj.logical_name, index, data_index), obj))
        self._generated = rows is not None
        self._kept: list[Row] = []
        self._rows: Sequence[Row] = rows if rows is not None else self._kept
        self._capacity = len(rows) if rows is not None else profile_entries
        self.capture_period = DoubleLongUnsigned(capture_period)
        self.sort_method = Enum(SORT_FIFO)
        self.sort_object = _cod(CaptureObject(0, Obis(bytes(6)), 0, 0))

    @property
    def columns(self) -> list[CaptureObject]:
        return [definition for definition, _ in self._columns]

    @property
    def rows(self) -> Sequence[Row]:
        return self._rows

    # ------------------------------------------------------------ attributes

    def _read_capture_objects(self) -> Array:
        return Array(_cod(definition) for definition in self.columns)

    capture_objects = attribute(3, ArrayOf(CAPTURE_OBJECT), access=READ_ONLY)(_read_capture_objects)

    def _read_entries_in_use(self) -> DoubleLongUnsigned:
        return DoubleLongUnsigned(len(self._rows))

    entries_in_use = attribute(7, DoubleLongUnsigned, access=READ_ONLY)(_read_entries_in_use)

    def _read_profile_entries(self) -> DoubleLongUnsigned:
        return DoubleLongUnsigned(len(self._rows) if self._generated else self._capacity)

    profile_entries = attribute(8, DoubleLongUnsigned, access=READ_ONLY)(_read_profile_entries)

    def _read_buffer(self, selector: int | None, parameters: Any) -> Array:
        if selector is None:
            return self._table(self._rows, None)
        try:
            if selector == 1:
                return self._by_range(parameters)
            return self._by_entry(parameters)
        except (TypeError, ValueError, IndexError):
            raise DataAccessError(DataAccessResult.OTHER_REASON, "malformed selective access parameters") from None

    buffer = attribute(2, ArrayOf(ANY), access=READ_ONLY, selectors=(1, 2))(_read_buffer)

    # ------------------------------------------------------------ selective access

    def _table(self, rows: Iterable[Row], columns: Sequence[int] | None) -> Array:
        if columns is None:
            return Array(tuple.__new__(Structure, row) for row in rows)
        return Array(tuple.__new__(Structure, (row[c] for c in columns)) for row in rows)

    def _column_of(self, cod: Any) -> int:
        wanted = CaptureObject(int(cod[0]), Obis(bytes(cod[1])), int(cod[2]), int(cod[3]))
        for i, definition in enumerate(self.columns):
            if definition == wanted:
                return i
        raise DataAccessError(DataAccessResult.OTHER_REASON, f"{wanted} is not captured")

    def _by_range(self, parameters: Any) -> Array:
        restricting, low, high, selected = parameters
        column = self._column_of(restricting)
        columns = [self._column_of(cod) for cod in selected] or None
        lo, hi = _order_key(low), _order_key(high)
        rows = self._rows
        keyed = [_order_key(row[column]) for row in rows] if not self._generated else None
        if keyed is not None:
            chosen = [row for row, k in zip(rows, keyed) if lo <= k <= hi]
            return self._table(chosen, columns)
        # a generated buffer is in capture order: find the bounds by bisection
        start = bisect.bisect_left(rows, lo, key=lambda row: _order_key(row[column]))
        stop = bisect.bisect_right(rows, hi, key=lambda row: _order_key(row[column]))
        return self._table(rows[start:stop], columns)

    def _by_entry(self, parameters: Any) -> Array:
        from_entry, to_entry, from_value, to_value = (int(p) for p in parameters)
        n, width = len(self._rows), len(self._columns)
        last_column = width if to_value == 0 else to_value
        if from_value < 1 or last_column > width or from_value > last_column:
            raise DataAccessError(DataAccessResult.OTHER_REASON, "selected columns out of range")
        first = max(from_entry, 1) - 1
        stop = n if to_entry == 0 else min(to_entry, n)
        columns = None if (from_value, last_column) == (1, width) else list(range(from_value - 1, last_column))
        return self._table(self._rows[first:stop] if first < stop else [], columns)

    # ------------------------------------------------------------ methods

    @method(1, Integer)
    def reset(self, parameters: Any) -> None:
        if self._generated:
            raise ActionError(ActionResult.OTHER_REASON, "a generated buffer cannot be reset")
        self._kept.clear()

    @method(2, Integer)
    async def capture(self, parameters: Any) -> None:
        if self._generated:
            raise ActionError(ActionResult.OTHER_REASON, "a generated buffer cannot capture")
        row: list[CosemValue] = []
        for definition, obj in self._columns:
            value: Any = NullData()
            if obj is not None:
                got = await obj.get(definition.attribute_index)
                if not isinstance(got, DataAccessResult):
                    value = got
                    if definition.data_index:
                        value = value[definition.data_index - 1]
            row.append(value)
        if self._capacity == 0:
            return
        self._kept.append(tuple(row))
        if len(self._kept) > self._capacity:
            del self._kept[0]  # first in, first out
