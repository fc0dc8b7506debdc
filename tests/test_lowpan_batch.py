"""IPHC batches: the Batch result (lazy on the native backend) equals the
pure one item by item, FrameBuffer input equals list input, a Batch kept
alive is never overwritten by a later call, and the datagrams come out as one
FrameBuffer that pipeline.decode_batch takes."""

from __future__ import annotations

import random

import pytest

from dlmsmesh import DecodeError, lowpan, pipeline
from dlmsmesh._pure import iphc as pure_iphc
from dlmsmesh.lowpan import ContextTable, LinkPairs
from dlmsmesh.pipeline import FrameBuffer

from .conftest import BACKENDS
from .transport_vectors import LOWPAN_VECTORS, REGISTRATION_IPHC, REGISTRATION_LL

NATIVE = "native" in BACKENDS
needs_native = pytest.mark.skipif(not NATIVE, reason="the native backend is not built")

CONTEXTS = ContextTable({0: "2001:db8:1::/64", 1: "2001:db8:2::/64"})
# vectors whose contexts agree with CONTEXTS (or use none)
USABLE = [v for v in LOWPAN_VECTORS if all(CONTEXTS.rows[c] is not None for c in v.contexts)]


def _mixed(seed: int, n: int) -> tuple[list[bytes], LinkPairs]:
    """n frames: vectors, the registration frame, truncations, bad dispatches
    and random bytes, each with its own link-layer addresses."""
    rng = random.Random(seed)
    frames: list[bytes] = []
    pairs: list[tuple[bytes, bytes]] = []
    for _ in range(n):
        k = rng.randrange(6)
        if k == 0:
            frames.append(REGISTRATION_IPHC + bytes(rng.randrange(256) for _ in range(rng.randrange(40))))
            pairs.append(REGISTRATION_LL)
            continue
        v = rng.choice(USABLE)
        frame = v.frame
        if k == 1:
            frame = frame[: rng.randrange(len(frame))]
        elif k == 2:
            i = rng.randrange(len(frame))
            frame = frame[:i] + bytes([rng.randrange(256)]) + frame[i + 1 :]
        elif k == 3:
            frame = bytes([0x60 | rng.randrange(32)]) + bytes(rng.randrange(256) for _ in range(rng.randrange(60)))
        frames.append(frame)
        pairs.append((v.ll_src or b"", v.ll_dst or b""))
    return frames, LinkPairs(pairs)


def test_the_mixed_batches_hold_good_and_bad_frames() -> None:
    frames, links = _mixed(1, 400)
    batch = pure_iphc.decompress(frames, links, CONTEXTS, 0)
    assert 50 < len(batch.failures) < 350


@pytest.mark.single_backend
@needs_native
@pytest.mark.parametrize("seed", range(8))
def test_native_batch_equals_pure_item_by_item(seed: int) -> None:
    from dlmsmesh._native import iphc as native_iphc

    frames, links = _mixed(seed, 300)
    for datagram_size in (0, 1280):
        a = native_iphc.decompress(frames, links, CONTEXTS, datagram_size)
        b = pure_iphc.decompress(frames, links, CONTEXTS, datagram_size)
        assert a.failures == b.failures
        assert a.outputs == b.outputs
        assert a.header_lengths == b.header_lengths
        assert a.infos == b.infos
        assert a.buffer() == b.buffer()
        assert len(a) == len(b) == len(frames)
        assert a == b
    datagrams = [o for o in b.outputs if o is not None and o[0] >> 4 == 6]
    pairs = [links.pair(i) for i, o in enumerate(b.outputs) if o is not None and o[0] >> 4 == 6]
    a = native_iphc.compress(datagrams, LinkPairs(pairs), CONTEXTS, 0)
    b = pure_iphc.compress(datagrams, LinkPairs(pairs), CONTEXTS, 0)
    assert a == b and a.buffer() == b.buffer()


@needs_native
def test_an_empty_batch() -> None:
    from dlmsmesh._native import iphc as native_iphc

    for mod in (native_iphc, pure_iphc):
        batch = mod.decompress([], LinkPairs(), None, 0)
        assert (batch.outputs, batch.header_lengths, batch.infos, batch.failures) == ([], [], [], [])
        data, offsets = batch.buffer()
        assert data == b"" and list(offsets) == [0]


def test_frame_buffer_input_equals_list_input(backend: str) -> None:
    frames, links = _mixed(11, 200)
    as_list = lowpan.decompress_batch(frames, links=links, contexts=CONTEXTS)
    as_buffer = lowpan.decompress_batch(FrameBuffer.join(frames), links=links, contexts=CONTEXTS)
    assert [repr(x) if isinstance(x, DecodeError) else x for x in as_list] == [
        repr(x) if isinstance(x, DecodeError) else x for x in as_buffer
    ]
    good = [x for x in as_list if isinstance(x, bytes)]
    pairs = [links.pair(i) for i, x in enumerate(as_list) if isinstance(x, bytes)]
    assert lowpan.compress_batch(FrameBuffer.join(good), links=LinkPairs(pairs), contexts=CONTEXTS) == (
        lowpan.compress_batch(good, links=LinkPairs(pairs), contexts=CONTEXTS)
    )


