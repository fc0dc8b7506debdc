"""RFC 6282 IPHC of a backend (``dlmsmesh.lowpan.iphc`` calls it), and the
shapes of the link-layer addresses and contexts both backends read."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .._common.iphc_batch import Batch


class LinksLike(Protocol):
    """What a backend reads of a ``dlmsmesh.lowpan.LinkPairs``."""

    def __len__(self) -> int: ...

    def check(self, n: int) -> None:
        """ValueError unless the pairs fit a batch of ``n`` items."""

    def pair(self, index: int) -> tuple[bytes, bytes]:
        """The (source, destination) addresses of item ``index``."""

    @property
    def packed(self) -> bytes:
        """The pairs as ``dm_ll_pair`` structs."""


class ContextsLike(Protocol):
    """What a backend reads of a ``dlmsmesh.lowpan.ContextTable``."""

    @property
    def rows(self) -> Sequence[tuple[int, int, int] | None]:
        """Per context id: None or (prefix as an int, prefix length, flags)."""

    @property
    def packed(self) -> bytes:
        """The 16 contexts as ``dm_lowpan_context`` structs."""


class Backend(Protocol):
    def compress(self, items: Any, links: LinksLike, contexts: ContextsLike | None, flags: int) -> Batch:
        """Every uncompressed datagram of ``items`` as an IPHC frame."""

    def decompress(self, items: Any, links: LinksLike, contexts: ContextsLike | None, datagram_size: int) -> Batch:
        """Every IPHC frame of ``items`` as an uncompressed datagram."""

    def compress_one(
        self, item: bytes, links: LinksLike, contexts: ContextsLike | None, flags: int
    ) -> tuple[bytes, int, int]:
        """(frame, header length, info bits) of one datagram; raises ``Fail``."""

    def decompress_one(
        self, frame: bytes, links: LinksLike, contexts: ContextsLike | None, datagram_size: int
    ) -> tuple[bytes, int, int]:
        """(datagram, header length, info bits) of one frame; raises ``Fail``."""
