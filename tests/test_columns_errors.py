"""dlmsmesh.columns on bad input: rows that do not fit the layout name the row,
the field and the byte offset; truncated and mutated buffers give DecodeError
and nothing else, the same error on both backends."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from dlmsmesh import DecodeError, EncodeError, axdr, columns
from dlmsmesh.columns import DATETIME_OCTETS, DateTimeColumn, Field
from dlmsmesh.types import DateTime, DoubleLongUnsigned, LongUnsigned, OctetString, Unsigned

from .columns_support import BACKENDS, on_backend, outcome, table_values
from .helpers import hexbytes

LAYOUT = [DATETIME_OCTETS, DoubleLongUnsigned, DoubleLongUnsigned, Unsigned]


def profile(rows: int = 5) -> bytes:
    start = dt.datetime(2024, 10, 27, 0, 0)
    out = []
    for i in range(rows):
        t = start + dt.timedelta(hours=i)
        clock = DateTime.from_fields(
            t.year, t.month, t.day, None, t.hour, 0, 0, 0, -120 if i < 3 else -60, 0x80 if i < 3 else 0
        )
        out.append((OctetString(bytes(clock)), DoubleLongUnsigned(i), DoubleLongUnsigned(2 * i), Unsigned(i)))
    return axdr.encode(out)


ROW = 2 + 14 + 5 + 5 + 2  # bytes of one row above


def _error(data: bytes, layout: object = LAYOUT) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        columns.decode(data, layout)  # type: ignore[arg-type]
    assert info.value.layer == "data"
    return info.value


def test_field_of_another_type_names_row_field_and_offset(backend: str) -> None:
    data = bytearray(profile())
    at = 2 + 3 * ROW + 2 + 14  # row 3, field 1: its tag
    data[at] = 0x12
    exc = _error(bytes(data))
    assert (exc.offset, exc.row, exc.field) == (at, 3, 1)  # type: ignore[attr-defined]
    assert str(exc) == (
        f"data at offset {at}: row 3 field 1: field type differs from the layout "
        "(long-unsigned where the layout has double-long-unsigned)"
    )


def test_row_that_is_not_a_structure(backend: str) -> None:
    data = bytearray(profile())
    data[2 + ROW] = 0x01
    exc = _error(bytes(data))
    assert (exc.offset, exc.row, exc.field) == (2 + ROW, 1, None)  # type: ignore[attr-defined]
    assert "row 1: row is not a structure of the layout's width (found 1, layout 4)" in str(exc)


def test_row_of_another_width(backend: str) -> None:
    data = axdr.encode([(Unsigned(1), Unsigned(2)), (Unsigned(3),)])
    exc = _error(data, [Unsigned, Unsigned])
    assert (exc.offset, exc.row, exc.field) == (9, 1, None)  # type: ignore[attr-defined]
    assert "(found 1, layout 2)" in str(exc)


def test_layout_of_another_width_than_the_first_row(backend: str) -> None:
    exc = _error(profile(), [DATETIME_OCTETS, None, Unsigned])
    assert (exc.offset, exc.row) == (3, 0)  # type: ignore[attr-defined]


def test_date_time_octet_string_of_another_length(backend: str) -> None:
    data = axdr.encode([(OctetString(b"\x07\xe8\x01\x01"), Unsigned(0))])
    exc = _error(data, [DATETIME_OCTETS, Unsigned])
    assert (exc.offset, exc.row, exc.field) == (5, 0, 0)  # type: ignore[attr-defined]
    assert "an octet-string date-time is not 12 octets (found 4)" in str(exc)


def test_not_an_array(backend: str) -> None:
    exc = _error(hexbytes("02 01 11 05"))
    assert exc.offset == 0 and "not an array (structure)" in str(exc)


def test_trailing_bytes(backend: str) -> None:
    data = profile() + b"\x00"
    exc = _error(data)
    assert exc.offset == len(data) - 1 and "trailing" in str(exc)


def test_offset_into_a_larger_message(backend: str) -> None:
    body = profile()
    apdu = hexbytes("C4 01 C1 00") + body  # get-response-normal, data
    table = columns.decode(apdu, LAYOUT, offset=4)
    assert table_values(table) == table_values(columns.decode(body, LAYOUT))
    exc = _error_at(apdu[:-1], 4)
    assert exc.offset == len(apdu) - 1  # the content of the last unsigned


def _error_at(data: bytes, offset: int) -> DecodeError:
    with pytest.raises(DecodeError) as info:
        columns.decode(data, LAYOUT, offset=offset)
    return info.value


def test_inference_refuses_what_cannot_be_a_column(backend: str) -> None:
    exc = _error(axdr.encode([([Unsigned(1)], Unsigned(2))]), None)
    assert (exc.offset, exc.row, exc.field) == (4, 0, 0)  # type: ignore[attr-defined]
    assert "type cannot be a column (array)" in str(exc)
    exc = _error(axdr.encode([(None, Unsigned(2))]), None)
    assert "(null-data)" in str(exc)
    exc = _error(b"\x01\x00", None)
    assert "type cannot be a column" in str(exc)


def test_null_data_needs_a_nullable_field(backend: str) -> None:
    data = axdr.encode([(Unsigned(1),), (None,)])
    exc = _error(data, [Unsigned])
    assert (exc.row, exc.field) == (1, 0)  # type: ignore[attr-defined]
    assert len(columns.decode(data, [Field(17, nullable=True)])) == 2


def test_huge_counts_allocate_nothing(backend: str) -> None:
    exc = _error(hexbytes("01 84 FF FF FF FF 02 04"))
    assert exc.offset == 1 and "element count exceeds" in str(exc)
    exc = _error(hexbytes("01 01 02 84 7F FF FF FF 11 00"))
    assert (exc.offset, exc.row) == (3, 0)  # type: ignore[attr-defined]


@pytest.mark.single_backend
@pytest.mark.parametrize("layout", [LAYOUT, None], ids=["layout", "inferred"])
def test_every_truncation_is_a_decode_error_alike_on_both_backends(layout: object) -> None:
    data = profile()
    for n in range(len(data)):
        results = set()
        for name in BACKENDS:
            with on_backend(name):
                got = outcome(lambda: columns.decode(data[:n], layout))  # type: ignore[arg-type]  # noqa: B023
            assert got[0] == "error" and got[1] == "DecodeError", (n, got)
            results.add(got)
        assert len(results) == 1, (n, results)


@pytest.mark.single_backend
def test_mutations_decode_or_fail_alike_on_both_backends() -> None:
    rng = random.Random(6)
    base = profile(8)
    variable = axdr.encode([(OctetString(b"ab" * i), LongUnsigned(i), DoubleLongUnsigned(i)) for i in range(6)])
    for data, layout in ((base, LAYOUT), (base, None), (variable, None)):
        for _ in range(400):
            mutated = bytearray(data)
            for _ in range(rng.choice((1, 1, 2, 3))):
                mutated[rng.randrange(len(mutated))] = rng.choice(
                    (0, 1, 2, 9, 12, 0x80, 0x81, 0xFF, rng.randrange(256))
                )
            got = []
            for name in BACKENDS:
                with on_backend(name):
                    r = outcome(lambda: columns.decode(bytes(mutated), layout))  # noqa: B023
                got.append(r if isinstance(r, tuple) else table_values(r))
            assert all(g == got[0] for g in got), (mutated.hex(), got)
            assert not isinstance(got[0], tuple) or got[0][1] == "DecodeError"


# --------------------------------------------------------------------------
# encode
# --------------------------------------------------------------------------


def test_encode_out_of_range_integer_names_row_and_field(backend: str) -> None:
    with pytest.raises(EncodeError) as info:
        columns.encode([[1, 2, 256]], [Unsigned])
    assert (info.value.row, info.value.field) == (2, 0)  # type: ignore[attr-defined]
    numpy = pytest.importorskip("numpy")
    with pytest.raises(EncodeError) as info:
        columns.encode([numpy.array([1, -1, 3])], [Unsigned])
    assert (info.value.row, info.value.field) == (1, 0)  # type: ignore[attr-defined]


def test_encode_date_time_outside_the_years_names_row_and_field(backend: str) -> None:
    from array import array

    ok = DateTimeColumn(array("q", [0, 0]), array("h", [0, 0]), array("B", [0, 0]))
    bad = DateTimeColumn(array("q", [0, 2**41]), array("h", [0, 0]), array("B", [0, 0]))
    with pytest.raises(EncodeError) as info:
        columns.encode([ok, bad], [DateTime, DATETIME_OCTETS])
    assert (info.value.row, info.value.field) == (1, 1)  # type: ignore[attr-defined]
    assert str(info.value) == "row 1 field 1: value cannot be encoded"


def test_encode_bad_offsets_and_widths(backend: str) -> None:
    from array import array

    from dlmsmesh.types import Date

    bad = columns.BytesColumn(array("q", [0, 5, 3]), b"abcde")
    with pytest.raises(EncodeError) as info:
        columns.encode([bad], [OctetString])
    assert (info.value.row, info.value.field) == (1, 0)  # type: ignore[attr-defined]
    with pytest.raises(EncodeError) as info:
        columns.encode([[b"\x07\xe8\x01\x01\x01", b"\x07\xe8\x01"]], [Date])
    assert (info.value.row, info.value.field) == (1, 0)  # type: ignore[attr-defined]


def test_encode_needs_a_complete_layout(backend: str) -> None:
    with pytest.raises(ValueError):
        columns.encode([[1]], [None])
    with pytest.raises(ValueError):
        columns.encode([[1], [1, 2]], [Unsigned, Unsigned])
    with pytest.raises(ValueError):
        columns.encode([[1]])
