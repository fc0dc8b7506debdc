"""The native and the pure pipeline agree on anything: random bytes and
mutated valid frames at every layer, one batch each (hypothesis), give the
same statuses, errors, header fields, APDUs and counter states; and the
decoder never crashes, hangs or shows a failed frame's plaintext."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dlmsmesh
from dlmsmesh import _backend, apdu, pipeline
from dlmsmesh.types import DoubleLongUnsigned

from .pipeline_support import CONTEXTS, keyring, lift, meter_context, summary, wpdu

pytestmark = [
    pytest.mark.skipif(not dlmsmesh.native_available(), reason="C core not built"),
    pytest.mark.single_backend,
]

LAYERS = ["lowpan", "ipv6", "udp", "wrapper", "apdu"]


def _valid(layer: str) -> list[tuple[bytes, tuple[bytes, bytes]]]:
    out = []
    for m in range(3):
        ctx = meter_context(m)
        for i in range(3):
            data = ctx.protect(apdu.encode(apdu.DataNotification(DoubleLongUnsigned(i))), general=True)
            out.append((data, (b"", b"")) if layer == "apdu" else lift(wpdu(data), layer, m))
    return out


VALID = {layer: _valid(layer) for layer in LAYERS}


def _both(frames: list[bytes], layer: str, links: list[tuple[bytes, bytes]]) -> list[Any]:
    seen = []
    for name in ("native", "pure"):
        before = _backend.backend()
        _backend.set_backend(name)
        try:
            ring = keyring(3)
            result = pipeline.decode_batch(frames, layer=layer, security=ring, contexts=CONTEXTS, links=links)
            seen.append(
                (
                    result.status,
                    [summary(result, i) for i in range(len(frames))],
                    [result.to_json(i) for i in range(len(frames))],
                )
            )
        finally:
            _backend.set_backend(before)
    return seen


@st.composite
def batches(draw: Any) -> tuple[str, list[bytes], list[tuple[bytes, bytes]]]:
    layer = draw(st.sampled_from(LAYERS))
    frames, links = [], []
    for _ in range(draw(st.integers(1, 12))):
        frame, ll = draw(st.sampled_from(VALID[layer]))
        kind = draw(st.sampled_from(["valid", "flip", "cut", "random", "insert"]))
        if kind == "flip":
            k = draw(st.integers(0, len(frame) - 1))
            frame = frame[:k] + bytes((frame[k] ^ draw(st.integers(1, 255)),)) + frame[k + 1 :]
        elif kind == "cut":
            frame = frame[: draw(st.integers(0, len(frame)))]
        elif kind == "random":
            frame = draw(st.binary(max_size=120))
        elif kind == "insert":
            k = draw(st.integers(0, len(frame)))
            frame = frame[:k] + draw(st.binary(min_size=1, max_size=4)) + frame[k:]
        frames.append(frame)
        links.append(ll)
    return layer, frames, links


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_native_and_pure_agree_on_anything(batch: tuple[str, list[bytes], list[tuple[bytes, bytes]]]) -> None:
    layer, frames, links = batch
    native, pure = _both(frames, layer, links)
    assert native[0] == pure[0]
    assert native[2] == pure[2]
    for a, b in zip(native[1], pure[1]):
        assert a.error == b.error
        assert a.apdu == b.apdu and type(a.apdu) is type(b.apdu)
