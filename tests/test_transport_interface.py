"""One test suite for every Datagram implementation: UDP over IPv4 and IPv6
loopback, and the in-process network on its virtual clock and on real time.
A server or client written against the interface behaves the same on each."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from dlmsmesh.errors import DlmsError, DlmsTimeout
from dlmsmesh.transport import (
    MAX_DATAGRAM,
    Address,
    AddressError,
    Datagram,
    InProcessNetwork,
    RealClock,
    TransportClosed,
    TransportError,
    UdpTransport,
    VirtualClock,
)

# the transports carry bytes and never touch a codec backend: one run is enough
pytestmark = pytest.mark.single_backend

KINDS = ["udp-v4", "udp-v6", "inprocess-virtual", "inprocess-real"]


def _has_ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


class Harness:
    """Opens endpoints of one kind; for the virtual clock a driver task keeps
    time moving so the suite's waits behave as on a real network."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.net: InProcessNetwork | None = None
        self.driver: asyncio.Task[None] | None = None
        self.opened: list[Datagram] = []
        if kind == "inprocess-virtual":
            self.net = InProcessNetwork(seed=1)
        elif kind == "inprocess-real":
            self.net = InProcessNetwork(seed=1, clock=RealClock())
        self._hosts = iter(f"2001:db8::{i}" for i in range(1, 1000))

    async def start(self) -> None:
        if self.net is not None and isinstance(self.net.clock, VirtualClock):
            self.driver = asyncio.create_task(self._drive(self.net))

    @staticmethod
    async def _drive(net: InProcessNetwork) -> None:
        for _ in range(10_000_000):  # bounded; cancelled at teardown long before
            await net.advance(0.001)
            await asyncio.sleep(0)

    async def open(self, queue_size: int = 4096) -> Datagram:
        ep: Datagram
        if self.kind == "udp-v4":
            ep = await UdpTransport.open("127.0.0.1", 0, queue_size=queue_size)
        elif self.kind == "udp-v6":
            ep = await UdpTransport.open("::1", 0, queue_size=queue_size)
        else:
            assert self.net is not None
            ep = self.net.endpoint(next(self._hosts), 61616, queue_size=queue_size)
        self.opened.append(ep)
        return ep

    async def settle(self) -> None:
        """Long enough for loopback datagrams to be queued on any kind."""
        await asyncio.sleep(0.05)

    async def stop(self) -> None:
        for ep in self.opened:
            await ep.close()
        if self.driver is not None:
            self.driver.cancel()
            with pytest.raises(asyncio.CancelledError):
                await self.driver


@pytest_asyncio.fixture(params=KINDS)
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    if request.param == "udp-v6" and not _has_ipv6_loopback():
        pytest.skip("no IPv6 loopback here")
    h = Harness(request.param)
    await h.start()
    try:
        yield h
    finally:
        await h.stop()


def _others(h: Harness) -> set[asyncio.Task[object]]:
    return {t for t in asyncio.all_tasks() if t is not asyncio.current_task() and t is not h.driver}


@pytest.mark.asyncio
async def test_round_trip_both_ways(harness: Harness) -> None:
    a, b = await harness.open(), await harness.open()
    assert isinstance(a, Datagram) and isinstance(b, Datagram)
    await a.send(b"request", b.local_address)
    data, source = await b.recv(timeout=2)
    assert (data, source) == (b"request", a.local_address)
    assert isinstance(source, Address) and source.port == a.local_address.port
    await b.send(bytearray(b"reply"), source)
    assert await a.recv(timeout=2) == (b"reply", b.local_address)
    await a.send(memoryview(b"again"), b.local_address)
    incoming = await b.recv_incoming(timeout=2)
    assert incoming == (b"again", a.local_address, b.local_address)
    assert incoming.destination == b.local_address
    await a.send(b"batch", b.local_address)
    assert await b.recv_batch_incoming(4, timeout=2) == [(b"batch", a.local_address, b.local_address)]


