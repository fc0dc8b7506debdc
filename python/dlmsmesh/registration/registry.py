"""The Registry: system title -> where the meter is now, and what it said before.

A :class:`Registry` keeps, per system title, the current addresses, UDP
port, wPort, the last accepted registration (time, invocation counter,
sequence, kind, source), the status (registered or quarantined), the
addresses before the last move (for a grace period, spec note §4.5 rule 2)
and the history of every accepted change.  It is backed by a store chosen by
URL (:mod:`.store`; SQLite by default, one file shared by several processes)
and is the Client's :class:`~dlmsmesh.client.resolver.AddressResolver`.

Lookups are served from an in-process cache.  The cache forgets a title the
moment this process writes it, and learns what other processes wrote by
checking the store's version (SQLite ``PRAGMA data_version``) at most every
``staleness`` seconds (default 0.05 s) and then reading the titles changed
since from the change log: a binding another process wrote is seen by
:meth:`Registry.lookup` at most ``staleness`` seconds after its commit.
"""

from __future__ import annotations

import asyncio
import builtins
import os
import threading
import time
from collections.abc import AsyncIterator, Iterable, Sequence
from dataclasses import replace
from typing import IO, Any

from ..client.errors import NoAddress
from ..transport import Address
from ..transport.interface import normalize_host
from . import jsonl
from .model import Binding, Change, ChangeKind, Outcome, Registration, Status
from .store import Store, open_store

__all__ = [
    "Status",
    "Registration",
    "Binding",
    "Outcome",
    "ChangeKind",
    "Change",
    "Registry",
    "GRACE_PERIOD",
    "STALENESS",
    "POLL_INTERVAL",
    "open_registry",
]

#: how long a meter's previous addresses stay known after it moved (spec note §4.5 rule 2)
GRACE_PERIOD = 600.0
#: the most a lookup lags behind another process's commit, in seconds
STALENESS = 0.05
#: the most :meth:`Registry.watch` waits before looking for other processes' changes, in seconds
POLL_INTERVAL = 0.1
#: cached titles kept before the cache starts again (a bound on memory, not a tuning knob)
CACHE_LIMIT = 2_000_000
#: changes one watch query reads at most
_WATCH_BATCH = 1000


_MISS: Any = object()


def _title(system_title: bytes) -> bytes:
    title = bytes(system_title)
    if len(title) != 8:
        raise ValueError(f"a system title is 8 octets, not {len(title)}")
    return title


def _current(b: Binding) -> Binding:
    """``b`` without previous addresses whose grace period is over."""
    if b.previous_addresses and (b.previous_until is None or b.previous_until <= time.time()):
        return replace(b, previous_addresses=(), previous_until=None)
    return b


