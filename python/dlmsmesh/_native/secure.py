"""Native security layer: the functions of :mod:`dlmsmesh._pure.secure` over
csrc/secure.c (OpenSSL EVP AES-GCM, one context per key, batches in one call).

cffi releases the GIL during C calls, and an EVP context must not serve two
calls at once, so every key carries a lock; a batch takes the locks of all
its keys in one fixed order (no deadlock between batches sharing keys).
"""

from __future__ import annotations

import itertools
import struct
import threading
from array import array
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .. import _status as S
from .._common.secure import (
    FRAME_CONTENT,
    FRAME_DED,
    FRAME_GENERAL_DED,
    FRAME_GENERAL_GLO,
    FRAME_GLO,
    MAX_BATCH_BYTES,
    BatchResult,
    Envelope,
    OpenedFrame,
    PeerKeys,
    check_ic,
    check_ring,
    check_title,
    error_for,
)
from .._common.security_tags import FrameKind, KeyInfoKind
from .._core import ffi, lib
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

assert (FRAME_CONTENT, FRAME_GLO, FRAME_DED, FRAME_GENERAL_GLO, FRAME_GENERAL_DED) == (
    lib.DM_SEC_FRAME_CONTENT,
    lib.DM_SEC_FRAME_GLO,
    lib.DM_SEC_FRAME_DED,
    lib.DM_SEC_FRAME_GENERAL_GLO,
    lib.DM_SEC_FRAME_GENERAL_DED,
)
_ITEM = 9  # uint32 fields of dm_secure_item
assert ffi.sizeof("dm_secure_item") == 4 * _ITEM
_FRAME_FIELDS = tuple(f for f, _ in ffi.typeof("dm_secure_frame").fields)
_A = 0x10


_EMPTY = ffi.new("uint8_t[1]")


def _bytes_in(data: Any) -> Any:
    return ffi.from_buffer("uint8_t[]", data)


#: the locks that keep two threads off one EVP context (cffi releases the GIL
#: in C): each key takes one of them, round robin; a call holds the stripes
#: of every key it may use, taken in index order (no deadlock), so a batch
#: over a ring of 100,000 meters' keys takes at most this many locks
_STRIPES = tuple(threading.Lock() for _ in range(64))
_next_stripe = itertools.count()
#: bumped by every Key.close(): a ring re-checks its keys only when it moved
_closed = [0]


class Key:
    """An EVP AES-GCM context pair keyed once with ``ek``, holding ``ak``."""

    __slots__ = ("_ptr", "stripe", "size", "has_ak", "closed")

    def __init__(self, ek: bytes, ak: bytes | None) -> None:
        ek = bytes(ek)
        if len(ek) not in (16, 32) or (ak is not None and len(ak) not in (0, 16, 32)):
            raise EncodeError("keys must be 16 or 32 bytes long")
        out = ffi.new("dm_secure_key **")
        # None is no AK; b"" an empty one, which C tells apart by a non-NULL pointer
        if ak is None:
            ak_ptr, ak_len = ffi.NULL, 0
        else:
            ak = bytes(ak)
            ak_ptr, ak_len = (_bytes_in(ak) if ak else _EMPTY), len(ak)
        rc = lib.dm_secure_key_new(_bytes_in(ek), len(ek), ak_ptr, ak_len, out)
        if rc != lib.DM_OK:
            raise MemoryError(S.MESSAGES.get(rc, f"security error {rc}"))
        self._ptr = ffi.gc(out[0], lib.dm_secure_key_free)
        self.stripe = next(_next_stripe) % len(_STRIPES)
        self.size = len(ek)
        self.has_ak = ak is not None
        self.closed = False

    @property
    def lock(self) -> threading.Lock:
        """The lock held while this key's contexts are in use."""
        return _STRIPES[self.stripe]

    @property
    def ptr(self) -> Any:
        if self.closed:
            raise ValueError("this key was closed")
        return self._ptr

    def close(self) -> None:
        """Free the EVP contexts now (OpenSSL cleanses the key schedule)."""
        with self.lock:
            if not self.closed:
                self.closed = True
                _closed[0] += 1
                ffi.release(self._ptr)
                self._ptr = ffi.NULL

    def __repr__(self) -> str:
        return f"<native AES-{self.size * 8}-GCM key{' (closed)' if self.closed else ''}>"


