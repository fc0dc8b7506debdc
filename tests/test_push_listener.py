"""PushListener (issue 19, point 2): datagrams over real UDP (127.0.0.1
only) into decoded batches and push columns; failures counted by kind and
unknown senders quarantined; back-pressure that bounds memory and counts
every drop; a loopback storm of 50,000 pushes from 1,000 meters where none
the kernel delivered is lost."""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any

import pytest

import dlmsmesh
from dlmsmesh import apdu
from dlmsmesh.apdu_model import DataNotification
from dlmsmesh.push_listener import PushListener, kernel_drops
from dlmsmesh.transport import UdpTransport
from dlmsmesh.types import DateTime, DoubleLongUnsigned, Long, OctetString, Structure

from .columns_support import plain
from .pipeline_support import keyring, meter_context, meter_title, wpdu
from .push_support import check_against_frames, notification_frame

# real sockets: once, on the default backend (the columns' backends are compared elsewhere)
pytestmark = pytest.mark.single_backend

WHEN = bytes.fromhex("07EA0C06070A0F0000FFC400")


def _body(m: int, k: int) -> Structure:
    return Structure([OctetString(WHEN), DoubleLongUnsigned(100 * m + k), Long(k - 5)])


async def _send_all(sock: Any, frames: list[bytes], target: tuple[str, int], chunk: int = 64) -> None:
    """Send every frame, yielding to the loop between chunks (the listener
    shares it) as a stream of meters would arrive."""
    for a in range(0, len(frames), chunk):
        for f in frames[a : a + chunk]:
            sock.sendto(f, target)
        await asyncio.sleep(0)


def _sender() -> Any:
    import socket

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    return s


def test_push_listener_is_exported() -> None:
    assert dlmsmesh.PushListener is PushListener


def test_batches_columns_and_failures_over_udp() -> None:
    async def run() -> None:
        transport = await UdpTransport.open("127.0.0.1", 0)
        ctxs = [meter_context(m) for m in range(3)]
        frames = [notification_frame(m, _body(m, k), invoke=k, ctx=ctxs[m]) for k in range(4) for m in range(3)]
        frames.append(frames[0])  # replay
        bad = bytearray(notification_frame(1, _body(1, 9), ctx=ctxs[1]))
        bad[-1] ^= 0x40
        frames.append(bytes(bad))  # tampered
        frames.append(notification_frame(7, _body(7, 0)))  # no keys: quarantined
        frames.append(b"\x00\x01\x00")  # not a wrapper
        async with PushListener(transport, keyring(3), max_batch=64, max_delay=0.2) as listener:
            sock = _sender()
            await _send_all(sock, frames, transport.local_address)
            rows = []
            kinds: dict[str, int] = {}
            got = 0
            while got < len(frames):
                batch = await listener.next_batch(timeout=5)
                assert batch is not None
                got += len(batch)
                table = batch.columns()
                check_against_frames(batch.decoded, table)
                rows += list(zip(plain(table["system_title"]), plain(table["body.1"])))
                for kind in batch.failures().values():
                    kinds[kind] = kinds.get(kind, 0) + 1
                assert all(s.host == "127.0.0.1" for s in batch.sources)
            sock.close()
        assert sorted(rows) == sorted((meter_title(m), 100 * m + k) for k in range(4) for m in range(3))
        assert kinds == {"replay": 1, "tampered": 1, "unknown": 1, "malformed": 1}
        st = listener.stats
        assert (st.received, st.decoded, st.replays, st.tampered, st.unknown, st.malformed) == (16, 12, 1, 1, 1, 1)
        assert list(listener.quarantined) == [meter_title(7)]
        assert listener.quarantined[meter_title(7)].frames == 1
        assert listener.layout is not None and listener.layout.names == ["body.0", "body.1", "body.2"]

    asyncio.run(run())


