"""Pure-Python batch frame pipeline (the twin of csrc/pipeline_decode.c and
csrc/pipeline_encode.c).

Frame by frame with the pure layers: 6LoWPAN (the mesh header, then
``_pure.iphc``), IPv6/UDP (``_pure.checksum``), ``_pure.wrapper``,
``_pure.secure`` (one ``open_batch`` over the staged ciphered APDUs, as the
C core does), then the counter table.  It writes the same per-frame words
(``dlmsmesh._common.pipeline_items``) as the C core into an
:class:`~dlmsmesh._common.pipeline_outcome.Outcome` and returns it: settling
counters and deferred frames and the result object are the orchestration's
(``dlmsmesh.pipeline``), one code path for both backends.
"""

from __future__ import annotations

import struct
from array import array
from typing import Any

from .. import _status as S
from .._common import pipeline_items as I
from .._common.fail import Fail
from .._common.link import LinkPairs
from .._common.mesh import is_mesh, read_mesh
from .._common.pipeline_outcome import Outcome, code_of
from .._common.pipeline_plan import Codecs, DecodeJob
from .._common.secure import DEFERRED
from .._common.security_tags import CIPHERED_TAGS
from ..errors import DecodeError
from ..frames import FrameBuffer
from . import apdu as pure_apdu
from . import checksum, iphc, secure, wrapper
from .pipeline_encode import encode

__all__ = ["decode", "encode", "codecs", "Workspace"]

_H = struct.Struct(">H").unpack_from
_BROADCAST = 0x50
_UNCOMPRESSED = 0x41


class Workspace:
    """The pure backend allocates per call; accepted for the same signature."""

    generation = 0


def codecs() -> Codecs:
    """(backend name, secure module, APDU codec, program loader or None)
    that the orchestration settles and reads this backend's outcomes with."""
    return Codecs("pure", secure, pure_apdu, None)


class _Fail(Exception):
    def __init__(self, code: int, layer: int, offset: int) -> None:
        super().__init__(code, layer, offset)
        self.code = code
        self.layer = layer
        self.offset = offset


def _blank(n: int, offsets: Any) -> array:
    row = [0, I.APDU_LAYER, 0, 0, 0, 0, 0, 0, 0, I.NONE, I.NONE, I.NONE, 0, I.NONE, 0, I.NONE]
    row += [0, 0, 0, 0, 0, I.NONE, 0, 0, 0, 0]
    words = array("I", row * n)
    for i in range(n):
        words[i * I.WORDS + I.BASE] = offsets[i]
    return words


