"""The Registry's SQLite store: one file, shared by the processes of one machine.

- WAL journal: readers never wait for the writer, and a lookup in one process
  runs while the listener of another records a storm.
- ``synchronous=FULL`` by default: a commit is on disk (the WAL fsynced) when
  :meth:`SqliteStore.apply` returns, so an acknowledged registration survives
  SIGKILL *and* power loss.  ``synchronous="normal"`` is allowed for a store
  that only needs to survive a process crash (the WAL then reaches the disk at
  checkpoints; the OS keeps what a killed process wrote).
- a busy timeout (default 10 s): several processes take turns writing
  instead of failing with "database is locked".
- every batch is ONE ``BEGIN IMMEDIATE`` transaction: the write lock is
  taken before the stored rows are read, so the outcomes computed from them
  cannot be invalidated by another process; the upsert repeats the ordering
  rules in its WHERE as well, and its row count must agree with the outcomes
  or the batch is rolled back.
- the schema is versioned (``PRAGMA user_version``); a file of a newer
  schema is refused rather than misread.

Two connections per store: one writes (under a lock), one reads (under
another), so a lookup never queues behind a batch being written.
"""

from __future__ import annotations

import functools
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from .model import Binding, Change, ChangeKind, Outcome, Registration, Status
from .store import ApplyByBatch, HistoryEntry, StoreError, decide, history_to_import

__all__ = ["SqliteStore", "SCHEMA_VERSION"]

