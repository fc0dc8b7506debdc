"""Invocation counters of the receive pipeline: a table the backend checks
in frame order, kept in step with the security contexts' counter stores.

The store (memory or SQLite) stays the one truth, with the single-frame
semantics of :meth:`SecurityContext.unprotect`: a frame that verified is
accepted when its counter moves forward, recorded, and only then released.
The table (one ``dm_rx_counter`` per ring peer and key set) lets the C core
apply that rule to a whole batch without calling back:

- An entry is loaded from the store the first time a frame of its (peer,
  key set) verifies; until then, and for good for contexts with a
  reordering window or without a fixed peer title, its frames are left to
  :func:`settle`, which feeds them to ``store.accept_many`` in frame order.
- A loaded entry is checked strictly by the backend.  Afterwards each
  touched entry is committed with one ``accept_many`` per store; an entry
  whose store moved meanwhile (another process or the single-frame path)
  is re-decided frame by frame against the store, which can only reject
  more (its state is ahead), never bring back a plaintext already wiped.

So a batch costs the store one read and one write per (peer, key set) it
touched, whatever the number of frames.
"""

from __future__ import annotations

import threading
import weakref
from array import array
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .. import _status as S
from .._common import pipeline_items as I
from .._common.pipeline_outcome import Outcome
from ..security.tags import KeySet

#: entry % KEY_SETS -> its key set (an enum call per frame costs more than the lookup)
_KEY_SETS = tuple(KeySet(k) for k in range(I.KEY_SETS))

if TYPE_CHECKING:
    from ..security._batch_access import BatchContext

__all__ = ["CounterTable", "settle"]

_LAZY, _LOADED, _CALLER = 0, 1, 2
_E = I.RX_WORDS


