"""Differential tests: the native APDU decoder (C hot path for get-response-normal,
data-notification and general-block-transfer, the pure walk over the native
Data codec for the rest) against the pure-Python one.

For the spec examples, all their truncations and extensions, generated
encodings (hypothesis) and thousands of seeded random and mutated inputs biased
toward the hot tags (C4 01, 0F, E0), both give equal objects of the same class
with the same repr, or the same error (reason and offset).  The default run
stays well under 20 s; ``-m slow`` runs a much larger seeded campaign.
"""

from __future__ import annotations

import random
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmsmesh import apdu as A
from dlmsmesh._pure import apdu as pure_apdu
from dlmsmesh.errors import DecodeError
from dlmsmesh.types import Array, DoubleLongUnsigned, OctetString, Structure

from .conftest import BACKENDS
from .test_apdu_errors import SPECIAL, mutate
from .test_apdu_properties import SETTINGS, apdus
from .test_apdu_vectors import NAMES, VECTORS

pytestmark = [
    pytest.mark.skipif("native" not in BACKENDS, reason="the C core is not built"),
    pytest.mark.single_backend,
]

if "native" in BACKENDS:
    from dlmsmesh._native import apdu as native_apdu


def outcome(decode: Any, data: bytes) -> tuple[Any, ...]:
    try:
        got = decode(data)
    except DecodeError as err:
        return ("error", err.layer, err.reason, err.offset)
    return ("ok", type(got), repr(got), got)


def assert_same(data: bytes) -> tuple[Any, ...]:
    p = outcome(pure_apdu.decode, data)
    n = outcome(native_apdu.decode, data)
    assert p[:3] == n[:3], data.hex()
    if p[0] == "ok":
        # the same field values (the C program sets only the non-default
        # fields); NaN equals nothing, so those compare by repr and bytes
        for name in type(p[3]).__dataclass_fields__:
            a, b = getattr(p[3], name), getattr(n[3], name)
            assert type(a) is type(b), (name, data.hex())
            assert a == b or "nan" in repr(a), (name, data.hex())
        assert pure_apdu.encode(n[3]) == pure_apdu.encode(p[3])
    else:
        assert p[1] == "apdu" and 0 <= p[3] <= len(data)
    return p


# --------------------------------------------------------------------------
# the examples
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_examples_truncations_and_extensions(name: str) -> None:
    data = VECTORS[name]
    assert assert_same(data)[0] == "ok"
    for n in range(len(data)):
        assert assert_same(data[:n])[0] == "error"
    for extra in (b"\x00", b"\x01", b"\xff\xff", data):
        assert assert_same(data + extra)[0] == "error"


@pytest.mark.parametrize("name", NAMES)
def test_every_single_byte_change_of_the_examples(name: str) -> None:
    data = VECTORS[name]
    for i in range(len(data)):
        for value in (*SPECIAL, data[i] ^ 0x80, (data[i] + 1) & 0xFF):
            mutated = bytearray(data)
            mutated[i] = value
            assert_same(bytes(mutated))


# --------------------------------------------------------------------------
# the hot path's shortcuts: every small get-response-normal result shape
# --------------------------------------------------------------------------

SCALARS = [
    "00",  # null-data
    "0300",
    "0301",
    "0302",
    "03ff",  # boolean
    "0d00",
    "0d99",
    "0fff",
    "0f80",
    "0f7f",
    "1100",
    "11ff",
    "1600",
    "16ff",
    "107fff",
    "108000",
    "10ffff",
    "120000",
    "12ffff",
    "0580000000",
    "057fffffff",
    "05ffffffff",
    "0600000000",
    "06ffffffff",
    "0900",
    "0901aa",
    "097f" + "00" * 127,
    "098180" + "00" * 128,
    "14" + "ff" * 8,
    "15" + "ff" * 8,
    "17" + "3f800000",
    "18" + "00" * 8,
    "ff",  # dont-care
    "01011105",
    "0200",
]


@pytest.mark.parametrize("iip", [0xC1, 0x01, 0x4F, 0x80, 0xFF, 0x30])
@pytest.mark.parametrize("value", SCALARS)
def test_get_response_normal_scalars(iip: int, value: str) -> None:
    body = bytes.fromhex(value)
    data = bytes([0xC4, 0x01, iip, 0x00]) + body
    assert assert_same(data)[0] == "ok"
    for n in range(len(data)):
        assert_same(data[:n])
    assert_same(data + b"\x00")
    for choice in (0x01, 0x02, 0x80, 0xFF):
        # a Get-Data-Result choice other than 0 in front of a data value
        assert_same(bytes([0xC4, 0x01, iip, choice]) + body)


@pytest.mark.parametrize("dar", [0, 4, 7, 14, 250, 255])
def test_get_response_normal_data_access_results(dar: int) -> None:
    assert_same(bytes([0xC4, 0x01, 0xC1, 0x01, dar]))
    assert_same(bytes([0xC4, 0x01, 0xC1, 0x01, dar, 0x00]))


def test_outputs_larger_than_the_program_buffer() -> None:
    big_block = bytes(range(256)) * 1024  # 256 KiB
    gbt = A.GeneralBlockTransfer(big_block, block_number=7)
    rows = Array([Structure((DoubleLongUnsigned(i), OctetString(bytes(12)))) for i in range(20_000)])
    for apdu in (gbt, A.DataNotification(rows, long_invoke_id=9), A.GetResponseNormal(rows)):
        data = pure_apdu.encode(apdu)
        assert assert_same(data)[3] == apdu
        # a small one right after still decodes (the grown buffer is reused)
        assert assert_same(VECTORS["X2"])[0] == "ok"


# --------------------------------------------------------------------------
# generated encodings
# --------------------------------------------------------------------------


