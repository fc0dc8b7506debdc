"""Pushes as columns: the data-notifications of a :func:`decode_batch` result
whose bodies share a layout, in one backend call (``dm_push_columns``).

Every row is one notification: the meta columns ``frame`` (its index in the
batch), ``system_title`` (the sender's, empty when the frame was not
ciphered), ``invocation_counter`` (nullable: null when not ciphered),
``invoke_id`` (the 24-bit long-invoke-id) and ``date_time`` (the
notification's date-time, nullable, read as :mod:`dlmsmesh.columns` reads
date-times), then one column per body field.  Nested structures are
flattened: field ``j`` of the structure at body position ``i`` is named
``body.i.j``; a body that is a single value is the column ``body``.

Frames that failed to decode are listed in :attr:`PushTable.failed`; frames
that decoded but are not data-notifications, or whose body does not fit the
layout, in :attr:`PushTable.other` with the reason (a
:class:`~dlmsmesh.errors.DecodeError` at the offset of their plaintext).  A
body that is an array (of structures) or a compact-array is not a push row:
the layout inference refuses it with a :class:`PushShapeError` naming
:func:`dlmsmesh.columns.decode` for it.
"""

from __future__ import annotations

import datetime as _dt
from array import array
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from .. import _backend
from .. import _status as S
from .._common import pipeline_items as I
from .._common.columns import TAGS, read_length
from .._common.push import META_FIELDS, OUTCOME_WORDS, SHAPE_FIELD, SHAPE_MAX, describe
from ..columns import UNITS, BytesColumn, DateTimeColumn, Field, Layout, Table
from ..columns.buffers import allocate
from ..columns.layout import FieldSpec, decode_error, looks_like_datetime
from ..columns.table import numpy_module
from ..errors import DecodeError, DlmsError

if TYPE_CHECKING:
    from .._common.pipeline_outcome import Outcome

__all__ = ["PushLayout", "PushTable", "PushShapeError", "push_columns", "infer_push_layout", "META_NAMES"]

META_NAMES = tuple(f.name for f in META_FIELDS)
REVERSED_SIGN = 2
_ARRAYS = {1: "an array", 19: "a compact-array"}


class PushShapeError(DecodeError):
    """A notification body that cannot be a row of push columns (an array or
    a compact-array, a type no column holds, nesting too deep)."""


@dataclass(frozen=True)
class PushLayout:
    """The layout of a notification body: ``fields`` (one per column,
    flattened in body order) and ``shape`` (the body as ops: ``-1`` the next
    field, ``n >= 0`` a structure of n elements)."""

    fields: tuple[Field, ...]
    shape: tuple[int, ...]

    def __post_init__(self) -> None:
        if sum(1 for op in self.shape if op == SHAPE_FIELD) != len(self.fields):
            raise ValueError("the shape names a different number of fields")
        if len(self.shape) > SHAPE_MAX:
            raise ValueError(f"a body of more than {SHAPE_MAX} structures and fields")

    @classmethod
    def of(cls, spec: PushLayout | Layout | Sequence[FieldSpec]) -> PushLayout:
        """A push layout from another one, or a flat one: a :class:`Layout` (or
        field specs) is a body that is a structure of those fields (one value
        when the layout is ``bare``)."""
        if isinstance(spec, PushLayout):
            return spec
        lay = Layout.of(spec)
        if lay.bare:
            return cls((_named(lay.fields[0], "body"),), (SHAPE_FIELD,))
        fields = tuple(_named(f, f"body.{k}") for k, f in enumerate(lay.fields))
        return cls(fields, (len(fields),) + (SHAPE_FIELD,) * len(fields))

    @property
    def complete(self) -> bool:
        return bool(self.shape) and all(f.tag is not None for f in self.fields)

    @cached_property
    def table_layout(self) -> Layout:
        """The layout of the table: the meta fields, then the body's."""
        return Layout(META_FIELDS + self.fields)

    @property
    def names(self) -> list[str | None]:
        return [f.name for f in self.fields]


def _named(f: Field, name: str) -> Field:
    return f if f.name is not None else replace(f, name=name)


# --------------------------------------------------------------------------
# the layout of the first notification
# --------------------------------------------------------------------------


def notification_body(p: Any) -> int:
    """The offset of a data-notification's body in its plaintext ``p``, or -1."""
    n = len(p)
    if n < 6 or p[0] != 0x0F:
        return -1
    q = 5
    if p[q] == 0x09:
        q += 1
        if q >= n:
            return -1
    return q + (13 if p[q] == 12 else 1)


