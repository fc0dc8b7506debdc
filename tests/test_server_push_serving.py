"""The serving loop on endpoints that hand datagrams over as they arrive
(``on_receive``): a request the objects answer at once is served there and
then, with no task; one whose handler waits gets a task, at most
``max_tasks`` of them, and the datagrams behind wait (first in the server's
backlog, then in the transport's bounded queue) and are all answered, in
order, once the handlers finish."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dlmsmesh import acse, wrapper
from dlmsmesh import apdu as A
from dlmsmesh.acse_pdu import AARQ
from dlmsmesh.apdu_model import AttributeDescriptor
from dlmsmesh.cosem import ANY, READ_ONLY, CosemObject, attribute
from dlmsmesh.server import Server, eager
from dlmsmesh.transport import InProcessNetwork
from dlmsmesh.types import Long

from .server_support import LDN, PEER, SERVER, initiate, make_meter

GATE = AttributeDescriptor(1, "0.0.96.99.0.255", 2)


class Gate(CosemObject):
    """An object whose value is ready only when the test opens the gate."""

    class_id = 1

    def __init__(self, logical_name: str, opened: asyncio.Event) -> None:
        super().__init__(logical_name)
        self.opened = opened

    @attribute(2, ANY, access=READ_ONLY)
    async def value(self) -> Any:
        await self.opened.wait()
        return Long(7)


def _served(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts the coroutines finished in a task (those that had to wait)."""
    finished: list[int] = []
    real = eager.finish

    async def counting(coro: Any, yielded: Any) -> Any:
        finished.append(1)
        return await real(coro, yielded)

    monkeypatch.setattr(eager, "finish", counting)
    return finished


@pytest.mark.asyncio
async def test_waiting_handlers_are_capped_and_everything_is_answered_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    finished = _served(monkeypatch)
    opened = asyncio.Event()
    meter = make_meter(keys=False)
    gate = Gate("0.0.96.99.0.255", opened)
    meter.logical_devices[1].add(gate)
    meter.association(16, 1).objects.add(gate)  # type: ignore[union-attr]
    net = InProcessNetwork(seed=11)
    server = Server(net.endpoint(SERVER.host, SERVER.port), max_tasks=1)
    server.add_meter(meter)
    head_end = net.endpoint(PEER.host, PEER.port)
    async with server:
        await net.advance(0.05)
        await head_end.send(wrapper.encode(16, 1, acse.encode(AARQ(user_information=initiate()))), SERVER)
        await net.advance(0.05)
        assert acse.decode(wrapper.decode((await head_end.recv(timeout=0))[0])[1]).accepted
        assert finished == []  # the AARQ never waited: no task
        for i in range(3):
            await head_end.send(wrapper.encode(16, 1, A.encode(A.GetRequestNormal(LDN, invoke_id=i))), SERVER)
        await net.advance(0.05)
        assert finished == [] and len(server._tasks) == 0  # answered at once
        for i in range(3, 8):
            descriptor = GATE if i in (3, 5) else LDN
            await head_end.send(wrapper.encode(16, 1, A.encode(A.GetRequestNormal(descriptor, invoke_id=i))), SERVER)
        await net.advance(0.05)
        # the first gate read waits in the one serving task allowed (its
        # handler in a task of its own, bounded by request_timeout); the rest
        # wait behind it
        assert len(server._tasks) == 1 and len(server._handlers) == 1 and len(finished) == 2
        opened.set()
        for _ in range(20):
            await net.advance(0.01)
        ids, values = [], []
        while True:
            try:
                data, _ = await head_end.recv(timeout=0)
            except Exception:  # noqa: BLE001 - drained
                break
            reply = A.decode(wrapper.decode(data)[1])
            ids.append(reply.invoke_id)
            values.append(reply.result)
        assert ids == list(range(8))
        assert values[3] == values[5] == 7 and values[4] == b"MMM0000012345678"
        assert len(finished) == 2  # the second gate read came after the gate opened: answered at once
        assert len(server._tasks) == 0 and server.stats.answered == 9 and server.stats.internal_errors == 0
    await head_end.close()


@pytest.mark.asyncio
async def test_a_transport_closed_under_the_server_ends_serve_forever() -> None:
    net = InProcessNetwork(seed=12)
    endpoint = net.endpoint(SERVER.host, SERVER.port)
    server = Server(endpoint)
    server.add_meter(make_meter())
    serving = asyncio.get_running_loop().create_task(server.serve_forever())
    await net.advance(0.1)
    await endpoint.close()
    await net.advance(2.0)
    await asyncio.wait_for(serving, 5)
    assert serving.done() and serving.exception() is None
