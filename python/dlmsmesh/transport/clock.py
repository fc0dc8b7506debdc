"""Clocks the transports wait on: the event loop's, or a virtual one.

A simulation of thousands of meters must not wait for real seconds of radio
delay, and must repeat exactly.  :class:`VirtualClock` keeps time that moves
only when the driver asks (:meth:`VirtualClock.advance`,
:meth:`VirtualClock.run_until_idle`); between two steps it lets every
coroutine that was woken run to its next wait, so a reply sent in reaction
to a datagram leaves at the virtual instant the datagram arrived.
"""

from __future__ import annotations

import asyncio
import heapq
import sys
from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from dlmsmesh.errors import DlmsError

__all__ = ["Clock", "TimerHandle", "RealClock", "VirtualClock", "within"]

_T = TypeVar("_T")


if sys.version_info >= (3, 11):

    async def within(seconds: float, awaitable: Awaitable[_T]) -> _T:
        """``await awaitable`` for at most ``seconds`` of the event loop's
        time (asyncio.TimeoutError after): a deadline on the running task,
        no task of its own as wait_for makes before Python 3.12."""
        async with asyncio.timeout(seconds):
            return await awaitable

else:  # pragma: no cover - Python 3.10

    async def within(seconds: float, awaitable: Awaitable[_T]) -> _T:
        return await asyncio.wait_for(awaitable, seconds)


class TimerHandle(Protocol):
    def cancel(self) -> None: ...


class Clock(Protocol):
    """What a transport needs from time: now, and a callback later."""

    def time(self) -> float: ...

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> TimerHandle: ...

    async def sleep(self, delay: float) -> None: ...


class RealClock:
    """The running event loop's monotonic clock."""

    def time(self) -> float:
        return asyncio.get_running_loop().time()

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> TimerHandle:
        return asyncio.get_running_loop().call_later(max(0.0, delay), callback, *args)

    async def sleep(self, delay: float) -> None:
        await asyncio.sleep(delay)


class _Timer:
    __slots__ = ("when", "seq", "callback", "args", "cancelled")

    def __init__(self, when: float, seq: int, callback: Callable[..., object], args: tuple[Any, ...]) -> None:
        self.when = when
        self.seq = seq
        self.callback = callback
        self.args = args
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock:
    """Time that advances only when asked; starts at ``start`` seconds.

    Timers are callbacks, not tasks; they run in (due time, order set).
    The clock must be driven from a coroutine on the loop the endpoints'
    users run on.  A coroutine waiting on anything else than this clock and
    the network (a thread, a real socket) may see time jump past it.
    """

    def __init__(self, start: float = 0.0, *, max_settle: int = 10_000) -> None:
        self._now = float(start)
        # (due, sequence, timer): the sequence number breaks ties, so timers
        # due at one instant fire in the order they were set, which is what
        # makes a run repeatable (and tuples compare without a Python call)
        self._heap: list[tuple[float, int, _Timer]] = []
        self._seq = 0
        self._max_settle = max_settle

    def time(self) -> float:
        return self._now

    @property
    def pending(self) -> int:
        """Timers set and not yet fired or cancelled."""
        return sum(1 for _, _, t in self._heap if not t.cancelled)

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> TimerHandle:
        return self.call_at(self._now + max(0.0, delay), callback, *args)

    def call_at(self, when: float, callback: Callable[..., object], *args: Any) -> TimerHandle:
        self._seq += 1
        due = max(when, self._now)
        timer = _Timer(due, self._seq, callback, args)
        heapq.heappush(self._heap, (due, self._seq, timer))
        return timer

    async def sleep(self, delay: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        handle = self.call_later(delay, _resolve, future)
        try:
            await future
        finally:
            handle.cancel()

    async def advance(self, seconds: float, *, max_events: int = 10_000_000) -> int:
        """Move time forward by ``seconds``, firing every timer due on the
        way; returns the number fired.  ``max_events`` bounds a run whose
        timers keep setting timers at the same instant."""
        if seconds < 0:
            raise ValueError("the clock does not go backwards")
        return await self._run(self._now + seconds, max_events)

    async def run_until_idle(self, *, max_events: int = 10_000_000) -> int:
        """Fire timers until none is left (time stops at the last one);
        returns the number fired."""
        return await self._run(None, max_events)

    async def _run(self, until: float | None, max_events: int) -> int:
        fired = 0
        await self._settle()
        while True:
            self._drop_cancelled()
            if not self._heap or (until is not None and self._heap[0][0] > until):
                break
            due = self._heap[0][0]
            self._now = due
            # every timer of this instant, including ones they set for it
            while self._heap and self._heap[0][0] <= due:
                timer = heapq.heappop(self._heap)[2]
                if timer.cancelled:
                    continue
                fired += 1
                if fired > max_events:
                    raise DlmsError(f"virtual clock: more than {max_events} events in one run")
                timer.callback(*timer.args)
            await self._settle()
        if until is not None and until > self._now:
            self._now = until
            await self._settle()
        return fired

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)

    async def _settle(self) -> None:
        """Yield to the loop until nothing else is ready to run.

        The selector and proactor loops keep their ready callbacks in
        ``_ready``; when it is empty after we yield, every woken coroutine has
        reached its next wait.  Another loop gets a fixed number of yields.
        """
        loop = asyncio.get_running_loop()
        ready = getattr(loop, "_ready", None)
        await asyncio.sleep(0)
        spins = 1
        if ready is None:
            while spins < 64:
                await asyncio.sleep(0)
                spins += 1
            return
        while ready and spins < self._max_settle:
            await asyncio.sleep(0)
            spins += 1


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)