def test_slow_consumer_back_pressure_bounds_memory_and_counts_drops() -> None:
    async def run() -> None:
        transport = await UdpTransport.open("127.0.0.1", 0, queue_size=100)
        ctx = meter_context(0)
        raw = [apdu.encode(DataNotification(body=_body(0, k), long_invoke_id=k)) for k in range(2000)]
        frames = [wpdu(f) for f in ctx.protect_batch(raw, general=True)]
        listener = PushListener(transport, keyring(1), max_batch=50, max_delay=0.01, max_pending=2)
        await listener.start()
        sock = _sender()
        await _send_all(sock, frames, transport.local_address, chunk=32)
        await asyncio.sleep(0.3)  # nobody reads: the receive loop waits on the full queue
        assert listener._queue.qsize() == 2
        assert listener.stats.waits >= 1
        delivered = 0
        while True:
            batch = await listener.next_batch(timeout=0.5)
            if batch is None:
                break
            delivered += batch.columns().rows
        sock.close()
        listener._note_drops()
        st = listener.stats
        kernel = listener.kernel_drops() or 0
        # every datagram accounted for: delivered as a row, dropped by the
        # transport's full queue, or dropped by the kernel (counted by it)
        assert st.dropped > 0
        assert delivered == st.received == st.decoded
        assert st.received + st.dropped + kernel == len(frames)
        await listener.close()

    asyncio.run(run())


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _storm(meters: int, per_meter: int) -> tuple[list[bytes], Any]:
    """per_meter notifications from each meter, interleaved as a storm arrives."""
    by_meter = []
    for m in range(meters):
        ctx = meter_context(m)
        raw = [
            apdu.encode(DataNotification(body=_body(m, k), long_invoke_id=k, date_time=DateTime(WHEN)))
            for k in range(per_meter)
        ]
        by_meter.append([wpdu(f, m) for f in ctx.protect_batch(raw, general=True)])
    frames = [by_meter[m][k] for k in range(per_meter) for m in range(meters)]
    return frames, keyring(meters)


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="RSS is read from /proc")
def test_loopback_storm_50000_pushes_from_1000_meters() -> None:
    meters, per_meter = 1000, 50
    frames, ring = _storm(meters, per_meter)

    async def run() -> tuple[int, int, int, int, int]:
        transport = await UdpTransport.open("127.0.0.1", 0, queue_size=8192, receive_buffer=8 << 20)
        listener = PushListener(transport, ring, max_batch=4096, max_delay=0.01, max_pending=4)
        delivered = 0
        energy = 0
        rss: list[int] = []

        async def consume() -> None:
            nonlocal delivered, energy
            async for batch in listener:
                table = batch.columns()
                assert not table.other and batch.failures() == {}
                delivered += table.rows
                energy += int(sum(plain(table["body.1"])))
                if len(rss) == 0 and delivered >= 10_000:
                    rss.append(_rss())
                if delivered + listener.stats.dropped + (listener.kernel_drops() or 0) >= len(frames):
                    return

        consumer = asyncio.get_running_loop().create_task(consume())
        await listener.start()
        sock = _sender()
        target = transport.local_address
        await _send_all(sock, frames, target, chunk=128)
        await asyncio.wait_for(consumer, 30)
        sock.close()
        rss.append(_rss())
        kernel = listener.kernel_drops()  # the socket is open still: its inode names it
        await listener.close()
        return delivered, energy, listener.stats.dropped, -1 if kernel is None else kernel, rss[-1] - rss[0]

    start = time.monotonic()
    delivered, energy, dropped, kernel, growth = asyncio.run(run())
    elapsed = time.monotonic() - start
    assert kernel >= 0, "the kernel's drop counter is readable on Linux"
    # none lost that the kernel delivered: every datagram is a row or a counted drop
    assert delivered + dropped + kernel == len(frames)
    assert delivered >= 0.9 * len(frames), (delivered, dropped, kernel)
    if dropped == kernel == 0:
        assert energy == sum(100 * m + k for m in range(meters) for k in range(per_meter))
    assert growth < 32 << 20, f"RSS grew by {growth} bytes while receiving"
    assert elapsed < 60
    assert kernel_drops(object()) is None
