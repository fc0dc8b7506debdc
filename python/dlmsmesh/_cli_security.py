"""The security layer of ``dlmsmesh decode``: a ciphered APDU gives the
``security`` object (DESIGN.md section 5) and then, once it verified with the
keys of ``--ek/--ak/--bk/--dk`` (and ``--system-title`` for frames that do not
carry the sender's title), the APDU inside.  A frame that fails verification
is an error line of layer ``security`` beside the ``security`` object, and
never shows the APDU.  Captures are decoded as they are: invocation counters
are neither checked nor recorded.

Offsets of errors in the APDU inside are mapped back to the frame: GCM is a
stream cipher, so plaintext byte i sits at frame byte ``content + 5 + i``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from .errors import DecodeError, DlmsError, EncodeError
from .security import Envelope, MemoryCounterStore, SecurityContext, SecurityPolicy, parse
from .security.envelope import LAYER
from .security.info import info_from_envelope
from .security.tags import CIPHERED_TAGS, FrameKind

__all__ = ["CIPHERED_TAGS", "decode_ciphered", "open_user_information"]

Decoder = Callable[[bytes, Any, "dict[str, Any]"], None]


def _keys(opts: Any) -> dict[str, bytes]:
    return {name: getattr(opts, name) for name in ("ek", "ak", "bk", "dk") if getattr(opts, name) is not None}


def _context(opts: Any, suite: int, peer_title: bytes | None) -> SecurityContext:
    """A receive-only context for the command line's keys (cached per run)."""
    cache: dict[tuple[int, bytes | None], SecurityContext] | None = getattr(opts, "security", None)
    if cache is None:
        cache = {}
        opts.security = cache
    ctx = cache.get((suite, peer_title))
    if ctx is None:
        keys = _keys(opts)
        try:
            ctx = SecurityContext(
                peer_system_title=peer_title, suite=suite, policy=SecurityPolicy.NONE, counters=MemoryCounterStore(),
                ek=keys.get("ek"), ak=keys.get("ak"), bk=keys.get("bk"), dk=keys.get("dk"),
            )  # fmt: skip
        except EncodeError as err:
            raise DecodeError(f"the keys given do not fit suite {suite}: {err}", layer=LAYER, offset=0) from None
        cache[(suite, peer_title)] = ctx
    return ctx


def _failure(err: DlmsError, at: int = 0) -> DecodeError:
    if isinstance(err, DecodeError):
        return DecodeError(err.reason, layer=err.layer, offset=err.offset + at)
    return DecodeError(str(err), layer=LAYER, offset=getattr(err, "offset", 0) + at)


def _open(frame: bytes, env: Envelope, opts: Any, peer_title: bytes | None, out: dict[str, Any], at: int) -> bytes:
    """Verify and decrypt; set out['security']; the plaintext."""
    out["security"] = info_from_envelope(frame, env, peer_title).to_json()
    if not _keys(opts):
        raise DecodeError("ciphered APDU: give --ek/--ak (--bk, --dk) to verify and decrypt it", layer=LAYER, offset=at)
    suite = env.sc & 0x0F if env.kind is not FrameKind.GENERAL_SIGNING else 1
    if suite > 2:
        raise DecodeError(f"unknown security suite {suite}", layer=LAYER, offset=at + env.content)
    try:
        opened = _context(opts, suite, peer_title).unprotect(frame, replay_check=False)
    except DlmsError as err:
        raise _failure(err, at) from None
    out["security"] = opened.info.to_json()
    return opened.plaintext


def _plain_at(env: Envelope) -> int:
    """Where plaintext byte 0 sits in the frame (general-signing: the content)."""
    return env.content + (0 if env.kind is FrameKind.GENERAL_SIGNING else 5)


def decode_ciphered(frame: bytes, opts: Any, out: dict[str, Any], inner: Decoder) -> None:
    """Decode a ciphered APDU into out['security'], then the APDU inside with ``inner``."""
    env = parse(frame)
    plaintext = _open(frame, env, opts, opts.system_title, out, 0)
    at: int | None = _plain_at(env)
    if env.kind is FrameKind.GENERAL_SIGNING and env.content_len and frame[env.content] in CIPHERED_TAGS:
        at = None  # deciphered inside a signed APDU: no byte of the frame to point at
    try:
        inner(plaintext, opts, out)
    except DecodeError as err:
        offset = env.content if at is None else at + err.offset
        raise DecodeError(err.reason, layer=err.layer, offset=offset) from None


def open_user_information(frame: bytes, pdu: Any, opts: Any, out: dict[str, Any]) -> Any:
    """An AARQ/AARE/RLRQ/RLRE whose user-information is a ciphered Initiate
    PDU: with keys, the PDU with it deciphered (and out['security'] set);
    without keys, the PDU as it is (the header still goes to out['security'])."""
    from . import acse

    ui = getattr(pdu, "user_information", None)
    if not isinstance(ui, acse.CipheredUserInformation):
        return pdu
    raw = ui.to_bytes()
    at = frame.rfind(raw)
    env = parse(raw)
    # the sender's title travels in the ACSE header
    title = getattr(pdu, "calling_ap_title", None) or getattr(pdu, "responding_ap_title", None) or opts.system_title
    if title is not None and len(title) != 8:
        title = opts.system_title
    if not _keys(opts):
        out["security"] = info_from_envelope(raw, env, title).to_json()
        return pdu
    plaintext = _open(raw, env, opts, title, out, max(at, 0))
    try:
        decoded = acse.decode_user_information(plaintext)
    except DecodeError as err:
        raise DecodeError(err.reason, layer=err.layer, offset=max(at, 0) + _plain_at(env) + err.offset) from None
    return dataclasses.replace(pdu, user_information=decoded)