class _Walk:
    """One frame's way up to its APDU (the C core's walk())."""

    def __init__(self, job: DecodeJob, words: array, datagrams: bytearray) -> None:
        self.job = job
        self.w = words
        self.datagrams = datagrams
        self.links = job.links

    def offset(self, k: int, d: int) -> int:
        return I.frame_offset(self.w, k, d)

    def lowpan(self, i: int, k: int, frame: bytes) -> bytes:
        w = self.w
        n = len(frame)
        src, dst = self.links.pair(i) if self.links is not None else (b"", b"")
        p = 0
        if n == 0:
            raise _Fail(S.TRUNCATED, I.LOWPAN_LAYER, 0)
        if is_mesh(frame[0]):
            src, dst, p = _mesh(frame)
            w[k + I.FLAGS] |= I.F_MESH
        if p < n and frame[p] == _BROADCAST:
            if n - p < 2:
                raise _Fail(S.TRUNCATED, I.LOWPAN_LAYER, p)
            p += 2
            w[k + I.FLAGS] |= I.F_BC0
        if p >= n:
            raise _Fail(S.TRUNCATED, I.LOWPAN_LAYER, p)
        b = frame[p]
        w[k + I.LOWPAN] = b
        if b & 0xF8 in (0xC0, 0xE0):
            raise _Fail(S.PIPE_FRAGMENT, I.LOWPAN_LAYER, p)
        if b == _UNCOMPRESSED:
            w[k + I.BASE] += p + 1
            w[k + I.HEADER_LENGTH] = p + 1
            return frame[p + 1 :]
        if b & 0xE0 != 0x60:
            raise _Fail(S.LOWPAN_DISPATCH, I.LOWPAN_LAYER, p)
        link = LinkPairs.single(src, dst)
        try:
            datagram, hlen, info = iphc.decompress_one(frame[p:], link, self.job.contexts, 0)
        except iphc.Fail as f:
            raise _Fail(f.code, I.LOWPAN_LAYER, p + f.offset) from None
        w[k + I.LOWPAN] |= info << 8
        w[k + I.FLAGS] |= I.F_DATAGRAM
        w[k + I.BASE] = len(self.datagrams)
        w[k + I.HEADER_LENGTH] = p + hlen
        w[k + I.UNCOMPRESSED] = 48 if info & iphc.INFO_UDP else 40
        self.datagrams += datagram
        return datagram

    def ipv6(self, k: int, base: bytes) -> None:
        n = len(base)
        if n < 40:
            raise _Fail(S.TRUNCATED, I.IPV6_LAYER, self.offset(k, 0))
        if base[0] >> 4 != 6:
            raise _Fail(S.IPV6_VERSION, I.IPV6_LAYER, self.offset(k, 0))
        if _H(base, 4)[0] != n - 40:
            raise _Fail(S.IPV6_LENGTH, I.IPV6_LAYER, self.offset(k, 4))
        if base[6] != 17:
            raise _Fail(S.PIPE_NOT_UDP, I.IPV6_LAYER, self.offset(k, 6))
        self.w[k + I.UDP] = 40

    def udp(self, k: int, base: bytes, addresses: bool) -> None:
        u = self.w[k + I.UDP]
        seg = base[u:]
        n = len(seg)
        if n < 8:
            raise _Fail(S.TRUNCATED, I.UDP_LAYER, self.offset(k, u))
        if _H(seg, 4)[0] != n:
            raise _Fail(S.UDP_LENGTH, I.UDP_LAYER, self.offset(k, u + 4))
        if addresses:
            carried = _H(seg, 6)[0]
            self.w[k + I.FLAGS] |= I.F_CHECKSUM_CHECKED
            if carried != 0 and carried == checksum.udp_checksum(base[8:24], base[24:40], seg):
                self.w[k + I.FLAGS] |= I.F_CHECKSUM_OK
            elif self.job.flags & I.CHECKSUM:
                raise _Fail(S.PIPE_CHECKSUM, I.UDP_LAYER, self.offset(k, u + 6))
        self.w[k + I.WRAPPER] = u + 8

    def wrapper(self, k: int, base: bytes) -> None:
        at = self.w[k + I.WRAPPER]
        try:
            wrapper.decode(base[at:])
        except DecodeError as e:
            raise _Fail(code_of(e), I.WRAPPER_LAYER, self.offset(k, at + e.offset)) from None
        self.w[k + I.APDU] = at + 8

    def walk(self, i: int, k: int, frame: bytes) -> bytes:
        """The frame's base; the APDU offsets are in the words."""
        layer = self.job.layer
        base = frame
        self.w[k + I.BASE_LEN] = len(frame)
        if layer == I.LOWPAN_LAYER:
            base = self.lowpan(i, k, frame)
            self.w[k + I.BASE_LEN] = len(base)
        if layer <= I.IPV6_LAYER:
            self.ipv6(k, base)
        if layer <= I.UDP_LAYER:
            if layer == I.UDP_LAYER:
                self.w[k + I.UDP] = 0
            self.udp(k, base, layer != I.UDP_LAYER)
        if layer <= I.WRAPPER_LAYER:
            if layer == I.WRAPPER_LAYER:
                self.w[k + I.WRAPPER] = 0
            self.wrapper(k, base)
        else:
            self.w[k + I.APDU] = 0
        self.w[k + I.APDU_LEN] = len(base) - self.w[k + I.APDU]
        return base


def _mesh(frame: bytes) -> tuple[bytes, bytes, int]:
    """(originator, final destination, offset after) of the mesh header at
    the start of ``frame``."""
    try:
        _, originator, final_destination, end = read_mesh(frame)
    except Fail as f:
        raise _Fail(f.code, I.LOWPAN_LAYER, f.offset) from None
    return originator, final_destination, end


