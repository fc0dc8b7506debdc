"""ACSE interop with the peer libraries: gurux-dlms 1.0.203 builds AARQs we
decode and parses the AARE/AARQ we build; dlms-cosem 25.1.0 parses ours and
builds AARQ/AARE we decode.  The peers are imported here only (GPL/source-
available); nothing of theirs is used by the package."""

from __future__ import annotations

import re
from typing import Any

import pytest

from dlmsmesh import acse
from dlmsmesh.acse import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ApplicationContext,
    AssociationResult,
    CipheredUserInformation,
    ConfirmedServiceError,
    Conformance,
    InitiateRequest,
    InitiateResponse,
    Mechanism,
)
from dlmsmesh.apdu import ConfirmedServiceErrorChoice, ServiceErrorChoice
from dlmsmesh.errors import DecodeError

from .helpers import hexbytes

gurux = pytest.importorskip("gurux_dlms")
pytest.importorskip("dlms_cosem")

from dlms_cosem import enumerations as dc_enum  # noqa: E402
from dlms_cosem.protocol.acse import (  # noqa: E402
    ApplicationAssociationRequest,
    ApplicationAssociationResponse,
    ReleaseRequest,
    ReleaseResponse,
    UserInformation,
)
from dlms_cosem.protocol.xdlms import Conformance as DcConformance  # noqa: E402
from dlms_cosem.protocol.xdlms import InitiateRequest as DcInitiateRequest  # noqa: E402
from gurux_dlms import GXByteBuffer, GXDLMSClient, GXDLMSTranslator  # noqa: E402
from gurux_dlms.enums import Authentication, InterfaceType, Security, TranslatorOutputType  # noqa: E402
from gurux_dlms.enums import Conformance as GC  # noqa: E402
from gurux_dlms.secure import GXDLMSSecureClient  # noqa: E402

pytestmark = pytest.mark.interop

EK = hexbytes("000102030405060708090A0B0C0D0E0F")
AK = hexbytes("D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF")
CLIENT_ST = hexbytes("4D4D4D0000000001")
SERVER_ST = hexbytes("4D4D4D0000BC614E")
B4_UI = hexbytes("21 1F 30 00 00 00 01 99 45 AB 0E 57 09 75 CC DF 31 83 45 9C A0 9B 64 19 6A CF 83 EC 65 14 F1 95 61")
B5_UI = hexbytes("28 1F 30 00 00 00 01 D9 61 06 55 1D B7 7E 51 6F 99 D0 0B 89 5A 12 10 D1 F2 BB 81 52 13 DE D5 8E 11")

CLASSIC = (
    GC.GET | GC.SET | GC.ACTION | GC.SELECTIVE_ACCESS | GC.BLOCK_TRANSFER_WITH_GET_OR_READ
    | GC.BLOCK_TRANSFER_WITH_SET_OR_WRITE | GC.BLOCK_TRANSFER_WITH_ACTION | GC.MULTIPLE_REFERENCES
    | GC.PRIORITY_MGMT_SUPPORTED | GC.ATTRIBUTE_0_SUPPORTED_WITH_GET | GC.EVENT_NOTIFICATION
)  # fmt: skip


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _gurux_names(value: int) -> set[str]:
    """Our spec names of a Gurux conformance value (Gurux numbers bits the other way round)."""
    return {_norm(m.name) for m in GC if value & m.value}


def _ours(conformance: Conformance) -> set[str]:
    return {_norm(n) for n in conformance.names()}


def _gurux_bytes(frames: Any) -> bytes:
    return bytes(frames[0]) if isinstance(frames, list) else bytes(frames)


def _xml(data: bytes) -> str:
    return GXDLMSTranslator(TranslatorOutputType.SIMPLE_XML).pduToXml(GXByteBuffer(data))


# --------------------------------------------------------------------------
# gurux builds, we decode
# --------------------------------------------------------------------------


