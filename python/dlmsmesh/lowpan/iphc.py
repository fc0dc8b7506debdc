"""RFC 6282 IPHC + NHC-UDP header compression, on the live backend.

Compression always picks the shortest encoding that decompresses to the same
header: every TF, NH, HLIM and SAM/DAM mode, stateless or from a context of
the :class:`~dlmsmesh.lowpan.ContextTable`, the multicast forms, IIDs from the
link-layer addresses, NHC-UDP with either port range.  The UDP checksum is
elided only when the caller allows it (``elide_checksum=True``; never for
DLMS traffic: RFC 6282 section 4.3 allows it only when an upper layer
authorises it, and DLMS security does not count); the decompressor then recomputes
it.  Headers with IPv6 extension headers are carried with NH inline (NHC for
extension headers is not implemented, and decompressing it is a DecodeError).

Single items:
  ``compress(ipv6, udp, ...)`` -> the compressed header bytes;
  ``decompress(frame, ...)`` -> :class:`Decompressed`;
  ``compress_datagram(datagram, ...)`` / ``decompress_datagram(frame, ...)``
  between whole uncompressed datagrams and IPHC frames.
Batches (one C call for all items on the native backend):
  ``compress_batch(datagrams, ...)`` and ``decompress_batch(frames, ...)``;
  ``decompress_batch_buffer(frames, ...)`` gives the datagrams as one
  FrameBuffer for ``pipeline.decode_batch`` (no per-datagram objects).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from .. import _backend
from .. import _status as S
from .._common.iphc import (
    ELIDE_CHECKSUM,
    HEADERS_ONLY,
    INFO_DAC,
    INFO_ELIDED,
    INFO_PENDING,
    INFO_SAC,
    INFO_UDP,
    Fail,
)
from ..errors import DecodeError
from ..ipv6 import IPV6_HEADER_LENGTH, UDP_HEADER_LENGTH, IPv6Header, UDPHeader
from .context import ContextTable, PrefixLike
from .link import LinkPairs, link_address

if TYPE_CHECKING:
    from ..frames import FrameBuffer, FramesLike

__all__ = [
    "Decompressed",
    "compress",
    "decompress",
    "compress_datagram",
    "decompress_datagram",
    "compress_batch",
    "decompress_batch",
    "decompress_batch_buffer",
    "Contexts",
]

LAYER = "lowpan"

Contexts = Union[ContextTable, Mapping[int, PrefixLike], None]
LinkLike = Union[bytes, bytearray, memoryview, None]

#: status codes that describe the uncompressed input of a compressor
_IPV6_CODES = frozenset((S.TRUNCATED, S.IPV6_VERSION, S.IPV6_LENGTH))


@dataclass(frozen=True)
class Decompressed:
    """One decompressed IPHC frame."""

    ipv6: IPv6Header
    #: the UDP header (NHC-UDP, or an inline next header 17 with a UDP header after it)
    udp: UDPHeader | None
    #: the uncompressed datagram: IPv6 header, UDP header, payload
    datagram: bytes
    #: compressed header bytes the frame started with
    header_length: int
    #: source / destination context ids, when an address came from a context
    sci: int | None
    dci: int | None
    #: whether the UDP checksum was elided (and recomputed, unless pending)
    checksum_elided: bool
    #: an elided checksum left 0: ``datagram_size`` said the datagram goes on
    checksum_pending: bool = False

    @property
    def payload(self) -> bytes:
        """The bytes above the headers (the UDP payload when there is a UDP header)."""
        return self.datagram[self.datagram_header_length :]

    @property
    def datagram_header_length(self) -> int:
        return IPV6_HEADER_LENGTH + (UDP_HEADER_LENGTH if self.udp is not None else 0)


Links = Union[LinkPairs, Sequence[tuple[LinkLike, LinkLike]], None]


def links_of(ll_src: LinkLike, ll_dst: LinkLike, links: Links) -> LinkPairs:
    """The link-layer addresses a backend takes: per item (``links``), or one
    pair for all."""
    if isinstance(links, LinkPairs):
        return links
    if links is not None:
        return LinkPairs(links)
    return LinkPairs.single(link_address(ll_src, "ll_src"), link_address(ll_dst, "ll_dst"))


def encode_error(code: int, offset: int, index: int | None = None) -> DecodeError:
    """The DecodeError for an uncompressed input the compressor rejected."""
    error = S.decode_error(code, offset, "ipv6" if code in _IPV6_CODES else LAYER)
    if index is None:
        return error
    return DecodeError(f"datagram {index}: {error.reason}", layer=error.layer, offset=offset)


def _decode_error(code: int, offset: int) -> DecodeError:
    return S.decode_error(code, offset, LAYER)


def _flags(elide_checksum: bool) -> int:
    return ELIDE_CHECKSUM if elide_checksum else 0


def compress(
    ipv6: IPv6Header,
    udp: UDPHeader | None = None,
    *,
    ll_src: LinkLike = None,
    ll_dst: LinkLike = None,
    contexts: Contexts = None,
    elide_checksum: bool = False,
) -> bytes:
    """The compressed form of the headers: what goes in front of the UDP
    payload (or the IPv6 payload when ``udp`` is None).

    NHC-UDP is used when next header is 17 and the UDP length equals the IPv6
    payload length (the length is elided); otherwise the UDP header, if
    given, follows uncompressed.
    """
    data = ipv6.pack() + (udp.pack() if udp is not None else b"")
    flags = HEADERS_ONLY | _flags(elide_checksum)
    return _compress_one(data, links_of(ll_src, ll_dst, None), ContextTable.of(contexts), flags)


def compress_datagram(
    datagram: bytes | bytearray | memoryview,
    *,
    ll_src: LinkLike = None,
    ll_dst: LinkLike = None,
    contexts: Contexts = None,
    elide_checksum: bool = False,
) -> bytes:
    """The IPHC frame (compressed headers + payload) of a whole IPv6 datagram."""
    flags = _flags(elide_checksum)
    return _compress_one(bytes(datagram), links_of(ll_src, ll_dst, None), ContextTable.of(contexts), flags)


def _compress_one(data: bytes, links: LinkPairs, contexts: ContextTable | None, flags: int) -> bytes:
    try:
        frame, _, _ = _backend.live.iphc.compress_one(data, links, contexts, flags)
    except Fail as f:
        raise encode_error(f.code, f.offset) from None
    return frame


def decompress_raw(
    frame: bytes, links: LinkPairs, contexts: ContextTable | None, datagram_size: int = 0
) -> tuple[bytes, int, int]:
    """(datagram, compressed header length, info bits) of one IPHC frame: the
    fast path under :func:`decompress` and the frame decoder."""
    try:
        return _backend.live.iphc.decompress_one(frame, links, contexts, datagram_size)
    except Fail as f:
        raise _decode_error(f.code, f.offset) from None


def decompress_datagram(
    frame: bytes | bytearray | memoryview,
    *,
    ll_src: LinkLike = None,
    ll_dst: LinkLike = None,
    contexts: Contexts = None,
) -> bytes:
    """The uncompressed IPv6 datagram of one IPHC frame (starting at its dispatch)."""
    return decompress_raw(bytes(frame), links_of(ll_src, ll_dst, None), ContextTable.of(contexts))[0]


def decompress(
    frame: bytes | bytearray | memoryview,
    *,
    ll_src: LinkLike = None,
    ll_dst: LinkLike = None,
    contexts: Contexts = None,
    datagram_size: int = 0,
) -> Decompressed:
    """Decompress one IPHC frame (it starts at the IPHC dispatch).

    ``datagram_size`` (from a FRAG1 header) makes the frame the first part of
    a larger datagram: the lengths come from it, and an elided checksum stays
    0 until the datagram is complete.
    """
    if not 0 <= datagram_size <= 0xFFFF + IPV6_HEADER_LENGTH:
        raise ValueError(f"datagram_size {datagram_size} is out of range")
    links = links_of(ll_src, ll_dst, None)
    datagram, header_length, info = decompress_raw(bytes(frame), links, ContextTable.of(contexts), datagram_size)
    return _described(datagram, header_length, info)


def context_ids(info: int) -> tuple[int | None, int | None]:
    """(sci, dci) from the info bits: the ids of the contexts the addresses came from."""
    return ((info >> 8) & 15 if info & INFO_SAC else None, (info >> 12) & 15 if info & INFO_DAC else None)


def checksum_pending(info: int) -> bool:
    """Whether a FRAG1's elided UDP checksum waits for the rest of the datagram."""
    return bool(info & INFO_PENDING)


