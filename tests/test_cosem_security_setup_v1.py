"""Security setup version 1, methods 3 to 8 and attribute 6: key pairs on the
suite's curve, certificate requests, importing, listing, exporting and
removing X.509 certificates, and the ephemeral-ephemeral key agreement, with
every failure answered by an ActionResult and no key in a log."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from dlmsmesh import axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import ActionResult, DataAccessResult
from dlmsmesh.cosem import AccessRights, CertificateEntity, CertificateType, SecuritySetup
from dlmsmesh.security import KeyId, SecuritySuite
from dlmsmesh.security.signing import sign_raw, verify_raw

from .helpers import hexbytes

SERVER_TITLE = hexbytes("4D 4D 4D 00 00 BC 61 4E")
CLIENT_TITLE = hexbytes("41 42 43 44 45 46 47 48")
SUITES = {
    SecuritySuite.ECDH_ECDSA_AES_GCM_128_SHA256: (ec.SECP256R1, hashes.SHA256, 0, 16),
    SecuritySuite.ECDH_ECDSA_AES_GCM_256_SHA384: (ec.SECP384R1, hashes.SHA384, 1, 32),
}
SUITE_PARAMS = pytest.mark.parametrize("suite", list(SUITES), ids=["suite1", "suite2"])
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def usage(kind: CertificateType | None, ca: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=kind in (CertificateType.DIGITAL_SIGNATURE, CertificateType.TLS),
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=kind in (CertificateType.KEY_AGREEMENT, CertificateType.TLS),
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


class Authority:
    """A test CA issuing certificates on one curve."""

    def __init__(self, suite: int) -> None:
        self.curve, self.hash, _alg, _len = SUITES[SecuritySuite(suite)]
        self.key = ec.generate_private_key(self.curve())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dlmsmesh test CA")])
        self.serial = 1000
        self.cert = self._build(self.name, self.key.public_key(), None, ca=True)

    def _build(
        self, subject: x509.Name, public: Any, kind: CertificateType | None, *, ca: bool = False, alt: bool = False
    ) -> x509.Certificate:
        self.serial += 1
        builder = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.name)
            .public_key(public)
            .serial_number(self.serial)
            .not_valid_before(START)
            .not_valid_after(START + dt.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
            .add_extension(usage(kind, ca), critical=True)
        )
        if alt:
            builder = builder.add_extension(
                x509.SubjectAlternativeName([x509.DNSName("meter.example")]), critical=False
            )
        return builder.sign(self.key, self.hash())

    def issue(self, title: bytes, public: Any, kind: CertificateType, *, alt: bool = False) -> x509.Certificate:
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, title.hex().upper())])
        return self._build(subject, public, kind, alt=alt)

    def sign_request(self, der: bytes, kind: CertificateType) -> x509.Certificate:
        request = x509.load_der_x509_csr(der)
        assert request.is_signature_valid
        return self._build(request.subject, request.public_key(), kind)


def der(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(Encoding.DER)


def setup_for(suite: int, **kwargs: Any) -> SecuritySetup:
    return SecuritySetup(server_system_title=SERVER_TITLE, client_system_title=CLIENT_TITLE, suite=suite, **kwargs)


def by_entity(entity: int, kind: int, title: bytes) -> t.Structure:
    return t.Structure((t.Enum(0), t.Structure((t.Enum(entity), t.Enum(kind), title))))


def by_serial(serial: bytes, issuer: bytes) -> t.Structure:
    return t.Structure((t.Enum(1), t.Structure((serial, issuer))))


def test_tables_and_access() -> None:
    setup = setup_for(1)
    assert setup.method_specs()[3].name == "key_agreement"
    assert [setup.method_specs()[i].name for i in range(4, 9)] == [
        "generate_key_pair",
        "generate_certificate_request",
        "import_certificate",
        "export_certificate",
        "remove_certificate",
    ]
    rights = AccessRights()
    assert rights.check_set(setup, 6) is DataAccessResult.READ_WRITE_DENIED
    assert run(setup.set(6, t.Array())) == DataAccessResult.READ_WRITE_DENIED
    assert axdr.encode(run(setup.get(6))) == hexbytes("01 00")


@SUITE_PARAMS
def test_key_pair_request_certificate_round_trip(suite: int) -> None:
    """generate_key_pair, then a CSR the CA signs, imported, listed in
    attribute 6 and exported by entity and by serial, then removed."""
    ca = Authority(suite)
    setup = setup_for(suite)
    curve = SUITES[SecuritySuite(suite)][0]
    assert run(setup.action(4, t.Enum(CertificateType.DIGITAL_SIGNATURE))) == (ActionResult.SUCCESS, None)
    key = setup.key_pair(CertificateType.DIGITAL_SIGNATURE)
    assert key is not None and key.curve.name == curve.name
    assert setup.key_pair(CertificateType.KEY_AGREEMENT) is None
    result, csr = run(setup.action(5, t.Enum(CertificateType.DIGITAL_SIGNATURE)))
    assert result is ActionResult.SUCCESS and isinstance(csr, t.OctetString)
    request = x509.load_der_x509_csr(bytes(csr))
    assert request.is_signature_valid
    assert request.subject.rfc4514_string() == "CN=4D4D4D0000BC614E"
    assert request.public_key().public_numbers() == key.public_key().public_numbers()
    requested = request.extensions.get_extension_for_class(x509.KeyUsage).value
    assert requested.digital_signature and not requested.key_agreement
    cert = ca.sign_request(bytes(csr), CertificateType.DIGITAL_SIGNATURE)
    assert run(setup.action(6, der(cert))) == (ActionResult.SUCCESS, None)
    assert run(setup.action(6, der(ca.cert))) == (ActionResult.SUCCESS, None)
    info = run(setup.get(6))
    serial = bytes([0x02, 0x02]) + cert.serial_number.to_bytes(2, "big")
    assert info == [
        (
            t.Enum(CertificateEntity.SERVER),
            t.Enum(CertificateType.DIGITAL_SIGNATURE),
            serial,
            ca.name.public_bytes(),
            cert.subject.public_bytes(),
            b"",
        ),
        (
            t.Enum(CertificateEntity.CERTIFICATION_AUTHORITY),
            t.Enum(CertificateType.OTHER),
            bytes([0x02, 0x02]) + ca.cert.serial_number.to_bytes(2, "big"),
            ca.name.public_bytes(),
            ca.name.public_bytes(),
            b"",
        ),
    ]
    # the value round-trips through A-XDR
    assert axdr.decode(axdr.encode(info)) == info
    exported = run(setup.action(7, by_entity(0, 0, SERVER_TITLE)))
    assert exported == (ActionResult.SUCCESS, der(cert))
    # by serial: DER INTEGER or bare octets, issuer as DER Name or RFC 4514 text
    for number in (serial, cert.serial_number.to_bytes(2, "big"), str(cert.serial_number).encode()):
        for issuer in (ca.name.public_bytes(), ca.name.rfc4514_string().encode()):
            assert run(setup.action(7, by_serial(number, issuer))) == (ActionResult.SUCCESS, der(cert))
    assert run(setup.action(8, by_serial(serial, ca.name.public_bytes()))) == (ActionResult.SUCCESS, None)
    assert [bytes(i[2]) for i in run(setup.get(6))] == [bytes(info[1][2])]
    assert run(setup.action(7, by_entity(0, 0, SERVER_TITLE))) == (ActionResult.OBJECT_UNAVAILABLE, None)


@SUITE_PARAMS
def test_key_pair_types_and_requests_for_each(suite: int) -> None:
    setup = setup_for(suite)
    for kind in (CertificateType.KEY_AGREEMENT, CertificateType.TLS):
        assert run(setup.action(5, t.Enum(kind))) == (ActionResult.READ_WRITE_DENIED, None)
        assert run(setup.action(4, t.Enum(kind))) == (ActionResult.SUCCESS, None)
        result, csr = run(setup.action(5, t.Enum(kind)))
        assert result is ActionResult.SUCCESS
        requested = x509.load_der_x509_csr(bytes(csr)).extensions.get_extension_for_class(x509.KeyUsage).value
        assert requested.key_agreement and requested.digital_signature == (kind is CertificateType.TLS)
    first = setup.key_pair(CertificateType.TLS)
    assert run(setup.action(4, t.Enum(CertificateType.TLS))) == (ActionResult.SUCCESS, None)
    second = setup.key_pair(CertificateType.TLS)
    assert first is not None and second is not None
    assert first.public_key().public_numbers() != second.public_key().public_numbers()
    # no key pair of type "other", none beyond; not an enum
    for method in (4, 5):
        assert run(setup.action(method, t.Enum(3))) == (ActionResult.OTHER_REASON, None)
        assert run(setup.action(method, t.Enum(7))) == (ActionResult.OTHER_REASON, None)
        assert run(setup.action(method, t.Unsigned(0))) == (ActionResult.TYPE_UNMATCHED, None)
        assert run(setup.action(method, b"\x00")) == (ActionResult.TYPE_UNMATCHED, None)


def test_suite_0_has_no_key_pairs_or_certificates() -> None:
    ca = Authority(1)
    setup = setup_for(0)
    client = ca.issue(
        CLIENT_TITLE, ec.generate_private_key(ec.SECP256R1()).public_key(), CertificateType.DIGITAL_SIGNATURE
    )
    answers = [
        run(setup.action(3, [(t.Enum(0), bytes(128))])),
        run(setup.action(4, t.Enum(0))),
        run(setup.action(5, t.Enum(0))),
        run(setup.action(6, der(client))),
        run(setup.action(7, by_entity(1, 0, CLIENT_TITLE))),
        run(setup.action(8, by_entity(1, 0, CLIENT_TITLE))),
    ]
    assert answers == [(ActionResult.READ_WRITE_DENIED, None)] * 6
    assert run(setup.get(6)) == []
    with pytest.raises(ValueError):
        setup_for(0, key_pairs={CertificateType.DIGITAL_SIGNATURE: ec.generate_private_key(ec.SECP256R1())})
    with pytest.raises(ValueError):
        setup_for(0, certificates=[client])
    with pytest.raises(ValueError):
        setup_for(2, key_pairs={CertificateType.DIGITAL_SIGNATURE: ec.generate_private_key(ec.SECP256R1())})


def test_import_refuses_bad_certificates() -> None:
    ca = Authority(1)
    setup = setup_for(1)
    client_key = ec.generate_private_key(ec.SECP256R1())
    good = ca.issue(CLIENT_TITLE, client_key.public_key(), CertificateType.DIGITAL_SIGNATURE)
    # not DER, truncated, not an octet-string
    assert run(setup.action(6, b"\x30\x03\x02\x01\x01")) == (ActionResult.OTHER_REASON, None)
    assert run(setup.action(6, der(good)[:-10])) == (ActionResult.OTHER_REASON, None)
    assert run(setup.action(6, b"")) == (ActionResult.OTHER_REASON, None)
    assert run(setup.action(6, t.VisibleString("cert"))) == (ActionResult.TYPE_UNMATCHED, None)
    # a P-384 key in suite 1
    other_curve = ca.issue(
        CLIENT_TITLE, ec.generate_private_key(ec.SECP384R1()).public_key(), CertificateType.DIGITAL_SIGNATURE
    )
    assert run(setup.action(6, der(other_curve))) == (ActionResult.OTHER_REASON, None)
    # an end-entity certificate with no signing or agreement usage
    useless = ca._build(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "X")]), client_key.public_key(), None)
    assert run(setup.action(6, der(useless))) == (ActionResult.OTHER_REASON, None)
    # a server certificate for another key than the server's own key pair
    assert run(setup.action(4, t.Enum(0))) == (ActionResult.SUCCESS, None)
    stranger = ca.issue(SERVER_TITLE, client_key.public_key(), CertificateType.DIGITAL_SIGNATURE)
    assert run(setup.action(6, der(stranger))) == (ActionResult.OTHER_REASON, None)
    assert run(setup.get(6)) == []
    assert run(setup.action(6, der(good))) == (ActionResult.SUCCESS, None)
    assert len(run(setup.get(6))) == 1


def test_import_replaces_a_renewed_certificate_and_lists_alt_names() -> None:
    ca = Authority(1)
    setup = setup_for(1)
    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    first = ca.issue(CLIENT_TITLE, key, CertificateType.DIGITAL_SIGNATURE)
    agreement = ca.issue(CLIENT_TITLE, key, CertificateType.KEY_AGREEMENT, alt=True)
    renewed = ca.issue(CLIENT_TITLE, key, CertificateType.DIGITAL_SIGNATURE)
    for cert in (first, agreement, renewed, renewed):
        assert run(setup.action(6, der(cert))) == (ActionResult.SUCCESS, None)
    assert setup.certificate_list == (agreement, renewed)
    info = run(setup.get(6))
    assert [(int(i[0]), int(i[1])) for i in info] == [(1, 1), (1, 0)]
    alt = agreement.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert bytes(info[0][5]) == alt.public_bytes() and bytes(info[1][5]) == b""
    assert setup.find_certificate(CertificateEntity.CLIENT, CertificateType.KEY_AGREEMENT, CLIENT_TITLE) == agreement


def test_export_and_remove_failures() -> None:
    ca = Authority(1)
    client = ca.issue(
        CLIENT_TITLE, ec.generate_private_key(ec.SECP256R1()).public_key(), CertificateType.DIGITAL_SIGNATURE
    )
    setup = setup_for(1, certificates=[client])
    serial = client.serial_number.to_bytes(2, "big")
    for method in (7, 8):
        # unknown serial, wrong issuer, wrong entity / type / title
        assert run(setup.action(method, by_serial(b"\x7f\x7f", ca.name.public_bytes()))) == (
            ActionResult.OBJECT_UNAVAILABLE,
            None,
        )
        assert run(setup.action(method, by_serial(serial, b"CN=someone else"))) == (
            ActionResult.OBJECT_UNAVAILABLE,
            None,
        )
        assert run(setup.action(method, by_entity(0, 0, CLIENT_TITLE))) == (ActionResult.OBJECT_UNAVAILABLE, None)
        assert run(setup.action(method, by_entity(1, 1, CLIENT_TITLE))) == (ActionResult.OBJECT_UNAVAILABLE, None)
        assert run(setup.action(method, by_entity(1, 0, SERVER_TITLE))) == (ActionResult.OBJECT_UNAVAILABLE, None)
        assert run(setup.action(method, by_entity(9, 0, CLIENT_TITLE))) == (ActionResult.OBJECT_UNAVAILABLE, None)
        # identification type 2, a malformed identification, not a structure
        assert run(setup.action(method, t.Structure((t.Enum(2), t.Structure((serial,)))))) == (
            ActionResult.OTHER_REASON,
            None,
        )
        assert run(setup.action(method, t.Structure((t.Enum(0), t.Structure((serial, serial)))))) == (
            ActionResult.TYPE_UNMATCHED,
            None,
        )
        assert run(setup.action(method, t.Structure((t.Enum(1), t.Structure((t.Enum(1), serial)))))) == (
            ActionResult.TYPE_UNMATCHED,
            None,
        )
        assert run(setup.action(method, serial)) == (ActionResult.TYPE_UNMATCHED, None)
    assert setup.certificate_list == (client,)
    assert run(setup.action(8, by_entity(1, 0, CLIENT_TITLE))) == (ActionResult.SUCCESS, None)
    assert setup.certificate_list == ()


class Client:
    """The client side of key_agreement, written from the module's description."""

    def __init__(self, suite: int, ca: Authority) -> None:
        self.suite = SecuritySuite(suite)
        self.curve, self.hash, self.alg, self.length = SUITES[self.suite]
        self.signing = ec.generate_private_key(self.curve())
        self.cert = ca.issue(CLIENT_TITLE, self.signing.public_key(), CertificateType.DIGITAL_SIGNATURE)
        self.ephemeral: dict[int, ec.EllipticCurvePrivateKey] = {}

    def element(self, key_id: int) -> t.Structure:
        key = self.ephemeral[key_id] = ec.generate_private_key(self.curve())
        point = key.public_key().public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)[1:]
        return t.Structure((t.Enum(key_id), point + sign_raw(self.signing, bytes([key_id]) + point)))

    def agreed(self, answer: Any, server_signing: ec.EllipticCurvePublicKey) -> dict[int, bytes]:
        keys = {}
        size = (self.curve.key_size + 7) // 8
        for key_id, data in answer:
            point, signature = bytes(data)[: 2 * size], bytes(data)[2 * size :]
            assert verify_raw(server_signing, bytes([int(key_id)]) + point, signature)
            peer = ec.EllipticCurvePublicKey.from_encoded_point(self.curve(), b"\x04" + point)
            z = self.ephemeral[int(key_id)].exchange(ec.ECDH(), peer)
            digest = hashes.Hash(self.hash())
            digest.update(
                b"\x00\x00\x00\x01"
                + z
                + bytes.fromhex("608574050803")
                + bytes([self.alg])
                + CLIENT_TITLE
                + SERVER_TITLE
            )
            keys[int(key_id)] = digest.finalize()[: self.length]
        return keys


