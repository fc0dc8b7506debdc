"""Native batch frame pipeline: csrc/pipeline_decode.c and pipeline_encode.c,
a whole batch per C call.  Decode fills an
:class:`~dlmsmesh._common.pipeline_outcome.Outcome` and returns it; the
orchestration (``dlmsmesh.pipeline``) settles it.

The frames cross as one buffer plus offsets; every other buffer (per-frame
records, decompressed datagrams, staged ciphertext, plaintext, loader
programs) is a :class:`Workspace` that a receive loop passes as ``out=`` so
nothing is allocated per call.  The security ring's key locks are held
during the C call (an EVP context serves one call at a time); the counter
table's lock is the orchestration's, held from the call until its entries
are committed.
"""

from __future__ import annotations

import contextlib
from typing import Any

from .._common import pipeline_items as I
from .._common.pipeline_outcome import Outcome
from .._common.pipeline_plan import Codecs, DecodeJob
from .._core import ffi, lib
from ..frames import FrameBuffer
from . import apdu as native_apdu
from . import secure
from .iphc import context_table, pack_links
from .loader import loader
from .pipeline_encode import encode

__all__ = ["decode", "encode", "codecs", "Workspace"]

assert ffi.sizeof("dm_pipe_item") == 4 * I.WORDS
assert ffi.sizeof("dm_rx_counter") == 4 * I.RX_WORDS
assert (lib.DM_PIPE_F_DEFER_SECURITY, lib.DM_PIPE_F_CIPHERED, lib.DM_PIPE_F_BC0) == (
    I.F_DEFER_SECURITY,
    I.F_CIPHERED,
    I.F_BC0,
)
assert (lib.DM_RX_KNOWN, lib.DM_RX_CALLER, lib.DM_RX_TOUCHED) == (I.RX_KNOWN, I.RX_CALLER, I.RX_TOUCHED)
assert (lib.DM_PIPE_LOWPAN, lib.DM_PIPE_APDU, lib.DM_PIPE_KEYS, lib.DM_PIPE_CHECKSUM) == (1, 6, I.KEYS, I.CHECKSUM)

_HOT_TAGS = (0xC4, 0x0F, 0xE0)


class Workspace:
    """Reusable buffers of the native decode (pass as ``out=``).

    A result reads its frames from the workspace it was decoded into, so
    decoding the next batch into the same workspace retires the previous
    result (its accessors then raise).  One call at a time per workspace.
    """

    def __init__(self) -> None:
        self.generation = 0
        self.cfg = ffi.new("dm_pipe_config *")
        self.bufs = ffi.new("dm_pipe_buffers *")
        self._frames = -1
        self._bytes = -1
        self._datagrams = 0
        self._program = -1
        self._touched = 0
        self._keep: list[Any] = []

    def reserve(self, n: int, total: int, lowpan: bool, entries: int, program: int) -> None:
        """Buffers for ``n`` frames of ``total`` bytes (grown, never shrunk)."""
        b = self.bufs
        if n > self._frames:
            self._frames = max(n, 2 * self._frames, 16)
            self.items = ffi.new("dm_pipe_item[]", self._frames)
            self.secure = ffi.new("dm_secure_item[]", self._frames)
            self.stage_offsets = ffi.new("uint32_t[]", self._frames + 1)
            b.items, b.secure, b.stage_offsets = self.items, self.secure, self.stage_offsets
        if total > self._bytes:
            self._bytes = max(total, 2 * self._bytes, 4096)
            self.stage = ffi.new("uint8_t[]", self._bytes)
            self.plain = ffi.new("uint8_t[]", self._bytes)
            b.stage, b.plain, b.stage_cap = self.stage, self.plain, self._bytes
        if lowpan and total + 48 * n > self._datagrams:
            self._datagrams = max(total + 48 * n, 2 * self._datagrams)
            self.datagrams = ffi.new("uint8_t[]", self._datagrams)
            b.datagrams, b.datagrams_cap = self.datagrams, self._datagrams
        if program > self._program:
            self._program = max(program, 2 * self._program, 4096)
            self.program = ffi.new("uint8_t[]", self._program)
            b.program, b.program_cap = self.program, self._program
        if entries > self._touched:
            self._touched = max(entries, 2 * self._touched)
            self.touched = ffi.new("uint32_t[]", self._touched)
            b.touched = self.touched

    def program_hint(self, n: int, total: int) -> int:
        """Program bytes for a batch: about twice the APDU bytes, plus what a
        batch that ran short asked for last time."""
        return max(3 * total + 64 * n, self._program)

    def checker(self) -> Any:
        gen = self.generation

        def check() -> None:
            if self.generation != gen:
                raise RuntimeError("this batch result was decoded into a workspace that has been reused since")

        return check


