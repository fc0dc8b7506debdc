"""Differential fuzzing of the two A-XDR decoders.

Random byte strings and mutated valid encodings (flipped, truncated, inserted
and deleted bytes, rewritten lengths, spliced values) go through
``dlmsmesh._pure.axdr`` and ``dlmsmesh._native.axdr``: both give the same value
(same types) or the same DecodeError (same message, offset and layer), and
nothing else.  The seed is fixed; ``-m slow`` runs a much longer campaign.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from typing import Any

import pytest

from dlmsmesh._pure import axdr as pure_axdr
from dlmsmesh.errors import DecodeError, EncodeError

from .conftest import BACKENDS
from .helpers import hexbytes
from .test_axdr_vectors import VECTORS, typed_equal

pytestmark = [
    pytest.mark.skipif("native" not in BACKENDS, reason="the C core is not built"),
    pytest.mark.single_backend,
]

if "native" in BACKENDS:
    from dlmsmesh._native import axdr as native_axdr

SEED = 0xD1A5_2024
SIMPLE_TAGS = [3, 4, 5, 6, 9, 10, 12, 13, 15, 16, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33]
FIXED = {3: 1, 5: 4, 6: 4, 13: 1, 15: 1, 16: 2, 17: 1, 18: 2, 20: 8, 21: 8, 22: 1, 23: 4, 24: 8, 25: 12, 26: 5, 27: 4}
FIXED.update({28: 1, 29: 2, 30: 4, 31: 1, 32: 2, 33: 4})  # the delta types
# bytes worth planting: length forms (valid, indefinite, too long), tags
# (assigned, unassigned, compact-array), boundaries
INTERESTING = [
    0x00,
    0x01,
    0x02,
    0x07,
    0x08,
    0x0B,
    0x0E,
    0x13,
    0x1C,
    0x21,
    0x22,
    0x7F,
    0x80,
    0x81,
    0x82,
    0x83,
    0x84,
    0x85,
    0xC0,
    0xFE,
    0xFF,
]


def length(n: int) -> bytes:
    if n < 0x80:
        return bytes([n])
    size = (n.bit_length() + 7) // 8
    return bytes([0x80 | size]) + n.to_bytes(size, "big")


def random_content(rng: random.Random, tag: int) -> bytes:
    if tag in FIXED:
        return rng.randbytes(FIXED[tag])
    if tag == 4:
        bits = rng.choice([0, 1, 7, 8, 9, rng.randrange(64)])
        return length(bits) + rng.randbytes((bits + 7) // 8)
    n = rng.choice([0, 1, 2, 5, rng.randrange(40), 127, 128, 200])
    if tag == 12:
        raw = "".join(
            chr(rng.choice([0x41, 0xE4, 0x20AC, 0x1F600, rng.randrange(0xD800)])) for _ in range(n // 4)
        ).encode()
        return length(len(raw)) + raw
    return length(n) + rng.randbytes(n)


def random_description(rng: random.Random, depth: int, top: bool) -> tuple[bytes, Any]:
    """Description bytes and a function writing one element's contents."""
    r = rng.random()
    if depth >= 3 or r < 0.6:
        tag = rng.choice(SIMPLE_TAGS)
        return bytes([tag]), lambda: random_content(rng, tag)
    if r < 0.85 or top:
        members = [random_description(rng, depth + 1, False) for _ in range(rng.randint(1, 4))]
        return b"\x02" + length(len(members)) + b"".join(m[0] for m in members), lambda: b"".join(
            m[1]() for m in members
        )
    count = rng.randint(1, 3)
    edesc, element = random_description(rng, depth + 1, False)
    return b"\x01" + count.to_bytes(2, "big") + edesc, lambda: b"".join(element() for _ in range(count))


def random_encoding(rng: random.Random, depth: int = 0) -> bytes:
    """One valid A-XDR Data encoding (not always canonical: lengths are sometimes long-form)."""
    r = rng.random()
    if depth < 4 and r < 0.25:
        items = [random_encoding(rng, depth + 1) for _ in range(rng.randint(0, 5))]
        return bytes([rng.choice([1, 2])]) + length(len(items)) + b"".join(items)
    if depth < 4 and r < 0.35:
        desc, element = random_description(rng, 0, rng.random() < 0.9)
        body = b"".join(element() for _ in range(rng.randint(0, 5)))
        return b"\x13" + desc + length(len(body)) + body
    if r < 0.4:
        return rng.choice([b"\x00", b"\xff"])
    tag = rng.choice(SIMPLE_TAGS)
    return bytes([tag]) + random_content(rng, tag)


SEEDS = [hexbytes(h) for _, h, _ in VECTORS]


def mutate(rng: random.Random, data: bytes) -> bytes:
    b = bytearray(data)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(8)
        if op == 0 and b:  # flip bits of one byte
            b[rng.randrange(len(b))] ^= 1 << rng.randrange(8)
        elif op == 1 and b:  # plant an interesting byte
            b[rng.randrange(len(b))] = rng.choice(INTERESTING)
        elif op == 2 and b:  # truncate
            del b[rng.randrange(len(b)) :]
        elif op == 3:  # insert
            b.insert(rng.randrange(len(b) + 1), rng.choice(INTERESTING + [rng.randrange(256)]))
        elif op == 4 and b:  # delete
            del b[rng.randrange(len(b))]
        elif op == 5 and len(b) > 1:  # rewrite a length/count byte as a long or broken form
            i = rng.randrange(1, len(b))
            b[i : i + 1] = rng.choice(
                [b"\x81", b"\x82\x00", b"\x84\x00\x00\x00", b"\x80", b"\x85", b"\x84\xff\xff\xff\xff"]
            ) + bytes([b[i]])
        elif op == 6:  # splice in another value
            other = random_encoding(rng) if rng.random() < 0.5 else rng.choice(SEEDS)
            i = rng.randrange(len(b) + 1)
            b[i:i] = other
        else:  # change a byte by a small amount (off-by-one lengths and counts)
            if b:
                i = rng.randrange(len(b))
                b[i] = (b[i] + rng.choice([-2, -1, 1, 2])) % 256
    return bytes(b)