def test_gurux_aarq_no_security(backend: str) -> None:
    c = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.PDU)
    c.setProposedConformance(CLASSIC)
    c.setMaxReceivePDUSize(1024)
    data = _gurux_bytes(c.aarqRequest())
    pdu = acse.decode(data)
    assert isinstance(pdu, AARQ)
    assert pdu.application_context is ApplicationContext.LOGICAL_NAME
    assert pdu.mechanism is None and pdu.calling_authentication_value is None
    ui = pdu.user_information
    assert isinstance(ui, InitiateRequest)
    assert ui.conformance.octets() == hexbytes("00 7E 1F")
    assert _ours(ui.conformance) == _gurux_names(CLASSIC)
    assert ui.max_receive_pdu_size == 1024 and ui.dlms_version == 6 and ui.response_allowed
    assert acse.encode(pdu) == data


@pytest.mark.parametrize("password", [b"12345678", b"", b"p" * 60])
def test_gurux_aarq_lls(backend: str, password: bytes) -> None:
    c = GXDLMSClient(True, 16, 1, Authentication.LOW, password, InterfaceType.PDU)
    data = _gurux_bytes(c.aarqRequest())
    pdu = acse.decode(data)
    assert isinstance(pdu, AARQ)
    assert pdu.mechanism is Mechanism.LOW and pdu.authentication
    assert pdu.calling_authentication_value == password
    ui = pdu.user_information
    assert isinstance(ui, InitiateRequest)
    assert ui.conformance.octets() == hexbytes("40 1E 5D")  # Gurux's default proposal
    assert ui.max_receive_pdu_size == 0xFFFF
    assert acse.encode(pdu) == data


def test_gurux_aarq_sn_context(backend: str) -> None:
    c = GXDLMSClient(False, 16, 1, Authentication.NONE, None, InterfaceType.PDU)
    data = _gurux_bytes(c.aarqRequest())
    pdu = acse.decode(data)
    assert isinstance(pdu, AARQ) and pdu.application_context is ApplicationContext.SHORT_NAME
    assert isinstance(pdu.user_information, InitiateRequest)
    assert pdu.user_information.conformance.octets() == hexbytes("1C 03 20")
    assert acse.encode(pdu) == data


def _secure_client(challenge: bytes = b"K56iVagY", security: Any = Security.AUTHENTICATION_ENCRYPTION) -> Any:
    sc = GXDLMSSecureClient(True, 16, 1, Authentication.HIGH_GMAC, None, InterfaceType.PDU)
    sc.ciphering.security = security
    sc.ciphering.systemTitle = CLIENT_ST
    sc.ciphering.blockCipherKey = EK
    sc.ciphering.authenticationKey = AK
    sc.ciphering.invocationCounter = 1
    sc.setCtoSChallenge(challenge)
    sc.setMaxReceivePDUSize(1024)
    sc.setProposedConformance(
        GC.GET | GC.SET | GC.ACTION | GC.SELECTIVE_ACCESS | GC.BLOCK_TRANSFER_WITH_GET_OR_READ
        | GC.BLOCK_TRANSFER_WITH_SET_OR_WRITE | GC.BLOCK_TRANSFER_WITH_ACTION | GC.MULTIPLE_REFERENCES
        | GC.GENERAL_PROTECTION | GC.GENERAL_BLOCK_TRANSFER | GC.DATA_NOTIFICATION
    )  # fmt: skip
    return sc


