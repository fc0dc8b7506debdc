"""An invocation counter store in PostgreSQL, shared by every process of a
head-end, on any number of machines; and the PostgreSQL plumbing the
Registry's store shares (the pool, the versioned schema).

Sending reserves counters in blocks, as the SQLite store does, but the block
is taken by ONE statement: an upsert that moves the scope's ``reserved``
bound and returns the block's start (``INSERT ... ON CONFLICT DO UPDATE ...
RETURNING``).  The row lock of that statement makes concurrent reservations
of any number of processes disjoint, and the block is committed (durable
with the server's default ``synchronous_commit=on``) before its first
counter is handed out: a process killed at any point loses at most the
unused rest of its block, and nobody, that process restarted included, is
ever given a counter of it again.

Receiving locks the scopes' rows (``SELECT ... FOR UPDATE``, in scope order
so two processes never deadlock) and writes the new state in the same
transaction, so a counter accepted by one process is a replay for all.

Needs psycopg 3 and psycopg_pool: ``pip install 'dlmsmesh[postgres]'``.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import DlmsError, EncodeError
from .counters import (
    MAX_COUNTER,
    InvocationCounterStore,
    ReceiveState,
    advance,
    check_window,
    exhausted,
    take_reserved,
)

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

__all__ = [
    "PostgresCounterStore",
    "PostgresError",
    "COUNTER_SCHEMA_VERSION",
    "is_postgres_url",
    "open_pool",
    "migrate",
    "schema_version",
    "psycopg_modules",
    "redact",
]

#: counters reserved per statement (one commit per block of frames)
DEFAULT_BLOCK = 256


class PostgresError(DlmsError):
    """The database cannot be reached, read or written, or psycopg is missing."""


def is_postgres_url(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (``postgresql://`` or ``postgres://``)."""
    scheme, sep, _ = url.partition("://")
    return bool(sep) and scheme.lower() in ("postgresql", "postgres")


def psycopg_modules() -> tuple[Any, Any]:
    """(psycopg, psycopg_pool), or :class:`PostgresError` saying how to install them."""
    try:
        import psycopg
        import psycopg_pool
    except ImportError:
        raise PostgresError("PostgreSQL needs psycopg 3 and psycopg_pool: pip install 'dlmsmesh[postgres]'") from None
    return psycopg, psycopg_pool


def open_pool(url: str, *, size: int, timeout: float, name: str) -> ConnectionPool:
    """A pool of autocommit connections to ``url``, open (at least one
    connection made, or :class:`PostgresError` after ``timeout`` seconds);
    on each, a lock wait longer than ``timeout`` is an error."""
    psycopg, psycopg_pool = psycopg_modules()
    # one direct connection first: a refused connection, an unknown host or
    # a bad password is an error now, where the pool would retry them in the
    # background until the timeout
    try:
        psycopg.connect(url, connect_timeout=max(1, round(timeout))).close()
    except psycopg.Error as exc:
        raise PostgresError(f"{name}: cannot connect to {redact(url)}: {_first_line(exc)}") from None
    pool: ConnectionPool = psycopg_pool.ConnectionPool(
        url,
        min_size=1,
        max_size=max(1, size),
        kwargs={"autocommit": True},
        open=False,
        timeout=timeout,
        name=name,
        configure=functools.partial(_bound_lock_waits, milliseconds=max(1, round(timeout * 1000))),
    )
    try:
        pool.open(wait=True, timeout=timeout)
    except (psycopg.Error, psycopg_pool.PoolTimeout) as exc:
        pool.close(timeout=timeout)
        raise PostgresError(f"{name}: cannot connect to {redact(url)}: {_first_line(exc)}") from None
    return pool


