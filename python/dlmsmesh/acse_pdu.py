"""ACSE APDUs (AARQ, AARE, RLRQ, RLRE) as values, and their BER encoding.

The frozen dataclasses check their fields when built, so every PDU that
exists can be encoded: :func:`encode` writes the exact bytes of
the DLMS/COSEM ACSE APDUs (IEC 62056-5-3, BER per ITU-T X.690: fields in
tag order, shortest length forms).  The
user-information field holds an xDLMS Initiate PDU
(``dlmsmesh.xdlms_initiate``).  Decoding, which walks the BER with the live
backend, is ``dlmsmesh.acse``; that module is the public API and re-exports
every name here.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, ClassVar, NoReturn, Union

from ._common.ber import encode_length
from ._common.fields import check_bytes, check_int, freeze_bytes
from .errors import DecodeError, EncodeError
from .types import BitString
from .xdlms_initiate import (
    CipheredUserInformation,
    ConfirmedServiceError,
    InitiateRequest,
    InitiateResponse,
    RequestInformation,
    ResponseInformation,
    UserInformation,
    encode_user_information,
)

__all__ = [
    "LAYER",
    "ApplicationContext",
    "Mechanism",
    "AssociationResult",
    "AcseServiceUserDiagnostic",
    "AcseServiceProviderDiagnostic",
    "Diagnostic",
    "ReleaseRequestReason",
    "ReleaseResponseReason",
    "AcsePdu",
    "AARQ",
    "AARE",
    "RLRQ",
    "RLRE",
    "PDU_CLASSES",
    "ACSE_TAGS",
    "oid_to_bytes",
    "oid_from_bytes",
    "encode",
]

LAYER = "acse"


def _fail(message: str, offset: int) -> NoReturn:
    raise DecodeError(message, layer=LAYER, offset=offset)


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
            check_bytes(name, getattr(self, name))
        freeze_bytes(self, *octets)
        for name in ("called_ap_invocation_id", "called_ae_invocation_id", "calling_ap_invocation_id",
                     "calling_ae_invocation_id"):  # fmt: skip
            check_int(name, getattr(self, name))
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
        check_int("result", self.result)
        object.__setattr__(self, "result", AssociationResult(self.result))
        if not isinstance(self.diagnostic, (AcseServiceUserDiagnostic, AcseServiceProviderDiagnostic)):
            check_int("diagnostic", self.diagnostic)
            object.__setattr__(self, "diagnostic", AcseServiceUserDiagnostic(self.diagnostic))
        for name in ("protocol_version", "responder_acse_requirements"):
            object.__setattr__(self, name, _check_bits(name, getattr(self, name)))
        octets = ("responding_ap_title", "responding_ae_qualifier", "responding_authentication_value",
                  "implementation_information")  # fmt: skip
        for name in octets:
            check_bytes(name, getattr(self, name))
        freeze_bytes(self, *octets)
        for name in ("responding_ap_invocation_id", "responding_ae_invocation_id"):
            check_int(name, getattr(self, name))
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
        check_int("reason", self.reason)
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
        check_int("reason", self.reason)
        if self.reason is not None:
            object.__setattr__(self, "reason", ReleaseResponseReason(self.reason))
        _check_user_information(self, (InitiateResponse, ConfirmedServiceError, CipheredUserInformation), False)


PDU_CLASSES: dict[int, type[AcsePdu]] = {c.TAG: c for c in (AARQ, AARE, RLRQ, RLRE)}
#: first octets of the ACSE APDUs (AARQ, AARE, RLRQ, RLRE): how a receiver tells them from xDLMS APDUs
ACSE_TAGS: frozenset[int] = frozenset(PDU_CLASSES)


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
