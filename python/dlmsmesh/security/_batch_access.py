"""What the batch pipeline (``dlmsmesh.pipeline``) uses of the security layer,
named in one place.

The pipeline opens frames in backend batches and keeps its own counter
table, so it needs a little more of a :class:`~dlmsmesh.security.SecurityContext`
than its public API gives: the ring of keys a backend opens frames with, the
counter-store scopes, the frames left to Python, and the send-side setup
and counter reservation of ``encode_batch``.  These are the methods below;
``SecurityContext`` implements :class:`BatchContext`, and both it and
:class:`~dlmsmesh.security.Keyring` implement :class:`BatchSource`.  They
are internal to dlmsmesh (not part of the documented API): the pipeline
calls nothing else of a context but its public properties.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

    from .counters import InvocationCounterStore
    from .info import Unprotected
    from .tags import KeySet, Protection

__all__ = ["BatchContext", "BatchSource"]


class BatchContext(Protocol):
    """One security context as the pipeline drives it."""

    @property
    def system_title(self) -> bytes | None: ...

    @property
    def peer_system_title(self) -> bytes | None: ...

    @property
    def replay_window(self) -> int: ...

    @property
    def counters(self) -> InvocationCounterStore: ...

    def has_key(self, name: str) -> bool: ...

    def batch_ring(self, mod: Any) -> tuple[Any, Sequence[Any]]:
        """(the ring of ``mod``, the secure backend module, holding this
        context's keys; the contexts of the ring's peers, in ring order)."""

    def counter_scope(self, direction: str, title: bytes, key_set: KeySet | str) -> str:
        """The counter-store scope of ``direction`` (``rx``/``tx``) under
        ``title`` and ``key_set``: what the pipeline's counter table loads
        and commits."""

    def open_deferred(self, mod: Any, frame: bytes, replay_check: bool, depth: int = 0) -> Unprotected:
        """Open one frame ``open_batch`` left to Python (DEFERRED:
        general-signing, wrapped or agreed keys), with its counter."""

    def send_setup(
        self, mod: Any, dedicated: bool, general: bool, broadcast: bool, protection: Protection | int | None
    ) -> tuple[int, KeySet, int]:
        """(security control, key set, framing) of a batch sent with these
        options; raises before any counter is reserved when a key or the
        policy refuses."""

    def send_key(self, mod: Any, key_set: KeySet) -> Any:
        """``mod``'s key object that seals under ``key_set``."""

    def reserve_counters(self, key_set: KeySet | str, count: int = 1) -> int:
        """The first of ``count`` consecutive send counters, reserved."""


class BatchSource(Protocol):
    """What ``decode_batch(security=...)`` takes: a context or a keyring."""

    def batch_ring(self, mod: Any) -> tuple[Any, Sequence[Any]]:
        """(the ring of ``mod``, the contexts of its peers, in ring order)."""
