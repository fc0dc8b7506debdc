"""COSEM-OPEN as the client runs it: the AARQ for an authentication and a
security setting, the AARE's checks, and HLS pass 3/4.

The settings use the words of the command line: ``auth`` none, lls,
hls-gmac, hls-sha256 (hls-ecdsa needs signing keys: ``signing_key`` and the
meter's ``peer_signing_key``); ``security`` none, auth, enc, authenc (the
policy both ways, and the ciphered application context).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from cryptography.hazmat.primitives.asymmetric import ec

from ..acse_pdu import AARE, AARQ, ApplicationContext, Mechanism
from ..security import Role, SecurityContext, new_challenge
from ..security.counters import InvocationCounterStore
from ..security.hls import ecdsa_reply, sha256_reply, verify_ecdsa_reply, verify_sha256_reply
from ..security.policy import PROTECTION_WORDS, policy_for
from ..xdlms_initiate import (
    CipheredUserInformation,
    Conformance,
    InitiateRequest,
    InitiateResponse,
    decode_user_information,
    encode_user_information,
)

__all__ = ["AUTHS", "SECURITIES", "PROPOSED_CONFORMANCE", "Credentials", "Opening", "policy_of"]

AUTHS: Mapping[str, Mechanism | None] = {
    "none": None,
    "lls": Mechanism.LOW,
    "hls-gmac": Mechanism.HIGH_GMAC,
    "hls-sha256": Mechanism.HIGH_SHA256,
    "hls-ecdsa": Mechanism.HIGH_ECDSA,
}
SECURITIES = PROTECTION_WORDS
#: what the client proposes: every service it can run
PROPOSED_CONFORMANCE = (
    Conformance.GET | Conformance.SET | Conformance.ACTION | Conformance.SELECTIVE_ACCESS
    | Conformance.MULTIPLE_REFERENCES | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
    | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE | Conformance.BLOCK_TRANSFER_WITH_ACTION
    | Conformance.GENERAL_BLOCK_TRANSFER
)  # fmt: skip


policy_of = policy_for


@dataclass(frozen=True)
class Credentials:
    """What the client proves itself with: keys (``repr`` never shows them)."""

    ek: bytes | None = None
    ak: bytes | None = None
    bk: bytes | None = None
    password: bytes | None = None
    secret: bytes | None = None
    suite: int = 0
    signing_key: ec.EllipticCurvePrivateKey | None = None
    peer_signing_key: ec.EllipticCurvePublicKey | None = None

    def __repr__(self) -> str:
        held = [n for n in ("ek", "ak", "bk", "password", "secret", "signing_key") if getattr(self, n) is not None]
        return f"Credentials(suite={self.suite}, held={'/'.join(held) or 'none'})"


class Opening:
    """One COSEM-OPEN: builds the AARQ, reads the AARE, runs pass 3/4."""

    def __init__(
        self,
        *,
        client_title: bytes,
        meter_title: bytes,
        auth: str,
        security: str,
        credentials: Credentials,
        counters: InvocationCounterStore,
        max_pdu_size: int,
        conformance: Conformance = PROPOSED_CONFORMANCE,
        dedicated: bool = False,
    ) -> None:
        if auth not in AUTHS:
            raise ValueError(f"auth is one of {', '.join(AUTHS)}, not {auth!r}")
        self.auth = auth
        self.security = security
        self.mechanism = AUTHS[auth]
        self.policy = policy_of(security)
        self.ciphered = bool(self.policy)
        self.client_title = bytes(client_title)
        self.meter_title = bytes(meter_title)
        self.credentials = credentials
        self.max_pdu_size = max_pdu_size
        self.conformance = conformance
        self.context: SecurityContext | None = None
        self.dedicated_key: bytes | None = None
        needs_keys = self.ciphered or self.mechanism is Mechanism.HIGH_GMAC
        if needs_keys:
            if credentials.ek is None:
                raise ValueError(f"auth {auth} / security {security} needs the meter's keys (ek, ak)")
            self.context = SecurityContext(
                self.client_title, peer_system_title=self.meter_title, suite=credentials.suite,
                ek=credentials.ek, ak=credentials.ak, bk=credentials.bk, policy=self.policy,
                role=Role.CLIENT, counters=counters,
            )  # fmt: skip
            if dedicated:
                self.dedicated_key = self.context.new_dedicated_key()
        if self.mechanism is Mechanism.LOW and credentials.password is None:
            raise ValueError("auth lls needs the password")
        if self.mechanism is Mechanism.HIGH_SHA256 and credentials.secret is None:
            raise ValueError("auth hls-sha256 needs the HLS secret")
        if self.mechanism is Mechanism.HIGH_ECDSA and (
            credentials.signing_key is None or credentials.peer_signing_key is None
        ):
            raise ValueError("auth hls-ecdsa needs signing_key and the meter's peer_signing_key")
        self.ctos = new_challenge(32) if self.mechanism in _HLS else None
        self.stoc: bytes | None = None

    def aarq(self) -> AARQ:
        request: Any = InitiateRequest(
            conformance=self.conformance, max_receive_pdu_size=self.max_pdu_size,
            dedicated_key=self.dedicated_key,
        )  # fmt: skip
        if self.context is not None and self.ciphered:
            request = decode_user_information(self.context.protect(encode_user_information(request)))
        fields: dict[str, Any] = {}
        if self.mechanism is not None:
            fields["sender_acse_requirements"] = "1"
            fields["mechanism"] = self.mechanism
            value = self.credentials.password if self.mechanism is Mechanism.LOW else self.ctos
            fields["calling_authentication_value"] = value
        if self.ciphered or self.mechanism in _HLS:
            fields["calling_ap_title"] = self.client_title
        context = ApplicationContext.LOGICAL_NAME_CIPHERED if self.ciphered else ApplicationContext.LOGICAL_NAME
        return AARQ(application_context=context, user_information=request, **fields)

    def response(self, aare: AARE) -> InitiateResponse:
        """The InitiateResponse of an accepted AARE (deciphered when ciphered);
        the caller checked ``aare.accepted``."""
        info: Any = aare.user_information
        if isinstance(info, CipheredUserInformation):
            if self.context is None:
                raise ValueError("a ciphered InitiateResponse and no keys")
            info = decode_user_information(self.context.unprotect(info.to_bytes()).plaintext)
        if not isinstance(info, InitiateResponse):
            raise ValueError("the AARE carries no InitiateResponse")
        if aare.responding_authentication_value is not None:
            self.stoc = bytes(aare.responding_authentication_value)
        return info

    @property
    def needs_pass3(self) -> bool:
        return self.mechanism in _HLS

    def f_stoc(self) -> bytes:
        """Pass 3: what the client proves with the meter's challenge."""
        assert self.stoc is not None and self.ctos is not None
        mechanism = self.mechanism
        if mechanism is Mechanism.HIGH_GMAC:
            assert self.context is not None
            return self.context.hls_gmac_response(self.stoc)
        if mechanism is Mechanism.HIGH_SHA256:
            assert self.credentials.secret is not None
            return sha256_reply(self.credentials.secret, self.client_title, self.meter_title, self.stoc, self.ctos)
        assert self.credentials.signing_key is not None
        return ecdsa_reply(self.credentials.signing_key, self.client_title, self.meter_title, self.stoc, self.ctos)

    def check_f_ctos(self, reply: bytes) -> None:
        """Pass 4: the meter's proof; AuthenticationError when it fails."""
        assert self.stoc is not None and self.ctos is not None
        mechanism = self.mechanism
        if mechanism is Mechanism.HIGH_GMAC:
            assert self.context is not None
            self.context.verify_hls_gmac(self.ctos, reply)
        elif mechanism is Mechanism.HIGH_SHA256:
            assert self.credentials.secret is not None
            verify_sha256_reply(
                reply, self.credentials.secret, self.meter_title, self.client_title, self.ctos, self.stoc
            )
        else:
            assert self.credentials.peer_signing_key is not None
            verify_ecdsa_reply(reply, self.credentials.peer_signing_key, self.meter_title, self.client_title,
                               self.ctos, self.stoc)  # fmt: skip


_HLS = (Mechanism.HIGH_GMAC, Mechanism.HIGH_SHA256, Mechanism.HIGH_ECDSA)
