"""RFC 4944 fragmentation of one IPv6 datagram, on the live backend.

The datagram is IPHC-compressed; when the frame is longer than the link MTU
it is split into a FRAG1 (4-byte header + the whole compressed header + the
first payload bytes) and FRAGNs (5-byte header), every fragment but the last
covering a multiple of 8 uncompressed bytes.  ``mtu`` is the room for
6LoWPAN bytes in one link frame (802.15.4: 127 minus MAC header and FCS).
"""

from __future__ import annotations

import secrets

from .. import _backend
from .. import _status as S
from .._common.iphc import ELIDE_CHECKSUM, Fail
from ..errors import EncodeError
from ..limits import MAX_DATAGRAM_SIZE
from .context import ContextTable
from .iphc import Contexts, LinkLike, encode_error, links_of

__all__ = ["fragment", "Fragmenter", "MAX_DATAGRAM_SIZE"]


_ENCODE_CODES = frozenset((S.FRAG_MTU, S.FRAG_TOO_BIG))


def fragment(
    datagram: bytes | bytearray | memoryview,
    *,
    mtu: int,
    tag: int,
    ll_src: LinkLike = None,
    ll_dst: LinkLike = None,
    contexts: Contexts = None,
    elide_checksum: bool = False,
    prefix: bytes = b"",
) -> list[bytes]:
    """The frames of one datagram: one unfragmented IPHC frame when it fits
    ``mtu``, else FRAG1 + FRAGNs with datagram tag ``tag``.  ``prefix`` (for
    example a mesh header) starts every frame and counts against the MTU.

    A bad datagram raises DecodeError (layer ``ipv6``); a datagram that
    cannot be fragmented (over 2047 bytes, or an MTU too small for the
    headers) raises EncodeError.
    """
    if not isinstance(mtu, int) or mtu < 1:
        raise ValueError(f"mtu must be a positive integer, got {mtu!r}")
    if not isinstance(tag, int) or not 0 <= tag <= 0xFFFF:
        raise ValueError(f"tag must be in 0..65535, got {tag!r}")
    link = links_of(ll_src, ll_dst, None).pair(0)
    flags = ELIDE_CHECKSUM if elide_checksum else 0
    try:
        frames, _ = _backend.live.frag.split(
            bytes(datagram), link, ContextTable.of(contexts), flags, mtu, tag, bytes(prefix)
        )
    except Fail as f:
        if f.code in _ENCODE_CODES:
            raise EncodeError(f"{S.MESSAGES[f.code]} (datagram {len(datagram)} bytes, mtu {mtu})") from None
        raise encode_error(f.code, f.offset) from None
    return list(frames)


class Fragmenter:
    """Fragments datagrams for one link MTU, numbering them with a 16-bit
    datagram tag that starts at a random value and goes up by one per
    fragmented datagram."""

    def __init__(
        self,
        *,
        mtu: int,
        contexts: Contexts = None,
        elide_checksum: bool = False,
        first_tag: int | None = None,
    ) -> None:
        self.mtu = mtu
        self.contexts = ContextTable.of(contexts)
        self.elide_checksum = elide_checksum
        self._tag = secrets.randbits(16) if first_tag is None else first_tag & 0xFFFF

    @property
    def next_tag(self) -> int:
        return self._tag

    def __call__(
        self,
        datagram: bytes | bytearray | memoryview,
        *,
        ll_src: LinkLike = None,
        ll_dst: LinkLike = None,
        prefix: bytes = b"",
    ) -> list[bytes]:
        frames = fragment(
            datagram, mtu=self.mtu, tag=self._tag, ll_src=ll_src, ll_dst=ll_dst,
            contexts=self.contexts, elide_checksum=self.elide_checksum, prefix=prefix,
        )  # fmt: skip
        if len(frames) > 1:
            self._tag = (self._tag + 1) & 0xFFFF
        return frames
