"""Profile-generic buffers as typed columns, in one C call each way.

``decode(data, layout)`` turns an A-XDR array of structures with a fixed
layout (a profile generic's buffer, attribute 2) into one column per field:
numpy arrays when numpy is installed (``pip install dlmsmesh[numpy]``),
``array.array`` otherwise.

=========================================  ===========================================
field type (wire)                           column
=========================================  ===========================================
integer, long, double-long, long64 and      the matching fixed-width signed/unsigned
their unsigned twins, enum, bcd             integers (enum, bcd, unsigned: uint8)
boolean                                     numpy bool / ``array('B')`` of 0 and 1
float32, float64                            float32, float64
date-time (tag 25), or an octet-string of   :class:`DateTimeColumn`: int64 epoch,
12 that the layout marks (or that reads as  int16 deviation, uint8 clock status
one when the layout is inferred)
octet-string, visible-string, date, time    :class:`BytesColumn` (offsets + data)
=========================================  ===========================================

Date-times: the epoch counts ``unit`` ("s", "ms" or "us") since 1970-01-01
UTC, with UTC = local time + deviation (CET sends -60, CEST -120; the DST
bit stays in the status column).  Hundredths count in "ms"/"us" and are
dropped in "s"; hundredths 0xFF count as 0; day-of-week is not read.  A
deviation of 0x8000 (not specified) leaves the local time as it is (a naive
epoch; the deviation column says -32768).  A date-time whose year, month,
day, hour, minute or second is not specified, a pattern (DST month, last day)
or out of range gives :data:`NAT` (numpy's NaT), its deviation and status
still as sent.  ``standard_sign=False`` reads meters that use the opposite
sign.

A layout (:class:`Layout`, or a list of :class:`Field`, Data tags or
:mod:`dlmsmesh.types` classes) gives the type of every field; fields left
None, or no layout at all, are taken from the first row
(:func:`infer_layout`); :func:`from_capture_objects` starts a layout from a
profile generic's capture_objects.  A row that does not fit is a
:class:`~dlmsmesh.errors.DecodeError` (layer ``data``) naming the row, the
field and the byte offset (``.row``, ``.field``, ``.offset``).

``encode(table)`` (or ``encode(columns, layout)``) is the inverse.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import _backend
from .. import _status as S
from .buffers import allocate, from_columns, to_table
from .layout import DATETIME_OCTETS, Field, FieldSpec, Kind, Layout, decode_error, from_capture_objects, read_header
from .layout import infer as infer_layout
from .table import NAT, UNITS, BytesColumn, DateTimeColumn, Table, numpy_module

__all__ = [
    "decode",
    "encode",
    "infer_layout",
    "from_capture_objects",
    "Field",
    "Layout",
    "Kind",
    "Table",
    "DateTimeColumn",
    "BytesColumn",
    "DATETIME_OCTETS",
    "NAT",
    "UNITS",
]

WHOLE = 1
REVERSED_SIGN = 2
BARE = 4


def _flags(layout: Layout, standard_sign: bool) -> int:
    return (0 if standard_sign else REVERSED_SIGN) | (BARE if layout.bare else 0)


def decode(
    data: bytes | bytearray | memoryview,
    layout: Layout | Sequence[FieldSpec] | None = None,
    *,
    offset: int = 0,
    unit: str = "s",
    numpy: bool | None = None,
    standard_sign: bool = True,
) -> Table:
    """The columns of the array at ``data[offset:]`` (which must end with it).

    ``numpy``: None uses numpy when it imports, False never, True requires it.
    """
    return _decode(_backend.live.columns, data, layout, offset, unit, numpy, standard_sign)


def _decode(
    module: Any,
    data: bytes | bytearray | memoryview,
    layout: Layout | Sequence[FieldSpec] | None,
    offset: int,
    unit: str,
    numpy: bool | None,
    standard_sign: bool,
) -> Table:
    """decode() on the backend ``module`` (benchmarks compare them in one process)."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {tuple(UNITS)}, not {unit!r}")
    if not 0 <= offset <= len(data):
        raise ValueError(f"offset {offset} is outside the {len(data)}-byte input")
    if not isinstance(data, (bytes, bytearray)):
        data = memoryview(data).cast("B")
    np = numpy_module(numpy)
    lay = infer_layout(data, layout, offset=offset)
    rows, p = read_header(data, offset)
    if not lay.complete:  # an empty array and fields nothing tells the type of
        if p != len(data):
            raise decode_error(S.TRAILING, p, -1, -1, -1, lay)
        known = Layout(tuple(f if f.tag is not None else Field(9, name=f.name) for f in lay.fields), lay.bare)
        table = to_table(known, allocate(known, 0, 0, np), 0, unit)
        table.layout = lay
        table.columns = [c if f.tag is not None else [] for f, c in zip(lay.fields, table.columns)]
        return table
    bufs = allocate(lay, rows, len(data) - p, np)
    module.decode_into(data, offset, rows, lay, bufs, UNITS[unit], WHOLE | _flags(lay, standard_sign))
    return to_table(lay, bufs, rows, unit)


def encode(
    columns: Table | Sequence[Any],
    layout: Layout | Sequence[FieldSpec] | None = None,
    *,
    valid: Sequence[Any] | None = None,
    standard_sign: bool = True,
) -> bytes:
    """The A-XDR array of structures holding ``columns`` (a :class:`Table`, or
    one column per field of ``layout``: arrays or sequences of numbers,
    :class:`DateTimeColumn` or ``datetime`` objects, :class:`BytesColumn` or
    bytes).  ``valid`` gives the masks of nullable fields (0 writes null-data).
    Out-of-range values are an :class:`~dlmsmesh.errors.EncodeError` naming
    the row and field."""
    if isinstance(columns, Table):
        lay = columns.layout if layout is None else Layout.of(layout)
        valid = columns.valid if valid is None else valid
        columns = columns.columns
    elif layout is None:
        raise ValueError("encoding plain columns needs their layout")
    else:
        lay = Layout.of(layout)
    if not lay.complete:
        raise ValueError("every field of an encoded layout needs its type")
    bufs, rows, unit = from_columns(lay, columns, valid, None)
    return _backend.live.columns.encode(lay, bufs, rows, UNITS[unit], _flags(lay, standard_sign))
