"""Frames as the pipeline takes them: :class:`FrameBuffer` lives in
:mod:`dlmsmesh.frames` (the bottom layer, so backends and lowpan can use it);
this name stays for code that imported it from here."""

from __future__ import annotations

from ..frames import FrameBuffer, FramesLike, as_buffer, retired_check

__all__ = ["FrameBuffer", "FramesLike", "as_buffer", "retired_check"]
