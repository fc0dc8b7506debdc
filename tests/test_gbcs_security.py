"""general-signing and general-ciphering checked against real smart-metering
messages: the GB Reference Test Data Set (RTDS 4.5.0) kept by
SmartDCCInnovation/gbcs-parser under ``test/rtds/`` (commit 3d104aa), with
the test keys published beside it (``test/rtds/keystore/``).  The bytes of
each message and the keys it needs are copied into
``tests/vectors/gbcs_rtds.json``; every vector there names the file it came
from.

- general-signing: the signature covers everything after the 0xDF tag up to
  the end of the content, the content's A-XDR length included; Gurux's
  range (the length left out) is a verifier option and fails on every one.
- general-ciphering: these are the MAC-only frames of GBCS (SC 0x11: suite 1,
  authentication only, IC 0, every header field empty, AK empty as GBCS
  profiles it), whose plaintext is a general-signing APDU.  The AAD is
  ``SC || AK || the five header fields as encoded || plaintext`` (our
  ``GeneralCipheringAad.HEADER``).  The content key comes from GBCS key
  agreement, done here in the test: ECDH on P-256 between the device's
  published key-agreement certificate and the other party's published private
  key (for commands the Access Control Broker's, 90B3D51F30000002, which
  signs the MAC of every command), then the NIST SP 800-56A concatenation KDF
  with SHA-256: ``SHA-256(00000001 || Z || OtherInfo)``, first 16 bytes, where
  ``OtherInfo = 60857406080300 || originator title || 09 || transaction-id ||
  recipient title`` (the algorithm id, then the grouping header's fields as
  GBCS section 4 lists them).  The IV is the originator's title (carried in the
  general-signing header inside) and the invocation counter 0.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from dlmsmesh import security as sec
from dlmsmesh.errors import AuthenticationError, EncodeError, SecurityError
from dlmsmesh.security import (
    GeneralCipheringAad,
    GeneralSigningRange,
    Protection,
    Role,
    SecurityContext,
    SecurityPolicy,
)

from .helpers import BACKENDS

VECTORS: dict[str, Any] = json.loads((Path(__file__).parent / "vectors" / "gbcs_rtds.json").read_text())
SIGNED = VECTORS["general_signing"]
MACED = VECTORS["general_ciphering"]
ALGORITHM_ID = bytes.fromhex("60857406080300")  # GBCS: ECDH P-256, SHA-256 KDF, AES-128-GCM
AUTH_ONLY = SecurityPolicy.both_ways(Protection.AUTHENTICATION)


def public_key(name: str) -> ec.EllipticCurvePublicKey:
    key = x509.load_pem_x509_certificate(VECTORS["keys"][name].encode()).public_key()
    assert isinstance(key, ec.EllipticCurvePublicKey)
    return key


def private_key(name: str) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(VECTORS["keys"][name].encode(), None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def signing_parts(frame: bytes) -> tuple[bytes, bytes, int, bytes]:
    """(originator title, content, offset after the content, signature) of a
    general-signing APDU whose fields are short (every RTDS one is)."""
    assert frame[0] == 0xDF
    p = 1
    fields = []
    for _ in range(5):
        n = frame[p]
        assert n < 0x80
        fields.append(frame[p + 1 : p + 1 + n])
        p += 1 + n
    if frame[p] == 0x81:
        n, p = frame[p + 1], p + 2
    elif frame[p] == 0x82:
        n, p = int.from_bytes(frame[p + 1 : p + 3], "big"), p + 3
    else:
        n, p = frame[p], p + 1
    end = p + n
    assert frame[end] in (0, 64)
    return fields[1], frame[p:end], end, frame[end + 1 : end + 1 + frame[end]]


def ciphering_parts(frame: bytes) -> tuple[bytes, bytes]:
    """(ciphered content = SC IC P MAC, plaintext P) of an RTDS general-ciphering."""
    assert frame[:7] == bytes.fromhex("DD000000000000")  # five empty fields, key-info absent
    p = 7
    if frame[p] == 0x81:
        n, p = frame[p + 1], p + 2
    elif frame[p] == 0x82:
        n, p = int.from_bytes(frame[p + 1 : p + 3], "big"), p + 3
    else:
        n, p = frame[p], p + 1
    content = frame[p : p + n]
    assert p + n == len(frame)
    return content, content[5:-12]


def gbcs_key(vector: dict[str, Any], plaintext: bytes) -> tuple[bytes, bytes]:
    """(content key, originator title) of one RTDS general-ciphering frame."""
    assert plaintext[0] == 0xDF and plaintext[1] == 9 and plaintext[11] == 8 and plaintext[20] == 8
    transaction_id, originator, recipient = plaintext[1:11], plaintext[12:20], plaintext[21:29]
    shared = private_key(vector["private_ka"] + "-ka.key").exchange(
        ec.ECDH(), public_key(vector["public_ka"] + "-ka.pem")
    )
    other_info = ALGORITHM_ID + originator + transaction_id + recipient
    return hashlib.sha256(b"\x00\x00\x00\x01" + shared + other_info).digest()[:16], originator


def test_the_vectors_are_the_ones_described() -> None:
    assert len(SIGNED) >= 5 and len(MACED) >= 5
    for v in SIGNED + MACED:
        assert v["file"].startswith("RTDS-4.5.0/") and v["file"].endswith("_GBCS.HEX")
    # commands, responses and alerts (CRA flag 1/2/3) among the MAC-only frames
    flags = {ciphering_parts(bytes.fromhex(v["hex"]))[1][2] for v in MACED}
    assert flags == {1, 2, 3}


@pytest.mark.parametrize("vector", SIGNED, ids=[v["file"].rsplit("/", 1)[1] for v in SIGNED])
def test_rtds_signatures_verify_over_the_standard_range(vector: dict[str, Any]) -> None:
    frame = bytes.fromhex(vector["hex"])
    signer, content, end, signature = signing_parts(frame)
    assert signer.hex() == vector["signer"] and len(signature) == 64
    key = public_key(vector["signer"] + "-ds.pem")
    ctx = SecurityContext(suite=1, peer_system_title=signer, peer_signing_key=key)
    assert ctx.general_signing_range is GeneralSigningRange.STANDARD
    opened = ctx.unprotect(frame)
    assert opened.plaintext == content
    assert opened.info.name == "general-signing"
    assert opened.info.system_title == signer
    assert opened.info.signature == signature
    # the range itself, outside dlmsmesh: bytes 1 .. end of content
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    key.verify(encode_dss_signature(r, s), frame[1:end], ec.ECDSA(hashes.SHA256()))
    # Gurux's range (the content without its length) fails on every real frame
    gurux = SecurityContext(suite=1, peer_system_title=signer, peer_signing_key=key, general_signing_range="gurux")
    with pytest.raises(AuthenticationError, match="signature did not verify"):
        gurux.unprotect(frame)


def test_the_known_answer_of_the_notes() -> None:
    """ECS01a FUTURE_DATED CURRENCY_UNIT: 145 bytes, bytes 1-79 signed."""
    vector = SIGNED[0]
    assert vector["file"].endswith("ECS01a_1.1.1_8F66_FUTURE_DATED_TOU_BLOCK_SUCCESS_ALERT_CURRENCY_UNIT_GBCS.HEX")
    frame = bytes.fromhex(vector["hex"])
    assert len(frame) == 145
    assert frame[:33].hex().upper() == "DF090300000000000007DE0800DB1234567890A00890B3D51F300100000002" + "00CC"
    _, content, end, _ = signing_parts(frame)
    assert end == 80 and len(content) == 46 and frame[end] == 64


@pytest.mark.parametrize("vector", MACED, ids=[v["file"].rsplit("/", 1)[1] for v in MACED])
def test_rtds_general_ciphering_macs_verify_with_the_header_aad(vector: dict[str, Any]) -> None:
    frame = bytes.fromhex(vector["hex"])
    content, plaintext = ciphering_parts(frame)
    assert content[:5] == bytes.fromhex("1100000000")  # SC: suite 1, authentication only; IC 0
    key, originator = gbcs_key(vector, plaintext)
    ctx = SecurityContext(suite=1, ek=key, ak=b"", peer_system_title=originator, policy=AUTH_ONLY, role=Role.CLIENT)
    assert ctx.general_ciphering_aad is GeneralCipheringAad.HEADER
    opened = ctx.unprotect(frame, replay_check=False)
    assert opened.plaintext == plaintext
    info = opened.info
    assert info.name == "general-ciphering" and info.security_control == 0x11 and info.invocation_counter == 0
    assert info.transaction_id == b"" and info.other_information == b""
    batch = ctx.unprotect_batch([frame], replay_check=False)
    assert batch.plaintexts[0] == plaintext
    # the AAD spelled out: SC, the empty AK, the five empty fields' length bytes, P
    mac = content[-12:]
    assert gcm_tag(key, originator, bytes.fromhex("110000000000") + plaintext) == mac
    assert gcm_tag(key, originator, bytes.fromhex("11000000000000") + plaintext) != mac  # key-info's byte: no
    assert gcm_tag(key, originator, bytes.fromhex("11") + plaintext) != mac  # SC || P (PLAIN): no
    plain_aad = SecurityContext(
        suite=1, ek=key, ak=b"", peer_system_title=originator, policy=AUTH_ONLY, general_ciphering_aad="plain"
    )
    with pytest.raises(AuthenticationError):
        plain_aad.unprotect(frame, replay_check=False)
    # without any AK (None, not b""), authenticated frames have no key
    no_ak = SecurityContext(suite=1, ek=key, peer_system_title=originator, policy=AUTH_ONLY)
    with pytest.raises(SecurityError, match="key"):
        no_ak.unprotect(frame, replay_check=False)
    # one flipped bit of the plaintext: the MAC no longer verifies
    bad = bytearray(frame)
    bad[-20] ^= 1
    with pytest.raises(AuthenticationError):
        ctx.unprotect(bytes(bad), replay_check=False)


def gcm_tag(key: bytes, title: bytes, aad: bytes) -> bytes:
    enc = Cipher(algorithms.AES(key), modes.GCM(title + bytes(4))).encryptor()
    enc.authenticate_additional_data(aad)
    enc.finalize()
    return enc.tag[:12]


def test_a_signed_command_inside_a_mac_verifies_too() -> None:
    """CS02c: a command the supplier signed, inside the ACB's MAC."""
    (vector,) = [v for v in MACED if v["file"].endswith("CS02c_6.17_ERROR_COMMAND_GBCS.HEX")]
    frame = bytes.fromhex(vector["hex"])
    _, plaintext = ciphering_parts(frame)
    key, originator = gbcs_key(vector, plaintext)
    mac_ctx = SecurityContext(suite=1, ek=key, ak=b"", peer_system_title=originator, policy=AUTH_ONLY)
    signed = mac_ctx.unprotect(frame, replay_check=False).plaintext
    signer, content, _, signature = signing_parts(signed)
    assert signer.hex() == "90b3d51f30010000" and len(signature) == 64
    sig_ctx = SecurityContext(suite=1, peer_system_title=signer, peer_signing_key=public_key("90b3d51f30010000-ds.pem"))
    assert sig_ctx.unprotect(signed).plaintext == content


