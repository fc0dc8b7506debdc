"""The outer shape of ciphered APDUs: :class:`Envelope` (where each part of a
parsed frame lies) and the builders that write frames around a ciphered
content.  Parsing itself is a backend function (``dlmsmesh._pure.secure`` /
``dlmsmesh._native.secure``); both give the same Envelope for the same bytes.

Frame shapes (spec/security.md section 6):

- service-specific ``glo-``/``ded-``: ``tag | length | content``
- general-glo/ded-ciphering: ``tag | title | length | content``
- general-ciphering: ``DD | transaction-id | originator | recipient |
  date-time | other-information | key-info | content``
- general-signing: ``DF | transaction-id .. other-information | content | signature``

where ``content`` = ``SC | IC | ciphertext-or-plaintext | [12-byte tag]``.
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import _status as S
from ..errors import AuthenticationError, DecodeError, DlmsError, EncodeError, SecurityError
from .tags import GENERAL_CIPHERING, GENERAL_SIGNING, TAG_NAMES, FrameKind, KeyInfoKind

__all__ = [
    "LAYER",
    "Envelope",
    "error_for",
    "put_length",
    "octet_string",
    "service_frame",
    "general_frame",
    "general_header",
    "key_info_bytes",
    "general_ciphering_frame",
    "general_signing_frame",
]

LAYER = "security"

#: codes that mean "these bytes are not a well-formed ciphered APDU"
_DECODE_CODES = frozenset(
    (S.TRUNCATED, S.BAD_LENGTH, S.TRAILING, S.APDU_FLAG, S.APDU_CHOICE, S.SEC_TAG, S.SEC_TITLE, S.SEC_MISMATCH)
)


def error_for(code: int, offset: int) -> DlmsError:
    """The exception for a status code of the security layer, both backends.

    Malformed frames are :class:`DecodeError` (layer ``security``); a tag that
    does not verify is :class:`AuthenticationError`; the rest (suite, key,
    policy, control byte) are :class:`SecurityError`.  The security errors
    carry ``offset`` and ``code`` attributes too.  No message ever holds key
    material or plaintext.
    """
    message = S.MESSAGES.get(code, f"security error {code}")
    if code in _DECODE_CODES:
        exc: DlmsError = DecodeError(message, layer=LAYER, offset=offset)
    elif code == S.SEC_AUTH:
        exc = AuthenticationError(message)
    else:
        exc = SecurityError(message)
    exc.offset = offset  # type: ignore[attr-defined]
    exc.code = code  # type: ignore[attr-defined]
    return exc


@dataclass(frozen=True, slots=True)
class Envelope:
    """Offsets (into the frame) and lengths of the parts of one ciphered APDU.

    Absent parts have length 0.  ``sc`` and ``ic`` are the security control
    byte and invocation counter at the start of ``content`` (0 for
    general-signing, whose content is the signed APDU).
    """

    tag: int
    kind: FrameKind
    title: int = 0
    title_len: int = 0
    recipient: int = 0
    recipient_len: int = 0
    header: int = 0
    header_len: int = 0
    transaction: int = 0
    transaction_len: int = 0
    date_time: int = 0
    date_time_len: int = 0
    other: int = 0
    other_len: int = 0
    key_info: KeyInfoKind = KeyInfoKind.NONE
    key_id: int = 0
    key_params: int = 0
    key_params_len: int = 0
    key_data: int = 0
    key_data_len: int = 0
    content: int = 0
    content_len: int = 0
    signature: int = 0
    signature_len: int = 0
    sc: int = 0
    ic: int = 0

    @property
    def name(self) -> str:
        """The ASN.1 name of the tag, e.g. ``glo-get-request``."""
        return TAG_NAMES[self.tag]

    @staticmethod
    def part(frame: bytes, offset: int, length: int) -> bytes:
        return bytes(frame[offset : offset + length])


# --------------------------------------------------------------------------
# building frames
# --------------------------------------------------------------------------


def put_length(out: bytearray, n: int) -> None:
    """Shortest A-XDR length form of ``n``."""
    if n < 0x80:
        out.append(n)
    elif n < 0x100:
        out += bytes((0x81, n))
    elif n < 0x10000:
        out += b"\x82" + n.to_bytes(2, "big")
    elif n < 0x1000000:
        out += b"\x83" + n.to_bytes(3, "big")
    elif n < 0x100000000:
        out += b"\x84" + n.to_bytes(4, "big")
    else:
        raise EncodeError(f"length {n} does not fit an A-XDR length")


def octet_string(out: bytearray, value: bytes) -> None:
    put_length(out, len(value))
    out += value


def service_frame(tag: int, content: bytes) -> bytes:
    """``tag | length | content`` (service-specific glo-/ded- APDUs)."""
    out = bytearray((tag,))
    octet_string(out, content)
    return bytes(out)


def general_frame(tag: int, title: bytes, content: bytes) -> bytes:
    """general-glo-/general-ded-ciphering: ``tag | title | content``."""
    out = bytearray((tag,))
    octet_string(out, title)
    octet_string(out, content)
    return bytes(out)


def general_header(
    transaction_id: bytes, originator: bytes, recipient: bytes, date_time: bytes, other_information: bytes
) -> bytes:
    """The A-XDR fields transaction-id .. other-information of general-ciphering
    and general-signing, each an octet-string: also what the AAD (variant
    ``HEADER``) and the signature cover."""
    for name, title in (("originator system title", originator), ("recipient system title", recipient)):
        if len(title) not in (0, 8):
            raise EncodeError(f"{name} must be 0 or 8 bytes, not {len(title)}")
    out = bytearray()
    for field in (transaction_id, originator, recipient, date_time, other_information):
        octet_string(out, bytes(field))
    return bytes(out)


def key_info_bytes(kind: KeyInfoKind, key_id: int = 0, params: bytes = b"", data: bytes = b"") -> bytes:
    """The OPTIONAL key-info of general-ciphering."""
    if kind is KeyInfoKind.NONE:
        return b"\x00"
    if not 0 <= key_id <= 255:
        raise EncodeError(f"key id {key_id} is not an 8-bit enum")
    out = bytearray((1, int(kind) - 1))
    if kind is KeyInfoKind.IDENTIFIED:
        out.append(key_id)
    elif kind is KeyInfoKind.WRAPPED:
        out.append(key_id)
        octet_string(out, data)
    else:
        octet_string(out, params)
        octet_string(out, data)
    return bytes(out)


def general_ciphering_frame(header: bytes, key_info: bytes, content: bytes) -> bytes:
    out = bytearray((GENERAL_CIPHERING,))
    out += header
    out += key_info
    octet_string(out, content)
    return bytes(out)


def general_signing_frame(header: bytes, content: bytes, signature: bytes) -> bytes:
    out = bytearray((GENERAL_SIGNING,))
    out += header
    octet_string(out, content)
    octet_string(out, signature)
    return bytes(out)
