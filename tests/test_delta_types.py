"""The delta types (Data tags 28-33: delta-integer, delta-long,
delta-double-long, delta-unsigned, delta-long-unsigned,
delta-double-long-unsigned): a tag then a fixed 1/2/4-octet big-endian
number, two's complement for the signed ones.  They decode and encode as
typed standalone numbers wherever Data stands (plain values, arrays,
structures, compact-array descriptions and contents, profile-buffer columns),
on both backends, and in the JSON form of values; nothing is accumulated."""

from __future__ import annotations

import io
import json
import math
import random
import sys
from typing import Any

import pytest

from dlmsmesh import _status as S
from dlmsmesh import axdr, cli, columns
from dlmsmesh import types as t
from dlmsmesh.errors import DecodeError

from .helpers import BACKENDS, on_backend

D = (
    t.DeltaInteger,
    t.DeltaLong,
    t.DeltaDoubleLong,
    t.DeltaUnsigned,
    t.DeltaLongUnsigned,
    t.DeltaDoubleLongUnsigned,
)

# (hex, value): the extremes and a middle value of each type
KNOWN: list[tuple[str, Any]] = [
    ("1c00", t.DeltaInteger(0)),
    ("1c7f", t.DeltaInteger(127)),
    ("1c80", t.DeltaInteger(-128)),
    ("1cfd", t.DeltaInteger(-3)),
    ("1d8000", t.DeltaLong(-32768)),
    ("1d7fff", t.DeltaLong(32767)),
    ("1dfed4", t.DeltaLong(-300)),
    ("1e80000000", t.DeltaDoubleLong(-(2**31))),
    ("1e7fffffff", t.DeltaDoubleLong(2**31 - 1)),
    ("1efffeee90", t.DeltaDoubleLong(-70000)),
    ("1f00", t.DeltaUnsigned(0)),
    ("1fff", t.DeltaUnsigned(255)),
    ("200000", t.DeltaLongUnsigned(0)),
    ("20ffff", t.DeltaLongUnsigned(65535)),
    ("20012c", t.DeltaLongUnsigned(300)),
    ("2100000000", t.DeltaDoubleLongUnsigned(0)),
    ("21ffffffff", t.DeltaDoubleLongUnsigned(2**32 - 1)),
    ("2100011170", t.DeltaDoubleLongUnsigned(70000)),
]


def test_the_classes() -> None:
    assert [(c.TAG, c.NAME, c.MIN, c.MAX) for c in D] == [
        (28, "delta-integer", -128, 127),
        (29, "delta-long", -32768, 32767),
        (30, "delta-double-long", -(2**31), 2**31 - 1),
        (31, "delta-unsigned", 0, 255),
        (32, "delta-long-unsigned", 0, 65535),
        (33, "delta-double-long-unsigned", 0, 2**32 - 1),
    ]
    assert t.DELTA_TYPES == D
    for c in D:
        assert t.TYPES_BY_TAG[c.TAG] is c and t.TYPES_BY_NAME[c.NAME] is c
        assert t.DataType(c.TAG).asn1_name == c.NAME
        with pytest.raises(ValueError, match=f"{c.__name__} must be in"):
            c(c.MAX + 1)
        with pytest.raises(ValueError, match=f"{c.__name__} must be in"):
            c(c.MIN - 1)
    # a delta is its own type: equal as a number, not the same COSEM type
    assert t.DeltaLong(5) == t.Long(5) == 5
    assert type(axdr.decode(axdr.encode(t.DeltaLong(5)))) is t.DeltaLong
    assert repr(t.DeltaDoubleLongUnsigned(7)) == "DeltaDoubleLongUnsigned(7)"


@pytest.mark.parametrize("hexstr, value", KNOWN)
def test_known_answers(hexstr: str, value: Any) -> None:
    data = bytes.fromhex(hexstr)
    got = axdr.decode(data)
    assert got == value and type(got) is type(value)
    assert axdr.encode(value) == data
    assert axdr.decode_prefix(data + b"\x00", 0) == (value, len(data))


def test_in_arrays_and_structures() -> None:
    value = [t.DeltaInteger(-3), (t.DeltaLong(258), t.DeltaUnsigned(9)), t.DeltaDoubleLongUnsigned(1)]
    data = bytes.fromhex("01031cfd02021d01021f092100000001")
    assert axdr.encode(value) == data
    back = axdr.decode(data)
    assert back == value
    assert [type(x) for x in (back[0], *back[1], back[2])] == [
        t.DeltaInteger, t.DeltaLong, t.DeltaUnsigned, t.DeltaDoubleLongUnsigned,
    ]  # fmt: skip
    # uniform rows long enough for the native row packer: the same bytes
    rows = [(t.DeltaInteger(-i), t.DeltaLongUnsigned(i * 1000), t.DeltaDoubleLong(-i * 100000)) for i in range(12)]
    data = axdr.encode(rows)
    want = bytes((1, 12)) + b"".join(
        bytes.fromhex("0203") + bytes((28, (-i) & 0xFF)) + bytes((32,)) + (i * 1000).to_bytes(2, "big")
        + bytes((30,)) + (-i * 100000).to_bytes(4, "big", signed=True)
        for i in range(12)
    )  # fmt: skip
    assert data == want
    assert axdr.decode(data) == rows


