"""``FrameBuffer`` lives at the bottom of the package (``dlmsmesh.frames``):
the backends and ``lowpan`` build it too.  Re-exported here for the pipeline."""

from __future__ import annotations

from ..frames import FrameBuffer, FramesLike, as_buffer, retired_check

__all__ = ["FrameBuffer", "FramesLike", "as_buffer", "retired_check"]