class Registry:
    """System title -> binding, backed by a store (SQLite by default).

    Thread-safe; the blocking methods (``record_many``, ``lookup`` on a cache
    miss, ``list``, ``export``...) have async forms or are called by the async
    ones in a worker thread, so nothing blocks an event loop but a cache hit.
    """

    def __init__(self, store: Store, *, staleness: float = STALENESS, poll: float = POLL_INTERVAL) -> None:
        if staleness < 0 or poll <= 0:
            raise ValueError("staleness is never negative and the poll interval is positive")
        self._store = store
        self._staleness = float(staleness)
        self._poll = float(poll)
        self._lock = threading.Lock()
        self._cache: dict[bytes, Binding | None] = {}
        # address -> (title, until when it matches: None for a current address)
        self._reverse: dict[Address, tuple[bytes, float | None]] | None = None
        self._reverse_keys: dict[bytes, builtins.list[Address]] = {}
        self._dirty: set[bytes] = set()
        self._version = store.version()
        self._seen = store.last_change()
        self._next_check = time.monotonic() + self._staleness
        self._watchers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._closed = False
        subscribe = getattr(store, "subscribe", None)
        if subscribe is not None:  # a store that hears other processes' commits (PostgreSQL)
            subscribe(self._wake_watchers)

    @classmethod
    def open(
        cls,
        where: str | os.PathLike[str] | None = None,
        *,
        grace: float = GRACE_PERIOD,
        staleness: float = STALENESS,
        poll: float = POLL_INTERVAL,
        synchronous: str = "full",
        busy_timeout: float = 10.0,
        timeout: float = 30.0,
        pool_size: int = 4,
    ) -> Registry:
        """Open (creating when needed) the registry at ``where``: a file path,
        ``sqlite:///path`` or ``postgresql://...``; none given,
        ``$DLMSMESH_DATABASE``, else ``registry.sqlite``.

        ``grace``: seconds the previous addresses stay known after a move;
        ``staleness``: the most a lookup lags behind another process's write;
        ``poll``: the most :meth:`watch` waits before looking for other
        processes' changes; ``synchronous``: ``"full"`` (on disk at return,
        survives power loss) or ``"normal"`` (survives a process crash only);
        ``busy_timeout``: seconds a write waits for another process's
        (SQLite); ``timeout``: seconds any call waits for a connection, the
        writers' lock or the server, and ``pool_size``: connections at most
        (PostgreSQL).  A bad location or an unreachable database is a
        :class:`~dlmsmesh.registration.store.StoreError`.
        """
        store = open_store(
            where,
            grace=grace,
            synchronous=synchronous,
            busy_timeout=busy_timeout,
            timeout=timeout,
            pool_size=pool_size,
        )
        try:
            return cls(store, staleness=staleness, poll=poll)
        except BaseException:
            store.close()
            raise

    @property
    def store(self) -> Store:
        return self._store

    # ------------------------------------------------------------ writing

    def record_many(self, items: Sequence[Registration]) -> list[Outcome]:
        """Record verified registrations and updates, in order, in ONE transaction;
        durable when it returns.  Per item: RECORDED, DUPLICATE or STALE."""
        self._check_open()
        outcomes, changed = self._store.apply(items, quarantine=False)
        self._changed(changed)
        return outcomes

    def quarantine_many(self, items: Sequence[Registration]) -> list[Outcome]:
        """Record announcements of titles without keys, for an operator to
        :meth:`admit`; never replaces a registered binding (STALE)."""
        self._check_open()
        outcomes, changed = self._store.apply(items, quarantine=True)
        self._changed(changed)
        return outcomes

    def record_batch(
        self, records: Sequence[Registration], quarantined: Sequence[Registration] = ()
    ) -> tuple[builtins.list[Outcome], builtins.list[Outcome]]:
        """:meth:`record_many` of ``records`` and :meth:`quarantine_many` of
        ``quarantined`` in ONE transaction (a listener's batch: both or
        neither, so a retry after a failure never finds half of it written);
        gives the outcomes of each."""
        self._check_open()
        recorded, held, changed = self._store.apply_batch(records, quarantined)
        self._changed(changed)
        return recorded, held

    async def arecord_batch(
        self, records: Sequence[Registration], quarantined: Sequence[Registration] = ()
    ) -> tuple[builtins.list[Outcome], builtins.list[Outcome]]:
        return await asyncio.to_thread(self.record_batch, records, quarantined)

    async def arecord_many(self, items: Sequence[Registration]) -> list[Outcome]:
        return await asyncio.to_thread(self.record_many, items)

    async def aquarantine_many(self, items: Sequence[Registration]) -> list[Outcome]:
        return await asyncio.to_thread(self.quarantine_many, items)

    def admit(self, system_title: bytes) -> None:
        """Make a quarantined title registered (its keys were added); a no-op
        when already registered, ``KeyError`` when unknown."""
        self._check_open()
        title = _title(system_title)
        self._store.admit(title, time.time())
        self._changed({title})

    async def aadmit(self, system_title: bytes) -> None:
        await asyncio.to_thread(self.admit, system_title)

    def _changed(self, titles: set[bytes]) -> None:
        if not titles:
            return
        with self._lock:
            cache = self._cache
            for title in titles:
                cache.pop(title, None)
            if self._reverse is not None:
                self._dirty.update(titles)
        self._wake_watchers()

    def _wake_watchers(self) -> None:
        # any thread: this process's writers, or a store's LISTEN thread
        for loop, event in list(self._watchers):
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:  # that watcher's loop is closed
                pass

    # ------------------------------------------------------------ reading

    def _refresh(self) -> None:
        """Forget what other processes changed (at most every ``staleness`` seconds)."""
        with self._lock:
            if time.monotonic() < self._next_check:
                return
            version = self._store.version()
            if version != self._version:
                self._version = version
                last, titles = self._store.changed_titles_since(self._seen)
                self._seen = last
                cache = self._cache
                for title in titles:
                    cache.pop(title, None)
                if self._reverse is not None:
                    self._dirty.update(titles)
            self._next_check = time.monotonic() + self._staleness

    def _fill(self, title: bytes) -> Binding | None:
        with self._lock:
            binding = self._store.get(title)
            if len(self._cache) >= CACHE_LIMIT:
                self._cache.clear()
            self._cache[title] = binding
        return binding

    def lookup(self, system_title: bytes) -> Binding | None:
        """The binding of ``system_title`` (``None`` when unknown), at most
        ``staleness`` seconds behind other processes, never behind this one."""
        if time.monotonic() >= self._next_check:
            self._check_open()
            self._refresh()
        try:
            binding = self._cache.get(system_title, _MISS)
        except TypeError:  # a bytearray: not hashable
            system_title = _title(system_title)
            binding = self._cache.get(system_title, _MISS)
        if binding is _MISS:
            self._check_open()
            binding = self._fill(_title(system_title))
        if binding is not None and binding.previous_addresses:
            return _current(binding)
        return binding  # type: ignore[no-any-return]

    async def alookup(self, system_title: bytes) -> Binding | None:
        """:meth:`lookup`, from the cache when it can, else in a worker thread."""
        if time.monotonic() < self._next_check and not self._closed:
            try:
                binding = self._cache.get(system_title, _MISS)
            except TypeError:
                binding = _MISS
            if binding is not _MISS:
                return binding if binding is None or not binding.previous_addresses else _current(binding)
        return await asyncio.to_thread(self.lookup, system_title)

    async def resolve(self, system_title: bytes) -> Address:
        """The Client's AddressResolver: the preferred (first) address and
        port of a registered meter; :class:`~dlmsmesh.client.errors.NoAddress`
        when the title is unknown, quarantined or has no address."""
        binding = await self.alookup(system_title)
        if binding is None or binding.status is not Status.REGISTERED or not binding.addresses:
            raise NoAddress(bytes(system_title))
        return Address(binding.addresses[0], binding.port)

    async def title_of(self, address: Address) -> bytes | None:
        """The registered meter at ``address`` (its current addresses, then
        its previous ones still in their grace period), or ``None``."""
        reverse = self._reverse
        if reverse is None or self._dirty or time.monotonic() >= self._next_check:
            reverse = await asyncio.to_thread(self._reverse_map)
        found = reverse.get(Address(normalize_host(address.host), address.port))
        if found is None or (found[1] is not None and found[1] <= time.time()):
            return None
        return found[0]

    def _reverse_map(self) -> dict[Address, tuple[bytes, float | None]]:
        # built on the first title_of, then mended title by title as changes
        # arrive: a listener writing all day costs it the changed titles only
        self._check_open()
        self._refresh()
        with self._lock:
            reverse = self._reverse
            if reverse is None or len(self._dirty) > max(1000, len(self._reverse_keys) // 4):
                reverse, self._reverse_keys = {}, {}
                for b in self._store.bindings():
                    self._reverse_add(reverse, b)
                self._reverse = reverse
            else:
                for title in self._dirty:
                    for key in self._reverse_keys.pop(title, ()):
                        if reverse.get(key, (None,))[0] == title:
                            del reverse[key]
                    binding = self._store.get(title)
                    if binding is not None:
                        self._reverse_add(reverse, binding)
            self._dirty.clear()
            return reverse

    def _reverse_add(self, reverse: dict[Address, tuple[bytes, float | None]], b: Binding) -> None:
        if b.status is not Status.REGISTERED:
            return
        title = b.system_title
        keys = self._reverse_keys.setdefault(title, [])
        if b.previous_until is not None:
            for host in b.previous_addresses:
                key = Address(normalize_host(host), b.port)
                held = reverse.get(key)
                if held is None or held[1] is not None:  # never over another meter's current address
                    reverse[key] = (title, b.previous_until)
                    keys.append(key)
        for host in b.addresses:
            key = Address(normalize_host(host), b.port)
            reverse[key] = (title, None)
            keys.append(key)

    def hops(self, system_title: bytes) -> int | None:
        """Hop counts are not announced (spec note §4.3): always ``None``."""
        return None

    def history(self, system_title: bytes) -> list[dict[str, Any]]:
        """Every accepted change of the title, oldest first (``[]`` when unknown)."""
        self._check_open()
        return [entry.as_dict() for entry in self._store.history(_title(system_title))]

    def list(self) -> list[Binding]:
        """Every binding, by system title."""
        self._check_open()
        return [_current(b) for b in self._store.bindings()]

    async def ahistory(self, system_title: bytes) -> builtins.list[dict[str, Any]]:
        return await asyncio.to_thread(self.history, system_title)

    async def alist(self) -> builtins.list[Binding]:
        return await asyncio.to_thread(self.list)

    # ------------------------------------------------------------ group memberships

    def set_groups(self, system_title: bytes, group_ids: Iterable[int]) -> bool:
        """Record that the meter is a member of exactly ``group_ids`` (what the
        head-end wrote into its IPv6 setup); True when that changed anything.
        Memberships are kept beside the bindings, not in their change log:
        a meter need not be registered to be put in a group."""
        self._check_open()
        return self._store.set_groups(_title(system_title), builtins.list(group_ids))

    def add_members(self, group_id: int, system_titles: Iterable[bytes]) -> int:
        """Put meters into group ``group_id``; the number that were not members yet."""
        self._check_open()
        return self._store.change_members(group_id, add=[_title(t) for t in system_titles])

    def remove_members(self, group_id: int, system_titles: Iterable[bytes]) -> int:
        """Take meters out of group ``group_id``; the number that were members."""
        self._check_open()
        return self._store.change_members(group_id, remove=[_title(t) for t in system_titles])

    def members(self, group_id: int) -> set[bytes]:
        """The system titles known to be members of group ``group_id`` (what a
        group request's summary expects to answer)."""
        self._check_open()
        return self._store.members(group_id)

    def groups_of(self, system_title: bytes) -> set[int]:
        """The groups the meter is known to be a member of."""
        self._check_open()
        return self._store.groups_of(_title(system_title))

    async def amembers(self, group_id: int) -> set[bytes]:
        return await asyncio.to_thread(self.members, group_id)

    # ------------------------------------------------------------ JSON Lines

    def export(self, fp: IO[str]) -> int:
        """Write every binding with its history to ``fp``, one JSON line each
        (docs/registry.md); gives the number of lines."""
        self._check_open()
        return jsonl.write(self._store.export_rows(), fp)

    def import_(self, fp: IO[str]) -> int:
        """Read JSON Lines written by :meth:`export` and apply them by the
        ordering rules, in ONE transaction (a bad line imports nothing);
        gives the number of bindings applied."""
        self._check_open()
        rows = list(jsonl.read(fp))
        applied, changed = self._store.import_rows(rows)
        self._changed(changed)
        return applied

    # ------------------------------------------------------------ watching

    async def watch(self, *, since: int | None = None) -> AsyncIterator[Change]:
        """The changes committed after the call (or after change number
        ``since``), in commit order, from this process and others, until the
        registry closes or the caller stops iterating.  This process's
        writes arrive at once; others' within the poll interval (SQLite) or
        as soon as their commit is notified (PostgreSQL's LISTEN/NOTIFY)."""
        self._check_open()
        loop = asyncio.get_running_loop()
        wake = asyncio.Event()
        waiter = (loop, wake)
        self._watchers.add(waiter)
        try:
            last = await asyncio.to_thread(self._store.last_change) if since is None else since
            version = -1
            while not self._closed:
                wake.clear()
                try:
                    version, rows = await asyncio.to_thread(self._poll_changes, last, version)
                except Exception:
                    if self._closed:
                        return
                    raise
                for number, change in rows:
                    last = number
                    yield change
                if len(rows) == _WATCH_BATCH:
                    version = -1  # more to read
                    continue
                if self._closed:
                    return
                try:
                    await asyncio.wait_for(wake.wait(), self._poll)
                except asyncio.TimeoutError:
                    pass
                else:
                    version = -1  # this process wrote: read even if the version looks the same
        finally:
            self._watchers.discard(waiter)

    def _poll_changes(self, last: int, seen_version: int) -> tuple[int, builtins.list[tuple[int, Change]]]:
        if self._closed:
            return seen_version, []
        version = self._store.version()
        if version == seen_version:
            return version, []
        return version, self._store.changes_since(last, _WATCH_BATCH)

    # ------------------------------------------------------------ lifetime

    def _check_open(self) -> None:
        if self._closed:
            raise ValueError("the registry is closed")

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Close the store; every :meth:`watch` iterator ends.  Idempotent."""
        if self._closed:
            return
        self._closed = True
        for loop, event in list(self._watchers):
            try:
                loop.call_soon_threadsafe(event.set)
            except RuntimeError:
                pass
        self._store.close()

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> Registry:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.close()


def open_registry(where: str | os.PathLike[str] | None = None, **options: Any) -> Registry:
    """:meth:`Registry.open`: the registry at a SQLite path, ``sqlite:///PATH``
    or ``postgresql://...`` URL (none given: ``$DLMSMESH_DATABASE``, else
    ``registry.sqlite``)."""
    return Registry.open(where, **options)
