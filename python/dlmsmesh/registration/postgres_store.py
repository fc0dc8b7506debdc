"""The Registry's PostgreSQL store: one database shared by every process of a
head-end, on any number of machines.

- a pool of connections (psycopg_pool); every wait for one is bounded
  (``timeout``), and every method is blocking, called by the Registry from a
  worker thread when on an event loop, as the SQLite store's are;
- every write is ONE transaction that first takes a transaction-level
  advisory lock (the writers' lock, as SQLite's ``BEGIN IMMEDIATE``): the
  stored rows a batch is judged against cannot change under it, and the
  change log's numbers (``bigserial``) are handed out in commit order, which
  is what lets a reader resume from "the changes above N" without missing
  one committed late;
- the schema is versioned (table ``dlmsmesh_schema``) and migrated by the
  library, in order, when a store opens; a database of a newer version is
  refused rather than misread;
- every commit that adds to the change log notifies channel
  ``dlmsmesh_registry`` (a statement trigger); one thread per store LISTENs
  to it, so :meth:`PostgresStore.version` is a local number that changes
  when anyone committed, and :meth:`~dlmsmesh.Registry.watch` wakes at
  once for another process's change instead of polling.

Table names start with ``dlmsmesh_``: the counter store
(:mod:`dlmsmesh.security.postgres_store`) may share the database.
"""

from __future__ import annotations

import os
import select
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ..security.postgres_store import PostgresError, is_postgres_url, migrate, open_pool, psycopg_modules, redact
from .model import Binding, Change, ChangeKind, Outcome, Registration, Status
from .sqlite_store import _check_all, _check_binding, _group_id, _member_title, _Row, _split
from .store import ApplyByBatch, HistoryEntry, StoreError, decide, history_to_import

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = ["PostgresStore", "SCHEMA_VERSION", "MIGRATIONS", "CHANNEL"]

#: the channel every commit of a change notifies
CHANNEL = "dlmsmesh_registry"

_COLUMNS = """
    system_title   bytea {key},
    addresses      text NOT NULL,     -- space separated, preferred first
    port           integer NOT NULL,
    wport          integer NOT NULL,
    status         text NOT NULL,     -- registered | quarantined
    last_update    double precision NOT NULL,
    ic             bigint,
    seq            bigint,
    kind           text NOT NULL,     -- registration | update
    previous       text NOT NULL,
    previous_until double precision,
    source         text NOT NULL
"""

