"""The Server's ACSE: AARQ -> AARE (accepted, every refusal of
dlmsmesh.server.associate with its diagnostic, LLS, HLS-GMAC and HLS-SHA256
with pass 3), dedicated and general ciphering, RLRQ -> RLRE."""

from __future__ import annotations

from typing import Any

import pytest

from dlmsmesh import acse
from dlmsmesh import apdu as A
from dlmsmesh.acse_pdu import (
    AARQ,
    RLRQ,
    AcseServiceUserDiagnostic,
    ApplicationContext,
    AssociationResult,
    Mechanism,
)
from dlmsmesh.cosem.typespec import octets
from dlmsmesh.security import KeySet
from dlmsmesh.security.hls import gmac_reply
from dlmsmesh.xdlms_initiate import (
    CipheredUserInformation,
    Conformance,
    InitiateResponse,
    decode_user_information,
    encode_user_information,
)

from .server_support import (
    AUTHENC,
    CLIENT_TITLE,
    CLOCK,
    DK,
    FULL,
    HLS_REPLY,
    HLS_SECRET,
    LDN,
    PASSWORD,
    TITLE,
    Client,
    client_context,
    initiate,
    make_meter,
    make_server,
    management_client,
    public_client,
)

D = AcseServiceUserDiagnostic
#: the plain exception-response service-not-allowed / operation-not-possible
NOT_ALLOWED = bytes.fromhex("D80101")
#: the accepted AARE of the public client: LN context, result 0, diagnostic
#: null, InitiateResponse {conformance 00001E1D, max-receive-pdu-size 1224 (04C8), vaa 0007}
PUBLIC_AARE = bytes.fromhex("6129A109060760857405080101A203020100A305A103020100BE10040E0800065F1F0400001E1D04C80007")


def _refusal_bytes(diagnostic: int, initiate_error: int | None = None) -> bytes:
    """A rejected-permanent AARE in the LN context, as the server writes it."""
    body = bytes.fromhex("A109060760857405080101A203020101A305A1030201") + bytes([diagnostic])
    if initiate_error is not None:
        body += bytes.fromhex("BE0604040E0106") + bytes([initiate_error])
    return bytes([0x61, len(body)]) + body


# --------------------------------------------------------------------- accepted


@pytest.mark.asyncio
async def test_public_client_is_accepted_with_the_negotiated_initiate_response() -> None:
    server = make_server()
    client = Client(server)
    reply = await client.send(acse.encode(AARQ(user_information=initiate(FULL | Conformance.GENERAL_BLOCK_TRANSFER))))
    aare = acse.decode(reply)
    assert aare.result == AssociationResult.ACCEPTED and aare.diagnostic == D.NULL
    info = aare.user_information
    assert isinstance(info, InitiateResponse)
    # the server offers GBT too: the intersection keeps it
    assert info.conformance == FULL | Conformance.GENERAL_BLOCK_TRANSFER
    assert info.max_receive_pdu_size == 1224 and info.vaa_name == 7 and info.dlms_version == 6
    assert server.associations == 1 and server.stats.associations_opened == 1


@pytest.mark.asyncio
async def test_public_aare_bytes() -> None:
    server = make_server()
    reply = await Client(server).send(acse.encode(AARQ(user_information=initiate())))
    assert reply == PUBLIC_AARE
    assert await Client(server).get(CLOCK) == bytes.fromhex("07EA0C05060C000000000000")


@pytest.mark.asyncio
async def test_lls_with_the_right_password_is_accepted() -> None:
    server = make_server(make_meter(authentication="lls", secret=PASSWORD))
    client = Client(server, client_sap=1)
    aare = await client.associate(
        AARQ(user_information=initiate(), mechanism=Mechanism.LOW, calling_authentication_value=PASSWORD,
             sender_acse_requirements="1")
    )  # fmt: skip
    assert aare.result == AssociationResult.ACCEPTED and aare.diagnostic == D.NULL
    # the management view: Security setup is there (the public client does not see it)
    assert await client.get(A.AttributeDescriptor(64, "0.0.43.0.0.255", 5)) == TITLE


# --------------------------------------------------------------------- refusals


def _lls(password: bytes | None) -> AARQ:
    return AARQ(user_information=initiate(), mechanism=Mechanism.LOW, calling_authentication_value=password,
                sender_acse_requirements="1")  # fmt: skip


