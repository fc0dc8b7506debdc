"""The UDP checksum of a backend (``dlmsmesh.ipv6`` and the reassembler call it)."""

from __future__ import annotations

from typing import Protocol


class Backend(Protocol):
    def udp_checksum(self, src: bytes, dst: bytes, segment: bytes | bytearray | memoryview) -> int:
        """The RFC 8200 checksum of ``segment`` (its checksum field read as zero)."""