def _described(datagram: bytes, header_length: int, info: int) -> Decompressed:
    ipv6 = IPv6Header.unpack(datagram)
    udp = None
    if info & INFO_UDP or (ipv6.next_header == 17 and len(datagram) >= IPV6_HEADER_LENGTH + UDP_HEADER_LENGTH):
        udp = UDPHeader(*(int.from_bytes(datagram[k : k + 2], "big") for k in range(40, 48, 2)))
    return Decompressed(
        ipv6=ipv6,
        udp=udp,
        datagram=datagram,
        header_length=header_length,
        sci=context_ids(info)[0],
        dci=context_ids(info)[1],
        checksum_elided=bool(info & INFO_ELIDED),
        checksum_pending=bool(info & INFO_PENDING),
    )


def compress_batch(
    datagrams: FramesLike,
    *,
    ll_src: LinkLike = None,
    ll_dst: LinkLike = None,
    links: Links = None,
    contexts: Contexts = None,
    elide_checksum: bool = False,
) -> list[bytes]:
    """The IPHC frames of many whole datagrams (one C call on the native
    backend).  ``links`` (a :class:`~dlmsmesh.lowpan.LinkPairs`, best built
    once for a set of peers, or a list of pairs) gives each datagram its own
    link-layer addresses; otherwise ``ll_src``/``ll_dst`` serve all.  The first bad datagram raises
    DecodeError (its index in the message)."""
    batch = _backend.live.iphc.compress(
        datagrams, links_of(ll_src, ll_dst, links), ContextTable.of(contexts), _flags(elide_checksum)
    )
    if batch.failures:
        index, code, offset = batch.failures[0]
        raise encode_error(code, offset, index)
    return batch.outputs  # type: ignore[return-value]


