"""The frame an open association receives most, opened with the fewest
steps: a service-specific glo- APDU (glo-get-request, glo-get-response ...)
under the global unicast key from the peer whose title the context knows.

:meth:`FastSide.open_glo` gives, for such a frame, what
:meth:`~dlmsmesh.security.SecurityContext.unprotect` gives (the same
backend call, the same checks of suite, control byte and policy, the same
counter acceptance in the same store) without building the
:class:`~dlmsmesh.security.SecurityInfo` and
:class:`~dlmsmesh.security.Unprotected` objects.  For any other frame, and
for any frame that fails, it records nothing and returns None: the caller
takes ``unprotect``, which opens the frame again and says what is wrong
with it (so failures are logged and raised in one place only).
"""

from __future__ import annotations

from typing import Any

from .. import _backend
from ..errors import ReplayError
from ._keys import KeyMaterial
from .counters import MemoryCounterStore
from .policy import Role, SecurityPolicy
from .tags import SERVICE_TAGS, FrameKind, KeySet

__all__ = ["FastSide", "GLO_TAGS"]

#: the service-specific glo- tags (glo-get-request 0xC8, glo-get-response 0xCC ...)
GLO_TAGS = frozenset(tag for tag, (kind, _) in SERVICE_TAGS.items() if kind is FrameKind.SERVICE_GLO)
#: its plan's key among the context's cached plans (cleared on any change of keys, titles or policy)
_PLAN = ("fast glo open",)
#: tag, length, control byte, invocation counter: the shortest frame with an empty ciphertext
_HEAD = 7


class FastSide(KeyMaterial):
    """:meth:`open_glo` of a :class:`~dlmsmesh.security.SecurityContext`."""

    def open_glo(self, frame: bytes) -> tuple[bytes, int, int] | None:
        """(plaintext, security control, invocation counter) of ``frame``
        when it is a service-specific glo- APDU with a short-form length,
        under the unicast key, that verifies and whose counter the store
        accepts (and records, as ``unprotect`` does); else None, and nothing
        recorded: ``unprotect(frame)`` then says how it fails or opens it.
        Never with the counters unchecked (``replay_check=False``)."""
        plan = self._plan()
        opened = _open(plan, frame)
        if opened is None or not _accept(plan, opened[2]):
            return None
        return opened

    def verify_glo(self, frame: bytes) -> tuple[bytes, int, int] | None:
        """:meth:`open_glo` without the counter: the frame verified and was
        opened, its counter neither checked nor recorded yet (a server reads
        the request before it commits to it: :meth:`accept_glo`)."""
        return _open(self._plan(), frame)

    def accept_glo(self, ic: int) -> bool:
        """Record counter ``ic`` of a frame :meth:`verify_glo` opened, as
        ``unprotect`` does: False for a replay (nothing recorded)."""
        return _accept(self._plan(), ic)

    def _plan(self) -> tuple[Any, ...]:
        """The live backend's plan (:meth:`_fast_plan`), made once."""
        mod = _backend.live.secure
        plan = self._plans.get(_PLAN)
        if plan is None or plan[0] is not mod:
            with self._lock:
                plan = self._fast_plan(mod)
        return plan

    def _fast_plan(self, mod: Any) -> tuple[Any, ...]:
        """(backend, ring, receive scope, store, window); ring None when the
        fast road is closed to this context: no peer title to open with, or
        a policy that wants signed frames (a glo- frame is never signed)."""
        want = (
            SecurityPolicy.DIGITALLY_SIGNED_RESPONSE
            if self._role is Role.CLIENT
            else SecurityPolicy.DIGITALLY_SIGNED_REQUEST
        )
        title = self._peer_system_title
        if title is None or self._policy & want or "ek" not in self._secrets:
            plan: tuple[Any, ...] = (mod, None, None, None, 0)
        else:
            scope = self.counter_scope("rx", title, KeySet.UNICAST)
            plan = (mod, self._ring(mod), scope, self._counters, self._window)
        self._plans[_PLAN] = plan
        return plan


def _open(plan: tuple[Any, ...], frame: bytes) -> tuple[bytes, int, int] | None:
    n = len(frame)
    if plan[1] is None or n < _HEAD or frame[1] != n - 2 or frame[0] not in GLO_TAGS:
        return None
    return plan[0].open_glo(plan[1], frame)  # type: ignore[no-any-return]


def _accept(plan: tuple[Any, ...], ic: int) -> bool:
    _, ring, scope, counters, window = plan
    if ring is None:
        return False
    if type(counters) is MemoryCounterStore:
        return counters.accept_fresh(scope, ic, window)
    try:
        counters.accept(scope, ic, window)
    except ReplayError:
        return False
    return True
