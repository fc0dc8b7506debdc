"""Pure-Python twin of the column codec (csrc/columns_decode.c, columns_encode.c).

Decode: rows of fixed-size fields (numbers, date-times, dates, times) are
unpacked with one ``struct.iter_unpack`` over the whole body and their tags
checked column by column; anything else, and any body that does not match
exactly, is walked row by row with the checks and error offsets of the C core.
"""

from __future__ import annotations

import struct
from array import array
from typing import Any

from .. import _status as S
from .._common.columns import ColumnBuffers, Field, Kind, Layout, decode_error, read_length
from .._common.length import put_length as _put_length
from ..errors import EncodeError

WHOLE = 1
REVERSED_SIGN = 2
BARE = 4

NAT = -(2**63)
NOT_SPECIFIED = -0x8000
_DATETIME = struct.Struct(">HBBBBBBBhB")
_MONTH_DAYS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
# kind -> struct format of the content
_FORMATS = {
    Kind.U8: "B",
    Kind.I8: "b",
    Kind.BOOL: "B",
    Kind.U16: "H",
    Kind.I16: "h",
    Kind.U32: "I",
    Kind.I32: "i",
    Kind.U64: "Q",
    Kind.I64: "q",
    Kind.F32: "f",
    Kind.F64: "d",
}
_UNPACK = {kind: struct.Struct(">" + fmt).unpack_from for kind, fmt in _FORMATS.items()}
_PACK = {kind: struct.Struct(">B" + fmt).pack for kind, fmt in _FORMATS.items()}
_SIZES = {kind: struct.calcsize(fmt) for kind, fmt in _FORMATS.items()}


# --------------------------------------------------------------------------
# calendar (the same arithmetic as csrc/columns.h)
# --------------------------------------------------------------------------


def days_from_civil(y: int, m: int, d: int) -> int:
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m - 3 if m > 2 else m + 9) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def civil_from_days(z: int) -> tuple[int, int, int]:
    z += 719468
    era = z // 146097
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (m <= 2), m, d


def _days_in_month(y: int, m: int) -> int:
    if m == 2 and y % 4 == 0 and (y % 100 != 0 or y % 400 == 0):
        return 29
    return _MONTH_DAYS[m - 1]


