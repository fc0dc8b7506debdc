"""Reading through typed objects: a register's value with its scaler and
unit applied, and a profile's buffer as columns.

``await meter.scaled(Register("1.0.1.8.0.255"))`` reads the value and the
scaler_unit (the latter once per association: it is configuration) and
gives a :class:`Quantity`.  ``await meter.profile("1.0.99.1.0.255", start,
end, columns=...)`` reads the capture objects, asks for the rows whose clock
column lies in [start, end] (selective access by range; by entry with
``entries=(first, last)``) with only the columns named, and decodes the
buffer into a :class:`dlmsmesh.columns.Table` in one backend call.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import columns as _columns
from ..apdu_model import AttributeDescriptor, CaptureObject, entry_descriptor, range_descriptor
from ..cosem import CosemObject
from ..types import DateTime, Obis, OctetString

if TYPE_CHECKING:
    from .association import Association

__all__ = ["Quantity", "scaled", "profile", "capture_objects"]

_CLOCK_CLASS = 8


@dataclass(frozen=True)
class Quantity:
    """A register reading: ``value`` = ``raw`` × 10 ** ``scaler`` in ``unit``
    (the COSEM unit code, e.g. 30 for Wh)."""

    value: float | int
    unit: int
    raw: Any
    scaler: int


def _name(obj: CosemObject | Obis | str | bytes) -> tuple[int | None, Obis]:
    if isinstance(obj, CosemObject):
        return obj.class_id, obj.logical_name
    return None, Obis(obj)


async def scaled(association: Association, register: CosemObject | Obis | str | bytes, class_id: int = 3) -> Quantity:
    """The register's value with its scaler and unit applied."""
    cid, name = _name(register)
    cid = cid if cid is not None else class_id
    key = (cid, bytes(name))
    scaler_unit = association.cache.get(key)
    if scaler_unit is None:
        scaler_unit = await association.get(AttributeDescriptor(cid, name, 3))
        association.cache[key] = scaler_unit
    raw = await association.get(AttributeDescriptor(cid, name, 2))
    scaler, unit = int(scaler_unit[0]), int(scaler_unit[1])
    value: float | int
    if association.quirks.scaler_as_multiplier:
        value = int(raw) * association.quirks.multiplier(scaler)
    else:
        value = int(raw) * 10**scaler if scaler >= 0 else int(raw) / 10 ** (-scaler)
    return Quantity(value, unit, raw, scaler)


async def capture_objects(association: Association, name: Obis | str | bytes) -> list[CaptureObject]:
    """The profile's columns (attribute 3), cached per association."""
    key = (7, bytes(Obis(name)), "capture")
    found = association.cache.get(key)
    if found is None:
        found = [
            CaptureObject(int(c[0]), Obis(bytes(c[1])), int(c[2]), int(c[3]))
            for c in await association.get(AttributeDescriptor(7, Obis(name), 3))
        ]
        association.cache[key] = found
    return list(found)


def _date_time(moment: _dt.datetime | DateTime) -> OctetString:
    stamp = moment if isinstance(moment, DateTime) else DateTime.from_datetime(moment, clock_status=0)
    return bytes.__new__(OctetString, bytes(stamp))


async def profile(
    association: Association,
    name: Obis | str | bytes,
    start: _dt.datetime | DateTime | None = None,
    end: _dt.datetime | DateTime | None = None,
    *,
    columns: Sequence[int | CaptureObject] | None = None,
    entries: tuple[int, int] | None = None,
    numpy: bool | None = None,
) -> _columns.Table:
    """The profile's buffer as columns: every row, the rows of [start, end]
    (by its clock column) or the entries ``(first, last)`` (1-based, 0 =
    the last); ``columns`` picks columns by index in the capture objects
    (0-based) or by capture object."""
    captured = await capture_objects(association, name)
    chosen: tuple[CaptureObject, ...] = ()
    if columns is not None:
        chosen = tuple(captured[c] if isinstance(c, int) else c for c in columns)
    access = None
    if entries is not None:
        first, last = entries
        if chosen and any(c not in captured for c in chosen):
            raise ValueError("columns by entry must be capture objects of the profile")
        indexes = sorted(captured.index(c) + 1 for c in chosen) if chosen else [1, 0]
        if chosen and indexes != list(range(indexes[0], indexes[-1] + 1)):
            raise ValueError("by entry, the columns chosen must be adjacent")
        access = entry_descriptor(first, last, indexes[0], indexes[-1] if chosen else 0)
    elif start is not None or end is not None or chosen:
        clock = next((c for c in captured if c.class_id == _CLOCK_CLASS), None)
        if clock is None:
            raise ValueError(f"profile {Obis(name)} has no clock column to select a range by")
        low = _date_time(start if start is not None else _dt.datetime(1970, 1, 1, tzinfo=_dt.timezone.utc))
        high = _date_time(end if end is not None else _dt.datetime(2105, 1, 1, tzinfo=_dt.timezone.utc))
        access = range_descriptor(clock, low, high, chosen)
    raw = await association.get_raw(AttributeDescriptor(7, Obis(name), 2, access))
    return _columns.decode(raw, numpy=numpy)