#: the schema this code writes (``PRAGMA user_version`` of the file); 2
#: added ``memberships`` (a file of version 1 gains it when opened)
SCHEMA_VERSION = 2

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bindings (
    system_title   BLOB PRIMARY KEY,
    addresses      TEXT NOT NULL,     -- space separated, preferred first
    port           INTEGER NOT NULL,
    wport          INTEGER NOT NULL,
    status         TEXT NOT NULL,     -- registered | quarantined
    last_update    REAL NOT NULL,     -- unix time the binding's announcement was received
    ic             INTEGER,           -- invocation counter of that announcement
    seq            INTEGER,           -- its sequence number
    kind           TEXT NOT NULL,     -- registration | update
    previous       TEXT NOT NULL,     -- the addresses before the last move
    previous_until REAL,              -- until when they still match replies
    source         TEXT NOT NULL      -- the datagram's source host
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS history (
    id             INTEGER PRIMARY KEY,  -- the change's number: commit order
    at             REAL NOT NULL,
    change         TEXT NOT NULL,        -- recorded | updated | quarantined | admitted
    system_title   BLOB NOT NULL,
    addresses      TEXT NOT NULL,
    port           INTEGER NOT NULL,
    wport          INTEGER NOT NULL,
    status         TEXT NOT NULL,
    last_update    REAL NOT NULL,
    ic             INTEGER,
    seq            INTEGER,
    kind           TEXT NOT NULL,
    previous       TEXT NOT NULL,
    previous_until REAL,
    source         TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_title ON history (system_title, id);
CREATE TABLE IF NOT EXISTS memberships (
    group_id       INTEGER NOT NULL,  -- 1..65535 (multicast address ff0s::d1:GGGG)
    system_title   BLOB NOT NULL,
    PRIMARY KEY (group_id, system_title)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS memberships_by_title ON memberships (system_title, group_id);
"""

_COLS = "system_title, addresses, port, wport, status, last_update, ic, seq, kind, previous, previous_until, source"

# the ordering rules of store.decide, in SQL: the row is replaced only when
# they allow it, whatever the Python side computed
_ORDER = """
    NOT (excluded.ic IS NOT NULL AND bindings.ic IS NOT NULL AND excluded.ic <= bindings.ic)
    AND NOT (excluded.seq IS NOT NULL AND bindings.seq IS NOT NULL AND excluded.seq < bindings.seq)
    AND NOT ((excluded.ic IS NULL OR bindings.ic IS NULL)
             AND excluded.addresses = bindings.addresses AND excluded.port = bindings.port
             AND excluded.wport = bindings.wport AND excluded.kind = bindings.kind
             AND excluded.seq IS bindings.seq)
"""

_UPSERT = f"""
INSERT INTO bindings ({_COLS}) VALUES {{values}}
ON CONFLICT (system_title) DO UPDATE SET
    addresses = excluded.addresses, port = excluded.port, wport = excluded.wport,
    status = excluded.status, last_update = excluded.last_update, ic = excluded.ic,
    seq = excluded.seq, kind = excluded.kind, previous = excluded.previous,
    previous_until = excluded.previous_until, source = excluded.source
WHERE {{guard}}
"""
#: columns of a binding row (and a history row: two more, its time and change)
_BINDING_WIDTH = 12
_ONE_BINDING = "(" + ", ".join("?" * _BINDING_WIDTH) + ")"
_ONE_HISTORY = "(" + ", ".join("?" * 14) + ")"
_REGISTERED_GUARD = f"bindings.status = 'quarantined' OR ({_ORDER})"
_QUARANTINED_GUARD = f"bindings.status = 'quarantined' AND ({_ORDER})"
_UPSERT_REGISTERED = _UPSERT.format(values=_ONE_BINDING, guard=_REGISTERED_GUARD)
_UPSERT_QUARANTINED = _UPSERT.format(values=_ONE_BINDING, guard=_QUARANTINED_GUARD)
_INSERT_HISTORY = f"INSERT INTO history (at, change, {_COLS}) VALUES {_ONE_HISTORY}"
#: rows per multi-row statement of a batch's write: SQLite does a chunk's
#: B-tree work in one step, without the GIL, where executemany hands the GIL
#: back and forth at every row (and waits for it while the listener's loop
#: thread decodes the next batch)
_ROWS_PER_STATEMENT = 500


@functools.lru_cache(maxsize=16)
def _many_statement(kind: str, rows: int) -> str:
    """The statement writing ``rows`` rows at once: the upsert of either
    status, or the history insert."""
    if kind == "history":
        return f"INSERT INTO history (at, change, {_COLS}) VALUES " + ", ".join([_ONE_HISTORY] * rows)
    guard = _QUARANTINED_GUARD if kind == "quarantined" else _REGISTERED_GUARD
    return _UPSERT.format(values=", ".join([_ONE_BINDING] * rows), guard=guard)


def _rows_per_statement(db: sqlite3.Connection, width: int) -> int:
    try:
        variables = db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    except AttributeError:  # Python 3.10: no getlimit; 999 is the oldest SQLite's default
        variables = 999
    return max(1, min(_ROWS_PER_STATEMENT, variables // width))


def _execute_many_rows(db: sqlite3.Connection, kind: str, values: list[Any], width: int) -> int:
    """Write the rows of ``width`` columns laid end to end in ``values``
    with multi-row statements of ``kind``; the rows changed.  (One flat
    list, not a tuple per row: a batch's rows would outlive two garbage
    collections each, and a storm's would make the collector scan the
    whole heap every few batches.)"""
    per = _rows_per_statement(db, width)
    changed = 0
    step = per * width
    for start in range(0, len(values), step):
        chunk = values[start : start + step]
        cursor = db.execute(_many_statement(kind, len(chunk) // width), chunk)
        changed += cursor.rowcount
    return changed
_SELECT_BINDING = f"SELECT {_COLS} FROM bindings WHERE system_title = ?"
_HISTORY_COLS = f"id, at, change, {_COLS}"

#: titles per SELECT ... IN (...) (below every SQLite's variable limit)
_CHUNK = 500
_MAX_INT = (1 << 63) - 1


def _split(text: str) -> tuple[str, ...]:
    return tuple(text.split(" ")) if text else ()


class _Row:
    """A stored binding as a batch sees it: what the ordering rules and the
    previous-address rule read (a frozen dataclass per item costs a tenth of a batch)."""

    __slots__ = (
        "status", "addresses", "port", "wport", "kind", "invocation_counter", "sequence",
        "previous_addresses", "previous_until",
    )  # fmt: skip

    def __init__(
        self,
        status: Status,
        addresses: tuple[str, ...],
        port: int,
        wport: int,
        kind: str,
        invocation_counter: int | None,
        sequence: int | None,
        previous_addresses: tuple[str, ...],
        previous_until: float | None,
    ) -> None:
        self.status = status
        self.addresses = addresses
        self.port = port
        self.wport = wport
        self.kind = kind
        self.invocation_counter = invocation_counter
        self.sequence = sequence
        self.previous_addresses = previous_addresses
        self.previous_until = previous_until


class SqliteStore(ApplyByBatch):
    """A :class:`~dlmsmesh.registration.store.Store` in one SQLite file."""

    def __init__(
        self,
        path: str,
        *,
        grace: float = 600.0,
        synchronous: str = "full",
        busy_timeout: float = 10.0,
    ) -> None:
        self._Binding = Binding
        self._Change = Change
        self._ChangeKind = ChangeKind
        self._Outcome = Outcome
        self._status = {s.value: s for s in Status}
        self._quarantined = Status.QUARANTINED
        self._registered = Status.REGISTERED
        sync = synchronous.lower()
        if sync not in ("full", "normal", "extra"):
            raise ValueError(f"synchronous must be full, normal or extra, not {synchronous!r}")
        if grace < 0:
            raise ValueError("the grace period is never negative")
        self.path = path
        self.grace = float(grace)
        self._wlock = threading.Lock()
        self._rlock = threading.Lock()
        try:
            self._w = self._connect(path, sync, busy_timeout)
            self._w.execute("PRAGMA journal_mode=WAL")
            self._create_schema()
            self._r = self._connect(path, sync, busy_timeout)
            self._r.execute("PRAGMA query_only=1")
        except sqlite3.Error as exc:
            raise StoreError(f"registry {path}: {exc}") from None

    @staticmethod
    def _connect(path: str, sync: str, busy_timeout: float) -> sqlite3.Connection:
        db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None, check_same_thread=False)
        db.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        db.execute(f"PRAGMA synchronous={sync.upper()}")
        return db

    def _create_schema(self) -> None:
        db = self._w
        # IMMEDIATE: two processes opening a new file at once create it once
        db.execute("BEGIN IMMEDIATE")
        try:
            version = db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise StoreError(
                    f"registry {self.path}: schema version {version} is newer than this dlmsmesh reads ({SCHEMA_VERSION})"
                )
            if version < SCHEMA_VERSION:
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:
                db.execute("ROLLBACK")
            raise

    # ------------------------------------------------------------ rows

    def _binding(self, row: Sequence[Any]) -> Binding:
        return self._Binding(
            row[0],
            _split(row[1]),
            row[2],
            row[3],
            self._status[row[4]],
            row[5],
            row[6],
            row[7],
            row[8],
            _split(row[9]),
            row[10],
            row[11],
        )

    @staticmethod
    def _row(b: Binding) -> tuple[Any, ...]:
        return (
            b.system_title,
            " ".join(b.addresses),
            b.port,
            b.wport,
            b.status.value,
            b.last_update,
            b.invocation_counter,
            b.sequence,
            b.kind,
            " ".join(b.previous_addresses),
            b.previous_until,
            b.source,
        )

    def _entry(self, row: Sequence[Any]) -> HistoryEntry:
        return HistoryEntry(row[0], row[1], row[2], self._binding(row[3:]))

    # ------------------------------------------------------------ writing

    def _begin(self) -> sqlite3.Connection:
        db = self._w
        db.execute("BEGIN IMMEDIATE")
        return db

    def _finish(self, db: sqlite3.Connection, ok: bool) -> None:
        if ok:
            db.execute("COMMIT")
        elif db.in_transaction:
            db.execute("ROLLBACK")

    def _select_many(self, db: sqlite3.Connection, titles: list[bytes]) -> dict[bytes, _Row | tuple[Any, ...]]:
        found: dict[bytes, _Row | tuple[Any, ...]] = {}
        status = self._status
        for start in range(0, len(titles), _CHUNK):
            chunk = titles[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            query = (
                "SELECT system_title, status, addresses, port, wport, kind, ic, seq, previous, previous_until"
                f" FROM bindings WHERE system_title IN ({marks})"
            )
            for r in db.execute(query, chunk):
                found[r[0]] = _Row(status[r[1]], _split(r[2]), r[3], r[4], r[5], r[6], r[7], _split(r[8]), r[9])
        return found

    def apply_batch(
        self, records: Sequence[Registration], quarantined: Sequence[Registration]
    ) -> tuple[list[Outcome], list[Outcome], set[bytes]]:
        if not _check_all(records, quarantined):
            return [], [], set()
        changed: set[bytes] = set()
        with self._wlock:
            db = self._begin()
            ok = False
            try:
                titles = {item.system_title for item in records}
                titles.update(item.system_title for item in quarantined)
                state = self._select_many(db, list(titles))
                # the state is kept up to date only when a title comes twice
                repeats = len(titles) < len(records) + len(quarantined)
                recorded = self._write(db, state, records, False, changed, repeats)
                held = self._write(db, state, quarantined, True, changed, repeats)
                ok = True
            except sqlite3.Error as exc:
                raise StoreError(f"registry {self.path}: {exc}") from exc
            finally:
                self._finish(db, ok)
        return recorded, held, changed

    def _write(
        self,
        db: sqlite3.Connection,
        state: dict[bytes, _Row | tuple[Any, ...]],
        items: Sequence[Registration],
        quarantine: bool,
        changed: set[bytes],
        repeats: bool = True,
    ) -> list[Outcome]:
        """Judge ``items`` in order against ``state`` (updated as they are
        accepted when a title may come again: ``repeats``) and write the
        accepted ones: multi-row statements for the bindings and the
        history, inside the caller's transaction."""
        if not items:
            return []
        recorded = self._Outcome.QUARANTINED if quarantine else self._Outcome.RECORDED
        status = self._quarantined if quarantine else self._registered
        status_text = status.value
        grace = self.grace
        outcomes: list[Outcome] = []
        rows: list[Any] = []  # the bindings' columns, row after row
        history: list[Any] = []
        titles: list[bytes] = []
        first_change = "quarantined" if quarantine else "recorded"
        for item in items:
            title = item.system_title
            held = state.get(title)
            # a tuple: written earlier in this batch (the title repeats)
            old = _Row(*held) if isinstance(held, tuple) else held
            if old is None:
                # a title never seen is recorded whatever it carries (decide's first rule)
                outcomes.append(recorded)
                previous: tuple[str, ...] = ()
                until: float | None = None
                change = first_change
            else:
                outcome = decide(item, old, quarantine=quarantine)
                outcomes.append(outcome)
                if outcome is not recorded:
                    continue
                if old.addresses != item.addresses:
                    previous, until = old.addresses, item.received_at + grace
                else:
                    previous, until = old.previous_addresses, old.previous_until
                if quarantine:
                    change = "quarantined"
                else:
                    change = "recorded" if old.status is self._quarantined else "updated"
            if repeats:
                # what a later item of the same title is judged against, as
                # _Row's fields (a _Row is made only if one comes)
                state[title] = (status, item.addresses, item.port, item.wport, item.kind,
                                item.invocation_counter, item.sequence, previous, until)  # fmt: skip
            row = (title, " ".join(item.addresses), item.port, item.wport, status_text, item.received_at,
                   item.invocation_counter, item.sequence, item.kind, " ".join(previous), until,
                   item.source)  # fmt: skip
            rows.extend(row)
            history.append(item.received_at)
            history.append(change)
            history.extend(row)
            titles.append(title)
        if titles:
            written = _execute_many_rows(db, "quarantined" if quarantine else "registered", rows, _BINDING_WIDTH)
            if written != len(titles):
                raise StoreError(
                    f"the stored bindings changed under the batch ({written} of {len(titles)} rows"
                    " written): nothing recorded"
                )
            _execute_many_rows(db, "history", history, _BINDING_WIDTH + 2)
            changed.update(titles)
        return outcomes

    def admit(self, system_title: bytes, at: float) -> Binding:
        with self._wlock:
            db = self._begin()
            ok = False
            try:
                row = db.execute(_SELECT_BINDING, (system_title,)).fetchone()
                if row is None:
                    raise KeyError(system_title)
                old = self._binding(row)
                if old.status is self._registered:
                    ok = True
                    return old
                # the quarantined counter and sequence were never verified:
                # forgetting them lets the meter's next authenticated
                # announcement through whatever counter it carries
                new = self._Binding(old.system_title, old.addresses, old.port, old.wport, self._registered,
                                    old.last_update, None, None, old.kind, old.previous_addresses,
                                    old.previous_until, old.source)  # fmt: skip
                db.execute(
                    "UPDATE bindings SET status = 'registered', ic = NULL, seq = NULL WHERE system_title = ?",
                    (system_title,),
                )
                db.execute(_INSERT_HISTORY, (at, "admitted", *self._row(new)))
                ok = True
                return new
            except sqlite3.Error as exc:
                raise StoreError(f"registry {self.path}: {exc}") from exc
            finally:
                self._finish(db, ok)

    def import_rows(self, rows: Iterable[tuple[Binding, list[HistoryEntry]]]) -> tuple[int, set[bytes]]:
        applied = 0
        changed: set[bytes] = set()
        recorded = (self._Outcome.RECORDED, self._Outcome.QUARANTINED)
        with self._wlock:
            db = self._begin()
            ok = False
            try:
                for binding, entries in rows:
                    _check_binding(binding)
                    row = db.execute(_SELECT_BINDING, (binding.system_title,)).fetchone()
                    old = None if row is None else self._binding(row)
                    quarantine = binding.status is self._quarantined
                    if decide(binding, old, quarantine=quarantine) not in recorded:
                        continue
                    cursor = db.execute(_UPSERT_QUARANTINED if quarantine else _UPSERT_REGISTERED, self._row(binding))
                    if cursor.rowcount != 1:
                        raise StoreError("the stored bindings changed under the import: nothing imported")
                    have = {
                        (r[0], r[1], r[2])
                        for r in db.execute(
                            "SELECT at, change, ic FROM history WHERE system_title = ?", (binding.system_title,)
                        )
                    }
                    for entry in history_to_import(binding, entries, old, have):
                        db.execute(_INSERT_HISTORY, (entry.at, entry.change, *self._row(entry.binding)))
                    applied += 1
                    changed.add(binding.system_title)
                ok = True
            except sqlite3.Error as exc:
                raise StoreError(f"registry {self.path}: {exc}") from exc
            finally:
                self._finish(db, ok)
        return applied, changed

    # ------------------------------------------------------------ reading

    def get(self, system_title: bytes) -> Binding | None:
        with self._rlock:
            row = self._r.execute(_SELECT_BINDING, (system_title,)).fetchone()
        return None if row is None else self._binding(row)

    def bindings(self) -> list[Binding]:
        with self._rlock:
            rows = self._r.execute(f"SELECT {_COLS} FROM bindings ORDER BY system_title").fetchall()
        return [self._binding(r) for r in rows]

    def history(self, system_title: bytes) -> list[HistoryEntry]:
        with self._rlock:
            rows = self._r.execute(
                f"SELECT {_HISTORY_COLS} FROM history WHERE system_title = ? ORDER BY id", (system_title,)
            ).fetchall()
        return [self._entry(r) for r in rows]

    def version(self) -> int:
        with self._rlock:
            return int(self._r.execute("PRAGMA data_version").fetchone()[0])

    def last_change(self) -> int:
        with self._rlock:
            return int(self._r.execute("SELECT coalesce(max(id), 0) FROM history").fetchone()[0])

    def changes_since(self, after: int, limit: int) -> list[tuple[int, Change]]:
        with self._rlock:
            rows = self._r.execute(
                f"SELECT {_HISTORY_COLS} FROM history WHERE id > ? ORDER BY id LIMIT ?", (after, limit)
            ).fetchall()
        kinds = self._ChangeKind
        return [(r[0], self._Change(kinds(r[2]), r[3], self._binding(r[3:]), r[1])) for r in rows]

    def changed_titles_since(self, after: int) -> tuple[int, list[bytes]]:
        with self._rlock:
            rows = self._r.execute("SELECT id, system_title FROM history WHERE id > ? ORDER BY id", (after,)).fetchall()
        if not rows:
            return after, []
        return rows[-1][0], [r[1] for r in rows]

    def export_rows(self) -> Iterator[tuple[Binding, list[HistoryEntry]]]:
        with self._rlock:
            # one read transaction: the bindings and their history agree
            self._r.execute("BEGIN")
            try:
                bindings = self._r.execute(f"SELECT {_COLS} FROM bindings ORDER BY system_title").fetchall()
                history = self._r.execute(f"SELECT {_HISTORY_COLS} FROM history ORDER BY system_title, id").fetchall()
            finally:
                self._r.execute("COMMIT")
        i = 0
        for row in bindings:
            title = row[0]
            while i < len(history) and history[i][3] < title:
                i += 1
            entries = []
            while i < len(history) and history[i][3] == title:
                entries.append(self._entry(history[i]))
                i += 1
            yield self._binding(row), entries

    # ------------------------------------------------------------ group memberships

    def set_groups(self, system_title: bytes, group_ids: Iterable[int]) -> bool:
        """Make ``group_ids`` the meter's groups (one transaction); True when that changed them."""
        title = _member_title(system_title)
        wanted = {_group_id(g) for g in group_ids}
        with self._wlock:
            db = self._begin()
            ok = False
            try:
                held = {r[0] for r in db.execute("SELECT group_id FROM memberships WHERE system_title = ?", (title,))}
                gone, new = held - wanted, wanted - held
                db.executemany("DELETE FROM memberships WHERE group_id = ? AND system_title = ?",
                               [(g, title) for g in sorted(gone)])  # fmt: skip
                db.executemany("INSERT INTO memberships (group_id, system_title) VALUES (?, ?)",
                               [(g, title) for g in sorted(new)])  # fmt: skip
                ok = True
            except sqlite3.Error as exc:
                raise StoreError(f"registry {self.path}: {exc}") from exc
            finally:
                self._finish(db, ok)
        return bool(gone or new)

    def change_members(self, group_id: int, add: Iterable[bytes] = (), remove: Iterable[bytes] = ()) -> int:
        """Put ``add`` into the group and take ``remove`` out of it (one
        transaction); the number of memberships that changed."""
        group = _group_id(group_id)
        joining = sorted({_member_title(t) for t in add})
        leaving = sorted({_member_title(t) for t in remove})
        with self._wlock:
            db = self._begin()
            ok = False
            try:
                before = db.total_changes
                db.executemany("DELETE FROM memberships WHERE group_id = ? AND system_title = ?",
                               [(group, t) for t in leaving])  # fmt: skip
                db.executemany("INSERT OR IGNORE INTO memberships (group_id, system_title) VALUES (?, ?)",
                               [(group, t) for t in joining])  # fmt: skip
                changed = db.total_changes - before
                ok = True
            except sqlite3.Error as exc:
                raise StoreError(f"registry {self.path}: {exc}") from exc
            finally:
                self._finish(db, ok)
        return changed

    def members(self, group_id: int) -> set[bytes]:
        with self._rlock:
            rows = self._r.execute("SELECT system_title FROM memberships WHERE group_id = ?", (_group_id(group_id),))
            return {r[0] for r in rows}

    def groups_of(self, system_title: bytes) -> set[int]:
        with self._rlock:
            rows = self._r.execute("SELECT group_id FROM memberships WHERE system_title = ?",
                                   (_member_title(system_title),))  # fmt: skip
            return {r[0] for r in rows}

    def close(self) -> None:
        with self._wlock, self._rlock:
            for db in (getattr(self, "_w", None), getattr(self, "_r", None)):
                if db is not None:
                    db.close()


def _group_id(group_id: int) -> int:
    if isinstance(group_id, bool) or not isinstance(group_id, int) or not 1 <= group_id <= 0xFFFF:
        raise ValueError(f"a group id is 1..65535, not {group_id!r}")
    return group_id


def _member_title(system_title: bytes) -> bytes:
    title = bytes(system_title)
    if len(title) != 8:
        raise ValueError(f"a system title is 8 octets, not {len(title)}")
    return title


def _check(item: Registration | Binding) -> None:
    """Refuse a malformed item before the transaction starts (so a bad batch writes nothing)."""
    title = item.system_title
    if type(title) is not bytes or len(title) != 8:
        raise ValueError(f"a system title is 8 octets (bytes), not {title!r}")
    if not 0 <= item.port <= 0xFFFF or not 0 <= item.wport <= 0xFFFF:
        raise ValueError(f"port {item.port} / wport {item.wport} out of range")
    if item.kind not in ("registration", "update"):
        raise ValueError(f"kind is registration or update, not {item.kind!r}")
    for address in item.addresses:
        if not address or " " in address:
            raise ValueError(f"bad address {address!r}")
    for number in (item.invocation_counter, item.sequence):
        if number is not None and not 0 <= number <= _MAX_INT:
            raise ValueError(f"counter {number} out of range")


def _check_all(records: Sequence[Registration], quarantined: Sequence[Registration]) -> bool:
    """_check every item of a batch; False when the batch is empty."""
    for item in records:
        _check(item)
    for item in quarantined:
        _check(item)
    return bool(records or quarantined)


def _check_binding(b: Binding) -> None:
    _check(b)