def _walk(buf: Any, p: int, name: str, fields: list[Field], shape: list[int], depth: int) -> int:
    end = len(buf)
    if p >= end:
        raise decode_error(S.TRUNCATED, p, -1, -1, -1, None)
    tag = buf[p]
    if tag == 2:
        if depth > 16:
            raise PushShapeError("the body nests structures deeper than 16", layer="data", offset=p)
        n, q = read_length(buf, p + 1, end)
        shape.append(n)
        for j in range(n):
            q = _walk(buf, q, f"{name}.{j}", fields, shape, depth + 1)
            if len(shape) > SHAPE_MAX:
                raise PushShapeError(f"a body of more than {SHAPE_MAX} fields", layer="data", offset=p)
        return q
    if tag in _ARRAYS:
        raise PushShapeError(
            f"{name} is {_ARRAYS[tag]}: a push row holds structures and single values;"
            " decode such a body with dlmsmesh.columns.decode(batch.body(i))",
            layer="data",
            offset=p,
        )
    entry = TAGS.get(tag)
    if entry is None:
        what = "null-data (give the layout: a field's type cannot be inferred from it)" if tag == 0 else f"tag {tag}"
        raise PushShapeError(f"{name} is {what}, which cannot be a column", layer="data", offset=p)
    dt = tag == 25
    if entry[2]:
        q = p + 1 + entry[2]
    else:
        n, c = read_length(buf, p + 1, end)
        q = c + n
        if tag == 9 and n == 12 and c + 12 <= end and looks_like_datetime(bytes(buf[c : c + 12])):
            dt = True
    fields.append(Field(tag, datetime=dt, name=name))
    shape.append(SHAPE_FIELD)
    return q


def infer_push_layout(body: Any, given: PushLayout | Layout | Sequence[FieldSpec] | None = None) -> PushLayout:
    """The push layout of one notification ``body`` (its A-XDR bytes): the
    given layout with every field whose tag is None taken from it."""
    want = None if given is None else PushLayout.of(given)
    if want is not None and want.complete:
        return want
    buf = body if isinstance(body, (bytes, bytearray)) else bytes(body)
    fields: list[Field] = []
    shape: list[int] = []
    at = _walk(buf, 0, "body", fields, shape, 0)
    if at != len(buf):
        raise decode_error(S.TRAILING, at, -1, -1, -1, None)
    if want is None:
        return PushLayout(tuple(fields), tuple(shape))
    if tuple(shape) != want.shape:
        raise PushShapeError("the first notification's body has another shape than the layout", layer="data", offset=0)
    merged = []
    for g, f in zip(want.fields, fields):
        if g.tag is not None:
            merged.append(g)
        else:
            merged.append(Field(f.tag, datetime=f.datetime or g.datetime, nullable=g.nullable, name=g.name or f.name))
    return PushLayout(tuple(merged), want.shape)


# --------------------------------------------------------------------------
# the table
# --------------------------------------------------------------------------


class PushTable(Table):
    """Push columns: a :class:`~dlmsmesh.columns.Table` whose first columns
    are the meta columns (``frame``, ``system_title``, ``invocation_counter``,
    ``invoke_id``, ``date_time``), then the body's.

    ``push_layout``: the body's :class:`PushLayout` (pass it to the next
    batch's ``columns()``); ``failed``: indices of frames that failed to
    decode (``batch.error(i)`` says why); ``other``: frame index -> why a
    frame that decoded is not a row.
    """

    __slots__ = ("push_layout", "failed", "other")

    def __init__(
        self,
        push_layout: PushLayout,
        columns: list[Any],
        valid: list[Any],
        rows: int,
        unit: str,
        failed: list[int],
        other: dict[int, DlmsError],
    ) -> None:
        super().__init__(push_layout.table_layout, columns, valid, rows, unit)
        self.push_layout = push_layout
        self.failed = failed
        self.other = other

    def __repr__(self) -> str:
        return f"PushTable({self.rows} rows, {len(self.push_layout.fields)} body fields, {len(self.failed)} failed, {len(self.other)} other)"

    def records(self) -> Iterator[dict[str, Any]]:
        """One dict per row, JSON-ready: octets as hex, date-times as ISO 8601
        (None when null or not a moment), numbers as numbers."""
        names = [n or f"field{k}" for k, n in enumerate(self.names)]
        cols = []
        for col, mask in zip(self.columns, self.valid):
            cols.append((col, None if mask is None else [bool(v) for v in mask]))
        plain = [_plain_column(col) for col, _ in cols]
        for r in range(self.rows):
            row: dict[str, Any] = {}
            for name, (col, mask), values in zip(names, cols, plain):
                if mask is not None and not mask[r]:
                    row[name] = None
                elif isinstance(col, DateTimeColumn):
                    moment = col.to_datetime(r)
                    row[name] = None if moment is None else _iso(moment)
                else:
                    row[name] = values[r]
            yield row