REFUSALS: list[tuple[str, int, AARQ, int, int | None]] = [
    ("unknown client SAP", 0x20, AARQ(user_information=initiate()), D.NO_REASON_GIVEN, None),
    ("ciphered context for a plain association", 16,
     AARQ(application_context=ApplicationContext.LOGICAL_NAME_CIPHERED, calling_ap_title=CLIENT_TITLE,
          user_information=initiate()), D.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED, None),
    ("short-name context", 16, AARQ(application_context=ApplicationContext.SHORT_NAME, user_information=initiate()),
     D.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED, None),
    ("no mechanism where LLS is configured", 1, AARQ(user_information=initiate()),
     D.AUTHENTICATION_MECHANISM_NAME_REQUIRED, None),
    ("HLS-GMAC where LLS is configured", 1,
     AARQ(user_information=initiate(), mechanism=Mechanism.HIGH_GMAC, calling_ap_title=CLIENT_TITLE,
          calling_authentication_value=bytes(16)), D.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED, None),
    ("a mechanism on the public client", 16, _lls(PASSWORD), D.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED, None),
    ("wrong LLS password", 1, _lls(b"87654321"), D.AUTHENTICATION_FAILURE, None),
    ("no LLS password", 1, _lls(None), D.AUTHENTICATION_FAILURE, None),
    ("no user-information", 16, AARQ(), D.NO_REASON_GIVEN, None),
    ("DLMS version 5", 16, AARQ(user_information=initiate(dlms_version=5)), D.NO_REASON_GIVEN, 1),
    ("no common conformance bit", 16, AARQ(user_information=initiate(Conformance.READ | Conformance.WRITE)),
     D.NO_REASON_GIVEN, 2),
    ("max-receive-pdu-size 11", 16, AARQ(user_information=initiate(max_pdu=11)), D.NO_REASON_GIVEN, 3),
    ("max-receive-pdu-size 63", 16, AARQ(user_information=initiate(max_pdu=63)), D.NO_REASON_GIVEN, 3),
]  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.parametrize(("client_sap", "aarq", "diagnostic", "initiate_error"),
                         [r[1:] for r in REFUSALS], ids=[r[0] for r in REFUSALS])  # fmt: skip
async def test_refusals(client_sap: int, aarq: AARQ, diagnostic: int, initiate_error: int | None) -> None:
    server = make_server(make_meter(authentication="lls", secret=PASSWORD))
    client = Client(server, client_sap=client_sap)
    reply = await client.send(acse.encode(aarq))
    aare = acse.decode(reply)
    assert aare.result == AssociationResult.REJECTED_PERMANENT
    assert aare.diagnostic == diagnostic
    if aarq.application_context == ApplicationContext.LOGICAL_NAME:
        assert reply == _refusal_bytes(diagnostic, initiate_error)
    if initiate_error is not None:
        # confirmed-service-error initiate-error / initiate / reason
        assert encode_user_information(aare.user_information) == bytes([0x0E, 0x01, 0x06, initiate_error])
    else:
        assert aare.user_information is None
    assert server.associations == 0
    assert server.stats.associations_refused == 1 and server.stats.associations_opened == 0
    # and nothing is usable afterwards
    assert await client.send(A.encode(A.GetRequestNormal(CLOCK))) == NOT_ALLOWED


HLS_REFUSALS: list[tuple[str, dict[str, Any], int]] = [
    ("no calling-AP-title", {"calling_ap_title": None}, D.CALLING_AP_TITLE_NOT_RECOGNIZED),
    ("a 7-octet calling-AP-title", {"calling_ap_title": bytes(7)}, D.CALLING_AP_TITLE_NOT_RECOGNIZED),
    ("a 7-octet CtoS", {"calling_authentication_value": bytes(7)}, D.AUTHENTICATION_FAILURE),
    ("no CtoS", {"calling_authentication_value": None}, D.AUTHENTICATION_FAILURE),
    ("a plain InitiateRequest under a policy protecting requests", {"user_information": initiate()}, D.NO_REASON_GIVEN),
    ("the plain LN context", {"application_context": ApplicationContext.LOGICAL_NAME},
     D.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED),
    ("HLS-SHA256 where HLS-GMAC is configured", {"mechanism": Mechanism.HIGH_SHA256},
     D.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED),
    ("no mechanism", {"mechanism": None, "sender_acse_requirements": None}, D.AUTHENTICATION_MECHANISM_NAME_REQUIRED),
]  # fmt: skip