def epoch_of(fields: tuple[int, ...], unit: int, flags: int) -> int:
    """The epoch of unpacked date-time fields, or NAT."""
    y, mo, d, _, h, mi, s, c, dev, _ = fields
    if (
        y == 0xFFFF
        or not 1 <= mo <= 12
        or d < 1
        or d > _days_in_month(y, mo)
        or h > 23
        or mi > 59
        or s > 59
        or (c > 99 and c != 0xFF)
    ):
        return NAT
    secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s
    if dev != NOT_SPECIFIED:
        secs += (-60 if flags & REVERSED_SIGN else 60) * dev
    return secs * unit + (0 if c == 0xFF else c * unit // 100)


def datetime_octets(epoch: int, deviation: int, status: int, unit: int, flags: int) -> bytes | None:
    """The 12 octets of an epoch, or None when its local time is outside the years 0..65534."""
    tail = deviation.to_bytes(2, "big", signed=True) + bytes((status,))
    if epoch == NAT:
        return b"\xff" * 9 + tail
    if not -(2**61) <= epoch <= 2**61:
        return None
    local = epoch
    if deviation != NOT_SPECIFIED:
        local -= (-60 if flags & REVERSED_SIGN else 60) * deviation * unit
    secs = local // unit
    hundredths = (local - secs * unit) * 100 // unit
    days = secs // 86400
    sod = secs - days * 86400
    y, m, d = civil_from_days(days)
    if not 0 <= y <= 0xFFFE:
        return None
    dow = (days % 7 + 10) % 7 + 1
    return bytes((y >> 8, y & 0xFF, m, d, dow, sod // 3600, sod // 60 % 60, sod % 60, hundredths)) + tail


# --------------------------------------------------------------------------
# decode
# --------------------------------------------------------------------------


def _store(buf: Any, code: str, values: Any) -> None:
    if len(values):
        memoryview(buf).cast("B").cast(code)[: len(values)] = array(code, values)  # type: ignore[call-overload]


class _Sink:
    """One column's values while a decode runs, stored into its buffers at the end."""

    __slots__ = ("field", "kind", "tag", "nullable", "size", "values", "valid", "deviation", "status", "offsets")

    def __init__(self, f: Field) -> None:
        self.field = f
        self.kind = f.kind
        self.tag = f.tag
        self.nullable = f.nullable
        self.size = _SIZES.get(self.kind, 0)
        self.values: list[Any] = []
        self.valid: list[int] = []
        self.deviation: list[int] = []
        self.status: list[int] = []
        self.offsets: list[int] = [0]

    def null(self) -> None:
        self.valid.append(0)
        if self.kind is Kind.DATETIME:
            self.values.append(NAT)
            self.deviation.append(NOT_SPECIFIED)
            self.status.append(0xFF)
        elif self.kind in (Kind.OCTETS, Kind.FIXED_OCTETS):
            self.offsets.append(self.offsets[-1])
        else:
            self.values.append(0.0 if self.kind in (Kind.F32, Kind.F64) else 0)

    def octets(self, chunk: bytes) -> None:
        self.values.append(chunk)
        self.offsets.append(self.offsets[-1] + len(chunk))

    def datetime(self, octets: Any, unit: int, flags: int) -> None:
        fields = _DATETIME.unpack(octets)
        self.values.append(epoch_of(fields, unit, flags))
        self.deviation.append(fields[8])
        self.status.append(fields[9])

    def flush(self, b: ColumnBuffers) -> None:
        if b.valid is not None:
            _store(b.valid, "B", self.valid)
        if self.kind is Kind.DATETIME:
            _store(b.values, "q", self.values)
            _store(b.deviation, "h", self.deviation)
            _store(b.status, "B", self.status)
        elif self.kind in (Kind.OCTETS, Kind.FIXED_OCTETS):
            data = b"".join(self.values)
            if len(data) > len(b.values):
                raise MemoryError("octets column larger than its buffer")
            b.values[: len(data)] = data
            _store(b.offsets, "q", self.offsets)
        else:
            values = self.values
            if self.kind is Kind.BOOL:
                values = [1 if v else 0 for v in values]
            _store(b.values, self.field.typecode, values)


def _found(n: int) -> int:
    return n if n <= 0x7FFFFFFF else -1


def _walk(buf: Any, p: int, end: int, rows: int, layout: Layout, sinks: list[_Sink], unit: int, flags: int) -> int:
    """Rows decoded one by one: the C core's checks, in its order."""
    ncols = len(sinks)
    bare = flags & BARE
    for r in range(rows):
        if not bare:
            if p >= end:
                raise decode_error(S.TRUNCATED, p, r, -1, -1, layout)
            if buf[p] != 2:
                raise decode_error(S.COL_ROW, p, r, -1, buf[p], layout)
            at = p + 1
            width, p = read_length(buf, at, end, r)
            if width != ncols:
                raise decode_error(S.COL_ROW, at, r, -1, _found(width), layout)
        for k, sink in enumerate(sinks):
            if p >= end:
                raise decode_error(S.TRUNCATED, p, r, k, -1, layout)
            tag = buf[p]
            if tag != sink.tag:
                if tag == 0 and sink.nullable:
                    sink.null()
                    p += 1
                    continue
                raise decode_error(S.COL_FIELD, p, r, k, tag, layout)
            if sink.nullable:
                sink.valid.append(1)
            q = p + 1
            kind = sink.kind
            if sink.size:
                if sink.size > end - q:
                    raise decode_error(S.TRUNCATED, q, r, k, -1, layout)
                sink.values.append(_UNPACK[kind](buf, q)[0])
                p = q + sink.size
                continue
            if kind is Kind.DATETIME:
                if tag == 9:
                    n, q = read_length(buf, q, end, r, k)
                    if n != 12:
                        raise decode_error(S.COL_WIDTH, p + 1, r, k, _found(n), layout)
                if 12 > end - q:
                    raise decode_error(S.TRUNCATED, q, r, k, -1, layout)
                sink.datetime(buf[q : q + 12], unit, flags)
                p = q + 12
                continue
            if kind is Kind.FIXED_OCTETS:
                n = sink.field.width
            else:
                n, q = read_length(buf, q, end, r, k)
            if n > end - q:
                raise decode_error(S.TRUNCATED, q, r, k, -1, layout)
            sink.octets(bytes(buf[q : q + n]))
            p = q + n
    return p


def _fast(buf: Any, p: int, end: int, rows: int, layout: Layout, sinks: list[_Sink], unit: int, flags: int) -> int:
    """Rows of fixed-size fields in one iter_unpack, or -1 when the body is
    not exactly that (the walk then decodes it or finds the error)."""
    if rows == 0 or len(sinks) > 127 or any(s.nullable or s.kind is Kind.OCTETS for s in sinks):
        return -1
    fmt = [">"]
    expect: list[tuple[int, int]] = []  # (struct item, the value every row has there)
    picks: list[int] = []  # per sink, the struct item holding its value
    n = 0
    if not flags & BARE:
        fmt.append("BB")
        expect += [(0, 2), (1, len(sinks))]
        n = 2
    for s in sinks:
        expect.append((n, s.tag))  # type: ignore[arg-type]
        n += 1
        if s.kind is Kind.DATETIME:
            if s.tag == 9:
                fmt.append("BB12s")
                expect.append((n, 12))
                n += 1
            else:
                fmt.append("B12s")
        elif s.kind is Kind.FIXED_OCTETS:
            fmt.append(f"B{s.field.width}s")
        else:
            fmt.append("B" + _FORMATS[s.kind])
        picks.append(n)
        n += 1
    st = struct.Struct("".join(fmt))
    size = st.size * rows
    if size > end - p:
        return -1
    cols = list(zip(*st.iter_unpack(buf[p : p + size])))
    for i, v in expect:
        if cols[i].count(v) != rows:
            return -1
    for s, i in zip(sinks, picks):
        if s.kind is Kind.DATETIME:
            for octets in cols[i]:
                s.datetime(octets, unit, flags)
        elif s.kind is Kind.FIXED_OCTETS:
            for octets in cols[i]:
                s.octets(octets)
        else:
            s.values = list(cols[i])
    return p + size


def decode_into(
    data: Any, offset: int, rows: int, layout: Layout, bufs: list[ColumnBuffers], unit: int, flags: int
) -> int:
    """Fill ``bufs`` from the array of ``rows`` rows at ``data[offset]``; the
    offset after the array."""
    buf = data if isinstance(data, bytes) else bytes(data)
    end = len(buf)
    hdr_rows, p = _header(buf, offset, layout)
    if hdr_rows != rows:
        raise ValueError("row count differs from the array header")
    sinks = [_Sink(f) for f in layout.fields]
    q = _fast(buf, p, end, rows, layout, sinks, unit, flags)
    if q < 0:
        sinks = [_Sink(f) for f in layout.fields]
        q = _walk(buf, p, end, rows, layout, sinks, unit, flags)
    if flags & WHOLE and q != end:
        raise decode_error(S.TRAILING, q, -1, -1, -1, layout)
    for sink, b in zip(sinks, bufs):
        sink.flush(b)
    return q


def _header(buf: bytes, offset: int, layout: Layout) -> tuple[int, int]:
    end = len(buf)
    if offset >= end:
        raise decode_error(S.TRUNCATED, offset, -1, -1, -1, layout)
    if buf[offset] != 1:
        raise decode_error(S.COL_NOT_ARRAY, offset, -1, -1, buf[offset], layout)
    n, p = read_length(buf, offset + 1, end)
    if n > end - p:
        raise decode_error(S.TOO_MANY, offset + 1, -1, -1, -1, layout)
    return n, p


# --------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------


def _list(buf: Any, code: str) -> list[Any]:
    return memoryview(buf).cast("B").cast(code).tolist() if len(buf) else []  # type: ignore[call-overload,no-any-return]


def _value_error(row: int, field: int) -> EncodeError:
    exc = EncodeError(f"row {row} field {field}: {S.MESSAGES[S.COL_VALUE]}")
    exc.row = row  # type: ignore[attr-defined]
    exc.field = field  # type: ignore[attr-defined]
    return exc


def encode(layout: Layout, bufs: list[ColumnBuffers], rows: int, unit: int, flags: int) -> bytes:
    """The A-XDR array of ``rows`` rows from the column buffers."""
    cols = []
    for k, b in enumerate(bufs):
        f = b.field
        kind = f.kind
        valid = _list(b.valid, "B") if f.nullable else None
        if kind is Kind.DATETIME:
            vals: Any = list(zip(_list(b.values, "q"), _list(b.deviation, "h"), _list(b.status, "B")))
        elif kind in (Kind.OCTETS, Kind.FIXED_OCTETS):
            offsets = _list(b.offsets, "q")
            data = bytes(b.values)
            vals = []
            for r in range(rows):
                if valid is not None and not valid[r]:
                    vals.append(b"")
                    continue
                a, z = offsets[r], offsets[r + 1]
                if a < 0 or z < a or z > len(data) or (kind is Kind.FIXED_OCTETS and z - a != f.width):
                    raise _value_error(r, k)
                if z - a > 0xFFFFFFFF:
                    raise _value_error(r, k)
                vals.append(data[a:z])
        else:
            vals = _list(b.values, f.typecode)
        cols.append((f, kind, valid, vals))
    out = bytearray(b"\x01")
    _put_length(out, rows)
    head = bytearray(b"\x02")
    _put_length(head, len(bufs))
    bare = flags & BARE
    for r in range(rows):
        if not bare:
            out += head
        for k, (f, kind, valid, vals) in enumerate(cols):
            if valid is not None and not valid[r]:
                out.append(0)
                continue
            v = vals[r]
            if kind is Kind.DATETIME:
                octets = datetime_octets(v[0], v[1], v[2], unit, flags)
                if octets is None:
                    raise _value_error(r, k)
                out += b"\x09\x0c" + octets if f.tag == 9 else b"\x19" + octets
            elif kind is Kind.OCTETS:
                out.append(f.tag)  # type: ignore[arg-type]
                _put_length(out, len(v))
                out += v
            elif kind is Kind.FIXED_OCTETS:
                out.append(f.tag)  # type: ignore[arg-type]
                out += v
            elif kind is Kind.BOOL:
                out += b"\x03\x01" if v else b"\x03\x00"
            else:
                out += _PACK[kind](f.tag, v)
    return bytes(out)


# pushes as columns: the same buffers, one row per frame (after the codec above: push imports it)
from .push import push_into as push_into  # noqa: E402
