"""hypothesis properties of dlmsmesh.columns, native against pure:

* generated buffers (written by axdr.encode) decode to columns equal, row by
  row, to axdr.decode's values, the same on both backends;
* columns -> bytes -> columns is the identity, and both encoders write the
  same bytes;
* arbitrary bytes under a generated layout decode or fail alike on both
  backends, with DecodeError only.
"""

from __future__ import annotations

import datetime as dt
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlmsmesh import axdr, columns
from dlmsmesh.columns import Field, Layout
from dlmsmesh.types import (
    Bcd,
    Date,
    DateTime,
    DoubleLong,
    DoubleLongUnsigned,
    Enum,
    Float32,
    Integer,
    Long,
    Long64,
    Long64Unsigned,
    LongUnsigned,
    OctetString,
    Time,
    Unsigned,
    VisibleString,
)

from .columns_support import BACKENDS, NAT, on_backend, outcome, plain, ref_epoch, table_values

# every test runs each backend itself and compares them
pytestmark = pytest.mark.single_backend

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _ints(cls: Any) -> st.SearchStrategy[Any]:
    return st.integers(cls.MIN, cls.MAX).map(cls)


def _octet(lo: int, hi: int, *special: int) -> st.SearchStrategy[int]:
    return st.one_of(st.integers(lo, hi), st.sampled_from((0xFF, *special)))


# date-time octets: real moments, and any mix of wildcards, patterns and out-of-range fields
_moments = st.tuples(
    st.datetimes(min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30)),
    _octet(1, 7),
    _octet(0, 99),
    st.one_of(st.integers(-720, 720), st.just(-0x8000)),
    st.integers(0, 255),
).map(
    lambda f: struct.pack(
        ">HBBBBBBBhB", f[0].year, f[0].month, f[0].day, f[1], f[0].hour, f[0].minute, f[0].second, f[2], f[3], f[4]
    )
)
_odd = st.tuples(
    st.one_of(st.integers(1, 9999), st.just(0xFFFF)),
    _octet(1, 12, 0xFD, 0xFE, 0, 13),
    _octet(1, 31, 0xFD, 0xFE, 0),
    _octet(1, 7),
    _octet(0, 23, 24),
    _octet(0, 59, 60),
    _octet(0, 59, 60),
    _octet(0, 99, 100),
    st.one_of(st.integers(-720, 720), st.just(-0x8000)),
    st.integers(0, 255),
).map(lambda f: struct.pack(">HBBBBBBBhB", *f))
datetime_octets = st.one_of(_moments, _odd)

# (field, value strategy)
COLUMN_TYPES: list[tuple[Field, st.SearchStrategy[Any]]] = [
    (Field(15), _ints(Integer)),
    (Field(16), _ints(Long)),
    (Field(5), _ints(DoubleLong)),
    (Field(20), _ints(Long64)),
    (Field(17), _ints(Unsigned)),
    (Field(18), _ints(LongUnsigned)),
    (Field(6), _ints(DoubleLongUnsigned)),
    (Field(21), _ints(Long64Unsigned)),
    (Field(22), _ints(Enum)),
    (Field(13), _ints(Bcd)),
    (Field(3), st.booleans()),
    (Field(23), st.floats(width=32, allow_nan=False).map(Float32)),
    (Field(24), st.floats(allow_nan=False)),
    (Field(25, datetime=True), datetime_octets.map(DateTime)),
    (Field(9, datetime=True), datetime_octets.map(OctetString)),
    (Field(9), st.binary(max_size=140).map(OctetString)),
    (Field(10), st.text(st.characters(max_codepoint=255), max_size=20).map(VisibleString)),
    (Field(26), st.binary(min_size=5, max_size=5).map(Date)),
    (Field(27), st.binary(min_size=4, max_size=4).map(Time)),
]


@st.composite
def profiles(draw: st.DrawFn) -> tuple[Layout, list[tuple[Any, ...]]]:
    picks = draw(st.lists(st.sampled_from(COLUMN_TYPES), min_size=1, max_size=6))
    nullable = draw(st.lists(st.booleans(), min_size=len(picks), max_size=len(picks)))
    fields = tuple(Field(f.tag, datetime=f.datetime, nullable=n) for (f, _), n in zip(picks, nullable))
    cells = []
    for (_, s), n in zip(picks, nullable):
        cells.append(st.one_of(st.none(), s) if n else s)
    row = st.tuples(*cells)
    rows = draw(st.lists(row, max_size=25))
    bare = len(fields) == 1 and draw(st.booleans())
    if bare:
        rows = [r[0] for r in rows]  # type: ignore[misc]
    return Layout(fields, bare=bare), rows