@settings(SETTINGS, max_examples=400)
@given(x=apdus, data=st.data())
def test_generated_encodings_and_their_mutations(x: A.Apdu, data: st.DataObject) -> None:
    encoded = pure_apdu.encode(x)
    assert native_apdu.encode(x) == encoded
    assert assert_same(encoded)[3] == x
    cut = data.draw(st.integers(0, len(encoded) - 1))
    assert_same(encoded[:cut])
    i = data.draw(st.integers(0, len(encoded) - 1))
    mutated = bytearray(encoded)
    mutated[i] = data.draw(st.integers(0, 255))
    assert_same(bytes(mutated))


# --------------------------------------------------------------------------
# seeded random inputs biased to the hot tags
# --------------------------------------------------------------------------


def random_data(rng: random.Random, depth: int = 0) -> bytes:
    """A mostly well-formed A-XDR Data encoding (the generator is independent of the encoders)."""
    tag = rng.choice([0, 3, 5, 6, 9, 9, 10, 12, 15, 16, 17, 18, 20, 21, 22, 23, 24, 25, 26, 27, 255, 1, 2, 2, 13, 4])
    if tag in (1, 2) and depth < 4:
        n = rng.randint(0, 4)
        return bytes([tag, n]) + b"".join(random_data(rng, depth + 1) for _ in range(n))
    if tag in (9, 10, 12):
        n = rng.choice([0, 1, 6, 12, 127, 128, 200])
        length = bytes([n]) if n < 0x80 else bytes([0x81, n])
        return bytes([tag]) + length + bytes(rng.randrange(256) for _ in range(n))
    if tag == 4:
        bits = rng.randint(0, 20)
        return bytes([4, bits]) + bytes(rng.randrange(256) for _ in range((bits + 7) // 8))
    size = {
        0: 0,
        255: 0,
        3: 1,
        13: 1,
        15: 1,
        17: 1,
        22: 1,
        16: 2,
        18: 2,
        5: 4,
        6: 4,
        23: 4,
        20: 8,
        21: 8,
        24: 8,
        25: 12,
        26: 5,
        27: 4,
    }.get(tag, 0)
    return bytes([tag]) + bytes(rng.randrange(256) for _ in range(size))


def random_hot(rng: random.Random) -> bytes:
    kind = rng.randrange(10)
    if kind < 4:  # get-response-normal
        iip = rng.choice([0xC1, 0x41, 0x81, rng.randrange(256)])
        if rng.random() < 0.2:
            return bytes([0xC4, 0x01, iip, 0x01, rng.choice([0, 4, 14, 250, rng.randrange(256)])])
        return bytes([0xC4, 0x01, iip, rng.choice([0, 0, 0, 0, 1, 2])]) + random_data(rng)
    if kind < 7:  # data-notification
        lip = rng.choice([0, 1, 0xC0000003, 0xF0FFFFFF, rng.randrange(1 << 32)]).to_bytes(4, "big")
        time = rng.choice([b"\x00", b"\x0c" + bytes(12), b"\x09\x0c" + bytes(range(12)), b"\x09\x00", b"\x05"])
        return b"\x0f" + lip + time + random_data(rng)
    if kind < 9:  # general-block-transfer
        n = rng.choice([0, 1, 13, 127, 128, 300])
        length = bytes([n]) if n < 0x80 else (bytes([0x81, n]) if n < 256 else bytes([0x82]) + n.to_bytes(2, "big"))
        if rng.random() < 0.1:
            length = rng.choice([b"\x80", b"\x85", b"\x84\xff\xff\xff\xff", b"\x81\x02"])
        head = bytes([0xE0, rng.randrange(256)]) + rng.randrange(1 << 32).to_bytes(4, "big")
        return head + length + bytes(rng.randrange(256) for _ in range(n))
    # the cold tags, walked by the same Codec over the native Data codec
    tag = rng.choice([0xC0, 0xC1, 0xC3, 0xC5, 0xC7, 0xC4, 0xC2, 0xD8, 0x0E])
    return bytes([tag, rng.randint(1, 6), 0xC1]) + bytes(rng.choice(SPECIAL) for _ in range(12)) + random_data(rng)


def run_campaign(seed: int, count: int) -> dict[str, int]:
    rng = random.Random(seed)
    vectors = list(VECTORS.values())
    seen = {"ok": 0, "error": 0}
    for _ in range(count):
        r = rng.random()
        if r < 0.45:
            data = random_hot(rng)
        elif r < 0.75:
            data = mutate(rng, random_hot(rng))
        elif r < 0.95:
            data = mutate(rng, rng.choice(vectors))
        else:
            data = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        seen[assert_same(data)[0]] += 1
    return seen


def test_seeded_random_and_mutated_inputs() -> None:
    seen = run_campaign(0xD1FF, 30_000)
    # both outcomes are well represented: the generator is not just making noise
    assert seen["ok"] > 5000 and seen["error"] > 5000, seen


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(8))
def test_seeded_random_and_mutated_inputs_slow(seed: int) -> None:
    run_campaign(0x5EED0000 + seed, 500_000)


def test_threads_decode_independently() -> None:
    # each thread has its own program buffer and unpickler: interleaved decodes
    # of hot APDUs (including ones that grow the buffer) must not mix
    import threading

    big = pure_apdu.encode(A.GeneralBlockTransfer(bytes(200_000)))
    inputs = [VECTORS[n] for n in NAMES] + [big]
    want = [pure_apdu.decode(b) for b in inputs]
    failures: list[str] = []

    def work(offset: int) -> None:
        for i in range(400):
            k = (i + offset) % len(inputs)
            if native_apdu.decode(inputs[k]) != want[k]:
                failures.append(f"thread {offset}: input {k}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
