"""The A-XDR ``Data`` codec of a backend (``dlmsmesh.axdr`` calls it)."""

from __future__ import annotations

from typing import Any, Protocol

from ..limits import DEFAULT_MAX_DEPTH


class Backend(Protocol):
    def decode(self, data: Any, max_depth: int = DEFAULT_MAX_DEPTH) -> Any:
        """The one value that is all of ``data``; DecodeError (layer "data") otherwise."""

    def decode_prefix(self, data: Any, offset: int = 0, max_depth: int = DEFAULT_MAX_DEPTH) -> tuple[Any, int]:
        """The value at ``offset`` and the offset after it."""

    def encode(self, value: Any) -> bytes:
        """The A-XDR of ``value`` (a COSEM type or a plain Python value)."""