def test_gurux_aarq_hls_gmac(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    data = _gurux_bytes(_secure_client().aarqRequest())
    pdu = acse.decode(data)
    assert isinstance(pdu, AARQ)
    assert pdu.application_context is ApplicationContext.LOGICAL_NAME_CIPHERED
    assert pdu.calling_ap_title == CLIENT_ST
    assert pdu.sender_acse_requirements == "1"
    assert pdu.mechanism is Mechanism.HIGH_GMAC
    assert pdu.calling_authentication_value == b"K56iVagY"
    ui = pdu.user_information
    assert isinstance(ui, CipheredUserInformation) and ui.tag == 0x21 and ui.name == "glo-initiate-request"
    assert ui.security_control == 0x30 and ui.invocation_counter == 1
    assert ui.to_bytes() == B4_UI  # example B4
    assert acse.encode(pdu) == data


def _fix_gurux_long_aarq(data: bytes) -> bytes:
    """Gurux 1.0.203 writes an AARQ length of 128..255 as one octet (no 81);
    the same PDU with the length written as BER requires."""
    assert 0x80 <= data[1] == len(data) - 2
    return data[:1] + b"\x81" + data[1:]


@pytest.mark.parametrize(
    "build",
    [
        lambda: GXDLMSClient(True, 16, 1, Authentication.LOW, b"p" * 100, InterfaceType.PDU),
        lambda: _secure_client(bytes(range(0x30, 0x70))),  # a 64-byte HLS challenge
    ],
    ids=["lls-100-byte-password", "hls-64-byte-challenge"],
)
def test_gurux_long_aarq_has_a_bad_length(backend: str, build: Any) -> None:
    client = build()
    data = _gurux_bytes(client.aarqRequest())
    # peer defect: 0x8B/0x92 as a length octet means "11/18 length octets follow"
    with pytest.raises(DecodeError) as exc:
        acse.decode(data)
    assert exc.value.layer == "acse" and exc.value.offset == 1
    fixed = _fix_gurux_long_aarq(data)
    pdu = acse.decode(fixed)
    assert isinstance(pdu, AARQ) and len(pdu.calling_authentication_value or b"") in (64, 100)
    assert acse.encode(pdu) == fixed


# --------------------------------------------------------------------------
# we build, gurux parses
# --------------------------------------------------------------------------


def test_our_aare_in_gurux_client(backend: str) -> None:
    c = GXDLMSClient(True, 16, 1, Authentication.NONE, None, InterfaceType.PDU)
    c.setProposedConformance(CLASSIC)
    c.aarqRequest()
    conformance = Conformance.from_names(
        ["block-transfer-with-get-or-read", "multiple-references", "get", "set", "selective-access", "action"]
    )
    aare = AARE(user_information=InitiateResponse(conformance=conformance, max_receive_pdu_size=512))
    c.parseAareResponse(GXByteBuffer(acse.encode(aare)))
    assert _gurux_names(c.negotiatedConformance) == _ours(conformance)
    assert c.maxReceivePDUSize == 512


def test_our_ciphered_aare_in_gurux_secure_client(backend: str) -> None:
    sc = _secure_client()
    sc.aarqRequest()
    aare = AARE(
        application_context=ApplicationContext.LOGICAL_NAME_CIPHERED,
        diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
        responding_ap_title=SERVER_ST,
        responder_acse_requirements="1",
        mechanism=Mechanism.HIGH_GMAC,
        responding_authentication_value=b"P6wRJ21F",
        user_information=CipheredUserInformation(tag=0x28, content=B5_UI[2:]),
    )
    sc.parseAareResponse(GXByteBuffer(acse.encode(aare)))
    assert bytes(sc.settings.sourceSystemTitle) == SERVER_ST
    assert bytes(sc.settings.stoCChallenge) == b"P6wRJ21F"
    assert sc.isAuthenticationRequired
    # the decrypted InitiateResponse of B5: block-transfer x3, multiple-refs, get, set, selective-access, action
    assert _gurux_names(sc.settings.negotiatedConformance) == _ours(Conformance.from_octets(hexbytes("00 1E 1D")))


def test_our_aare_rejection_in_gurux_client(backend: str) -> None:
    c = GXDLMSClient(True, 16, 1, Authentication.LOW, b"wrong", InterfaceType.PDU)
    c.aarqRequest()
    aare = AARE(
        result=AssociationResult.REJECTED_PERMANENT, diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
    )
    with pytest.raises(Exception, match=r"(?i)authentication"):
        c.parseAareResponse(GXByteBuffer(acse.encode(aare)))


def test_our_pdus_in_gurux_translator(backend: str) -> None:
    aarq = AARQ(
        calling_ae_invocation_id=5,
        sender_acse_requirements="1",
        mechanism=Mechanism.LOW,
        calling_authentication_value=b"12345678",
        user_information=InitiateRequest(conformance=Conformance(0x007E1F), max_receive_pdu_size=1024),
    )
    xml = _xml(acse.encode(aarq))
    assert "<AssociationRequest>" in xml
    assert '<ApplicationContextName Value="LN" />' in xml
    assert '<CallingAEInvocationId Value="05" />' in xml
    assert '<MechanismName Value="Low" />' in xml
    assert '<CallingAuthentication Value="3132333435363738" />' in xml
    assert '<ProposedMaxPduSize Value="0400" />' in xml
    names = {_norm(n) for n in re.findall(r'<ConformanceBit Name="(\w+)" />', xml)}
    assert names == _ours(Conformance(0x007E1F))

    refused = AARE(
        result=AssociationResult.REJECTED_PERMANENT,
        diagnostic=AcseServiceUserDiagnostic.NO_REASON_GIVEN,
        user_information=ConfirmedServiceError(
            service=ConfirmedServiceErrorChoice.INITIATE_ERROR, error=ServiceErrorChoice.INITIATE, value=1
        ),
    )
    xml = _xml(acse.encode(refused))
    assert '<AssociationResult Value="01" />' in xml and '<ACSEServiceUser Value="01" />' in xml
    assert '<Initiate Value="DlmsVersionTooLow" />' in xml

    assert '<Reason Value="Normal" />' in _xml(acse.encode(RLRQ()))
    assert "<ReleaseResponse>" in _xml(acse.encode(RLRE()))


# --------------------------------------------------------------------------
# dlms-cosem parses ours, and builds what we decode
# --------------------------------------------------------------------------


def test_our_aarq_in_dlms_cosem(backend: str) -> None:
    aarq = AARQ(
        application_context=ApplicationContext.LOGICAL_NAME_CIPHERED,
        calling_ap_title=CLIENT_ST,
        sender_acse_requirements="1",
        mechanism=Mechanism.HIGH_GMAC,
        calling_authentication_value=b"K56iVagY",
        user_information=CipheredUserInformation(tag=0x21, content=B4_UI[2:]),
    )
    theirs = ApplicationAssociationRequest.from_bytes(acse.encode(aarq))
    assert theirs.ciphered and theirs.system_title == CLIENT_ST
    assert theirs.authentication == dc_enum.AuthenticationMechanism.HLS_GMAC
    assert bytes(theirs.authentication_value) == b"K56iVagY"
    assert theirs.user_information.content.invocation_counter == 1

    plain = AARQ(
        sender_acse_requirements="1",
        mechanism=Mechanism.LOW,
        calling_authentication_value=b"12345678",
        user_information=InitiateRequest(conformance=Conformance(0x007E1F), max_receive_pdu_size=1024),
    )
    theirs = ApplicationAssociationRequest.from_bytes(acse.encode(plain))
    ir = theirs.user_information.content
    assert ir.client_max_receive_pdu_size == 1024 and ir.proposed_dlms_version_number == 6
    pc = ir.proposed_conformance
    assert pc.get and pc.set and pc.action and pc.event_notification and pc.priority_management_supported
    assert not pc.general_protection and not pc.data_notification
    assert theirs.authentication == dc_enum.AuthenticationMechanism.LLS


@pytest.mark.parametrize(
    ("aare", "result", "diagnostic"),
    [
        (
            AARE(user_information=InitiateResponse(conformance=Conformance(0x00121D), max_receive_pdu_size=512)),
            dc_enum.AssociationResult.ACCEPTED,
            dc_enum.AcseServiceUserDiagnostics.NULL,
        ),
        (
            AARE(
                result=AssociationResult.REJECTED_PERMANENT,
                diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE,
            ),
            dc_enum.AssociationResult.REJECTED_PERMANENT,
            dc_enum.AcseServiceUserDiagnostics.AUTHENTICATION_FAILED,
        ),
        (
            AARE(
                result=AssociationResult.REJECTED_TRANSIENT,
                diagnostic=AcseServiceProviderDiagnostic.NO_COMMON_ACSE_VERSION,
            ),
            dc_enum.AssociationResult.REJECTED_TRANSIENT,
            dc_enum.AcseServiceProviderDiagnostics.NO_COMMON_ACSE_VERSION,
        ),
    ],
)
def test_our_aare_in_dlms_cosem(backend: str, aare: AARE, result: Any, diagnostic: Any) -> None:
    theirs = ApplicationAssociationResponse.from_bytes(acse.encode(aare))
    assert theirs.result == result
    assert theirs.result_source_diagnostics == diagnostic
    if aare.user_information is not None:
        ir = theirs.user_information.content
        assert ir.server_max_receive_pdu_size == 512
        assert ir.negotiated_conformance.get and ir.negotiated_conformance.block_transfer_with_get_or_read


def test_our_ciphered_aare_in_dlms_cosem(backend: str) -> None:
    aare = acse.decode(
        acse.encode(
            AARE(
                application_context=ApplicationContext.LOGICAL_NAME_CIPHERED,
                diagnostic=AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED,
                responding_ap_title=SERVER_ST,
                responder_acse_requirements="1",
                mechanism=Mechanism.HIGH_GMAC,
                responding_authentication_value=b"P6wRJ21F",
                user_information=CipheredUserInformation(tag=0x28, content=B5_UI[2:]),
            )
        )
    )
    theirs = ApplicationAssociationResponse.from_bytes(acse.encode(aare))
    assert theirs.ciphered and theirs.system_title == SERVER_ST
    assert theirs.authentication_value == b"P6wRJ21F"
    assert theirs.result_source_diagnostics == dc_enum.AcseServiceUserDiagnostics.AUTHENTICATION_REQUIRED


def test_our_release_in_dlms_cosem(backend: str) -> None:
    assert ReleaseRequest.from_bytes(acse.encode(RLRQ())).reason == dc_enum.ReleaseRequestReason.NORMAL
    assert ReleaseResponse.from_bytes(acse.encode(RLRE())).reason == dc_enum.ReleaseResponseReason.NORMAL


def test_dlms_cosem_aarq_decodes_here(backend: str) -> None:
    theirs = ApplicationAssociationRequest(
        user_information=UserInformation(
            content=DcInitiateRequest(
                proposed_conformance=DcConformance(get=True, set=True, action=True, general_block_transfer=True),
                client_max_receive_pdu_size=500,
            )
        ),
        authentication=dc_enum.AuthenticationMechanism.LLS,
        authentication_value=b"secret",
        implementation_information=b"dlms-cosem",
    )
    data = theirs.to_bytes()
    pdu = acse.decode(data)
    assert isinstance(pdu, AARQ)
    assert pdu.mechanism is Mechanism.LOW and pdu.calling_authentication_value == b"secret"
    assert pdu.implementation_information == b"dlms-cosem"  # dlms-cosem writes it as BD
    assert hexbytes("BD 0A") + b"dlms-cosem" in data
    ui = pdu.user_information
    assert isinstance(ui, InitiateRequest) and ui.max_receive_pdu_size == 500
    assert set(ui.conformance.names()) == {"general-block-transfer", "get", "set", "action"}


def test_dlms_cosem_aare_decodes_here(backend: str) -> None:
    from dlms_cosem.protocol.xdlms import InitiateResponse as DcInitiateResponse

    theirs = ApplicationAssociationResponse(
        result=dc_enum.AssociationResult.ACCEPTED,
        result_source_diagnostics=dc_enum.AcseServiceUserDiagnostics.NULL,
        user_information=UserInformation(
            content=DcInitiateResponse(
                negotiated_conformance=DcConformance(get=True, selective_access=True),
                server_max_receive_pdu_size=256,
            )
        ),
    )
    pdu = acse.decode(theirs.to_bytes())
    assert isinstance(pdu, AARE) and pdu.accepted
    assert pdu.diagnostic is AcseServiceUserDiagnostic.NULL
    ui = pdu.user_information
    assert isinstance(ui, InitiateResponse)
    assert ui.max_receive_pdu_size == 256 and ui.vaa_name == 7
    assert ui.conformance.names() == ["get", "selective-access"]


def test_implementation_information_tag_differs_between_peers(backend: str, capsys: pytest.CaptureFixture[str]) -> None:
    # we emit the ISO ACSE primitive 9D; dlms-cosem only knows BD and refuses 9D,
    # Gurux's translator skips 9D as an unknown tag and decodes the rest
    aarq = AARQ(
        implementation_information=b"dlmsmesh",
        user_information=InitiateRequest(conformance=Conformance(0x007E1F), max_receive_pdu_size=1024),
    )
    data = acse.encode(aarq)
    assert hexbytes("9D 08") + b"dlmsmesh" in data
    with pytest.raises(ValueError):
        ApplicationAssociationRequest.from_bytes(data)
    assert '<ProposedMaxPduSize Value="0400" />' in _xml(data)
