"""The security context of one association: titles, suite, keys, policy and
invocation counters, and every way of protecting and unprotecting an APDU.

Keys are kept privately and reach the backend (``dlmsmesh._native.secure``
or ``dlmsmesh._pure.secure``, whichever is live at the call) as key objects
built once per key; they never appear in ``repr``, log records or exception
messages, and the context refuses to be pickled.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
import secrets
import threading
from collections.abc import Sequence
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from .. import _backend
from .. import _status as S
from ..errors import AuthenticationError, DecodeError, DlmsError, EncodeError, ReplayError, SecurityError
from . import envelope as E
from .batch import DEFERRED, PeerKeys
from .counters import InvocationCounterStore, MemoryCounterStore, check_window, replay_error
from .info import BatchUnprotected, SecurityInfo, Unprotected, info_from_envelope
from .keywrap import unwrap_key, wrap_key
from .policy import GeneralCipheringAad, Role, SecurityPolicy
from .signing import check_curve, sign_raw, verify_raw
from .tags import (
    CIPHERED_TAGS,
    PLAIN_NAMES,
    SC_AUTHENTICATION,
    SC_BROADCAST,
    SC_COMPRESSION,
    SC_ENCRYPTION,
    TAG_LENGTH,
    TAG_NAMES,
    FrameKind,
    KeyInfoKind,
    KeySet,
    Protection,
    SecuritySuite,
)

__all__ = ["SecurityContext", "DEFAULT_POLICY"]

log = logging.getLogger("dlmsmesh.security")

#: authenticated encryption of requests and responses
DEFAULT_POLICY = SecurityPolicy.both_ways(Protection.AUTHENTICATED_ENCRYPTION)

_KEY_NAMES = ("ek", "ak", "bk", "dk", "kek")
_SET_OF = {"ek": KeySet.UNICAST, "bk": KeySet.BROADCAST, "dk": KeySet.DEDICATED}
_NAME_OF = {KeySet.UNICAST: "ek", KeySet.BROADCAST: "bk", KeySet.DEDICATED: "dk"}
_SCOPE_NAMES = {KeySet.UNICAST: "unicast", KeySet.BROADCAST: "broadcast", KeySet.DEDICATED: "dedicated"}
_KEEP: Any = object()
_MAX_DEPTH = 4  # general-signing around ciphered content: never deeper in practice


def _title(value: Any, name: str) -> bytes:
    value = bytes(value)
    if len(value) != 8:
        raise EncodeError(f"{name} is 8 bytes, not {len(value)}")
    return value


def _fingerprint(key: bytes) -> str:
    """A public name for a key in counter scopes: a 64-bit SHA-256 prefix,
    domain-separated (it reveals nothing usable about a 128/256-bit key)."""
    return hashlib.sha256(b"dlmsmesh invocation counter scope\x00" + key).hexdigest()[:16]


class SecurityContext:
    """Keys, titles and counters of one association (or one peer).

    ``system_title`` is ours (the IV of what we send; None for a context that
    only receives), ``peer_system_title`` the peer's (the IV of frames that
    do not carry it; None until known, and then any title a frame carries is
    used).  Keys: ``ek`` global unicast encryption key, ``bk`` broadcast key,
    ``dk`` dedicated key, ``ak`` authentication key, ``kek`` master key (key
    wrap); all ``suite.key_size`` bytes.  ``policy`` says what we apply when
    sending and what we require when receiving (by ``role``).  ``counters``
    keeps invocation counters (default: in memory; use a
    :class:`~dlmsmesh.security.SqliteCounterStore` for long-lived keys).
    ``replay_window`` admits counters up to that far below the highest one
    (0: strict).  ``signing_key``/``peer_signing_key``: ECDSA keys for
    general-signing and HLS mechanism 7 (suites 1 and 2).
    """

    def __init__(
        self,
        system_title: bytes | None = None,
        *,
        peer_system_title: bytes | None = None,
        suite: int = SecuritySuite.AES_GCM_128,
        ek: bytes | None = None,
        ak: bytes | None = None,
        bk: bytes | None = None,
        dk: bytes | None = None,
        kek: bytes | None = None,
        policy: SecurityPolicy | int = DEFAULT_POLICY,
        role: Role | str = Role.CLIENT,
        counters: InvocationCounterStore | None = None,
        replay_window: int = 0,
        general_ciphering_aad: GeneralCipheringAad | str = GeneralCipheringAad.HEADER,
        signing_key: ec.EllipticCurvePrivateKey | None = None,
        peer_signing_key: ec.EllipticCurvePublicKey | None = None,
    ) -> None:
        self._lock = threading.RLock()
        self._system_title = None if system_title is None else _title(system_title, "system_title")
        self._peer_system_title = None if peer_system_title is None else _title(peer_system_title, "peer_system_title")
        try:
            self._suite = SecuritySuite(suite)
        except ValueError:
            raise EncodeError(f"security suite must be 0, 1 or 2, not {suite!r}") from None
        self._policy = SecurityPolicy(policy)
        self._role = Role(role)
        self._counters = counters if counters is not None else MemoryCounterStore()
        self._window = check_window(replay_window)
        self._gc_aad = GeneralCipheringAad(general_ciphering_aad)
        self._secrets: dict[str, bytes] = {}
        self._fingerprints: dict[str, str] = {}
        # backend module name -> {key name: backend key object}, and rings
        self._backend_keys: dict[str, dict[str, Any]] = {}
        self._rings: dict[str, Any] = {}
        self._scopes: dict[tuple[str, bytes, KeySet], str] = {}
        #: bumped whenever what a batch ring holds changes (keys, titles, policy)
        self.version = 0
        self.set_keys(ek=ek, ak=ak, bk=bk, dk=dk, kek=kek)
        for key in (signing_key, peer_signing_key):
            if key is not None:
                check_curve(key, self._suite)
        self._signing_key = signing_key
        self._peer_signing_key = peer_signing_key

    # ------------------------------------------------------------------
    # configuration
    # ------------------------------------------------------------------

    @property
    def system_title(self) -> bytes | None:
        return self._system_title

    @property
    def peer_system_title(self) -> bytes | None:
        return self._peer_system_title

    @peer_system_title.setter
    def peer_system_title(self, value: bytes | None) -> None:
        with self._lock:
            self._peer_system_title = None if value is None else _title(value, "peer_system_title")
            self._rings.clear()
            self.version += 1

    @property
    def suite(self) -> SecuritySuite:
        return self._suite

    @property
    def policy(self) -> SecurityPolicy:
        return self._policy

    @policy.setter
    def policy(self, value: SecurityPolicy | int) -> None:
        with self._lock:
            self._policy = SecurityPolicy(value)
            self._rings.clear()
            self.version += 1

    @property
    def role(self) -> Role:
        return self._role

    @property
    def counters(self) -> InvocationCounterStore:
        return self._counters

    @property
    def replay_window(self) -> int:
        return self._window

    @property
    def general_ciphering_aad(self) -> GeneralCipheringAad:
        return self._gc_aad

    def has_key(self, name: str) -> bool:
        """Whether key ``name`` (ek, ak, bk, dk, kek) is configured."""
        if name not in _KEY_NAMES:
            raise ValueError(f"key names are {_KEY_NAMES}")
        return name in self._secrets

    def set_keys(
        self,
        *,
        ek: bytes | None = _KEEP,
        ak: bytes | None = _KEEP,
        bk: bytes | None = _KEEP,
        dk: bytes | None = _KEEP,
        kek: bytes | None = _KEEP,
    ) -> None:
        """Replace keys (None removes one; omitted ones stay).  A new key
        starts its own invocation counters (spec section 11)."""
        size = self._suite.key_size
        given = {"ek": ek, "ak": ak, "bk": bk, "dk": dk, "kek": kek}
        checked: dict[str, bytes | None] = {}
        for name, value in given.items():
            if value is _KEEP:
                continue
            if value is not None:
                value = bytes(value)
                if len(value) != size:
                    raise EncodeError(f"{name} must be {size} bytes for suite {int(self._suite)}, not {len(value)}")
            checked[name] = value
        with self._lock:
            for name, value in checked.items():
                if value is None:
                    self._secrets.pop(name, None)
                    self._fingerprints.pop(name, None)
                else:
                    self._secrets[name] = value
                    self._fingerprints[name] = _fingerprint(value)
            if checked:
                self._drop_backend_keys()

    def new_dedicated_key(self) -> bytes:
        """Generate a fresh random dedicated key (to send in the
        InitiateRequest), install it and return it."""
        key = secrets.token_bytes(self._suite.key_size)
        self.set_keys(dk=key)
        return key

    def drop_dedicated_key(self) -> None:
        """Forget the dedicated key (the association ended)."""
        self.set_keys(dk=None)

    def close(self) -> None:
        """Free the backend key contexts now (they are rebuilt if used again)."""
        with self._lock:
            self._drop_backend_keys()

    def _drop_backend_keys(self) -> None:
        self.version += 1
        self._rings.clear()
        self._scopes.clear()
        for keys in self._backend_keys.values():
            for key in keys.values():
                key.close()
        self._backend_keys.clear()

    def __repr__(self) -> str:
        def hx(v: bytes | None) -> str:
            return "None" if v is None else v.hex()

        keys = ",".join(n for n in _KEY_NAMES if n in self._secrets) or "none"
        return (
            f"SecurityContext(system_title={hx(self._system_title)}, peer_system_title={hx(self._peer_system_title)}, "
            f"suite={int(self._suite)}, role={self._role.value}, policy={self._policy!r}, keys set: {keys})"
        )

    def __reduce__(self) -> Any:
        raise TypeError("a SecurityContext holds keys and is not picklable")

    # ------------------------------------------------------------------
    # backend plumbing
    # ------------------------------------------------------------------

    def _key(self, mod: Any, name: str) -> Any:
        """The live backend's key object for key ``name`` (built once)."""
        keys = self._backend_keys.setdefault(mod.__name__, {})
        key = keys.get(name)
        if key is None:
            secret = self._secrets.get(name)
            if secret is None:
                return None
            key = keys[name] = mod.new_key(secret, self._secrets.get("ak"))
        return key

    def _receive_protection(self) -> Protection:
        return self._policy.responses() if self._role is Role.CLIENT else self._policy.requests()

    def _send_protection_default(self) -> Protection:
        return self._policy.requests() if self._role is Role.CLIENT else self._policy.responses()

    def _ring(self, mod: Any) -> Any:
        ring = self._rings.get(mod.__name__)
        if ring is None:
            ring = self._rings[mod.__name__] = mod.make_ring([self.peer_keys(mod)], 0)
        return ring

    def peer_keys(self, mod: Any) -> PeerKeys:
        """This context as one sender of a batch, with ``mod``'s key objects."""
        return PeerKeys(
            title=self._peer_system_title,
            suite=int(self._suite),
            required=int(self._receive_protection()),
            header_aad=self._gc_aad is GeneralCipheringAad.HEADER,
            any_title=self._peer_system_title is None,
            unicast=self._key(mod, "ek"),
            broadcast=self._key(mod, "bk"),
            dedicated=self._key(mod, "dk"),
        )

    def _scope(self, direction: str, title: bytes, key_set: KeySet | str) -> str:
        cache_key = (direction, title, key_set)
        scope = self._scopes.get(cache_key)  # type: ignore[arg-type]
        if scope is None:
            if key_set == "wrapped":
                name, fp_name = "wrapped", "kek"
            else:
                name, fp_name = _SCOPE_NAMES[key_set], _NAME_OF[key_set]  # type: ignore[index]
            scope = f"{direction}:{title.hex()}:{name}:{self._fingerprints[fp_name]}"
            self._scopes[cache_key] = scope  # type: ignore[index]
        return scope

    def _reserve(self, key_set: KeySet | str, count: int = 1) -> int:
        if self._system_title is None:
            raise EncodeError("this context has no system title of its own: it cannot send")
        return self._counters.reserve(self._scope("tx", self._system_title, key_set), count)

    def next_invocation_counter(self, key_set: KeySet = KeySet.UNICAST) -> int:
        """The counter the next frame under ``key_set`` will carry (what a
        server exposes for resynchronisation)."""
        if self._system_title is None:
            raise EncodeError("this context has no system title of its own")
        return self._counters.peek(self._scope("tx", self._system_title, key_set))

    # ------------------------------------------------------------------
    # sending
    # ------------------------------------------------------------------

    def _protection(self, protection: Protection | int | None) -> Protection:
        default = self._send_protection_default()
        if protection is None:
            # a policy that asks nothing of this direction: protect() was still
            # called, so give the strongest protection rather than none
            protection = default or Protection.AUTHENTICATED_ENCRYPTION
        protection = Protection(protection)
        if not protection:
            raise EncodeError("Protection.NONE protects nothing: send the APDU unciphered instead")
        if default & ~protection:
            raise EncodeError(f"protection {protection!r} is weaker than the security policy requires ({default!r})")
        return protection

    def _send_key(self, mod: Any, key_set: KeySet) -> Any:
        key = self._key(mod, _NAME_OF[key_set])
        if key is None:
            raise EncodeError(f"no {_SCOPE_NAMES[key_set]} key configured")
        return key

    def _prepare(
        self, dedicated: bool, general: bool, broadcast: bool, protection: Protection | int | None
    ) -> tuple[Any, int, KeySet, int]:
        """(backend, security control, key set, framing) of what we send."""
        if dedicated and broadcast:
            raise EncodeError("a dedicated key is never a broadcast key")
        prot = self._protection(protection)
        if prot & Protection.AUTHENTICATION and "ak" not in self._secrets:
            raise EncodeError("authentication asked but no authentication key (ak) configured")
        key_set = KeySet.DEDICATED if dedicated else KeySet.BROADCAST if broadcast else KeySet.UNICAST
        mod = _backend.module("secure")
        sc = int(prot) | int(self._suite) | (SC_BROADCAST if broadcast else 0)
        if general:
            framing = mod.FRAME_GENERAL_DED if dedicated else mod.FRAME_GENERAL_GLO
        else:
            framing = mod.FRAME_DED if dedicated else mod.FRAME_GLO
        return mod, sc, key_set, framing

    def protect(
        self,
        apdu: bytes,
        *,
        dedicated: bool = False,
        general: bool = False,
        broadcast: bool = False,
        protection: Protection | int | None = None,
    ) -> bytes:
        """Protect one APDU as a service-specific glo-/ded- APDU, or (with
        ``general``) as general-glo-/general-ded-ciphering carrying our system
        title (needed for data-notification and any APDU without a
        service-specific form).  ``broadcast`` uses the broadcast key (SC
        bit 6).  ``protection`` defaults to what the policy asks."""
        return self.protect_batch(
            [apdu], dedicated=dedicated, general=general, broadcast=broadcast, protection=protection
        )[0]

    def protect_batch(
        self,
        apdus: Sequence[bytes],
        *,
        dedicated: bool = False,
        general: bool = False,
        broadcast: bool = False,
        protection: Protection | int | None = None,
    ) -> list[bytes]:
        """:meth:`protect` for many APDUs, in one backend call, with
        consecutive invocation counters reserved at once."""
        apdus = [bytes(a) for a in apdus]
        with self._lock:
            mod, sc, key_set, framing = self._prepare(dedicated, general, broadcast, protection)
            key = self._send_key(mod, key_set)
            if not general:
                for i, apdu in enumerate(apdus):
                    if not apdu or apdu[0] not in PLAIN_NAMES:
                        raise EncodeError(f"APDU {i} has no service-specific ciphered form (use general-glo-ciphering)")
            if not apdus:
                return []
            first = self._reserve(key_set, len(apdus))
            return list(mod.seal_batch(key, sc, self._system_title, first, framing, apdus))

    def protect_general_ciphering(
        self,
        apdu: bytes,
        *,
        transaction_id: bytes | None = None,
        recipient_system_title: bytes | None = None,
        date_time: bytes = b"",
        other_information: bytes = b"",
        key_info: KeyInfoKind = KeyInfoKind.NONE,
        broadcast: bool = False,
        protection: Protection | int | None = None,
    ) -> bytes:
        """Protect one APDU as general-ciphering (spec section 6.2).

        ``key_info``: NONE (the SC K bit selects unicast/broadcast key),
        IDENTIFIED (the key named by id, per ``broadcast``), or WRAPPED (a
        fresh random key for this APDU, sent wrapped under the KEK).  The
        transaction id defaults to the invocation counter as 8 bytes (as
        Gurux does); the recipient to the peer's title.  Agreed keys (ECDH)
        are not supported.
        """
        apdu = bytes(apdu)
        key_info = KeyInfoKind(key_info)
        if key_info is KeyInfoKind.AGREED:
            raise EncodeError("agreed-key (ECDH key agreement) general-ciphering is not supported")
        recipient = self._peer_system_title if recipient_system_title is None else recipient_system_title
        with self._lock:
            mod, sc, key_set, _ = self._prepare(False, True, broadcast, protection)
            temp = None
            key_id = 1 if broadcast else 0
            key_data = b""
            if key_info is not KeyInfoKind.WRAPPED:
                key = self._send_key(mod, key_set)
                ic = self._reserve(key_set)
            else:
                kek = self._secrets.get("kek")
                if kek is None:
                    raise EncodeError("wrapped-key general-ciphering needs the master key (kek)")
                content_key = secrets.token_bytes(self._suite.key_size)
                key_data = wrap_key(kek, content_key)
                key = temp = mod.new_key(content_key, self._secrets.get("ak"))
                key_id = 0  # kek-id 0: the master key
                sc &= ~SC_BROADCAST
                ic = self._reserve("wrapped")
            try:
                tid = ic.to_bytes(8, "big") if transaction_id is None else bytes(transaction_id)
                header = E.general_header(
                    tid, self._system_title or b"", bytes(recipient or b""), bytes(date_time), bytes(other_information)
                )
                aad = header if self._gc_aad is GeneralCipheringAad.HEADER else b""
                content = mod.seal(key, sc, self._system_title, ic, apdu, aad)
            finally:
                if temp is not None:
                    temp.close()
            info = E.key_info_bytes(key_info, key_id, b"", key_data)
            return E.general_ciphering_frame(header, info, content)

    def sign(
        self,
        apdu: bytes,
        *,
        transaction_id: bytes | None = None,
        recipient_system_title: bytes | None = None,
        date_time: bytes = b"",
        other_information: bytes = b"",
    ) -> bytes:
        """general-signing of ``apdu`` (plain or already ciphered) with our
        ECDSA key (suites 1/2).

        UNVERIFIED (spec section 6.3): the signed bytes are the A-XDR fields
        transaction-id .. other-information followed by the raw content, as
        Gurux signs them.  The transaction id defaults to 8 random bytes.
        """
        if self._signing_key is None:
            raise EncodeError("general-signing needs a signing key (suites 1 and 2)")
        if self._system_title is None:
            raise EncodeError("this context has no system title of its own: it cannot sign")
        recipient = self._peer_system_title if recipient_system_title is None else recipient_system_title
        tid = secrets.token_bytes(8) if transaction_id is None else bytes(transaction_id)
        header = E.general_header(
            tid, self._system_title, bytes(recipient or b""), bytes(date_time), bytes(other_information)
        )
        apdu = bytes(apdu)
        return E.general_signing_frame(header, apdu, sign_raw(self._signing_key, header + apdu))

    # ------------------------------------------------------------------
    # receiving
    # ------------------------------------------------------------------

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
        want = (
            SecurityPolicy.DIGITALLY_SIGNED_RESPONSE
            if self._role is Role.CLIENT
            else SecurityPolicy.DIGITALLY_SIGNED_REQUEST
        )
        return bool(self._policy & want)

    def _unsigned_refused(self, frame: bytes, depth: int) -> DlmsError | None:
        """The policy error for an unsigned frame when the policy asks for
        signatures (the content of a general-signing APDU is signed already)."""
        if depth == 0 and frame[:1] != bytes((E.GENERAL_SIGNING,)) and self._signature_required():
            return E.error_for(S.SEC_POLICY, 0)
        return None

    def _unprotect(self, frame: bytes, replay_check: bool, depth: int) -> Unprotected:
        refused = self._unsigned_refused(frame, depth)
        if refused is not None:
            self._log_failure(frame, refused)
            raise refused
        mod = _backend.module("secure")
        with self._lock:
            ring = self._ring(mod)
        res = mod.open_batch(ring, frame, (0, len(frame)))
        status = res.status[0]
        if status == DEFERRED:
            return self._unprotect_deferred(mod, frame, replay_check, depth)
        if status != 0:
            err = E.error_for(status, res.err_offset[0])
            self._log_failure(frame, err)
            raise err
        key_set = KeySet(res.key_set[0])
        env = mod.parse(frame)
        info = info_from_envelope(frame, env, self._peer_system_title, key_set)
        if replay_check:
            self._accept(info.system_title, key_set, env.ic, frame)  # type: ignore[arg-type]
        return Unprotected(res.plaintexts[0], info)  # type: ignore[arg-type]

    def _accept(self, title: bytes, key_set: KeySet | str, ic: int, frame: bytes) -> None:
        try:
            self._counters.accept(self._scope("rx", title, key_set), ic, self._window)
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

    def _unprotect_deferred(self, mod: Any, frame: bytes, replay_check: bool, depth: int) -> Unprotected:
        """general-signing and wrapped/agreed-key general-ciphering: the
        frames the batch entry point leaves to Python."""
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
        header = frame[env.header : env.header + env.header_len]
        content = frame[env.content : env.content + env.content_len]
        signature = frame[env.signature : env.signature + env.signature_len]
        if not verify_raw(self._peer_signing_key, header + content, signature):
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
        return unprotect_frames(_backend.module("secure"), frames, replay_check, self._batch_setup)

    def _batch_setup(self, mod: Any) -> tuple[Any, list[SecurityContext]]:
        with self._lock:
            return self._ring(mod), [self]

    # ------------------------------------------------------------------
    # HLS mechanism 5 (GMAC)
    # ------------------------------------------------------------------

    def hls_gmac_response(self, challenge: bytes) -> bytes:
        """f(challenge) = ``SC | IC | GMAC(EK, IV = our title || IC, AAD = SC || AK || challenge)``
        (17 bytes) with SC = 0x10 | suite; consumes one unicast counter."""
        challenge = bytes(challenge)
        with self._lock:
            if "ak" not in self._secrets:
                raise EncodeError("HLS-GMAC needs the authentication key (ak)")
            mod = _backend.module("secure")
            key = self._send_key(mod, KeySet.UNICAST)
            ic = self._reserve(KeySet.UNICAST)
            content = mod.seal(key, SC_AUTHENTICATION | int(self._suite), self._system_title, ic, challenge)
        return content[:5] + content[-TAG_LENGTH:]

    def verify_hls_gmac(self, challenge: bytes, response: bytes) -> None:
        """Check the peer's f(challenge) for our ``challenge``; raises
        AuthenticationError when it does not verify.  The counter inside is
        not replay-checked: the fresh challenge already makes the reply
        single-use."""
        challenge = bytes(challenge)
        response = bytes(response)
        if self._peer_system_title is None:
            raise SecurityError("HLS-GMAC verification needs the peer's system title")
        if len(response) != 5 + TAG_LENGTH or response[0] != SC_AUTHENTICATION | int(self._suite):
            raise AuthenticationError("HLS-GMAC reply is not SC(0x10|suite) | IC | 12-byte tag")
        mod = _backend.module("secure")
        with self._lock:
            key = self._key(mod, "ek")
            if key is None or "ak" not in self._secrets:
                raise SecurityError("HLS-GMAC verification needs ek and ak")
        try:
            mod.unseal(key, self._peer_system_title, response[:5] + challenge + response[5:])
        except DlmsError:
            raise AuthenticationError("HLS-GMAC reply did not verify") from None

    # ------------------------------------------------------------------
    # key transfer
    # ------------------------------------------------------------------

    def wrap(self, key: bytes) -> bytes:
        """``key`` wrapped under our master key (RFC 3394)."""
        kek = self._secrets.get("kek")
        if kek is None:
            raise EncodeError("no master key (kek) configured")
        return wrap_key(kek, key)

    def unwrap(self, wrapped: bytes) -> bytes:
        """The key inside ``wrapped`` (AuthenticationError on a failed integrity check)."""
        kek = self._secrets.get("kek")
        if kek is None:
            raise SecurityError("no master key (kek) configured")
        return unwrap_key(kek, wrapped)


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
            entry[3].append(ctx._scope("rx", title, KeySet(res.key_set[i])))
            entry[4].append(res.ic[i])
        elif status == DEFERRED:
            ctx = contexts[0] if len(contexts) == 1 else _owner(mod, frames[i], contexts)
            try:
                if ctx is None:
                    raise E.error_for(S.SEC_NO_KEY, 0)
                refused = ctx._unsigned_refused(frames[i], 0)
                if refused is not None:
                    raise refused
                plaintexts[i] = ctx._unprotect_deferred(mod, frames[i], replay_check, 0).plaintext
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


def _owner(mod: Any, frame: bytes, contexts: Sequence[SecurityContext]) -> SecurityContext | None:
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
