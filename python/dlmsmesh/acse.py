"""ACSE APDUs (AARQ, AARE, RLRQ, RLRE) and the xDLMS Initiate PDUs they carry.

``encode(pdu) -> bytes`` and ``decode(data) -> pdu`` give the exact bytes of
spec/acse-ber.md.  The ACSE layer is BER; its fields are read with the BER
walker of the live backend (:func:`ber_walk`).  The user-information field
holds an A-XDR xDLMS PDU, decoded here: :class:`InitiateRequest`,
:class:`InitiateResponse`, a :class:`~dlmsmesh.apdu.ConfirmedServiceError`,
or a ciphered glo-/ded-initiate PDU kept as :class:`CipheredUserInformation`
(the security layer decrypts it and calls :func:`decode_user_information`).

Decoding is total: any byte string gives a PDU or a
:class:`~dlmsmesh.errors.DecodeError` with ``layer == "acse"`` and the offset of
the failing byte.  Fields may come in any order (AARE is a SET in some ASN.1
sources); encoding writes them in tag order with the shortest length forms.
Fields DLMS does not use (application-context-name-list, AP-title forms other
than an OCTET STRING, authentication values other than a charstring) are
decode errors rather than silently dropped, so ``encode(decode(b)) == b`` for
every canonical input.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, NoReturn, Union

from . import _backend
from ._pure.axdr import put_length
from ._pure.ber import DEFAULT_MAX_DEPTH, DEPTH_LIMIT, Node, encode_length
from .apdu import ConfirmedServiceError, ConfirmedServiceErrorChoice, ServiceErrorChoice
from .apdu import to_json as _apdu_json
from .errors import DecodeError, EncodeError
from .types import BitString

__all__ = [
    "LAYER",
    "Node",
    "ber_walk",
    "Conformance",
    "ApplicationContext",
    "Mechanism",
    "AssociationResult",
    "AcseServiceUserDiagnostic",
    "AcseServiceProviderDiagnostic",
    "ReleaseRequestReason",
    "ReleaseResponseReason",
    "InitiateRequest",
    "InitiateResponse",
    "CipheredUserInformation",
    "ConfirmedServiceError",
    "AcsePdu",
    "AARQ",
    "AARE",
    "RLRQ",
    "RLRE",
    "oid_to_bytes",
    "oid_from_bytes",
    "encode",
    "decode",
    "encode_user_information",
    "decode_user_information",
    "to_json",
]

LAYER = "acse"


def ber_walk(
    data: bytes | bytearray | memoryview,
    offset: int = 0,
    end: int | None = None,
    max_depth: int = DEFAULT_MAX_DEPTH,
    *,
    flat: bool = False,
    one: bool = False,
) -> list[Node]:
    """The BER TLVs of ``data[offset:end]`` in pre-order, on the live backend.

    ``flat`` lists the TLVs of the range without descending into constructed
    ones; ``one`` stops after the first TLV of the range.  Definite lengths
    only; errors are :class:`DecodeError` (layer ``acse``); ``max_depth`` is
    0..64 (a node deeper than it is an error).
    """
    return _backend.live.modules["ber"].walk(data, offset, end, max_depth, flat=flat, one=one)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------
# enumerations
# --------------------------------------------------------------------------


class _Named(enum.IntEnum):
    """An IntEnum with ASN.1 names that keeps values a later edition may define
    as pseudo-members (``unknown-<n>``), so decoding stays total."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        member = int.__new__(cls, value)
        member._name_ = f"UNKNOWN_{value}"
        member._value_ = value
        return member

    @property
    def asn1_name(self) -> str:
        if self.name.startswith("UNKNOWN_"):
            return f"unknown-{self.value}"
        return self.name.lower().replace("_", "-")


class Conformance(enum.IntFlag):
    """The 24-bit xDLMS conformance block (spec/acse-ber.md section 8).

    Member values are the three wire octets read as a big-endian integer:
    ASN.1 bit n is bit ``7 - n % 8`` of octet ``n // 8``.
    """

    RESERVED_ZERO = 0x800000
    GENERAL_PROTECTION = 0x400000
    GENERAL_BLOCK_TRANSFER = 0x200000
    READ = 0x100000
    WRITE = 0x080000
    UNCONFIRMED_WRITE = 0x040000
    DELTA_VALUE_ENCODING = 0x020000
    RESERVED_SEVEN = 0x010000
    ATTRIBUTE0_SUPPORTED_WITH_SET = 0x008000
    PRIORITY_MGMT_SUPPORTED = 0x004000
    ATTRIBUTE0_SUPPORTED_WITH_GET = 0x002000
    BLOCK_TRANSFER_WITH_GET_OR_READ = 0x001000
    BLOCK_TRANSFER_WITH_SET_OR_WRITE = 0x000800
    BLOCK_TRANSFER_WITH_ACTION = 0x000400
    MULTIPLE_REFERENCES = 0x000200
    INFORMATION_REPORT = 0x000100
    DATA_NOTIFICATION = 0x000080
    ACCESS = 0x000040
    PARAMETERIZED_ACCESS = 0x000020
    GET = 0x000010
    SET = 0x000008
    SELECTIVE_ACCESS = 0x000004
    EVENT_NOTIFICATION = 0x000002
    ACTION = 0x000001

    @classmethod
    def from_octets(cls, data: bytes) -> Conformance:
        """The block of the three content octets b1 b2 b3."""
        if len(data) != 3:
            raise ValueError(f"the conformance block is 3 octets, not {len(data)}")
        return cls(int.from_bytes(data, "big"))

    def octets(self) -> bytes:
        """The three content octets b1 b2 b3."""
        return int(self).to_bytes(3, "big")

    def names(self) -> list[str]:
        """The set bits' names as the spec writes them, ASN.1 bit 0 first."""
        return [_CONFORMANCE_NAMES[bit] for bit in _CONFORMANCE_BITS if self & bit]

    @classmethod
    def from_names(cls, names: Any) -> Conformance:
        """The block with the named bits set (spec names, e.g. ``"get"``)."""
        value = cls(0)
        for name in names:
            try:
                value |= _CONFORMANCE_BY_NAME[name]
            except KeyError:
                raise ValueError(f"unknown conformance bit name {name!r}") from None
        return value


