"""Tampering: every single-bit flip of an authenticated frame (header,
ciphertext, tag), a wrong key, a wrong system title and a replayed counter
each give the right error, and no plaintext ever comes out (one frame or a
batch; in C the output bytes of a failed frame are zeroed)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

import dlmsmesh
from dlmsmesh.errors import AuthenticationError, DecodeError, DlmsError, ReplayError, SecurityError
from dlmsmesh.security import (
    GeneralCipheringAad,
    MemoryCounterStore,
    Role,
    SecurityContext,
    SecurityPolicy,
)

from .test_security_vectors import AK, CLIENT, EK, IC, SERVER, P, V, h

BK = h("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
DK = h("101112131415161718191A1B1C1D1E1F")


def meter(**kw: object) -> SecurityContext:
    """The sender: a meter (server) whose next counter is IC."""
    kw.setdefault("suite", 0)
    return SecurityContext(
        SERVER, peer_system_title=CLIENT, ek=EK, ak=AK, bk=BK, dk=DK, role=Role.SERVER,
        counters=MemoryCounterStore(first_counter=IC), **kw,
    )  # type: ignore[arg-type]  # fmt: skip


def head_end(**kw: object) -> SecurityContext:
    """The receiver: requires authenticated encryption of what the meter sends."""
    kw.setdefault("suite", 0)
    kw.setdefault("peer_system_title", SERVER)
    kw.setdefault("ek", EK)
    kw.setdefault("ak", AK)
    return SecurityContext(CLIENT, **kw)  # type: ignore[arg-type]


NOTIFICATION = h("0F000000010002020906000001000000FF1200E6")

# name -> (frame maker, receiver maker, offset of SC)
Case = tuple[Callable[[], bytes], Callable[[], SecurityContext], int]
CASES: dict[str, Case] = {
    "glo-get-response": (lambda: meter().protect(h("C401C100090400000001")), head_end, 2),
    "ded-get-response": (
        lambda: meter().protect(h("C401C100090400000001"), dedicated=True),
        lambda: head_end(dk=DK),
        2,
    ),
    "general-glo-ciphering": (lambda: meter().protect(NOTIFICATION, general=True), head_end, 11),
    "general-ded-ciphering": (
        lambda: meter().protect(NOTIFICATION, general=True, dedicated=True),
        lambda: head_end(dk=DK),
        11,
    ),
    "general-glo broadcast": (
        lambda: meter().protect(NOTIFICATION, general=True, broadcast=True),
        lambda: head_end(bk=BK),
        11,
    ),
    "general-ciphering suite 1": (
        lambda: meter(suite=1).protect_general_ciphering(NOTIFICATION, date_time=bytes(12), other_information=b"x"),
        lambda: head_end(suite=1),
        None,  # type: ignore[dict-item]
    ),
    "authentication only": (
        lambda: meter(policy=SecurityPolicy.NONE).protect(h("C401C100090400000001"), protection=0x10),
        lambda: head_end(policy=SecurityPolicy.NONE),
        2,
    ),
}


def _sc_offset(frame: bytes, given: int | None) -> int:
    if given is not None:
        return given
    return len(frame) - (5 + len(NOTIFICATION) + 12)


def _flips(frame: bytes):  # type: ignore[no-untyped-def]
    for i in range(len(frame)):
        for bit in range(8):
            bad = bytearray(frame)
            bad[i] ^= 1 << bit
            yield i, bit, bytes(bad)


@pytest.mark.parametrize("case", list(CASES))
def test_every_bit_flip_is_refused(backend: str, case: str) -> None:
    make, receiver_of, sc_at = CASES[case]
    frame = make()
    assert receiver_of().unprotect(frame, replay_check=False).plaintext  # the intact frame opens
    sc_at = _sc_offset(frame, sc_at)
    rx = receiver_of()
    for i, bit, bad in _flips(frame):
        with pytest.raises(DlmsError) as caught:
            rx.unprotect(bad, replay_check=False)
        err = caught.value
        where = f"{case}: byte {i} bit {bit}: {type(err).__name__}: {err}"
        if i > sc_at:
            # counter, ciphertext/APDU, tag: only the tag check can notice
            assert type(err) is AuthenticationError, where
        elif i == sc_at:
            assert isinstance(err, SecurityError) and not isinstance(err, ReplayError), where
        else:
            # tag, lengths, titles, general-ciphering header: malformed,
            # unknown sender/key, or a tag that no longer verifies
            assert isinstance(err, (DecodeError, SecurityError)) and not isinstance(err, ReplayError), where


@pytest.mark.parametrize("case", list(CASES))
def test_bit_flips_in_a_batch_release_nothing(backend: str, case: str) -> None:
    make, receiver_of, _ = CASES[case]
    frame = make()
    bad = [b for _, _, b in _flips(frame)]
    result = receiver_of().unprotect_batch([frame, *bad], replay_check=False)
    assert result.plaintexts[0] is not None and result.errors[0] is None
    assert result.plaintexts[1:] == [None] * len(bad)
    assert all(isinstance(e, DlmsError) for e in result.errors[1:])


def test_wrong_key(backend: str) -> None:
    frame = meter().protect(h("C401C100090400000001"))
    other = bytes(16)
    with pytest.raises(AuthenticationError):
        head_end(ek=other).unprotect(frame)
    with pytest.raises(AuthenticationError):
        SecurityContext(CLIENT, peer_system_title=SERVER, ek=EK, ak=other).unprotect(frame)


def test_wrong_system_title(backend: str) -> None:
    service = meter().protect(h("C401C100090400000001"))
    general = meter().protect(NOTIFICATION, general=True)
    wrong = h("4D4D4D0000BC614F")
    # a frame without a title is opened under the configured one: the IV differs
    with pytest.raises(AuthenticationError):
        head_end(peer_system_title=wrong).unprotect(service)
    # a frame whose title is not the configured peer's is not ours to open
    with pytest.raises(SecurityError, match="no key for this sender"):
        head_end(peer_system_title=wrong).unprotect(general)
    # a receiver that takes the title from the frame: an altered title fails the tag
    forged = general[:9] + bytes((general[9] ^ 1,)) + general[10:]
    with pytest.raises(AuthenticationError):
        head_end(peer_system_title=None).unprotect(forged)


def test_replayed_counter(backend: str) -> None:
    sender = meter()
    first, second = sender.protect_batch([h("C401C100090400000001"), h("C401C200090400000002")])
    rx = head_end()
    assert rx.unprotect(second).plaintext == h("C401C200090400000002")
    with pytest.raises(ReplayError) as caught:
        rx.unprotect(second)
    assert caught.value.expected == IC + 2  # type: ignore[attr-defined]
    with pytest.raises(ReplayError):
        rx.unprotect(first)  # older than the last accepted one: strict by default
    # a window of 1 lets the late frame in once, and only once
    windowed = head_end(replay_window=1)
    windowed.unprotect(second)
    assert windowed.unprotect(first).plaintext == h("C401C100090400000001")
    with pytest.raises(ReplayError):
        windowed.unprotect(first)
    # a refused frame does not move the counter (a forged copy cannot block the real one)
    rx2 = head_end()
    forged = first[:-1] + bytes((first[-1] ^ 1,))
    with pytest.raises(AuthenticationError):
        rx2.unprotect(forged)
    assert rx2.unprotect(first).plaintext


def test_replay_in_a_batch(backend: str) -> None:
    frames = meter().protect_batch([h("C401C100090400000001")] * 3)
    result = head_end().unprotect_batch([frames[0], frames[1], frames[1], frames[0], frames[2]])
    assert [p is not None for p in result.plaintexts] == [True, True, False, False, True]
    assert [type(e).__name__ if e else None for e in result.errors] == [
        None, None, "ReplayError", "ReplayError", None,
    ]  # fmt: skip


def test_tag_of_service_apdu_must_match_the_apdu_inside(backend: str) -> None:
    frame = meter().protect(h("C401C100090400000001"))  # glo-get-response
    relabelled = bytes((0xCD,)) + frame[1:]  # glo-set-response around a get-response
    with pytest.raises(DecodeError, match="not the protected form") as caught:
        head_end().unprotect(relabelled)
    assert caught.value.offset == 0


def test_encryption_only_cannot_be_checked_so_policy_refuses_it(backend: str) -> None:
    frame = meter(policy=SecurityPolicy.NONE).protect(h("C401C100090400000001"), protection=0x20)
    with pytest.raises(SecurityError, match="weaker than the security policy"):
        head_end().unprotect(frame)


def test_general_ciphering_header_is_authenticated(backend: str) -> None:
    frame = meter(suite=1).protect_general_ciphering(NOTIFICATION, other_information=b"abc")
    at = frame.index(b"abc")
    bad = frame[:at] + b"abd" + frame[at + 3 :]
    with pytest.raises(AuthenticationError):
        head_end(suite=1).unprotect(bad)
    # the PLAIN variant does not cover it (the reason HEADER is the default)
    plain_sender = meter(suite=1, general_ciphering_aad=GeneralCipheringAad.PLAIN)
    frame = plain_sender.protect_general_ciphering(NOTIFICATION, other_information=b"abc")
    bad = frame[:at] + b"abd" + frame[at + 3 :]
    rx = head_end(suite=1, general_ciphering_aad=GeneralCipheringAad.PLAIN)
    assert rx.unprotect(bad).plaintext == NOTIFICATION


@pytest.mark.skipif(not dlmsmesh.native_available(), reason="C core not built")
def test_c_zeroes_the_output_of_a_failed_frame() -> None:
    from dlmsmesh._core import ffi, lib

    frame = h(V["S1"])
    content = frame[2:]
    bad = content[:-1] + bytes((content[-1] ^ 0x80,))
    key_out = ffi.new("dm_secure_key **")
    assert lib.dm_secure_key_new(EK, 16, AK, 16, key_out) == 0
    key = ffi.gc(key_out[0], lib.dm_secure_key_free)
    out = ffi.new("uint8_t[]", b"\xaa" * 64)
    n = ffi.new("size_t *")
    title = ffi.from_buffer(SERVER)
    assert lib.dm_secure_open(key, title, ffi.from_buffer(content), len(content), ffi.NULL, 0, out, 64, n) == 0
    assert bytes(ffi.buffer(out, n[0])) == P
    out = ffi.new("uint8_t[]", b"\xaa" * 64)
    rc = lib.dm_secure_open(key, title, ffi.from_buffer(bad), len(bad), ffi.NULL, 0, out, 64, n)
    assert rc == lib.DM_ERR_SEC_AUTH and n[0] == 0
    assert bytes(ffi.buffer(out, len(P))) == bytes(len(P))  # decrypted, then cleansed
    # a batch: the failed frame's plaintext region is zero too
    from dlmsmesh._native import secure as native
    from dlmsmesh.security.batch import PeerKeys

    k = native.new_key(EK, AK)
    ring = native.make_ring([PeerKeys(SERVER, 0, 0x30, unicast=k)], 0)
    items = ffi.new("dm_secure_item[]", 2)
    data = frame + frame[:-1] + bytes((frame[-1] ^ 1,))
    offs = ffi.new("uint32_t[]", [0, len(frame), 2 * len(frame)])
    out = ffi.new("uint8_t[]", b"\xaa" * len(data))
    assert lib.dm_secure_open_batch(ring.array, 1, 0, ffi.from_buffer(data), offs, 2, out, len(data), items) == 1
    assert items[0].status == 0 and items[1].status == lib.DM_ERR_SEC_AUTH
    second = bytes(ffi.buffer(out, len(data)))[len(frame) : len(frame) + len(P)]
    assert second == bytes(len(P))