@pytest.mark.asyncio
@pytest.mark.parametrize(("change", "diagnostic"), [r[1:] for r in HLS_REFUSALS], ids=[r[0] for r in HLS_REFUSALS])
async def test_hls_gmac_refusals(change: dict[str, Any], diagnostic: int) -> None:
    import dataclasses

    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    client = Client(server, client_sap=1, ctx=client_context())
    aarq = dataclasses.replace(client.hls_aarq(Mechanism.HIGH_GMAC), **change)
    aare = await client.associate(aarq)
    assert aare.result == AssociationResult.REJECTED_PERMANENT and aare.diagnostic == diagnostic
    assert aare.responding_authentication_value is None
    assert server.associations == 0


@pytest.mark.asyncio
async def test_ciphered_initiate_under_a_wrong_key_is_refused() -> None:
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    client = Client(server, client_sap=1, ctx=client_context(ek=bytes(16)))
    aare = await client.associate(client.hls_aarq(Mechanism.HIGH_GMAC))
    assert aare.result == AssociationResult.REJECTED_PERMANENT and aare.diagnostic == D.NO_REASON_GIVEN
    assert aare.user_information is None


@pytest.mark.asyncio
async def test_ciphered_context_on_a_meter_without_keys_is_refused() -> None:
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC), keys=False))
    client = Client(server, client_sap=1, ctx=client_context())
    aare = await client.associate(client.hls_aarq(Mechanism.HIGH_GMAC))
    assert aare.diagnostic == D.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED


# ------------------------------------------------------------------------- HLS


@pytest.mark.asyncio
async def test_hls_gmac_four_passes() -> None:
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    ctx = client_context()
    client = Client(server, client_sap=1, ctx=ctx)
    aarq = client.hls_aarq(Mechanism.HIGH_GMAC)
    assert isinstance(aarq.user_information, CipheredUserInformation) and aarq.user_information.tag == 0x21
    raw = await client.send(acse.encode(aarq))
    aare = acse.decode(raw)
    assert aare.result == AssociationResult.ACCEPTED and aare.diagnostic == D.AUTHENTICATION_REQUIRED
    assert aare.application_context == ApplicationContext.LOGICAL_NAME_CIPHERED
    assert aare.mechanism == Mechanism.HIGH_GMAC and aare.responder_acse_requirements == "1"
    assert aare.responding_ap_title == TITLE
    stoc = aare.responding_authentication_value
    assert stoc is not None and len(stoc) == 16
    assert bytes.fromhex("A40A0408") + TITLE in raw and bytes.fromhex("AA128010") + stoc in raw
    # glo-initiate-response, opened with the client's keys
    info = aare.user_information
    assert isinstance(info, CipheredUserInformation) and info.tag == 0x28 and info.security_control == 0x30
    opened = decode_user_information(ctx.unprotect(encode_user_information(info)).plaintext)
    assert isinstance(opened, InitiateResponse) and opened.conformance == FULL and opened.max_receive_pdu_size == 1224

    # before pass 3 nothing but pass 3 is served
    refused = await client.send(ctx.protect(A.encode(A.GetRequestNormal(CLOCK))))
    assert A.decode(client.open(refused)) == A.ExceptionResponse(1, 1)

    # pass 3: f(StoC); pass 4: f(CtoS), which the client checks
    client.stoc = stoc
    response = await client.request(A.ActionRequestNormal(HLS_REPLY, octets(gmac_reply(ctx, stoc))), "glo")
    assert isinstance(response, A.ActionResponseNormal) and response.result == 0
    f_ctos = bytes(response.return_parameters)
    assert len(f_ctos) == 17 and f_ctos[0] == 0x10
    from dlmsmesh.security.hls import verify_gmac_reply

    verify_gmac_reply(ctx, client.ctos or b"", f_ctos)
    assert await client.get(CLOCK, "glo") == bytes.fromhex("07EA0C05060C000000000000")


@pytest.mark.asyncio
async def test_hls_gmac_wrong_f_stoc_is_denied_and_the_association_stays_unusable() -> None:
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    ctx = client_context()
    client = Client(server, client_sap=1, ctx=ctx)
    aare = await client.associate(client.hls_aarq(Mechanism.HIGH_GMAC))
    assert aare.diagnostic == D.AUTHENTICATION_REQUIRED and client.stoc is not None
    wrong = bytearray(gmac_reply(ctx, client.stoc))
    wrong[-1] ^= 1
    response = await client.request(A.ActionRequestNormal(HLS_REPLY, octets(bytes(wrong))), "glo")
    assert response == A.ActionResponseNormal(A.ActionResult.READ_WRITE_DENIED)
    # requests are refused with an exception-response from then on
    reply = await client.request(A.GetRequestNormal(CLOCK), "glo")
    assert reply == A.ExceptionResponse(1, 1)
    # and a second attempt at pass 3, now with the right reply, does not open it
    # (one attempt per AARQ: the client must release and start again)
    again = await client.request(A.ActionRequestNormal(HLS_REPLY, octets(gmac_reply(ctx, client.stoc))), "glo")
    assert again == A.ActionResponseNormal(A.ActionResult.READ_WRITE_DENIED)
    assert await client.request(A.GetRequestNormal(CLOCK), "glo") == A.ExceptionResponse(1, 1)