def test_nothing_is_accumulated() -> None:
    # three deltas of 1 are three 1s: what they are deltas of is not public
    value = axdr.decode(bytes.fromhex("131f03010101"))
    assert value == [1, 1, 1] and value.description is t.DeltaUnsigned
    assert axdr.decode(bytes.fromhex("01021c011c01")) == [1, 1]


COMPACT: list[tuple[str, Any]] = [
    # one simple description per delta type
    ("131c03fd7f80", t.CompactArray(t.DeltaInteger, [-3, 127, -128])),
    ("131d04fffe0003", t.CompactArray(t.DeltaLong, [-2, 3])),
    ("131e08ffffffff00000001", t.CompactArray(t.DeltaDoubleLong, [-1, 1])),
    ("131f0200ff", t.CompactArray(t.DeltaUnsigned, [0, 255])),
    ("132004ffff0001", t.CompactArray(t.DeltaLongUnsigned, [65535, 1])),
    ("132104ffffffff", t.CompactArray(t.DeltaDoubleLongUnsigned, [2**32 - 1])),
    ("131c00", t.CompactArray(t.DeltaInteger, [])),
    # a structure of a base value and deltas, as delta-value encoding is meant to carry
    (
        "130203061d1c0e000003e80002ff000003f0fffe05",
        t.CompactArray(
            t.StructureDescription((t.DoubleLongUnsigned, t.DeltaLong, t.DeltaInteger)),
            [(1000, 2, -1), (1008, -2, 5)],
        ),
    ),
]


@pytest.mark.parametrize("hexstr, value", COMPACT)
def test_compact_arrays(hexstr: str, value: Any) -> None:
    data = bytes.fromhex(hexstr)
    assert axdr.encode(value) == data
    back = axdr.decode(data)
    assert back == value and back.description == value.description
    flat = [x for item in back for x in (item if isinstance(item, tuple) else (item,))]
    assert all(type(x) in (*D, t.DoubleLongUnsigned) for x in flat)
    if isinstance(value.description, type):
        assert {type(x) for x in back} <= {value.description}
    # an array description inside a structure description takes deltas too
    nested = t.CompactArray(
        t.StructureDescription((t.ArrayDescription(2, t.DeltaDoubleLongUnsigned), t.DeltaLong)), [([1, 2], -3)]
    )
    raw = bytes.fromhex("130202010002211d0a0000000100000002fffd")
    assert axdr.encode(nested) == raw
    assert axdr.decode(raw) == nested


@pytest.mark.parametrize(
    "hexstr, code, offset",
    [
        ("1c", S.TRUNCATED, 1),
        ("1d00", S.TRUNCATED, 1),
        ("1e000000", S.TRUNCATED, 1),
        ("1f", S.TRUNCATED, 1),
        ("2000", S.TRUNCATED, 1),
        ("21ffffff", S.TRUNCATED, 1),
        ("01021c001d00", S.TRUNCATED, 5),
        ("131d0300010f", S.COMPACT_OVERRUN, 5),  # a delta-long cut by the contents' end
        ("131e0200000000", S.COMPACT_OVERRUN, 3),  # 2 octets of contents, a 4-octet element
        ("131e08000000", S.TRUNCATED, 3),  # the contents' length runs past the input
        ("1c0000", S.TRAILING, 2),
        ("22", S.BAD_TAG, 0),  # the next tag is not assigned
    ],
)
def test_errors_at_the_same_offsets(hexstr: str, code: int, offset: int) -> None:
    with pytest.raises(DecodeError) as info:
        axdr.decode(bytes.fromhex(hexstr))
    assert (info.value.reason, info.value.offset) == (S.MESSAGES[code], offset)


