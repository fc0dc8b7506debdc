"""Registry.watch in one process (own writes arrive at once; the iterator ends
when the registry closes) and the async forms that keep SQLite off the loop."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from dlmsmesh.registration import ChangeKind, Outcome, Registration, Registry

from .postgres_support import Databases

pytestmark = pytest.mark.single_backend

A = bytes.fromhex("4D4D4D0000BC614E")
B = bytes.fromhex("4D4D4D0000BC614F")
BOUND = 30.0


def reg(title: bytes, ic: int, host: str = "fd00::1") -> Registration:
    return Registration(title, (host,), 61616, 1, "registration", ic, None, time.time(), host)


@pytest.mark.asyncio
async def test_own_writes_reach_the_watcher_without_polling(db: Databases) -> None:
    # a poll interval far above the wait: only the wake-up of our own write can deliver in time
    with Registry.open(db("w"), poll=30.0) as registry:
        registry.record_many([reg(A, 1)])  # before the watch: not seen
        stream = registry.watch()
        pending = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.05)
        assert await registry.arecord_many([reg(A, 2, "fd00::2"), reg(B, 1)]) == [Outcome.RECORDED] * 2
        async with asyncio.timeout(2.0):
            first = await pending
            second = await stream.__anext__()
        assert (first.kind, first.system_title) == (ChangeKind.UPDATED, A)
        assert first.binding is not None and first.binding.addresses == ("fd00::2",)
        assert (second.kind, second.system_title) == (ChangeKind.RECORDED, B)
        await stream.aclose()


@pytest.mark.asyncio
async def test_watch_since_replays_from_a_change_number(db: Databases) -> None:
    with Registry.open(db("w")) as registry:
        registry.record_many([reg(A, 1), reg(B, 1), reg(A, 2, "fd00::2")])
        seen = []
        async with asyncio.timeout(BOUND):
            async for change in registry.watch(since=1):
                seen.append((change.kind, change.system_title))
                if len(seen) == 2:
                    break
        assert seen == [(ChangeKind.RECORDED, B), (ChangeKind.UPDATED, A)]


@pytest.mark.asyncio
async def test_closing_the_registry_ends_every_watch(db: Databases) -> None:
    registry = Registry.open(db("w"), poll=30.0)

    async def drain() -> list[object]:
        return [c async for c in registry.watch()]

    tasks = [asyncio.ensure_future(drain()) for _ in range(3)]
    await asyncio.sleep(0.1)
    registry.close()
    async with asyncio.timeout(2.0):
        assert await asyncio.gather(*tasks) == [[], [], []]


@pytest.mark.asyncio
async def test_a_write_from_another_thread_wakes_the_watcher(db: Databases) -> None:
    with Registry.open(db("w"), poll=30.0) as registry:
        stream = registry.watch()
        pending = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0.05)
        thread = threading.Thread(target=registry.quarantine_many, args=([reg(B, 4)],))
        thread.start()
        async with asyncio.timeout(2.0):
            change = await pending
        thread.join(BOUND)
        assert (change.kind, change.system_title) == (ChangeKind.QUARANTINED, B)
        await stream.aclose()


@pytest.mark.asyncio
async def test_async_forms_run_off_the_loop(db: Databases) -> None:
    with Registry.open(db("a")) as registry:
        loop_thread = threading.get_ident()
        seen: list[int] = []
        store = registry.store
        apply = store.apply

        def spy(*args: object, **kwargs: object) -> object:
            seen.append(threading.get_ident())
            return apply(*args, **kwargs)  # type: ignore[arg-type]

        store.apply = spy  # type: ignore[method-assign]
        assert await registry.arecord_many([reg(A, 1)]) == [Outcome.RECORDED]
        assert await registry.aquarantine_many([reg(B, 1)]) == [Outcome.QUARANTINED]
        await registry.aadmit(B)
        assert seen and loop_thread not in seen
        found = await registry.alookup(A)
        assert found is not None and found.invocation_counter == 1
        assert [b.system_title for b in await registry.alist()] == [A, B]
        assert [h["change"] for h in await registry.ahistory(B)] == ["quarantined", "admitted"]