def test_a_kept_batch_is_not_overwritten_by_later_calls(backend: str) -> None:
    from dlmsmesh import _backend

    mod = _backend.live.modules["iphc"]
    frames_a, links_a = _mixed(21, 150)
    frames_b, links_b = _mixed(22, 150)
    expected_a = pure_iphc.decompress(frames_a, links_a, CONTEXTS, 0)
    kept = mod.decompress(frames_a, links_a, CONTEXTS, 0)  # nothing read from it yet
    for _ in range(3):
        mod.decompress(frames_b, links_b, CONTEXTS, 0)
        mod.compress([b"\x60" + bytes(47)] * 50, LinkPairs(), None, 0)
    assert kept == expected_a
    assert kept.buffer() == expected_a.buffer()


@pytest.mark.single_backend
@needs_native
def test_native_batches_reuse_their_memory_once_released() -> None:
    from dlmsmesh._native import iphc as native_iphc

    frames, links = _mixed(31, 100)
    native_iphc.decompress(frames, links, CONTEXTS, 0)
    # ids, not references (a reference would count as a holder); a replaced
    # buffer is made while the old one still lives, so its id differs
    first = id(native_iphc._scratch.batch_out)
    native_iphc.decompress(frames, links, CONTEXTS, 0)
    assert id(native_iphc._scratch.batch_out) == first  # the released batch's buffer, written again
    kept = native_iphc.decompress(frames, links, CONTEXTS, 0)
    native_iphc.decompress(frames, links, CONTEXTS, 0)
    assert id(native_iphc._scratch.batch_out) != first  # held by `kept`: a new one
    assert kept == pure_iphc.decompress(frames, links, CONTEXTS, 0)


@pytest.mark.single_backend
@needs_native
def test_a_kept_small_batch_does_not_keep_a_big_buffer() -> None:
    from dlmsmesh._native import iphc as native_iphc

    frames, links = _mixed(51, 3000)
    native_iphc.decompress(frames, links, CONTEXTS, 0)  # a big batch, released
    kept = [native_iphc.decompress(frames[:5], LinkPairs(links.pairs[:5]), CONTEXTS, 0) for _ in range(3)]
    for batch in kept:
        buffer = batch._data.obj  # the bytearray the batch's view is on
        assert len(buffer) <= 4 * (sum(map(len, frames[:5])) + 48 * 5 + 1) + (1 << 16)
    assert kept[0] == pure_iphc.decompress(frames[:5], LinkPairs(links.pairs[:5]), CONTEXTS, 0)


def test_decompress_batch_buffer_feeds_decode_batch(backend: str) -> None:
    frames, links = _mixed(41, 200)
    listed = lowpan.decompress_batch(frames, links=links, contexts=CONTEXTS)
    fb, errors = lowpan.decompress_batch_buffer(frames, links=links, contexts=CONTEXTS)
    assert len(fb) == len(frames)
    for i, x in enumerate(listed):
        if isinstance(x, DecodeError):
            assert fb[i] == b"" and repr(errors[i]) == repr(x)
        else:
            assert fb[i] == x and i not in errors
    # the buffer goes on to the pipeline as it is: the frames that decompress
    # decode there as they do from the 6LoWPAN frames
    kw = {"allow_plain": True, "verify_checksum": True}
    from_buffer = pipeline.decode_batch(fb, layer="ipv6", **kw)
    from_frames = pipeline.decode_batch(frames, layer="lowpan", links=links, contexts=CONTEXTS, **kw)
    good = [i for i in range(len(frames)) if i not in errors]
    assert any(from_buffer.status[i] == 0 for i in good)
    for i in good:
        assert from_buffer.status[i] == from_frames.status[i]
        if from_buffer.status[i] == 0:
            assert from_buffer.apdu(i) == from_frames.apdu(i)
    for i in errors:
        assert from_buffer.status[i] != 0 and from_buffer.layer(i) == "ipv6"


@pytest.mark.single_backend
def test_ends_from_lengths_refuses_more_than_4_gib() -> None:
    if not NATIVE:
        pytest.skip("the native backend is not built")
    from array import array

    from dlmsmesh._core import ffi, lib

    v = array("I", [1, 2, 3, 0, 4])
    assert lib.dm_ends_from_lengths(ffi.from_buffer("uint32_t[]", v), len(v)) == 0
    assert list(v) == [1, 3, 6, 6, 10]
    v = array("I", [0xFFFFFFFF, 0, 1])
    assert lib.dm_ends_from_lengths(ffi.from_buffer("uint32_t[]", v), len(v)) == -12
    assert list(v) == [0xFFFFFFFF, 0, 1]  # unchanged
    v = array("I", [0xFFFFFFFE, 1])
    assert lib.dm_ends_from_lengths(ffi.from_buffer("uint32_t[]", v), len(v)) == 0
    assert list(v) == [0xFFFFFFFE, 0xFFFFFFFF]
