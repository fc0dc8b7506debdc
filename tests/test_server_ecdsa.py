"""The Server in security suites 1 and 2: AES-GCM-128/256 keys end to end
(ciphered AARQ/AARE, GET, HLS-GMAC), and HLS-ECDSA (mechanism 7) with the
meter's key from its Security setup or from MeterKeys, the client's from its
certificate or from MeterKeys.  The client side signs and verifies with
``cryptography`` directly, not with dlmsmesh's signing code."""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Any

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature, encode_dss_signature
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

from dlmsmesh import acse
from dlmsmesh import apdu as A
from dlmsmesh.acse_pdu import AcseServiceUserDiagnostic, AssociationResult, Mechanism
from dlmsmesh.apdu_model import ActionResult, MethodDescriptor
from dlmsmesh.cosem import CertificateType, default_meter
from dlmsmesh.cosem.typespec import octets
from dlmsmesh.security import KeyId, KeySet, Role, SecurityContext
from dlmsmesh.security.hls import gmac_reply, verify_gmac_reply
from dlmsmesh.security.keywrap import wrap_key
from dlmsmesh.server import Meter, MeterKeys
from dlmsmesh.types import Enum, OctetString, Structure
from dlmsmesh.xdlms_initiate import (
    CipheredUserInformation,
    InitiateResponse,
    decode_user_information,
    encode_user_information,
)

from .server_support import AUTHENC, CLIENT_TITLE, HLS_REPLY, LDN, NOW, TITLE, Client, make_server

D = AcseServiceUserDiagnostic
SUITES = pytest.mark.parametrize("suite", [1, 2], ids=["suite1", "suite2"])
#: suite -> (curve, hash, symmetric key size)
PARAMS: dict[int, tuple[type[ec.EllipticCurve], type[hashes.HashAlgorithm], int]] = {
    1: (ec.SECP256R1, hashes.SHA256, 16),
    2: (ec.SECP384R1, hashes.SHA384, 32),
}
SETUP = "0.0.43.0.0.255"
KEY_TRANSFER = MethodDescriptor(64, SETUP, 2)
OTHER_CLIENT = bytes.fromhex("4845530000000002")
NOT_ALLOWED = A.ExceptionResponse(1, 1)
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def keys_of(suite: int) -> dict[str, bytes]:
    """Distinct symmetric keys of the suite's size."""
    size = PARAMS[suite][2]
    return {
        name: bytes((base + i) & 0xFF for i in range(size))
        for name, base in (("ek", 0), ("ak", 64), ("bk", 128), ("kek", 192))
    }


def client_ctx(suite: int, title: bytes = CLIENT_TITLE, **overrides: bytes) -> SecurityContext:
    keys = {**keys_of(suite), **overrides}
    return SecurityContext(title, peer_system_title=TITLE, suite=suite, policy=AUTHENC, role=Role.CLIENT, **keys)


def new_key(suite: int) -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(PARAMS[suite][0]())


def certificate(
    suite: int, title: bytes, public: ec.EllipticCurvePublicKey, *, key_agreement: bool = False
) -> x509.Certificate:
    """A client certificate (subject CN=<title hex>) issued by a throw-away CA."""
    curve, hash_cls, _ = PARAMS[suite]
    ca = ec.generate_private_key(curve())
    usage = dict.fromkeys(
        (
            "content_commitment",
            "key_encipherment",
            "data_encipherment",
            "key_cert_sign",
            "crl_sign",
            "encipher_only",
            "decipher_only",
        ),
        False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, title.hex().upper())]))
        .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test CA")]))
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(START)
        .not_valid_after(START + dt.timedelta(days=365))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(digital_signature=not key_agreement, key_agreement=key_agreement, **usage), critical=True
        )
        .sign(ca, hash_cls())
    )


