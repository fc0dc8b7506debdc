"""An invocation counter store in SQLite that survives crashes.

Sending reserves counters in blocks: the block's upper bound is committed
(WAL journal, ``synchronous=FULL``, so the commit is on disk when it returns)
before the first counter of the block is handed out, and the rest of the
block is served from memory.  A crash at any point loses at most the unused
rest of a block; the next run starts after it, never inside it.  Counters are
therefore unique per scope across restarts, and increasing as long as one
process at a time sends under a scope (several processes sharing a file get
disjoint blocks: still unique, but interleaved).

Receiving reads and writes the accepted state inside one immediate
transaction per call, so several processes may share the file, and the state
is on disk before the caller releases the plaintext.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from ..errors import EncodeError
from .counters import (
    MAX_COUNTER,
    InvocationCounterStore,
    ReceiveState,
    advance,
    check_window,
    exhausted,
    take_reserved,
)

__all__ = ["SqliteCounterStore", "default_path", "DEFAULT_BLOCK"]

#: counters reserved per commit (one fsync per block of frames)
DEFAULT_BLOCK = 256

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tx (
    scope TEXT PRIMARY KEY,
    reserved INTEGER NOT NULL  -- every counter below this may have been used
);
CREATE TABLE IF NOT EXISTS rx (
    scope TEXT PRIMARY KEY,
    last INTEGER NOT NULL,     -- highest accepted counter
    seen BLOB NOT NULL         -- reordering bitmap, little-endian, bit i = last - i
);
"""


def default_path() -> str:
    """``$DLMSMESH_COUNTER_DB``, else ``$XDG_DATA_HOME/dlmsmesh/counters.sqlite3``
    (``~/.local/share`` when XDG_DATA_HOME is not set)."""
    env = os.environ.get("DLMSMESH_COUNTER_DB")
    if env:
        return env
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "dlmsmesh", "counters.sqlite3")


class SqliteCounterStore(InvocationCounterStore):
    """Counters in the SQLite file ``path`` (default :func:`default_path`).

    ``block`` counters are reserved per commit when sending; ``first_counter``
    is where a new scope starts (1: a receiver that starts from 0 and
    rejects counters not above it still accepts the first frame).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        block: int = DEFAULT_BLOCK,
        first_counter: int = 1,
        timeout: float = 30.0,
    ) -> None:
        if block < 1:
            raise EncodeError("block must be at least 1")
        if not 0 <= first_counter <= MAX_COUNTER:
            raise EncodeError("first_counter is a 32-bit counter")
        self.path = os.fspath(path) if path is not None else default_path()
        directory = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(directory, exist_ok=True)
        self.block = block
        self._first = first_counter
        self._lock = threading.Lock()
        # autocommit mode: transactions are explicit (BEGIN IMMEDIATE ... COMMIT)
        self._db: sqlite3.Connection | None = sqlite3.connect(
            self.path, timeout=timeout, isolation_level=None, check_same_thread=False
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: every commit fsyncs the WAL, so a reserved block is on disk
        # before its counters are used (NORMAL could lose it on power loss)
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        # scope -> [next counter, end of the reserved block]
        self._blocks: dict[str, list[int]] = {}

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise ValueError("the counter store was closed")
        return self._db

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    # -- sending -------------------------------------------------------------

    def reserve(self, scope: str, count: int = 1) -> int:
        if count < 1:
            raise EncodeError("reserve at least one counter")
        with self._lock:
            first = take_reserved(self._blocks, scope, count)
            if first is not None:
                return first
            with self._transaction() as db:
                row = db.execute("SELECT reserved FROM tx WHERE scope = ?", (scope,)).fetchone()
                start = self._first if row is None else max(int(row[0]), self._first)
                if start + count - 1 > MAX_COUNTER:
                    raise exhausted(count)
                end = min(start + max(self.block, count), MAX_COUNTER + 1)
                db.execute(
                    "INSERT INTO tx (scope, reserved) VALUES (?, ?) "
                    "ON CONFLICT(scope) DO UPDATE SET reserved = excluded.reserved",
                    (scope, end),
                )
            # committed (and synced): only now may the block's counters be used
            self._blocks[scope] = [start + count, end]
            return start

    def peek(self, scope: str) -> int:
        with self._lock:
            cached = self._blocks.get(scope)
            if cached is not None and cached[0] < cached[1]:
                return cached[0]
            row = self.db.execute("SELECT reserved FROM tx WHERE scope = ?", (scope,)).fetchone()
            return self._first if row is None else max(int(row[0]), self._first)

    # -- receiving -----------------------------------------------------------

    def accept_many(self, scopes: Sequence[str], counters: Sequence[int], window: int = 0) -> list[bool]:
        check_window(window)
        out: list[bool] = []
        if not scopes:
            return out
        with self._lock, self._transaction() as db:
            states: dict[str, ReceiveState | None] = {}
            changed: set[str] = set()
            for scope, ic in zip(scopes, counters):
                if scope not in states:
                    row = db.execute("SELECT last, seen FROM rx WHERE scope = ?", (scope,)).fetchone()
                    states[scope] = None if row is None else (int(row[0]), int.from_bytes(row[1], "little"))
                state = advance(states[scope], ic, window)
                if state is None:
                    out.append(False)
                    continue
                states[scope] = state
                changed.add(scope)
                out.append(True)
            for scope in changed:
                last, seen = states[scope]  # type: ignore[misc]
                db.execute(
                    "INSERT INTO rx (scope, last, seen) VALUES (?, ?, ?) "
                    "ON CONFLICT(scope) DO UPDATE SET last = excluded.last, seen = excluded.seen",
                    (scope, last, seen.to_bytes((seen.bit_length() + 7) // 8 or 1, "little")),
                )
        return out

    def last_accepted(self, scope: str) -> int | None:
        with self._lock:
            row = self.db.execute("SELECT last FROM rx WHERE scope = ?", (scope,)).fetchone()
        return None if row is None else int(row[0])

    def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
                self._blocks.clear()

    def __repr__(self) -> str:
        return f"SqliteCounterStore({self.path!r}, block={self.block})"
