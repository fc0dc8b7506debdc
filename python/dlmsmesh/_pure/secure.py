"""Pure-Python security layer: AES-GCM protection of ciphered APDUs with
``cryptography`` (the twin of csrc/secure.c; same results, same errors at the
same offsets).

Why AESGCM and not ``Cipher(AES, GCM)``: building a Cipher object costs
several microseconds per frame, while an ``AESGCM`` instance keeps its key and
is reused for every frame of that key.  AESGCM only checks full 16-byte tags
and DLMS sends 12, so verification computes the tag and compares the first 12
bytes with ``hmac.compare_digest`` (constant time).  GCM encryption and
decryption are the same CTR keystream, so ``encrypt(iv, ciphertext, None)``
yields the candidate plaintext; it is returned only after the tag matched.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence
from hmac import compare_digest
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from .. import _status as S
from .._common.fail import Fail
from .._common.length import put_length, read_length
from .._common.secure import (
    DEFERRED,
    FRAME_CONTENT,
    FRAME_DED,
    FRAME_GENERAL_DED,
    FRAME_GENERAL_GLO,
    FRAME_GLO,
    MAX_BATCH_BYTES,
    NO_PEER,
    BatchResult,
    Envelope,
    OpenedFrame,
    PeerKeys,
    check_ic,
    check_offsets,
    check_ring,
    check_title,
    error_for,
)
from .._common.security_tags import (
    KINDS,
    PLAIN_NAMES,
    SERVICE_TAGS,
    FrameKind,
    KeyInfoKind,
    KeySet,
    ded_tag,
    glo_tag,
)
from ..errors import EncodeError

__all__ = [
    "Key",
    "new_key",
    "make_ring",
    "parse",
    "seal",
    "unseal",
    "open_batch",
    "seal_batch",
    "open_frame",
    "seal_frame",
    "sealer",
    "open_glo",
    "FRAME_CONTENT",
    "FRAME_GLO",
    "FRAME_DED",
    "FRAME_GENERAL_GLO",
    "FRAME_GENERAL_DED",
]

_A = 0x10
_E = 0x20
_K = 0x40
_C = 0x80
_HEAD = 5
_TAG = 12
_SERVICE = (FrameKind.SERVICE_GLO, FrameKind.SERVICE_DED)
_DEDICATED = (FrameKind.SERVICE_DED, FrameKind.GENERAL_DED)
_UNICAST_SET = int(KeySet.UNICAST)
_BROADCAST_SET = int(KeySet.BROADCAST)
_DED_SET = int(KeySet.DEDICATED)


class Key:
    """An encryption key (16 or 32 bytes) with its authentication key (0, 16 or
    32 bytes): one AESGCM instance reused for every frame, and the 256
    possible ``SC || AK`` AAD prefixes built once."""

    __slots__ = ("aead", "size", "has_ak", "aad", "closed")

    def __init__(self, ek: bytes, ak: bytes | None) -> None:
        # None is no AK (authenticated frames refused); b"" an empty AK, as
        # the GB smart-metering profile has it
        self.has_ak = ak is not None
        ak = b"" if ak is None else bytes(ak)
        if len(ek) not in (16, 32) or len(ak) not in (0, 16, 32):
            raise EncodeError("keys must be 16 or 32 bytes long")
        self.aead: Any = AESGCM(bytes(ek))
        self.size = len(ek)
        self.aad = tuple(bytes((sc,)) + ak for sc in range(256))
        self.closed = False

    def close(self) -> None:
        """Drop the key material (Python cannot promise to wipe it)."""
        self.aead = None
        self.aad = ()
        self.closed = True

    def __repr__(self) -> str:
        return f"<pure AES-{self.size * 8}-GCM key{' (closed)' if self.closed else ''}>"


def new_key(ek: bytes, ak: bytes | None = None) -> Key:
    return Key(ek, ak)


# --------------------------------------------------------------------------
# parsing (the order of checks and the offsets are those of csrc/secure.c)
# --------------------------------------------------------------------------


def _octets(buf: bytes, p: int, end: int, title: bool = False) -> tuple[int, int, int]:
    """(offset, length, offset after) of the octet-string at ``p``."""
    n, q = read_length(buf, p, end)
    if title and n != 0 and n != 8:
        raise Fail(S.SEC_TITLE, p)
    if n > end - q:
        raise Fail(S.TRUNCATED, p)
    return q, n, q + n


def _byte(buf: bytes, p: int, end: int) -> int:
    if p >= end:
        raise Fail(S.TRUNCATED, p)
    return buf[p]


def _parse(buf: bytes) -> Envelope:
    end = len(buf)
    if end == 0:
        raise Fail(S.TRUNCATED, 0)
    tag = buf[0]
    kind = KINDS.get(tag)
    if kind is None:
        raise Fail(S.SEC_TAG, 0)
    f: dict[str, Any] = {"tag": tag, "kind": kind}
    pos = 1
    if kind is FrameKind.GENERAL_GLO or kind is FrameKind.GENERAL_DED:
        f["title"], f["title_len"], pos = _octets(buf, pos, end, True)
    elif kind is FrameKind.GENERAL_CIPHERING or kind is FrameKind.GENERAL_SIGNING:
        f["header"] = pos
        f["transaction"], f["transaction_len"], pos = _octets(buf, pos, end)
        f["title"], f["title_len"], pos = _octets(buf, pos, end, True)
        f["recipient"], f["recipient_len"], pos = _octets(buf, pos, end, True)
        f["date_time"], f["date_time_len"], pos = _octets(buf, pos, end)
        f["other"], f["other_len"], pos = _octets(buf, pos, end)
        f["header_len"] = pos - f["header"]
    if kind is FrameKind.GENERAL_CIPHERING:
        flag = _byte(buf, pos, end)
        if flag > 1:
            raise Fail(S.APDU_FLAG, pos)
        pos += 1
        if flag:
            choice = _byte(buf, pos, end)
            choice_at = pos
            pos += 1
            if choice == 0:
                f["key_id"] = _byte(buf, pos, end)
                pos += 1
            elif choice == 1:
                f["key_id"] = _byte(buf, pos, end)
                pos += 1
                f["key_data"], f["key_data_len"], pos = _octets(buf, pos, end)
            elif choice == 2:
                f["key_params"], f["key_params_len"], pos = _octets(buf, pos, end)
                f["key_data"], f["key_data_len"], pos = _octets(buf, pos, end)
            else:
                raise Fail(S.APDU_CHOICE, choice_at)
            f["key_info"] = KeyInfoKind(choice + 1)
    content, content_len, pos = _octets(buf, pos, end)
    f["content"], f["content_len"] = content, content_len
    if kind is FrameKind.GENERAL_SIGNING:
        f["signature"], f["signature_len"], pos = _octets(buf, pos, end)
    else:
        stop = content + content_len
        if content_len < _HEAD:
            raise Fail(S.TRUNCATED, stop)
        sc = buf[content]
        f["sc"] = sc
        f["ic"] = int.from_bytes(buf[content + 1 : content + 5], "big")
        if sc & _A and content_len < _HEAD + _TAG:
            raise Fail(S.TRUNCATED, stop)
    if pos != end:
        raise Fail(S.TRAILING, pos)
    return Envelope(**f)


def parse(frame: bytes | bytearray | memoryview) -> Envelope:
    """The parts of one ciphered APDU; DecodeError(layer 'security') when malformed."""
    try:
        return _parse(bytes(frame))
    except Fail as f:
        raise error_for(f.code, f.offset) from None


# --------------------------------------------------------------------------
# GCM on one ciphered content
# --------------------------------------------------------------------------


def _seal(key: Key, sc: int, title: bytes, ic: int, plaintext: bytes, header: bytes) -> bytes:
    if key.closed:
        raise ValueError("this key was closed")  # as the native backend says
    auth = sc & _A
    if sc & _C or not sc & (_A | _E):
        raise Fail(S.SEC_CONTROL, 0)
    if auth and not key.has_ak:
        raise Fail(S.SEC_NO_KEY, 0)
    icb = ic.to_bytes(4, "big")
    iv = title + icb
    head = bytes((sc,)) + icb
    if sc & _E:
        if auth:
            return head + key.aead.encrypt(iv, plaintext, key.aad[sc] + header)[:-4]
        return head + key.aead.encrypt(iv, plaintext, None)[:-16]
    # authentication only: the APDU travels in clear and is authenticated
    return head + plaintext + key.aead.encrypt(iv, b"", key.aad[sc] + header + plaintext)[:_TAG]


def _open(key: Key, title: bytes, buf: bytes, start: int, end: int, header: bytes) -> bytes:
    """The plaintext of the content buf[start:end] = SC IC body [tag]; raises
    Fail with offsets into buf."""
    sc = buf[start]
    if sc & _C or not sc & (_A | _E):
        raise Fail(S.SEC_CONTROL, start)
    iv = title + buf[start + 1 : start + 5]
    aead = key.aead
    if not sc & _A:
        return aead.encrypt(iv, buf[start + 5 : end], None)[:-16]
    if not key.has_ak:
        raise Fail(S.SEC_NO_KEY, start)
    stop = end - _TAG
    body = buf[start + 5 : stop]
    aad = key.aad[sc] + header if header else key.aad[sc]
    if sc & _E:
        plain = aead.encrypt(iv, body, None)[:-16]
        tag = aead.encrypt(iv, plain, aad)[-16:-4]
    else:
        plain = body
        tag = aead.encrypt(iv, b"", aad + body)[:_TAG]
    if not compare_digest(tag, buf[stop:end]):
        raise Fail(S.SEC_AUTH, stop)
    return plain


def _encode_failure(f: Fail, what: str = "") -> EncodeError:
    return EncodeError(f"{what}{S.MESSAGES.get(f.code, f'security error {f.code}')}")


def seal(key: Key, sc: int, title: bytes, ic: int, plaintext: bytes, header: bytes = b"") -> bytes:
    """Protect one APDU: ``SC | IC | ciphertext-or-plaintext | [tag]``
    under IV = title || IC; ``header`` enters the AAD after AK."""
    check_ic(ic)
    if not 0 <= sc <= 255:
        raise EncodeError("security control is one byte")
    try:
        return _seal(key, sc, check_title(title), ic, bytes(plaintext), bytes(header))
    except Fail as f:
        raise _encode_failure(f) from None


def unseal(key: Key, title: bytes, content: bytes | bytearray | memoryview, header: bytes = b"") -> bytes:
    """Verify and decrypt one ``SC | IC | body | [tag]`` sent under ``title``."""
    content = bytes(content)
    if len(content) < _HEAD or (content[0] & _A and len(content) < _HEAD + _TAG):
        raise error_for(S.TRUNCATED, len(content))
    try:
        return _open(key, check_title(title), content, 0, len(content), bytes(header))
    except Fail as f:
        raise error_for(f.code, f.offset) from None


# --------------------------------------------------------------------------
# batches
# --------------------------------------------------------------------------


class _Ring:
    __slots__ = ("peers", "titles", "default", "single_any", "keys")

    def __init__(self, peers: Sequence[PeerKeys], default: int | None) -> None:
        self.keys = check_ring(peers, default, Key)
        self.peers = tuple(peers)
        self.titles = [p.title or b"" for p in self.peers]
        self.default = default
        self.single_any = len(self.peers) == 1 and self.peers[0].any_title


def make_ring(peers: Sequence[PeerKeys], default: int | None = None) -> _Ring:
    """The keys of the senders of a batch, sorted by system title."""
    return _Ring(peers, default)


def _find(ring: _Ring, title: bytes) -> int:
    i = bisect.bisect_left(ring.titles, title)
    if i < len(ring.titles) and ring.titles[i] == title:
        return i
    return -1


def _open_frame(
    ring: _Ring,
    frame: bytes,
    kind: FrameKind,
    tag: int,
    title_at: int,
    title_len: int,
    key_info: int,
    key_id: int,
    header_at: int,
    header_len: int,
    at: int,
    content_len: int,
    sc: int,
    out: list[int],
) -> bytes:
    """Sender, checks, key, GCM and tag consistency of one parsed frame (the
    content is frame[at:at + content_len]).  Fills out = [peer, key_set];
    the order of checks is csrc/secure.c's."""
    if kind is FrameKind.GENERAL_SIGNING or key_info >= KeyInfoKind.WRAPPED:
        raise Fail(DEFERRED, 0)
    if title_len == 8:
        title = frame[title_at : title_at + 8]
        if ring.single_any:
            index = 0
        else:
            index = _find(ring, title)
            if index < 0:
                raise Fail(S.SEC_NO_KEY, title_at)
        peer = ring.peers[index]
    else:
        if ring.default is None:
            raise Fail(S.SEC_NO_TITLE, 0)
        index = ring.default
        peer = ring.peers[index]
        if peer.title is None:
            raise Fail(S.SEC_NO_TITLE, 0)
        title = peer.title
    out[0] = index
    if sc & _C or not sc & (_A | _E):
        raise Fail(S.SEC_CONTROL, at)
    if sc & 0x0F != peer.suite:
        raise Fail(S.SEC_SUITE, at)
    if peer.required & ~sc & (_A | _E):
        raise Fail(S.SEC_POLICY, at)
    if kind in _DEDICATED:
        if sc & _K:
            raise Fail(S.SEC_CONTROL, at)
        key = peer.dedicated
        out[1] = _DED_SET
    elif key_info == KeyInfoKind.IDENTIFIED:
        if key_id > 1:
            raise Fail(S.SEC_NO_KEY, at)
        key = peer.broadcast if key_id else peer.unicast
        out[1] = _BROADCAST_SET if key_id else _UNICAST_SET
    else:
        key = peer.broadcast if sc & _K else peer.unicast
        out[1] = _BROADCAST_SET if sc & _K else _UNICAST_SET
    if key is None or (sc & _A and not key.has_ak):
        raise Fail(S.SEC_NO_KEY, at)
    header = b""
    if kind is FrameKind.GENERAL_CIPHERING and peer.header_aad:
        header = frame[header_at : header_at + header_len]
    plain = _open(key, title, frame, at, at + content_len, header)
    if kind in _SERVICE:
        # the tag is not authenticated: only the APDU inside says what it is
        if not plain or plain[0] != SERVICE_TAGS[tag][1]:
            raise Fail(S.SEC_MISMATCH, 0)
    return plain


