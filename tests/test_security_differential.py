"""Native (csrc/secure.c) and pure (cryptography) security backends agree:
same frames out, same plaintexts, same error codes at the same offsets, on
valid frames of every shape and on random and mutated bytes."""

from __future__ import annotations

import itertools
import os
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import dlmsmesh
from dlmsmesh._pure import secure as P
from dlmsmesh.errors import DlmsError, EncodeError
from dlmsmesh.security import envelope as E
from dlmsmesh.security.batch import PeerKeys
from dlmsmesh.security.tags import PLAIN_NAMES, KeyInfoKind

pytestmark = [
    pytest.mark.skipif(not dlmsmesh.native_available(), reason="C core not built"),
    pytest.mark.single_backend,
]

if dlmsmesh.native_available():
    from dlmsmesh._native import secure as N

EK = bytes(range(16))
AK = bytes(range(0xD0, 0xE0))
BK = b"\xaa" * 16
DK = b"\x55" * 16
T1 = bytes.fromhex("4D4D4D0000BC614E")
T2 = bytes.fromhex("4D4D4D0000BC6150")
T3 = bytes.fromhex("4B464D1010000023")


def _ring(mod: Any, variant: str) -> Any:
    keys = {name: mod.new_key(k, AK) for name, k in (("ek", EK), ("bk", BK), ("dk", DK))}
    if variant == "single":
        peers = [PeerKeys(T1, 0, 0x10, True, False, keys["ek"], keys["bk"], keys["dk"])]
        return mod.make_ring(peers, 0)
    if variant == "any":
        return mod.make_ring([PeerKeys(None, 0, 0, False, True, keys["ek"], None, keys["dk"])], 0)
    peers = [
        PeerKeys(T3, 0, 0x30, True, False, keys["ek"], None, None),
        PeerKeys(T1, 0, 0x10, True, False, keys["ek"], keys["bk"], keys["dk"]),
        PeerKeys(T2, 1, 0, False, False, keys["bk"], None, keys["dk"]),
    ]
    peers.sort(key=lambda p: p.title)
    return mod.make_ring(peers, 1)


def _outcome(mod: Any, ring: Any, frames: list[bytes]) -> Any:
    offsets = [0, *itertools.accumulate(map(len, frames))]
    r = mod.open_batch(ring, b"".join(frames), offsets)
    return (r.status, r.err_offset, r.peer, r.tag, r.sc, r.ic, [int(k) for k in r.key_set], r.plaintexts)


def _parse(mod: Any, frame: bytes) -> Any:
    try:
        return mod.parse(frame)
    except DlmsError as err:
        return (type(err).__name__, getattr(err, "offset", None), str(err))


def _valid_frames() -> list[bytes]:
    """Frames of every shape made by the pure backend (and the spec's S11 shape)."""
    frames = []
    k = P.new_key(EK, AK)
    for sc in (0x10, 0x20, 0x30, 0x70, 0x31, 0xB0, 0x00):
        for framing in range(5):
            for apdu in (bytes.fromhex("C0010000080000010000FF0200"), bytes.fromhex("0F00000001") + bytes(200)):
                if framing in (1, 2) and apdu[0] not in PLAIN_NAMES:
                    continue
                try:
                    frames += P.seal_batch(k, sc, T1, 7, framing, [apdu])
                except EncodeError:
                    pass
    header = E.general_header(b"\x00" * 8, T1, T2, bytes(12), b"hi")
    for key_info in (
        E.key_info_bytes(KeyInfoKind.NONE),
        E.key_info_bytes(KeyInfoKind.IDENTIFIED, 1),
        E.key_info_bytes(KeyInfoKind.IDENTIFIED, 7),
        E.key_info_bytes(KeyInfoKind.WRAPPED, 0, b"", bytes(24)),
        E.key_info_bytes(KeyInfoKind.AGREED, 0, b"\x01", bytes(64)),
    ):
        content = P.seal(k, 0x30, T1, 9, b"\xc4\x01\xc1\x00\x00", header)
        frames.append(E.general_ciphering_frame(header, key_info, content))
    frames.append(E.general_signing_frame(E.general_signing_unsigned(header, b"\xc0\x01"), bytes(64)))
    frames.append(E.general_frame(0xDB, b"", P.seal(k, 0x30, T1, 3, b"\x0f\x00")))
    frames.append(E.general_frame(0xDB, T2, P.seal(P.new_key(BK, AK), 0x31, T2, 3, b"\x0f\x00")))
    frames.append(E.service_frame(0xC8, P.seal(k, 0x30, T1, 3, b"\xc1\x00")))  # tag mismatch
    return frames


