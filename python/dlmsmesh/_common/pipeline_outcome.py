"""What one backend decode call leaves behind: the per-frame words
(:mod:`~dlmsmesh._common.pipeline_items`) and the buffers they point into.
Both backends fill an :class:`Outcome` the same way and return it; the
orchestration above them (``dlmsmesh.pipeline``: counters, deferred
frames, the result object) works on it without knowing which backend ran."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .. import _status as S
from ..errors import DecodeError, DlmsError, ReplayError
from . import pipeline_items as I

__all__ = ["Outcome", "code_of"]

_SIGN = 1 << 31
_WRAP = 1 << 32
_IN_DATA = "in Data: "
_CODES = {message: code for code, message in S.MESSAGES.items()}


def code_of(err: DlmsError) -> int:
    """The status code an exception stands for (PIPE_OTHER when none does)."""
    code = getattr(err, "code", None)
    if isinstance(code, int):
        return code
    if isinstance(err, ReplayError):
        return S.PIPE_REPLAY
    if isinstance(err, DecodeError):
        reason = err.reason[len(_IN_DATA) :] if err.reason.startswith(_IN_DATA) else err.reason
        return _CODES.get(reason, S.PIPE_OTHER)
    return S.PIPE_OTHER


@dataclass(eq=False)
class Outcome:
    """``words``: n x 26 writable 32-bit words (``dm_pipe_item``);
    ``data``/``offsets``: the input frames; ``datagrams``: decompressed
    datagrams (bases with F_DATAGRAM); ``stage``: the ciphered APDUs as
    staged; ``plain``: their plaintexts at the same offsets (writable, so a
    frame rejected later can be wiped); ``program``: APDU loader programs;
    ``touched``: counter entries the backend changed; ``deferred``: frames
    with a DEFER flag.  ``check``: raises once the backend's buffers were
    reused (None: they never are).  ``objects``/``errors``: APDUs built and
    exceptions raised while settling deferred frames."""

    n: int
    words: Any
    data: bytes
    offsets: Any
    datagrams: Any
    stage: Any
    plain: Any
    program: Any
    touched: list[int]
    deferred: int
    check: Any = None
    objects: dict[int, Any] = field(default_factory=dict)
    errors: dict[int, DlmsError] = field(default_factory=dict)

    def word(self, i: int, f: int) -> int:
        return self.words[i * I.WORDS + f]  # type: ignore[no-any-return]

    def status(self, i: int) -> int:
        s: int = self.words[i * I.WORDS]
        return s - _WRAP if s >= _SIGN else s

    def fail(self, i: int, code: int, layer: int, offset: int) -> None:
        k = i * I.WORDS
        w = self.words
        w[k + I.STATUS] = code & 0xFFFFFFFF
        w[k + I.LAYER] = layer
        w[k + I.ERR_OFFSET] = offset
        w[k + I.FLAGS] &= ~I.F_DEFERRED & 0xFFFFFFFF
        self.wipe(i)

    def wipe(self, i: int) -> None:
        """Forget frame i's plaintext and anything built from it."""
        k = i * I.WORDS
        w = self.words
        if w[k + I.FLAGS] & I.F_CIPHERED and w[k + I.PLAIN_LEN]:
            start = w[k + I.PLAIN]
            end = start + w[k + I.PLAIN_LEN]
            self.plain[start:end] = bytes(end - start)
        if w[k + I.FLAGS] & I.F_CIPHERED:
            w[k + I.PLAIN_LEN] = 0
        w[k + I.PROGRAM_LEN] = 0
        w[k + I.SCALAR] = 0
        self.objects.pop(i, None)

    def base(self, i: int) -> Any:
        """The buffer frame i's base offsets refer to."""
        return self.datagrams if self.word(i, I.FLAGS) & I.F_DATAGRAM else self.data

    def apdu_bytes(self, i: int) -> bytes:
        """The APDU as frame i carries it (ciphered or not; empty when the
        frame failed below the APDU)."""
        k = i * I.WORDS
        w = self.words
        if w[k + I.APDU] == I.NONE:
            return b""
        start = w[k + I.BASE] + w[k + I.APDU]
        return bytes(self.base(i)[start : start + w[k + I.APDU_LEN]])

    def plaintext(self, i: int) -> memoryview:
        """Frame i's plaintext APDU (a view; empty when there is none)."""
        k = i * I.WORDS
        w = self.words
        n = w[k + I.PLAIN_LEN]
        if w[k + I.FLAGS] & I.F_CIPHERED:
            start = w[k + I.PLAIN]
            return memoryview(self.plain)[start : start + n]
        start = w[k + I.BASE] + w[k + I.PLAIN]
        return memoryview(self.base(i))[start : start + n]

    def frame_offset(self, i: int, d: int) -> int:
        """The input-frame offset of byte ``d`` of frame i's base."""
        return I.frame_offset(self.words, i * I.WORDS, d)
