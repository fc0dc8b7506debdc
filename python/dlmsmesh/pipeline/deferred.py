"""The frames a backend leaves to Python: ciphered APDUs the batch entry
point does not open (general-signing, wrapped or agreed keys: the security
context's single-frame path opens them) and APDUs off the C hot path (the
APDU codec, or the ACSE codec for AARQ/AARE/RLRQ/RLRE, decodes them).  Done
eagerly, so every frame's status is known when the batch returns; what they
build is kept for the result's accessors."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from .. import _status as S
from .._common import pipeline_items as I
from .._common.pipeline_outcome import Outcome, code_of
from ..acse_pdu import ACSE_TAGS
from ..errors import DecodeError, DlmsError, ReplayError
from ..security.envelope import error_for
from ..security.tags import FrameKind

if TYPE_CHECKING:
    from ..security._batch_access import BatchContext

__all__ = ["settle_deferred", "code_of", "relocated", "ACSE_TAGS", "plain_at"]

_IN_DATA = "in Data: "


def relocated(err: DlmsError, offset: int) -> DlmsError:
    """``err`` with its byte offset moved to ``offset`` (the input frame's;
    a replay has no byte to point at)."""
    if type(err) is DecodeError:
        return DecodeError(err.reason, layer=err.layer, offset=offset)
    if not isinstance(err, ReplayError):
        err.offset = offset  # type: ignore[attr-defined]
    return err


def plain_at(secure: Any, ciphered: bytes) -> int:
    """Where plaintext byte 0 sits in a ciphered APDU (GCM is a stream
    cipher; general-signing carries its APDU as it is)."""
    env = secure.parse(ciphered)
    content: int = env.content
    return content + (0 if env.kind is FrameKind.GENERAL_SIGNING else 5)


def settle_deferred(out: Outcome, contexts: Sequence[BatchContext], secure: Any, apdu_codec: Any, replay: bool) -> None:
    """Open and decode every deferred frame, in frame order."""
    flags = memoryview(out.words).cast("B").cast("I")[I.FLAGS :: I.WORDS]
    todo = [i for i, f in enumerate(flags) if f & (I.F_DEFER_SECURITY | I.F_DEFER_APDU)]
    for i in todo:
        if out.word(i, I.FLAGS) & I.F_DEFER_SECURITY:
            _open(out, i, contexts, secure, replay)
        if out.status(i) == 0 and out.word(i, I.FLAGS) & I.F_DEFER_APDU:
            _decode(out, i, secure, apdu_codec)


def _owner(secure: Any, apdu: bytes, contexts: Sequence[BatchContext]) -> BatchContext | None:
    if len(contexts) == 1:
        return contexts[0]
    try:
        env = secure.parse(apdu)
    except DlmsError:
        return None
    if env.title_len != 8:
        return None
    title = apdu[env.title : env.title + 8]
    for ctx in contexts:
        if ctx.peer_system_title == title:
            return ctx
    return None


def _open(out: Outcome, i: int, contexts: Sequence[BatchContext], secure: Any, replay: bool) -> None:
    k = i * I.WORDS
    w = out.words
    w[k + I.FLAGS] &= ~I.F_DEFER_SECURITY & 0xFFFFFFFF
    apdu = out.apdu_bytes(i)
    at = w[k + I.APDU]
    ctx = _owner(secure, apdu, contexts)
    if ctx is None:
        offset = out.frame_offset(i, at)
        out.fail(i, S.SEC_NO_KEY, I.SECURITY_LAYER, offset)
        out.errors[i] = error_for(S.SEC_NO_KEY, offset)
        return
    try:
        plaintext = ctx.open_deferred(secure, apdu, replay).plaintext
    except DlmsError as err:
        offset = out.frame_offset(i, at + getattr(err, "offset", 0))
        out.fail(i, code_of(err), I.SECURITY_LAYER, offset)
        out.errors[i] = relocated(err, offset)
        return
    start = w[k + I.PLAIN]
    out.plain[start : start + len(plaintext)] = plaintext
    w[k + I.PLAIN_LEN] = len(plaintext)
    w[k + I.FLAGS] |= I.F_DEFER_APDU


def _decode(out: Outcome, i: int, secure: Any, apdu_codec: Any) -> None:
    k = i * I.WORDS
    w = out.words
    w[k + I.FLAGS] &= ~I.F_DEFER_APDU & 0xFFFFFFFF
    plaintext = bytes(out.plaintext(i))
    try:
        if plaintext and plaintext[0] in ACSE_TAGS:
            from .. import acse

            out.objects[i] = acse.decode(plaintext)
        else:
            out.objects[i] = apdu_codec.decode(plaintext)
    except DlmsError as err:
        at = w[k + I.APDU]
        if w[k + I.FLAGS] & I.F_CIPHERED:
            at += plain_at(secure, out.apdu_bytes(i))
        offset = out.frame_offset(i, at + getattr(err, "offset", 0))
        out.fail(i, code_of(err), I.APDU_LAYER, offset)
        if isinstance(err, DecodeError) and err.reason.startswith(_IN_DATA):
            w[k + I.FLAGS] |= I.F_IN_DATA
        out.errors[i] = relocated(err, offset)
