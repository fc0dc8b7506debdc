"""Stepping a coroutine at once and finishing it in a task only when it
waits (dlmsmesh.server.eager): the server serves most datagrams this way,
so the rest must behave exactly as a task made from the start would."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dlmsmesh.server import eager


async def _plain(x: int) -> int:
    return x * 2


async def _waits(fut: asyncio.Future[int], log: list[str]) -> int:
    log.append("before")
    value = await fut
    log.append("after")
    return value + 1


def test_a_coroutine_that_never_waits_finishes_in_the_step() -> None:
    assert eager.step(_plain(21)) == (42, None)


def test_an_exception_of_the_first_step_propagates() -> None:
    async def boom() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        eager.step(boom())


@pytest.mark.asyncio
async def test_a_waiting_coroutine_finishes_in_a_task_with_the_future_value() -> None:
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[int] = loop.create_future()
    log: list[str] = []
    coro = _waits(fut, log)
    result, yielded = eager.step(coro)
    assert result is eager.PENDING and yielded is fut and log == ["before"]
    task = loop.create_task(eager.finish(coro, yielded))
    await asyncio.sleep(0)
    assert not task.done()
    fut.set_result(9)
    assert await asyncio.wait_for(task, 1) == 10 and log == ["before", "after"]


@pytest.mark.asyncio
async def test_the_awaited_future_failing_raises_inside_the_coroutine() -> None:
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[int] = loop.create_future()

    async def catches() -> str:
        try:
            await fut
        except ValueError as err:
            return f"caught {err}"
        return "not raised"

    coro = catches()
    _, yielded = eager.step(coro)
    task = loop.create_task(eager.finish(coro, yielded))
    fut.set_exception(ValueError("bad"))
    assert await asyncio.wait_for(task, 1) == "caught bad"


@pytest.mark.asyncio
async def test_cancelling_the_task_cancels_what_the_coroutine_waits_on() -> None:
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[int] = loop.create_future()
    seen: list[str] = []

    async def cleans_up() -> None:
        try:
            await fut
        except asyncio.CancelledError:
            seen.append("cancelled inside")
            raise

    coro = cleans_up()
    _, yielded = eager.step(coro)
    task = loop.create_task(eager.finish(coro, yielded))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 1)
    assert fut.cancelled() and seen == ["cancelled inside"]


@pytest.mark.asyncio
async def test_a_coroutine_may_swallow_the_cancellation_and_answer() -> None:
    loop = asyncio.get_running_loop()
    fut: asyncio.Future[int] = loop.create_future()

    async def answers_anyway() -> str:
        try:
            await fut
        except asyncio.CancelledError:
            return "answered"
        return "not cancelled"

    coro = answers_anyway()
    _, yielded = eager.step(coro)
    task = loop.create_task(eager.finish(coro, yielded))
    await asyncio.sleep(0)
    task.cancel()
    assert await asyncio.wait_for(task, 1) == "answered"


@pytest.mark.asyncio
async def test_several_waits_and_bare_yields_in_a_row() -> None:
    async def many() -> list[int]:
        out = []
        for i in range(3):
            await asyncio.sleep(0)  # a bare yield
            await asyncio.sleep(0.001)  # a timer future
            out.append(i)
        return out

    coro = many()
    result, yielded = eager.step(coro)
    assert result is eager.PENDING and yielded is None
    task = asyncio.get_running_loop().create_task(eager.finish(coro, yielded))
    assert await asyncio.wait_for(task, 1) == [0, 1, 2]


@pytest.mark.asyncio
async def test_a_yield_asyncio_cannot_wait_on_is_an_error_inside_the_coroutine() -> None:
    class Odd:
        def __await__(self) -> Any:
            yield "not a future"

    async def odd() -> None:
        await Odd()

    coro = odd()
    _, yielded = eager.step(coro)
    with pytest.raises(RuntimeError, match="cannot wait on"):
        await eager.finish(coro, yielded)


@pytest.mark.asyncio
async def test_within_task_gives_the_result_or_times_out_and_cancels() -> None:
    loop = asyncio.get_running_loop()
    quick = loop.create_task(_plain(4))
    assert await eager.within_task(quick, 1) == 8
    slow = loop.create_task(asyncio.sleep(3600))
    with pytest.raises(asyncio.TimeoutError):
        await eager.within_task(slow, 0.01)
    await asyncio.sleep(0)
    assert slow.cancelled()


def test_within_task_needs_no_task_of_its_own() -> None:
    """It can run inside a coroutine that step() drives outside any task
    (asyncio.timeout refuses to, and wait_for is built on it from 3.12)."""

    async def main() -> int:
        loop = asyncio.get_running_loop()
        holder: dict[str, Any] = {}

        async def outer() -> int:
            inner = loop.create_task(_plain(5))
            return await eager.within_task(inner, 1)

        def start() -> None:
            coro = outer()
            result, yielded = eager.step(coro)  # in a callback: no current task
            assert asyncio.current_task() is None and result is eager.PENDING
            holder["task"] = loop.create_task(eager.finish(coro, yielded))

        loop.call_soon(start)
        await asyncio.sleep(0.01)
        return await asyncio.wait_for(holder["task"], 1)

    assert asyncio.run(main()) == 10
