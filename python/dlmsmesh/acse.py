"""ACSE APDUs (AARQ, AARE, RLRQ, RLRE) and the xDLMS Initiate PDUs they carry.

``encode(pdu) -> bytes`` and ``decode(data) -> pdu`` give the exact bytes of
the ACSE APDUs as DLMS/COSEM uses them (IEC 62056-5-3, BER per ITU-T X.690).
The ACSE layer is BER; its fields are read with the BER walker of the live
backend (:func:`ber_walk`).  The user-information field
holds an A-XDR xDLMS PDU (``dlmsmesh.xdlms_initiate``): :class:`InitiateRequest`,
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

This module is the ACSE layer's public API and its decoder; the PDU values
and their encoder are ``dlmsmesh.acse_pdu``, the Initiate PDUs
``dlmsmesh.xdlms_initiate``, and every public name of both is importable here.
"""

from __future__ import annotations

from typing import Any, Callable, NoReturn

from . import _backend
from ._common.ber import DEFAULT_MAX_DEPTH, DEPTH_LIMIT, Node, encode_length
from .acse_pdu import (
    AARE,
    AARQ,
    LAYER,
    PDU_CLASSES,
    RLRE,
    RLRQ,
    AcsePdu,
    AcseServiceProviderDiagnostic,
    AcseServiceUserDiagnostic,
    ApplicationContext,
    AssociationResult,
    Diagnostic,
    Mechanism,
    ReleaseRequestReason,
    ReleaseResponseReason,
    encode,
    oid_from_bytes,
    oid_to_bytes,
)
from .errors import DecodeError
from .types import BitString
from .xdlms_initiate import (
    CIPHERED_TAGS,
    CipheredUserInformation,
    ConfirmedServiceError,
    Conformance,
    InitiateRequest,
    InitiateResponse,
    RequestInformation,
    ResponseInformation,
    UserInformation,
    decode_user_information,
    encode_user_information,
    read_user_information,
    user_information_json,
)

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
    # public before the Initiate PDUs and the PDU values moved out, kept here
    "CIPHERED_TAGS",
    "PDU_CLASSES",
    "Diagnostic",
    "RequestInformation",
    "ResponseInformation",
    "UserInformation",
    "DEFAULT_MAX_DEPTH",
    "DEPTH_LIMIT",
    "encode_length",
]


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
    0..``DEPTH_LIMIT`` (64; a node deeper than it is an error), by default
    ``dlmsmesh.limits.DEFAULT_MAX_DEPTH``.
    """
    return _backend.live.modules["ber"].walk(data, offset, end, max_depth, flat=flat, one=one)  # type: ignore[no-any-return]


# --------------------------------------------------------------------------
# decoding
# --------------------------------------------------------------------------


def _fail(message: str, offset: int) -> NoReturn:
    raise DecodeError(message, layer=LAYER, offset=offset)


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
        ui = read_user_information(src.data, inner.content, inner.end)
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


def _reason(enum_cls: type[ReleaseRequestReason | ReleaseResponseReason]) -> _Reader:
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


# --------------------------------------------------------------------------
# JSON (the "acse" object of docs/json.md)
# --------------------------------------------------------------------------


def _oid_json(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, (ApplicationContext, Mechanism)):
        return value.asn1_name
    return str(value)


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex()


def to_json(pdu: AcsePdu) -> dict[str, Any]:
    """The ``acse`` object of the CLI's JSON Lines output (no passwords or
    challenges: authentication values are left out)."""
    out: dict[str, Any] = {"type": pdu.TYPE}
    if isinstance(pdu, (RLRQ, RLRE)):
        out["reason"] = None if pdu.reason is None else pdu.reason.asn1_name
        if pdu.user_information is not None:
            out.update(user_information_json(pdu.user_information))
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
    out.update(user_information_json(pdu.user_information))
    return out