def _keys_locked(ring: Any) -> Any:
    return secure._ring_locked(ring) if ring is not None else contextlib.nullcontext()


def codecs() -> Codecs:
    """(backend name, secure module, APDU codec, program loader) that the
    orchestration settles and reads this backend's outcomes with."""
    return Codecs("native", secure, native_apdu, loader().load)


def decode(frames: FrameBuffer, job: DecodeJob, workspace: Workspace | None = None) -> Outcome:
    """One dm_pipe_decode call over the batch; the per-frame words and
    buffers (views into the workspace), for the orchestration to settle."""
    data = frames.data
    offsets = frames.offsets
    n = len(offsets) - 1
    total = offsets[-1]
    ring = job.ring
    npeers = ring.npeers if ring is not None else 0
    ws = workspace if workspace is not None else Workspace()
    if not isinstance(ws, Workspace):
        raise TypeError("out= must be a dlmsmesh.pipeline.Workspace of the native backend")
    ws.generation += 1
    ws.reserve(n, total, job.layer == I.LOWPAN_LAYER, I.KEY_SETS * npeers, ws.program_hint(n, total))

    cfg = ws.cfg
    cfg.layer = job.layer
    cfg.flags = job.flags
    links = job.links
    ll, ll_count = pack_links(links) if links is not None else (ffi.NULL, 0)
    cfg.ll, cfg.ll_count = ll, ll_count
    ctx_table = context_table(job.contexts)
    cfg.contexts = ctx_table
    if ring is not None:
        cfg.peers, cfg.npeers, cfg.default_peer = ring.array, ring.npeers, ring.default
    else:
        cfg.peers, cfg.npeers, cfg.default_peer = ffi.NULL, 0, 0
    table = job.counters
    counters = ffi.from_buffer("dm_rx_counter[]", table) if table is not None and len(table) else ffi.NULL
    cfg.counters = counters
    src = ffi.from_buffer("uint8_t[]", data) if total else ffi.new("uint8_t[1]")
    offs = ffi.from_buffer("uint32_t[]", offsets)

    with _keys_locked(ring):
        rc = lib.dm_pipe_decode(cfg, src, offs, n, ws.bufs)
    if rc < 0:
        raise ValueError(f"dm_pipe_decode refused its arguments (status {rc})")
    b = ws.bufs
    out = Outcome(
        n,
        memoryview(ffi.buffer(ws.items, 4 * I.WORDS * n)).cast("I") if n else memoryview(b"").cast("I"),
        data,
        offsets,
        ffi.buffer(ws.datagrams, ws._datagrams) if ws._datagrams else b"",
        ffi.buffer(ws.stage, ws._bytes),
        ffi.buffer(ws.plain, ws._bytes),
        ffi.buffer(ws.program, b.program_len),
        ffi.unpack(ws.touched, b.touched_count) if b.touched_count else [],
        b.deferred,
        ws.checker(),
    )
    if out.deferred:
        _note_short_programs(ws, out)
    del ll, ctx_table, counters, src, offs
    return out


def _note_short_programs(ws: Workspace, out: Outcome) -> None:
    """A hot APDU left to Python ran out of program space: the next batch
    gets twice as much."""
    flags = memoryview(out.words).cast("B").cast("I")[I.FLAGS :: I.WORDS]
    for i, f in enumerate(flags):
        if f & I.F_DEFER_APDU and not f & I.F_DEFER_SECURITY:
            p = out.plaintext(i)
            if len(p) and p[0] in _HOT_TAGS:
                ws._program = 2 * ws._program + 1
                ws.program = ffi.new("uint8_t[]", ws._program)
                ws.bufs.program, ws.bufs.program_cap = ws.program, ws._program
                return
