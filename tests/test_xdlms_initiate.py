"""The xDLMS Initiate PDUs on their own (``dlmsmesh.xdlms_initiate``, split out
of ``acse`` in issue 11): the user-information vectors of
tests/vectors/security_examples.json (B4, B5) and the plain ones of the ACSE
worked examples (B1, B2, B7, B8, as tests/test_acse.py has them) as known
answers, without the ACSE layer."""

from __future__ import annotations

import json
import os

import pytest

from dlmsmesh.apdu import ConfirmedServiceError, ConfirmedServiceErrorChoice, ServiceErrorChoice
from dlmsmesh.errors import DecodeError, EncodeError
from dlmsmesh.xdlms_initiate import (
    CipheredUserInformation,
    Conformance,
    InitiateRequest,
    InitiateResponse,
    decode_user_information,
    encode_user_information,
    read_user_information,
    user_information_json,
)

from .helpers import hexbytes

with open(os.path.join(os.path.dirname(__file__), "vectors", "security_examples.json")) as _fh:
    SEC = json.load(_fh)

B4_CONFORMANCE = [
    "general-protection", "general-block-transfer", "block-transfer-with-get-or-read",
    "block-transfer-with-set-or-write", "block-transfer-with-action", "multiple-references",
    "data-notification", "get", "set", "selective-access", "action",
]  # fmt: skip

KNOWN: dict[str, tuple[bytes, object]] = {
    # the decrypted glo-initiate-request / -response of B4 / B5
    "B4 plaintext": (
        bytes.fromhex(SEC["B4"]["plaintext"]),
        InitiateRequest(conformance=Conformance(0x601E9D), max_receive_pdu_size=1024),
    ),
    "B5 plaintext": (
        bytes.fromhex(SEC["B5"]["plaintext"]),
        InitiateResponse(conformance=Conformance(0x001E1D), max_receive_pdu_size=1024),
    ),
    "B4 ciphered": (
        bytes.fromhex(SEC["B4"]["ciphered"]),
        CipheredUserInformation(tag=0x21, content=bytes.fromhex(SEC["B4"]["ciphered"])[2:]),
    ),
    "B5 ciphered": (
        bytes.fromhex(SEC["B5"]["ciphered"]),
        CipheredUserInformation(tag=0x28, content=bytes.fromhex(SEC["B5"]["ciphered"])[2:]),
    ),
    # B1, B2, B7 (initiate refused), B8 (SN)
    "B1": (
        hexbytes("01 00 00 00 06 5F 1F 04 00 00 7E 1F 04 00"),
        InitiateRequest(conformance=Conformance(0x007E1F), max_receive_pdu_size=1024),
    ),
    "B2": (
        hexbytes("08 00 06 5F 1F 04 00 00 12 1D 02 00 00 07"),
        InitiateResponse(conformance=Conformance(0x00121D), max_receive_pdu_size=512),
    ),
    "B7": (
        hexbytes("0E 01 06 01"),
        ConfirmedServiceError(
            service=ConfirmedServiceErrorChoice.INITIATE_ERROR, error=ServiceErrorChoice.INITIATE, value=1
        ),
    ),
    "B8 SN": (
        hexbytes("01 00 00 00 06 5F 1F 04 00 1C 03 20 FF FF"),
        InitiateRequest(conformance=Conformance(0x1C0320)),
    ),
    "dedicated key, qos, response not allowed": (
        hexbytes("01 01 10 000102030405060708090A0B0C0D0E0F 01 00 01 FE 06 5F 1F 04 00 00 00 10 00 80"),
        InitiateRequest(
            dedicated_key=bytes(range(16)),
            response_allowed=False,
            quality_of_service=-2,
            conformance=Conformance.GET,
            max_receive_pdu_size=128,
        ),
    ),
}


@pytest.mark.parametrize("name", list(KNOWN))
def test_known_answers_round_trip(name: str) -> None:
    data, pdu = KNOWN[name]
    assert decode_user_information(data) == pdu
    assert decode_user_information(bytearray(data)) == pdu
    assert encode_user_information(pdu) == data  # type: ignore[arg-type]


