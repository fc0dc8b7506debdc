"""decode_batch behaviour beyond the equality with the single-frame path: no
plaintext of a failed frame is ever visible (not even in the buffers),
counters follow the store across batches, processes (SQLite) and threads,
the workspace and argument rules, lazy results."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from dlmsmesh import _status as S
from dlmsmesh import apdu, pipeline
from dlmsmesh._common import pipeline_items as I
from dlmsmesh.errors import AuthenticationError, DecodeError, ReplayError, SecurityError
from dlmsmesh.security import Keyring, MemoryCounterStore, SqliteCounterStore
from dlmsmesh.security.tags import KeySet
from dlmsmesh.types import DoubleLongUnsigned

from .pipeline_support import CONTEXTS, HEAD_END_MAC, head_end_context, keyring, lift, meter_context, meter_mac, wpdu


def _pushes(m: int, n: int, first: int = 1) -> list[bytes]:
    ctx = meter_context(m, first_counter=first)
    return [
        wpdu(ctx.protect(apdu.encode(apdu.DataNotification(DoubleLongUnsigned(1000 * m + i))), general=True))
        for i in range(n)
    ]


def _plain_region(result: Any, i: int) -> bytes:
    out = result._out
    k = i * I.WORDS
    start = out.words[k + I.PLAIN]
    return bytes(out.plain[start : start + out.words[k + I.APDU_LEN]])


def test_no_plaintext_of_a_failed_frame_anywhere(backend: str) -> None:
    good = _pushes(0, 4)
    tampered = bytearray(good[1])
    tampered[-1] ^= 1  # the GCM tag
    frames = [good[0], bytes(tampered), good[0], good[2], good[2], good[3]]
    result = pipeline.decode_batch(frames, security=head_end_context(0))
    assert result.status == [0, S.SEC_AUTH, S.PIPE_REPLAY, 0, S.PIPE_REPLAY, 0]
    for i in (1, 2, 4):
        assert _plain_region(result, i) == bytes(len(_plain_region(result, i)))
        with pytest.raises((AuthenticationError, ReplayError)):
            result.plaintext(i)
        with pytest.raises((AuthenticationError, ReplayError)):
            result.apdu(i)
        with pytest.raises((AuthenticationError, ReplayError)):
            result.body(i)
    assert isinstance(result.error(1), AuthenticationError)
    assert isinstance(result.error(2), ReplayError) and result.error(2).expected == 2  # type: ignore[attr-defined]
    assert result.apdu(3).body == DoubleLongUnsigned(2)
    assert result.body(5) == bytes.fromhex("0600000003")
    # the whole batch's plaintexts at once: the good frames', None for the others
    assert result.plaintexts() == [result.plaintext(0), None, None, result.plaintext(3), None, result.plaintext(5)]


def test_counters_move_only_for_verified_frames_in_frame_order(backend: str) -> None:
    frames = _pushes(0, 6)
    ctx = head_end_context(0)
    # 5 first, then 3 (behind it: refused), 6; a forged 4 does not move the counter
    forged = bytearray(frames[3])
    forged[-2] ^= 0x80
    result = pipeline.decode_batch([frames[4], frames[2], bytes(forged), frames[5], frames[3]], security=ctx)
    assert result.status == [0, S.PIPE_REPLAY, S.SEC_AUTH, 0, S.PIPE_REPLAY]
    assert str(result.error(4)) == "invocation counter 4 is not greater than the last accepted one (6)"
    assert ctx.counters.last_accepted(ctx.counter_scope("rx", ctx.peer_system_title, 0)) == 6


def test_the_store_moving_between_batches_is_noticed(backend: str) -> None:
    frames = _pushes(0, 10)
    ctx = head_end_context(0)
    assert pipeline.decode_batch(frames[:2], security=ctx).status == [0, 0]
    ctx.unprotect(frames[6][8:])  # the single-frame path moves the store to 7
    result = pipeline.decode_batch(frames[2:], security=ctx)
    assert result.status == [S.PIPE_REPLAY] * 5 + [0, 0, 0]
    assert ctx.counters.last_accepted(ctx.counter_scope("rx", ctx.peer_system_title, 0)) == 10
    with pytest.raises(ReplayError):
        ctx.unprotect(frames[9][8:])


def test_counters_survive_a_restart_in_sqlite(backend: str, tmp_path: Path) -> None:
    path = tmp_path / "counters.sqlite3"
    frames = _pushes(1, 8)
    with SqliteCounterStore(path) as store:
        ring = Keyring([head_end_context(1, store=store)])
        assert pipeline.decode_batch(frames[:5], security=ring).status == [0] * 5
    with SqliteCounterStore(path) as store:  # a new process: a new keyring, a new table
        ring = Keyring([head_end_context(1, store=store)])
        result = pipeline.decode_batch(frames[3:], security=ring)
        assert result.status == [S.PIPE_REPLAY, S.PIPE_REPLAY, 0, 0, 0]
        again = pipeline.decode_batch(frames, security=ring)
        assert again.status == [S.PIPE_REPLAY] * 8


def test_keyring_that_grows_keeps_its_counters(backend: str) -> None:
    ring = keyring(2)
    a = _pushes(0, 4)
    assert pipeline.decode_batch(a[:2], security=ring).status == [0, 0]
    ring.add(head_end_context(3))  # the ring is rebuilt
    result = pipeline.decode_batch(a + _pushes(3, 2), security=ring)
    assert result.status == [S.PIPE_REPLAY, S.PIPE_REPLAY, 0, 0, 0, 0]


def test_threads_sharing_a_keyring_accept_each_counter_once(backend: str) -> None:
    ring = keyring(4)
    frames = [f for m in range(4) for f in _pushes(m, 50)]
    results: list[Any] = []

    def work() -> None:
        for start in range(0, len(frames), 37):
            results.append(pipeline.decode_batch(frames[start : start + 37], security=ring))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    accepted = sum(r.ok for r in results)
    assert accepted == len(frames)
    assert sum(r.status.count(S.PIPE_REPLAY) for r in results) == 2 * len(frames)


def test_unciphered_frames_and_keys(backend: str) -> None:
    plain = wpdu(apdu.encode(apdu.DataNotification(DoubleLongUnsigned(5))))
    ciphered = _pushes(0, 1)[0]
    assert pipeline.decode_batch([plain, ciphered]).status == [0, S.PIPE_NO_KEYS]
    ctx = head_end_context(0)
    result = pipeline.decode_batch([plain, ciphered], security=ctx)
    assert result.status == [S.PIPE_PLAIN, 0]
    err = result.error(0)
    assert isinstance(err, SecurityError) and err.offset == 8  # type: ignore[attr-defined]
    assert pipeline.decode_batch([plain], security=ctx, allow_plain=True).status == [0]
    assert result.security(0) is None and result.security(1).invocation_counter == 1


def test_workspace_reuse_retires_the_previous_result(backend: str) -> None:
    frames = _pushes(0, 3)
    ws = pipeline.new_workspace()
    first = pipeline.decode_batch(frames, security=head_end_context(0), replay_check=False, out=ws)
    assert first.apdu(0).body == DoubleLongUnsigned(0)
    second = pipeline.decode_batch(frames[:1], security=head_end_context(0), replay_check=False, out=ws)
    assert second.apdu(0) == first.apdu(0) if backend == "pure" else second.status == [0]
    if backend == "native":
        with pytest.raises(RuntimeError, match="reused"):
            first.apdu(1)
    grown = pipeline.decode_batch(frames * 500, security=head_end_context(0), replay_check=False, out=ws)
    assert grown.ok == 1500


def test_arguments(backend: str) -> None:
    frames = _pushes(0, 2)
    with pytest.raises(ValueError, match="layer"):
        pipeline.decode_batch(frames, layer="security")
    with pytest.raises(TypeError, match="SecurityContext or a Keyring"):
        pipeline.decode_batch(frames, security=[head_end_context(0)])  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        pipeline.decode_batch(frames, layer="lowpan", links=[(b"", b""), (b"", b""), (b"", b"")])
    with pytest.raises(IndexError):
        pipeline.decode_batch(frames).error(2)
    empty = pipeline.decode_batch([], security=head_end_context(0))
    assert len(empty) == 0 and empty.status == [] and empty.ok == 0
    buf = pipeline.FrameBuffer.join(frames)
    assert pipeline.decode_batch(buf, security=head_end_context(0)).status == [0, 0]
    with pytest.raises(ValueError, match="offsets"):
        pipeline.FrameBuffer(b"abc", [0, 2])


def test_lazy_results_build_nothing_until_asked(backend: str) -> None:
    frames = [lift(f, "lowpan", 0)[0] for f in _pushes(0, 3)]
    links = [(meter_mac(0), HEAD_END_MAC)]
    result = pipeline.decode_batch(frames, layer="lowpan", security=head_end_context(0), contexts=CONTEXTS, links=links)
    assert result.status == [0, 0, 0]
    out = result._out
    if backend == "native":
        assert out.objects == {}  # the APDUs are loader programs until asked for
    assert result.lowpan(0) == {"dispatch": "iphc", "header_length": result.lowpan(0)["header_length"], "sci": 0}
    assert [a.body for _, a in result.apdus()] == [DoubleLongUnsigned(i) for i in range(3)]
    with pytest.raises(DecodeError):
        pipeline.decode_batch([frames[0][:3]], layer="lowpan", links=links).raise_for(0)


def test_a_cleared_frame_buffer_retires_its_results(backend: str) -> None:
    buf = pipeline.FrameBuffer()
    for frame in _pushes(0, 2):
        buf.append(frame)
    result = pipeline.decode_batch(buf, security=head_end_context(0))
    assert result.ok == 2
    buf.clear()
    buf.append(b"\x00" * 40)
    with pytest.raises(RuntimeError, match="cleared"):
        result.wrapper(0)


class _FlakyStore(MemoryCounterStore):
    """A store whose writes fail on demand (a disk full, a lost database)."""

    fail = False

    def accept_many(self, scopes: Any, counters: Any, window: int = 0) -> list[bool]:
        if self.fail:
            raise OSError("store unavailable")
        return super().accept_many(scopes, counters, window)


def test_a_store_failure_fails_the_batch_and_the_table_reloads(backend: str) -> None:
    store = _FlakyStore()
    ctx = head_end_context(0, store=store)
    frames = _pushes(0, 6)
    assert pipeline.decode_batch(frames[:2], security=ctx).status == [0, 0]
    store.fail = True
    with pytest.raises(OSError):
        pipeline.decode_batch(frames[2:4], security=ctx)
    store.fail = False
    # nothing of the failed batch was recorded: its frames are new to the store
    assert pipeline.decode_batch(frames[2:], security=ctx).status == [0, 0, 0, 0]
    assert pipeline.decode_batch(frames[:3], security=ctx).status == [S.PIPE_REPLAY] * 3


class _BulkStore(MemoryCounterStore):
    """A counter store that reads many counters in one call (as the
    registration listener's does): the pipeline loads its entries at once."""

    def __init__(self) -> None:
        super().__init__()
        self.bulk_reads = 0

    def last_accepted_many(self, scopes: Any) -> list[Any]:
        self.bulk_reads += 1
        return [self.last_accepted(s) for s in scopes]


def test_a_store_that_reads_many_counters_is_loaded_when_the_table_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    """Preloaded entries: the backend decides every frame's counter from the
    first batch on (nothing is left to Python's first-sight path), with the
    same outcomes a lazily loaded table gives."""
    meters = 4
    get = bytes.fromhex("0F0000000100") + bytes.fromhex("0906") + bytes(6)
    senders = [meter_context(m) for m in range(meters)]
    frames = [wpdu(senders[m].protect(get, general=True), m) for m in range(meters) for _ in range(2)]
    from dlmsmesh.pipeline import replay

    decided: list[int] = []  # frames left to Python's first-sight path
    real = replay._decide
    monkeypatch.setattr(replay, "_decide", lambda table, out, frames, title_of: (decided.extend(frames),
                                                                                   real(table, out, frames, title_of)))  # fmt: skip
    outcomes = []
    for bulk in (True, False):
        decided.clear()
        store = _BulkStore() if bulk else MemoryCounterStore()
        # what a listener knew before: meter 1 accepted counter 1 (its first frame here is a replay)
        store.accept(head_end_context(1).counter_scope("rx", senders[1].system_title, KeySet.UNICAST), 1)
        ring = Keyring(head_end_context(m, store=store) for m in range(meters))
        result = pipeline.decode_batch(frames, layer="wrapper", security=ring)
        outcomes.append(result.status)
        if bulk:
            assert store.bulk_reads == 1 and decided == []  # the backend decided every counter
        else:
            assert decided  # lazily loaded: each meter's first frame went to Python
    assert outcomes[0] == outcomes[1]
    assert [s != 0 for s in outcomes[0]] == [False, False, True, False, False, False, False, False]
