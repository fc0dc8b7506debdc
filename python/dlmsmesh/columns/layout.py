"""The layout of a profile-generic buffer: one :class:`Field` per column.

A field names the ``Data`` tag every row carries in that position (or None:
taken from the first row), whether an octet-string holds a date-time, and
whether null-data may stand for a missing value.  :func:`infer` completes a
layout from the first row of a buffer; :func:`from_capture_objects` starts
one from a profile generic's capture_objects (attribute 3).
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from .. import _status as S
from .._common.columns import (
    DATETIME_OCTETS,
    LAYER,
    TAGS,
    Field,
    FieldSpec,
    Kind,
    Layout,
    decode_error,
    read_length,
    tag_name,
)

__all__ = [
    "Kind",
    "Field",
    "Layout",
    "FieldSpec",
    "DATETIME_OCTETS",
    "infer",
    "from_capture_objects",
    "read_header",
    "decode_error",
    "read_length",
    "tag_name",
    "TAGS",
    "LAYER",
]


def read_header(buf: Any, offset: int) -> tuple[int, int]:
    """(rows, offset of the first row) of the array at ``offset``."""
    end = len(buf)
    if offset >= end:
        raise decode_error(S.TRUNCATED, offset, -1, -1, -1, None)
    if buf[offset] != 1:
        raise decode_error(S.COL_NOT_ARRAY, offset, -1, -1, buf[offset], None)
    rows, p = read_length(buf, offset + 1, end)
    if rows > end - p:
        raise decode_error(S.TOO_MANY, offset + 1, -1, -1, -1, None)
    return rows, p


_DATETIME = struct.Struct(">HBBBBBBBhB")


def looks_like_datetime(octets: bytes) -> bool:
    """Whether 12 octets read as a date-time: every field in its range or
    'not specified' (IEC 62056-6-2, date and time formats)."""
    if len(octets) != 12:
        return False
    _, mo, d, wd, h, mi, s, c, dev, _ = _DATETIME.unpack(octets)
    return bool(
        (1 <= mo <= 12 or mo >= 0xFD)
        and (1 <= d <= 31 or d >= 0xFD)
        and (1 <= wd <= 7 or wd == 0xFF)
        and (h <= 23 or h == 0xFF)
        and (mi <= 59 or mi == 0xFF)
        and (s <= 59 or s == 0xFF)
        and (c <= 99 or c == 0xFF)
        and (-720 <= dev <= 720 or dev == -0x8000)
    )


# (given layout, bare, per field its tag or -tag for a date-time octet-string) -> inferred layout
_INFERRED: dict[tuple[Any, ...], Layout] = {}
_INFERRED_MAX = 256


def _first_row(buf: Any, p: int, end: int, given: Layout | None) -> tuple[int, ...]:
    """Per field of row 0 (at ``p``) the tag to use: the given one, or the
    one found (negated for an octet-string of 12 that reads as a date-time)."""
    if p >= end:
        raise decode_error(S.TRUNCATED, p, 0, -1, -1, None)
    if buf[p] != 2:
        raise decode_error(S.COL_ROW, p, 0, -1, buf[p], given)
    at = p + 1
    width, p = read_length(buf, at, end, 0)
    if given is not None and width != len(given):
        raise decode_error(S.COL_ROW, at, 0, -1, width, given)
    if width == 0:
        raise decode_error(S.COL_ROW, at, 0, -1, 0, None)
    fields = given.fields if given is not None else None
    out = []
    for k in range(width):
        want = fields[k] if fields is not None else None
        p, tag = _field(buf, p, end, k, want)
        out.append(tag)
    return tuple(out)


def _field(buf: Any, p: int, end: int, k: int, given: Field | None) -> tuple[int, int]:
    """(offset after the field at ``p`` of row 0, its tag as _first_row gives it)."""
    if p >= end:
        raise decode_error(S.TRUNCATED, p, 0, k, -1, None)
    tag = buf[p]
    entry = TAGS.get(tag)
    infer_it = given is None or given.tag is None
    if entry is None:
        if infer_it or tag != 0:  # null-data of a given type: the decode decides
            raise decode_error(S.COL_TYPE, p, 0, k, tag, None)
        return p + 1, given.tag  # type: ignore[union-attr,return-value]
    if entry[2]:
        q = p + 1 + entry[2]
    else:
        n, c = read_length(buf, p + 1, end, 0, k)
        q = c + n
        if infer_it and tag == 9 and n == 12 and not (given is not None and given.datetime):
            if c + 12 <= end and looks_like_datetime(bytes(buf[c : c + 12])):
                tag = -9
    if not infer_it:
        tag = given.tag  # type: ignore[union-attr]
    return q, tag


def _complete(given: Layout | None, tags: tuple[int, ...], bare: bool) -> Layout:
    key = (given, bare, tags)
    lay = _INFERRED.get(key)
    if lay is None:
        fields = []
        for k, tag in enumerate(tags):
            f = given.fields[k] if given is not None else None
            if f is not None and f.tag is not None:
                fields.append(f)
                continue
            dt = tag == 25 or tag == -9 or (f is not None and f.datetime)
            name, nullable = (f.name, f.nullable) if f is not None else (None, False)
            fields.append(Field(abs(tag), datetime=dt, nullable=nullable, name=name))
        lay = Layout(tuple(fields), bare)
        if len(_INFERRED) < _INFERRED_MAX:
            _INFERRED[key] = lay
    return lay


def infer(data: Any, layout: Layout | Sequence[FieldSpec] | None = None, *, offset: int = 0) -> Layout:
    """The layout of the buffer at ``data[offset]``: the given one with every
    field whose tag is None taken from the first row.  An octet-string of 12
    that reads as a date-time becomes a date-time column.  Without a layout,
    a first element that is not a structure gives a bare one-field layout.
    An empty array leaves unknown fields unknown."""
    buf = data if isinstance(data, (bytes, bytearray)) else memoryview(data).cast("B")
    given = None if layout is None else Layout.of(layout)
    if given is not None and given.complete:
        return given
    end = len(buf)
    rows, p = read_header(buf, offset)
    if rows == 0:
        if given is None:
            raise decode_error(S.COL_TYPE, p, -1, -1, -1, None)
        return given
    if given is not None and given.bare or given is None and buf[p] != 2:
        f = given.fields[0] if given is not None else None
        return _complete(given, (_field(buf, p, end, 0, f)[1],), True)
    return _complete(given, _first_row(buf, p, end, given), False)


# --------------------------------------------------------------------------
# from capture objects
# --------------------------------------------------------------------------

# (class_id, attribute_index) -> the field of a captured attribute whose type the class fixes
_KNOWN: dict[tuple[int, int], Field] = {
    (8, 2): DATETIME_OCTETS,  # Clock.time
    (4, 5): DATETIME_OCTETS,  # Extended register.capture_time
    (8, 3): Field(16),  # Clock.time_zone
    (8, 4): Field(17),  # Clock.status
}


def from_capture_objects(capture_objects: Iterable[Any], *, nullable: bool = False) -> Layout:
    """A layout from a profile generic's capture_objects: per column
    {class_id, logical_name, attribute_index, data_index} (as ``axdr.decode``
    gives them).  Columns are named ``"a.b.c.d.e.f:attribute"``; the type is
    set where the interface class fixes it (clock time, capture time) and
    left to :func:`infer` otherwise."""
    fields = []
    for cod in capture_objects:
        class_id, ln, attribute = int(cod[0]), bytes(cod[1]), int(cod[2])
        name = ".".join(str(b) for b in ln) + f":{attribute}"
        if len(cod) > 3 and int(cod[3]):
            name += f"/{int(cod[3])}"
        known = _KNOWN.get((class_id, attribute), Field())
        fields.append(replace(known, name=name, nullable=nullable))
    return Layout(tuple(fields))