# --------------------------------------------------------------------------
# our own signatures: the standard's range; Gurux's only when asked, to verify
# --------------------------------------------------------------------------

A = bytes.fromhex("4D4D4D0000000001")
B = bytes.fromhex("4D4D4D0000BC614E")
GET = bytes.fromhex("C0010000080000010000FF0200")


def _raw(key: ec.EllipticCurvePrivateKey, data: bytes) -> bytes:
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def _verifies(key: ec.EllipticCurvePublicKey, data: bytes, signature: bytes) -> bool:
    r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    try:
        key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hashes.SHA256()))
    except Exception:  # noqa: BLE001 - InvalidSignature: the answer is no
        return False
    return True


@pytest.mark.parametrize("size", [5, 200])  # one- and two-byte content lengths
def test_sign_covers_the_content_length(size: int) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    signer = SecurityContext(A, peer_system_title=B, suite=1, signing_key=key)
    content = bytes((0xC0,)) + bytes(size - 1)
    frame = signer.sign(content, transaction_id=bytes(8), other_information=b"\x01")
    header = sec.envelope.general_header(bytes(8), A, B, b"", b"\x01")
    length = bytes((size,)) if size < 0x80 else bytes((0x81, size))
    assert frame[: 1 + len(header) + len(length) + size] == b"\xdf" + header + length + content
    signature = frame[-64:]
    assert frame[-65] == 64
    assert _verifies(key.public_key(), header + length + content, signature)
    assert not _verifies(key.public_key(), header + content, signature)