def _open_parsed(ring: _Ring, frame: bytes, env: Envelope, out: list[int]) -> bytes:
    return _open_frame(
        ring, frame, env.kind, env.tag, env.title, env.title_len, env.key_info, env.key_id,
        env.header, env.header_len, env.content, env.content_len, env.sc, out,
    )  # fmt: skip


_GENERAL_KINDS = (FrameKind.GENERAL_GLO, FrameKind.GENERAL_DED)


def _open_one(ring: _Ring, frame: bytes) -> OpenedFrame:
    size = len(frame)
    slot = [NO_PEER, 0]
    tag = sc = ic = 0
    try:
        # Fast path for the well-formed common shapes (short lengths,
        # general-glo/ded with an 8-byte title); anything else, valid or
        # not, goes through the full parser, which owns every error.
        kind = KINDS.get(frame[0]) if size > 6 else None
        at = 0
        if kind in _GENERAL_KINDS:
            if frame[1] == 8 and size > 15 and frame[10] < 0x80 and frame[10] + 11 == size:
                at = 11
        elif kind in _SERVICE and frame[1] < 0x80 and frame[1] + 2 == size:
            at = 2
        if kind is not None and at and (size - at >= 17 or (size - at >= 5 and not frame[at] & _A)):
            tag = frame[0]
            sc = frame[at]
            ic = int.from_bytes(frame[at + 1 : at + 5], "big")
            plain = _open_frame(ring, frame, kind, tag, 2, 8 if at == 11 else 0, 0, 0, 0, 0, at, size - at, sc, slot)
        else:
            env = _parse(frame)
            tag, sc, ic = env.tag, env.sc, env.ic
            plain = _open_parsed(ring, frame, env, slot)
    except Fail as f:
        return OpenedFrame(f.code, f.offset, slot[0], tag, sc, ic, slot[1], None)
    return OpenedFrame(0, 0, slot[0], tag, sc, ic, slot[1], plain)


