"""An association's replies wait in a Mailbox: bounded, a waiter woken
directly, a deadline per wait, nothing lost to a cancellation."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dlmsmesh.client.mailbox import Mailbox


@pytest.mark.asyncio
async def test_items_in_order_and_the_capacity_bound() -> None:
    box = Mailbox(2)
    assert box.put(1) and box.put(2) and not box.put(3)
    assert len(box) == 2
    assert [await box.get(1), await box.get(1)] == [1, 2] and box.empty()


@pytest.mark.asyncio
async def test_a_waiter_is_woken_by_the_next_item() -> None:
    box = Mailbox()
    waiting = asyncio.get_running_loop().create_task(box.get(5))
    await asyncio.sleep(0)
    assert box.put("reply") and len(box) == 0  # handed over, not queued
    assert await asyncio.wait_for(waiting, 1) == "reply"


@pytest.mark.asyncio
async def test_the_deadline() -> None:
    box = Mailbox()
    with pytest.raises(asyncio.TimeoutError):
        await box.get(0.01)
    with pytest.raises(asyncio.TimeoutError):
        await box.get(0)
    assert box.put("late") and await box.get(0) == "late"  # a timed-out waiter takes nothing


@pytest.mark.asyncio
async def test_an_item_handed_to_a_cancelled_waiter_goes_back_first() -> None:
    box = Mailbox()
    waiting = asyncio.get_running_loop().create_task(box.get(5))
    await asyncio.sleep(0)
    box.put("first")  # the waiter has it, but has not run yet
    box.put("second")
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    assert [await box.get(1), await box.get(1)] == ["first", "second"]


class _PullOnly:
    """A user's own Datagram endpoint: the methods of the protocol, no on_receive."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        if name == "on_receive":
            raise AttributeError(name)
        return getattr(self._inner, name)


@pytest.mark.asyncio
async def test_a_client_on_an_endpoint_without_on_receive_reads_it_in_a_task() -> None:
    from dlmsmesh.client import Client
    from dlmsmesh.server import Server
    from dlmsmesh.transport import UdpTransport

    from .loopback_support import HEAD_END, TITLE, make_meter

    server = Server(await UdpTransport.open("127.0.0.1", 0))
    server.add_meter(make_meter(address=None))
    address = server.transport.local_address
    client = Client(_PullOnly(await UdpTransport.open("127.0.0.1", 0)), system_title=HEAD_END, timeout=2.0)  # type: ignore[arg-type]
    async with server, client:
        assert client._loop_task is not None and not client._pushed
        async with client.associate(TITLE, address=(address.host, address.port)) as meter:
            assert bytes(await meter.get((1, "0.0.42.0.0.255", 2))).startswith(b"MMM")
    assert client._loop_task is None
