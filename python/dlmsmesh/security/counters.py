"""Invocation counters (IEC 62056-5-3).

Sending: a 32-bit counter per (sender, key) that never repeats, because GCM
with a repeated IV under one key gives away the authentication key and the
XOR of plaintexts.  :meth:`InvocationCounterStore.reserve` hands out counters
that were never handed out before, even across restarts (the SQLite store
persists a block before any counter of it is used).  Reaching 2**32 is an
error (replace the key), never a wrap.

Receiving: the last accepted counter per (sender system title, key);
:meth:`InvocationCounterStore.accept` rejects one that does not move forward
with :class:`~dlmsmesh.errors.ReplayError`.  A reordering window ``w > 0``
also accepts a counter up to ``w`` below the highest one, once (a bitmap of
the recent counters, as in IPsec anti-replay); ``w = 0`` is strict.

Scopes are opaque strings chosen by the security context
(``tx:<own title>:<key set>:<key fingerprint>`` and
``rx:<peer title>:<key set>:<key fingerprint>``), so one store serves many
peers and keys.
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Sequence

from ..errors import EncodeError, ReplayError, SecurityError

__all__ = [
    "MAX_COUNTER",
    "MAX_WINDOW",
    "InvocationCounterStore",
    "MemoryCounterStore",
    "ReceiveState",
    "advance",
    "exhausted",
    "replay_error",
    "take_reserved",
]

MAX_COUNTER = 0xFFFFFFFF
#: the largest reordering window (counters below the highest accepted one)
MAX_WINDOW = 4096

#: (highest accepted counter, bitmap: bit i set = counter highest - i accepted)
ReceiveState = tuple[int, int]


def check_window(window: int) -> int:
    if not isinstance(window, int) or not 0 <= window <= MAX_WINDOW:
        raise EncodeError(f"the reordering window is 0..{MAX_WINDOW}, not {window!r}")
    return window


def advance(state: ReceiveState | None, ic: int, window: int) -> ReceiveState | None:
    """The receive state after accepting ``ic``, or None when ``ic`` is a replay
    (or too old for the window)."""
    if not 0 <= ic <= MAX_COUNTER:
        return None
    if state is None:
        return ic, 1
    last, seen = state
    mask = (1 << (window + 1)) - 1
    if ic > last:
        shift = ic - last
        return ic, ((seen << shift) | 1) & mask if shift <= window else 1
    back = last - ic
    if back == 0 or back > window or seen >> back & 1:
        return None
    return last, seen | (1 << back)


def replay_error(ic: int, state: ReceiveState | None) -> ReplayError:
    """The error for a rejected counter; ``expected`` is the smallest counter
    that would be accepted next (what exception-response
    invocation-counter-error reports)."""
    last = -1 if state is None else state[0]
    err = ReplayError(f"invocation counter {ic} is not greater than the last accepted one ({last})")
    err.counter = ic  # type: ignore[attr-defined]
    err.expected = last + 1  # type: ignore[attr-defined]
    return err


def exhausted(count: int) -> SecurityError:
    return SecurityError(
        f"invocation counters exhausted: {count} more would pass 2**32 - 1; replace the key before sending again"
    )


def take_reserved(blocks: dict[str, list[int]], scope: str, count: int) -> int | None:
    """The first of ``count`` counters taken from the block a persistent
    store reserved for ``scope`` ahead (``[next, end)``, persisted before
    any counter of it is used), or None when the block cannot give them."""
    cached = blocks.get(scope)
    if cached is not None and cached[0] + count <= cached[1]:
        first = cached[0]
        cached[0] += count
        return first
    return None


class InvocationCounterStore(abc.ABC):
    """Where a security context keeps its counters (thread-safe)."""

    @abc.abstractmethod
    def reserve(self, scope: str, count: int = 1) -> int:
        """The first of ``count`` consecutive counters never handed out before
        for ``scope`` (each call returns larger counters than the previous
        one).  Raises SecurityError when the 32-bit space would be exceeded."""

    @abc.abstractmethod
    def peek(self, scope: str) -> int:
        """The counter the next ``reserve(scope)`` would return (no change)."""

    @abc.abstractmethod
    def accept_many(self, scopes: Sequence[str], counters: Sequence[int], window: int = 0) -> list[bool]:
        """Accept counters[i] under scopes[i] in order, as one transaction:
        True when accepted (and recorded), False for a replay."""

    @abc.abstractmethod
    def last_accepted(self, scope: str) -> int | None:
        """The highest counter accepted under ``scope``, or None."""

    def accept(self, scope: str, counter: int, window: int = 0) -> None:
        """Record ``counter`` as received under ``scope`` or raise ReplayError."""
        if not self.accept_many((scope,), (counter,), window)[0]:
            last = self.last_accepted(scope)
            raise replay_error(counter, None if last is None else (last, 1))

    def close(self) -> None:  # noqa: B027 - optional hook: most stores hold nothing to release
        """Release resources; a closed store must not be used again."""

    def __enter__(self) -> InvocationCounterStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class MemoryCounterStore(InvocationCounterStore):
    """Counters in this process's memory: for tests, tools, and keys that die
    with the process.  A restart forgets every counter, so never use it for a
    long-lived key (the next run would reuse counters)."""

    def __init__(self, *, first_counter: int = 1) -> None:
        if not 0 <= first_counter <= MAX_COUNTER:
            raise EncodeError("first_counter is a 32-bit counter")
        self._first = first_counter
        self._next: dict[str, int] = {}
        self._rx: dict[str, ReceiveState] = {}
        self._lock = threading.Lock()

    def reserve(self, scope: str, count: int = 1) -> int:
        if count < 1:
            raise EncodeError("reserve at least one counter")
        with self._lock:
            first = self._next.get(scope, self._first)
            if first + count - 1 > MAX_COUNTER:
                raise exhausted(count)
            self._next[scope] = first + count
            return first

    def peek(self, scope: str) -> int:
        with self._lock:
            return self._next.get(scope, self._first)

    def accept_many(self, scopes: Sequence[str], counters: Sequence[int], window: int = 0) -> list[bool]:
        check_window(window)
        out: list[bool] = []
        with self._lock:
            rx = self._rx
            for scope, ic in zip(scopes, counters):
                state = advance(rx.get(scope), ic, window)
                if state is None:
                    out.append(False)
                else:
                    rx[scope] = state
                    out.append(True)
        return out

    def accept(self, scope: str, counter: int, window: int = 0) -> None:
        # accept_many of one, without its lists: once per frame an association receives
        with self._lock:
            state = advance(self._rx.get(scope), counter, check_window(window))
            if state is not None:
                self._rx[scope] = state
                return
            last = self._rx.get(scope)
        raise replay_error(counter, None if last is None else (last[0], 1))

    def accept_fresh(self, scope: str, counter: int, window: int = 0) -> bool:
        """:meth:`accept` without the error: True when ``counter`` was
        accepted and recorded, False for a replay (nothing recorded);
        ``window`` as the security context checked it."""
        with self._lock:
            rx = self._rx
            last = rx.get(scope)
            if window == 0 and last is not None and last[0] < counter <= MAX_COUNTER:
                rx[scope] = (counter, 1)  # advance() of a strict window, moving forward
                return True
            state = advance(last, counter, window)
            if state is None:
                return False
            rx[scope] = state
            return True

    def last_accepted(self, scope: str) -> int | None:
        with self._lock:
            state = self._rx.get(scope)
        return None if state is None else state[0]

    def __repr__(self) -> str:
        return f"MemoryCounterStore({len(self._next)} sending, {len(self._rx)} receiving scopes)"
