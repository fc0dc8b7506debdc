"""The xDLMS APDU codec of a backend (``dlmsmesh.apdu`` calls it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ..apdu_model import Apdu


class Backend(Protocol):
    def decode(self, data: Any) -> Apdu:
        """The APDU that is all of ``data``; DecodeError (layer "apdu") otherwise."""

    def decode_prefix(self, data: Any, offset: int = 0) -> tuple[Apdu, int]:
        """The APDU at ``offset`` and the offset after it."""

    def encode(self, a: Apdu) -> bytes:
        """The bytes of ``a``."""
