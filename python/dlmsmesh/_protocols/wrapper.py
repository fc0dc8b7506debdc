"""The DLMS/COSEM wrapper header of a backend (``dlmsmesh.wrapper`` calls it)."""

from __future__ import annotations

from typing import Protocol


class Backend(Protocol):
    def decode(self, data: bytes | bytearray | memoryview) -> tuple[int, int, int, int]:
        """(version, source wPort, destination wPort, length) of the header."""

    def header(self, source_wport: int, destination_wport: int, apdu_length: int) -> bytes:
        """The 8-byte header for an APDU of ``apdu_length`` bytes."""