def new_key(ek: bytes, ak: bytes | None = None) -> Key:
    return Key(ek, ak)


def _stripes_of(keys: Sequence[Key]) -> tuple[int, ...]:
    return tuple(sorted({k.stripe for k in keys}))


@contextmanager
def _held(stripes: Sequence[int]) -> Iterator[None]:
    taken = 0
    try:
        for i in stripes:
            _STRIPES[i].acquire()
            taken += 1
        yield
    finally:
        for i in reversed(stripes[:taken]):
            _STRIPES[i].release()


@contextmanager
def _locked(keys: Sequence[Key]) -> Iterator[None]:
    with _held(_stripes_of(keys)):
        if any(k.closed for k in keys):
            raise ValueError("a key of this ring was closed")
        yield


@contextmanager
def _ring_locked(ring: _Ring) -> Iterator[None]:
    """The ring's keys held (their stripes); ValueError when one was closed
    (checked again only after some key anywhere was closed)."""
    with _held(ring.stripes):
        _check_open(ring)
        yield


def _check_open(ring: _Ring) -> None:
    generation = _closed[0]
    if ring.checked != generation:
        if any(k.closed for k in ring.keys):
            raise ValueError("a key of this ring was closed")
        ring.checked = generation


# --------------------------------------------------------------------------
# one frame
# --------------------------------------------------------------------------


def parse(frame: bytes | bytearray | memoryview) -> Envelope:
    frame = bytes(frame)
    f = ffi.new("dm_secure_frame *")
    err = ffi.new("size_t *")
    rc = lib.dm_secure_parse(_bytes_in(frame), len(frame), f, err)
    if rc != lib.DM_OK:
        raise error_for(rc, err[0])
    fields = {name: getattr(f, name) for name in _FRAME_FIELDS}
    fields["kind"] = FrameKind(fields["kind"])
    fields["key_info"] = KeyInfoKind(fields["key_info"])
    return Envelope(**fields)


def seal(key: Key, sc: int, title: bytes, ic: int, plaintext: bytes, header: bytes = b"") -> bytes:
    check_ic(ic)
    if not 0 <= sc <= 255:
        raise EncodeError("security control is one byte")
    title = check_title(title)
    plaintext = bytes(plaintext)
    header = bytes(header)
    cap = len(plaintext) + 5 + 12
    out = ffi.new("uint8_t[]", cap)
    out_len = ffi.new("size_t *")
    with _locked((key,)):
        rc = lib.dm_secure_seal(
            key.ptr, sc, _bytes_in(title), ic, _bytes_in(header), len(header),
            _bytes_in(plaintext), len(plaintext), out, cap, out_len,
        )  # fmt: skip
    if rc != lib.DM_OK:
        raise EncodeError(S.MESSAGES.get(rc, f"security error {rc}"))
    return ffi.buffer(out, out_len[0])[:]


def unseal(key: Key, title: bytes, content: bytes | bytearray | memoryview, header: bytes = b"") -> bytes:
    content = bytes(content)
    n = len(content)
    if n < 5 or (content[0] & _A and n < 17):
        raise error_for(S.TRUNCATED, n)
    title = check_title(title)
    header = bytes(header)
    out = ffi.new("uint8_t[]", n)
    out_len = ffi.new("size_t *")
    with _locked((key,)):
        rc = lib.dm_secure_open(
            key.ptr, _bytes_in(title), _bytes_in(content), n, _bytes_in(header), len(header), out, n, out_len
        )
    if rc == lib.DM_ERR_SEC_AUTH:
        raise error_for(rc, n - 12)
    if rc != lib.DM_OK:
        raise error_for(rc, 0)
    return ffi.buffer(out, out_len[0])[:]


