"""decode_batch on generated batches mixing valid, tampered, replayed,
reordered and malformed frames, at every layer, equals the single-frame path
frame for frame (statuses, error classes, layers, offsets and messages,
APDUs and plaintexts) and leaves the counter stores in the same state; the
native and the pure backend agree with each other."""

from __future__ import annotations

import random
from typing import Any

import pytest

import dlmsmesh
from dlmsmesh import _backend, apdu, pipeline
from dlmsmesh.security import Keyring
from dlmsmesh.security.tags import KeyInfoKind, KeySet
from dlmsmesh.types import DoubleLongUnsigned, OctetString, Structure, Unsigned

from .pipeline_support import (
    CONTEXTS,
    head_end_context,
    keyring,
    lift,
    meter_context,
    meter_title,
    reference,
    same,
    summary,
    wpdu,
)

LAYERS = ["wrapper", "udp", "ipv6", "lowpan", "apdu"]
METERS = 4


def _notification(rng: random.Random, i: int) -> bytes:
    body = Structure([OctetString(bytes((0, 0, 25, 9, 0, 255))), DoubleLongUnsigned(rng.randrange(1 << 32))])
    return apdu.encode(apdu.DataNotification(body, long_invoke_id=i & 0xFFFFFF))


def _apdu_of_kind(rng: random.Random, i: int) -> bytes:
    r = rng.random()
    if r < 0.6:
        return _notification(rng, i)
    if r < 0.7:  # off the C hot path
        return apdu.encode(apdu.ActionResponseNormal(apdu.ActionResult.SUCCESS, Unsigned(rng.randrange(256))))
    if r < 0.78:
        return apdu.encode(apdu.GetResponseNormal(DoubleLongUnsigned(rng.randrange(1 << 32)), invoke_id=i % 16))
    if r < 0.84:
        return bytes.fromhex("C401C1000906")  # truncated inside its Data value
    if r < 0.88:
        return _notification(rng, i) + b"\x00"  # trailing byte
    if r < 0.92:
        return bytes.fromhex("0E0106")  # truncated confirmed-service-error
    return bytes.fromhex("C5")  # unknown choice / truncated


def _frames(seed: int, layer: str, n: int) -> tuple[list[bytes], list[tuple[bytes, bytes]]]:
    rng = random.Random(seed)
    meters = [meter_context(m) for m in range(METERS)]
    made: list[tuple[bytes, int]] = []  # (APDU as sent, meter)
    held: list[tuple[bytes, int]] = []  # frames kept back to arrive late
    for i in range(n):
        m = rng.randrange(METERS)
        ctx = meters[m]
        r = rng.random()
        if r < 0.55:
            data = ctx.protect(_apdu_of_kind(rng, i), general=True)
        elif r < 0.6:
            data = ctx.protect(_notification(rng, i), general=True, broadcast=True)
        elif r < 0.64:
            data = ctx.protect(apdu.encode(apdu.GetResponseNormal(Unsigned(7), invoke_id=3)))  # glo-, no title
        elif r < 0.67:
            data = ctx.protect_general_ciphering(_notification(rng, i), key_info=KeyInfoKind.WRAPPED)
        elif r < 0.7:
            data = ctx.protect_general_ciphering(_notification(rng, i), key_info=KeyInfoKind.IDENTIFIED)
        elif r < 0.77 and made:
            data, m = rng.choice(made)  # replayed
        elif r < 0.82:
            held.append((ctx.protect(_notification(rng, i), general=True), m))  # arrives later: reordered
            continue
        elif r < 0.86:
            data = _notification(rng, i)  # unciphered
        else:
            data = bytearray(ctx.protect(_apdu_of_kind(rng, i), general=True))
            k = rng.randrange(len(data))
            data[k] ^= 1 << rng.randrange(8)  # tampered anywhere in the ciphered APDU
            data = bytes(data)
        made.append((data, m))
        if held and rng.random() < 0.3:
            made.append(held.pop(0))
    made += held
    frames, links = [], []
    for data, m in made:
        if layer == "apdu":
            frame, ll = data, (b"", b"")
        else:
            frame, ll = lift(wpdu(data), layer, m, rng)
        r = rng.random()
        if r < 0.05:
            frame = frame[: rng.randrange(len(frame) + 1)]  # truncated
        elif r < 0.1:
            f = bytearray(frame)
            f[rng.randrange(len(f))] ^= 1 << rng.randrange(8)  # a bit flipped below the APDU too
            frame = bytes(f)
        elif r < 0.11:
            frame = bytes(rng.randrange(256) for _ in range(rng.randrange(60)))
        frames.append(frame)
        links.append(ll)
    return frames, links


