"""A group read as a head-end runs it: one group request, its window of
answers, then the members that did not answer read one by one by unicast,
paced; one result per member."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from ..client import Client
from ..client.broadcast import BroadcastSummary, FollowUp, GroupRequest, KeysProvider
from ..cosem.groups import Group

__all__ = ["GroupRead", "read_group"]


@dataclass(frozen=True)
class GroupRead:
    """``results``: system title -> result for every member heard from (in
    the window, late, or by the follow-up); ``summary`` of the group request;
    ``follow_up`` of its missing members (None when ``follow_up=False``);
    ``unreached``: the expected members no read reached."""

    results: dict[bytes, Any]
    summary: BroadcastSummary
    follow_up: FollowUp | None

    @property
    def unreached(self) -> frozenset[bytes]:
        if self.summary.expected is None:
            return frozenset()
        return frozenset(self.summary.expected - self.results.keys())


async def read_group(
    client: Client,
    group: Group | str | int,
    request: GroupRequest,
    *,
    window: float,
    keys: KeysProvider,
    bk: bytes,
    ak: bytes,
    expected: Iterable[bytes] | None = None,
    follow_up: bool = True,
    pace: float = 1.0,
    **options: Any,
) -> GroupRead:
    """:meth:`Client.broadcast` to its end, then (``follow_up``) the missing
    members by unicast, ``pace`` seconds apart.  ``options`` go to the
    broadcast (``designate``, ``port``, ``system_title``...).  Answers that
    came in the window, late, or by the follow-up all count; a follow-up read
    that failed is a result too (its exception object), a silent meter is
    left out of ``results`` and named in ``unreached``."""
    broadcast = client.broadcast(group, request, window=window, keys=keys, bk=bk, ak=ak, expected=expected, **options)
    async for _ in broadcast:
        pass
    summary = broadcast.summary
    results: dict[bytes, Any] = {**summary.answered, **summary.late}
    done: FollowUp | None = None
    if follow_up and summary.missing:
        done = await broadcast.follow_up(pace=pace)
        results.update((t, r) for t, r in done.results.items() if t in done.reached)
    return GroupRead(results, summary, done)