def random_bytes(rng: random.Random) -> bytes:
    n = rng.choice([0, 1, 2, 3, rng.randrange(64)])
    head = bytes([rng.choice(SIMPLE_TAGS + [0, 1, 2, 19, 255, rng.randrange(256)])]) if n else b""
    return head + bytes(rng.choice(INTERESTING) if rng.random() < 0.3 else rng.randrange(256) for _ in range(n - 1))


def cases(seed: int, count: int) -> Iterator[tuple[bytes, int, int]]:
    """(input, offset, max_depth) triples: a deterministic mix of kinds."""
    rng = random.Random(seed)
    for i in range(count):
        kind = i % 10
        if kind < 2:
            data = random_bytes(rng)
        elif kind < 4:
            data = random_encoding(rng)
        elif kind < 6:
            data = mutate(rng, rng.choice(SEEDS))
        else:
            data = mutate(rng, random_encoding(rng))
        offset = 0 if rng.random() < 0.8 or not data else rng.randrange(len(data) + 1)
        depth = 64 if rng.random() < 0.85 else rng.choice([0, 1, 2, 3, 5])
        yield data, offset, depth


def outcome(fn: Any, *args: Any) -> tuple[Any, ...]:
    try:
        return ("ok", fn(*args))
    except DecodeError as err:
        return ("error", type(err), err.reason, err.offset, err.layer)


def same_outcome(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    if a[0] == "ok" and b[0] == "ok":
        return typed_equal(a[1], b[1])
    return a == b


def check(data: bytes, offset: int, depth: int) -> None:
    whole_p = outcome(pure_axdr.decode, data, depth)
    whole_n = outcome(native_axdr.decode, data, depth)
    assert same_outcome(whole_p, whole_n), (data.hex(), depth, whole_p, whole_n)
    if whole_p[0] == "error":
        assert whole_p[4] == "data" and 0 <= whole_p[3] <= len(data), (data.hex(), whole_p)
    else:
        # a decoded value encodes the same way on both backends (an array-described
        # compact-array is refused by both)
        try:
            enc_p: Any = pure_axdr.encode(whole_p[1])
        except EncodeError as exc:
            enc_p = ("EncodeError", str(exc))
        try:
            enc_n: Any = native_axdr.encode(whole_n[1])
        except EncodeError as exc:
            enc_n = ("EncodeError", str(exc))
        assert enc_p == enc_n, data.hex()
    prefix_p = outcome(pure_axdr.decode_prefix, data, offset, depth)
    prefix_n = outcome(native_axdr.decode_prefix, data, offset, depth)
    assert same_outcome(prefix_p, prefix_n), (data.hex(), offset, depth, prefix_p, prefix_n)
    if prefix_p[0] == "ok":
        assert offset < prefix_p[1][1] <= len(data)


def test_generators_make_valid_encodings() -> None:
    # the generator is the fuzzer's baseline: what it makes must decode
    rng = random.Random(SEED)
    for _ in range(2000):
        data = random_encoding(rng)
        pure_axdr.decode(data)
        native_axdr.decode(data)


def test_differential_default_run() -> None:
    n = 0
    for data, offset, depth in cases(SEED, 20_000):
        check(data, offset, depth)
        n += 1
    assert n == 20_000


def test_differential_every_truncation_and_single_byte_change_of_the_vectors() -> None:
    for seed in SEEDS:
        if len(seed) > 60:
            seed = seed[:40]
        for cut in range(len(seed) + 1):
            check(seed[:cut], 0, 64)
        for i in range(len(seed)):
            for value in INTERESTING:
                check(seed[:i] + bytes([value]) + seed[i + 1 :], 0, 64)


def test_differential_float_bits() -> None:
    rng = random.Random(SEED + 1)
    specials = [bytes.fromhex(h) for h in ("7fc00000", "7f800001", "ffc00001", "00000001", "80000000", "7f800000")]
    for _ in range(300):
        raw32 = rng.choice(specials) if rng.random() < 0.3 else rng.randbytes(4)
        raw64 = rng.randbytes(8)
        for data in (b"\x17" + raw32, b"\x18" + raw64, b"\x13\x17\x04" + raw32, b"\x13\x18\x08" + raw64):
            check(data, 0, 64)
    for data in (b"\x18" + struct.pack(">d", float("nan")), b"\x18" + bytes.fromhex("7ff0000000000001")):
        p, n = pure_axdr.decode(data), native_axdr.decode(data)
        assert struct.pack(">d", p) == struct.pack(">d", n) == data[1:]


@pytest.mark.slow
def test_differential_long_run() -> None:
    # deselected by default (the root conftest.py); run with -m slow
    for k in range(16):
        for data, offset, depth in cases(SEED + 1000 + k, 100_000):
            check(data, offset, depth)