def _check_against_axdr(table: columns.Table, data: bytes) -> None:
    decoded = axdr.decode(data)
    layout = table.layout
    rows = [(v,) for v in decoded] if layout.bare else decoded
    assert len(table) == len(rows)
    for k, f in enumerate(layout.fields):
        col, valid = table.columns[k], table.valid[k]
        got = plain(col)
        for r, row in enumerate(rows):
            want = row[k]
            if want is None:
                assert valid is not None and int(valid[r]) == 0
                continue
            if valid is not None:
                assert int(valid[r]) == 1
            if f.kind is columns.Kind.DATETIME:
                raw = bytes(want)
                assert got[r] == (ref_epoch(raw), struct.unpack(">h", raw[9:11])[0], raw[11]), raw.hex()
            elif f.tag == 10:
                assert got[r] == want.encode("latin-1")
            elif f.tag in (9, 26, 27):
                assert got[r] == bytes(want)
            else:
                assert got[r] == want


@SETTINGS
@given(profiles())
def test_generated_buffers_match_axdr_on_both_backends(profile: tuple[Layout, list[Any]]) -> None:
    layout, rows = profile
    data = axdr.encode(rows)
    results = []
    for name in BACKENDS:
        with on_backend(name):
            table = columns.decode(data, layout)
            _check_against_axdr(table, data)
            results.append(table_values(table))
            for unit in ("ms", "us"):
                scaled = columns.decode(data, layout, unit=unit)
                for k, f in enumerate(layout.fields):
                    if f.kind is columns.Kind.DATETIME:
                        for (e, _, _), (e2, _, _) in zip(plain(table[k]), plain(scaled[k])):
                            assert e2 == NAT if e == NAT else e2 // columns.UNITS[unit] == e
    assert all(r == results[0] for r in results)


@SETTINGS
@given(profiles(), st.sampled_from(["s", "ms", "us"]))
def test_columns_bytes_columns_round_trip(profile: tuple[Layout, list[Any]], unit: str) -> None:
    layout, rows = profile
    data = axdr.encode(rows)
    encoded = []
    for name in BACKENDS:
        with on_backend(name):
            table = columns.decode(data, layout, unit=unit)
            again = columns.encode(table)
            assert table_values(columns.decode(again, layout, unit=unit)) == table_values(table)
            if not any(f.kind is columns.Kind.DATETIME for f in layout.fields):
                assert again == data
            encoded.append(again)
    assert all(e == encoded[0] for e in encoded)


@SETTINGS
@given(profiles(), st.data())
def test_arbitrary_bytes_decode_or_fail_alike(profile: tuple[Layout, list[Any]], data: st.DataObject) -> None:
    layout, rows = profile
    base = axdr.encode(rows)
    mutated = bytearray(base)
    for _ in range(data.draw(st.integers(0, 4))):
        if mutated:
            mutated[data.draw(st.integers(0, len(mutated) - 1))] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(mutated)))
    blob = bytes(mutated[:cut]) + data.draw(st.binary(max_size=8))
    use = data.draw(st.sampled_from([layout, None]))
    got = []
    for name in BACKENDS:
        with on_backend(name):
            r = outcome(lambda: columns.decode(blob, use))  # noqa: B023
        got.append(r if isinstance(r, tuple) else table_values(r))
    assert all(g == got[0] for g in got), (blob.hex(), got)
    if isinstance(got[0], tuple):
        assert got[0][1] == "DecodeError"


@SETTINGS
@given(
    st.lists(datetime_octets, min_size=1, max_size=40),
    st.sampled_from([DateTime, OctetString]),
    st.sampled_from(["s", "ms", "us"]),
    st.booleans(),
)
def test_date_times_match_the_datetime_module(values: list[bytes], wire: type, unit: str, standard_sign: bool) -> None:
    data = axdr.encode([(wire(v), Unsigned(0)) for v in values])
    layout = [Field(25 if wire is DateTime else 9, datetime=True), Unsigned]
    want = [(ref_epoch(v, unit, standard_sign), struct.unpack(">h", v[9:11])[0], v[11]) for v in values]
    for name in BACKENDS:
        with on_backend(name):
            table = columns.decode(data, layout, unit=unit, standard_sign=standard_sign)
            assert plain(table[0]) == want
            again = columns.encode(table, standard_sign=standard_sign)
            assert plain(columns.decode(again, layout, unit=unit, standard_sign=standard_sign)[0]) == want