def test_gurux_range_is_a_verifier_option() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    header = sec.envelope.general_header(bytes(8), A, B, b"", b"")
    unsigned = sec.envelope.general_signing_unsigned(header, GET)
    gurux_made = sec.envelope.general_signing_frame(unsigned, _raw(key, header + GET))
    standard_made = SecurityContext(A, peer_system_title=B, suite=1, signing_key=key).sign(GET)
    standard = SecurityContext(B, peer_system_title=A, suite=1, peer_signing_key=key.public_key(), role=Role.SERVER)
    gurux = SecurityContext(
        B,
        peer_system_title=A,
        suite=1,
        peer_signing_key=key.public_key(),
        role=Role.SERVER,
        general_signing_range=GeneralSigningRange.GURUX,
    )
    assert gurux.general_signing_range is GeneralSigningRange.GURUX
    assert gurux.unprotect(gurux_made).plaintext == GET
    assert standard.unprotect(standard_made).plaintext == GET
    with pytest.raises(AuthenticationError):
        standard.unprotect(gurux_made)
    with pytest.raises(AuthenticationError):
        gurux.unprotect(standard_made)
    with pytest.raises(ValueError):
        SecurityContext(suite=1, general_signing_range="length-free")


def test_empty_ak_only_where_asked() -> None:
    # b"" is the GBCS profile's empty AK; any other length but the suite's is refused
    assert SecurityContext(suite=1, ek=bytes(16), ak=b"").has_key("ak")
    with pytest.raises(EncodeError, match="ak must be 16 bytes"):
        SecurityContext(suite=1, ek=bytes(16), ak=bytes(5))
    with pytest.raises(EncodeError, match="ek must be 16 bytes"):
        SecurityContext(suite=1, ek=b"")