def open_frame(ring: _Ring, frame: bytes) -> OpenedFrame:
    """Verify and decrypt one frame (``open_batch`` of one)."""
    if any(k.closed for k in ring.keys):
        raise ValueError("a key of this ring was closed")
    return _open_one(ring, bytes(frame))


def sealer(key: Key, sc: int, title: bytes, framing: int) -> Callable[[int, bytes], bytes]:
    """``seal_frame`` with its key, control byte, title and framing checked
    once: the function an association seals each of its APDUs with."""
    title = check_title(title)
    if not 0 <= sc <= 255 or framing not in (0, 1, 2, 3, 4):
        raise EncodeError("bad security control or framing")

    def seal_one(ic: int, apdu: bytes) -> bytes:
        return seal_frame(key, sc, title, ic, framing, apdu)

    return seal_one


def open_glo(ring: _Ring, frame: bytes) -> tuple[bytes, int, int] | None:
    """(plaintext, security control, invocation counter) of a
    service-specific glo- frame from the ring's only peer under its unicast
    key, as :func:`open_frame` gives them; None for any other frame, ring or
    outcome (:func:`open_frame` says which)."""
    if len(ring.peers) != 1 or len(frame) > 0xFFFF or not frame or KINDS.get(frame[0]) is not FrameKind.SERVICE_GLO:
        return None
    if any(k.closed for k in ring.keys):
        return None
    opened = _open_one(ring, bytes(frame))
    if opened.status or opened.key_set != KeySet.UNICAST:
        return None
    return opened.plaintext, opened.sc, opened.ic  # type: ignore[return-value]


