"""The model of a column decode both backends fill: the layout of a
profile-generic buffer (:class:`Layout`, one :class:`Field` per column), the
buffers of one column (:class:`ColumnBuffers`) and the errors of a column
decode.  ``dlmsmesh.columns`` re-exports the public names.
"""

from __future__ import annotations

import enum
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Union

from .. import _status as S
from ..errors import DecodeError
from ..types import CosemValue, DataType
from . import length as _length
from .fail import Fail

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
    # the delta types: numbers like 15/16/5 and 17/18/6, never accumulated
    28: (Kind.I8, "b", 1),
    29: (Kind.I16, "h", 2),
    30: (Kind.I32, "i", 4),
    31: (Kind.U8, "B", 1),
    32: (Kind.U16, "H", 2),
    33: (Kind.U32, "I", 4),
}
for _code, _size in (
    ("B", 1),
    ("b", 1),
    ("H", 2),
    ("h", 2),
    ("I", 4),
    ("i", 4),
    ("Q", 8),
    ("q", 8),
    ("f", 4),
    ("d", 8),
):
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
    """An A-XDR length at ``p``: (value, offset after it), or the column
    DecodeError at the offset the shared length codec reports."""
    if p < end:
        b = buf[p]
        if b < 0x80:  # the short form inline: one per row and field
            return b, p + 1
    try:
        return _length.read_length(buf, p, end)
    except Fail as exc:
        raise decode_error(exc.code, exc.offset, row, field, -1, None) from None


class ColumnBuffers:
    """One column's buffers: ``values`` (numbers or epoch; the bytes of an
    octets column), ``offsets`` (octets: rows + 1), ``valid`` (nullable),
    ``deviation`` and ``status`` (date-time).  Every buffer exposes the buffer
    protocol with native-order items."""

    __slots__ = ("field", "values", "offsets", "valid", "deviation", "status")

    def __init__(
        self,
        field: Field,
        values: Any,
        offsets: Any = None,
        valid: Any = None,
        deviation: Any = None,
        status: Any = None,
    ) -> None:
        self.field = field
        self.values = values
        self.offsets = offsets
        self.valid = valid
        self.deviation = deviation
        self.status = status
