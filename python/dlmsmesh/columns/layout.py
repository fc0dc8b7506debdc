"""The layout of a profile-generic buffer: one :class:`Field` per column.

A field names the ``Data`` tag every row carries in that position (or None:
taken from the first row), whether an octet-string holds a date-time, and
whether null-data may stand for a missing value.  :func:`infer` completes a
layout from the first row of a buffer; :func:`from_capture_objects` starts
one from a profile generic's capture_objects (attribute 3).
"""

from __future__ import annotations

import enum
import struct
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any, Union

from .. import _status as S
from ..errors import DecodeError
from ..types import CosemValue, DataType

__all__ = ["Kind", "Field", "Layout", "FieldSpec", "DATETIME_OCTETS", "infer", "from_capture_objects"]

LAYER = "data"


class Kind(enum.IntEnum):
    """How a column is held (DM_COL_* in csrc/dlmsmesh.h)."""

    U8 = 1
    I8 = 2
    U16 = 3
    I16 = 4
    U32 = 5
    I32 = 6
    U64 = 7
    I64 = 8
    F32 = 9
    F64 = 10
    BOOL = 11
    FIXED_OCTETS = 12
    OCTETS = 13
    DATETIME = 14


_OCTETS = (Kind.OCTETS, Kind.FIXED_OCTETS)

# Data tag -> (kind, array typecode, wire content size or 0 for a length-prefixed value)
TAGS: dict[int, tuple[Kind, str, int]] = {
    3: (Kind.BOOL, "B", 1),
    5: (Kind.I32, "i", 4),
    6: (Kind.U32, "I", 4),
    9: (Kind.OCTETS, "", 0),
    10: (Kind.OCTETS, "", 0),
    13: (Kind.U8, "B", 1),
    15: (Kind.I8, "b", 1),
    16: (Kind.I16, "h", 2),
    17: (Kind.U8, "B", 1),
    18: (Kind.U16, "H", 2),
    20: (Kind.I64, "q", 8),
    21: (Kind.U64, "Q", 8),
    22: (Kind.U8, "B", 1),
    23: (Kind.F32, "f", 4),
    24: (Kind.F64, "d", 8),
    25: (Kind.DATETIME, "q", 12),
    26: (Kind.FIXED_OCTETS, "", 5),
    27: (Kind.FIXED_OCTETS, "", 4),
}
for _code, _size in (("B", 1), ("b", 1), ("H", 2), ("h", 2), ("I", 4), ("i", 4), ("Q", 8), ("q", 8), ("f", 4), ("d", 8)):
    if array(_code).itemsize != _size:  # pragma: no cover - no such platform is supported
        raise ImportError(f"array typecode {_code!r} is not {_size} bytes here")


def tag_name(tag: int) -> str:
    try:
        return DataType(tag).asn1_name
    except ValueError:
        return f"tag {tag}"


@dataclass(frozen=True)
class Field:
    """One column: the ``Data`` tag of its values (None: from the first row).

    ``datetime``: the octet-string (tag 9) holds a 12-octet date-time, decoded
    like tag 25.  ``nullable``: null-data (tag 0) stands for a missing value;
    the table then has a validity mask for the column.  ``name`` labels it.
    """

    tag: int | None = None
    datetime: bool = False
    nullable: bool = False
    name: str | None = None

    def __post_init__(self) -> None:
        if self.tag is not None and self.tag not in TAGS:
            raise ValueError(f"{tag_name(self.tag)} cannot be a column")
        if self.datetime and self.tag not in (None, 9, 25):
            raise ValueError("only an octet-string or a date-time is a date-time column")

    @property
    def kind(self) -> Kind:
        if self.tag is None:
            raise ValueError("the field's type is not known yet (infer the layout first)")
        return Kind.DATETIME if self.datetime else TAGS[self.tag][0]

    @property
    def width(self) -> int:
        """Octets of a fixed-width octets value (date 5, time 4), else 0."""
        return TAGS[self.tag][2] if self.tag in (26, 27) else 0  # type: ignore[index]

    @property
    def typecode(self) -> str:
        """The ``array`` typecode of the values (epoch for date-times); '' for octets."""
        return "q" if self.datetime else TAGS[self.tag][1]  # type: ignore[index]

    @property
    def type_name(self) -> str:
        if self.tag is None:
            return "inferred"
        return "octet-string date-time" if self.tag == 9 and self.datetime else tag_name(self.tag)

    @classmethod
    def of(cls, spec: FieldSpec) -> Field:
        """A field from a Field, a Data tag, a :mod:`dlmsmesh.types` class, ``bytes``,
        ``bool``, ``float`` or None (inferred)."""
        if isinstance(spec, Field):
            return spec
        if spec is None:
            return cls()
        if isinstance(spec, int) and not isinstance(spec, bool):
            return cls(int(spec), datetime=spec == 25)
        if spec is bytes:
            return cls(9)
        if spec is bool:
            return cls(3)
        if spec is float:
            return cls(24)
        if isinstance(spec, type) and issubclass(spec, CosemValue):
            return cls(spec.TAG, datetime=spec.TAG == 25)
        raise TypeError(f"not a column type: {spec!r}")