VALID = _valid_frames()


def test_seal_matches() -> None:
    for sc in (0x10, 0x20, 0x30, 0x32, 0x50, 0x00, 0x80, 0x31):
        for ek in (EK, bytes(32)):
            for ak in (AK, None, bytes(32)):
                for plain in (b"", b"\x01", bytes(range(256)) * 3):
                    results = []
                    for mod in (N, P):
                        try:
                            results.append(mod.seal(mod.new_key(ek, ak), sc, T1, 0xFFFFFFFF, plain, b"hdr"))
                        except DlmsError as err:
                            results.append((type(err), str(err)))
                    assert results[0] == results[1], (hex(sc), len(ek), ak, len(plain))


def test_seal_batch_matches() -> None:
    apdus = [bytes.fromhex("C0010000080000010000FF0200"), bytes.fromhex("C4") + bytes(300), b"\x01\x00"]
    for framing in range(5):
        for sc in (0x30, 0x10, 0x20, 0x60):
            outs = []
            for mod in (N, P):
                try:
                    outs.append(mod.seal_batch(mod.new_key(EK, AK), sc, T1, 100, framing, apdus))
                except EncodeError as err:
                    outs.append(str(err))
            assert outs[0] == outs[1], (framing, hex(sc))
    for mod in (N, P):
        with pytest.raises(EncodeError, match="APDU 1 has no service-specific"):
            mod.seal_batch(mod.new_key(EK, AK), 0x30, T1, 0, 1, [apdus[0], b"\x0f\x00"])
        with pytest.raises(EncodeError, match="32-bit"):
            mod.seal_batch(mod.new_key(EK, AK), 0x30, T1, 0xFFFFFFFF, 1, apdus[:2])
        assert mod.seal_batch(mod.new_key(EK, AK), 0x30, T1, 0xFFFFFFFF, 1, apdus[:1])


@pytest.mark.parametrize("variant", ["single", "any", "many"])
def test_valid_frames_agree(variant: str) -> None:
    assert _outcome(N, _ring(N, variant), VALID) == _outcome(P, _ring(P, variant), VALID)
    for frame in VALID:
        assert _parse(N, frame) == _parse(P, frame)


@pytest.mark.parametrize("variant", ["single", "any", "many"])
def test_every_truncation_and_bit_flip_agrees(variant: str) -> None:
    mutated = []
    for frame in VALID:
        mutated += [frame[:i] for i in range(len(frame))]
        mutated += [frame + b"\x00"]
        for i in range(min(len(frame), 40)):
            for bit in (0, 3, 7):
                b = bytearray(frame)
                b[i] ^= 1 << bit
                mutated.append(bytes(b))
    assert _outcome(N, _ring(N, variant), mutated) == _outcome(P, _ring(P, variant), mutated)
    for frame in mutated[:3000]:
        assert _parse(N, frame) == _parse(P, frame)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.binary(max_size=80), max_size=8), st.sampled_from(["single", "any", "many"]))
def test_random_bytes_agree(frames: list[bytes], variant: str) -> None:
    # steer half of them to ciphered tags so the parser gets exercised
    steered = [bytes((0xDB if i % 3 == 0 else 0xC8 if i % 3 == 1 else 0xDD,)) + f for i, f in enumerate(frames)]
    all_frames = frames + steered
    assert _outcome(N, _ring(N, variant), all_frames) == _outcome(P, _ring(P, variant), all_frames)
    for f in all_frames:
        assert _parse(N, f) == _parse(P, f)


def test_unseal_errors_agree() -> None:
    content = P.seal(P.new_key(EK, AK), 0x30, T1, 1, b"hello")
    cases = [content, content[:-1] + b"\x00", content[:4], content[:16], b"\x80" + content[1:], b"\x00" + content[1:]]
    for c in cases:
        results = []
        for mod in (N, P):
            try:
                results.append(mod.unseal(mod.new_key(EK, AK), T1, c))
            except DlmsError as err:
                results.append((type(err).__name__, getattr(err, "offset", None), str(err)))
        assert results[0] == results[1], c.hex()
    for mod in (N, P):
        with pytest.raises(DlmsError):
            mod.unseal(mod.new_key(EK, None), T1, content)