@pytest.mark.asyncio
async def test_local_address_is_the_bound_one(harness: Harness) -> None:
    a = await harness.open()
    host, port = a.local_address
    assert port > 0
    assert host in {"127.0.0.1", "::1"} or host.startswith("2001:db8::")


@pytest.mark.asyncio
async def test_recv_times_out(harness: Harness) -> None:
    a = await harness.open()
    with pytest.raises(DlmsTimeout):
        await a.recv(timeout=0)
    with pytest.raises(DlmsTimeout) as info:
        await a.recv(timeout=0.05)
    assert isinstance(info.value, TimeoutError) and isinstance(info.value, DlmsError)
    with pytest.raises(DlmsTimeout):
        await a.recv_batch(8, timeout=0.05)
    # a timed-out receive leaves the endpoint usable
    b = await harness.open()
    await b.send(b"late", a.local_address)
    assert (await a.recv(timeout=2))[0] == b"late"


@pytest.mark.asyncio
async def test_recv_batch_takes_what_is_queued_up_to_max(harness: Harness) -> None:
    a, b = await harness.open(), await harness.open()
    for i in range(10):
        await a.send(bytes([i]), b.local_address)
    await harness.settle()
    sizes, got = [], []
    for _ in range(10):  # bounded: at most one datagram per call
        if len(got) == 10:
            break
        batch = await b.recv_batch(4, timeout=2)
        sizes.append(len(batch))
        got.extend(d for d, _ in batch)
    assert sizes == [4, 4, 2]
    assert got == [bytes([i]) for i in range(10)]


@pytest.mark.asyncio
async def test_close_ends_pending_receives_and_leaves_no_task(harness: Harness) -> None:
    a = await harness.open()
    before = _others(harness)
    waiting = [asyncio.create_task(a.recv()), asyncio.create_task(a.recv_batch(16, timeout=30))]
    await asyncio.sleep(0)
    assert not any(t.done() for t in waiting)
    await a.close()
    assert a.closed
    for task in waiting:
        with pytest.raises(TransportClosed):
            await task
    assert _others(harness) == before
    with pytest.raises(TransportClosed):
        await a.recv(timeout=0)
    with pytest.raises(TransportClosed):
        await a.send(b"x", ("127.0.0.1", 9))
    await a.close()  # twice is harmless


@pytest.mark.asyncio
async def test_cancelled_receive_does_not_eat_the_next_datagram(harness: Harness) -> None:
    a, b = await harness.open(), await harness.open()
    task = asyncio.create_task(b.recv())
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await a.send(b"after", b.local_address)
    assert (await b.recv(timeout=2))[0] == b"after"


@pytest.mark.asyncio
async def test_full_queue_drops_and_counts(harness: Harness) -> None:
    a, b = await harness.open(), await harness.open(queue_size=8)
    for i in range(20):
        await a.send(bytes([i]) * 4, b.local_address)
    await harness.settle()
    assert b.dropped == 12
    got = [(await b.recv(timeout=1))[0] for _ in range(8)]
    assert got == [bytes([i]) * 4 for i in range(8)]  # the first ones stay, later arrivals are dropped
    with pytest.raises(DlmsTimeout):
        await b.recv(timeout=0)


@pytest.mark.asyncio
async def test_context_manager_closes(harness: Harness) -> None:
    a = await harness.open()
    async with a as entered:
        assert entered is a and not a.closed
    assert a.closed


@pytest.mark.asyncio
async def test_bad_sends_raise_dlms_errors(harness: Harness) -> None:
    a, b = await harness.open(), await harness.open()
    with pytest.raises(AddressError):
        await a.send(b"x", ("127.0.0.1", 70000))
    with pytest.raises(AddressError):
        await a.send(b"x", "127.0.0.1:4059")  # type: ignore[arg-type]
    with pytest.raises(AddressError):
        await a.send(b"x", (b.local_address.host, 0))
    with pytest.raises(TransportError):
        await a.send(bytes(MAX_DATAGRAM + 1), b.local_address)
    await a.send(b"ok", b.local_address)  # still usable
    assert (await b.recv(timeout=2))[0] == b"ok"