def _bound_lock_waits(conn: psycopg.Connection[Any], *, milliseconds: int) -> None:
    # every lock wait of the session (the writers' advisory lock, a counter
    # row held by another process) ends in an error after the store's timeout
    conn.execute(f"SET lock_timeout = {int(milliseconds)}")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def redact(url: str) -> str:
    """``url`` without its password (error messages are logged)."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    auth, at, host = rest.partition("@")
    if not at or ":" not in auth:
        return url
    return f"{scheme}://{auth.split(':', 1)[0]}:***@{host}"


#: the advisory lock key of schema migrations (any process, any component)
_MIGRATION_LOCK = 0x646C6D73_00000001  # "dlms", 1

_SCHEMA_TABLE = """
CREATE TABLE IF NOT EXISTS dlmsmesh_schema (
    component   text PRIMARY KEY,           -- registry | counters
    version     integer NOT NULL,           -- migrations applied, in order
    migrated_at timestamptz NOT NULL DEFAULT now()
)
"""


def schema_version(conn: psycopg.Connection[Any], component: str) -> int:
    """The migrations of ``component`` the database has (0: none)."""
    row = (
        conn.execute("SELECT version FROM dlmsmesh_schema WHERE component = %s", (component,)).fetchone()
        if _has_schema_table(conn)
        else None
    )
    return 0 if row is None else int(row[0])


def _has_schema_table(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute("SELECT to_regclass('dlmsmesh_schema') IS NOT NULL").fetchone()
    return bool(row and row[0])


def migrate(
    conn: psycopg.Connection[Any], component: str, migrations: Sequence[str], *, upto: int | None = None
) -> int:
    """Bring ``component``'s tables to version ``len(migrations)`` (or
    ``upto``): apply the missing migrations in order, in ONE transaction,
    under an advisory lock so processes starting together migrate once.
    A database of a newer version is refused (:class:`PostgresError`), never
    misread.  Gives the version the database had before."""
    target = len(migrations) if upto is None else upto
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        conn.execute(_SCHEMA_TABLE)
        row = conn.execute("SELECT version FROM dlmsmesh_schema WHERE component = %s", (component,)).fetchone()
        before = 0 if row is None else int(row[0])
        if before > len(migrations):
            raise PostgresError(
                f"the {component} tables are schema version {before}, newer than this dlmsmesh reads"
                f" ({len(migrations)})"
            )
        for statement in migrations[before:target]:
            conn.execute(statement)  # our own constant SQL
        if target > before:
            conn.execute(
                "INSERT INTO dlmsmesh_schema (component, version) VALUES (%s, %s)"
                " ON CONFLICT (component) DO UPDATE SET version = excluded.version, migrated_at = now()",
                (component, target),
            )
    return before


# ---------------------------------------------------------------- the counter store

#: the counter tables' migrations, in order (never edit one: add another)
COUNTER_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE dlmsmesh_counters_tx (
        scope    text PRIMARY KEY,
        start    bigint NOT NULL,  -- the first counter of the last block handed out
        reserved bigint NOT NULL   -- every counter below this may have been used
    );
    CREATE TABLE dlmsmesh_counters_rx (
        scope text PRIMARY KEY,
        last  bigint NOT NULL,     -- highest accepted counter (-1: none yet)
        seen  bytea NOT NULL       -- reordering bitmap, little-endian, bit i = last - i
    );
    """,
)
COUNTER_SCHEMA_VERSION = len(COUNTER_MIGRATIONS)

# One statement takes a block: the row lock of the upsert orders concurrent
# reservations, and every expression of DO UPDATE reads the row as it was, so
# the returned start is exactly the old bound (or first_counter).
_RESERVE = f"""
INSERT INTO dlmsmesh_counters_tx AS t (scope, start, reserved)
VALUES (%(scope)s, %(first)s, least(%(first)s + %(n)s, {MAX_COUNTER + 1}))
ON CONFLICT (scope) DO UPDATE SET
    start = greatest(t.reserved, %(first)s),
    reserved = least(greatest(t.reserved, %(first)s) + %(n)s, {MAX_COUNTER + 1})
WHERE greatest(t.reserved, %(first)s) + %(count)s - 1 <= {MAX_COUNTER}
RETURNING start, reserved
"""


