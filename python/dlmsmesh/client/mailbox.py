"""Where the replies of one association wait for the request that awaits
them: a bounded queue with waiters that are plain futures, each with a
timer, so a reply that arrives wakes its request directly (no task, no
queue object of asyncio's, no timeout context per wait)."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from ..transport.clock import Clock

__all__ = ["Mailbox"]


def _expire(waiter: asyncio.Future[Any]) -> None:
    if not waiter.done():
        waiter.set_exception(asyncio.TimeoutError())


class Mailbox:
    """At most ``capacity`` items wait; :meth:`put` says False (and the item
    is dropped) beyond that.  Deadlines run on ``clock`` (a virtual clock in
    a simulation; default: the event loop's time)."""

    __slots__ = ("_items", "_waiters", "capacity", "_clock")

    def __init__(self, capacity: int = 64, clock: Clock | None = None) -> None:
        self._items: deque[Any] = deque()
        self._waiters: deque[asyncio.Future[Any]] = deque()
        self.capacity = capacity
        #: the clock deadlines run on (None: the event loop's)
        self._clock = clock

    def __len__(self) -> int:
        return len(self._items)

    def empty(self) -> bool:
        return not self._items

    def put(self, item: Any) -> bool:
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(item)
                return True
        if len(self._items) >= self.capacity:
            return False
        self._items.append(item)
        return True

    async def get(self, seconds: float) -> Any:
        """The next item within ``seconds`` (asyncio.TimeoutError after)."""
        if self._items:
            return self._items.popleft()
        if seconds <= 0:
            raise asyncio.TimeoutError()
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[Any] = loop.create_future()
        self._waiters.append(waiter)
        timer = (loop if self._clock is None else self._clock).call_later(seconds, _expire, waiter)
        try:
            return await waiter
        except asyncio.CancelledError:
            # cancelled after an item was handed over: it goes back first in line
            if waiter.done() and not waiter.cancelled() and waiter.exception() is None:
                self._items.appendleft(waiter.result())
            raise
        finally:
            timer.cancel()
            if not waiter.done() or waiter.cancelled() or waiter.exception() is not None:
                try:
                    self._waiters.remove(waiter)
                except ValueError:
                    pass