@pytest.mark.asyncio
async def test_hls_sha256_four_passes() -> None:
    server = make_server(make_meter(authentication="hls-sha256", secret=HLS_SECRET))
    client = Client(server, client_sap=1)
    await client.hls_sha256()
    assert await client.get(LDN) == b"MMM0000012345678"


@pytest.mark.asyncio
async def test_hls_sha256_wrong_secret_is_denied() -> None:
    server = make_server(make_meter(authentication="hls-sha256", secret=HLS_SECRET))
    client = Client(server, client_sap=1)
    with pytest.raises(AssertionError):
        await client.hls_sha256(secret=b"not the secret")
    assert await client.request(A.GetRequestNormal(LDN)) == A.ExceptionResponse(1, 1)


@pytest.mark.asyncio
async def test_hls_sha256_needs_the_calling_ap_title() -> None:
    import dataclasses

    server = make_server(make_meter(authentication="hls-sha256", secret=HLS_SECRET))
    client = Client(server, client_sap=1)
    aarq = dataclasses.replace(client.hls_aarq(Mechanism.HIGH_SHA256, ciphered=False), calling_ap_title=None)
    aare = await client.associate(aarq)
    assert aare.diagnostic == D.CALLING_AP_TITLE_NOT_RECOGNIZED


# ------------------------------------------------------- dedicated and general


@pytest.mark.asyncio
async def test_dedicated_key_requests_are_answered_ded_ciphered() -> None:
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    ctx = client_context(dk=DK)
    client = Client(server, client_sap=1, ctx=ctx)
    await client.hls_gmac(initiate(dedicated_key=DK))
    request = ctx.protect(A.encode(A.GetRequestNormal(CLOCK)), dedicated=True)
    assert request[0] == 0xD0  # ded-get-request
    reply = await client.send(request)
    assert reply[0] == 0xD4  # ded-get-response
    opened = ctx.unprotect(reply)
    assert opened.info.key_set.name == "DEDICATED"
    assert A.decode(opened.plaintext).result == bytes.fromhex("07EA0C05060C000000000000")
    # general-ded is answered general-ded
    reply = await client.send(ctx.protect(A.encode(A.GetRequestNormal(LDN)), dedicated=True, general=True))
    assert reply[0] == 0xDC and reply[2:10] == TITLE
    assert A.decode(ctx.unprotect(reply).plaintext).result == b"MMM0000012345678"
    # glo- still works and is answered glo-
    reply = await client.send(ctx.protect(A.encode(A.GetRequestNormal(CLOCK))))
    assert reply[0] == 0xCC
    # a ded- frame the meter's global key made is not a dedicated one: refused
    wrong = client_context(dk=bytes(16))
    wrong.reserve_counters(KeySet.DEDICATED, 50)  # above what the meter has seen
    forged = wrong.protect(A.encode(A.GetRequestNormal(CLOCK)), dedicated=True)
    refused = await client.send(forged)
    assert A.decode(ctx.unprotect(refused).plaintext if refused[0] != 0xD8 else refused) == A.ExceptionResponse(1, 5)


@pytest.mark.asyncio
async def test_general_glo_requests_are_answered_general_glo() -> None:
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    client = await management_client(server)
    assert client.ctx is not None
    request = client.ctx.protect(A.encode(A.GetRequestNormal(LDN)), general=True)
    assert request[0] == 0xDB and request[2:10] == CLIENT_TITLE
    reply = await client.send(request)
    assert reply[0] == 0xDB and reply[1] == 8 and reply[2:10] == TITLE
    assert A.decode(client.ctx.unprotect(reply).plaintext).result == b"MMM0000012345678"


# -------------------------------------------------------------------- release


@pytest.mark.asyncio
async def test_rlrq_releases_and_the_association_is_gone() -> None:
    server = make_server()
    client = await public_client(server)
    assert server.associations == 1
    rlre = await client.release()
    assert rlre.reason == 0 and rlre.user_information is None
    assert await client.send(acse.encode(RLRQ())) == bytes.fromhex("6303800100")
    assert server.associations == 0 and server.stats.associations_released == 1
    assert await client.send(A.encode(A.GetRequestNormal(CLOCK))) == NOT_ALLOWED
    assert server.stats.unassociated == 1