async def ecdsa_meter(
    suite: int,
    client_key: ec.EllipticCurvePrivateKey | None = None,
    *,
    policy: int = int(AUTHENC),
    generate: bool = True,
    **meter_keys: Any,
) -> Meter:
    """A meter whose management client (1) uses HLS-ECDSA; its Security setup
    generates its digital-signature key pair (method 4) and imports the
    client's certificate (method 6), as a head-end provisions it."""
    objects = default_meter(TITLE, now=lambda: NOW, authentication="hls-ecdsa", policy=policy, suite=suite)
    setup = objects.security_setup
    if generate and suite:
        assert await setup.action(4, Enum(int(CertificateType.DIGITAL_SIGNATURE))) == (ActionResult.SUCCESS, None)
    if client_key is not None:
        der = certificate(suite, CLIENT_TITLE, client_key.public_key()).public_bytes(Encoding.DER)
        assert await setup.action(6, octets(der)) == (ActionResult.SUCCESS, None)
    keys = {**keys_of(suite if suite else 1), **meter_keys} if policy else meter_keys
    return Meter.from_objects(objects, keys=MeterKeys(suite=suite, **keys))


def server_public_key(meter: Meter) -> ec.EllipticCurvePublicKey:
    setup = meter.logical_devices[1].get(SETUP)
    key = setup.key_pair(CertificateType.DIGITAL_SIGNATURE)  # type: ignore[union-attr]
    assert key is not None
    return key.public_key()


def sign(key: ec.EllipticCurvePrivateKey, suite: int, data: bytes) -> bytes:
    """ECDSA over ``data`` as raw r || s (what mechanism 7 carries)."""
    curve, hash_cls, _ = PARAMS[suite]
    size = (curve().key_size + 7) // 8
    r, s = decode_dss_signature(key.sign(data, ec.ECDSA(hash_cls())))
    return r.to_bytes(size, "big") + s.to_bytes(size, "big")


def check(key: ec.EllipticCurvePublicKey, suite: int, data: bytes, signature: bytes) -> None:
    curve, hash_cls, _ = PARAMS[suite]
    size = (curve().key_size + 7) // 8
    assert len(signature) == 2 * size
    r, s = int.from_bytes(signature[:size], "big"), int.from_bytes(signature[size:], "big")
    key.verify(encode_dss_signature(r, s), data, ec.ECDSA(hash_cls()))


async def ecdsa_pass3(
    client: Client, suite: int, client_key: ec.EllipticCurvePrivateKey, cipher: str | None = "glo"
) -> A.Apdu:
    """Pass 3 with f(StoC) = ECDSA(client title | server title | StoC | CtoS)."""
    assert client.stoc is not None and client.ctos is not None
    f_stoc = sign(client_key, suite, CLIENT_TITLE + TITLE + client.stoc + client.ctos)
    return await client.request(A.ActionRequestNormal(HLS_REPLY, octets(f_stoc)), cipher)


# ------------------------------------------------------------ suites 1 and 2


@SUITES
@pytest.mark.asyncio
async def test_suite_keys_work_end_to_end_with_hls_gmac(suite: int) -> None:
    objects = default_meter(TITLE, now=lambda: NOW, authentication="hls-gmac", policy=int(AUTHENC), suite=suite)
    meter = Meter.from_objects(objects, keys=MeterKeys(suite=suite, **keys_of(suite)))
    server = make_server(meter)
    ctx = client_ctx(suite)
    client = Client(server, client_sap=1, ctx=ctx)
    aarq = client.hls_aarq(Mechanism.HIGH_GMAC)
    assert isinstance(aarq.user_information, CipheredUserInformation)
    assert aarq.user_information.content[0] == 0x30 | suite
    aare = await client.associate(aarq)
    assert aare.result == AssociationResult.ACCEPTED and aare.diagnostic == D.AUTHENTICATION_REQUIRED
    info = aare.user_information
    # the glo-initiate-response: authenticated and encrypted in this suite
    assert isinstance(info, CipheredUserInformation) and info.tag == 0x28 and info.content[0] == 0x30 | suite
    opened = decode_user_information(ctx.unprotect(encode_user_information(info)).plaintext)
    assert isinstance(opened, InitiateResponse) and opened.max_receive_pdu_size == 1224
    assert client.stoc is not None and client.ctos is not None
    response = await client.request(A.ActionRequestNormal(HLS_REPLY, octets(gmac_reply(ctx, client.stoc))), "glo")
    assert isinstance(response, A.ActionResponseNormal) and response.result == ActionResult.SUCCESS
    f_ctos = bytes(response.return_parameters)
    assert len(f_ctos) == 17 and f_ctos[0] == 0x10 | suite
    verify_gmac_reply(ctx, client.ctos, f_ctos)
    request = ctx.protect(A.encode(A.GetRequestNormal(LDN)))
    assert request[2] == 0x30 | suite
    reply = await client.send(request)
    assert reply[0] == 0xCC and reply[2] == 0x30 | suite
    assert A.decode(ctx.unprotect(reply).plaintext).result == b"MMM0000012345678"
    # another key of the suite's size opens nothing
    wrong = client_ctx(suite, ek=bytes(PARAMS[suite][2]))
    wrong.reserve_counters(KeySet.UNICAST, 100)
    assert await client.send(wrong.protect(A.encode(A.GetRequestNormal(LDN)))) == bytes.fromhex("D80105")


