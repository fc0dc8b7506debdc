"""What every datagram endpoint does the same way: its receive side (the
bounded :class:`~dlmsmesh.transport._inbox.Inbox`), its counters, closing and
the async context manager.  An endpoint adds ``send``, group membership and
what closing releases (:meth:`_release`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from dlmsmesh.transport._inbox import Inbox
from dlmsmesh.transport.clock import Clock
from dlmsmesh.transport.interface import Address, Incoming

_E = TypeVar("_E", bound="InboxEndpoint")


class InboxEndpoint:
    #: the class name shown by repr
    KIND = "endpoint"

    def __init__(self, local: Address, inbox: Inbox) -> None:
        self._local = local
        self._inbox = inbox
        self._closed = False
        self.sent = 0

    @property
    def local_address(self) -> Address:
        return self._local

    @property
    def dropped(self) -> int:
        return self._inbox.dropped

    @property
    def received(self) -> int:
        return self._inbox.received

    @property
    def clock(self) -> Clock:
        """The clock this endpoint's receive waits run on (the event loop's,
        or the in-process network's virtual one)."""
        return self._inbox._clock

    @property
    def closed(self) -> bool:
        return self._closed

    async def recv(self, timeout: float | None = None) -> tuple[bytes, Address]:
        item = await self._inbox.get(timeout)
        return item[0], item[1]

    async def recv_batch(self, max_count: int = 64, timeout: float | None = None) -> list[tuple[bytes, Address]]:
        return [(item[0], item[1]) for item in await self._inbox.get_batch(max_count, timeout)]

    async def recv_incoming(self, timeout: float | None = None) -> Incoming:
        return await self._inbox.get(timeout)

    async def recv_batch_incoming(self, max_count: int = 64, timeout: float | None = None) -> list[Incoming]:
        return await self._inbox.get_batch(max_count, timeout)

    def on_receive(self, callback: Callable[[Incoming], None] | None) -> None:
        """Hand every datagram to ``callback`` as it arrives, in the event
        loop's reader (no queue, no receiving task); ``None`` goes back to
        the queue the ``recv`` methods read.  Datagrams queued before are
        passed to the callback first.  The callback must not block; an
        exception it raises is logged and the endpoint goes on."""
        inbox = self._inbox
        inbox.deliver = callback
        if callback is not None:
            while len(inbox) and inbox.deliver is callback:
                callback(inbox._items.popleft())

    def _release(self) -> None:
        """What closing frees besides the inbox (a socket, a network's tables)."""

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._inbox.close()
        self._release()

    async def __aenter__(self: _E) -> _E:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<{self.KIND} {self._local.host} port {self._local.port} {state}>"