# ASN.1 bit 0 (0x800000) first
_CONFORMANCE_BITS: tuple[Conformance, ...] = tuple(Conformance(1 << (23 - n)) for n in range(24))
_CONFORMANCE_NAMES: dict[Conformance, str] = {m: (m.name or "").lower().replace("_", "-") for m in _CONFORMANCE_BITS}
_CONFORMANCE_BY_NAME: dict[str, Conformance] = {v: k for k, v in _CONFORMANCE_NAMES.items()}

# 2.16.756.5.8 (DLMS-UA): 60 85 74 05 08
_DLMS_UA = bytes.fromhex("6085740508")


class ApplicationContext(enum.IntEnum):
    """DLMS application context names 2.16.756.5.8.1.n."""

    LOGICAL_NAME = 1
    SHORT_NAME = 2
    LOGICAL_NAME_CIPHERED = 3
    SHORT_NAME_CIPHERED = 4

    @property
    def oid(self) -> str:
        return f"2.16.756.5.8.1.{self.value}"

    @property
    def oid_bytes(self) -> bytes:
        """The OBJECT IDENTIFIER content octets."""
        return _DLMS_UA + bytes((1, self.value))

    @property
    def asn1_name(self) -> str:
        return self.name.lower().replace("_", "-")

    @property
    def ciphered(self) -> bool:
        return self.value in (3, 4)

    @property
    def logical_name(self) -> bool:
        return self.value in (1, 3)


class Mechanism(enum.IntEnum):
    """DLMS authentication mechanism names 2.16.756.5.8.2.m."""

    LOWEST = 0
    LOW = 1
    HIGH = 2
    HIGH_MD5 = 3
    HIGH_SHA1 = 4
    HIGH_GMAC = 5
    HIGH_SHA256 = 6
    HIGH_ECDSA = 7

    @property
    def oid(self) -> str:
        return f"2.16.756.5.8.2.{self.value}"

    @property
    def oid_bytes(self) -> bytes:
        return _DLMS_UA + bytes((2, self.value))

    @property
    def asn1_name(self) -> str:
        return self.name.lower().replace("_", "-")


class AssociationResult(_Named):
    ACCEPTED = 0
    REJECTED_PERMANENT = 1
    REJECTED_TRANSIENT = 2


class AcseServiceUserDiagnostic(_Named):
    NULL = 0
    NO_REASON_GIVEN = 1
    APPLICATION_CONTEXT_NAME_NOT_SUPPORTED = 2
    CALLING_AP_TITLE_NOT_RECOGNIZED = 3
    CALLING_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 4
    CALLING_AE_QUALIFIER_NOT_RECOGNIZED = 5
    CALLING_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 6
    CALLED_AP_TITLE_NOT_RECOGNIZED = 7
    CALLED_AP_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 8
    CALLED_AE_QUALIFIER_NOT_RECOGNIZED = 9
    CALLED_AE_INVOCATION_IDENTIFIER_NOT_RECOGNIZED = 10
    AUTHENTICATION_MECHANISM_NAME_NOT_RECOGNIZED = 11
    AUTHENTICATION_MECHANISM_NAME_REQUIRED = 12
    AUTHENTICATION_FAILURE = 13
    AUTHENTICATION_REQUIRED = 14

    @property
    def asn1_name(self) -> str:
        return _ap_ae_name(super().asn1_name)


class AcseServiceProviderDiagnostic(_Named):
    NULL = 0
    NO_REASON_GIVEN = 1
    NO_COMMON_ACSE_VERSION = 2


def _ap_ae_name(name: str) -> str:
    """calling-ap-title-... -> calling-AP-title-... (the ASN.1 spelling)."""
    for lower, upper in (("-ap-", "-AP-"), ("-ae-", "-AE-")):
        name = name.replace(lower, upper)
    return name


class ReleaseRequestReason(_Named):
    NORMAL = 0
    URGENT = 1
    USER_DEFINED = 30


class ReleaseResponseReason(_Named):
    NORMAL = 0
    NOT_FINISHED = 1
    USER_DEFINED = 30


Diagnostic = Union[AcseServiceUserDiagnostic, AcseServiceProviderDiagnostic]


# --------------------------------------------------------------------------
# object identifiers
# --------------------------------------------------------------------------


def oid_to_bytes(oid: str) -> bytes:
    """The BER content octets of a dotted OBJECT IDENTIFIER."""
    try:
        arcs = [int(a) for a in oid.split(".")]
    except (AttributeError, ValueError):
        raise EncodeError(f"not a dotted object identifier: {oid!r}") from None
    if len(arcs) < 2 or arcs[0] > 2 or min(arcs) < 0 or (arcs[0] < 2 and arcs[1] >= 40):
        raise EncodeError(f"not a valid object identifier: {oid!r}")
    out = bytearray()
    for arc in [40 * arcs[0] + arcs[1], *arcs[2:]]:
        groups = [arc & 0x7F]
        arc >>= 7
        while arc:
            groups.append(0x80 | (arc & 0x7F))
            arc >>= 7
        out += bytes(reversed(groups))
    return bytes(out)


def oid_from_bytes(content: bytes, offset: int = 0) -> str:
    """The dotted form of OBJECT IDENTIFIER content octets; a DecodeError names
    ``offset`` + the failing index."""
    if not content:
        _fail("empty object identifier", offset)
    arcs: list[int] = []
    value = 0
    start = True
    for i, b in enumerate(content):
        if start and b == 0x80:
            _fail("object identifier arc with a leading 0x80 octet", offset + i)
        value = (value << 7) | (b & 0x7F)
        start = b < 0x80
        if start:
            arcs.append(value)
            value = 0
    if not start:
        _fail("object identifier ends inside an arc", offset + len(content) - 1)
    first = arcs[0]
    head = [0, first] if first < 40 else [1, first - 40] if first < 80 else [2, first - 80]
    return ".".join(map(str, head + arcs[1:]))


def _context_from_oid(oid: str) -> ApplicationContext | str:
    prefix = "2.16.756.5.8.1."
    if oid.startswith(prefix) and oid[len(prefix) :] in ("1", "2", "3", "4"):
        return ApplicationContext(int(oid[len(prefix) :]))
    return oid