def test_meter_keys_check_sizes_and_curves() -> None:
    with pytest.raises(ValueError, match="32 octets in suite 2"):
        MeterKeys(suite=2, ek=bytes(16))
    with pytest.raises(ValueError, match="16 octets in suite 1"):
        MeterKeys(suite=1, ak=bytes(32))
    with pytest.raises(ValueError, match="0, 1 or 2"):
        MeterKeys(suite=3)
    with pytest.raises(ValueError, match="secp256r1"):
        MeterKeys(suite=1, signing_key=new_key(2))
    with pytest.raises(ValueError, match="suite 0"):
        MeterKeys(signing_key=new_key(1))
    with pytest.raises(ValueError, match="secp384r1"):
        MeterKeys(suite=2, client_signing_keys={CLIENT_TITLE: new_key(1).public_key()})
    with pytest.raises(ValueError, match="8 octets"):
        MeterKeys(suite=1, client_signing_keys={b"short": new_key(1).public_key()})
    # the mapping is copied: changing the caller's later changes nothing
    mine = {CLIENT_TITLE: new_key(1).public_key()}
    keys = MeterKeys(suite=1, client_signing_keys=mine)
    mine[OTHER_CLIENT] = new_key(1).public_key()
    assert list(keys.client_signing_keys) == [CLIENT_TITLE]


# ------------------------------------------------------------------ HLS-ECDSA


@SUITES
@pytest.mark.asyncio
async def test_hls_ecdsa_four_passes_with_the_security_setup_keys(suite: int) -> None:
    client_key = new_key(suite)
    meter = await ecdsa_meter(suite, client_key)
    server = make_server(meter)
    ctx = client_ctx(suite)
    client = Client(server, client_sap=1, ctx=ctx)
    raw = await client.send(acse.encode(client.hls_aarq(Mechanism.HIGH_ECDSA)))
    aare = acse.decode(raw)
    assert aare.result == AssociationResult.ACCEPTED and aare.diagnostic == D.AUTHENTICATION_REQUIRED
    assert aare.mechanism == Mechanism.HIGH_ECDSA and aare.responder_acse_requirements == "1"
    assert aare.responding_ap_title == TITLE
    # mechanism-name 2.16.756.5.8.2.7 in the AARE
    assert bytes.fromhex("8907608574050802 07".replace(" ", "")) in raw
    stoc = aare.responding_authentication_value
    assert stoc is not None and 8 <= len(stoc) <= 64
    client.stoc = stoc
    assert client.ctos is not None

    response = await ecdsa_pass3(client, suite, client_key)
    assert isinstance(response, A.ActionResponseNormal) and response.result == ActionResult.SUCCESS
    f_ctos = bytes(response.return_parameters)
    # f(CtoS) = ECDSA(server title | client title | CtoS | StoC) by the Security setup's key pair
    check(server_public_key(meter), suite, TITLE + CLIENT_TITLE + client.ctos + stoc, f_ctos)
    with pytest.raises(InvalidSignature):
        check(server_public_key(meter), suite, CLIENT_TITLE + TITLE + stoc + client.ctos, f_ctos)
    assert await client.get(LDN, "glo") == b"MMM0000012345678"
    assert (await client.release()).reason == 0