def _iso(moment: _dt.datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def _plain_column(col: Any) -> Any:
    if isinstance(col, BytesColumn):
        return [v.hex() for v in col]
    if isinstance(col, DateTimeColumn):
        return None
    values = col.tolist()
    return values


def _truncate(col: Any, rows: int) -> Any:
    if isinstance(col, array):
        return col[:rows]
    return col[:rows].copy() if len(col) != rows else col


def push_columns(
    out: Outcome,
    contexts: Sequence[Any],
    layout: PushLayout | Layout | Sequence[FieldSpec] | None = None,
    *,
    unit: str = "s",
    numpy: bool | None = None,
    standard_sign: bool = True,
    backend: Any = None,
) -> PushTable:
    """The rows of the data-notifications of a decoded batch (its backend
    outcome ``out`` and its security ``contexts``, as
    :meth:`DecodedBatch.columns` passes them) whose bodies fit ``layout``
    (None: the layout of the first one that decoded).  ``backend``: a
    backend's columns module (default: the live one)."""
    if unit not in UNITS:
        raise ValueError(f"unit must be one of {tuple(UNITS)}, not {unit!r}")
    module = backend if backend is not None else _backend.live.columns
    np = numpy_module(numpy)
    n = out.n
    words = memoryview(out.words).cast("B").cast("I")
    status = words[I.STATUS :: I.WORDS].tolist()
    failed = [] if status.count(0) == n else [i for i, s in enumerate(status) if s]
    lay = _layout_of(out, status, layout)
    if lay is None:  # no notification tells the body's layout: nothing is a row
        other: dict[int, DlmsError] = {}
        for i, s in enumerate(status):
            if not s:
                p = out.plaintext(i)
                other[i] = describe(array("i", [2, 0, -1, p[0] if len(p) else -1]), 0, ())
        empty = PushLayout((), ())
        return _table(empty, allocate(empty.table_layout, 0, 0, np), 0, unit, failed, other)
    plain_bytes = sum(words[I.PLAIN_LEN :: I.WORDS])
    table_layout = lay.table_layout
    bufs = _allocate(table_layout, n, plain_bytes, np)
    titles, titled = _titles(contexts)
    outcome = array("i", bytes(4 * OUTCOME_WORDS * n))
    flags = 0 if standard_sign else REVERSED_SIGN
    rows = module.push_into(out, lay.shape, table_layout, bufs, titles, titled, UNITS[unit], flags, outcome)
    codes = outcome[0::OUTCOME_WORDS]
    other = {}
    if codes.count(0) != n:
        for i, code in enumerate(codes):
            if code and not status[i]:
                other[i] = describe(outcome, i, lay.fields)
    return _table(lay, bufs, rows, unit, failed, other)


def _allocate(layout: Layout, n: int, plain_bytes: int, np: Any) -> list[Any]:
    """The buffers of n rows; an octets column holds at most the plaintext
    bytes (the title column 8 per row), left uninitialised: the backend
    writes every byte the offsets cover."""
    bufs = allocate(layout, n, 0, np)
    for b in bufs:
        if b.offsets is not None:
            cap = 8 * n if b.field.name == "system_title" else plain_bytes
            b.values = np.empty(cap, dtype=np.uint8) if np is not None else bytearray(cap)
    return bufs


def _table(
    lay: PushLayout, bufs: list[Any], rows: int, unit: str, failed: list[int], other: dict[int, DlmsError]
) -> PushTable:
    columns: list[Any] = []
    valid: list[Any] = []
    for b in bufs:
        f = b.field
        valid.append(None if b.valid is None else _truncate(b.valid, rows))
        if f.datetime:
            columns.append(
                DateTimeColumn(_truncate(b.values, rows), _truncate(b.deviation, rows), _truncate(b.status, rows), unit)
            )
        elif b.offsets is not None:
            offsets = _truncate(b.offsets, rows + 1)
            used = int(offsets[rows]) if len(offsets) > rows else 0
            columns.append(BytesColumn(offsets, bytes(memoryview(b.values)[:used])))
        else:
            columns.append(_truncate(b.values, rows))
    return PushTable(lay, columns, valid, rows, unit, failed, other)


def _layout_of(
    out: Outcome, status: list[int], given: PushLayout | Layout | Sequence[FieldSpec] | None
) -> PushLayout | None:
    if given is not None:
        want = PushLayout.of(given)
        if want.complete:
            return want
    refused: PushShapeError | None = None
    for i, s in enumerate(status):
        if s:
            continue
        p = out.plaintext(i)
        q = notification_body(p)
        if q < 0:
            continue
        try:
            return infer_push_layout(p[q:], given)
        except PushShapeError as exc:  # an array body, say: the next notification may be a row
            if refused is None:
                refused = exc
    if refused is not None:
        raise refused
    return None


def _titles(contexts: Sequence[Any]) -> tuple[bytes, bytes]:
    """The peers' system titles (8 octets each) and whether each is known."""
    titles = bytearray()
    titled = bytearray()
    for ctx in contexts:
        title = getattr(ctx, "peer_system_title", None)
        ok = isinstance(title, (bytes, bytearray)) and len(title) == 8
        titles += bytes(title) if ok else bytes(8)  # type: ignore[arg-type]
        titled.append(1 if ok else 0)
    return bytes(titles), bytes(titled)
