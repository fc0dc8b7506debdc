"""RFC 4944 fragmentation of a backend (``dlmsmesh.lowpan.frag`` calls it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from .._common.iphc import Link
    from .iphc import ContextsLike


class Backend(Protocol):
    def split(
        self,
        datagram: bytes,
        link: Link,
        contexts: ContextsLike | None,
        flags: int,
        mtu: int,
        tag: int,
        prefix: bytes,
    ) -> tuple[list[bytes], int]:
        """(the frames, the compressed header length) of one datagram; raises ``Fail``."""