@SUITES
@pytest.mark.asyncio
async def test_hls_ecdsa_with_keys_given_in_meter_keys_in_the_plain_context(suite: int) -> None:
    client_key, server_key = new_key(suite), new_key(suite)
    # the Security setup has a key pair and no certificate: MeterKeys' keys win
    meter = await ecdsa_meter(
        suite, policy=0, signing_key=server_key, client_signing_keys={CLIENT_TITLE: client_key.public_key()}
    )
    assert not meter.keys  # no symmetric keys at all
    client = Client(make_server(meter), client_sap=1)
    aare = await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA, ciphered=False))
    assert aare.result == AssociationResult.ACCEPTED and aare.diagnostic == D.AUTHENTICATION_REQUIRED
    assert client.stoc is not None and client.ctos is not None
    response = await ecdsa_pass3(client, suite, client_key, cipher=None)
    assert isinstance(response, A.ActionResponseNormal) and response.result == ActionResult.SUCCESS
    f_ctos = bytes(response.return_parameters)
    check(server_key.public_key(), suite, TITLE + CLIENT_TITLE + client.ctos + client.stoc, f_ctos)
    with pytest.raises(InvalidSignature):
        check(server_public_key(meter), suite, TITLE + CLIENT_TITLE + client.ctos + client.stoc, f_ctos)
    assert await client.get(LDN) == b"MMM0000012345678"


@SUITES
@pytest.mark.asyncio
async def test_hls_ecdsa_wrong_client_key_is_denied_once_and_for_all(suite: int) -> None:
    client_key = new_key(suite)
    meter = await ecdsa_meter(suite, client_key)
    client = Client(make_server(meter), client_sap=1, ctx=client_ctx(suite))
    aare = await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))
    assert aare.diagnostic == D.AUTHENTICATION_REQUIRED
    impostor = new_key(suite)
    assert await ecdsa_pass3(client, suite, impostor) == A.ActionResponseNormal(ActionResult.READ_WRITE_DENIED)
    assert await client.request(A.GetRequestNormal(LDN), "glo") == NOT_ALLOWED
    # the right signature after a wrong one: still denied (one attempt per AARQ)
    assert await ecdsa_pass3(client, suite, client_key) == A.ActionResponseNormal(ActionResult.READ_WRITE_DENIED)
    assert await client.request(A.GetRequestNormal(LDN), "glo") == NOT_ALLOWED
    # a signature of the right key over the wrong data (titles swapped), after a new AARQ
    await client.release()
    await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))
    assert client.stoc is not None and client.ctos is not None
    swapped = sign(client_key, suite, TITLE + CLIENT_TITLE + client.stoc + client.ctos)
    denied = await client.request(A.ActionRequestNormal(HLS_REPLY, octets(swapped)), "glo")
    assert denied == A.ActionResponseNormal(ActionResult.READ_WRITE_DENIED)
    # and a truncated one
    await client.release()
    await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))
    assert client.stoc is not None and client.ctos is not None
    short = sign(client_key, suite, CLIENT_TITLE + TITLE + client.stoc + client.ctos)[:-1]
    denied = await client.request(A.ActionRequestNormal(HLS_REPLY, octets(short)), "glo")
    assert denied == A.ActionResponseNormal(ActionResult.READ_WRITE_DENIED)


@SUITES
@pytest.mark.asyncio
async def test_hls_ecdsa_unknown_client_title_is_not_recognized(suite: int) -> None:
    client_key = new_key(suite)
    meter = await ecdsa_meter(suite, client_key)
    # a key-agreement certificate of the other client does not sign for it
    setup = meter.logical_devices[1].get(SETUP)
    der = certificate(suite, OTHER_CLIENT, new_key(suite).public_key(), key_agreement=True).public_bytes(Encoding.DER)
    assert await setup.action(6, octets(der)) == (ActionResult.SUCCESS, None)  # type: ignore[union-attr]
    server = make_server(meter)
    for title in (OTHER_CLIENT, bytes.fromhex("4845530000000003")):
        client = Client(server, client_sap=1, ctx=client_ctx(suite, title=title))
        aare = await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))
        assert aare.result == AssociationResult.REJECTED_PERMANENT
        assert aare.diagnostic == D.CALLING_AP_TITLE_NOT_RECOGNIZED
    # no calling-AP-title at all
    client = Client(server, client_sap=1, ctx=client_ctx(suite))
    aarq = dataclasses.replace(client.hls_aarq(Mechanism.HIGH_ECDSA), calling_ap_title=None)
    assert (await client.associate(aarq)).diagnostic == D.CALLING_AP_TITLE_NOT_RECOGNIZED
    # the certified client gets in
    assert (await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))).diagnostic == D.AUTHENTICATION_REQUIRED
    assert server.stats.associations_refused == 3


