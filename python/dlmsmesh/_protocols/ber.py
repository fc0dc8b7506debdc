"""The BER TLV walker of a backend (``dlmsmesh.acse`` calls it)."""

from __future__ import annotations

from typing import Any, Protocol

from ..limits import BER_DEFAULT_MAX_DEPTH


class Backend(Protocol):
    def walk(
        self,
        data: Any,
        offset: int = 0,
        end: int | None = None,
        max_depth: int = BER_DEFAULT_MAX_DEPTH,
        *,
        flat: bool = False,
        one: bool = False,
    ) -> list[Any]:
        """The TLVs of ``data[offset:end]`` in pre-order (``Node`` tuples)."""