def decode(frames: FrameBuffer, job: DecodeJob, workspace: Any = None) -> Outcome:
    """Walk, open and counter-check a batch frame by frame; the per-frame
    words and buffers, for the orchestration to settle."""
    data = bytes(frames.data)
    offsets = frames.offsets
    n = len(offsets) - 1
    words = _blank(n, offsets)
    datagrams = bytearray()
    stage = bytearray()
    stage_offsets = [0] * (n + 1)
    walker = _Walk(job, words, datagrams)
    keys = job.flags & I.KEYS
    staged = False
    for i in range(n):
        k = i * I.WORDS
        stage_offsets[i] = len(stage)
        try:
            base = walker.walk(i, k, data[offsets[i] : offsets[i + 1]])
            apdu = base[words[k + I.APDU] :]
            if apdu and apdu[0] in CIPHERED_TAGS:
                if not keys:
                    raise _Fail(S.PIPE_NO_KEYS, I.SECURITY_LAYER, walker.offset(k, words[k + I.APDU]))
                words[k + I.FLAGS] |= I.F_CIPHERED
                words[k + I.PLAIN] = len(stage)
                stage += apdu
                staged = True
            elif keys and not job.flags & I.ALLOW_PLAIN:
                raise _Fail(S.PIPE_PLAIN, I.SECURITY_LAYER, walker.offset(k, words[k + I.APDU]))
            else:
                words[k + I.PLAIN] = words[k + I.APDU]
                words[k + I.PLAIN_LEN] = len(apdu)
        except _Fail as f:
            words[k + I.STATUS] = f.code & 0xFFFFFFFF
            words[k + I.LAYER] = f.layer
            words[k + I.ERR_OFFSET] = f.offset
    stage_offsets[n] = len(stage)

    plain = bytearray(len(stage))
    out = Outcome(n, words, data, offsets, datagrams, stage, plain, b"", [], 0)
    table = job.counters
    opened = secure.open_batch(job.ring, bytes(stage), stage_offsets) if staged else None
    for i in range(n):
        k = i * I.WORDS
        if words[k + I.STATUS]:
            continue
        if words[k + I.FLAGS] & I.F_CIPHERED:
            _security(out, i, k, opened, table)
        if not words[k + I.STATUS] and not words[k + I.FLAGS] & I.F_DEFER_SECURITY:
            words[k + I.FLAGS] |= I.F_DEFER_APDU
        if words[k + I.FLAGS] & I.F_DEFERRED:
            out.deferred += 1
    return out


def _security(out: Outcome, i: int, k: int, opened: Any, table: Any) -> None:
    """The security batch's outcome for frame i, then its counter (the C
    core's check_counter)."""
    w = out.words
    peer = opened.peer[i]
    w[k + I.PEER] = I.NONE if peer < 0 else peer
    w[k + I.TAG] = opened.tag[i]
    w[k + I.SC] = opened.sc[i]
    w[k + I.IC] = opened.ic[i]
    w[k + I.KEY_SET] = opened.key_set[i]
    status = opened.status[i]
    if status == DEFERRED:
        w[k + I.FLAGS] |= I.F_DEFER_SECURITY
        return
    if status:
        w[k + I.STATUS] = status & 0xFFFFFFFF
        w[k + I.LAYER] = I.SECURITY_LAYER
        w[k + I.ERR_OFFSET] = I.frame_offset(w, k, w[k + I.APDU] + opened.err_offset[i])
        return
    plaintext = opened.plaintexts[i]
    start = w[k + I.PLAIN]
    out.plain[start : start + len(plaintext)] = plaintext
    w[k + I.PLAIN_LEN] = len(plaintext)
    if table is None:
        return
    e = peer * I.KEY_SETS + opened.key_set[i]
    t = table
    c = I.RX_WORDS * e
    flags = t[c + 1]
    ic = opened.ic[i]
    if flags & I.RX_CALLER:
        w[k + I.FLAGS] |= I.F_DEFER_REPLAY
        return
    if flags & I.RX_KNOWN and ic <= t[c]:
        w[k + I.REPLAY_LAST] = t[c]
        out.fail(i, S.PIPE_REPLAY, I.SECURITY_LAYER, I.frame_offset(w, k, w[k + I.APDU]))
        return
    if not flags & I.RX_TOUCHED:
        t[c + 2] = t[c]
        t[c + 3] = flags
        t[c + 1] = flags | I.RX_TOUCHED
        out.touched.append(e)
    t[c] = ic
    t[c + 1] |= I.RX_KNOWN