# --------------------------------------------------------------------------
# batches
# --------------------------------------------------------------------------


class _Ring:
    """The C array of peers, with the keys it points to kept alive."""

    __slots__ = ("peers", "array", "npeers", "default", "keys", "stripes", "checked")

    def __init__(self, peers: Sequence[PeerKeys], default: int | None) -> None:
        self.keys: list[Key] = check_ring(peers, default, Key)
        self.stripes = _stripes_of(self.keys)
        #: the close generation its keys were last seen open at (-1: never)
        self.checked = -1
        self.peers = tuple(peers)
        self.npeers = len(self.peers)
        self.default = self.npeers if default is None else default
        self.array = ffi.new("dm_secure_peer[]", max(self.npeers, 1))
        for i, p in enumerate(self.peers):
            c = self.array[i]
            if p.title is not None:
                ffi.memmove(c.title, p.title, 8)
            c.suite = p.suite
            c.required = p.required
            c.flags = (
                (lib.DM_SEC_HEADER_AAD if p.header_aad else 0)
                | (lib.DM_SEC_ANY_TITLE if p.any_title else 0)
                | (lib.DM_SEC_UNTITLED if p.title is None else 0)
            )
            c.unicast = p.unicast.ptr if p.unicast is not None else ffi.NULL
            c.broadcast = p.broadcast.ptr if p.broadcast is not None else ffi.NULL
            c.dedicated = p.dedicated.ptr if p.dedicated is not None else ffi.NULL


def make_ring(peers: Sequence[PeerKeys], default: int | None = None) -> _Ring:
    return _Ring(peers, default)


def _offsets_array(offsets: Sequence[int], total: int) -> array:
    # the C core checks that they rise; a negative one cannot become a uint32
    if len(offsets) < 1 or offsets[0] < 0 or offsets[-1] > total or offsets[-1] > MAX_BATCH_BYTES:
        raise ValueError("offsets must rise from 0 .. len(data)")
    try:
        return offsets if isinstance(offsets, array) and offsets.typecode == "I" else array("I", offsets)
    except OverflowError:
        raise ValueError("offsets must rise from 0 .. len(data)") from None


def open_batch(ring: _Ring, data: bytes | bytearray | memoryview, offsets: Sequence[int]) -> BatchResult:
    data = bytes(data)
    offs = _offsets_array(offsets, len(data))
    n = len(offs) - 1
    items = ffi.new("dm_secure_item[]", max(n, 1))
    out = bytearray(max(offs[-1], 1))
    with _ring_locked(ring):
        rc = lib.dm_secure_open_batch(
            ring.array, ring.npeers, ring.default, _bytes_in(data), ffi.from_buffer("uint32_t[]", offs),
            n, ffi.from_buffer("uint8_t[]", out), len(out), items,
        )  # fmt: skip
    if rc < 0:
        raise ValueError("offsets must rise from 0 .. len(data)")
    raw = ffi.buffer(items, n * 4 * _ITEM)
    u = memoryview(raw).cast("I")
    status = memoryview(raw).cast("i")[0::_ITEM].tolist()
    peer = u[2::_ITEM].tolist()
    plain = u[7::_ITEM].tolist()
    plain_len = u[8::_ITEM].tolist()
    ob = bytes(out)
    del out  # the plaintexts now live only in ob and the slices taken below
    if rc == n:
        plaintexts: list[bytes | None] = [ob[p : p + k] for p, k in zip(plain, plain_len)]
    else:
        plaintexts = [ob[p : p + k] if s == 0 else None for s, p, k in zip(status, plain, plain_len)]
        peer = [-1 if p == 0xFFFFFFFF else p for p in peer]
    return BatchResult(
        status,
        u[1::_ITEM].tolist(),
        peer,
        u[3::_ITEM].tolist(),
        u[4::_ITEM].tolist(),
        u[5::_ITEM].tolist(),
        u[6::_ITEM].tolist(),
        plaintexts,
    )