#: the registry tables' migrations, in order (never edit one: add another);
#: 1 the bindings and their change log, 2 the group memberships
MIGRATIONS: tuple[str, ...] = (
    f"""
    CREATE TABLE dlmsmesh_bindings ({_COLUMNS.format(key="PRIMARY KEY")});
    CREATE TABLE dlmsmesh_history (
        id     bigserial PRIMARY KEY,     -- the change's number: commit order (writers' lock)
        at     double precision NOT NULL,
        change text NOT NULL,             -- recorded | updated | quarantined | admitted
        {_COLUMNS.format(key="NOT NULL")}
    );
    CREATE INDEX dlmsmesh_history_by_title ON dlmsmesh_history (system_title, id);
    CREATE FUNCTION dlmsmesh_history_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('{CHANNEL}', '');
        RETURN NULL;
    END $$;
    CREATE TRIGGER dlmsmesh_history_notify AFTER INSERT ON dlmsmesh_history
        FOR EACH STATEMENT EXECUTE FUNCTION dlmsmesh_history_notify();
    """,
    """
    CREATE TABLE dlmsmesh_memberships (
        group_id     integer NOT NULL,   -- 1..65535 (multicast address ff0s::d1:GGGG)
        system_title bytea NOT NULL,
        PRIMARY KEY (group_id, system_title)
    );
    CREATE INDEX dlmsmesh_memberships_by_title ON dlmsmesh_memberships (system_title, group_id);
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

#: the advisory lock key every registry write takes ("dlms", 2)
_WRITE_LOCK = 0x646C6D73_00000002

_COLS = "system_title, addresses, port, wport, status, last_update, ic, seq, kind, previous, previous_until, source"
_HISTORY_COLS = f"id, at, change, {_COLS}"
_TYPES = "bytea[], text[], integer[], integer[], text[], float8[], bigint[], bigint[], text[], text[], float8[], text[]"
# %b: the columns travel as binary arrays (the text form quotes element by
# element in Python: most of a batch's time)
_UNNEST = "unnest(" + ", ".join(f"%b::{t.strip()}" for t in _TYPES.split(",")) + ")"
_SET = """
    addresses = excluded.addresses, port = excluded.port, wport = excluded.wport,
    status = excluded.status, last_update = excluded.last_update, ic = excluded.ic,
    seq = excluded.seq, kind = excluded.kind, previous = excluded.previous,
    previous_until = excluded.previous_until, source = excluded.source
"""
# the batch's rows are judged in Python under the writers' lock, so nothing
# changed them since they were read: the upsert writes what was decided
_UPSERT_MANY = (
    f"INSERT INTO dlmsmesh_bindings ({_COLS}) SELECT * FROM {_UNNEST} ON CONFLICT (system_title) DO UPDATE SET {_SET}"
)
_UPSERT_ONE = (
    f"INSERT INTO dlmsmesh_bindings ({_COLS}) VALUES ({', '.join(['%s'] * 12)})"
    f" ON CONFLICT (system_title) DO UPDATE SET {_SET}"
)
# WITH ORDINALITY ... ORDER BY: the change numbers follow the batch's order
_HISTORY_MANY = (
    f"INSERT INTO dlmsmesh_history (at, change, {_COLS})"
    f" SELECT at, change, {_COLS} FROM unnest(%b::float8[], %b::text[], "
    + ", ".join(f"%b::{t.strip()}" for t in _TYPES.split(","))
    + f") WITH ORDINALITY AS u(at, change, {_COLS}, n) ORDER BY n"
)
_HISTORY_ONE = f"INSERT INTO dlmsmesh_history (at, change, {_COLS}) VALUES ({', '.join(['%s'] * 14)})"
_SELECT_BINDING = f"SELECT {_COLS} FROM dlmsmesh_bindings WHERE system_title = %s"


class PostgresStore(ApplyByBatch):
    """A :class:`~dlmsmesh.registration.store.Store` in a PostgreSQL database.

    ``url``: ``postgresql://user:password@host:port/database`` (any libpq
    URL); ``grace``: seconds previous addresses stay known after a move;
    ``timeout``: the most any call waits for a connection, the writers'
    lock or the server (seconds); ``pool_size``: connections at most.
    """

    def __init__(self, url: str, *, grace: float = 600.0, timeout: float = 30.0, pool_size: int = 4) -> None:
        if not is_postgres_url(url):
            raise StoreError(f"not a PostgreSQL URL: {url!r} (postgresql://...)")
        if grace < 0:
            raise ValueError("the grace period is never negative")
        if timeout <= 0:
            raise ValueError("the timeout is positive")
        self.url = url
        self.grace = float(grace)
        self._timeout = float(timeout)
        self._status = {s.value: s for s in Status}
        self._version = 0
        self._version_lock = threading.Lock()
        self._subscribers: list[Callable[[], None]] = []
        self._stop = threading.Event()
        self._listening = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        self._thread: threading.Thread | None = None
        self._pool: ConnectionPool | None = None
        try:
            self._psycopg, _ = psycopg_modules()
            self._pool = open_pool(url, size=pool_size, timeout=timeout, name="registry")
            self._run(lambda conn: migrate(conn, "registry", MIGRATIONS))
            # LISTEN before anyone reads the change log: a commit between the
            # two would otherwise be noticed by nobody
            self._thread = threading.Thread(target=self._listen, name="dlmsmesh-registry-listen", daemon=True)
            self._thread.start()
            if not self._listening.wait(timeout):
                raise StoreError(f"registry {redact(url)}: LISTEN not established in {timeout} s")
        except PostgresError as exc:
            self.close()
            raise StoreError(str(exc)) from None
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------ plumbing

    def _run(self, work: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        pool = self._pool
        if pool is None:
            raise ValueError("the registry store is closed")
        try:
            with pool.connection(timeout=self._timeout) as conn:
                return work(conn)
        except self._psycopg.Error as exc:
            raise StoreError(f"registry {redact(self.url)}: {exc}") from exc

    def _write(self, work: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        """``work`` in ONE transaction holding the writers' lock (waited for
        at most ``timeout``: the pool's connections bound every lock wait)."""

        def locked(conn: psycopg.Connection[Any]) -> Any:
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_WRITE_LOCK,))
                return work(conn)

        return self._run(locked)

    def _listen(self) -> None:
        """The LISTEN thread: bump the version at every notification (and at
        every reconnection, which may have missed some) until closed."""
        psycopg = self._psycopg
        while not self._stop.is_set():
            try:
                conn = psycopg.connect(self.url, autocommit=True, connect_timeout=max(1, int(self._timeout)))
            except psycopg.Error:
                self._stop.wait(1.0)
                continue
            try:
                conn.execute(f"LISTEN {CHANNEL}")
                self._bump()
                self._listening.set()
                fd = conn.fileno()
                pgconn = conn.pgconn
                while not self._stop.is_set():
                    ready, _, _ = select.select([fd, self._wake_r], [], [], 5.0)
                    if fd in ready:
                        pgconn.consume_input()
                        heard = False
                        while pgconn.notifies() is not None:
                            heard = True
                        if heard:
                            self._bump()
            except (psycopg.Error, OSError, ValueError):
                if not self._stop.is_set():
                    self._stop.wait(0.2)
            finally:
                conn.close()

    def _bump(self) -> None:
        with self._version_lock:
            self._version += 1
            subscribers = list(self._subscribers)
        for call in subscribers:
            call()

    def subscribe(self, call: Callable[[], None]) -> None:
        """Call ``call()`` (from the LISTEN thread; it must not block) after
        any process committed a change."""
        with self._version_lock:
            self._subscribers.append(call)

    # ------------------------------------------------------------ rows

    def _binding(self, row: Sequence[Any]) -> Binding:
        return Binding(
            bytes(row[0]), _split(row[1]), row[2], row[3], self._status[row[4]], row[5], row[6], row[7], row[8],
            _split(row[9]), row[10], row[11],
        )  # fmt: skip

    @staticmethod
    def _row(b: Binding) -> tuple[Any, ...]:
        return (b.system_title, " ".join(b.addresses), b.port, b.wport, b.status.value, b.last_update,
                b.invocation_counter, b.sequence, b.kind, " ".join(b.previous_addresses), b.previous_until,
                b.source)  # fmt: skip

    def _entry(self, row: Sequence[Any]) -> HistoryEntry:
        return HistoryEntry(row[0], row[1], row[2], self._binding(row[3:]))

    # ------------------------------------------------------------ writing

    def apply_batch(
        self, records: Sequence[Registration], quarantined: Sequence[Registration]
    ) -> tuple[list[Outcome], list[Outcome], set[bytes]]:
        if not _check_all(records, quarantined):
            return [], [], set()

        def work(conn: psycopg.Connection[Any]) -> tuple[list[Outcome], list[Outcome], set[bytes]]:
            titles = list({item.system_title for item in records} | {item.system_title for item in quarantined})
            state: dict[bytes, _Row] = {}
            status = self._status
            query = (
                "SELECT system_title, status, addresses, port, wport, kind, ic, seq, previous, previous_until"
                " FROM dlmsmesh_bindings WHERE system_title = ANY(%b)"
            )
            for r in conn.execute(query, (titles,)):
                state[bytes(r[0])] = _Row(status[r[1]], _split(r[2]), r[3], r[4], r[5], r[6], r[7], _split(r[8]), r[9])
            rows: dict[bytes, tuple[Any, ...]] = {}
            history: list[tuple[Any, ...]] = []
            recorded = self._judge(state, records, False, rows, history)
            held = self._judge(state, quarantined, True, rows, history)
            if rows:
                columns = [list(c) for c in zip(*rows.values())]
                cursor = conn.execute(_UPSERT_MANY, columns)
                if cursor.rowcount != len(rows):
                    raise StoreError(
                        f"the stored bindings changed under the batch ({cursor.rowcount} of {len(rows)} rows"
                        " written): nothing recorded"
                    )
                conn.execute(_HISTORY_MANY, [list(c) for c in zip(*history)])
            return recorded, held, set(rows)

        result: tuple[list[Outcome], list[Outcome], set[bytes]] = self._write(work)
        return result

    def _judge(
        self,
        state: dict[bytes, _Row],
        items: Sequence[Registration],
        quarantine: bool,
        rows: dict[bytes, tuple[Any, ...]],
        history: list[tuple[Any, ...]],
    ) -> list[Outcome]:
        """The ordering rules of :func:`decide` for ``items`` in order against
        ``state`` (updated as they are accepted); the rows to write (the last
        of a title's) and the change log's entries (every one)."""
        done = Outcome.QUARANTINED if quarantine else Outcome.RECORDED
        status = Status.QUARANTINED if quarantine else Status.REGISTERED
        outcomes: list[Outcome] = []
        for item in items:
            title = item.system_title
            old = state.get(title)
            previous: tuple[str, ...] = ()
            until: float | None = None
            if old is None:
                outcomes.append(done)
                change = "quarantined" if quarantine else "recorded"
            else:
                outcome = decide(item, old, quarantine=quarantine)
                outcomes.append(outcome)
                if outcome is not done:
                    continue
                if old.addresses != item.addresses:
                    previous, until = old.addresses, item.received_at + self.grace
                else:
                    previous, until = old.previous_addresses, old.previous_until
                if quarantine:
                    change = "quarantined"
                else:
                    change = "recorded" if old.status is Status.QUARANTINED else "updated"
            state[title] = _Row(status, item.addresses, item.port, item.wport, item.kind,
                                item.invocation_counter, item.sequence, previous, until)  # fmt: skip
            row = (title, " ".join(item.addresses), item.port, item.wport, status.value, item.received_at,
                   item.invocation_counter, item.sequence, item.kind, " ".join(previous), until,
                   item.source)  # fmt: skip
            rows[title] = row
            history.append((item.received_at, change, *row))
        return outcomes

    def admit(self, system_title: bytes, at: float) -> Binding:
        def work(conn: psycopg.Connection[Any]) -> Binding:
            row = conn.execute(_SELECT_BINDING, (system_title,)).fetchone()
            if row is None:
                raise KeyError(system_title)
            old = self._binding(row)
            if old.status is Status.REGISTERED:
                return old
            # the quarantined counter and sequence were never verified (as in the SQLite store)
            new = Binding(old.system_title, old.addresses, old.port, old.wport, Status.REGISTERED,
                          old.last_update, None, None, old.kind, old.previous_addresses,
                          old.previous_until, old.source)  # fmt: skip
            conn.execute(
                "UPDATE dlmsmesh_bindings SET status = 'registered', ic = NULL, seq = NULL WHERE system_title = %s",
                (system_title,),
            )
            conn.execute(_HISTORY_ONE, (at, "admitted", *self._row(new)))
            return new

        binding: Binding = self._write(work)
        return binding

    def import_rows(self, rows: Iterable[tuple[Binding, list[HistoryEntry]]]) -> tuple[int, set[bytes]]:
        items = list(rows)
        for binding, _ in items:
            _check_binding(binding)

        def work(conn: psycopg.Connection[Any]) -> tuple[int, set[bytes]]:
            applied = 0
            changed: set[bytes] = set()
            for binding, entries in items:
                row = conn.execute(_SELECT_BINDING, (binding.system_title,)).fetchone()
                old = None if row is None else self._binding(row)
                quarantine = binding.status is Status.QUARANTINED
                if decide(binding, old, quarantine=quarantine) not in (Outcome.RECORDED, Outcome.QUARANTINED):
                    continue
                conn.execute(_UPSERT_ONE, self._row(binding))
                have = {
                    (r[0], r[1], r[2])
                    for r in conn.execute(
                        "SELECT at, change, ic FROM dlmsmesh_history WHERE system_title = %s", (binding.system_title,)
                    )
                }
                for entry in history_to_import(binding, entries, old, have):
                    conn.execute(_HISTORY_ONE, (entry.at, entry.change, *self._row(entry.binding)))
                applied += 1
                changed.add(binding.system_title)
            return applied, changed

        result: tuple[int, set[bytes]] = self._write(work)
        return result

    # ------------------------------------------------------------ reading

    def get(self, system_title: bytes) -> Binding | None:
        row = self._run(lambda conn: conn.execute(_SELECT_BINDING, (system_title,)).fetchone())
        return None if row is None else self._binding(row)

    def bindings(self) -> list[Binding]:
        rows = self._run(
            lambda conn: conn.execute(f"SELECT {_COLS} FROM dlmsmesh_bindings ORDER BY system_title").fetchall()
        )
        return [self._binding(r) for r in rows]

    def history(self, system_title: bytes) -> list[HistoryEntry]:
        rows = self._run(
            lambda conn: conn.execute(
                f"SELECT {_HISTORY_COLS} FROM dlmsmesh_history WHERE system_title = %s ORDER BY id", (system_title,)
            ).fetchall()
        )
        return [self._entry(r) for r in rows]

    def version(self) -> int:
        with self._version_lock:
            return self._version

    def last_change(self) -> int:
        row = self._run(lambda conn: conn.execute("SELECT coalesce(max(id), 0) FROM dlmsmesh_history").fetchone())
        return int(row[0])

    def changes_since(self, after: int, limit: int) -> list[tuple[int, Change]]:
        rows = self._run(
            lambda conn: conn.execute(
                f"SELECT {_HISTORY_COLS} FROM dlmsmesh_history WHERE id > %s ORDER BY id LIMIT %s", (after, limit)
            ).fetchall()
        )
        return [(r[0], Change(ChangeKind(r[2]), bytes(r[3]), self._binding(r[3:]), r[1])) for r in rows]

    def changed_titles_since(self, after: int) -> tuple[int, list[bytes]]:
        rows = self._run(
            lambda conn: conn.execute(
                "SELECT id, system_title FROM dlmsmesh_history WHERE id > %s ORDER BY id", (after,)
            ).fetchall()
        )
        if not rows:
            return after, []
        return int(rows[-1][0]), [bytes(r[1]) for r in rows]

    def export_rows(self) -> Iterator[tuple[Binding, list[HistoryEntry]]]:
        def read(conn: psycopg.Connection[Any]) -> tuple[list[Any], list[Any]]:
            # one snapshot: the bindings and their history agree
            conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            try:
                bindings = conn.execute(f"SELECT {_COLS} FROM dlmsmesh_bindings ORDER BY system_title").fetchall()
                history = conn.execute(
                    f"SELECT {_HISTORY_COLS} FROM dlmsmesh_history ORDER BY system_title, id"
                ).fetchall()
            finally:
                conn.execute("COMMIT")
            return bindings, history

        bindings, history = self._run(read)
        i = 0
        for row in bindings:
            title = bytes(row[0])
            while i < len(history) and bytes(history[i][3]) < title:
                i += 1
            entries = []
            while i < len(history) and bytes(history[i][3]) == title:
                entries.append(self._entry(history[i]))
                i += 1
            yield self._binding(row), entries

    # ------------------------------------------------------------ group memberships

    def set_groups(self, system_title: bytes, group_ids: Iterable[int]) -> bool:
        title = _member_title(system_title)
        wanted = {_group_id(g) for g in group_ids}

        def work(conn: psycopg.Connection[Any]) -> bool:
            held = {
                r[0]
                for r in conn.execute("SELECT group_id FROM dlmsmesh_memberships WHERE system_title = %s", (title,))
            }
            gone, new = sorted(held - wanted), sorted(wanted - held)
            if gone:
                conn.execute(
                    "DELETE FROM dlmsmesh_memberships WHERE system_title = %s AND group_id = ANY(%s)", (title, gone)
                )
            if new:
                conn.execute(
                    "INSERT INTO dlmsmesh_memberships (group_id, system_title)"
                    " SELECT g, %s FROM unnest(%s::integer[]) AS g",
                    (title, new),
                )
            return bool(gone or new)

        changed: bool = self._write(work)
        return changed

    def change_members(self, group_id: int, add: Iterable[bytes] = (), remove: Iterable[bytes] = ()) -> int:
        group = _group_id(group_id)
        joining = sorted({_member_title(t) for t in add})
        leaving = sorted({_member_title(t) for t in remove})

        def work(conn: psycopg.Connection[Any]) -> int:
            changed = 0
            if leaving:
                changed += conn.execute(
                    "DELETE FROM dlmsmesh_memberships WHERE group_id = %s AND system_title = ANY(%s)",
                    (group, leaving),
                ).rowcount
            if joining:
                changed += conn.execute(
                    "INSERT INTO dlmsmesh_memberships (group_id, system_title)"
                    " SELECT %s, t FROM unnest(%s::bytea[]) AS t ON CONFLICT DO NOTHING",
                    (group, joining),
                ).rowcount
            return changed

        count: int = self._write(work)
        return count

    def members(self, group_id: int) -> set[bytes]:
        group = _group_id(group_id)
        rows = self._run(
            lambda conn: conn.execute(
                "SELECT system_title FROM dlmsmesh_memberships WHERE group_id = %s", (group,)
            ).fetchall()
        )
        return {bytes(r[0]) for r in rows}

    def groups_of(self, system_title: bytes) -> set[int]:
        title = _member_title(system_title)
        rows = self._run(
            lambda conn: conn.execute(
                "SELECT group_id FROM dlmsmesh_memberships WHERE system_title = %s", (title,)
            ).fetchall()
        )
        return {int(r[0]) for r in rows}

    # ------------------------------------------------------------ lifetime

    def close(self) -> None:
        """Stop the LISTEN thread (joined, bounded) and close the pool.  Idempotent."""
        self._stop.set()
        try:
            os.write(self._wake_w, b"x")
        except OSError:
            pass
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(self._timeout)
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.close(timeout=self._timeout)
        for fd in (self._wake_r, self._wake_w):
            try:
                os.close(fd)
            except OSError:
                pass
        self._wake_r = self._wake_w = -1

    def __repr__(self) -> str:
        return f"PostgresStore({redact(self.url)!r})"
