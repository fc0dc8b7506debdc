"""Small helpers shared by the tests."""

from __future__ import annotations


def hexbytes(text: str) -> bytes:
    """Bytes from spaced hex as the spec notes write them."""
    return bytes.fromhex(text.replace(" ", ""))