def _mechanism_from_oid(oid: str) -> Mechanism | str:
    prefix = "2.16.756.5.8.2."
    if oid.startswith(prefix) and oid[len(prefix) :] in ("0", "1", "2", "3", "4", "5", "6", "7"):
        return Mechanism(int(oid[len(prefix) :]))
    return oid


# --------------------------------------------------------------------------
# xDLMS PDUs carried in user-information
# --------------------------------------------------------------------------


def _check_range(name: str, value: Any, lo: int, hi: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer {lo}..{hi}, not {value!r}")


def _check_bytes(name: str, value: Any, optional: bool = True) -> None:
    if value is None and optional:
        return
    if not isinstance(value, (bytes, bytearray)):
        raise TypeError(f"{name} must be bytes{' or None' if optional else ''}, not {type(value).__name__}")


def _freeze_bytes(obj: Any, *names: str) -> None:
    for name in names:
        value = getattr(obj, name)
        if type(value) is bytearray:
            object.__setattr__(obj, name, bytes(value))


@dataclass(frozen=True, kw_only=True)
class InitiateRequest:
    """xDLMS InitiateRequest (tag 0x01), spec/acse-ber.md section 7.1."""

    TAG: ClassVar[int] = 0x01
    TYPE: ClassVar[str] = "initiate-request"

    conformance: Conformance = Conformance(0)
    max_receive_pdu_size: int = 0xFFFF
    dlms_version: int = 6
    dedicated_key: bytes | None = None
    response_allowed: bool = True
    quality_of_service: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "conformance", _conformance(self.conformance))
        _check_range("max_receive_pdu_size", self.max_receive_pdu_size, 0, 0xFFFF)
        _check_range("dlms_version", self.dlms_version, 0, 0xFF)
        _check_bytes("dedicated_key", self.dedicated_key)
        if not isinstance(self.response_allowed, bool):
            raise TypeError("response_allowed must be a bool")
        if self.quality_of_service is not None:
            _check_range("quality_of_service", self.quality_of_service, -128, 127)
        _freeze_bytes(self, "dedicated_key")


@dataclass(frozen=True, kw_only=True)
class InitiateResponse:
    """xDLMS InitiateResponse (tag 0x08), spec/acse-ber.md section 7.2.
    ``vaa_name`` is 0x0007 for logical-name referencing."""

    TAG: ClassVar[int] = 0x08
    TYPE: ClassVar[str] = "initiate-response"

    conformance: Conformance = Conformance(0)
    max_receive_pdu_size: int = 0xFFFF
    dlms_version: int = 6
    vaa_name: int = 0x0007
    quality_of_service: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "conformance", _conformance(self.conformance))
        _check_range("max_receive_pdu_size", self.max_receive_pdu_size, 0, 0xFFFF)
        _check_range("dlms_version", self.dlms_version, 0, 0xFF)
        _check_range("vaa_name", self.vaa_name, 0, 0xFFFF)
        if self.quality_of_service is not None:
            _check_range("quality_of_service", self.quality_of_service, -128, 127)


def _conformance(value: Any) -> Conformance:
    if isinstance(value, Conformance):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 0xFFFFFF:
        return Conformance(value)
    raise ValueError(f"conformance must be a Conformance or a 24-bit integer, not {value!r}")


#: ciphered xDLMS PDUs recognised in user-information: tag -> (name, request?)
CIPHERED_TAGS: dict[int, tuple[str, bool]] = {
    0x21: ("glo-initiate-request", True),
    0x41: ("ded-initiate-request", True),
    0x28: ("glo-initiate-response", False),
    0x48: ("ded-initiate-response", False),
    0x2E: ("glo-confirmed-service-error", False),
    0x4E: ("ded-confirmed-service-error", False),
}


@dataclass(frozen=True, kw_only=True)
class CipheredUserInformation:
    """A glo-/ded-ciphered Initiate PDU, kept as it travels: ``content`` is what
    follows the tag and its A-XDR length (security control, invocation
    counter, ciphertext, authentication tag)."""

    tag: int
    content: bytes

    def __post_init__(self) -> None:
        if self.tag not in CIPHERED_TAGS:
            raise ValueError(f"{self.tag!r} is not a ciphered Initiate tag (one of 21 41 28 48 2E 4E hex)")
        _check_bytes("content", self.content, optional=False)
        _freeze_bytes(self, "content")

    @property
    def name(self) -> str:
        """The ASN.1 name of the tag, e.g. ``glo-initiate-request``."""
        return CIPHERED_TAGS[self.tag][0]

    @property
    def is_request(self) -> bool:
        return CIPHERED_TAGS[self.tag][1]

    @property
    def dedicated(self) -> bool:
        """True for ded- (dedicated key), False for glo- (global key)."""
        return self.tag >= 0x40

    @property
    def security_control(self) -> int | None:
        return self.content[0] if self.content else None

    @property
    def invocation_counter(self) -> int | None:
        return int.from_bytes(self.content[1:5], "big") if len(self.content) >= 5 else None

    def to_bytes(self) -> bytes:
        """The whole ciphered APDU: tag, A-XDR length, content."""
        return encode_user_information(self)


RequestInformation = Union[InitiateRequest, CipheredUserInformation]
ResponseInformation = Union[InitiateResponse, ConfirmedServiceError, CipheredUserInformation]
UserInformation = Union[InitiateRequest, InitiateResponse, ConfirmedServiceError, CipheredUserInformation]


# --------------------------------------------------------------------------
# ACSE APDUs
# --------------------------------------------------------------------------


class AcsePdu:
    """Base of AARQ, AARE, RLRQ and RLRE."""

    TAG: ClassVar[int]
    TYPE: ClassVar[str]

    def encode(self) -> bytes:
        return encode(self)


def _check_bits(name: str, value: Any) -> Any:
    if value is None:
        return None
    if not isinstance(value, str) or value.strip("01"):
        raise ValueError(f"{name} must be a str of 0/1 bits (BitString) or None, not {value!r}")
    return value if isinstance(value, BitString) else BitString(value)


