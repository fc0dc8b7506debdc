"""Running a coroutine at once, and in a task only if it has to wait.

Most requests a meter serves never wait (the objects answer from memory),
so the server steps the coroutine that serves a datagram right where the
datagram arrives and makes a task only for one that suspends: the task
(:func:`finish`) carries on from where the first step stopped, exactly as
the task asyncio would have made from the start (Python 3.12's eager task
factory does the same; this runs on 3.10 and 3.11 too).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["step", "finish", "PENDING"]

_T = TypeVar("_T")

#: what :func:`step` gives for a coroutine that suspended
PENDING: Any = object()


def step(coro: Coroutine[Any, Any, _T]) -> tuple[Any, Any]:
    """Run ``coro`` to its first suspension: ``(result, None)`` when it
    finished, ``(PENDING, yielded)`` when it waits on ``yielded`` (then
    :func:`finish` it).  An exception it raises propagates."""
    try:
        yielded = coro.send(None)
    except StopIteration as done:
        return done.value, None
    return PENDING, yielded


def _wake(waiter: asyncio.Future[None], _awaited: Any) -> None:
    if not waiter.done():
        waiter.set_result(None)


async def finish(coro: Coroutine[Any, Any, _T], yielded: Any) -> _T:
    """The rest of ``coro``, which :func:`step` left waiting on ``yielded``:
    each future it waits on is awaited here, then ``coro`` is resumed as
    asyncio's task would (a cancellation of this task reaches the future
    ``coro`` waits on, or ``coro`` itself)."""
    loop = asyncio.get_running_loop()
    while True:
        error: BaseException | None = None
        if yielded is None:
            # a bare yield (asyncio.sleep(0)): give the loop one turn
            try:
                await asyncio.sleep(0)
            except asyncio.CancelledError as cancelled:
                error = cancelled
        elif getattr(yielded, "_asyncio_future_blocking", None) is not None:
            yielded._asyncio_future_blocking = False
            if not yielded.done():
                waiter = loop.create_future()
                callback = _wake.__get__(waiter)
                yielded.add_done_callback(callback)
                try:
                    await waiter
                except asyncio.CancelledError as cancelled:
                    yielded.remove_done_callback(callback)
                    # as a task does: cancel what the coroutine waits on, and
                    # let it see that when it resumes; else throw it in
                    if not yielded.cancel():
                        error = cancelled
        else:
            error = RuntimeError(f"a coroutine yielded {yielded!r}, which asyncio cannot wait on")
        try:
            yielded = coro.send(None) if error is None else coro.throw(error)
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]


async def within_task(task: asyncio.Task[_T], seconds: float) -> _T:
    """``task``'s result, or asyncio.TimeoutError after ``seconds`` (the task
    is cancelled then).  Needs no task of its own (asyncio.timeout does, and
    wait_for is built on it from Python 3.12), so it can be awaited in a
    coroutine :func:`step` runs."""
    loop = asyncio.get_running_loop()
    ended: asyncio.Future[None] = loop.create_future()
    wake = _wake.__get__(ended)
    task.add_done_callback(wake)
    timer = loop.call_later(seconds, wake, None)
    try:
        await ended
    except asyncio.CancelledError:
        task.cancel()
        raise
    finally:
        timer.cancel()
        task.remove_done_callback(wake)
    if not task.done():
        task.cancel()
        raise asyncio.TimeoutError()
    return task.result()
