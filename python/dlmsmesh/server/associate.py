"""Opening and releasing associations: AARQ -> AARE, RLRQ -> RLRE.

The checks, in order, with the AARE each refusal gives (result
rejected-permanent unless said):

1. the client SAP has an Association LN at the server SAP: else
   diagnostic no-reason-given;
2. the application context is the association's (logical name; ciphered or
   not): else application-context-name-not-supported;
3. the mechanism is the association's: none asked where one is configured
   gives authentication-mechanism-name-required, another one
   authentication-mechanism-name-not-recognized; so does one the server does
   not serve (HLS 2 to 4), and HLS-ECDSA without a signing key of the
   meter's suite (suite 0 signs nothing; see below);
4. a ciphered context, or HLS-GMAC, -SHA256 or -ECDSA, needs the client's
   8-octet system title (calling-AP-title), and HLS-ECDSA a public key for
   it: else calling-AP-title-not-recognized; HLS needs a challenge (CtoS) of
   8 to 64 octets and LLS the password: else authentication-failure;
5. the xDLMS InitiateRequest: present (deciphered when ciphered; a ciphered
   context whose policy protects requests refuses a plain one), DLMS
   version 6, a common conformance bit, max-receive-pdu-size at least 64:
   else user diagnostic no-reason-given with a confirmed-service-error
   initiate (dlms-version-too-low, incompatible-conformance,
   pdu-size-too-short) as user-information.

An accepted AARE carries the InitiateResponse (the negotiated conformance,
the server's max-receive-pdu-size, vaa-name 0x0007), ciphered with the
meter's keys when the request's was; with HLS also diagnostic
authentication-required, the server's challenge (StoC) and the meter's
system title, and the association is usable only for pass 3 (ACTION
reply_to_HLS_authentication on 0.0.40.0.0.255) until that succeeds.  Pass 3
is tried once per AARQ: after a wrong f(StoC) (read-write-denied) every
request, pass 3 included, is refused until the client releases and
associates again (a retry would let a client guess an HLS-SHA256 secret
online without ever re-associating).

HLS-ECDSA (mechanism 7, suites 1 and 2: P-256/SHA-256, P-384/SHA-384) signs
with the meter's key: ``MeterKeys.signing_key`` when given, else the
digital-signature key pair of the Security setup the association references
(generate_key_pair 0).  The client's f(StoC) is checked with
``MeterKeys.client_signing_keys[client title]`` when given, else with the
certificate in that Security setup of entity client, type
digital-signature and subject ``CN=<client system title in hex>`` (trusted
as imported: its validity dates and issuer are not checked here).  Both are
looked up again at pass 3, so a key pair generated or a certificate removed
in between takes effect; a signature that does not verify gets
read-write-denied, as with HLS-GMAC.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from .. import acse as _acse
from .. import stack
from ..acse_pdu import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    AcseServiceUserDiagnostic,
    ApplicationContext,
    AssociationResult,
    Mechanism,
    ReleaseResponseReason,
)
from ..apdu_model import ConfirmedServiceErrorChoice, ServiceErrorChoice
from ..cosem import AssociationLN, AssociationStatus
from ..errors import AuthenticationError, DlmsError, EncodeError
from ..security import SecurityContext, SecurityPolicy
from ..security.hls import (
    MECHANISM_ECDSA,
    MECHANISM_GMAC,
    MECHANISM_LLS,
    MECHANISM_SHA256,
    ecdsa_reply,
    new_challenge,
    sha256_reply,
    verify_ecdsa_reply,
    verify_sha256_reply,
)
from ..transport import Address
from ..xdlms_initiate import (
    CipheredUserInformation,
    ConfirmedServiceError,
    Conformance,
    InitiateRequest,
    InitiateResponse,
    decode_user_information,
    encode_user_information,
)
from .meter import Meter
from .session import Session

__all__ = ["Refusal", "open_association", "release", "hls_pass3", "DLMS_VERSION", "MIN_PDU_SIZE"]

log = logging.getLogger(__name__)

DLMS_VERSION = 6
#: the smallest max-receive-pdu-size a client may announce (IEC 62056-5-3)
#: the smallest max-receive-pdu-size served: a ciphered datablock spends 34
#: octets on headers, so a smaller PDU could carry almost nothing (Gurux's
#: server refuses below 64 as well)
MIN_PDU_SIZE = 64
_USER = AcseServiceUserDiagnostic


class Refusal(Exception):
    """An AARQ the server answers with a rejecting AARE."""

    def __init__(self, diagnostic: AcseServiceUserDiagnostic, initiate_error: int | None = None) -> None:
        super().__init__(diagnostic.name)
        self.diagnostic = diagnostic
        self.initiate_error = initiate_error


def _reject(refusal: Refusal, context: Any) -> AARE:
    info = None
    if refusal.initiate_error is not None:
        info = ConfirmedServiceError(
            service=ConfirmedServiceErrorChoice.INITIATE_ERROR,
            error=ServiceErrorChoice.INITIATE,
            value=refusal.initiate_error,
        )
    return AARE(
        application_context=context,
        result=AssociationResult.REJECTED_PERMANENT,
        diagnostic=refusal.diagnostic,
        user_information=info,
    )


def _mechanism_of(aarq: AARQ) -> int:
    mech = aarq.mechanism
    if mech is None:
        return 0
    if isinstance(mech, Mechanism):
        return int(mech)
    return -1  # an OID outside 2.16.756.5.8.2


def _last_arc(name: Any) -> int:
    """The last arc of an OID attribute (a structure of arcs, or the BER body)."""
    return int(name[-1])


def _server_conformance(association: AssociationLN) -> Conformance:
    return Conformance.from_octets(association.xdlms_context_info[0].to_bytes())


def open_association(
    *,
    meter: Meter,
    meter_index: int,
    client_sap: int,
    server_sap: int,
    peer: Address,
    pdu: AARQ,
    frame: bytes,
    max_pdu_size: int,
) -> tuple[AARE, Session | None]:
    """The AARE for ``pdu`` (``frame``: its bytes, to open a ciphered
    InitiateRequest) and, when accepted, the new session."""
    context = pdu.application_context
    try:
        association = meter.association(client_sap, server_sap)
        if association is None:
            raise Refusal(_USER.NO_REASON_GIVEN)
        context_id = _last_arc(association.application_context_name)
        if not isinstance(context, ApplicationContext) or int(context) != context_id:
            raise Refusal(_USER.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        ciphered_context = context.ciphered
        want = _last_arc(association.authentication_mechanism_name)
        got = _mechanism_of(pdu)
        if got != want:
            raise Refusal(
                _USER.AUTHENTICATION_MECHANISM_NAME_REQUIRED
                if got == 0
                else _USER.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED
            )
        if want >= 2 and want not in (MECHANISM_GMAC, MECHANISM_SHA256, MECHANISM_ECDSA):
            raise Refusal(_USER.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED)
        if want == MECHANISM_ECDSA and meter.signing_key(association) is None:
            # suite 0 signs nothing; suites 1/2 need the meter's key on their curve
            raise Refusal(_USER.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED)
        title = pdu.calling_ap_title
        needs_title = ciphered_context or want in (MECHANISM_GMAC, MECHANISM_SHA256, MECHANISM_ECDSA)
        if needs_title and (title is None or len(title) != 8):
            raise Refusal(_USER.CALLING_AP_TITLE_NOT_RECOGNIZED)
        if want == MECHANISM_ECDSA and (title is None or meter.client_signing_key(association, title) is None):
            raise Refusal(_USER.CALLING_AP_TITLE_NOT_RECOGNIZED)
        if (ciphered_context or want == MECHANISM_GMAC) and not meter.keys:
            raise Refusal(_USER.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
        value = pdu.calling_authentication_value
        if want == MECHANISM_LLS:
            if value is None or not association.secret_matches(value):
                raise Refusal(_USER.AUTHENTICATION_FAILURE)
        elif want >= 2 and (value is None or not 8 <= len(value) <= 64):
            raise Refusal(_USER.AUTHENTICATION_FAILURE)
        policy = meter.policy(association) if ciphered_context else SecurityPolicy.NONE
        ctx: SecurityContext | None = None
        request = pdu.user_information
        if ciphered_context or want == MECHANISM_GMAC:
            ctx = meter.context(title, policy)
        ciphered_request = isinstance(request, CipheredUserInformation)
        if ciphered_request:
            if ctx is None:
                raise Refusal(_USER.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED)
            try:
                opened = stack.receive(frame, "apdu", security=ctx)
            except DlmsError:
                raise Refusal(_USER.NO_REASON_GIVEN) from None
            assert isinstance(opened.acse, AARQ)
            request = opened.acse.user_information
            if opened.security is not None:
                meter.received(opened.security.invocation_counter)
            if isinstance(request, InitiateRequest) and request.dedicated_key is not None and ctx is not None:
                try:
                    ctx.set_keys(dk=request.dedicated_key)
                except EncodeError:
                    raise Refusal(_USER.NO_REASON_GIVEN) from None
        elif ciphered_context and policy.requests():
            raise Refusal(_USER.NO_REASON_GIVEN)
        if not isinstance(request, InitiateRequest):
            raise Refusal(_USER.NO_REASON_GIVEN)
        if request.dlms_version < DLMS_VERSION:
            raise Refusal(_USER.NO_REASON_GIVEN, 1)  # dlms-version-too-low
        conformance = request.conformance & _server_conformance(association)
        if not conformance:
            raise Refusal(_USER.NO_REASON_GIVEN, 2)  # incompatible-conformance
        if request.max_receive_pdu_size and request.max_receive_pdu_size < MIN_PDU_SIZE:
            raise Refusal(_USER.NO_REASON_GIVEN, 3)  # pdu-size-too-short
    except Refusal as refusal:
        return _reject(refusal, context), None

    hls = want >= 2
    session = Session(
        meter=meter,
        meter_index=meter_index,
        association=association,
        client_sap=client_sap,
        server_sap=server_sap,
        peer=peer,
        pre_established=False,
        policy=policy,
        conformance=Conformance(conformance),
        client_max_pdu=request.max_receive_pdu_size,
        mechanism=want,
        authenticated=not hls,
        client_title=title,
        context=ctx,
        ciphered_context=ciphered_context,
        keys_version=meter.keys_version,
    )
    response = InitiateResponse(
        conformance=Conformance(conformance), max_receive_pdu_size=max_pdu_size, dlms_version=DLMS_VERSION
    )
    info: Any = response
    if ciphered_request and ctx is not None:
        sealed = ctx.protect(encode_user_information(response))
        info = decode_user_information(sealed)
    aare = AARE(
        application_context=context,
        result=AssociationResult.ACCEPTED,
        diagnostic=_USER.AUTHENTICATION_REQUIRED if hls else _USER.NULL,
        user_information=info,
        responding_ap_title=meter.system_title if (ciphered_context or hls) else None,
        mechanism=Mechanism(want) if hls else None,
        responder_acse_requirements="1" if hls else None,
    )
    if hls:
        session.ctos = bytes(pdu.calling_authentication_value or b"")
        session.stoc = new_challenge(16)
        aare = dataclasses.replace(aare, responding_authentication_value=session.stoc)
        association.status = AssociationStatus.ASSOCIATION_PENDING
    else:
        association.status = AssociationStatus.ASSOCIATED
    return aare, session


def hls_pass3(session: Session, reply: bytes) -> bytes:
    """Pass 3/4 of HLS for ``session``: check the client's f(StoC), give f(CtoS)
    (the server runs Association LN method 1 itself: several clients may be
    half-way through HLS on one Association LN, each with its own challenge).
    Raises AuthenticationError when f(StoC) does not verify."""
    if session.stoc is None or session.ctos is None:
        raise AuthenticationError("no HLS challenge is pending")
    meter, title = session.meter, session.client_title
    assert title is not None
    stoc, session.stoc = session.stoc, None  # one attempt per AARQ: a failed one is not retried
    if session.mechanism == MECHANISM_GMAC:
        ctx = session.context
        assert ctx is not None
        ctx.verify_hls_gmac(stoc, reply)
        answer = ctx.hls_gmac_response(session.ctos)
    elif session.mechanism == MECHANISM_SHA256:
        secret = session.association._secret
        verify_sha256_reply(reply, secret, title, meter.system_title, stoc, session.ctos)
        answer = sha256_reply(secret, meter.system_title, title, session.ctos, stoc)
    elif session.mechanism == MECHANISM_ECDSA:
        # looked up again: generate_key_pair or a certificate removed since the
        # AARQ takes effect now
        own = meter.signing_key(session.association)
        peer = meter.client_signing_key(session.association, title)
        if own is None or peer is None:
            raise AuthenticationError("the HLS-ECDSA keys of this association are gone")
        verify_ecdsa_reply(reply, peer, title, meter.system_title, stoc, session.ctos)
        answer = ecdsa_reply(own, meter.system_title, title, session.ctos, stoc)
    else:
        raise AuthenticationError(f"mechanism {session.mechanism} is not served")
    session.authenticated = True
    session.association.status = AssociationStatus.ASSOCIATED
    return answer


def release(session: Session | None, pdu: RLRQ, frame: bytes) -> RLRE:
    """The RLRE for ``pdu`` (the session, when there was one, ends)."""
    info: Any = None
    request = pdu.user_information
    if session is not None and isinstance(request, CipheredUserInformation) and session.context is not None:
        try:
            opened = stack.receive(frame, "apdu", security=session.context)
        except DlmsError:
            opened = None
        if (
            opened is not None
            and isinstance(opened.acse, RLRQ)
            and isinstance(opened.acse.user_information, InitiateRequest)
        ):
            response = InitiateResponse(
                conformance=session.conformance,
                max_receive_pdu_size=session.client_max_pdu or 0xFFFF,
                dlms_version=DLMS_VERSION,
            )
            info = decode_user_information(session.context.protect(encode_user_information(response)))
    elif session is not None and isinstance(request, InitiateRequest):
        info = InitiateResponse(conformance=session.conformance, max_receive_pdu_size=0xFFFF, dlms_version=DLMS_VERSION)
    if session is not None:
        session.association.status = AssociationStatus.NON_ASSOCIATED
    return RLRE(reason=ReleaseResponseReason.NORMAL, user_information=info)


def acse_json(pdu: Any) -> dict[str, Any]:
    return _acse.to_json(pdu)
