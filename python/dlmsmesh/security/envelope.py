"""The outer shape of ciphered APDUs: :class:`Envelope` (where each part of a
parsed frame lies; it lives in :mod:`dlmsmesh._common.secure`, below the
backends that build it) and the builders that write frames around a
ciphered content.  Parsing itself is a backend function
(``dlmsmesh._pure.secure`` / ``dlmsmesh._native.secure``); both give the
same Envelope for the same bytes.

Frame shapes (the ciphered APDUs of IEC 62056-5-3):

- service-specific ``glo-``/``ded-``: ``tag | length | content``
- general-glo/ded-ciphering: ``tag | title | length | content``
- general-ciphering: ``DD | transaction-id | originator | recipient |
  date-time | other-information | key-info | content``
- general-signing: ``DF | transaction-id .. other-information | content | signature``

where ``content`` = ``SC | IC | ciphertext-or-plaintext | [12-byte tag]``.
"""

from __future__ import annotations

from .._common.fail import Fail
from .._common.length import put_length, read_length
from .._common.secure import LAYER, Envelope, error_for
from ..errors import EncodeError
from .tags import GENERAL_CIPHERING, GENERAL_DED_CIPHERING, GENERAL_GLO_CIPHERING, GENERAL_SIGNING, KeyInfoKind

__all__ = [
    "LAYER",
    "Envelope",
    "error_for",
    "octet_string",
    "service_frame",
    "general_frame",
    "general_header",
    "key_info_bytes",
    "general_ciphering_frame",
    "general_signing_unsigned",
    "general_signing_frame",
    "general_sender_title",
    "security_control_of",
]

# --------------------------------------------------------------------------
# reading a header without keys (routing)
# --------------------------------------------------------------------------


def general_sender_title(frame: bytes) -> bytes | None:
    """The sender's system title a general-glo/ded-ciphering APDU carries
    (None for any other frame): what a peer is known by before its keys are
    chosen, without parsing the rest."""
    if frame[:1] in _GENERAL_TAGS and len(frame) >= 10 and frame[1] == 8:
        return frame[2:10]
    return None


def security_control_of(frame: bytes) -> int | None:
    """The security control byte of a glo-/ded- or general-glo/ded-ciphering
    APDU, read without keys (None when the frame is too short to say)."""
    try:
        start = 2 + frame[1] if frame[:1] in _GENERAL_TAGS else 1
        _, p = read_length(frame, start, len(frame))
    except (IndexError, Fail):
        return None
    return frame[p] if p < len(frame) else None


_GENERAL_TAGS = (bytes((GENERAL_GLO_CIPHERING,)), bytes((GENERAL_DED_CIPHERING,)))

# --------------------------------------------------------------------------
# building frames
# --------------------------------------------------------------------------


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
    ``HEADER``) covers, and what the signature covers before the content."""
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


def general_signing_unsigned(header: bytes, content: bytes) -> bytes:
    """``DF | header | content`` without the signature: what follows the tag
    is exactly what the signature covers."""
    out = bytearray((GENERAL_SIGNING,))
    out += header
    octet_string(out, content)
    return bytes(out)


def general_signing_frame(unsigned: bytes, signature: bytes) -> bytes:
    """The :func:`general_signing_unsigned` bytes with ``signature`` after them."""
    out = bytearray(unsigned)
    octet_string(out, signature)
    return bytes(out)
