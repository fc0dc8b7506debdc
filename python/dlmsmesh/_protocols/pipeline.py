"""The batch frame pipeline of a backend (``dlmsmesh.pipeline`` calls it).

A backend only computes: ``decode`` walks, opens and counter-checks a batch
and returns the per-frame words (an
:class:`~dlmsmesh._common.pipeline_outcome.Outcome`); ``encode`` turns
requests into frames.  Settling counters and deferred frames and building
the result are ``dlmsmesh.pipeline``'s, the same for both backends.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from .._common.pipeline_outcome import Outcome
    from .._common.pipeline_plan import Codecs, DecodeJob, EncodePlan
    from ..frames import FrameBuffer


class WorkspaceLike(Protocol):
    """Buffers a receive loop reuses across decode calls (``out=``)."""

    generation: int


class Backend(Protocol):
    def Workspace(self) -> WorkspaceLike:  # noqa: N802 (a class in the backend)
        """New reusable decode buffers."""

    def codecs(self) -> Codecs:
        """The backend's name and the modules its outcomes are read with."""

    def decode(self, frames: FrameBuffer, job: DecodeJob, workspace: Any = None) -> Outcome:
        """One batch through every layer down to the opened APDU, counters
        checked against ``job.counters``; the per-frame words and buffers."""

    def encode(self, requests: Sequence[Any], plan: EncodePlan) -> FrameBuffer:
        """Every request as a frame of ``plan.layer``, in one buffer."""