@SUITE_PARAMS
def test_key_agreement_derives_the_same_keys_on_both_sides(suite: int, caplog: pytest.LogCaptureFixture) -> None:
    ca = Authority(suite)
    client = Client(suite, ca)
    stored: dict[KeyId, bytes] = {}

    async def store(kind: KeyId, key: bytes) -> None:
        stored[kind] = key

    setup = setup_for(suite, key_store=store, certificates=[client.cert])
    assert run(setup.action(4, t.Enum(CertificateType.DIGITAL_SIGNATURE))) == (ActionResult.SUCCESS, None)
    server_key = setup.key_pair(CertificateType.DIGITAL_SIGNATURE)
    assert server_key is not None
    request = [client.element(KeyId.GLOBAL_UNICAST_ENCRYPTION), client.element(KeyId.AUTHENTICATION)]
    with caplog.at_level(logging.DEBUG):
        result, answer = run(setup.action(3, axdr.decode(axdr.encode(request))))
    assert result is ActionResult.SUCCESS
    size = SUITES[SecuritySuite(suite)][0].key_size // 8
    assert [(int(k), len(d)) for k, d in answer] == [(0, 4 * size), (2, 4 * size)]
    expected = client.agreed(answer, server_key.public_key())
    assert stored == {KeyId(k): v for k, v in expected.items()}
    assert all(len(v) == SUITES[SecuritySuite(suite)][3] for v in stored.values())
    assert stored[KeyId.GLOBAL_UNICAST_ENCRYPTION] != stored[KeyId.AUTHENTICATION]
    for key in stored.values():
        assert key.hex() not in caplog.text.lower()


