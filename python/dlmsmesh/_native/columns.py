"""Native column codec: one C call fills (or reads) every column buffer."""

from __future__ import annotations

import threading
from typing import Any

from .. import _status as S
from .._common.columns import ColumnBuffers, Layout, decode_error
from .._core import ffi, lib
from ..errors import EncodeError

_NULL = ffi.NULL
_from_buffer = ffi.from_buffer


class _Scratch(threading.local):
    def __init__(self) -> None:
        self.res = ffi.new("dm_columns_result *")
        # id(layout) -> (layout, its dm_colspec array with the constant fields set)
        self.templates: dict[int, tuple[Layout, Any]] = {}


_scratch = _Scratch()
_TEMPLATES_MAX = 64


def _template(layout: Layout) -> Any:
    """The layout's dm_colspec array (one per thread: calls fill its pointers)."""
    templates = _scratch.templates
    hit = templates.get(id(layout))
    if hit is not None and hit[0] is layout:
        return hit[1]
    specs = ffi.new("dm_colspec[]", len(layout))
    for spec, f in zip(specs, layout.fields):
        spec.kind = f.kind
        spec.tag = f.tag
        spec.nullable = f.nullable
        spec.width = f.width
    if len(templates) >= _TEMPLATES_MAX:
        templates.clear()
    templates[id(layout)] = (layout, specs)  # the layout is kept, so its id stays its own
    return specs


def _specs(layout: Layout, bufs: list[ColumnBuffers], keep: list[Any]) -> Any:
    """The dm_colspec array pointing at the buffers; ``keep`` holds the cdata alive."""
    specs = _template(layout)
    for spec, b in zip(specs, bufs):
        values = _from_buffer(b.values)
        keep.append(values)
        spec.values = values
        if b.valid is not None:
            v = _from_buffer("uint8_t[]", b.valid)
            keep.append(v)
            spec.valid = v
        if b.offsets is not None:
            spec.capacity = len(b.values)
            o = _from_buffer("int64_t[]", b.offsets)
            keep.append(o)
            spec.offsets = o
        elif b.deviation is not None:
            d = _from_buffer("int16_t[]", b.deviation)
            s = _from_buffer("uint8_t[]", b.status)
            keep += (d, s)
            spec.deviation = d
            spec.status = s
    return specs


def decode_into(
    data: Any, offset: int, rows: int, layout: Layout, bufs: list[ColumnBuffers], unit: int, flags: int
) -> int:
    keep: list[Any] = []
    specs = _specs(layout, bufs, keep)
    res = _scratch.res
    rc = lib.dm_columns_decode(
        _from_buffer("uint8_t[]", data), len(data), offset, rows, specs, len(bufs), unit, flags, res
    )
    if rc < 0:
        if rc == lib.DM_ERR_BAD_ARGUMENT:
            raise ValueError("column buffers do not match the layout or the row count")
        raise decode_error(rc, res.err_offset, res.err_row, res.err_field, res.err_found, layout)
    return int(res.end)


def encode(layout: Layout, bufs: list[ColumnBuffers], rows: int, unit: int, flags: int) -> bytes:
    keep: list[Any] = []
    specs = _specs(layout, bufs, keep)
    res = _scratch.res
    cap = _bound(bufs, rows)
    out = ffi.new("uint8_t[]", cap)
    n = lib.dm_columns_encode(specs, len(bufs), rows, unit, flags, out, cap, res)
    if n == lib.DM_ERR_NO_SPACE:  # the bound is exact or above; kept for safety
        cap = int(res.end)
        out = ffi.new("uint8_t[]", cap)
        n = lib.dm_columns_encode(specs, len(bufs), rows, unit, flags, out, cap, res)
    if n < 0:
        if n == lib.DM_ERR_COL_VALUE:
            exc = EncodeError(f"row {res.err_row} field {res.err_field}: {S.MESSAGES[S.COL_VALUE]}")
            exc.row = int(res.err_row)  # type: ignore[attr-defined]
            exc.field = int(res.err_field)  # type: ignore[attr-defined]
            raise exc
        raise ValueError("column buffers do not match the layout or the row count")
    return ffi.buffer(out, n)[:]


def _bound(bufs: list[ColumnBuffers], rows: int) -> int:
    """Bytes enough for the array: per row a structure header (at most 6), per
    value a tag and 13 content octets, plus the octets columns' data with a
    5-byte length each."""
    n = 6 + rows * (6 + 14 * len(bufs))
    for b in bufs:
        if b.offsets is not None:
            n += len(b.values) + 5 * rows
    return n


# pushes as columns: the same buffers, one row per frame (after the codec above: push imports it)
from .push import push_into as push_into  # noqa: E402