def _oid_field(obj: Any, name: str, enum_cls: type[enum.IntEnum], optional: bool) -> None:
    """Check an OID-valued field; a DLMS-UA number becomes its enum member."""
    value = getattr(obj, name)
    if (value is None and optional) or isinstance(value, enum_cls):
        return
    if isinstance(value, int) and not isinstance(value, bool):
        object.__setattr__(obj, name, enum_cls(value))
        return
    if isinstance(value, str):
        oid_to_bytes(value)  # EncodeError (a ValueError) when not an OID
        return
    raise TypeError(f"{name} must be a {enum_cls.__name__} or a dotted OID string, not {value!r}")


def _check_int(name: str, value: Any) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise TypeError(f"{name} must be an int or None, not {value!r}")


def _check_user_information(pdu: Any, allowed: tuple[type, ...], requests: bool) -> None:
    ui = pdu.user_information
    if ui is None:
        return
    if not isinstance(ui, allowed):
        raise TypeError(f"{type(pdu).__name__} user_information cannot be a {type(ui).__name__}")
    if isinstance(ui, CipheredUserInformation) and ui.is_request != requests:
        raise ValueError(f"{type(pdu).__name__} user_information cannot be a {ui.name}")


@dataclass(frozen=True, kw_only=True)
class AARQ(AcsePdu):
    """A-ASSOCIATE request (0x60).  ``None`` means the field is absent.

    ``sender_acse_requirements`` is the bit string (``"1"`` = authentication),
    ``calling_authentication_value`` the charstring (LLS password or HLS
    challenge), ``calling_ae_invocation_id`` the user-id of Association LN.
    """

    TAG: ClassVar[int] = 0x60
    TYPE: ClassVar[str] = "aarq"

    application_context: ApplicationContext | str = ApplicationContext.LOGICAL_NAME
    user_information: RequestInformation | None = None
    protocol_version: str | None = None
    called_ap_title: bytes | None = None
    called_ae_qualifier: bytes | None = None
    called_ap_invocation_id: int | None = None
    called_ae_invocation_id: int | None = None
    calling_ap_title: bytes | None = None
    calling_ae_qualifier: bytes | None = None
    calling_ap_invocation_id: int | None = None
    calling_ae_invocation_id: int | None = None
    sender_acse_requirements: str | None = None
    mechanism: Mechanism | str | None = None
    calling_authentication_value: bytes | None = None
    implementation_information: bytes | None = None

    def __post_init__(self) -> None:
        _oid_field(self, "application_context", ApplicationContext, False)
        _oid_field(self, "mechanism", Mechanism, True)
        for name in ("protocol_version", "sender_acse_requirements"):
            object.__setattr__(self, name, _check_bits(name, getattr(self, name)))
        octets = ("called_ap_title", "called_ae_qualifier", "calling_ap_title", "calling_ae_qualifier",
                  "calling_authentication_value", "implementation_information")  # fmt: skip
        for name in octets:
            _check_bytes(name, getattr(self, name))
        _freeze_bytes(self, *octets)
        for name in ("called_ap_invocation_id", "called_ae_invocation_id", "calling_ap_invocation_id",
                     "calling_ae_invocation_id"):  # fmt: skip
            _check_int(name, getattr(self, name))
        _check_user_information(self, (InitiateRequest, CipheredUserInformation), True)

    @property
    def authentication(self) -> bool:
        """Whether sender-acse-requirements asks for authentication (bit 0)."""
        return bool(self.sender_acse_requirements) and self.sender_acse_requirements[0] == "1"  # type: ignore[index]


@dataclass(frozen=True, kw_only=True)
class AARE(AcsePdu):
    """A-ASSOCIATE response (0x61).  ``diagnostic`` is an
    :class:`AcseServiceUserDiagnostic` or an :class:`AcseServiceProviderDiagnostic`
    (its class says which CHOICE the result-source-diagnostic takes)."""

    TAG: ClassVar[int] = 0x61
    TYPE: ClassVar[str] = "aare"

    application_context: ApplicationContext | str = ApplicationContext.LOGICAL_NAME
    result: AssociationResult = AssociationResult.ACCEPTED
    diagnostic: Diagnostic = AcseServiceUserDiagnostic.NULL
    user_information: ResponseInformation | None = None
    protocol_version: str | None = None
    responding_ap_title: bytes | None = None
    responding_ae_qualifier: bytes | None = None
    responding_ap_invocation_id: int | None = None
    responding_ae_invocation_id: int | None = None
    responder_acse_requirements: str | None = None
    mechanism: Mechanism | str | None = None
    responding_authentication_value: bytes | None = None
    implementation_information: bytes | None = None

    def __post_init__(self) -> None:
        _oid_field(self, "application_context", ApplicationContext, False)
        _oid_field(self, "mechanism", Mechanism, True)
        if self.result is None or self.diagnostic is None:
            raise TypeError("result and diagnostic are mandatory")
        _check_int("result", self.result)
        object.__setattr__(self, "result", AssociationResult(self.result))
        if not isinstance(self.diagnostic, (AcseServiceUserDiagnostic, AcseServiceProviderDiagnostic)):
            _check_int("diagnostic", self.diagnostic)
            object.__setattr__(self, "diagnostic", AcseServiceUserDiagnostic(self.diagnostic))
        for name in ("protocol_version", "responder_acse_requirements"):
            object.__setattr__(self, name, _check_bits(name, getattr(self, name)))
        octets = ("responding_ap_title", "responding_ae_qualifier", "responding_authentication_value",
                  "implementation_information")  # fmt: skip
        for name in octets:
            _check_bytes(name, getattr(self, name))
        _freeze_bytes(self, *octets)
        for name in ("responding_ap_invocation_id", "responding_ae_invocation_id"):
            _check_int(name, getattr(self, name))
        _check_user_information(self, (InitiateResponse, ConfirmedServiceError, CipheredUserInformation), False)

    @property
    def accepted(self) -> bool:
        return self.result == AssociationResult.ACCEPTED