def _security(kind: str) -> Any:
    if kind == "keyring":
        return keyring(METERS)
    if kind == "window":
        return Keyring(head_end_context(m, window=8) for m in range(METERS))
    if kind == "any-title":
        return head_end_context(0, any_title=True)
    return head_end_context(0)


def _scopes(security: Any) -> dict[str, Any]:
    """Every receive counter the security source holds (its stores' state)."""
    out = {}
    contexts = list(security) if isinstance(security, Keyring) else [security]
    for m, ctx in enumerate(contexts):
        titles = [ctx.peer_system_title] if ctx.peer_system_title else [meter_title(k) for k in range(METERS)]
        for title in titles:
            for ks in (KeySet.UNICAST, KeySet.BROADCAST):
                scope = ctx.counter_scope("rx", title, ks)
                out[f"{m}:{title.hex()}:{ks}"] = ctx.counters.last_accepted(scope)
    return out


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("kind", ["keyring", "single", "window", "any-title"])
@pytest.mark.parametrize("seed", [1, 2])
def test_batches_equal_single_frame_path(backend: str, layer: str, kind: str, seed: int) -> None:
    frames, links = _frames(seed * 1000 + LAYERS.index(layer), layer, 160)
    batch_security = _security(kind)
    single_security = _security(kind)
    rng = random.Random(seed)
    expected, got = [], []
    pos = 0
    while pos < len(frames):
        size = rng.choice((1, 7, 40, 100))
        chunk = frames[pos : pos + size]
        result = pipeline.decode_batch(
            chunk, layer=layer, security=batch_security, contexts=CONTEXTS, links=links[pos : pos + size]
        )
        got += [summary(result, i) for i in range(len(chunk))]
        for frame, ll in zip(chunk, links[pos : pos + size]):
            expected.append(reference(frame, layer=layer, security=single_security, ll=ll, contexts=CONTEXTS))
        pos += size
        # the single-frame path on the batch's own source between batches: the
        # batch counter table must notice the store moved
        if pos < len(frames) and rng.random() < 0.3:
            frame = frames[pos]
            got.append(reference(frame, layer=layer, security=batch_security, ll=links[pos], contexts=CONTEXTS))
            expected.append(reference(frame, layer=layer, security=single_security, ll=links[pos], contexts=CONTEXTS))
            pos += 1
    assert len(got) == len(expected) == len(frames)
    bad = [i for i, (g, e) in enumerate(zip(got, expected)) if not same(g, e)]
    assert not bad, [(i, got[i].error, expected[i].error) for i in bad[:5]]
    assert _scopes(batch_security) == _scopes(single_security)
    statuses = {e.error[0] if e.error else "ok" for e in expected}
    assert "ok" in statuses and len(statuses) >= 3, statuses


@pytest.mark.skipif(not dlmsmesh.native_available(), reason="C core not built")
@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("seed", [3, 4, 5])
def test_native_and_pure_agree(layer: str, seed: int) -> None:
    frames, links = _frames(seed, layer, 200)
    outcomes = {}
    for name in ("native", "pure"):
        before = _backend.backend()
        _backend.set_backend(name)
        try:
            security = keyring(METERS)
            result = pipeline.decode_batch(frames, layer=layer, security=security, contexts=CONTEXTS, links=links)
            outcomes[name] = (
                result.status,
                [summary(result, i) for i in range(len(frames))],
                [result.to_json(i) for i in range(len(frames))],
                _scopes(security),
            )
        finally:
            _backend.set_backend(before)
    native, pure = outcomes["native"], outcomes["pure"]
    assert native[0] == pure[0]
    assert all(same(a, b) for a, b in zip(native[1], pure[1]))
    assert native[2] == pure[2]
    assert native[3] == pure[3]


def test_single_frame_equivalence_holds_for_plain_frames(backend: str) -> None:
    """Without a security source unciphered APDUs decode and ciphered ones fail."""
    ctx = meter_context(1)
    frames = [
        wpdu(_notification(random.Random(1), 5)),
        wpdu(ctx.protect(_notification(random.Random(2), 6), general=True)),
    ]
    result = pipeline.decode_batch(frames, layer="wrapper")
    assert same(summary(result, 0), reference(frames[0], layer="wrapper", security=None))
    assert same(summary(result, 1), reference(frames[1], layer="wrapper", security=None))
    assert result.status[1] == dlmsmesh._status.PIPE_NO_KEYS
