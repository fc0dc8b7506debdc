"""The send side of a security context: protecting APDUs (service-specific,
general-glo/ded-ciphering, general-ciphering) and general-signing."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from .. import _backend
from .._common.secure import FRAME_DED, FRAME_GENERAL_DED, FRAME_GENERAL_GLO, FRAME_GLO
from ..errors import EncodeError
from . import envelope as E
from ._keys import KeyMaterial
from .keywrap import wrap_key
from .policy import GeneralCipheringAad
from .signing import sign_raw
from .tags import PLAIN_NAMES, SC_BROADCAST, KeyInfoKind, KeySet, Protection

__all__ = ["SendSide"]

#: the default options' plan among the context's cached plans: (backend, sealer, scope, counter store)
_GLO = ("glo seal",)


class SendSide(KeyMaterial):
    """What a :class:`~dlmsmesh.security.SecurityContext` sends."""

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
        sc = int(prot) | int(self._suite) | (SC_BROADCAST if broadcast else 0)
        if general:
            framing = FRAME_GENERAL_DED if dedicated else FRAME_GENERAL_GLO
        else:
            framing = FRAME_DED if dedicated else FRAME_GLO
        return _backend.live.secure, sc, key_set, framing

    def send_setup(
        self, mod: Any, dedicated: bool, general: bool, broadcast: bool, protection: Protection | int | None
    ) -> tuple[int, KeySet, int]:
        """(security control, key set, framing) a batch of ``protect`` calls
        with these options sends with; fails now (before any counter is
        reserved) when the policy or a key refuses, ``mod``'s key included."""
        with self._lock:
            _, sc, key_set, framing = self._prepare(dedicated, general, broadcast, protection)
            self.send_key(mod, key_set)
            return sc, key_set, framing

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
        mod = _backend.live.secure
        if not (dedicated or general or broadcast) and protection is None:
            # what an association sends most: its sealer, made once (below)
            glo = self._plans.get(_GLO)
            if glo is not None and glo[0] is mod and apdu and apdu[0] in PLAIN_NAMES:
                _, seal, scope, counters = glo
                with self._lock:
                    return seal(counters.reserve(scope), apdu)  # type: ignore[no-any-return]
        apdu = bytes(apdu)
        with self._lock:
            # what the options seal with is worked out once (and again after a
            # change of keys, titles or policy): one request of an association
            # pays for a counter and the backend call only
            plan_key = (mod.__name__, dedicated, general, broadcast, protection)
            plan = self._plans.get(plan_key)
            if plan is None:
                _, sc, key_set, framing = self._prepare(dedicated, general, broadcast, protection)
                key = self.send_key(mod, key_set)
                if self._system_title is None:
                    raise EncodeError("this context has no system title of its own: it cannot send")
                scope = self.counter_scope("tx", self._system_title, key_set)
                plan = self._plans[plan_key] = (key, sc, framing, scope)
                if not (dedicated or general or broadcast) and protection is None:
                    self._plans[_GLO] = (mod, mod.sealer(key, sc, self._system_title, framing), scope, self._counters)
            key, sc, framing, scope = plan
            if not general and (not apdu or apdu[0] not in PLAIN_NAMES):
                raise EncodeError("APDU 0 has no service-specific ciphered form (use general-glo-ciphering)")
            ic = self._counters.reserve(scope)
            return mod.seal_frame(key, sc, self._system_title, ic, framing, apdu)  # type: ignore[arg-type]

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
            key = self.send_key(mod, key_set)
            if not general:
                for i, apdu in enumerate(apdus):
                    if not apdu or apdu[0] not in PLAIN_NAMES:
                        raise EncodeError(f"APDU {i} has no service-specific ciphered form (use general-glo-ciphering)")
            if not apdus:
                return []
            first = self.reserve_counters(key_set, len(apdus))
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
                key = self.send_key(mod, key_set)
                ic = self.reserve_counters(key_set)
            else:
                kek = self._secrets.get("kek")
                if kek is None:
                    raise EncodeError("wrapped-key general-ciphering needs the master key (kek)")
                content_key = secrets.token_bytes(self._suite.key_size)
                key_data = wrap_key(kek, content_key)
                key = temp = mod.new_key(content_key, self._secrets.get("ak"))
                key_id = 0  # kek-id 0: the master key
                sc &= ~SC_BROADCAST
                ic = self.reserve_counters("wrapped")
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

        The signature covers everything after the 0xDF tag up to the end of
        the content, the content's A-XDR length included (IEC 62056-5-3
        general-signing; every signature of the GB smart-metering reference
        test data verifies this way).  Gurux Java/.NET leave the length out
        and cannot verify it; we verify theirs with
        ``general_signing_range="gurux"``.  The transaction id defaults to 8
        random bytes.
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
        unsigned = E.general_signing_unsigned(header, bytes(apdu))
        return E.general_signing_frame(unsigned, sign_raw(self._signing_key, unsigned[1:]))
