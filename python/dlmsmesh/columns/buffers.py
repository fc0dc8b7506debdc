"""The buffers a backend fills (decode) or reads (encode): sized here from the
row count and the layout, so neither backend allocates per value."""

from __future__ import annotations

from array import array
from typing import Any

from .._common.columns import ColumnBuffers, Kind, Layout
from ..errors import EncodeError
from .table import BytesColumn, DateTimeColumn, Table

__all__ = ["ColumnBuffers", "allocate", "to_table", "from_columns"]

_DTYPES = {
    "B": "uint8",
    "b": "int8",
    "H": "uint16",
    "h": "int16",
    "I": "uint32",
    "i": "int32",
    "Q": "uint64",
    "q": "int64",
    "f": "float32",
    "d": "float64",
}
_RANGES = {
    "B": (0, 2**8 - 1),
    "b": (-(2**7), 2**7 - 1),
    "H": (0, 2**16 - 1),
    "h": (-(2**15), 2**15 - 1),
    "I": (0, 2**32 - 1),
    "i": (-(2**31), 2**31 - 1),
    "Q": (0, 2**64 - 1),
    "q": (-(2**63), 2**63 - 1),
}


def _new(np: Any, code: str, n: int, boolean: bool = False) -> Any:
    if np is not None:
        return np.empty(n, dtype=bool if boolean else _DTYPES[code])
    return array(code, [0]) * n


def allocate(layout: Layout, rows: int, capacity: int, np: Any) -> list[ColumnBuffers]:
    """Empty buffers for ``rows`` rows; octets columns hold up to ``capacity`` bytes."""
    out = []
    for f, (kind, code, nullable) in zip(layout.fields, layout.plan):
        valid = _new(np, "B", rows, True) if nullable else None
        if kind is Kind.DATETIME:
            out.append(ColumnBuffers(f, _new(np, "q", rows), None, valid, _new(np, "h", rows), _new(np, "B", rows)))
        elif not code:
            out.append(ColumnBuffers(f, bytearray(capacity), _new(np, "q", rows + 1), valid))
        else:
            out.append(ColumnBuffers(f, _new(np, code, rows, kind is Kind.BOOL), None, valid))
    return out


def to_table(layout: Layout, bufs: list[ColumnBuffers], rows: int, unit: str) -> Table:
    columns: list[Any] = []
    for b, (kind, code, _) in zip(bufs, layout.plan):
        if kind is Kind.DATETIME:
            columns.append(DateTimeColumn(b.values, b.deviation, b.status, unit))
        elif not code:
            used = int(b.offsets[rows])
            columns.append(BytesColumn(b.offsets, bytes(memoryview(b.values)[:used])))
        else:
            columns.append(b.values)
    return Table(layout, columns, [b.valid for b in bufs], rows, unit)


# --------------------------------------------------------------------------
# encode: user columns -> exact-typed, contiguous buffers
# --------------------------------------------------------------------------


def _fail(row: int, field: int, reason: str) -> EncodeError:
    exc = EncodeError(f"row {row} field {field}: {reason}")
    exc.row = row  # type: ignore[attr-defined]
    exc.field = field  # type: ignore[attr-defined]
    return exc


def _first_out_of_range(values: Any, code: str) -> int:
    lo, hi = _RANGES[code]
    for i, v in enumerate(values):
        if not lo <= int(v) <= hi:
            return i
    return 0


def _typed(values: Any, code: str, k: int, boolean: bool = False) -> Any:
    """``values`` as a contiguous native buffer of ``code`` items."""
    if isinstance(values, array):
        if values.typecode == code or (code == "i" and values.typecode == "l" and values.itemsize == 4):
            return values
    elif hasattr(values, "dtype") and hasattr(values, "astype"):
        import numpy

        target = numpy.dtype(bool if boolean else _DTYPES[code])
        arr = numpy.asarray(values)
        if arr.ndim != 1:
            raise _fail(0, k, "a column is one-dimensional")
        if arr.dtype == target:
            return numpy.ascontiguousarray(arr)
        if boolean:
            return numpy.ascontiguousarray(arr != 0)
        if code in _RANGES and arr.size:
            if arr.dtype.kind not in "iub":
                raise _fail(0, k, f"{arr.dtype} values in an integer column")
            lo, hi = _RANGES[code]
            if int(arr.min()) < lo or int(arr.max()) > hi:
                raise _fail(_first_out_of_range(arr.tolist(), code), k, f"value out of range for {target}")
        return numpy.ascontiguousarray(arr.astype(target))
    items = list(values)
    if boolean:
        return array("B", [1 if v else 0 for v in items])
    try:
        return array(code, items)
    except OverflowError:
        raise _fail(_first_out_of_range(items, code), k, "value out of range") from None
    except TypeError as exc:
        raise _fail(0, k, str(exc)) from None


def _octets(values: Any, k: int) -> tuple[Any, Any]:
    if not isinstance(values, BytesColumn):
        try:
            values = BytesColumn.from_values([bytes(v) for v in values])
        except TypeError as exc:
            raise _fail(0, k, str(exc)) from None
    return values.data, _typed(values.offsets, "q", k)


def _datetimes(values: Any, k: int) -> tuple[DateTimeColumn, Any, Any, Any]:
    if not isinstance(values, DateTimeColumn):
        values = DateTimeColumn.from_datetimes(list(values))
    return values, _typed(values.epoch, "q", k), _typed(values.deviation, "h", k), _typed(values.status, "B", k)


def from_columns(layout: Layout, columns: Any, valid: Any, rows: int | None) -> tuple[list[ColumnBuffers], int, str]:
    """(buffers, rows, unit) for encoding ``columns`` (one per field)."""
    columns = list(columns)
    if len(columns) != len(layout):
        raise ValueError(f"{len(columns)} columns for a layout of {len(layout)} fields")
    valid = [None] * len(layout) if valid is None else list(valid)
    if len(valid) != len(layout):
        raise ValueError(f"{len(valid)} validity masks for a layout of {len(layout)} fields")
    units = {c.unit for c in columns if isinstance(c, DateTimeColumn)}
    if len(units) > 1:
        raise ValueError(f"date-time columns in several units: {sorted(units)}")
    unit = units.pop() if units else "s"
    bufs = []
    for k, (f, col, mask) in enumerate(zip(layout.fields, columns, valid)):
        kind = f.kind
        if f.nullable and mask is None:
            raise ValueError(f"field {k} is nullable: give its validity mask")
        vmask = _typed(mask, "B", k, True) if f.nullable else None
        if kind is Kind.DATETIME:
            dcol, epoch, dev, status = _datetimes(col, k)
            if dcol.unit != unit:
                raise ValueError(f"date-time columns in several units: {dcol.unit}, {unit}")
            bufs.append(ColumnBuffers(f, epoch, None, vmask, dev, status))
            n = len(epoch)
            if len(dev) != n or len(status) != n:
                raise ValueError(f"field {k}: epoch, deviation and status differ in length")
        elif kind in (Kind.OCTETS, Kind.FIXED_OCTETS):
            data, offsets = _octets(col, k)
            bufs.append(ColumnBuffers(f, data, offsets, vmask))
            n = len(offsets) - 1
        else:
            values = _typed(col, f.typecode, k, kind is Kind.BOOL)
            bufs.append(ColumnBuffers(f, values, None, vmask))
            n = len(values)
        if rows is None:
            rows = n
        if n != rows or (vmask is not None and len(vmask) != rows):
            raise ValueError(f"field {k} has {n} rows, not {rows}")
    return bufs, rows or 0, unit