class CounterTable:
    """The receive counters of one ring: entry ``peer * 3 + key set`` in the
    ``dm_rx_counter`` layout (``words``), plus what Python knows of each
    entry (its context, scope, whether the backend may check it)."""

    def __init__(self, contexts: Sequence[BatchContext]) -> None:
        # weak: the table is kept per security source, which owns the contexts
        self._contexts = [weakref.ref(c) for c in contexts]
        n = I.KEY_SETS * len(self._contexts)
        self.words = array("I", (0, I.RX_CALLER, 0, 0) * n)
        self.state = bytearray(n)
        self.scopes: list[str | None] = [None] * n
        self.lock = threading.Lock()
        for p, ctx in enumerate(contexts):
            if ctx.peer_system_title is None or ctx.replay_window:
                for k in range(I.KEY_SETS):
                    self.state[p * I.KEY_SETS + k] = _CALLER

    def preload(self) -> int:
        """Load at once every entry whose store reads many counters in one
        call (``last_accepted_many``: a store that holds them all, as the
        registration listener's does), so the backend checks those frames
        from the first batch on instead of leaving each peer's first frame
        to Python; returns how many entries were loaded.  Entries of other
        stores stay lazy."""
        names = ("ek", "bk", "dk")
        wanted: dict[int, tuple[Any, list[int]]] = {}
        for e in range(len(self.state)):
            if self.state[e] != _LAZY:
                continue
            ctx = self.context(e)
            if not hasattr(ctx.counters, "last_accepted_many") or not ctx.has_key(names[e % I.KEY_SETS]):
                continue
            wanted.setdefault(id(ctx.counters), (ctx.counters, []))[1].append(e)
        loaded = 0
        w = self.words
        for store, entries in wanted.values():
            lasts = store.last_accepted_many([self.scope(e) for e in entries])
            for e, last in zip(entries, lasts):
                w[_E * e] = 0 if last is None else last
                w[_E * e + 1] = 0 if last is None else I.RX_KNOWN
                self.state[e] = _LOADED
            loaded += len(entries)
        return loaded

    def inherit(self, old: CounterTable) -> None:
        """Take over the loaded entries of the table this one replaces (the
        ring was rebuilt: a peer added, a key changed): same scope, same
        state, so a keyring that grows does not start every peer again."""
        known = {}
        for e, scope in enumerate(old.scopes):
            if scope is not None and old.state[e] == _LOADED:
                known[scope] = (old.words[_E * e], old.words[_E * e + 1] & I.RX_KNOWN)
        if not known:
            return
        names = ("ek", "bk", "dk")
        for e in range(len(self.state)):
            if self.state[e] != _LAZY or not self.context(e).has_key(names[e % I.KEY_SETS]):
                continue
            hit = known.get(self.scope(e))
            if hit is not None:
                self.words[_E * e], self.words[_E * e + 1] = hit
                self.state[e] = _LOADED

    def __len__(self) -> int:
        return len(self.state)

    def context(self, e: int) -> BatchContext:
        ctx = self._contexts[e // I.KEY_SETS]()
        if ctx is None:
            raise ReferenceError("the security context of this counter entry is gone")
        return ctx

    def scope(self, e: int, title: bytes | None = None) -> str:
        """The store scope of entry ``e`` (``title``: the sender's, for a
        context that takes any title)."""
        ctx = self.context(e)
        fixed = ctx.peer_system_title
        if fixed is None:
            assert title is not None
            return ctx.counter_scope("rx", title, _KEY_SETS[e % I.KEY_SETS])
        scope = self.scopes[e]
        if scope is None:
            scope = self.scopes[e] = ctx.counter_scope("rx", fixed, _KEY_SETS[e % I.KEY_SETS])
        return scope

    def forget(self) -> None:
        """Drop every loaded entry (each is read from its store again when
        a frame of it next verifies)."""
        for e, state in enumerate(self.state):
            if state == _LOADED:
                self.state[e] = _LAZY
                self.words[_E * e : _E * e + _E] = array("I", (0, I.RX_CALLER, 0, 0))

    def load(self, e: int) -> None:
        """Read entry ``e`` from its store; the backend checks it from now on."""
        last = self.context(e).counters.last_accepted(self.scope(e))
        w = self.words
        w[_E * e] = 0 if last is None else last
        w[_E * e + 1] = 0 if last is None else I.RX_KNOWN
        self.state[e] = _LOADED


# --------------------------------------------------------------------------
# after the backend call
# --------------------------------------------------------------------------


def settle(table: CounterTable, out: Outcome, title_of: Callable[[int], bytes]) -> None:
    """Commit what the backend decided, decide the frames it left, and fail
    (and wipe) every frame the store rejects.  ``title_of(i)``: the system
    title frame i carries (for contexts without a fixed peer title)."""
    w = table.words
    for e in out.touched:
        w[_E * e + 1] &= ~I.RX_TOUCHED
    try:
        stale = _commit(table, out.touched)
        caller = _caller_frames(out) if out.deferred else []
        if stale:
            _redecide(table, out, stale)
        if caller:
            _decide(table, out, caller, title_of)
    except BaseException:
        # a store failed half way: the table no longer says what the stores
        # hold, so it forgets everything and reloads on the next batch
        table.forget()
        raise


def _commit(table: CounterTable, touched: Sequence[int]) -> set[int]:
    """Write every touched entry's new last counter to its store; the entries
    whose store had moved (or refuses) are returned for re-deciding."""
    w = table.words
    stale: set[int] = set()
    batches: dict[int, tuple[Any, list[str], list[int], list[int]]] = {}
    known = table.scopes
    for e in touched:
        k = _E * e
        store = table.context(e).counters
        # a touched entry was loaded, so its scope is known (a fixed peer title)
        scope = known[e] or table.scope(e)
        before = w[k + 2] if w[k + 3] & I.RX_KNOWN else None
        if store.last_accepted(scope) != before:
            stale.add(e)
            continue
        entry = batches.get(id(store))
        if entry is None:
            entry = batches[id(store)] = (store, [], [], [])
        entry[1].append(scope)
        entry[2].append(w[k])
        entry[3].append(e)
    for store, scopes, lasts, entries in batches.values():
        for e, accepted in zip(entries, store.accept_many(scopes, lasts, 0)):
            if not accepted:
                stale.add(e)
    return stale


def _caller_frames(out: Outcome) -> list[int]:
    flags = memoryview(out.words).cast("B").cast("I")[I.FLAGS :: I.WORDS]
    return [i for i, f in enumerate(flags) if f & I.F_DEFER_REPLAY]


def _entry(out: Outcome, i: int) -> int:
    return out.word(i, I.PEER) * I.KEY_SETS + out.word(i, I.KEY_SET)


def _redecide(table: CounterTable, out: Outcome, stale: set[int]) -> None:
    """The frames the backend accepted for entries whose store moved: fed to
    the store in frame order, as the single-frame path would have."""
    groups: dict[int, tuple[Any, list[int], list[str]]] = {}
    for i in range(out.n):
        flags = out.word(i, I.FLAGS)
        if out.status(i) or not flags & I.F_CIPHERED or flags & (I.F_DEFER_SECURITY | I.F_DEFER_REPLAY):
            continue
        e = _entry(out, i)
        if e in stale:
            store = table.context(e).counters
            g = groups.setdefault(id(store), (store, [], []))
            g[1].append(i)
            g[2].append(table.scope(e))
    for store, idx, scopes in groups.values():
        _feed(store, 0, out, idx, scopes)
    for e in stale:
        table.load(e)


def _decide(table: CounterTable, out: Outcome, frames: list[int], title_of: Callable[[int], bytes]) -> None:
    """The frames of entries the backend left: per store and window, in frame order."""
    groups: dict[tuple[int, int], tuple[Any, list[int], list[str]]] = {}
    entries = []
    for i in frames:
        e = _entry(out, i)
        entries.append(e)
        ctx = table.context(e)
        scope = table.scope(e, None if ctx.peer_system_title is not None else title_of(i))
        g = groups.setdefault((id(ctx.counters), ctx.replay_window), (ctx.counters, [], []))
        g[1].append(i)
        g[2].append(scope)
    for (_, window), (store, idx, scopes) in groups.items():
        _feed(store, window, out, idx, scopes)
    words = out.words
    state = table.state
    clear = ~I.F_DEFER_REPLAY & 0xFFFFFFFF
    for i, e in zip(frames, entries):
        words[i * I.WORDS + I.FLAGS] &= clear
        if state[e] == _LAZY:
            table.load(e)


def _feed(store: Any, window: int, out: Outcome, frames: list[int], scopes: list[str]) -> None:
    """One ``store.accept_many`` over the frames' counters, in order; the
    rejected frames fail with the highest counter accepted before them (what
    the single-frame path's ReplayError reports)."""
    last: dict[str, int | None] = {s: store.last_accepted(s) for s in dict.fromkeys(scopes)}
    ics = [out.word(i, I.IC) for i in frames]
    for i, scope, ic, accepted in zip(frames, scopes, ics, store.accept_many(scopes, ics, window)):
        high = last[scope]
        if accepted:
            if high is None or ic > high:
                last[scope] = ic
            continue
        out.fail(i, S.PIPE_REPLAY, I.SECURITY_LAYER, out.frame_offset(i, out.word(i, I.APDU)))
        out.words[i * I.WORDS + I.REPLAY_LAST] = I.NONE if high is None else high
