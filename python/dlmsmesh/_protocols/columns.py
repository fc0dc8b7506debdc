"""Profile-generic rows as columns, of a backend (``dlmsmesh.columns`` calls it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .._common.columns import ColumnBuffers, Layout
    from .._common.pipeline_outcome import Outcome


class Backend(Protocol):
    def decode_into(
        self, data: Any, offset: int, rows: int, layout: Layout, bufs: list[ColumnBuffers], unit: int, flags: int
    ) -> int:
        """Fill ``bufs`` with the ``rows`` rows at ``offset``; the offset after them."""

    def encode(self, layout: Layout, bufs: list[ColumnBuffers], rows: int, unit: int, flags: int) -> bytes:
        """The A-XDR array of the first ``rows`` rows of ``bufs``."""

    def push_into(
        self,
        out: Outcome,
        shape: tuple[int, ...],
        layout: Layout,
        bufs: list[ColumnBuffers],
        titles: bytes,
        titled: bytes,
        unit: int,
        flags: int,
        outcome: Any,
    ) -> int:
        """Rows from the data-notifications of a decoded batch whose bodies fit
        ``shape`` (meta columns first); per-frame outcome words.  The rows written."""