def seal_batch(key: Key, sc: int, title: bytes, first_ic: int, framing: int, apdus: Sequence[bytes]) -> list[bytes]:
    title = check_title(title)
    n = len(apdus)
    check_ic(first_ic, max(n, 1))
    if not 0 <= sc <= 255 or framing not in (0, 1, 2, 3, 4):
        raise EncodeError("bad security control or framing")
    joined = b"".join(apdus)
    if len(joined) + 40 * n > MAX_BATCH_BYTES:
        raise EncodeError("batch too large for one call")
    offs = array("I", [0])
    offs.extend(itertools.accumulate(map(len, apdus)))
    cap = max(len(joined) + 40 * n, 1)
    out = bytearray(cap)
    out_offs = array("I", bytes(4 * (n + 1)))
    err = ffi.new("size_t *")
    with _locked((key,)):
        rc = lib.dm_secure_seal_batch(
            key.ptr, sc, _bytes_in(title), first_ic, framing, _bytes_in(joined or b"\x00"),
            ffi.from_buffer("uint32_t[]", offs), n, ffi.from_buffer("uint8_t[]", out), cap,
            ffi.from_buffer("uint32_t[]", out_offs), err,
        )  # fmt: skip
    if rc < 0:
        i = err[0]
        if rc == lib.DM_ERR_SEC_TAG:
            raise EncodeError(f"APDU {i} has no service-specific ciphered form (use general-glo-ciphering)")
        raise EncodeError(f"APDU {i}: {S.MESSAGES.get(rc, f'security error {rc}')}")
    ob = bytes(memoryview(out)[:rc])
    return [ob[a:b] for a, b in zip(out_offs, out_offs[1:])]


# --------------------------------------------------------------------------
# one frame (an association's requests and replies): the batch entry points
# with n = 1, minus the batch's Python arrays
# --------------------------------------------------------------------------

_NO_PEER = 0xFFFFFFFF
#: dm_secure_item: int32 status, then eight uint32 (native order, no padding)
_ITEM_FIELDS = struct.Struct("=iIIIIIIII")
assert _ITEM_FIELDS.size == ffi.sizeof("dm_secure_item")
_SCRATCH_BYTES = 2048
_scratch = threading.local()


def _buffers() -> Any:
    """This thread's C scratch buffers for one frame (results are copied out
    before the call returns, and no call re-enters: one set per thread)."""
    try:
        return _scratch.buffers
    except AttributeError:
        buffers = _scratch.buffers = (
            ffi.new("uint32_t[2]"), ffi.new("dm_secure_item *"), ffi.new("uint32_t[2]"), ffi.new("size_t *"),
            ffi.new("uint8_t[]", _SCRATCH_BYTES),
        )  # fmt: skip
        return buffers


def open_frame(ring: _Ring, frame: bytes) -> OpenedFrame:
    frame = bytes(frame)
    n = len(frame)
    if n > MAX_BATCH_BYTES:
        raise ValueError("offsets must rise from 0 .. len(data)")
    offs, item, _, _, scratch = _buffers()
    offs[1] = n
    out = scratch if n <= _SCRATCH_BYTES else ffi.new("uint8_t[]", n)
    stripes = ring.stripes
    taken = 0
    try:
        for i in stripes:
            _STRIPES[i].acquire()
            taken += 1
        _check_open(ring)
        lib.dm_secure_open_batch(ring.array, ring.npeers, ring.default, frame, offs, 1, out, n or 1, item)
    finally:
        for i in reversed(stripes[:taken]):
            _STRIPES[i].release()
    # the nine fields in one unpack (a cdata field read each costs as much)
    status, err_offset, peer, tag, sc, ic, key_set, plain, plain_len = _ITEM_FIELDS.unpack(ffi.buffer(item))
    if status:
        return OpenedFrame(status, err_offset, -1 if peer == _NO_PEER else peer, tag, sc, ic, key_set, None)
    return OpenedFrame(0, 0, peer, tag, sc, ic, key_set, ffi.buffer(out + plain, plain_len)[:])


