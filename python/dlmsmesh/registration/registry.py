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
import enum
import os
import threading
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, replace
from typing import IO, Any

from ..client.errors import NoAddress
from ..transport import Address
from ..transport.interface import normalize_host
from . import jsonl
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


class Status(str, enum.Enum):
    """Whether the head-end has the keys of a title."""

    REGISTERED = "registered"
    QUARANTINED = "quarantined"  # no keys for this system title: recorded for an operator to admit


@dataclass(frozen=True)
class Registration:
    """What the listener hands the registry, one per accepted frame."""

    system_title: bytes
    addresses: tuple[str, ...]
    port: int
    wport: int
    kind: str  # "registration" | "update"
    invocation_counter: int | None  # of the ciphered frame (None: plain / quarantined)
    sequence: int | None
    received_at: float  # unix time
    source: str  # the datagram's source host (IPv6 text)


@dataclass(frozen=True)
class Binding:
    """What :meth:`Registry.lookup` gives."""

    system_title: bytes
    addresses: tuple[str, ...]
    port: int
    wport: int
    status: Status
    last_update: float
    invocation_counter: int | None
    sequence: int | None
    kind: str
    previous_addresses: tuple[str, ...]  # kept for a grace period (spec note §4.5 rule 2)
    previous_until: float | None = None  # the end of that grace period (unix time)
    source: str = ""  # the source host of the announcement recorded


class Outcome(str, enum.Enum):
    """What recording one item did (:func:`dlmsmesh.registration.store.decide`)."""

    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    STALE = "stale"
    QUARANTINED = "quarantined"


class ChangeKind(str, enum.Enum):
    """What a change (a history entry, an item of :meth:`Registry.watch`) was."""

    RECORDED = "recorded"  # a title seen for the first time
    UPDATED = "updated"  # a known title's binding changed
    QUARANTINED = "quarantined"
    ADMITTED = "admitted"


@dataclass(frozen=True)
class Change:
    """One change :meth:`Registry.watch` yields."""

    kind: ChangeKind
    system_title: bytes
    binding: Binding | None
    at: float


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
        self._reverse: dict[Address, bytes] | None = None
        self._version = store.version()
        self._seen = store.last_change()
        self._next_check = time.monotonic() + self._staleness
        self._watchers: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        self._closed = False

    @classmethod
    def open(
        cls,
        where: str | os.PathLike[str] = "registry.sqlite",
        *,
        grace: float = GRACE_PERIOD,
        staleness: float = STALENESS,
        poll: float = POLL_INTERVAL,
        synchronous: str = "full",
        busy_timeout: float = 10.0,
    ) -> Registry:
        """Open (creating when needed) the registry at ``where``: a file path or ``sqlite:///path``.

        ``grace``: seconds the previous addresses stay known after a move;
        ``staleness``: the most a lookup lags behind another process's write;
        ``poll``: the most :meth:`watch` waits before looking for other
        processes' changes; ``synchronous``: ``"full"`` (on disk at return,
        survives power loss) or ``"normal"`` (survives a process crash only);
        ``busy_timeout``: seconds a write waits for another process's.
        A ``postgresql://`` URL raises :class:`~dlmsmesh.registration.store.StoreError` (a later issue).
        """
        store = open_store(where, grace=grace, synchronous=synchronous, busy_timeout=busy_timeout)
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
            self._reverse = None
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
                if titles:
                    self._reverse = None
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
        if reverse is None or time.monotonic() >= self._next_check:
            reverse = await asyncio.to_thread(self._reverse_map)
        return reverse.get(Address(normalize_host(address.host), address.port))

    def _reverse_map(self) -> dict[Address, bytes]:
        # plain replies are rare (a ciphered one names its title): a map
        # rebuilt after a change costs less than an index kept on every write
        self._check_open()
        self._refresh()
        with self._lock:
            if self._reverse is not None:
                return self._reverse
            reverse: dict[Address, bytes] = {}
            now = time.time()
            bindings = [b for b in self._store.bindings() if b.status is Status.REGISTERED]
            for b in bindings:
                if b.previous_until is not None and b.previous_until > now:
                    for host in b.previous_addresses:
                        reverse[Address(normalize_host(host), b.port)] = b.system_title
            for b in bindings:  # current addresses win over anyone's previous ones
                for host in b.addresses:
                    reverse[Address(normalize_host(host), b.port)] = b.system_title
            self._reverse = reverse
            return reverse

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
        writes arrive at once; others' within the poll interval."""
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