def open_batch(ring: _Ring, data: bytes | bytearray | memoryview, offsets: Sequence[int]) -> BatchResult:
    """Verify and decrypt the frames ``data[offsets[i]:offsets[i+1]]``."""
    data = bytes(data)
    if any(k.closed for k in ring.keys):
        raise ValueError("a key of this ring was closed")
    check_offsets(offsets, len(data))
    items = [_open_one(ring, data[offsets[i] : offsets[i + 1]]) for i in range(len(offsets) - 1)]
    if not items:
        return BatchResult([], [], [], [], [], [], [], [])
    columns = [list(c) for c in zip(*items)]
    return BatchResult(*columns)  # type: ignore[arg-type]


def seal_batch(key: Key, sc: int, title: bytes, first_ic: int, framing: int, apdus: Sequence[bytes]) -> list[bytes]:
    """Protect ``apdus`` with counters first_ic, first_ic + 1, ... and frame
    each as ``framing`` (FRAME_CONTENT, FRAME_GLO, FRAME_DED,
    FRAME_GENERAL_GLO, FRAME_GENERAL_DED)."""
    title = check_title(title)
    check_ic(first_ic, max(len(apdus), 1))
    if not 0 <= sc <= 255 or framing not in (0, 1, 2, 3, 4):
        raise EncodeError("bad security control or framing")
    if sum(map(len, apdus)) + 40 * len(apdus) > MAX_BATCH_BYTES:
        raise EncodeError("batch too large for one call")
    out: list[bytes] = []
    prefix = b""
    if framing == FRAME_GENERAL_GLO:
        prefix = b"\xdb\x08" + title
    elif framing == FRAME_GENERAL_DED:
        prefix = b"\xdc\x08" + title
    for i, apdu in enumerate(apdus):
        apdu = bytes(apdu)
        head = prefix
        if framing == FRAME_GLO or framing == FRAME_DED:
            if not apdu or apdu[0] not in PLAIN_NAMES:
                raise EncodeError(f"APDU {i} has no service-specific ciphered form (use general-glo-ciphering)")
            head = bytes(((glo_tag if framing == FRAME_GLO else ded_tag)(apdu[0]),))
        try:
            content = _seal(key, sc, title, first_ic + i, apdu, b"")
        except Fail as f:
            raise _encode_failure(f, f"APDU {i}: ") from None
        if framing == FRAME_CONTENT:
            out.append(content)
        else:
            buf = bytearray(head)
            put_length(buf, len(content))
            buf += content
            out.append(bytes(buf))
    return out


