"""Datagrams handed to a callback as they arrive (``on_receive``), the way
the Client and the Server take them, on both endpoint kinds."""

from __future__ import annotations

import asyncio
import logging

import pytest

from dlmsmesh.transport import Incoming, InProcessNetwork, UdpTransport


@pytest.mark.asyncio
async def test_udp_datagrams_go_to_the_callback_queued_ones_first() -> None:
    async with await UdpTransport.open("127.0.0.1", 0) as a, await UdpTransport.open("127.0.0.1", 0) as b:
        await a.send(b"queued", b.local_address)
        await asyncio.sleep(0.05)  # it waits in b's queue
        got: list[Incoming] = []
        b.on_receive(got.append)
        assert [i.data for i in got] == [b"queued"]
        await a.send(b"pushed", b.local_address)
        for _ in range(100):
            if len(got) == 2:
                break
            await asyncio.sleep(0.01)
        assert got[1] == (b"pushed", a.local_address, b.local_address)
        assert b.received == 2
        # back to the queue
        b.on_receive(None)
        await a.send(b"again", b.local_address)
        assert (await b.recv(timeout=2))[0] == b"again"
        assert len(got) == 2


@pytest.mark.asyncio
async def test_a_failing_callback_is_logged_and_the_endpoint_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    net = InProcessNetwork(seed=1)
    a, b = net.endpoint("fd00::1", 1000), net.endpoint("fd00::2", 1000)
    got: list[bytes] = []

    def picky(incoming: Incoming) -> None:
        if incoming.data == b"bad":
            raise RuntimeError("receiver bug")
        got.append(incoming.data)

    b.on_receive(picky)
    with caplog.at_level(logging.ERROR, logger="dlmsmesh.transport._inbox"):
        await a.send(b"bad", b.local_address)
        await a.send(b"good", b.local_address)
        await net.run_until_idle()
    assert got == [b"good"]
    assert any("receive callback failed" in r.getMessage() for r in caplog.records)
    await a.close()
    await b.close()


@pytest.mark.asyncio
async def test_switching_off_inside_the_callback_leaves_the_rest_queued() -> None:
    net = InProcessNetwork(seed=2)
    a, b = net.endpoint("fd00::1", 1000), net.endpoint("fd00::2", 1000)
    for n in range(3):
        await a.send(bytes([n]), b.local_address)
    await net.run_until_idle()
    got: list[bytes] = []

    def first_only(incoming: Incoming) -> None:
        got.append(incoming.data)
        b.on_receive(None)

    b.on_receive(first_only)
    assert got == [b"\x00"]
    assert [(await b.recv(timeout=0))[0] for _ in range(2)] == [b"\x01", b"\x02"]
    await a.close()
    await b.close()
