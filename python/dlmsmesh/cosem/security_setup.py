"""Security setup (class 64), IEC 62056-6-2 / IEC 62056-5-3: the security
policy and suite of the associations that reference it, the two system
titles, the methods that raise the policy and replace the global keys, and
(version 1) the server's key pairs and certificates.

The keys themselves live with the Server: ``key_transfer`` unwraps every
key with the KEK (RFC 3394, :mod:`dlmsmesh.security.keywrap`) and, only when
all of them unwrap, hands each (key id, key) to the injected ``key_store``;
``security_activate`` hands the new policy to ``on_policy``.  Keys never
appear in a log or an error message.  (The standard applies both after the
response has been sent; the callbacks let the Server schedule that.)

``SecuritySetup`` is version 1 (policy as a bit map, as
:class:`dlmsmesh.security.SecurityPolicy`; gurux-dlms's default version);
``SecuritySetupV0`` is version 0 (policy 0..3, methods 1 and 2 only).

Version 1's methods 3 to 8 work in suites 1 and 2 (P-256 / P-384; suite 0
answers read-write-denied) and keep their state in the object: the key
pairs (one per :class:`CertificateType` but ``OTHER``) and the imported
X.509 certificates, listed by attribute 6.  The layouts follow Gurux.DLMS.Net
``GXDLMSSecuritySetup`` (the Python gurux-dlms server does not implement
them); the points below are UNVERIFIED against the Blue Book:

* certificate_info = {certificate_entity enum, certificate_type enum,
  serial_number, issuer, subject, subject_alt_name}, all four octet-strings:
  the DER INTEGER of the serial number, the DER Names, and the DER of the
  subjectAltName extension value (empty when absent).  The entity is
  certification-authority for a CA certificate, server when the subject's
  common name is the server system title in hex, else client; the type
  comes from keyUsage (digitalSignature, keyAgreement, both = TLS, else other).
* export/remove_certificate's parameter = {identification_type enum,
  {certificate_entity, certificate_type, system_title} (0, by entity) or
  {serial_number, issuer} (1, by serial)}; a serial number is accepted as a
  DER INTEGER, as bare big-endian octets or as decimal text (what
  gurux-dlms's removeCertificateBySerial sends), an issuer as its DER Name
  or its RFC 4514 text.
* generate_certificate_request returns a PKCS #10 request (DER) whose
  subject is ``CN=<server system title in upper-case hex>``, signed with the
  key pair itself, asking for the key usage of its type.
* key_agreement (Ephemeral Unified Model C(2e,0s), the scheme security.md
  §1 assigns to this method): each element's key_data is the client's
  ephemeral public key X‖Y followed by its raw ECDSA signature, over
  ``key_id ‖ X ‖ Y``, by the client's digital-signature certificate (entity
  client, subject ``CN=<client system title>``).  The server answers the
  same layout with its own ephemeral key signed by its digital-signature
  key pair, and both derive the key with the NIST SP 800-56A concatenation
  KDF: ``Hash(00000001 ‖ Z ‖ 60 85 74 05 08 03 alg ‖ client title ‖ server
  title)``, SHA-256 and alg 0 (AES-GCM-128, 16 octets) in suite 1, SHA-384
  and alg 1 (AES-GCM-256, 32 octets) in suite 2 (Gurux.DLMS.Net's client
  uses alg 0 and 16 octets in both suites).  The agreed keys go to
  ``key_store`` as key_transfer's do, all or none.
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TypeVar, Union

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from cryptography.x509.oid import NameOID

from ..apdu_model import ActionResult
from ..errors import AuthenticationError, DecodeError
from ..security.keywrap import KeyId, unwrap_key
from ..security.policy import SecurityPolicy
from ..security.signing import sign_raw, verify_raw
from ..security.tags import SecuritySuite
from ..types import Array, Enum, Obis, OctetString, Structure
from .base import READ_ONLY, ActionError, CosemObject, attribute, method, settle
from .typespec import ArrayOf, Octets, OneOf, StructureOf, TypeMismatch, octets

__all__ = [
    "SecuritySetup",
    "SecuritySetupV0",
    "SecurityPolicyV0",
    "KeyStore",
    "PolicyListener",
    "KEY_TRANSFER",
    "KEY_AGREEMENT",
    "CERTIFICATE_INFO",
    "CERTIFICATE_IDENTIFICATION",
    "CertificateEntity",
    "CertificateType",
    "certificate_type",
    "system_title_subject",
]

#: key_transfer's parameter: array of {key_id enum, key_wrapped octet-string}
KEY_TRANSFER = ArrayOf(StructureOf(Enum, Octets()))
KeyStore = Callable[[KeyId, bytes], Union[None, Awaitable[None]]]
PolicyListener = Callable[[int], Union[None, Awaitable[None]]]
_TITLE = OneOf(Octets(8), Octets(0))
#: {certificate_entity, certificate_type, serial_number, issuer, subject, subject_alt_name}
CERTIFICATE_INFO = StructureOf(Enum, Enum, Octets(), Octets(), Octets(), Octets())
_E = TypeVar("_E", bound=x509.ExtensionType)


class SecurityPolicyV0(enum.IntEnum):
    """security_policy of version 0: a level, each including the ones below it."""

    NOTHING = 0
    AUTHENTICATED = 1
    ENCRYPTED = 2
    AUTHENTICATED_ENCRYPTED = 3


class _SecuritySetupBase(CosemObject):
    class_id = 64

    security_policy = attribute(2, Enum, access=READ_ONLY)
    security_suite = attribute(3, Enum, access=READ_ONLY)
    client_system_title = attribute(4, _TITLE, access=READ_ONLY)
    server_system_title = attribute(5, _TITLE, access=READ_ONLY)

    def __init__(
        self,
        logical_name: Obis | str | bytes = "0.0.43.0.0.255",
        *,
        server_system_title: bytes,
        client_system_title: bytes = b"",
        policy: int = 0,
        suite: int = SecuritySuite.AES_GCM_128,
        kek: bytes | Callable[[], bytes] | None = None,
        key_store: KeyStore | None = None,
        on_policy: PolicyListener | None = None,
    ) -> None:
        super().__init__(logical_name)
        self.security_policy = Enum(self._valid_policy(int(policy)))
        self.security_suite = Enum(int(SecuritySuite(suite)))
        self.server_system_title = octets(server_system_title)
        self.client_system_title = octets(client_system_title)
        self._kek = kek
        self.key_store = key_store
        self.on_policy = on_policy

    def _valid_policy(self, value: int) -> int:
        raise NotImplementedError

    def _raises(self, current: int, new: int) -> bool:
        raise NotImplementedError

    def _current_kek(self) -> bytes | None:
        return self._kek() if callable(self._kek) else self._kek

    @method(1, Enum)
    async def security_activate(self, parameters: Enum) -> None:
        """Raise the security policy (never lower it: read-write-denied)."""
        try:
            new = self._valid_policy(int(parameters))
        except ValueError:
            raise ActionError(ActionResult.OTHER_REASON, f"{int(parameters)} is no security policy") from None
        if not self._raises(int(self.security_policy), new):
            raise ActionError(ActionResult.READ_WRITE_DENIED, "the security policy may only be raised")
        self.security_policy = Enum(new)
        if self.on_policy is not None:
            await settle(self.on_policy(new))

    @method(2, KEY_TRANSFER)
    async def key_transfer(self, parameters: Array) -> None:
        """Unwrap every key with the KEK, then store them all (none when one fails)."""
        kek = self._current_kek()
        if kek is None or self.key_store is None:
            raise ActionError(ActionResult.READ_WRITE_DENIED, "no master key (KEK) or key store configured")
        if not parameters:
            raise ActionError(ActionResult.OTHER_REASON, "key_transfer carries at least one key")
        keys: list[tuple[KeyId, bytes]] = []
        for key_id, wrapped in parameters:
            try:
                kind = KeyId(int(key_id))
            except ValueError:
                # gurux-dlms's server answers an unknown key id with read-write-denied too
                raise ActionError(ActionResult.READ_WRITE_DENIED, f"no key id {int(key_id)}") from None
            try:
                keys.append((kind, unwrap_key(kek, bytes(wrapped))))
            except (AuthenticationError, DecodeError):
                # a failed RFC 3394 integrity check: a failure result, e.g. other-reason
                raise ActionError(ActionResult.OTHER_REASON, f"the {kind.name} key does not unwrap") from None
        for kind, key in keys:
            await settle(self.key_store(kind, key))


class CertificateEntity(enum.IntEnum):
    SERVER = 0
    CLIENT = 1
    CERTIFICATION_AUTHORITY = 2
    OTHER = 3


class CertificateType(enum.IntEnum):
    """certificate_type, also the key_pair_type of methods 4 and 5 (all but ``OTHER``)."""

    DIGITAL_SIGNATURE = 0
    KEY_AGREEMENT = 1
    TLS = 2
    OTHER = 3


#: key_agreement's parameter and return: array of {key_id enum, key_data octet-string}
KEY_AGREEMENT = ArrayOf(StructureOf(Enum, Octets()))
#: export/remove_certificate's parameter: {identification_type, identification}
CERTIFICATE_IDENTIFICATION = StructureOf(Enum, Structure)
_BY_ENTITY = StructureOf(Enum, Enum, Octets())
_BY_SERIAL = StructureOf(Octets(), Octets())
_KEY_PAIR_TYPES = (CertificateType.DIGITAL_SIGNATURE, CertificateType.KEY_AGREEMENT, CertificateType.TLS)
_CURVE: dict[int, type[ec.EllipticCurve]] = {
    SecuritySuite.ECDH_ECDSA_AES_GCM_128_SHA256: ec.SECP256R1,
    SecuritySuite.ECDH_ECDSA_AES_GCM_256_SHA384: ec.SECP384R1,
}
#: suite: (hash of the KDF and of the CSR signature, KDF algorithm id, agreed key length)
_AGREEMENT: dict[int, tuple[type[hashes.SHA256 | hashes.SHA384], int, int]] = {
    SecuritySuite.ECDH_ECDSA_AES_GCM_128_SHA256: (hashes.SHA256, 0, 16),
    SecuritySuite.ECDH_ECDSA_AES_GCM_256_SHA384: (hashes.SHA384, 1, 32),
}
#: the DER body of the OID 2.16.756.5.8.3 (cryptographic algorithm ids)
_ALGORITHM_OID = bytes.fromhex("608574050803")


def system_title_subject(system_title: bytes) -> x509.Name:
    """The subject of a certificate bound to a system title: CN = the title in upper-case hex."""
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, bytes(system_title).hex().upper())])


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value).upper() if values else ""


def _extension(cert: x509.Certificate, kind: type[_E]) -> _E | None:
    try:
        return cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None


def certificate_type(cert: x509.Certificate) -> CertificateType:
    usage = _extension(cert, x509.KeyUsage)
    if usage is None:
        return CertificateType.OTHER
    if usage.digital_signature and usage.key_agreement:
        return CertificateType.TLS
    if usage.digital_signature:
        return CertificateType.DIGITAL_SIGNATURE
    if usage.key_agreement:
        return CertificateType.KEY_AGREEMENT
    return CertificateType.OTHER


def _der_integer(value: int) -> bytes:
    body = value.to_bytes(value.bit_length() // 8 + 1, "big")  # room for the sign bit
    return bytes([0x02, len(body)]) + body if len(body) < 0x80 else bytes([0x02, 0x81, len(body)]) + body


def _serials_of(data: bytes) -> set[int]:
    """The serial numbers ``data`` may give: a DER INTEGER (Gurux.DLMS.Net),
    bare big-endian octets, or decimal text (gurux-dlms's remove by serial)."""
    candidates = {int.from_bytes(data, "big")}
    if len(data) >= 3 and data[0] == 0x02 and data[1] == len(data) - 2:
        candidates.add(int.from_bytes(data[2:], "big", signed=True))
    if data.isdigit():
        candidates.add(int(data))
    return candidates


def _issuer_matches(cert: x509.Certificate, issuer: bytes) -> bool:
    if issuer == cert.issuer.public_bytes():
        return True
    try:
        return issuer.decode("ascii") == cert.issuer.rfc4514_string()
    except UnicodeDecodeError:
        return False


def _point_size(curve: ec.EllipticCurve) -> int:
    return (curve.key_size + 7) // 8


def _raw_point(key: ec.EllipticCurvePublicKey) -> bytes:
    """X ‖ Y (the uncompressed point without its 0x04 prefix)."""
    return key.public_bytes(Encoding.X962, PublicFormat.UncompressedPoint)[1:]


class SecuritySetup(_SecuritySetupBase):
    """Security setup, version 1: ``policy`` is a :class:`SecurityPolicy` bit map.
    ``kek`` (bytes, or a callable giving the current KEK) unwraps key_transfer.

    ``key_pairs`` and ``certificates`` preset what methods 4 and 6 would
    install (a meter provisioned in the factory); :meth:`key_pair` and
    :meth:`find_certificate` give them to the Server (HLS-ECDSA, signing).
    """

    version = 1

    def __init__(
        self,
        logical_name: Obis | str | bytes = "0.0.43.0.0.255",
        *,
        server_system_title: bytes,
        client_system_title: bytes = b"",
        policy: int = 0,
        suite: int = SecuritySuite.AES_GCM_128,
        kek: bytes | Callable[[], bytes] | None = None,
        key_store: KeyStore | None = None,
        on_policy: PolicyListener | None = None,
        key_pairs: Mapping[CertificateType, ec.EllipticCurvePrivateKey] | None = None,
        certificates: Iterable[x509.Certificate] = (),
    ) -> None:
        super().__init__(
            logical_name,
            server_system_title=server_system_title,
            client_system_title=client_system_title,
            policy=policy,
            suite=suite,
            kek=kek,
            key_store=key_store,
            on_policy=on_policy,
        )
        # tuples, replaced on change, never mutated: a meter made from a
        # template shares them until it changes its own (template.py)
        self._key_pairs: tuple[ec.EllipticCurvePrivateKey | None, ...] = (None, None, None)
        self._certificates: tuple[x509.Certificate, ...] = ()
        for kind, key in (key_pairs or {}).items():
            self._set_key_pair(CertificateType(kind), key)
        for cert in certificates:
            try:
                self._import(cert)
            except ActionError as exc:
                raise ValueError(f"certificate {cert.serial_number}: {exc}") from None

    def _valid_policy(self, value: int) -> int:
        if value & ~0xFC or not 0 <= value <= 0xFF:
            raise ValueError(f"{value:#x} has bits no security policy has")
        return value

    def _raises(self, current: int, new: int) -> bool:
        return new & current == current

    @property
    def policy(self) -> SecurityPolicy:
        return SecurityPolicy(int(self.security_policy))

    # ------------------------------------------------------ keys and certificates

    @property
    def suite(self) -> SecuritySuite:
        return SecuritySuite(int(self.security_suite))

    def _curve(self) -> ec.EllipticCurve:
        curve = _CURVE.get(self.suite)
        if curve is None:
            raise ActionError(ActionResult.READ_WRITE_DENIED, "security suite 0 has no key pairs or certificates")
        return curve()

    def key_pair(self, kind: CertificateType) -> ec.EllipticCurvePrivateKey | None:
        """The server's private key of this type, if it has one."""
        return self._key_pairs[_KEY_PAIR_TYPES.index(kind)] if kind in _KEY_PAIR_TYPES else None

    def _set_key_pair(self, kind: CertificateType, key: ec.EllipticCurvePrivateKey) -> None:
        if kind not in _KEY_PAIR_TYPES:
            raise ValueError(f"no key pair of type {kind.name}")
        expected = _CURVE.get(self.suite)
        if expected is None or key.curve.name != expected().name:
            raise ValueError(f"suite {int(self.suite)} takes no {key.curve.name} key")
        pairs = list(self._key_pairs)
        pairs[_KEY_PAIR_TYPES.index(kind)] = key
        self._key_pairs = tuple(pairs)

    @property
    def certificate_list(self) -> tuple[x509.Certificate, ...]:
        return self._certificates

    def certificate_entity(self, cert: x509.Certificate) -> CertificateEntity:
        constraints = _extension(cert, x509.BasicConstraints)
        if constraints is not None and constraints.ca:
            return CertificateEntity.CERTIFICATION_AUTHORITY
        if _common_name(cert.subject) == bytes(self.server_system_title).hex().upper():
            return CertificateEntity.SERVER
        return CertificateEntity.CLIENT

    def find_certificate(
        self, entity: CertificateEntity, kind: CertificateType, system_title: bytes
    ) -> x509.Certificate | None:
        """The certificate of ``entity`` and ``kind`` whose subject names ``system_title``."""
        subject = bytes(system_title).hex().upper()
        for cert in self._certificates:
            if (
                self.certificate_entity(cert) == entity
                and certificate_type(cert) == kind
                and _common_name(cert.subject) == subject
            ):
                return cert
        return None

    def _import(self, cert: x509.Certificate) -> None:
        curve = self._curve()
        key = cert.public_key()
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != curve.name:
            raise ActionError(
                ActionResult.OTHER_REASON, f"suite {int(self.suite)} certificates carry {curve.name} keys"
            )
        entity = self.certificate_entity(cert)
        kind = certificate_type(cert)
        if kind is CertificateType.OTHER and entity is not CertificateEntity.CERTIFICATION_AUTHORITY:
            raise ActionError(ActionResult.OTHER_REASON, "the certificate has no usable key usage")
        own = self.key_pair(kind)
        if entity is CertificateEntity.SERVER and own is not None and _raw_point(own.public_key()) != _raw_point(key):
            raise ActionError(ActionResult.OTHER_REASON, f"the certificate does not match the server's {kind.name} key")
        # a new certificate replaces the one with the same serial and issuer,
        # and the one of the same entity, type and subject (renewal)
        kept = tuple(
            old
            for old in self._certificates
            if not (old.serial_number == cert.serial_number and old.issuer == cert.issuer)
            and not (
                self.certificate_entity(old) == entity and certificate_type(old) == kind and old.subject == cert.subject
            )
        )
        self._certificates = (*kept, cert)

    def _certificate_info(self, cert: x509.Certificate) -> Structure:
        alt_name = _extension(cert, x509.SubjectAlternativeName)
        return Structure(
            (
                Enum(int(self.certificate_entity(cert))),
                Enum(int(certificate_type(cert))),
                octets(_der_integer(cert.serial_number)),
                octets(cert.issuer.public_bytes()),
                octets(cert.subject.public_bytes()),
                octets(alt_name.public_bytes() if alt_name is not None else b""),
            )
        )

    def _read_certificates(self) -> Array:
        return Array(self._certificate_info(cert) for cert in self._certificates)

    certificates = attribute(6, ArrayOf(CERTIFICATE_INFO), access=READ_ONLY)(_read_certificates)

    def _identified(self, parameters: Structure) -> x509.Certificate:
        kind, identification = parameters
        try:
            if int(kind) == 0:
                entity, cert_type, title = _BY_ENTITY.check(identification)
                try:
                    found = self.find_certificate(
                        CertificateEntity(int(entity)), CertificateType(int(cert_type)), bytes(title)
                    )
                except ValueError:
                    found = None
            elif int(kind) == 1:
                serial, issuer = _BY_SERIAL.check(identification)
                numbers = _serials_of(bytes(serial))
                found = next(
                    (c for c in self._certificates if c.serial_number in numbers and _issuer_matches(c, bytes(issuer))),
                    None,
                )
            else:
                raise ActionError(ActionResult.OTHER_REASON, f"no certificate identification type {int(kind)}")
        except TypeMismatch:
            raise ActionError(ActionResult.TYPE_UNMATCHED, "a malformed certificate identification") from None
        if found is None:
            raise ActionError(ActionResult.OBJECT_UNAVAILABLE, "no such certificate")
        return found

    def _key_pair_type(self, parameters: Enum) -> CertificateType:
        self._curve()
        try:
            kind = CertificateType(int(parameters))
        except ValueError:
            kind = CertificateType.OTHER
        if kind not in _KEY_PAIR_TYPES:
            raise ActionError(ActionResult.OTHER_REASON, f"no key pair type {int(parameters)}")
        return kind

    # ------------------------------------------------------------ methods 3..8

    @method(3, KEY_AGREEMENT)
    async def key_agreement(self, parameters: Array) -> Array:
        """Agree on global keys with the client (see the module text); store all or none."""
        curve = self._curve()
        signing = self.key_pair(CertificateType.DIGITAL_SIGNATURE)
        if signing is None or self.key_store is None:
            raise ActionError(ActionResult.READ_WRITE_DENIED, "no signing key pair or key store")
        client_title = bytes(self.client_system_title)
        client_cert = self.find_certificate(CertificateEntity.CLIENT, CertificateType.DIGITAL_SIGNATURE, client_title)
        if client_cert is None:
            raise ActionError(ActionResult.READ_WRITE_DENIED, "no digital-signature certificate of the client")
        client_key = client_cert.public_key()
        assert isinstance(client_key, ec.EllipticCurvePublicKey)  # _import admits EC keys only
        if not parameters:
            raise ActionError(ActionResult.OTHER_REASON, "key_agreement carries at least one key")
        hash_cls, algorithm, length = _AGREEMENT[self.suite]
        size = _point_size(curve)
        agreed: list[tuple[KeyId, bytes]] = []
        answers: list[Structure] = []
        for key_id, key_data in parameters:
            try:
                kind = KeyId(int(key_id))
            except ValueError:
                raise ActionError(ActionResult.READ_WRITE_DENIED, f"no key id {int(key_id)}") from None
            data = bytes(key_data)
            if len(data) != 4 * size:
                raise ActionError(ActionResult.OTHER_REASON, f"key_data is {4 * size} octets in this suite")
            point, signature = data[: 2 * size], data[2 * size :]
            if not verify_raw(client_key, bytes([kind]) + point, signature):
                raise ActionError(
                    ActionResult.OTHER_REASON, "the client's ephemeral key is not signed by its certificate"
                )
            try:
                peer = ec.EllipticCurvePublicKey.from_encoded_point(curve, b"\x04" + point)
            except ValueError:
                raise ActionError(
                    ActionResult.OTHER_REASON, "the client's ephemeral key is no point of the curve"
                ) from None
            ephemeral = ec.generate_private_key(curve)
            shared = ephemeral.exchange(ec.ECDH(), peer)
            digest = hashes.Hash(hash_cls())
            digest.update(
                b"\x00\x00\x00\x01"
                + shared
                + _ALGORITHM_OID
                + bytes([algorithm])
                + client_title
                + bytes(self.server_system_title)
            )
            agreed.append((kind, digest.finalize()[:length]))
            own = _raw_point(ephemeral.public_key())
            answers.append(Structure((Enum(int(kind)), octets(own + sign_raw(signing, bytes([kind]) + own)))))
        for kind, key in agreed:
            await settle(self.key_store(kind, key))
        return Array(answers)

    @method(4, Enum)
    def generate_key_pair(self, parameters: Enum) -> None:
        """Generate (and replace) the key pair of this type on the suite's curve."""
        kind = self._key_pair_type(parameters)
        self._set_key_pair(kind, ec.generate_private_key(self._curve()))

    @method(5, Enum)
    def generate_certificate_request(self, parameters: Enum) -> OctetString:
        """A PKCS #10 request (DER) for the key pair of this type."""
        kind = self._key_pair_type(parameters)
        key = self.key_pair(kind)
        if key is None:
            raise ActionError(ActionResult.READ_WRITE_DENIED, f"no {kind.name} key pair: generate it first")
        usage = dict.fromkeys(
            (
                "digital_signature",
                "content_commitment",
                "key_encipherment",
                "data_encipherment",
                "key_agreement",
                "key_cert_sign",
                "crl_sign",
                "encipher_only",
                "decipher_only",
            ),
            False,
        )
        usage["digital_signature"] = kind in (CertificateType.DIGITAL_SIGNATURE, CertificateType.TLS)
        usage["key_agreement"] = kind in (CertificateType.KEY_AGREEMENT, CertificateType.TLS)
        request = (
            x509.CertificateSigningRequestBuilder()
            .subject_name(system_title_subject(bytes(self.server_system_title)))
            .add_extension(x509.KeyUsage(**usage), critical=True)
            .sign(key, _AGREEMENT[self.suite][0]())
        )
        return octets(request.public_bytes(Encoding.DER))

    @method(6, Octets())
    def import_certificate(self, parameters: OctetString) -> None:
        """Add an X.509 v3 certificate (DER), replacing the one it renews."""
        self._curve()
        try:
            cert = x509.load_der_x509_certificate(bytes(parameters))
            # the parser is lazy: make a malformed key or extension fail here
            cert.public_key()
            _ = cert.extensions
        except (ValueError, TypeError):
            raise ActionError(ActionResult.OTHER_REASON, "not a DER X.509 certificate") from None
        self._import(cert)

    @method(7, CERTIFICATE_IDENTIFICATION)
    def export_certificate(self, parameters: Structure) -> OctetString:
        """The certificate (DER) identified by entity or by serial number and issuer."""
        self._curve()
        return octets(self._identified(parameters).public_bytes(Encoding.DER))

    @method(8, CERTIFICATE_IDENTIFICATION)
    def remove_certificate(self, parameters: Structure) -> None:
        self._curve()
        found = self._identified(parameters)
        self._certificates = tuple(cert for cert in self._certificates if cert is not found)


class SecuritySetupV0(_SecuritySetupBase):
    """Security setup, version 0: ``policy`` is a :class:`SecurityPolicyV0` level."""

    version = 0

    def _valid_policy(self, value: int) -> int:
        return int(SecurityPolicyV0(value))

    def _raises(self, current: int, new: int) -> bool:
        return new >= current

    @property
    def policy(self) -> SecurityPolicyV0:
        return SecurityPolicyV0(int(self.security_policy))