def seal_frame(key: Key, sc: int, title: bytes, ic: int, framing: int, apdu: bytes) -> bytes:
    """Protect one APDU under counter ``ic`` (``seal_batch`` of one)."""
    title = check_title(title)
    check_ic(ic)
    if not 0 <= sc <= 255 or framing not in (0, 1, 2, 3, 4):
        raise EncodeError("bad security control or framing")
    apdu = bytes(apdu)
    if framing == FRAME_GLO or framing == FRAME_DED:
        if not apdu or apdu[0] not in PLAIN_NAMES:
            raise EncodeError("APDU 0 has no service-specific ciphered form (use general-glo-ciphering)")
        head = bytes(((glo_tag if framing == FRAME_GLO else ded_tag)(apdu[0]),))
    elif framing == FRAME_GENERAL_GLO:
        head = b"\xdb\x08" + title
    elif framing == FRAME_GENERAL_DED:
        head = b"\xdc\x08" + title
    else:
        head = b""
    try:
        content = _seal(key, sc, title, ic, apdu, b"")
    except Fail as f:
        raise _encode_failure(f, "APDU 0: ") from None
    if framing == FRAME_CONTENT:
        return content
    n = len(content)
    if n < 0x80:
        return head + bytes((n,)) + content
    buf = bytearray(head)
    put_length(buf, n)
    buf += content
    return bytes(buf)
