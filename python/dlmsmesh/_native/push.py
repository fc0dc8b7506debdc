"""Native pushes as columns: one ``dm_push_columns`` call over a decoded
batch's records writes every row (``dlmsmesh.pipeline`` sizes the buffers)."""

from __future__ import annotations

from array import array
from typing import Any

from .._common.columns import ColumnBuffers, Layout
from .._common.pipeline_outcome import Outcome
from .._common.push import META, c_shape
from .._core import ffi, lib
from .columns import _specs

__all__ = ["push_into"]

assert (lib.DM_PUSH_META, lib.DM_PUSH_SHAPE_FIELD) == (META, 0xFFFF)

_from_buffer = ffi.from_buffer
_EMPTY = bytearray(1)


def _bytes(buf: Any) -> tuple[Any, int]:
    n = len(buf)
    return (_from_buffer("uint8_t[]", buf) if n else _from_buffer("uint8_t[]", _EMPTY)), n


def push_into(
    out: Outcome,
    shape: tuple[int, ...],
    layout: Layout,
    bufs: list[ColumnBuffers],
    titles: bytes,
    titled: bytes,
    unit: int,
    flags: int,
    outcome: Any,
) -> int:
    """Fill ``bufs`` (the meta columns, then the body's) from the frames of
    ``out`` whose data-notification bodies fit ``shape``; every frame's
    outcome words go to ``outcome``.  The rows written."""
    keep: list[Any] = []
    specs = _specs(layout, bufs, keep)
    batch = ffi.new("dm_push_batch *")
    batch.n = out.n
    items = _from_buffer("dm_pipe_item[]", out.words) if out.n else ffi.NULL
    batch.items = items
    data, batch.data_len = _bytes(out.data)
    datagrams, batch.datagrams_len = _bytes(out.datagrams)
    plain, batch.plain_len = _bytes(out.plain)
    batch.data, batch.datagrams, batch.plain = data, datagrams, plain
    ntitles = len(titled)
    t, d = _bytes(titles)[0], _bytes(titled)[0]
    batch.titles, batch.titled, batch.ntitles = t, d, ntitles
    ops = array("H", c_shape(shape))
    res = _from_buffer("int32_t[]", outcome)
    rows = lib.dm_push_columns(
        batch, _from_buffer("uint16_t[]", ops), len(ops), specs, specs + META, len(bufs) - META, unit, flags, res
    )
    if rows < 0:
        raise ValueError("push column buffers do not match the layout or the batch")
    del keep, items, data, datagrams, plain, t, d, res
    return int(rows)