FieldSpec = Union[Field, int, type, None]

#: a date-time carried in an octet-string of 12 (Clock.time, profile capture times)
DATETIME_OCTETS = Field(9, datetime=True)


@dataclass(frozen=True)
class Layout:
    """The fields of every row, in order.  ``bare``: the array holds single
    values instead of structures (one field)."""

    fields: tuple[Field, ...]
    bare: bool = False

    def __post_init__(self) -> None:
        if not self.fields:
            raise ValueError("a layout has at least one field")
        if self.bare and len(self.fields) != 1:
            raise ValueError("a bare layout has exactly one field")

    @classmethod
    def of(cls, specs: Layout | Iterable[FieldSpec], *, bare: bool = False) -> Layout:
        if isinstance(specs, Layout):
            return specs
        return cls(tuple(Field.of(s) for s in specs), bare)

    @property
    def complete(self) -> bool:
        return all(f.tag is not None for f in self.fields)

    @property
    def names(self) -> list[str | None]:
        return [f.name for f in self.fields]

    @cached_property
    def plan(self) -> tuple[tuple[Kind, str, bool], ...]:
        """Per field (kind, array typecode, nullable), worked out once per layout."""
        return tuple((f.kind, f.typecode if f.kind not in _OCTETS else "", f.nullable) for f in self.fields)

    def __len__(self) -> int:
        return len(self.fields)

    def __iter__(self) -> Any:
        return iter(self.fields)


# --------------------------------------------------------------------------
# errors shared by both backends (same code, offset, row, field -> same text)
# --------------------------------------------------------------------------


def decode_error(code: int, offset: int, row: int, field: int, found: int, layout: Layout | None) -> DecodeError:
    """The DecodeError of a column decode failure; ``.row`` and ``.field`` are
    set (None outside a row / field)."""
    reason = S.MESSAGES.get(code, f"error {code}")
    if code == S.COL_FIELD and layout is not None and 0 <= field < len(layout):
        reason += f" ({tag_name(found)} where the layout has {layout.fields[field].type_name})"
    elif code == S.COL_ROW and layout is not None:
        reason += f" (found {found}, layout {len(layout)})" if found >= 0 else ""
    elif code in (S.COL_NOT_ARRAY, S.COL_TYPE) and found >= 0:
        reason += f" ({tag_name(found)})"
    elif code == S.COL_WIDTH and found >= 0:
        reason += f" (found {found})"
    where = ""
    if row >= 0:
        where = f"row {row}" + (f" field {field}" if field >= 0 else "") + ": "
    exc = DecodeError(where + reason, layer=LAYER, offset=offset)
    exc.row = row if row >= 0 else None  # type: ignore[attr-defined]
    exc.field = field if field >= 0 else None  # type: ignore[attr-defined]
    return exc


# --------------------------------------------------------------------------
# the array header and the first row
# --------------------------------------------------------------------------


def read_length(buf: Any, p: int, end: int, row: int = -1, field: int = -1) -> tuple[int, int]:
    """An A-XDR length at ``p``: (value, offset after it); the checks and
    offsets of the pure A-XDR decoder's read_length."""
    if p >= end:
        raise decode_error(S.TRUNCATED, p, row, field, -1, None)
    b = buf[p]
    if b < 0x80:
        return b, p + 1
    n = b & 0x7F
    if n == 0 or n > 4:
        raise decode_error(S.BAD_LENGTH, p, row, field, -1, None)
    q = p + 1 + n
    if q > end:
        raise decode_error(S.TRUNCATED, p, row, field, -1, None)
    return int.from_bytes(buf[p + 1 : q], "big"), q


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
    'not specified' (spec/axdr-data.md section 6.1)."""
    if len(octets) != 12:
        return False
    _, mo, d, wd, h, mi, s, c, dev, _ = _DATETIME.unpack(octets)
    return (
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