def test_ring_checks_agree() -> None:
    for mod in (N, P):
        k = mod.new_key(EK, AK)
        with pytest.raises(ValueError, match="sorted"):
            mod.make_ring([PeerKeys(T2, 0, unicast=k), PeerKeys(T1, 0, unicast=k)])
        with pytest.raises(ValueError, match="title"):
            mod.make_ring([PeerKeys(None, 0, unicast=k), PeerKeys(T1, 0, unicast=k)])
        ring = mod.make_ring([PeerKeys(T1, 0, unicast=k)], 0)
        k.close()
        with pytest.raises(ValueError, match="closed"):
            mod.open_batch(ring, VALID[0], [0, len(VALID[0])])
        with pytest.raises(ValueError):
            mod.make_ring([PeerKeys(T1, 0, unicast=k)], 0)
        live = mod.make_ring([PeerKeys(T1, 0, unicast=mod.new_key(EK, AK))], 0)
        frame = VALID[0]
        for offsets in ([], [0, len(frame) + 1], [-1, 2], [0, 5, 3, len(frame)], [2, 1]):
            with pytest.raises(ValueError, match="offsets"):
                mod.open_batch(live, frame, offsets)
        assert len(mod.open_batch(live, frame, [3])) == 0


def test_large_random_batch_agrees() -> None:
    rng = os.urandom
    frames = [VALID[i % len(VALID)] if i % 5 else rng(i % 60) for i in range(2000)]
    assert _outcome(N, _ring(N, "many"), frames) == _outcome(P, _ring(P, "many"), frames)


def _single_outcomes(mod: Any, ring: Any, frames: list[bytes]) -> list[tuple[Any, ...]]:
    return [tuple(mod.open_frame(ring, f)) for f in frames]


def _batch_items(mod: Any, ring: Any, frames: list[bytes]) -> list[tuple[Any, ...]]:
    out = []
    for f in frames:
        r = mod.open_batch(ring, f, (0, len(f)))
        out.append(
            (r.status[0], r.err_offset[0], r.peer[0], r.tag[0], r.sc[0], r.ic[0], int(r.key_set[0]), r.plaintexts[0])
        )
    return out


@pytest.mark.parametrize("variant", ["single", "any", "many"])
def test_open_frame_is_open_batch_of_one_on_both_backends(variant: str) -> None:
    """The association path (open_frame) gives what a batch of one gives,
    field for field, on valid, truncated, flipped and random frames."""
    frames = list(VALID)
    for frame in VALID[:20]:
        frames += [frame[:i] for i in range(0, len(frame), 3)]
        for i in range(min(len(frame), 24)):
            b = bytearray(frame)
            b[i] ^= 0x41
            frames.append(bytes(b))
    frames += [os.urandom(n) for n in range(0, 60, 7)] + [b"\xdb" + os.urandom(40), b"\xc8" + os.urandom(30)]
    frames.append(P.seal_batch(P.new_key(EK, AK), 0x30, T1, 1, 3, [bytes(3000)])[0])  # past the scratch buffer
    for mod in (N, P):
        ring = _ring(mod, variant)
        assert _single_outcomes(mod, ring, frames) == _batch_items(mod, ring, frames), mod.__name__
    assert _single_outcomes(N, _ring(N, variant), frames) == _single_outcomes(P, _ring(P, variant), frames)


def test_seal_frame_is_seal_batch_of_one_on_both_backends() -> None:
    apdus = [
        bytes.fromhex("C0010000080000010000FF0200"),
        bytes.fromhex("C4") + bytes(300),
        b"\x01\x00",
        b"",
        bytes(2100),
    ]
    for framing in range(5):
        for sc in (0x30, 0x10, 0x20, 0x60, 0x31):
            for apdu in apdus:
                outs = []
                for mod in (N, P):
                    key = mod.new_key(EK, AK)
                    for single in (True, False):
                        try:
                            if single:
                                outs.append(mod.seal_frame(key, sc, T1, 77, framing, apdu))
                            else:
                                outs.append(mod.seal_batch(key, sc, T1, 77, framing, [apdu])[0])
                        except EncodeError as err:
                            outs.append(type(err).__name__ + str(err).replace("APDU 0: ", ""))
                assert len(set(map(repr, outs))) == 1, (framing, hex(sc), len(apdu), outs)
    for mod in (N, P):
        key = mod.new_key(EK, AK)
        with pytest.raises(EncodeError, match="32-bit"):
            mod.seal_frame(key, 0x30, T1, 0x1_0000_0000, 1, apdus[0])
        key.close()
        with pytest.raises(ValueError, match="closed"):
            mod.seal_frame(key, 0x30, T1, 1, 1, apdus[0])