@dataclass(frozen=True, kw_only=True)
class RLRQ(AcsePdu):
    """A-RELEASE request (0x62); ``reason`` None leaves the field out."""

    TAG: ClassVar[int] = 0x62
    TYPE: ClassVar[str] = "rlrq"

    reason: ReleaseRequestReason | None = ReleaseRequestReason.NORMAL
    user_information: RequestInformation | None = None

    def __post_init__(self) -> None:
        _check_int("reason", self.reason)
        if self.reason is not None:
            object.__setattr__(self, "reason", ReleaseRequestReason(self.reason))
        _check_user_information(self, (InitiateRequest, CipheredUserInformation), True)


@dataclass(frozen=True, kw_only=True)
class RLRE(AcsePdu):
    """A-RELEASE response (0x63); ``reason`` None leaves the field out."""

    TAG: ClassVar[int] = 0x63
    TYPE: ClassVar[str] = "rlre"

    reason: ReleaseResponseReason | None = ReleaseResponseReason.NORMAL
    user_information: ResponseInformation | None = None

    def __post_init__(self) -> None:
        _check_int("reason", self.reason)
        if self.reason is not None:
            object.__setattr__(self, "reason", ReleaseResponseReason(self.reason))
        _check_user_information(self, (InitiateResponse, ConfirmedServiceError, CipheredUserInformation), False)


PDU_CLASSES: dict[int, type[AcsePdu]] = {c.TAG: c for c in (AARQ, AARE, RLRQ, RLRE)}


# --------------------------------------------------------------------------
# encoding
# --------------------------------------------------------------------------


def _tlv(ident: int, content: bytes) -> bytes:
    """A TLV with a low tag number given as its identifier octet.  Written here
    on both backends: a C call per two-octet header costs more than it saves."""
    return bytes((ident,)) + encode_length(len(content)) + content


