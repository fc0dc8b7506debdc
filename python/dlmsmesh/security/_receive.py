"""The receive side of a security context: verifying and opening ciphered
APDUs of every form, one at a time or in batches (shared with
:class:`~dlmsmesh.security.Keyring`), with their invocation counters."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from typing import Any

from .. import _backend
from .. import _status as S
from .._common.secure import DEFERRED
from ..errors import AuthenticationError, DecodeError, DlmsError, ReplayError, SecurityError
from . import envelope as E
from ._keys import KeyMaterial
from .counters import InvocationCounterStore, replay_error
from .info import BatchUnprotected, SecurityInfo, Unprotected, header_info, info_from_envelope, unprotected
from .keywrap import unwrap_key
from .policy import GeneralCipheringAad, GeneralSigningRange, Role, SecurityPolicy
from .signing import verify_raw
from .tags import (
    CIPHERED_TAGS,
    GENERAL_CIPHERING,
    GENERAL_DED_CIPHERING,
    GENERAL_GLO_CIPHERING,
    GENERAL_SIGNING,
    SC_AUTHENTICATION,
    SC_COMPRESSION,
    SC_ENCRYPTION,
    TAG_NAMES,
    FrameKind,
    KeyInfoKind,
    KeySet,
)

__all__ = ["ReceiveSide", "unprotect_frames"]

log = logging.getLogger("dlmsmesh.security")

_MAX_DEPTH = 4  # general-signing around ciphered content: never deeper in practice
_KEY_SETS = tuple(KeySet(i) for i in range(len(KeySet)))
_TITLED = (GENERAL_GLO_CIPHERING, GENERAL_DED_CIPHERING)
_SIGNING_TAG = bytes((GENERAL_SIGNING,))
_SIGNED = ("signature required",)  # its key among the context's cached plans


class ReceiveSide(KeyMaterial):
    """What a :class:`~dlmsmesh.security.SecurityContext` receives."""

    def unprotect(self, frame: bytes | bytearray | memoryview, *, replay_check: bool = True) -> Unprotected:
        """Verify and decrypt one ciphered APDU of any form.

        Raises DecodeError (layer ``security``) for a malformed frame,
        AuthenticationError when a tag or signature does not verify,
        ReplayError for a counter that does not move forward (then the frame
        is not recorded), SecurityError for suite, key, control-byte or policy
        refusals; never returns plaintext of a frame that failed.  With
        ``replay_check=False`` the counters are neither checked nor recorded
        (captures, diagnostics).
        """
        return self._unprotect(bytes(frame), replay_check, 0)

    def _signature_required(self) -> bool:
        required = self._plans.get(_SIGNED)
        if required is None:
            want = (
                SecurityPolicy.DIGITALLY_SIGNED_RESPONSE
                if self._role is Role.CLIENT
                else SecurityPolicy.DIGITALLY_SIGNED_REQUEST
            )
            required = self._plans[_SIGNED] = (bool(self._policy & want),)
        return required[0]  # type: ignore[no-any-return]

    def _unsigned_refused(self, frame: bytes, depth: int) -> DlmsError | None:
        """The policy error for an unsigned frame when the policy asks for
        signatures (the content of a general-signing APDU is signed already)."""
        if depth == 0 and frame[:1] != bytes((E.GENERAL_SIGNING,)) and self._signature_required():
            return E.error_for(S.SEC_POLICY, 0)
        return None

    def _unprotect(self, frame: bytes, replay_check: bool, depth: int) -> Unprotected:
        if depth == 0 and frame[:1] != _SIGNING_TAG and self._signature_required():
            refused = E.error_for(S.SEC_POLICY, 0)
            self._log_failure(frame, refused)
            raise refused
        mod = _backend.live.secure
        ring = self._rings.get(mod.__name__)
        if ring is None:
            with self._lock:
                ring = self._ring(mod)
        res = mod.open_frame(ring, frame)
        status = res.status
        if status:
            if status == DEFERRED:
                return self.open_deferred(mod, frame, replay_check, depth)
            err = E.error_for(status, res.err_offset)
            self._log_failure(frame, err)
            raise err
        key_set = _KEY_SETS[res.key_set]
        tag = res.tag
        if tag == GENERAL_CIPHERING:
            env = mod.parse(frame)
            info = info_from_envelope(frame, env, self._peer_system_title, key_set)
            title = info.system_title
        else:
            # service-specific and general-glo/ded frames: the title is the
            # one the frame carries (general-glo/ded), else the peer's
            title = frame[2:10] if tag in _TITLED and frame[1] == 8 else self._peer_system_title
            info = header_info(tag, title, res.sc, res.ic, key_set)
        if replay_check:
            self._accept(title, key_set, res.ic, frame)  # type: ignore[arg-type]
        return unprotected(res.plaintext, info)  # type: ignore[arg-type]

    def _accept(self, title: bytes, key_set: KeySet | str, ic: int, frame: bytes) -> None:
        try:
            self._counters.accept(self.counter_scope("rx", title, key_set), ic, self._window)
        except ReplayError as err:
            self._log_failure(frame, err)
            raise

    def _log_failure(self, frame: bytes, err: DlmsError) -> None:
        if log.isEnabledFor(logging.DEBUG):
            name = TAG_NAMES.get(frame[0], f"tag {frame[0]:02x}") if frame else "empty frame"
            log.debug("rejected %s (%d bytes): %s: %s", name, len(frame), type(err).__name__, err)

    def _sender_title(self, frame: bytes, env: E.Envelope) -> bytes:
        if env.title_len == 8:
            title = frame[env.title : env.title + 8]
            if self._peer_system_title is not None and title != self._peer_system_title:
                raise E.error_for(S.SEC_NO_KEY, env.title)
            return title
        if self._peer_system_title is None:
            raise E.error_for(S.SEC_NO_TITLE, 0)
        return self._peer_system_title

    def open_deferred(self, mod: Any, frame: bytes, replay_check: bool, depth: int = 0) -> Unprotected:
        """general-signing and wrapped/agreed-key general-ciphering: the
        frames the batch entry points leave to Python (``open_batch`` status
        DEFERRED), opened one by one with ``mod``."""
        env = mod.parse(frame)
        try:
            if env.kind is FrameKind.GENERAL_SIGNING:
                return self._verify_signed(frame, env, replay_check, depth)
            return self._open_wrapped(mod, frame, env, replay_check)
        except DlmsError as err:
            if not isinstance(err, ReplayError):
                self._log_failure(frame, err)
            raise

    def _verify_signed(self, frame: bytes, env: E.Envelope, replay_check: bool, depth: int) -> Unprotected:
        title = self._sender_title(frame, env)
        if self._peer_signing_key is None:
            raise SecurityError("no public key of the peer to verify general-signing")
        content = frame[env.content : env.content + env.content_len]
        signature = frame[env.signature : env.signature + env.signature_len]
        if self._signed_range is GeneralSigningRange.GURUX:
            signed = frame[env.header : env.header + env.header_len] + content
        else:
            # the header fields, then the content with its A-XDR length
            signed = frame[env.header : env.content + env.content_len]
        if not verify_raw(self._peer_signing_key, signed, signature):
            raise AuthenticationError("general-signing signature did not verify")
        inner = None
        plaintext = content
        if content and content[0] in CIPHERED_TAGS:
            if depth >= _MAX_DEPTH:
                raise DecodeError("ciphered APDUs nested too deeply", layer=E.LAYER, offset=env.content)
            opened = self._unprotect(content, replay_check, depth + 1)
            plaintext, inner = opened.plaintext, opened.info
        info = info_from_envelope(frame, env, title, None, inner)
        return Unprotected(plaintext, info)

    def _open_wrapped(self, mod: Any, frame: bytes, env: E.Envelope, replay_check: bool) -> Unprotected:
        if env.key_info is KeyInfoKind.AGREED:
            raise SecurityError("agreed-key (ECDH key agreement) general-ciphering is not supported")
        title = self._sender_title(frame, env)
        sc = env.sc
        if sc & SC_COMPRESSION or not sc & (SC_AUTHENTICATION | SC_ENCRYPTION):
            raise E.error_for(S.SEC_CONTROL, env.content)
        if sc & 0x0F != self._suite:
            raise E.error_for(S.SEC_SUITE, env.content)
        if self._receive_protection() & ~sc & (SC_AUTHENTICATION | SC_ENCRYPTION):
            raise E.error_for(S.SEC_POLICY, env.content)
        kek = self._secrets.get("kek")
        # kek-id 0 is the master key, the only key-encryption key there is
        if kek is None or env.key_id != 0 or (sc & SC_AUTHENTICATION and "ak" not in self._secrets):
            raise E.error_for(S.SEC_NO_KEY, env.content)
        content_key = unwrap_key(kek, frame[env.key_data : env.key_data + env.key_data_len])
        if len(content_key) != self._suite.key_size:
            raise E.error_for(S.SEC_NO_KEY, env.key_data)
        key = mod.new_key(content_key, self._secrets.get("ak"))
        try:
            header = b""
            if self._gc_aad is GeneralCipheringAad.HEADER:
                header = frame[env.header : env.header + env.header_len]
            content = frame[env.content : env.content + env.content_len]
            try:
                plaintext = mod.unseal(key, title, content, header)
            except DlmsError as err:
                raise E.error_for(err.code, env.content + err.offset) from None  # type: ignore[attr-defined]
        finally:
            key.close()
        info = info_from_envelope(frame, env, title, KeySet.UNICAST)
        if replay_check:
            self._accept(title, "wrapped", env.ic, frame)
        return Unprotected(plaintext, info)

    def unprotect_batch(
        self, frames: Sequence[bytes | bytearray | memoryview], *, replay_check: bool = True
    ) -> BatchUnprotected:
        """Verify and decrypt many frames in one backend call (then one
        counter-store transaction): per-frame plaintext or error."""
        return unprotect_frames(_backend.live.secure, frames, replay_check, self.batch_ring)


# --------------------------------------------------------------------------
# batches (shared with Keyring)
# --------------------------------------------------------------------------


def unprotect_frames(
    mod: Any,
    given: Sequence[bytes | bytearray | memoryview],
    replay_check: bool,
    setup: Any,
) -> BatchUnprotected:
    """One ``open_batch`` over ``frames`` with the ring and contexts
    ``setup(mod)`` gives (ring peer i belongs to contexts[i]), then the
    deferred frames one by one, then one counter transaction per store."""
    frames = [bytes(f) for f in given]
    ring, contexts = setup(mod)
    offsets = [0, *itertools.accumulate(map(len, frames))]
    res = mod.open_batch(ring, b"".join(frames), offsets)
    n = len(frames)
    plaintexts: list[bytes | None] = list(res.plaintexts)
    errors: list[DlmsError | None] = [None] * n
    # per counter store: (store, window, frame indexes, scopes, counters) to record
    pending: dict[tuple[int, int], tuple[InvocationCounterStore, int, list[int], list[str], list[int]]] = {}
    for i in range(n):
        status = res.status[i]
        if status == 0:
            ctx = contexts[res.peer[i]]
            refused = ctx._unsigned_refused(frames[i], 0)
            if refused is not None:
                plaintexts[i], errors[i] = None, refused
                continue
            if not replay_check:
                continue
            title = ctx.peer_system_title or _frame_title(mod, frames[i])
            group = (id(ctx.counters), ctx.replay_window)
            entry = pending.get(group)
            if entry is None:
                entry = pending[group] = (ctx.counters, ctx.replay_window, [], [], [])
            entry[2].append(i)
            entry[3].append(ctx.counter_scope("rx", title, KeySet(res.key_set[i])))
            entry[4].append(res.ic[i])
        elif status == DEFERRED:
            ctx = contexts[0] if len(contexts) == 1 else _owner(mod, frames[i], contexts)
            try:
                if ctx is None:
                    raise E.error_for(S.SEC_NO_KEY, 0)
                refused = ctx._unsigned_refused(frames[i], 0)
                if refused is not None:
                    raise refused
                plaintexts[i] = ctx.open_deferred(mod, frames[i], replay_check, 0).plaintext
            except DlmsError as err:
                errors[i] = err
        else:
            errors[i] = E.error_for(status, res.err_offset[i])
    for store, window, idx, scopes, ics in pending.values():
        for i, scope, ic, accepted in zip(idx, scopes, ics, store.accept_many(scopes, ics, window)):
            if not accepted:
                plaintexts[i] = None
                last = store.last_accepted(scope)
                errors[i] = replay_error(ic, None if last is None else (last, 1))

    def describe(i: int) -> SecurityInfo | None:
        try:
            env = mod.parse(frames[i])
        except DlmsError:
            return None
        peer = res.peer[i]
        ctx = contexts[peer] if 0 <= peer < len(contexts) else None
        key_set = KeySet(res.key_set[i]) if res.status[i] in (0, S.SEC_AUTH, S.SEC_MISMATCH) else None
        return info_from_envelope(frames[i], env, ctx.peer_system_title if ctx else None, key_set)

    return BatchUnprotected(plaintexts, errors, describe)


def _frame_title(mod: Any, frame: bytes) -> bytes:
    env = mod.parse(frame)
    return frame[env.title : env.title + 8]


def _owner(mod: Any, frame: bytes, contexts: Sequence[ReceiveSide]) -> ReceiveSide | None:
    try:
        env = mod.parse(frame)
    except DlmsError:
        return None
    if env.title_len != 8:
        return None
    title = frame[env.title : env.title + 8]
    for ctx in contexts:
        if ctx.peer_system_title == title:
            return ctx
    return None
