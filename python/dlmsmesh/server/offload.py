"""Keeping the event loop off the disk: work that touches a meter's
invocation counter store runs in a worker thread unless the store is in
memory (a store on disk commits, with an fsync, as frames are protected and
accepted)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from ..security import InvocationCounterStore, MemoryCounterStore

__all__ = ["off_loop"]

_T = TypeVar("_T")


async def off_loop(counters: InvocationCounterStore, fn: Callable[..., _T], /, *args: Any, **kwargs: Any) -> _T:
    """``fn(*args, **kwargs)``: at once for a store in memory, else in a worker thread."""
    if type(counters) is MemoryCounterStore:
        return fn(*args, **kwargs)
    return await asyncio.to_thread(fn, *args, **kwargs)