@pytest.mark.asyncio
async def test_ciphered_rlrq_gets_a_ciphered_initiate_response() -> None:
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    client = await management_client(server)
    assert client.ctx is not None
    rlrq = RLRQ(user_information=client.ciphered_initiate(initiate()))
    rlre = await client.release(rlrq)
    info = rlre.user_information
    assert isinstance(info, CipheredUserInformation) and info.tag == 0x28
    opened = decode_user_information(client.ctx.unprotect(encode_user_information(info)).plaintext)
    assert isinstance(opened, InitiateResponse) and opened.conformance == FULL
    assert server.associations == 0
    # a ciphered request now finds no association
    assert await client.send(client.ctx.protect(A.encode(A.GetRequestNormal(CLOCK)))) == NOT_ALLOWED


@pytest.mark.asyncio
async def test_a_refused_aarq_leaves_the_open_association_alone() -> None:
    server = make_server(make_meter(authentication="lls", secret=PASSWORD))
    client = Client(server, client_sap=1)
    assert (await client.associate(_lls(PASSWORD))).accepted
    # a refused AARQ from the same client and address ends nothing
    refused = await client.associate(_lls(b"wrong"))
    assert refused.diagnostic == D.AUTHENTICATION_FAILURE
    assert server.associations == 1
    assert await client.get(LDN) == b"MMM0000012345678"


@pytest.mark.asyncio
async def test_hls_gmac_in_the_plain_ln_context() -> None:
    """HLS-GMAC authenticates without ciphering the association: the
    InitiateRequest and every request after pass 3 travel plain."""
    server = make_server(make_meter(authentication="hls-gmac"))
    ctx = client_context()
    client = Client(server, client_sap=1, ctx=ctx)
    aare = await client.associate(client.hls_aarq(Mechanism.HIGH_GMAC, ciphered=False))
    assert aare.application_context == ApplicationContext.LOGICAL_NAME
    assert aare.diagnostic == D.AUTHENTICATION_REQUIRED and isinstance(aare.user_information, InitiateResponse)
    assert client.stoc is not None
    response = await client.request(A.ActionRequestNormal(HLS_REPLY, octets(gmac_reply(ctx, client.stoc))))
    assert isinstance(response, A.ActionResponseNormal) and response.result == 0
    from dlmsmesh.security.hls import verify_gmac_reply

    verify_gmac_reply(ctx, client.ctos or b"", bytes(response.return_parameters))
    assert await client.get(LDN) == b"MMM0000012345678"


@pytest.mark.asyncio
async def test_replayed_ciphered_aarq_is_refused() -> None:
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    client = Client(server, client_sap=1, ctx=client_context())
    frame = acse.encode(client.hls_aarq(Mechanism.HIGH_GMAC))
    assert acse.decode(await client.send(frame)).diagnostic == D.AUTHENTICATION_REQUIRED
    # the same AARQ again (its glo-initiate-request counter is not new): refused
    replayed = acse.decode(await client.send(frame))
    assert replayed.result == AssociationResult.REJECTED_PERMANENT and replayed.diagnostic == D.NO_REASON_GIVEN
    assert replayed.responding_authentication_value is None


@pytest.mark.asyncio
async def test_association_status_is_each_clients_own() -> None:
    """Two clients of one client SAP share an Association LN object; each
    reads its own association_status (attribute 8)."""
    from dlmsmesh.apdu_model import AttributeDescriptor
    from dlmsmesh.transport import Address

    from .server_support import Client, client_context, initiate, make_meter, make_server

    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    first = Client(server, client_sap=1, ctx=client_context())
    await first.hls_gmac(initiate())
    status = AttributeDescriptor(15, "0.0.40.0.0.255", 8)
    assert await first.get(status, "glo") == 2  # associated
    # a second client of the same SAP, elsewhere, half-way through HLS
    other = client_context(title=bytes.fromhex("4845530000000002"))
    second = Client(server, client_sap=1, source=Address("fd00::9", 50000), ctx=other)
    aare = await second.associate(second.hls_aarq(Mechanism.HIGH_GMAC, initiate()))
    assert aare.accepted
    assert await first.get(status, "glo") == 2  # still associated for the first
    assert await first.get(AttributeDescriptor(15, "0.0.40.0.2.255", 8), "glo") == 2
    await server.close()