def test_key_agreement_failures_store_nothing() -> None:
    ca = Authority(1)
    client = Client(1, ca)
    stored: list[tuple[KeyId, bytes]] = []

    def store(kind: KeyId, key: bytes) -> None:
        stored.append((kind, key))

    no_signing = setup_for(1, key_store=store, certificates=[client.cert])
    assert run(no_signing.action(3, [client.element(0)])) == (ActionResult.READ_WRITE_DENIED, None)
    signing = {CertificateType.DIGITAL_SIGNATURE: ec.generate_private_key(ec.SECP256R1())}
    no_store = setup_for(1, key_pairs=signing, certificates=[client.cert])
    assert run(no_store.action(3, [client.element(0)])) == (ActionResult.READ_WRITE_DENIED, None)
    no_client_cert = setup_for(1, key_store=store, key_pairs=signing)
    assert run(no_client_cert.action(3, [client.element(0)])) == (ActionResult.READ_WRITE_DENIED, None)
    setup = setup_for(1, key_store=store, key_pairs=signing, certificates=[client.cert])
    good = client.element(0)
    # signed by another key; signed for another key id; a bad point; short; unknown key id; empty; types
    forged = Client(1, ca).element(0)
    relabelled = t.Structure((t.Enum(1), good[1]))
    off_curve = t.Structure((t.Enum(0), bytes(64) + sign_raw(client.signing, bytes(65))))
    answers = [
        run(setup.action(3, [good, forged])),
        run(setup.action(3, [relabelled])),
        run(setup.action(3, [off_curve])),
        run(setup.action(3, [t.Structure((t.Enum(0), bytes(good[1])[:-1]))])),
        run(setup.action(3, [good, t.Structure((t.Enum(7), bytes(good[1])))])),
        run(setup.action(3, [])),
        run(setup.action(3, [t.Structure((t.Unsigned(0), bytes(good[1])))])),
        run(setup.action(3, t.Enum(0))),
    ]
    assert answers == [
        (ActionResult.OTHER_REASON, None),
        (ActionResult.OTHER_REASON, None),
        (ActionResult.OTHER_REASON, None),
        (ActionResult.OTHER_REASON, None),
        (ActionResult.READ_WRITE_DENIED, None),
        (ActionResult.OTHER_REASON, None),
        (ActionResult.TYPE_UNMATCHED, None),
        (ActionResult.TYPE_UNMATCHED, None),
    ]
    assert stored == []
    assert run(setup.action(3, [good]))[0] is ActionResult.SUCCESS and len(stored) == 1