@pytest.mark.asyncio
async def test_hls_ecdsa_needs_suite_1_or_2_and_a_signing_key() -> None:
    client_key = new_key(1)
    # suite 0 signs nothing (MeterKeys refuses a signing key there, and its
    # Security setup has no key pairs): the mechanism is not served
    meter = await ecdsa_meter(0, generate=False)
    assert meter.keys.suite == 0
    ctx = SecurityContext(CLIENT_TITLE, peer_system_title=TITLE, policy=AUTHENC, role=Role.CLIENT, **keys_of(1))
    client = Client(make_server(meter), client_sap=1, ctx=ctx)
    aare = await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))
    assert aare.result == AssociationResult.REJECTED_PERMANENT
    assert aare.diagnostic == D.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED
    # suite 1 with the client's certificate but no key pair generated yet
    meter = await ecdsa_meter(1, client_key, generate=False)
    server = make_server(meter)
    client = Client(server, client_sap=1, ctx=client_ctx(1))
    aare = await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))
    assert aare.diagnostic == D.AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED
    # generate_key_pair 0 makes it work
    setup = meter.logical_devices[1].get(SETUP)
    assert await setup.action(4, Enum(0)) == (ActionResult.SUCCESS, None)  # type: ignore[union-attr]
    aare = await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))
    assert aare.diagnostic == D.AUTHENTICATION_REQUIRED
    response = await ecdsa_pass3(client, 1, client_key)
    assert isinstance(response, A.ActionResponseNormal) and response.result == ActionResult.SUCCESS


@pytest.mark.asyncio
async def test_hls_ecdsa_only_pass_3_before_authentication() -> None:
    client_key = new_key(1)
    meter = await ecdsa_meter(1, client_key)
    client = Client(make_server(meter), client_sap=1, ctx=client_ctx(1))
    await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))
    for request in (
        A.GetRequestNormal(LDN),
        A.ActionRequestNormal(
            KEY_TRANSFER, [Structure((Enum(int(KeyId.GLOBAL_UNICAST_ENCRYPTION)), OctetString(bytes(24))))]
        ),
        # method 1 of another Association LN is not pass 3
        A.ActionRequestNormal(MethodDescriptor(15, "0.0.40.0.2.255", 1), octets(bytes(64))),
    ):
        assert await client.request(request, "glo") == NOT_ALLOWED
    response = await ecdsa_pass3(client, 1, client_key)
    assert isinstance(response, A.ActionResponseNormal) and response.result == ActionResult.SUCCESS
    assert await client.get(LDN, "glo") == b"MMM0000012345678"
    # pass 3 again once authenticated: nothing pending
    assert await ecdsa_pass3(client, 1, client_key) == A.ActionResponseNormal(ActionResult.READ_WRITE_DENIED)


@pytest.mark.asyncio
async def test_hls_ecdsa_pass_3_uses_the_keys_in_force_then() -> None:
    client_key = new_key(2)
    meter = await ecdsa_meter(2, client_key)
    setup = meter.logical_devices[1].get(SETUP)
    client = Client(make_server(meter), client_sap=1, ctx=client_ctx(2))
    await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))
    # the key pair is replaced between AARQ and pass 3: f(CtoS) comes from the new one
    assert await setup.action(4, Enum(0)) == (ActionResult.SUCCESS, None)  # type: ignore[union-attr]
    response = await ecdsa_pass3(client, 2, client_key)
    assert isinstance(response, A.ActionResponseNormal) and response.result == ActionResult.SUCCESS
    assert client.stoc is not None and client.ctos is not None
    check(
        server_public_key(meter), 2, TITLE + CLIENT_TITLE + client.ctos + client.stoc, bytes(response.return_parameters)
    )
    # the client's certificate removed between AARQ and pass 3: denied
    await client.release()
    await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))
    remove = Structure((Enum(0), Structure((Enum(1), Enum(0), octets(CLIENT_TITLE)))))
    assert await setup.action(8, remove) == (ActionResult.SUCCESS, None)  # type: ignore[union-attr]
    assert await ecdsa_pass3(client, 2, client_key) == A.ActionResponseNormal(ActionResult.READ_WRITE_DENIED)


