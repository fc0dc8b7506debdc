"""One 6LoWPAN frame payload: the dispatch walk of RFC 4944 section 5.1
(dispatch values as updated by RFC 6282).

Mesh -> BC0 -> FRAG1/FRAGN -> IPHC (+ NHC) or uncompressed IPv6 (0x41).
:func:`decode_frame` reads the headers, decompresses the IPHC header, and
with a :class:`~dlmsmesh.lowpan.Reassembler` puts fragments together; its
:class:`LowpanFrame` carries the uncompressed datagram once there is one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .. import _status as S
from ..errors import DecodeError
from .context import ContextTable
from .iphc import Contexts, LinkLike, checksum_pending, context_ids, decompress_raw
from .link import LinkPairs, link_address
from .mesh import MeshHeader, is_mesh, parse_mesh
from .reassembly import Reassembler

__all__ = ["FragmentHeader", "LowpanFrame", "decode_frame", "dispatch_name", "is_lowpan_dispatch"]

LAYER = "lowpan"
UNCOMPRESSED_IPV6 = 0x41
BROADCAST = 0x50
FRAG1_HEADER = 4
FRAGN_HEADER = 5


def is_iphc(b: int) -> bool:
    return b & 0xE0 == 0x60


def is_frag1(b: int) -> bool:
    return b & 0xF8 == 0xC0


def is_fragn(b: int) -> bool:
    return b & 0xF8 == 0xE0


def dispatch_name(b: int) -> str | None:
    """The name of the header a dispatch octet starts (the ``dispatch`` of the
    ``lowpan`` JSON object, docs/json.md), or None."""
    if is_mesh(b):
        return "mesh"
    if is_frag1(b):
        return "frag1"
    if is_fragn(b):
        return "fragn"
    if is_iphc(b):
        return "iphc"
    if b == UNCOMPRESSED_IPV6:
        return "ipv6"
    if b == BROADCAST:
        return "bc0"
    return None


def is_lowpan_dispatch(b: int) -> bool:
    return dispatch_name(b) is not None


@dataclass(frozen=True)
class FragmentHeader:
    size: int
    tag: int
    #: in bytes of the uncompressed datagram (FRAGN: datagram_offset * 8; FRAG1: 0)
    offset: int
    first: bool

    def to_json(self) -> dict[str, int]:
        return {"size": self.size, "tag": self.tag, "offset": self.offset}


@dataclass(frozen=True)
class LowpanFrame:
    #: the first header: ``mesh``, ``frag1``, ``fragn``, ``iphc`` or ``ipv6`` (after any BC0)
    dispatch: str
    #: 6LoWPAN header bytes of this frame (mesh, BC0, fragment, IPHC, NHC)
    header_length: int
    mesh: MeshHeader | None
    broadcast_sequence: int | None
    fragment: FragmentHeader | None
    #: context ids used by this frame's IPHC header
    sci: int | None
    dci: int | None
    #: the whole uncompressed IPv6 datagram; None while fragments are missing
    datagram: bytes | None
    #: for an unfragmented frame: the datagram offset where this frame's
    #: payload starts (uncompressed header bytes); else None
    datagram_header_length: int | None = None

    @property
    def pending(self) -> bool:
        return self.datagram is None

    def frame_offset(self, datagram_offset: int) -> int:
        """Where a byte of the datagram's payload sits in this frame (for error
        offsets); for fragments the datagram offset itself."""
        if self.datagram_header_length is None or datagram_offset < self.datagram_header_length:
            return datagram_offset
        return datagram_offset - self.datagram_header_length + self.header_length

    def to_json(self) -> dict[str, Any]:
        """The ``lowpan`` object of docs/json.md."""
        obj: dict[str, Any] = {"dispatch": self.dispatch, "header_length": self.header_length}
        if self.sci is not None:
            obj["sci"] = self.sci
        if self.dci is not None:
            obj["dci"] = self.dci
        if self.fragment is not None:
            obj["fragment"] = self.fragment.to_json()
        return obj


def _moved(error: DecodeError, base: int) -> DecodeError:
    return DecodeError(error.reason, layer=error.layer, offset=error.offset + base)


def decode_frame(
    frame: bytes | bytearray | memoryview,
    *,
    ll_src: LinkLike = None,
    ll_dst: LinkLike = None,
    contexts: Contexts = None,
    reassembler: Reassembler | None = None,
) -> LowpanFrame:
    """Decode the 6LoWPAN payload of one link-layer frame.

    ``ll_src``/``ll_dst`` are the MAC source and destination (2 or 8 bytes,
    big-endian); a mesh header replaces them by its originator and final
    destination.  Fragments go to ``reassembler`` (without one, a fragment
    is decoded but never completes).  Errors are DecodeError with layer
    ``lowpan`` (or ``ipv6`` for a bad uncompressed header) and the offset in
    ``frame``.
    """
    data = bytes(frame)
    n = len(data)
    src, dst = link_address(ll_src, "ll_src"), link_address(ll_dst, "ll_dst")
    table = ContextTable.of(contexts)
    if n == 0:
        raise S.decode_error(S.TRUNCATED, 0, LAYER)
    p = 0
    mesh = None
    if is_mesh(data[0]):
        mesh, p = parse_mesh(data, 0)
        src, dst = mesh.originator, mesh.final_destination
    broadcast = None
    if p < n and data[p] == BROADCAST:
        if n - p < 2:
            raise S.decode_error(S.TRUNCATED, p, LAYER)
        broadcast = data[p + 1]
        p += 2
    if p >= n:
        raise S.decode_error(S.TRUNCATED, p, LAYER)
    b = data[p]
    first = "mesh" if mesh is not None else dispatch_name(b)

    if is_fragn(b):
        if n - p < FRAGN_HEADER:
            raise S.decode_error(S.TRUNCATED, p, LAYER)
        size, tag, offset = (b & 7) << 8 | data[p + 1], data[p + 2] << 8 | data[p + 3], data[p + 4] * 8
        head = FragmentHeader(size, tag, offset, False)
        datagram = _reassemble(reassembler, src, dst, head, data[p + FRAGN_HEADER :], p, False)
        return LowpanFrame(first or "fragn", p + FRAGN_HEADER, mesh, broadcast, head, None, None, datagram)

    if is_frag1(b):
        if n - p < FRAG1_HEADER:
            raise S.decode_error(S.TRUNCATED, p, LAYER)
        size, tag = (b & 7) << 8 | data[p + 1], data[p + 2] << 8 | data[p + 3]
        head = FragmentHeader(size, tag, 0, True)
        p += FRAG1_HEADER
        if p >= n:
            raise S.decode_error(S.TRUNCATED, p, LAYER)
        if data[p] == UNCOMPRESSED_IPV6:
            body, hlen, sci, dci, pending = data[p + 1 :], p + 1, None, None, False
            if len(body) > size:
                raise S.decode_error(S.LOWPAN_SIZE, p + 1, LAYER)
        elif is_iphc(data[p]):
            try:
                body, used, info = decompress_raw(data[p:], LinkPairs.single(src, dst), table, size)
            except DecodeError as e:
                raise _moved(e, p) from None
            hlen, (sci, dci), pending = p + used, context_ids(info), checksum_pending(info)
        else:
            raise S.decode_error(S.LOWPAN_DISPATCH, p, LAYER)
        datagram = _reassemble(reassembler, src, dst, head, body, p - FRAG1_HEADER, pending)
        return LowpanFrame(first or "frag1", hlen, mesh, broadcast, head, sci, dci, datagram)

    if is_iphc(b):
        try:
            datagram, used, info = decompress_raw(data[p:], LinkPairs.single(src, dst), table)
        except DecodeError as e:
            raise _moved(e, p) from None
        sci, dci = context_ids(info)
        uncompressed = len(datagram) - (n - p - used)  # the header bytes the compressed ones stand for
        return LowpanFrame(first or "iphc", p + used, mesh, broadcast, None, sci, dci, datagram, uncompressed)

    if b == UNCOMPRESSED_IPV6:
        return LowpanFrame(first or "ipv6", p + 1, mesh, broadcast, None, None, None, data[p + 1 :], 0)

    raise S.decode_error(S.LOWPAN_DISPATCH, p, LAYER)


def _reassemble(
    reassembler: Reassembler | None,
    src: bytes,
    dst: bytes,
    head: FragmentHeader,
    body: bytes,
    at: int,
    pending: bool,
) -> bytes | None:
    if reassembler is None:
        return None
    try:
        return reassembler.add(src, dst, head.size, head.tag, head.offset, body, checksum_pending=pending)
    except DecodeError as e:
        raise _moved(e, at) from None