def _integer(value: int) -> bytes:
    k = value if value >= 0 else ~value
    return value.to_bytes(k.bit_length() // 8 + 1, "big", signed=True)


def _bits(value: str) -> bytes:
    unused = -len(value) % 8
    return bytes((unused,)) + BitString(value).to_bytes()


def _oid(value: enum.IntEnum | str) -> bytes:
    if isinstance(value, (ApplicationContext, Mechanism)):
        return value.oid_bytes
    return oid_to_bytes(value)  # type: ignore[arg-type]


def _optional(value: int | None, fmt: Callable[[int], bytes]) -> bytes:
    return b"\x00" if value is None else b"\x01" + fmt(value)


def _conformance_tlv(conformance: Conformance) -> bytes:
    return b"\x5f\x1f\x04\x00" + conformance.octets()


def encode_user_information(pdu: UserInformation) -> bytes:
    """The A-XDR bytes of an xDLMS PDU carried in user-information."""
    if isinstance(pdu, InitiateRequest):
        out = bytearray(b"\x01")
        key = pdu.dedicated_key
        if key is None:
            out.append(0)
        else:
            out.append(1)
            put_length(out, len(key))
            out += key
        out += b"\x00" if pdu.response_allowed else b"\x01\x00"
        out += _optional(pdu.quality_of_service, lambda q: q.to_bytes(1, "big", signed=True))
        out.append(pdu.dlms_version)
        out += _conformance_tlv(pdu.conformance)
        out += pdu.max_receive_pdu_size.to_bytes(2, "big")
        return bytes(out)
    if isinstance(pdu, InitiateResponse):
        out = bytearray(b"\x08")
        out += _optional(pdu.quality_of_service, lambda q: q.to_bytes(1, "big", signed=True))
        out.append(pdu.dlms_version)
        out += _conformance_tlv(pdu.conformance)
        out += pdu.max_receive_pdu_size.to_bytes(2, "big")
        out += pdu.vaa_name.to_bytes(2, "big")
        return bytes(out)
    if isinstance(pdu, ConfirmedServiceError):
        try:
            return bytes((0x0E, pdu.service, pdu.error, pdu.value))
        except ValueError:
            raise EncodeError(f"confirmedServiceError fields are octets: {pdu!r}") from None
    if isinstance(pdu, CipheredUserInformation):
        out = bytearray((pdu.tag,))
        put_length(out, len(pdu.content))
        return bytes(out + pdu.content)
    raise EncodeError(f"not an xDLMS user-information PDU: {type(pdu).__name__}")


def _user_information_tlv(pdu: UserInformation) -> bytes:
    return _tlv(0xBE, _tlv(0x04, encode_user_information(pdu)))


def _explicit(ident: int, inner_ident: int, content: bytes) -> bytes:
    return _tlv(ident, _tlv(inner_ident, content))


def encode(pdu: AcsePdu) -> bytes:
    """The BER bytes of an AARQ, AARE, RLRQ or RLRE (fields in tag order)."""
    parts: list[bytes] = []
    add = parts.append
    if isinstance(pdu, (RLRQ, RLRE)):
        if pdu.reason is not None:
            add(_tlv(0x80, _integer(pdu.reason)))
        if pdu.user_information is not None:
            add(_user_information_tlv(pdu.user_information))
        return _tlv(pdu.TAG, b"".join(parts))
    if isinstance(pdu, AARQ):
        if pdu.protocol_version is not None:
            add(_tlv(0x80, _bits(pdu.protocol_version)))
        add(_explicit(0xA1, 0x06, _oid(pdu.application_context)))
        if pdu.called_ap_title is not None:
            add(_explicit(0xA2, 0x04, pdu.called_ap_title))
        if pdu.called_ae_qualifier is not None:
            add(_explicit(0xA3, 0x04, pdu.called_ae_qualifier))
        if pdu.called_ap_invocation_id is not None:
            add(_explicit(0xA4, 0x02, _integer(pdu.called_ap_invocation_id)))
        if pdu.called_ae_invocation_id is not None:
            add(_explicit(0xA5, 0x02, _integer(pdu.called_ae_invocation_id)))
        if pdu.calling_ap_title is not None:
            add(_explicit(0xA6, 0x04, pdu.calling_ap_title))
        if pdu.calling_ae_qualifier is not None:
            add(_explicit(0xA7, 0x04, pdu.calling_ae_qualifier))
        if pdu.calling_ap_invocation_id is not None:
            add(_explicit(0xA8, 0x02, _integer(pdu.calling_ap_invocation_id)))
        if pdu.calling_ae_invocation_id is not None:
            add(_explicit(0xA9, 0x02, _integer(pdu.calling_ae_invocation_id)))
        if pdu.sender_acse_requirements is not None:
            add(_tlv(0x8A, _bits(pdu.sender_acse_requirements)))
        if pdu.mechanism is not None:
            add(_tlv(0x8B, _oid(pdu.mechanism)))
        if pdu.calling_authentication_value is not None:
            add(_explicit(0xAC, 0x80, pdu.calling_authentication_value))
    elif isinstance(pdu, AARE):
        if pdu.protocol_version is not None:
            add(_tlv(0x80, _bits(pdu.protocol_version)))
        add(_explicit(0xA1, 0x06, _oid(pdu.application_context)))
        add(_explicit(0xA2, 0x02, _integer(pdu.result)))
        source = 0xA2 if isinstance(pdu.diagnostic, AcseServiceProviderDiagnostic) else 0xA1
        add(_tlv(0xA3, _explicit(source, 0x02, _integer(pdu.diagnostic))))
        if pdu.responding_ap_title is not None:
            add(_explicit(0xA4, 0x04, pdu.responding_ap_title))
        if pdu.responding_ae_qualifier is not None:
            add(_explicit(0xA5, 0x04, pdu.responding_ae_qualifier))
        if pdu.responding_ap_invocation_id is not None:
            add(_explicit(0xA6, 0x02, _integer(pdu.responding_ap_invocation_id)))
        if pdu.responding_ae_invocation_id is not None:
            add(_explicit(0xA7, 0x02, _integer(pdu.responding_ae_invocation_id)))
        if pdu.responder_acse_requirements is not None:
            add(_tlv(0x88, _bits(pdu.responder_acse_requirements)))
        if pdu.mechanism is not None:
            add(_tlv(0x89, _oid(pdu.mechanism)))
        if pdu.responding_authentication_value is not None:
            add(_explicit(0xAA, 0x80, pdu.responding_authentication_value))
    else:
        raise EncodeError(f"not an ACSE APDU: {type(pdu).__name__}")
    if pdu.implementation_information is not None:
        add(_tlv(0x9D, pdu.implementation_information))
    if pdu.user_information is not None:
        add(_user_information_tlv(pdu.user_information))
    return _tlv(pdu.TAG, b"".join(parts))


# --------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------


def _fail(message: str, offset: int) -> NoReturn:
    raise DecodeError(message, layer=LAYER, offset=offset)


class _Source:
    """The APDU bytes and the children of its constructed TLVs.

    One walk of the whole tree (a single C call on the native backend) gives
    every node's children; when that walk fails (a BD implementation-information
    holding raw text is not a TLV list, or a TLV the fields never look at is
    broken) the children are listed field by field instead, so the result and
    any error are those of the field-by-field reading either way.
    """

    __slots__ = ("data", "kids")

    def __init__(self, data: bytes, root: Node) -> None:
        self.data = data
        self.kids: dict[int, list[Node]] | None = None
        try:
            nodes = ber_walk(data, root.header, root.end, DEPTH_LIMIT)
        except DecodeError:
            return
        kids: dict[int, list[Node]] = {}
        parents: list[Node] = []
        for node in nodes:
            while parents and node.depth <= parents[-1].depth:
                parents.pop()
            if parents:
                kids[parents[-1].header].append(node)
            if node.constructed:
                kids[node.header] = []
                parents.append(node)
        self.kids = kids

    def children(self, node: Node) -> list[Node]:
        """The TLVs directly inside ``node``."""
        if self.kids is not None:
            return self.kids[node.header]
        return ber_walk(self.data, node.content, node.end, flat=True)


def _children(src: _Source, node: Node) -> list[Node]:
    return src.children(node)


def _only_child(src: _Source, node: Node, ident: int, what: str) -> Node:
    """The one TLV inside an EXPLICIT wrapper, which must start with ``ident``."""
    kids = _children(src, node)
    if not kids:
        _fail(f"{what} is empty", node.content)
    if len(kids) > 1:
        _fail(f"{what} holds more than one value", kids[1].header)
    kid = kids[0]
    if kid.number >= 0x1F or kid.ident != ident:
        _fail(f"{what} must hold a {ident:02X} TLV", kid.header)
    return kid


def _content(src: _Source, node: Node) -> bytes:
    return src.data[node.content : node.end]


def _read_integer(src: _Source, node: Node, what: str) -> int:
    if not node.length:
        _fail(f"{what}: INTEGER with no content octets", node.content)
    return int.from_bytes(_content(src, node), "big", signed=True)


def _read_bits(src: _Source, node: Node, what: str) -> BitString:
    data = _content(src, node)
    if not data:
        _fail(f"{what}: BIT STRING with no content octets", node.content)
    unused = data[0]
    if unused > 7 or (unused and len(data) == 1):
        _fail(f"{what}: invalid unused-bits count {unused}", node.content)
    return BitString.from_bytes(data[1:], 8 * (len(data) - 1) - unused)


def _read_oid(src: _Source, node: Node) -> str:
    return oid_from_bytes(_content(src, node), node.content)


# field decoders: (src, node) -> value
_Reader = Callable[["_Source", Node], Any]


def _explicit_octets(what: str) -> _Reader:
    return lambda src, node: _content(src, _only_child(src, node, 0x04, what))


def _explicit_integer(what: str) -> _Reader:
    return lambda src, node: _read_integer(src, _only_child(src, node, 0x02, what), what)


def _implicit_bits(what: str) -> _Reader:
    return lambda src, node: _read_bits(src, node, what)


def _application_context(src: _Source, node: Node) -> ApplicationContext | str:
    return _context_from_oid(_read_oid(src, _only_child(src, node, 0x06, "application-context-name")))


def _mechanism(src: _Source, node: Node) -> Mechanism | str:
    return _mechanism_from_oid(_read_oid(src, node))


def _authentication_value(what: str) -> _Reader:
    return lambda src, node: _content(src, _only_child(src, node, 0x80, what))


def _raw(src: _Source, node: Node) -> bytes:
    return _content(src, node)


def _user_information(pdu: type[AcsePdu], requests: bool) -> _Reader:
    """user-information of ``pdu``: an Initiate request or response (or error)
    as the direction of the APDU demands."""
    allowed = (InitiateRequest,) if requests else (InitiateResponse, ConfirmedServiceError)

    def read(src: _Source, node: Node) -> UserInformation:
        inner = _only_child(src, node, 0x04, "user-information")
        ui = _decode_user_information(src.data, inner.content, inner.end)
        if isinstance(ui, CipheredUserInformation):
            if ui.is_request != requests:
                _fail(f"{pdu.TYPE.upper()} user-information cannot be a {ui.name}", inner.content)
        elif not isinstance(ui, allowed):
            _fail(f"{pdu.TYPE.upper()} user-information cannot be a {ui.TYPE}", inner.content)
        return ui

    return read


def _result(src: _Source, node: Node) -> AssociationResult:
    return AssociationResult(_read_integer(src, _only_child(src, node, 0x02, "result"), "result"))


def _diagnostic(src: _Source, node: Node) -> Diagnostic:
    kids = _children(src, node)
    if len(kids) != 1:
        _fail("result-source-diagnostic must hold one choice", kids[1].header if kids else node.content)
    kid = kids[0]
    if kid.number >= 0x1F or kid.ident not in (0xA1, 0xA2):
        _fail("result-source-diagnostic must be acse-service-user (A1) or -provider (A2)", kid.header)
    value = _read_integer(src, _only_child(src, kid, 0x02, "result-source-diagnostic"), "result-source-diagnostic")
    if kid.ident == 0xA1:
        return AcseServiceUserDiagnostic(value)
    return AcseServiceProviderDiagnostic(value)


def _reason(enum_cls: type[_Named]) -> _Reader:
    return lambda src, node: enum_cls(_read_integer(src, node, "reason"))


# identifier octet -> (field name, reader)
_AARQ_FIELDS: dict[int, tuple[str, _Reader]] = {
    0x80: ("protocol_version", _implicit_bits("protocol-version")),
    0xA1: ("application_context", _application_context),
    0xA2: ("called_ap_title", _explicit_octets("called-AP-title")),
    0xA3: ("called_ae_qualifier", _explicit_octets("called-AE-qualifier")),
    0xA4: ("called_ap_invocation_id", _explicit_integer("called-AP-invocation-id")),
    0xA5: ("called_ae_invocation_id", _explicit_integer("called-AE-invocation-id")),
    0xA6: ("calling_ap_title", _explicit_octets("calling-AP-title")),
    0xA7: ("calling_ae_qualifier", _explicit_octets("calling-AE-qualifier")),
    0xA8: ("calling_ap_invocation_id", _explicit_integer("calling-AP-invocation-id")),
    0xA9: ("calling_ae_invocation_id", _explicit_integer("calling-AE-invocation-id")),
    0x8A: ("sender_acse_requirements", _implicit_bits("sender-acse-requirements")),
    0x8B: ("mechanism", _mechanism),
    0xAC: ("calling_authentication_value", _authentication_value("calling-authentication-value")),
    0x9D: ("implementation_information", _raw),
    0xBD: ("implementation_information", _raw),
    0xBE: ("user_information", _user_information(AARQ, True)),
}

_AARE_FIELDS: dict[int, tuple[str, _Reader]] = {
    0x80: ("protocol_version", _implicit_bits("protocol-version")),
    0xA1: ("application_context", _application_context),
    0xA2: ("result", _result),
    0xA3: ("diagnostic", _diagnostic),
    0xA4: ("responding_ap_title", _explicit_octets("responding-AP-title")),
    0xA5: ("responding_ae_qualifier", _explicit_octets("responding-AE-qualifier")),
    0xA6: ("responding_ap_invocation_id", _explicit_integer("responding-AP-invocation-id")),
    0xA7: ("responding_ae_invocation_id", _explicit_integer("responding-AE-invocation-id")),
    0x88: ("responder_acse_requirements", _implicit_bits("responder-acse-requirements")),
    0x89: ("mechanism", _mechanism),
    0xAA: ("responding_authentication_value", _authentication_value("responding-authentication-value")),
    0x9D: ("implementation_information", _raw),
    0xBD: ("implementation_information", _raw),
    0xBE: ("user_information", _user_information(AARE, False)),
}

_FIELDS: dict[int, dict[int, tuple[str, _Reader]]] = {
    0x60: _AARQ_FIELDS,
    0x61: _AARE_FIELDS,
    0x62: {
        0x80: ("reason", _reason(ReleaseRequestReason)),
        0xBE: ("user_information", _user_information(RLRQ, True)),
    },
    0x63: {
        0x80: ("reason", _reason(ReleaseResponseReason)),
        0xBE: ("user_information", _user_information(RLRE, False)),
    },
}
_MANDATORY: dict[int, tuple[str, ...]] = {
    0x60: ("application_context",),
    0x61: ("application_context", "result", "diagnostic"),
    0x62: (),
    0x63: (),
}
_FIELD_ASN1 = {
    "application_context": "application-context-name",
    "result": "result",
    "diagnostic": "result-source-diagnostic",
}


def decode(data: bytes | bytearray | memoryview) -> AcsePdu:
    """The ACSE APDU that ``data`` holds entirely (trailing bytes are an error)."""
    buf = data if type(data) is bytes else bytes(data)
    if not buf:
        _fail("truncated input", 0)
    tag = buf[0]
    cls = PDU_CLASSES.get(tag)
    if cls is None:
        _fail(f"unknown ACSE APDU tag {tag:02X}", 0)
    root = ber_walk(buf, 0, None, flat=True, one=True)[0]
    if root.end != len(buf):
        _fail("trailing bytes after the APDU", root.end)
    table = _FIELDS[tag]
    values: dict[str, Any] = {}
    src = _Source(buf, root)
    for node in src.children(root):
        entry = table.get(node.ident) if node.number < 0x1F else None
        if entry is None:
            _fail(f"unexpected field {buf[node.header]:02X} in {cls.TYPE.upper()}", node.header)
        name, reader = entry
        if name in values:
            _fail(f"{name.replace('_', '-')} given twice", node.header)
        values[name] = reader(src, node)
    for name in _MANDATORY[tag]:
        if name not in values:
            _fail(f"{cls.TYPE.upper()} without {_FIELD_ASN1[name]}", root.end)
    if tag in (0x62, 0x63):
        values.setdefault("reason", None)  # absent, not the NORMAL default
    return cls(**values)


class _Reader8:
    """Bounds-checked reads of the A-XDR xDLMS PDU inside user-information."""

    __slots__ = ("buf", "pos", "end")

    def __init__(self, buf: bytes, pos: int, end: int) -> None:
        self.buf, self.pos, self.end = buf, pos, end

    def take(self, n: int) -> bytes:
        p = self.pos
        if n > self.end - p:
            _fail("truncated input", p)
        self.pos = p + n
        return self.buf[p : p + n]

    def u8(self) -> int:
        p = self.pos
        if p >= self.end:
            _fail("truncated input", p)
        self.pos = p + 1
        return self.buf[p]

    def u16(self) -> int:
        return int.from_bytes(self.take(2), "big")

    def flag(self) -> bool:
        p = self.pos
        b = self.u8()
        if b > 1:
            _fail("OPTIONAL/DEFAULT flag is neither 0 nor 1", p)
        return b == 1

    def length(self) -> int:
        p = self.pos
        b = self.u8()
        if b < 0x80:
            return b
        n = b & 0x7F
        if n == 0 or n > 4:
            _fail("invalid length form", p)
        if n > self.end - self.pos:
            _fail("truncated input", p)
        return int.from_bytes(self.take(n), "big")

    def conformance(self) -> Conformance:
        p = self.pos
        head = self.take(4)
        if head[:2] != b"\x5f\x1f":
            _fail("conformance must be [APPLICATION 31] (5F 1F)", p)
        if head[2] != 0x04:
            _fail("conformance must be 4 content octets", p + 2)
        if head[3] != 0x00:
            _fail("conformance must have no unused bits", p + 3)
        return Conformance.from_octets(self.take(3))


def decode_user_information(data: bytes | bytearray | memoryview) -> UserInformation:
    """The xDLMS PDU of user-information (also a decrypted Initiate PDU)."""
    buf = data if type(data) is bytes else bytes(data)
    return _decode_user_information(buf, 0, len(buf))


def _decode_user_information(buf: bytes, pos: int, end: int) -> UserInformation:
    r = _Reader8(buf, pos, end)
    tag = r.u8()
    value: UserInformation
    if tag == 0x01:
        key = r.take(r.length()) if r.flag() else None
        allowed = True
        if r.flag():
            allowed = r.u8() != 0
        qos = int.from_bytes(r.take(1), "big", signed=True) if r.flag() else None
        version = r.u8()
        conformance = r.conformance()
        size = r.u16()
        value = InitiateRequest(
            conformance=conformance,
            max_receive_pdu_size=size,
            dlms_version=version,
            dedicated_key=key,
            response_allowed=allowed,
            quality_of_service=qos,
        )
    elif tag == 0x08:
        qos = int.from_bytes(r.take(1), "big", signed=True) if r.flag() else None
        version = r.u8()
        conformance = r.conformance()
        size = r.u16()
        vaa = r.u16()
        value = InitiateResponse(
            conformance=conformance,
            max_receive_pdu_size=size,
            dlms_version=version,
            vaa_name=vaa,
            quality_of_service=qos,
        )
    elif tag == 0x0E:
        service = ConfirmedServiceErrorChoice(r.u8())
        error = ServiceErrorChoice(r.u8())
        value = ConfirmedServiceError(service=service, error=error, value=r.u8())
    elif tag in CIPHERED_TAGS:
        n = r.length()
        value = CipheredUserInformation(tag=tag, content=r.take(n))
    else:
        _fail(f"unknown xDLMS PDU tag {tag:02X} in user-information", pos)
    if r.pos != end:
        _fail("trailing bytes after the user-information PDU", r.pos)
    return value


# --------------------------------------------------------------------------
# JSON (DESIGN.md section 5, the "acse" object)
# --------------------------------------------------------------------------


def _oid_json(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (ApplicationContext, Mechanism)):
        return value.asn1_name
    return str(value)


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex()


def _user_information_json(ui: UserInformation | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "user_information": None,
        "conformance": None,
        "max_receive_pdu_size": None,
        "dlms_version": None,
    }
    if ui is None:
        return out
    if isinstance(ui, CipheredUserInformation):
        out["user_information"] = ui.name
        return out
    out["user_information"] = ui.TYPE
    if isinstance(ui, ConfirmedServiceError):
        out["confirmed_service_error"] = _apdu_json(ui)
        return out
    out["conformance"] = ui.conformance.names()
    out["max_receive_pdu_size"] = ui.max_receive_pdu_size
    out["dlms_version"] = ui.dlms_version
    return out


def to_json(pdu: AcsePdu) -> dict[str, Any]:
    """The ``acse`` object of the CLI's JSON Lines output (no passwords or
    challenges: authentication values are left out)."""
    out: dict[str, Any] = {"type": pdu.TYPE}
    if isinstance(pdu, (RLRQ, RLRE)):
        out["reason"] = None if pdu.reason is None else pdu.reason.asn1_name
        if pdu.user_information is not None:
            out.update(_user_information_json(pdu.user_information))
        return out
    if not isinstance(pdu, (AARQ, AARE)):
        raise TypeError(f"not an ACSE APDU: {type(pdu).__name__}")
    out["application_context"] = _oid_json(pdu.application_context)
    out["mechanism"] = _oid_json(pdu.mechanism)
    if isinstance(pdu, AARQ):
        out["calling_ap_title"] = _hex(pdu.calling_ap_title)
    else:
        out["responding_ap_title"] = _hex(pdu.responding_ap_title)
        out["result"] = pdu.result.asn1_name
        out["diagnostic"] = pdu.diagnostic.asn1_name
        out["diagnostic_source"] = (
            "acse-service-provider"
            if isinstance(pdu.diagnostic, AcseServiceProviderDiagnostic)
            else "acse-service-user"
        )
    out.update(_user_information_json(pdu.user_information))
    return out
