"""Pure-Python twin of csrc/push_columns.c: the data-notifications of a
decoded batch into typed columns, one row per frame whose body fits the
shape, with the C core's checks, offsets and outcome words."""

from __future__ import annotations

from typing import Any

from .. import _status as S
from .._common import pipeline_items as I
from .._common.columns import ColumnBuffers, Kind, Layout
from .._common.fail import Fail
from .._common.length import read_length
from .._common.pipeline_outcome import Outcome
from .._common.push import FAILED, META, NOT_NOTIFICATION, OUTCOME_WORDS, SHAPE_FIELD
from ..errors import DlmsError
from . import secure
from .columns import _UNPACK, _Sink, _store

__all__ = ["push_into"]


class _Miss(Exception):
    """A frame that is not a row: its outcome words."""

    def __init__(self, code: int, offset: int, field: int = -1, found: int = -1) -> None:
        self.code, self.offset, self.field, self.found = code, offset, field, found


def _found(n: int) -> int:
    return n if 0 <= n <= 0x7FFFFFFF else -1


def _length(buf: bytes, p: int, field: int) -> tuple[int, int]:
    try:
        return read_length(buf, p, len(buf))  # type: ignore[no-any-return]
    except Fail as f:
        raise _Miss(f.code, f.offset, field) from None


def _field(buf: bytes, p: int, k: int, sink: _Sink, unit: int, flags: int) -> int:
    end = len(buf)
    if p >= end:
        raise _Miss(S.TRUNCATED, p, k)
    tag = buf[p]
    if tag != sink.tag:
        if tag == 0 and sink.nullable:
            sink.null()
            return p + 1
        raise _Miss(S.COL_FIELD, p, k, tag)
    if sink.nullable:
        sink.valid.append(1)
    q = p + 1
    kind = sink.kind
    if sink.size:
        if sink.size > end - q:
            raise _Miss(S.TRUNCATED, q, k)
        sink.values.append(_UNPACK[kind](buf, q)[0])
        return q + sink.size
    if kind is Kind.DATETIME:
        if tag == 9:
            n, q = _length(buf, q, k)
            if n != 12:
                raise _Miss(S.COL_WIDTH, p + 1, k, _found(n))
        if 12 > end - q:
            raise _Miss(S.TRUNCATED, q, k)
        sink.datetime(buf[q : q + 12], unit, flags)
        return q + 12
    if kind is Kind.FIXED_OCTETS:
        n = sink.field.width
    else:
        n, q = _length(buf, q, k)
    if n > end - q:
        raise _Miss(S.TRUNCATED, q, k)
    sink.octets(buf[q : q + n])
    return q + n


def _title(out: Outcome, i: int, titles: bytes, titled: bytes) -> bytes:
    if not out.word(i, I.FLAGS) & I.F_CIPHERED:
        return b""
    apdu = out.apdu_bytes(i)
    if apdu:
        try:
            env = secure.parse(apdu)
        except DlmsError:
            env = None
        if env is not None and env.title_len == 8:
            return apdu[env.title : env.title + 8]
    peer = out.word(i, I.PEER)
    if peer < len(titled) and titled[peer]:
        return titles[8 * peer : 8 * peer + 8]
    return b""


class _Mark:
    """Where every sink stood before a frame, to undo a frame that does not fit."""

    __slots__ = ("sizes",)

    def __init__(self, sinks: list[_Sink]) -> None:
        self.sizes = [(len(s.values), len(s.valid), len(s.deviation), len(s.offsets)) for s in sinks]

    def undo(self, sinks: list[_Sink]) -> None:
        for s, (v, ok, d, o) in zip(sinks, self.sizes):
            del s.values[v:], s.valid[ok:], s.deviation[d:], s.status[d:], s.offsets[o:]


def _row(buf: bytes, shape: tuple[int, ...], body: list[_Sink], unit: int, flags: int) -> tuple[int, int]:
    """(long-invoke-id, offset of the date-time or 0) of a plaintext that fits."""
    end = len(buf)
    if end == 0 or buf[0] != 0x0F:
        raise _Miss(NOT_NOTIFICATION, 0, -1, buf[0] if end else -1)
    if end < 6:
        raise _Miss(S.TRUNCATED, end)
    q = 5
    n = buf[q]
    if n == 0x09:
        q = 6
        if q >= end:
            raise _Miss(S.TRUNCATED, q)
        n = buf[q]
    dt = 0
    if n == 12:
        if 12 > end - (q + 1):
            raise _Miss(S.TRUNCATED, q + 1)
        dt = q + 1
        q += 13
    elif n == 0:
        q += 1
    else:
        raise _Miss(S.BAD_LENGTH, q, -1, n)
    k = 0
    for op in shape:
        if op == SHAPE_FIELD:
            q = _field(buf, q, k, body[k], unit, flags)
            k += 1
            continue
        if q >= end:
            raise _Miss(S.TRUNCATED, q)
        if buf[q] != 2:
            raise _Miss(S.COL_ROW, q, -1, buf[q])
        at = q + 1
        width, q = _length(buf, at, -1)
        if width != op:
            raise _Miss(S.COL_ROW, at, -1, _found(width))
    if q != end:
        raise _Miss(S.TRAILING, q)
    return int.from_bytes(buf[1:5], "big") & 0xFFFFFF, dt


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
    """What the native ``push_into`` does, in Python."""
    sinks = [_Sink(f) for f in layout.fields]
    frame, title, ic, invoke, when = sinks[:META]
    body = sinks[META:]
    words = out.words
    rows = 0
    for i in range(out.n):
        w = OUTCOME_WORDS * i
        if words[i * I.WORDS + I.STATUS]:
            _put(outcome, w, FAILED, 0, -1, -1)
            continue
        buf = bytes(out.plaintext(i))
        mark = _Mark(body)
        try:
            lip, dt = _row(buf, shape, body, unit, flags)
        except _Miss as m:
            mark.undo(body)
            _put(outcome, w, m.code, m.offset if m.offset <= 0x7FFFFFFF else -1, m.field, _found(m.found))
            continue
        _put(outcome, w, 0, 0, -1, -1)
        frame.values.append(i)
        title.octets(_title(out, i, titles, titled))
        if out.word(i, I.FLAGS) & I.F_CIPHERED:
            ic.valid.append(1)
            ic.values.append(out.word(i, I.IC))
        else:
            ic.null()
        invoke.values.append(lip)
        if dt:
            when.valid.append(1)
            when.datetime(buf[dt : dt + 12], unit, flags)
        else:
            when.null()
        rows += 1
    for sink, b in zip(sinks, bufs):
        if b.offsets is not None:  # octets: the buffer may be a numpy array, not a bytearray
            data = b"".join(sink.values)
            if len(data) > len(b.values):
                raise MemoryError("octets column larger than its buffer")
            memoryview(b.values).cast("B")[: len(data)] = data
            if b.valid is not None:
                _store(b.valid, "B", sink.valid)
            _store(b.offsets, "q", sink.offsets)
            continue
        sink.flush(b)
    return rows


def _put(outcome: Any, w: int, code: int, offset: int, field: int, found: int) -> None:
    outcome[w] = code
    outcome[w + 1] = offset
    outcome[w + 2] = field
    outcome[w + 3] = found
