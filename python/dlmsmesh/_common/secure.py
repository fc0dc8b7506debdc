"""What both security backends (``dlmsmesh._pure.secure``,
``dlmsmesh._native.secure``) and the security layer share: where the parts of
a parsed ciphered APDU lie (:class:`Envelope`), the exception of each status
code (:func:`error_for`), the framings a batch seals in, the keys of one
sender (:class:`PeerKeys`) and the per-frame outcome of a batch
(:class:`BatchResult`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from .. import _status as S
from ..errors import AuthenticationError, DecodeError, DlmsError, EncodeError, SecurityError
from .security_tags import TAG_NAMES, FrameKind, KeyInfoKind

__all__ = [
    "LAYER",
    "Envelope",
    "error_for",
    "check_title",
    "check_ic",
    "FRAME_CONTENT",
    "FRAME_GLO",
    "FRAME_DED",
    "FRAME_GENERAL_GLO",
    "FRAME_GENERAL_DED",
    "PeerKeys",
    "BatchResult",
    "OpenedFrame",
    "DEFERRED",
    "NO_PEER",
    "MAX_BATCH_BYTES",
    "check_ring",
    "check_offsets",
]

LAYER = "security"

# how seal_batch frames each sealed content (dm_secure framing of csrc/secure.c)
FRAME_CONTENT = 0
FRAME_GLO = 1
FRAME_DED = 2
FRAME_GENERAL_GLO = 3
FRAME_GENERAL_DED = 4

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


def check_title(title: bytes) -> bytes:
    """``title`` as bytes; EncodeError unless it is 8 bytes long."""
    title = bytes(title)
    if len(title) != 8:
        raise EncodeError(f"a system title is 8 bytes, not {len(title)}")
    return title


def check_ic(ic: int, count: int = 1) -> None:
    """EncodeError unless ``count`` counters from ``ic`` fit 32 bits."""
    if not 0 <= ic or ic + count - 1 > 0xFFFFFFFF:
        raise EncodeError("invocation counters are 32-bit unsigned")


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


#: batch status of a frame left to the Python path (general-signing, a
#: wrapped or agreed key): not an error, not done
DEFERRED = 1
#: BatchResult.peer of a frame whose sender is not known
NO_PEER = -1
#: the most bytes one batch call takes (the C core hands lengths to EVP as int)
MAX_BATCH_BYTES = 0x7FFFFFFF - 64


@dataclass(frozen=True, eq=False)
class PeerKeys:
    """One sender as the batch sees it: its system title (None: not known),
    suite, the SC bits the policy requires (0x10, 0x20), whether
    general-ciphering header fields enter the AAD, whether it accepts the
    title a frame carries (a single peer only), and its keys (backend key
    objects, None when not configured)."""

    title: bytes | None
    suite: int
    required: int = 0
    header_aad: bool = True
    any_title: bool = False
    unicast: Any = None
    broadcast: Any = None
    dedicated: Any = None


@dataclass(eq=False)
class BatchResult:
    """Per-frame outcome of ``open_batch``: parallel lists, one item per frame.

    ``status`` is 0 (ok), :data:`DEFERRED`, or a negative status code of
    :mod:`dlmsmesh._status` with ``err_offset`` the failing byte of the frame;
    ``plaintexts`` holds the APDU of every frame whose status is 0, else None.
    ``peer`` indexes the ring's peers (:data:`NO_PEER` when unknown); ``tag``,
    ``sc`` and ``ic`` are read from the frame (0 when it did not parse) and
    ``key_set`` is a :class:`~dlmsmesh.security.KeySet` value.
    """

    status: list[int]
    err_offset: list[int]
    peer: list[int]
    tag: list[int]
    sc: list[int]
    ic: list[int]
    key_set: list[int]
    plaintexts: list[bytes | None]

    def __len__(self) -> int:
        return len(self.status)


class OpenedFrame(NamedTuple):
    """The outcome of ``open_frame`` (one frame): the fields of one
    :class:`BatchResult` item; ``plaintext`` is None unless ``status`` is 0."""

    status: int
    err_offset: int
    peer: int
    tag: int
    sc: int
    ic: int
    key_set: int
    plaintext: bytes | None


def check_ring(peers: Sequence[PeerKeys], default: int | None, key_type: type) -> list[Any]:
    """Raise ValueError unless ``peers`` can form a ring (sorted unique
    titles; only a single any-title peer may lack one; open keys of
    ``key_type``); return the distinct keys, in a fixed order."""
    keys: dict[int, Any] = {}
    for p in peers:
        if p.title is None and not (len(peers) == 1 and p.any_title):
            raise ValueError("only a single any-title peer may lack a system title")
        if p.title is not None and len(p.title) != 8:
            raise ValueError("a system title is 8 bytes")
        for k in (p.unicast, p.broadcast, p.dedicated):
            if k is None:
                continue
            if not isinstance(k, key_type) or getattr(k, "closed", True):
                raise ValueError("ring keys must be open keys of this backend")
            keys[id(k)] = k
    titles = [p.title or b"" for p in peers]
    if any(a >= b for a, b in zip(titles, titles[1:])):
        raise ValueError("peers must be sorted by system title, without duplicates")
    if default is not None and not 0 <= default < len(peers):
        raise ValueError("default peer out of range")
    return [keys[i] for i in sorted(keys)]


def check_offsets(offsets: Sequence[int], total: int) -> None:
    """Raise ValueError unless ``offsets`` rise from >= 0 to <= ``total`` bytes
    (and within MAX_BATCH_BYTES)."""
    if (
        len(offsets) < 1
        or offsets[0] < 0
        or offsets[-1] > total
        or offsets[-1] > MAX_BATCH_BYTES
        or any(a > b for a, b in zip(offsets, offsets[1:]))
    ):
        raise ValueError("offsets must rise from 0 .. len(data)")
