"""The xDLMS Initiate PDUs that ACSE user-information carries, and their A-XDR codec.

:class:`InitiateRequest` (tag 0x01), :class:`InitiateResponse` (0x08), the
:class:`~dlmsmesh.apdu.ConfirmedServiceError` (0x0E) that refuses an
association, and a glo-/ded-ciphered Initiate PDU kept as
:class:`CipheredUserInformation` (the security layer decrypts it and calls
:func:`decode_user_information` on the plaintext), IEC 62056-5-3 (the
Initiate PDUs and the conformance block).  These are A-XDR, not BER: the ACSE
layer (``dlmsmesh.acse``) finds the OCTET STRING of user-information and
hands its content here.

Decoding is total: any byte string gives a PDU or a
:class:`~dlmsmesh.errors.DecodeError` with ``layer == "acse"`` (the layer
the PDU travels in) and the offset of the failing byte.  Pure Python on both
backends: a PDU of a dozen octets once per association gains nothing from C.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, NoReturn, Union

from . import _status as S
from ._common.fail import Fail
from ._common.fields import check_bytes, check_range, freeze_bytes
from ._common.length import put_length, read_length
from .apdu_json import to_json as _apdu_json
from .apdu_model import ConfirmedServiceError, ConfirmedServiceErrorChoice, ServiceErrorChoice
from .errors import DecodeError, EncodeError

__all__ = [
    "LAYER",
    "Conformance",
    "InitiateRequest",
    "InitiateResponse",
    "ConfirmedServiceError",
    "CIPHERED_TAGS",
    "CipheredUserInformation",
    "RequestInformation",
    "ResponseInformation",
    "UserInformation",
    "encode_user_information",
    "decode_user_information",
    "read_user_information",
    "user_information_json",
]

LAYER = "acse"


def _fail(message: str, offset: int) -> NoReturn:
    raise DecodeError(message, layer=LAYER, offset=offset)


class Conformance(enum.IntFlag):
    """The 24-bit xDLMS conformance block (IEC 62056-5-3).

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


@dataclass(frozen=True, kw_only=True)
class InitiateRequest:
    """xDLMS InitiateRequest (tag 0x01), IEC 62056-5-3."""

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
        check_range("max_receive_pdu_size", self.max_receive_pdu_size, 0, 0xFFFF)
        check_range("dlms_version", self.dlms_version, 0, 0xFF)
        check_bytes("dedicated_key", self.dedicated_key)
        if not isinstance(self.response_allowed, bool):
            raise TypeError("response_allowed must be a bool")
        if self.quality_of_service is not None:
            check_range("quality_of_service", self.quality_of_service, -128, 127)
        freeze_bytes(self, "dedicated_key")


@dataclass(frozen=True, kw_only=True)
class InitiateResponse:
    """xDLMS InitiateResponse (tag 0x08), IEC 62056-5-3.
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
        check_range("max_receive_pdu_size", self.max_receive_pdu_size, 0, 0xFFFF)
        check_range("dlms_version", self.dlms_version, 0, 0xFF)
        check_range("vaa_name", self.vaa_name, 0, 0xFFFF)
        if self.quality_of_service is not None:
            check_range("quality_of_service", self.quality_of_service, -128, 127)


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
        check_bytes("content", self.content, optional=False)
        freeze_bytes(self, "content")

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
# encoding
# --------------------------------------------------------------------------


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


# --------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------


class _Reader:
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
        try:
            n, self.pos = read_length(self.buf, p, self.end)
        except Fail as exc:
            _fail("truncated input" if exc.code == S.TRUNCATED else "invalid length form", exc.offset)
        return n

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
    return read_user_information(buf, 0, len(buf))


def read_user_information(buf: bytes, pos: int, end: int) -> UserInformation:
    """The xDLMS PDU that fills ``buf[pos:end]`` exactly; error offsets are
    offsets in ``buf`` (the ACSE decoder passes the whole APDU)."""
    r = _Reader(buf, pos, end)
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
# JSON (the user-information fields of the "acse" object, docs/json.md)
# --------------------------------------------------------------------------


def user_information_json(ui: UserInformation | None) -> dict[str, Any]:
    """The user-information fields of the ``acse`` JSON object (all four keys
    present, None when ``ui`` is None or ciphered)."""
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