# --------------------------------------------------------------------------
# what we send: the same AAD, with fields set or empty, key-info left out
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "protection, key_info, date_time, other",
    [
        (Protection.AUTHENTICATED_ENCRYPTION, sec.KeyInfoKind.IDENTIFIED, bytes(range(12)), b"xyz"),
        (Protection.AUTHENTICATED_ENCRYPTION, sec.KeyInfoKind.NONE, b"", b"xyz"),
        (Protection.AUTHENTICATION, sec.KeyInfoKind.IDENTIFIED, b"", b""),
        (Protection.AUTHENTICATION, sec.KeyInfoKind.NONE, bytes(range(12)), b""),
    ],
)
def test_the_header_aad_we_send(
    protection: Protection, key_info: sec.KeyInfoKind, date_time: bytes, other: bytes
) -> None:
    ek, ak = bytes(range(16)), bytes(range(16, 32))
    ctx = SecurityContext(A, peer_system_title=B, suite=1, ek=ek, ak=ak, policy=0)
    tid = bytes.fromhex("0102030405060708")
    frame = ctx.protect_general_ciphering(
        GET, transaction_id=tid, date_time=date_time, other_information=other, key_info=key_info, protection=protection
    )
    fields = b"".join(bytes((len(f),)) + f for f in (tid, A, B, date_time, other))
    assert frame[: 1 + len(fields)] == b"\xdd" + fields
    info = b"\x00" if key_info is sec.KeyInfoKind.NONE else b"\x01\x00\x00"
    assert frame[1 + len(fields) : 1 + len(fields) + len(info)] == info
    content = frame[1 + len(fields) + len(info) + 1 :]
    sc, ic = content[0], content[1:5]
    assert sc == int(protection) | 1
    aad = bytes((sc,)) + ak + fields  # key-info is not in it
    enc = Cipher(algorithms.AES(ek), modes.GCM(A + ic)).encryptor()
    if protection is Protection.AUTHENTICATION:
        enc.authenticate_additional_data(aad + GET)
        enc.finalize()
        assert content[5:-12] == GET
    else:
        enc.authenticate_additional_data(aad)
        assert content[5:-12] == enc.update(GET)
        enc.finalize()
    assert content[-12:] == enc.tag[:12]
    receiver = SecurityContext(B, peer_system_title=A, suite=1, ek=ek, ak=ak, role=Role.SERVER, policy=0)
    assert receiver.unprotect(frame).plaintext == GET


@pytest.mark.single_backend
@pytest.mark.skipif(len(BACKENDS) < 2, reason="the C core is not built")
def test_both_backends_tell_an_empty_ak_from_none() -> None:
    from dlmsmesh._native import secure as native
    from dlmsmesh._pure import secure as pure

    ek, header = bytes(range(16)), bytes.fromhex("0000000000")
    for sc in (0x10, 0x11, 0x20, 0x30, 0x31):
        outs = []
        for mod in (native, pure):
            sealed = mod.seal(mod.new_key(ek, b""), sc, A, 7, GET, header)
            assert mod.unseal(mod.new_key(ek, b""), A, sealed, header) == GET
            try:
                mod.seal(mod.new_key(ek, None), sc, A, 7, GET, header)
                refused = ""
            except EncodeError as err:
                refused = str(err)
            outs.append((sealed, refused))
        assert outs[0] == outs[1]
        # the empty AK is not no AK: authenticated frames need one, encrypted-only ones do not
        assert bool(outs[0][1]) == bool(sc & 0x10)
        if sc & 0x10:
            # and not a 16-byte AK either: SC || AK differs, so does the tag
            other = pure.seal(pure.new_key(ek, bytes(16)), sc, A, 7, GET, header)
            assert other[:-12] == outs[0][0][:-12] and other[-12:] != outs[0][0][-12:]