def test_json_form() -> None:
    for hexstr, value in KNOWN:
        obj = t.to_json(value)
        assert obj == {"type": value.NAME, "value": int(value)}
        back = t.from_json(json.loads(json.dumps(obj)))
        assert back == value and type(back) is type(value)
        assert axdr.encode(back).hex() == hexstr
    obj = t.to_json(COMPACT[-1][1])
    assert obj["description"] == {
        "type": "structure",
        "elements": [{"type": "double-long-unsigned"}, {"type": "delta-long"}, {"type": "delta-integer"}],
    }
    assert obj["value"][1] == {
        "type": "structure",
        "value": [
            {"type": "double-long-unsigned", "value": 1008},
            {"type": "delta-long", "value": -2},
            {"type": "delta-integer", "value": 5},
        ],
    }
    assert t.from_json(obj) == COMPACT[-1][1]
    with pytest.raises(ValueError, match="DeltaUnsigned must be in"):
        t.from_json({"type": "delta-unsigned", "value": -1})
    with pytest.raises(ValueError, match="takes a JSON integer"):
        t.from_json({"type": "delta-long", "value": 1.5})


def test_the_command_line_encodes_and_decodes_them(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    lines = [json.dumps(t.to_json(v)) for _, v in KNOWN] + [json.dumps(t.to_json(COMPACT[-1][1]))]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(lines) + "\n"))
    assert cli.main(["encode", "--layer", "data"]) == 0
    encoded = capsys.readouterr().out.split()
    assert encoded == [h for h, _ in KNOWN] + [COMPACT[-1][0]]
    monkeypatch.setattr(sys, "stdin", io.StringIO("\n".join(encoded) + "\n"))
    assert cli.main(["decode", "--layer", "data"]) == 0
    decoded = [json.loads(line)["data"] for line in capsys.readouterr().out.splitlines()]
    assert decoded == [json.loads(line) for line in lines]
    # NaN is no delta-long either: refused with the message every integer type gives
    with pytest.raises(ValueError, match="^delta-long takes a JSON integer, not nan$"):
        cli._encode_data({"type": "delta-long", "value": math.nan})


def test_profile_buffer_columns() -> None:
    rows = [
        t.Structure((t.DateTime.from_fields(2024, 3, 15, 5, i, 15, 0, 0, -60, 0), t.DoubleLongUnsigned(5000),
                     t.DeltaInteger(-i), t.DeltaLong(-300 * i), t.DeltaDoubleLong(-70000 * i),
                     t.DeltaUnsigned(i), t.DeltaLongUnsigned(300 * i), t.DeltaDoubleLongUnsigned(70000 * i)))
        for i in range(10)
    ]  # fmt: skip
    buffer = axdr.encode(rows)
    table = columns.decode(buffer)
    assert [f.tag for f in table.layout.fields] == [25, 6, 28, 29, 30, 31, 32, 33]
    assert table[2].tolist() == [-i for i in range(10)]
    assert table[4].tolist() == [-70000 * i for i in range(10)]
    assert table[7].tolist() == [70000 * i for i in range(10)]
    assert columns.encode(table) == buffer
    given = columns.decode(buffer, [columns.Field(25), t.DoubleLongUnsigned, *D])
    assert columns.encode(given) == buffer


# --------------------------------------------------------------------------
# native against pure, on random values
# --------------------------------------------------------------------------


def _random_value(rng: random.Random, depth: int = 0) -> Any:
    pick = rng.random()
    if depth < 3 and pick < 0.15:
        return [_random_value(rng, depth + 1) for _ in range(rng.randrange(0, 12))]
    if depth < 3 and pick < 0.3:
        return tuple(_random_value(rng, depth + 1) for _ in range(rng.randrange(1, 5)))
    if depth < 3 and pick < 0.4:
        cls = rng.choice(D)
        return t.CompactArray(cls, [cls(rng.randint(cls.MIN, cls.MAX)) for _ in range(rng.randrange(0, 6))])
    cls = rng.choice(D)
    edge = rng.random() < 0.3
    return cls(rng.choice((cls.MIN, cls.MAX, 0)) if edge and cls.MIN <= 0 else rng.randint(cls.MIN, cls.MAX))


@pytest.mark.single_backend
@pytest.mark.skipif(len(BACKENDS) < 2, reason="the C core is not built")
def test_native_and_pure_agree_on_random_values() -> None:
    rng = random.Random(20)
    for _ in range(400):
        value = _random_value(rng)
        outs = []
        for name in BACKENDS:
            with on_backend(name):
                data = axdr.encode(value)
                back = axdr.decode(data)
                outs.append((data, back, t.to_json(back)))
        assert outs[0] == outs[1], value
        assert outs[0][1] == value
        # and every prefix of the bytes: the same error at the same offset
        data = outs[0][0]
        for cut in range(len(data)):
            errs = []
            for name in BACKENDS:
                with on_backend(name):
                    try:
                        errs.append(("ok", axdr.decode(data[:cut])))
                    except DecodeError as err:
                        errs.append((err.reason, err.offset))
            assert errs[0] == errs[1], (data[:cut].hex(), errs)
