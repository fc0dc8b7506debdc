"""The bounded receive queue both transports share.

Waiting receivers are plain futures, never tasks, so closing leaves nothing
running: close() fails each waiting future with TransportClosed.  A timeout
is a clock callback (the loop's or the virtual clock's) that fails the
future with DlmsTimeout.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable

from dlmsmesh.errors import DlmsTimeout
from dlmsmesh.transport.clock import Clock
from dlmsmesh.transport.interface import Address, Incoming, TransportClosed

Item = Incoming
#: a named tuple made without its generated __new__ (once per datagram)
_tuple_new = tuple.__new__
log = logging.getLogger(__name__)


class Inbox:
    __slots__ = ("_clock", "_capacity", "_items", "_waiters", "_closed", "dropped", "received", "name", "deliver")

    def __init__(self, clock: Clock, capacity: int, name: str) -> None:
        if capacity < 1:
            raise ValueError("the receive queue holds at least one datagram")
        self._clock = clock
        self._capacity = capacity
        self._items: deque[Item] = deque()
        self._waiters: deque[asyncio.Future[Item]] = deque()
        self._closed = False
        self.name = name
        self.dropped = 0
        self.received = 0
        #: when set, datagrams go straight to this callback as they arrive
        #: (the endpoint's ``on_receive``), not to the queue
        self.deliver: Callable[[Incoming], None] | None = None

    def __len__(self) -> int:
        return len(self._items)

    def put(self, data: bytes, source: Address, destination: Address) -> bool:
        """Queue one datagram; False (and counted) when full or closed."""
        if self._closed:
            return False
        deliver = self.deliver
        if deliver is not None:
            self.received += 1
            try:
                deliver(_tuple_new(Incoming, (data, source, destination)))
            except Exception:
                # the receiver's failure is its own: the endpoint goes on
                log.exception("%s: the receive callback failed", self.name)
            return True
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                self.received += 1
                waiter.set_result(Incoming(data, source, destination))
                return True
        if len(self._items) >= self._capacity:
            self.dropped += 1
            return False
        self.received += 1
        self._items.append(Incoming(data, source, destination))
        return True

    async def get(self, timeout: float | None) -> Item:
        if self._closed:
            raise TransportClosed(f"{self.name} is closed")
        if self._items:
            return self._items.popleft()
        if timeout is not None and timeout <= 0:
            raise DlmsTimeout(f"{self.name}: no datagram waiting")
        future: asyncio.Future[Item] = asyncio.get_running_loop().create_future()
        self._waiters.append(future)
        timer = None if timeout is None else self._clock.call_later(timeout, self._expire, future, timeout)
        try:
            return await future
        except asyncio.CancelledError:
            # the caller was cancelled after a datagram was handed to it:
            # put it back first in line rather than lose it
            if future.done() and not future.cancelled() and future.exception() is None:
                self._items.appendleft(future.result())
            raise
        finally:
            if timer is not None:
                timer.cancel()
            # a timed-out or cancelled waiter must not pile up in a quiet queue
            if not future.done() or future.cancelled() or future.exception() is not None:
                try:
                    self._waiters.remove(future)
                except ValueError:
                    pass

    async def get_batch(self, max_count: int, timeout: float | None) -> list[Item]:
        if max_count < 1:
            raise ValueError("max_count is at least 1")
        batch = [await self.get(timeout)]
        items = self._items
        while items and len(batch) < max_count:
            batch.append(items.popleft())
        return batch

    def _expire(self, future: asyncio.Future[Item], timeout: float) -> None:
        if not future.done():
            future.set_exception(DlmsTimeout(f"{self.name}: no datagram within {timeout} s"))

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._items.clear()
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_exception(TransportClosed(f"{self.name} closed while receiving"))