def decompress_batch(
    frames: FramesLike,
    *,
    ll_src: LinkLike = None,
    ll_dst: LinkLike = None,
    links: Links = None,
    contexts: Contexts = None,
) -> list[bytes | DecodeError]:
    """The uncompressed datagrams of many IPHC frames (a sequence of byte
    strings or a :class:`~dlmsmesh.pipeline.FrameBuffer`; one C call on the
    native backend); a frame that does not decompress gives its DecodeError
    in its place, so one bad frame does not cost the others."""
    batch = _backend.live.iphc.decompress(frames, links_of(ll_src, ll_dst, links), ContextTable.of(contexts), 0)
    out: list[bytes | DecodeError] = batch.outputs  # type: ignore[assignment]
    for index, code, offset in batch.failures:
        out[index] = _decode_error(code, offset)
    return out


def decompress_batch_buffer(
    frames: FramesLike,
    *,
    ll_src: LinkLike = None,
    ll_dst: LinkLike = None,
    links: Links = None,
    contexts: Contexts = None,
) -> tuple[FrameBuffer, dict[int, DecodeError]]:
    """The uncompressed datagrams of many IPHC frames back to back in one
    :class:`~dlmsmesh.pipeline.FrameBuffer` -- what
    ``pipeline.decode_batch(..., layer="ipv6")`` takes -- with no object
    built per datagram; a frame that does not decompress leaves an empty
    datagram in its place and its DecodeError in the dict, by index."""
    from ..frames import FrameBuffer

    batch = _backend.live.iphc.decompress(frames, links_of(ll_src, ll_dst, links), ContextTable.of(contexts), 0)
    data, offsets = batch.buffer()
    errors = {index: _decode_error(code, offset) for index, code, offset in batch.failures}
    return FrameBuffer._trusted(data, offsets), errors