def seal_frame(key: Key, sc: int, title: bytes, ic: int, framing: int, apdu: bytes) -> bytes:
    if len(title) != 8:
        title = check_title(title)
    if not 0 <= ic <= 0xFFFFFFFF:
        check_ic(ic)
    if not 0 <= sc <= 255 or framing not in (0, 1, 2, 3, 4):
        raise EncodeError("bad security control or framing")
    apdu = bytes(apdu)
    cap = len(apdu) + 40
    if cap > MAX_BATCH_BYTES:
        raise EncodeError("batch too large for one call")
    out = _char_scratch() if cap <= _SCRATCH_BYTES else ffi.new("char[]", cap)
    with key.lock:
        rc = lib.dm_secure_seal_one(key.ptr, sc, title, ic, framing, apdu or b"\x00", len(apdu), out, cap)
    if rc < 0:
        raise _seal_error(rc)
    return ffi.unpack(out, rc)  # type: ignore[no-any-return]


def _seal_error(rc: int) -> EncodeError:
    if rc == lib.DM_ERR_SEC_TAG:
        return EncodeError("APDU 0 has no service-specific ciphered form (use general-glo-ciphering)")
    return EncodeError(f"APDU 0: {S.MESSAGES.get(rc, f'security error {rc}')}")


def sealer(key: Key, sc: int, title: bytes, framing: int) -> Callable[[int, bytes], bytes]:
    """``seal_frame`` with its key, control byte, title and framing checked
    once: the function an association seals each of its APDUs with, given
    the counter and the APDU."""
    title = check_title(title)
    if not 0 <= sc <= 255 or framing not in (0, 1, 2, 3, 4):
        raise EncodeError("bad security control or framing")
    lock = _STRIPES[key.stripe]
    seal = lib.dm_secure_seal_one
    unpack = ffi.unpack

    def seal_one(ic: int, apdu: bytes) -> bytes:
        if type(apdu) is not bytes:
            apdu = bytes(apdu)
        n = len(apdu)
        if not 0 <= ic <= 0xFFFFFFFF or n + 40 > _SCRATCH_BYTES:
            return seal_frame(key, sc, title, ic, framing, apdu)  # its checks and errors
        try:
            out = _scratch.chars
        except AttributeError:
            out = _char_scratch()
        with lock:
            if key.closed:
                raise ValueError("this key was closed")
            rc = seal(key._ptr, sc, title, ic, framing, apdu or b"\x00", n, out, _SCRATCH_BYTES)
        if rc < 0:
            raise _seal_error(rc)
        return unpack(out, rc)  # type: ignore[no-any-return]

    return seal_one


def _char_scratch() -> Any:
    """This thread's C scratch buffer of chars (ffi.unpack makes bytes of it in one step)."""
    try:
        return _scratch.chars
    except AttributeError:
        chars = _scratch.chars = ffi.new("char[]", _SCRATCH_BYTES)
        return chars


def open_glo(ring: _Ring, frame: bytes) -> tuple[bytes, int, int] | None:
    """(plaintext, security control, invocation counter) of a
    service-specific glo- frame from the ring's only peer under its unicast
    key, as :func:`open_frame` gives them; None for any other frame, ring or
    outcome (:func:`open_frame` says which)."""
    n = len(frame)
    if n > _SCRATCH_BYTES or ring.npeers != 1:
        return None
    key = ring.peers[0].unicast
    if key is None:
        return None
    try:
        out = _scratch.chars
    except AttributeError:
        out = _char_scratch()
    with _STRIPES[key.stripe]:
        if key.closed:
            return None
        got = lib.dm_secure_open_glo(ring.array, frame, n, out, _SCRATCH_BYTES)
    if got < 0:
        return None
    return ffi.unpack(out, got & 0xFFFF), got >> 16 & 0xFF, got >> 24