@pytest.mark.asyncio
async def test_key_transfer_keeps_the_suite_key_size_and_the_signing_keys() -> None:
    client_key, server_key = new_key(2), new_key(2)
    meter = await ecdsa_meter(2, signing_key=server_key, client_signing_keys={CLIENT_TITLE: client_key.public_key()})
    server = make_server(meter)
    kek = keys_of(2)["kek"]
    client = Client(server, client_sap=1, ctx=client_ctx(2))
    await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))
    assert (await ecdsa_pass3(client, 2, client_key)).result == ActionResult.SUCCESS  # type: ignore[attr-defined]
    # a 16-octet key is no suite-2 key: refused, nothing changes
    short = [Structure((Enum(int(KeyId.GLOBAL_UNICAST_ENCRYPTION)), OctetString(wrap_key(kek, bytes(range(16))))))]
    assert await client.request(A.ActionRequestNormal(KEY_TRANSFER, short), "glo") == A.ActionResponseNormal(
        ActionResult.OTHER_REASON
    )
    assert meter.keys.ek == keys_of(2)["ek"]
    assert await client.get(LDN, "glo") == b"MMM0000012345678"
    new_ek = bytes(range(100, 132))
    good = [Structure((Enum(int(KeyId.GLOBAL_UNICAST_ENCRYPTION)), OctetString(wrap_key(kek, new_ek))))]
    assert await client.request(A.ActionRequestNormal(KEY_TRANSFER, good), "glo") == A.ActionResponseNormal(
        ActionResult.SUCCESS
    )
    assert meter.keys.ek == new_ek and meter.keys.signing_key is server_key
    assert dict(meter.keys.client_signing_keys) == {CLIENT_TITLE: client_key.public_key()}
    # a new association under the new key still authenticates with ECDSA
    fresh = Client(server, client_sap=1, ctx=client_ctx(2, ek=new_ek), source=client.source)
    await fresh.associate(fresh.hls_aarq(Mechanism.HIGH_ECDSA))
    assert (await ecdsa_pass3(fresh, 2, client_key)).result == ActionResult.SUCCESS  # type: ignore[attr-defined]
    assert await fresh.get(LDN, "glo") == b"MMM0000012345678"


@pytest.mark.asyncio
async def test_no_key_in_logs_or_reprs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client_key, server_key = new_key(1), new_key(1)
    meter = await ecdsa_meter(1, client_key)
    explicit = MeterKeys(
        suite=1, signing_key=server_key, client_signing_keys={OTHER_CLIENT: client_key.public_key()}, **keys_of(1)
    )
    server = make_server(meter)
    client = Client(server, client_sap=1, ctx=client_ctx(1))
    await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))
    await ecdsa_pass3(client, 1, new_key(1))  # denied
    await client.release()
    await client.associate(client.hls_aarq(Mechanism.HIGH_ECDSA))
    await ecdsa_pass3(client, 1, client_key)
    await client.get(LDN, "glo")
    stranger = Client(server, client_sap=1, ctx=client_ctx(1, title=bytes.fromhex("4845530000000009")))
    await stranger.associate(stranger.hls_aarq(Mechanism.HIGH_ECDSA))
    own = meter.signing_key(meter.association(1, 1))  # type: ignore[arg-type]
    assert own is not None
    secrets = [f"{key.private_numbers().private_value:x}" for key in (own, server_key, client_key)]
    secrets += [value.hex() for value in keys_of(1).values()]
    text = caplog.text + repr(meter) + repr(explicit) + repr(meter.keys)
    for secret in secrets:
        assert secret.lower() not in text.lower() and secret.upper() not in text
    assert repr(explicit) == "MeterKeys(suite=1, keys=ek/ak/bk/kek/signing_key, client_signing_keys=1)"