class PostgresCounterStore(InvocationCounterStore):
    """Counters in the PostgreSQL database ``url`` (``postgresql://...``),
    shared by every process that opens it.

    ``block`` counters are reserved per statement when sending;
    ``first_counter`` is where a new scope starts; ``timeout`` bounds every
    wait for a connection (seconds); ``pool_size`` caps the connections.
    """

    def __init__(
        self,
        url: str,
        *,
        block: int = DEFAULT_BLOCK,
        first_counter: int = 1,
        timeout: float = 30.0,
        pool_size: int = 2,
    ) -> None:
        if block < 1:
            raise EncodeError("block must be at least 1")
        if not 0 <= first_counter <= MAX_COUNTER:
            raise EncodeError("first_counter is a 32-bit counter")
        if not is_postgres_url(url):
            raise PostgresError(f"not a PostgreSQL URL: {url!r} (postgresql://...)")
        self.url = url
        self.block = block
        self._first = first_counter
        self._timeout = float(timeout)
        psycopg, _ = psycopg_modules()
        self._Error: type[Exception] = psycopg.Error
        self._lock = threading.Lock()
        # scope -> [next counter, end of the reserved block]
        self._blocks: dict[str, list[int]] = {}
        self._pool: ConnectionPool | None = open_pool(url, size=pool_size, timeout=timeout, name="counters")
        try:
            self._run(lambda conn: migrate(conn, "counters", COUNTER_MIGRATIONS))
        except BaseException:
            self.close()
            raise

    def _run(self, work: Callable[[psycopg.Connection[Any]], Any]) -> Any:
        pool = self._pool
        if pool is None:
            raise ValueError("the counter store was closed")
        try:
            with pool.connection(timeout=self._timeout) as conn:
                return work(conn)
        except self._Error as exc:  # psycopg's errors, the pool's timeout among them
            raise PostgresError(f"counters {redact(self.url)}: {exc}") from exc

    # -- sending -------------------------------------------------------------

    def reserve(self, scope: str, count: int = 1) -> int:
        if count < 1:
            raise EncodeError("reserve at least one counter")
        with self._lock:
            first = take_reserved(self._blocks, scope, count)
            if first is not None:
                return first
            if self._first + count - 1 > MAX_COUNTER:
                raise exhausted(count)
            params = {"scope": scope, "first": self._first, "n": max(self.block, count), "count": count}
            row = self._run(lambda conn: conn.execute(_RESERVE, params).fetchone())
            if row is None:  # the WHERE refused: the block would pass 2**32 - 1
                raise exhausted(count)
            start, end = int(row[0]), int(row[1])
            # committed: only now may the block's counters be used
            self._blocks[scope] = [start + count, end]
            return start

    def peek(self, scope: str) -> int:
        with self._lock:
            cached = self._blocks.get(scope)
            if cached is not None and cached[0] < cached[1]:
                return cached[0]
            row = self._run(
                lambda conn: conn.execute(
                    "SELECT reserved FROM dlmsmesh_counters_tx WHERE scope = %s", (scope,)
                ).fetchone()
            )
            return self._first if row is None else max(int(row[0]), self._first)

    # -- receiving -----------------------------------------------------------

    def accept_many(self, scopes: Sequence[str], counters: Sequence[int], window: int = 0) -> list[bool]:
        check_window(window)
        if not scopes:
            return []
        with self._lock:
            result: list[bool] = self._run(lambda conn: self._accept(conn, scopes, counters, window))
            return result

    def _accept(
        self, conn: psycopg.Connection[Any], scopes: Sequence[str], counters: Sequence[int], window: int
    ) -> list[bool]:
        names = sorted(set(scopes))
        out: list[bool] = []
        with conn.transaction():
            # a row for every scope first: FOR UPDATE locks rows, not their absence
            conn.execute(
                "INSERT INTO dlmsmesh_counters_rx (scope, last, seen)"
                " SELECT s, -1, '\\x00'::bytea FROM unnest(%s::text[]) AS s ORDER BY s"
                " ON CONFLICT (scope) DO NOTHING",
                (names,),
            )
            rows = conn.execute(
                "SELECT scope, last, seen FROM dlmsmesh_counters_rx WHERE scope = ANY(%s) ORDER BY scope FOR UPDATE",
                (names,),
            ).fetchall()
            states: dict[str, ReceiveState | None] = {
                r[0]: None if r[1] < 0 else (int(r[1]), int.from_bytes(r[2], "little")) for r in rows
            }
            changed: set[str] = set()
            for scope, ic in zip(scopes, counters):
                state = advance(states.get(scope), ic, window)
                if state is None:
                    out.append(False)
                    continue
                states[scope] = state
                changed.add(scope)
                out.append(True)
            if changed:
                order = sorted(changed)
                lasts = [states[s][0] for s in order]  # type: ignore[index]
                seens = [_bitmap(states[s][1]) for s in order]  # type: ignore[index]
                conn.execute(
                    "UPDATE dlmsmesh_counters_rx AS r SET last = u.last, seen = u.seen"
                    " FROM unnest(%s::text[], %s::bigint[], %s::bytea[]) AS u(scope, last, seen)"
                    " WHERE r.scope = u.scope",
                    (order, lasts, seens),
                )
        return out

    def last_accepted(self, scope: str) -> int | None:
        with self._lock:
            row = self._run(
                lambda conn: conn.execute("SELECT last FROM dlmsmesh_counters_rx WHERE scope = %s", (scope,)).fetchone()
            )
        return None if row is None or row[0] < 0 else int(row[0])

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self._blocks.clear()
        if pool is not None:
            pool.close(timeout=self._timeout)

    def __repr__(self) -> str:
        return f"PostgresCounterStore({redact(self.url)!r}, block={self.block})"


def _bitmap(seen: int) -> bytes:
    return seen.to_bytes((seen.bit_length() + 7) // 8 or 1, "little")
