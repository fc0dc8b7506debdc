"""Shared by the push tests: notifications of emulated meters, ciphered as
meters send them, and the reference values per-frame decoding gives."""

from __future__ import annotations

import struct
from typing import Any

from dlmsmesh import apdu, columns
from dlmsmesh.apdu_model import DataNotification
from dlmsmesh.types import DateTime, NullData, Structure

from .columns_support import plain, ref_epoch
from .pipeline_support import meter_context, wpdu

__all__ = ["notification_frame", "leaves", "expected_cell", "row_of", "check_against_frames"]


def notification_frame(
    m: int, body: Any, *, invoke: int = 1, when: bytes | None = None, ctx: Any = None, ciphered: bool = True
) -> bytes:
    """A wrapper frame carrying meter m's data-notification (general-glo-ciphered
    by ``ctx``, meter m's sending context by default)."""
    n = DataNotification(body=body, long_invoke_id=invoke, date_time=None if when is None else DateTime(when))
    raw = apdu.encode(n)
    if not ciphered:
        return wpdu(raw, m)
    return wpdu((ctx or meter_context(m)).protect(raw, general=True), m)


def leaves(value: Any) -> list[Any]:
    """The leaves of a body in flattening order."""
    if isinstance(value, (Structure, tuple)) and not isinstance(value, (bytes, str)):
        out: list[Any] = []
        for v in value:
            out += leaves(v)
        return out
    return [value]


def expected_cell(field: columns.Field, value: Any) -> Any:
    """What a column holds for a body leaf (None: null-data)."""
    if value is None or isinstance(value, NullData):
        return None
    if field.datetime:
        raw = bytes(value)
        return (ref_epoch(raw), struct.unpack(">h", raw[9:11])[0], raw[11])
    if field.tag == 10:
        return str(value).encode("latin-1")
    if field.tag in (9, 26, 27):
        return bytes(value)
    if field.tag in (23, 24):
        return float(value)
    return int(value)


def row_of(table: Any, r: int) -> list[Any]:
    """Row r of a push table as plain values (None where the mask says null)."""
    out = []
    for col, mask in zip(table.columns, table.valid):
        if mask is not None and not int(mask[r]):
            out.append(None)
        else:
            out.append(plain(col)[r])
    return out


def check_against_frames(batch: Any, table: Any) -> None:
    """Every row equals, field by field, what decoding its frame alone gives;
    every frame that decoded and is not a row is listed in ``other``."""
    frames = plain(table["frame"])
    assert len(frames) == table.rows
    fields = table.push_layout.fields
    for r, i in enumerate(frames):
        n = batch.apdu(i)
        assert isinstance(n, DataNotification)
        info = batch.security(i)
        row = row_of(table, r)
        meta, body = row[:5], row[5:]
        assert meta[0] == i
        assert meta[1] == (info.system_title if info is not None else b"")
        assert meta[2] == (info.invocation_counter if info is not None else None)
        assert meta[3] == n.long_invoke_id
        if n.date_time is None:
            assert meta[4] is None
        else:
            raw = bytes(n.date_time)
            assert meta[4] == (ref_epoch(raw), struct.unpack(">h", raw[9:11])[0], raw[11])
        got_leaves = leaves(n.body)
        assert len(got_leaves) == len(fields)
        assert body == [expected_cell(f, v) for f, v in zip(fields, got_leaves)]
    assert table.failed == batch.failed_indices()
    rows = set(frames)
    assert set(table.other) == {i for i in batch.ok_indices() if i not in rows}