def test_vector_fields() -> None:
    req = decode_user_information(bytes.fromhex(SEC["B4"]["plaintext"]))
    assert isinstance(req, InitiateRequest)
    assert (req.dlms_version, req.dedicated_key, req.response_allowed, req.quality_of_service) == (6, None, True, None)
    assert req.conformance.names() == B4_CONFORMANCE
    assert Conformance.from_names(B4_CONFORMANCE) == req.conformance
    res = decode_user_information(bytes.fromhex(SEC["B5"]["plaintext"]))
    assert isinstance(res, InitiateResponse) and res.vaa_name == 0x0007
    assert res.conformance.octets() == hexbytes("00 1E 1D")
    glo = decode_user_information(bytes.fromhex(SEC["B4"]["ciphered"]))
    assert isinstance(glo, CipheredUserInformation)
    assert (glo.name, glo.is_request, glo.dedicated) == ("glo-initiate-request", True, False)
    assert (glo.security_control, glo.invocation_counter) == (0x30, 1)
    assert glo.to_bytes() == bytes.fromhex(SEC["B4"]["ciphered"])
    resp = decode_user_information(bytes.fromhex(SEC["B5"]["ciphered"]))
    assert isinstance(resp, CipheredUserInformation)
    assert (resp.name, resp.is_request) == ("glo-initiate-response", False)


def test_read_inside_a_larger_buffer_reports_offsets_in_it() -> None:
    pdu = bytes.fromhex(SEC["B4"]["plaintext"])
    buf = b"\xaa" * 5 + pdu + b"\xbb"
    assert read_user_information(buf, 5, 5 + len(pdu)) == KNOWN["B4 plaintext"][1]
    with pytest.raises(DecodeError) as exc:
        read_user_information(buf, 5, 5 + len(pdu) - 1)  # max-receive-pdu-size cut short
    assert (exc.value.layer, exc.value.offset, exc.value.reason) == ("acse", 5 + 12, "truncated input")
    with pytest.raises(DecodeError) as exc:
        read_user_information(buf, 5, len(buf))
    assert (exc.value.offset, exc.value.reason) == (5 + len(pdu), "trailing bytes after the user-information PDU")


@pytest.mark.parametrize(
    ("data", "offset", "reason"),
    [
        ("", 0, "truncated input"),
        ("21", 1, "truncated input"),
        ("21 80", 1, "invalid length form"),
        ("21 85 00 00 00 00 01 00", 1, "invalid length form"),
        ("21 82 00", 1, "truncated input"),
        ("21 05 30 00", 2, "truncated input"),
        ("21 81 01 30 00", 4, "trailing bytes after the user-information PDU"),  # long form accepted
        ("01 01 82 00", 2, "truncated input"),
        ("01 02", 1, "OPTIONAL/DEFAULT flag is neither 0 nor 1"),
        ("01 00 00 00 06 5F 1E 04 00 00 00 10 00 80", 5, "conformance must be [APPLICATION 31] (5F 1F)"),
        ("01 00 00 00 06 5F 1F 03 00 00 00 10 00 80", 7, "conformance must be 4 content octets"),
        ("01 00 00 00 06 5F 1F 04 01 00 00 10 00 80", 8, "conformance must have no unused bits"),
        ("60 00", 0, "unknown xDLMS PDU tag 60 in user-information"),
    ],
)
def test_bad_input_errors(data: str, offset: int, reason: str) -> None:
    with pytest.raises(DecodeError) as exc:
        decode_user_information(hexbytes(data))
    assert (exc.value.layer, exc.value.offset, exc.value.reason) == ("acse", offset, reason)


def test_long_ciphered_content_uses_the_shortest_length_form() -> None:
    for n, head in ((127, "21 7F"), (128, "21 81 80"), (256, "21 82 01 00"), (70000, "21 83 01 11 70")):
        ui = CipheredUserInformation(tag=0x21, content=bytes(n))
        data = encode_user_information(ui)
        assert data[: len(hexbytes(head))] == hexbytes(head)
        assert decode_user_information(data) == ui


def test_json_fields() -> None:
    assert user_information_json(None) == {
        "user_information": None,
        "conformance": None,
        "max_receive_pdu_size": None,
        "dlms_version": None,
    }
    assert user_information_json(KNOWN["B2"][1]) == {  # type: ignore[arg-type]
        "user_information": "initiate-response",
        "conformance": [
            "block-transfer-with-get-or-read",
            "multiple-references",
            "get",
            "set",
            "selective-access",
            "action",
        ],  # fmt: skip
        "max_receive_pdu_size": 512,
        "dlms_version": 6,
    }
    assert user_information_json(KNOWN["B4 ciphered"][1])["user_information"] == "glo-initiate-request"  # type: ignore[arg-type]
    refused = user_information_json(KNOWN["B7"][1])  # type: ignore[arg-type]
    assert refused["user_information"] == "confirmed-service-error"
    assert refused["confirmed_service_error"]["type"] == "confirmed-service-error"


def test_encode_refuses_what_is_not_user_information() -> None:
    with pytest.raises(EncodeError):
        encode_user_information("01 00")  # type: ignore[arg-type]
