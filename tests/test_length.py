"""The one A-XDR length codec in Python (``dlmsmesh._common.length``) and
its callers: the same values, the same errors at the same offsets."""

from __future__ import annotations

import pytest

import dlmsmesh
from dlmsmesh import _status as S
from dlmsmesh import axdr, columns
from dlmsmesh._common.fail import Fail
from dlmsmesh._common.length import encode_length, length_size, put_length, read_length
from dlmsmesh.errors import DecodeError, EncodeError

BOUNDARIES = [
    (0, "00"),
    (0x7F, "7f"),
    (0x80, "8180"),
    (0xFF, "81ff"),
    (0x100, "820100"),
    (0xFFFF, "82ffff"),
    (0x10000, "83010000"),
    (0xFFFFFF, "83ffffff"),
    (0x1000000, "8401000000"),
    (0xFFFFFFFF, "84ffffffff"),
]


@pytest.mark.single_backend
@pytest.mark.parametrize("n, wire", BOUNDARIES)
def test_shortest_form_at_every_boundary(n: int, wire: str) -> None:
    raw = bytes.fromhex(wire)
    assert encode_length(n) == raw
    assert length_size(n) == len(raw)
    out = bytearray(b"\xaa")
    put_length(out, n)
    assert out == b"\xaa" + raw
    assert read_length(b"\x00" + raw + b"\x00", 1, len(raw) + 2) == (n, len(raw) + 1)


@pytest.mark.single_backend
def test_non_minimal_forms_decode() -> None:
    assert read_length(bytes.fromhex("8100"), 0, 2) == (0, 2)
    assert read_length(bytes.fromhex("8400000080"), 0, 5) == (0x80, 5)


@pytest.mark.single_backend
@pytest.mark.parametrize(
    "wire, p, end, code, offset",
    [
        ("", 0, 0, S.TRUNCATED, 0),
        ("0005", 1, 1, S.TRUNCATED, 1),  # end, not the buffer, bounds the read
        ("80", 0, 1, S.BAD_LENGTH, 0),
        ("85 0000000000", 0, 6, S.BAD_LENGTH, 0),
        ("ff", 0, 1, S.BAD_LENGTH, 0),
        ("82 01", 0, 2, S.TRUNCATED, 0),
        ("00 84 000000", 1, 5, S.TRUNCATED, 1),
    ],
)
def test_read_errors_name_the_length_field(wire: str, p: int, end: int, code: int, offset: int) -> None:
    with pytest.raises(Fail) as info:
        read_length(bytes.fromhex(wire.replace(" ", "")), p, end)
    assert (info.value.code, info.value.offset) == (code, offset)


@pytest.mark.single_backend
@pytest.mark.parametrize("n", [-1, 0x100000000])
def test_unwritable_lengths_are_encode_errors(n: int) -> None:
    with pytest.raises(EncodeError):
        put_length(bytearray(), n)
    with pytest.raises(EncodeError):
        encode_length(n)


def test_axdr_octet_string_lengths_round_trip() -> None:
    for n in (0x7F, 0x80, 0xFF, 0x100, 0x10000):
        raw = axdr.encode(b"\x01" * n)
        assert raw[1 : 1 + length_size(n)] == encode_length(n)
        assert axdr.decode(raw) == b"\x01" * n


@pytest.mark.parametrize(
    "wire, offset, reason",
    [
        ("0980", 1, S.MESSAGES[S.BAD_LENGTH]),
        ("0985", 1, S.MESSAGES[S.BAD_LENGTH]),
        ("098201", 1, S.MESSAGES[S.TRUNCATED]),
        ("0182", 1, S.MESSAGES[S.TRUNCATED]),
    ],
)
def test_axdr_length_errors(wire: str, offset: int, reason: str) -> None:
    with pytest.raises(DecodeError) as info:
        axdr.decode(bytes.fromhex(wire))
    assert (info.value.offset, info.value.layer, info.value.reason) == (offset, "data", reason)


@pytest.mark.parametrize(
    "wire, offset, reason",
    [
        ("0180", 1, S.MESSAGES[S.BAD_LENGTH]),
        ("018201", 1, S.MESSAGES[S.TRUNCATED]),
    ],
)
def test_columns_header_length_errors(wire: str, offset: int, reason: str) -> None:
    layout = columns.Layout.of([6])
    with pytest.raises(DecodeError) as info:
        columns.decode(bytes.fromhex(wire), layout)
    assert (info.value.offset, info.value.reason) == (offset, reason)


def test_columns_encode_writes_the_shortest_row_count() -> None:
    rows = list(range(0x80))
    raw = columns.encode([rows], [6])
    assert raw[:3] == b"\x01\x81\x80"
    assert columns.decode(raw, [6]).columns[0].tolist() == rows
    assert dlmsmesh.backend() in ("native", "pure")
