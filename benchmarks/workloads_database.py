"""The head-end's databases: registrations recorded and invocation counters
reserved, on SQLite and on PostgreSQL (issue 17), the same operations through
the same interfaces.

Registrations: 10,000 new meters recorded by 10 ``Registry.record_many``
calls of 1,000 (one transaction each) into an empty registry; SQLite in a new
file (WAL, ``synchronous=FULL``), PostgreSQL in a database (emptied by
TRUNCATE before each op) of a local server started for the run (127.0.0.1, ``fsync=on``, ``synchronous_commit=on``: each
commit is on disk when it returns, as in production).

Counter reservations: 200 ``reserve`` calls with ``block=1``, so each is one
durable reservation (SQLite: one ``BEGIN IMMEDIATE`` transaction and fsync;
PostgreSQL: one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` commit).
With the default block of 256 a sender commits once per 256 frames; this
measures the commit itself.

The PostgreSQL rows carry the SQLite rate of the same operation as their
reference (compare.py's reference table gives PostgreSQL/SQLite).  Without a
PostgreSQL server binary (tests/postgres_support.py finds them) or psycopg,
the PostgreSQL rows have no implementation and print n/a.  No codec runs:
only the native cell is measured.  ``python benchmarks/workloads_database.py``
prints the four rates.
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable, Dict, List, Tuple

from bench_support import NATIVE, ReferencedWorkload, Workload
from dlmsmesh.registration import Outcome, Registration, Registry
from dlmsmesh.security import open_counter_store

REGISTRATIONS = 10_000
BATCH = 1_000
RESERVATIONS = 200
T0 = 1_728_995_400.0
SQLITE_RECORD = "database: 10,000 registrations recorded, batches of 1,000 (SQLite)"
POSTGRES_RECORD = "database: 10,000 registrations recorded, batches of 1,000 (PostgreSQL)"
SQLITE_RESERVE = "database: 200 counter reservations, one commit each (SQLite)"
POSTGRES_RESERVE = "database: 200 counter reservations, one commit each (PostgreSQL)"


def _registration(i: int) -> Registration:
    host = f"2001:db8:{i >> 16:x}:0:212:4b00:{(i >> 8) & 0xFF:x}:{i & 0xFF:x}"
    return Registration(b"MMM\x01" + i.to_bytes(4, "big"), (host,), 61616, 1, "registration", 16, 1, T0 + i, host)


# ---------------------------------------------------------------- where the databases are


@cache
def _directory() -> str:
    directory = tempfile.mkdtemp(prefix="dlmsmesh-bench-database-")
    atexit.register(shutil.rmtree, directory, True)
    return directory


def _support() -> Any:
    """tests/postgres_support.py (finds the binaries, starts a server), or
    None without psycopg."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
        from tests import postgres_support
    except ImportError:
        return None
    return postgres_support


def postgres_installed() -> bool:
    """Whether the PostgreSQL rows can run here: a server binary and psycopg
    (cheap: the server starts when a PostgreSQL row is first measured)."""
    support = _support()
    return support is not None and support.find_bin_dir() is not None


@cache
def _postgres() -> Any:
    """A durable local PostgreSQL server for the run."""
    support = _support()
    server = support.start_server(support.find_bin_dir(), durable=True)

    def stop() -> None:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)

    atexit.register(stop)
    return server


_fresh = iter(range(1 << 30))


def _location(kind: str, name: str) -> str:
    n = next(_fresh)
    if kind == "postgres":
        return str(_postgres().create_database(f"{name}{n}"))
    return os.path.join(_directory(), f"{name}{n}.sqlite")


def _dispose(kind: str, where: str) -> None:
    if kind == "postgres":
        _postgres().drop_database(where)
    else:
        for suffix in ("", "-wal", "-shm"):
            try:
                os.remove(where + suffix)
            except OSError:
                pass


# ---------------------------------------------------------------- the operations


@dataclass(frozen=True)
class RecordInput:
    kind: str
    batches: Tuple[Tuple[Registration, ...], ...]


def _record_input(kind: str) -> Callable[[], RecordInput]:
    def setup() -> RecordInput:
        items = [_registration(i) for i in range(REGISTRATIONS)]
        return RecordInput(kind, tuple(tuple(items[s : s + BATCH]) for s in range(0, REGISTRATIONS, BATCH)))

    return cache(setup)


@cache
def _record_database() -> str:
    return _location("postgres", "record")


def _empty_registry(kind: str) -> Tuple[str, Callable[[], None]]:
    """A registry with no binding: a new SQLite file, or the run's PostgreSQL
    database emptied (creating a database costs PostgreSQL a checkpoint, which
    is no part of recording registrations)."""
    if kind != "postgres":
        where = _location(kind, "record")
        return where, lambda: _dispose(kind, where)
    import psycopg

    where = _record_database()
    Registry.open(where).close()  # the tables, the first time
    with psycopg.connect(where, autocommit=True) as conn:
        conn.execute("TRUNCATE dlmsmesh_bindings, dlmsmesh_history RESTART IDENTITY")
    return where, lambda: None


def record(inp: RecordInput) -> Tuple[List[Outcome], float]:
    """Every batch into an empty registry; (the outcomes, seconds inside record_many)."""
    where, dispose = _empty_registry(inp.kind)
    try:
        with Registry.open(where) as registry:
            outcomes: List[Outcome] = []
            start = time.perf_counter()
            for batch in inp.batches:
                outcomes += registry.record_many(batch)
            return outcomes, time.perf_counter() - start
    finally:
        dispose()


def _check_records(inp: RecordInput, result: Any) -> None:
    assert len(result) == REGISTRATIONS and all(o is Outcome.RECORDED for o in result)


@dataclass(frozen=True)
class ReserveInput:
    kind: str  # one store (database) per kind for the run: _counters_at


def _reserve_input(kind: str) -> Callable[[], ReserveInput]:
    # the database is made when the op first runs: a row without an
    # implementation here (no PostgreSQL) never starts a server
    return cache(lambda: ReserveInput(kind))


@cache
def _counters_at(kind: str) -> str:
    return _location(kind, "counters")


@cache
def _counter_store(where: str) -> Any:
    store = open_counter_store(where, block=1)
    atexit.register(store.close)
    return store


def reserve(inp: ReserveInput) -> List[int]:
    store = _counter_store(_counters_at(inp.kind))
    return [store.reserve("tx:bench") for _ in range(RESERVATIONS)]


def _check_reserved(inp: ReserveInput, result: Any) -> None:
    assert len(result) == RESERVATIONS and result == list(range(result[0], result[0] + RESERVATIONS))


# ---------------------------------------------------------------- PostgreSQL against SQLite


def registrations_per_second(kind: str, rounds: int = 3) -> float:
    inp = _record_input(kind)()
    return REGISTRATIONS / min(record(inp)[1] for _ in range(rounds))


def reservations_per_second(kind: str, rounds: int = 3) -> float:
    inp = _reserve_input(kind)()
    reserve(inp)  # the connection, the schema
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        reserve(inp)
        best = min(best, time.perf_counter() - start)
    return RESERVATIONS / best


def _sqlite_reference(rate: Callable[[str], float]) -> Callable[[float | None], Dict[str, Any]]:
    def reference(cached: float | None) -> Dict[str, Any]:
        return {"items_per_s": rate("sqlite"), "name": "the same on SQLite", "source": "measured now, best of 3"}

    return reference


_POSTGRES = postgres_installed()

WORKLOADS: List[Workload] = [
    Workload(
        name=SQLITE_RECORD,
        description="10 Registry.record_many calls of 1,000 new meters into a new SQLite file (WAL, synchronous=FULL)",
        setup=_record_input("sqlite"),
        ops={NATIVE: lambda: lambda inp: record(inp)[0]},
        check=_check_records,
        suite="database",
    ),
    ReferencedWorkload(
        name=POSTGRES_RECORD,
        description="10 Registry.record_many calls of 1,000 new meters into an emptied PostgreSQL database (local "
        "server, fsync=on, synchronous_commit=on); reference: the same on SQLite",
        setup=_record_input("postgres"),
        ops={NATIVE: lambda: lambda inp: record(inp)[0]} if _POSTGRES else {},
        check=_check_records,
        suite="database",
        items_per_op=REGISTRATIONS,
        reference=_sqlite_reference(registrations_per_second),
    ),
    Workload(
        name=SQLITE_RESERVE,
        description="200 SqliteCounterStore.reserve calls, block=1: one durable transaction each",
        setup=_reserve_input("sqlite"),
        ops={NATIVE: lambda: reserve},
        check=_check_reserved,
        suite="database",
    ),
    ReferencedWorkload(
        name=POSTGRES_RESERVE,
        description="200 PostgresCounterStore.reserve calls, block=1: one INSERT ... ON CONFLICT DO UPDATE ... "
        "RETURNING commit each; reference: the same on SQLite",
        setup=_reserve_input("postgres"),
        ops={NATIVE: lambda: reserve} if _POSTGRES else {},
        check=_check_reserved,
        suite="database",
        items_per_op=RESERVATIONS,
        reference=_sqlite_reference(reservations_per_second),
    ),
]


def main() -> None:
    """Print the rates, PostgreSQL against SQLite."""
    kinds = ["sqlite", "postgres"] if _POSTGRES else ["sqlite"]
    for kind in kinds:
        print(f"{registrations_per_second(kind):12,.0f} registrations/s on {kind} (10 x record_many(1,000))")
        print(f"{reservations_per_second(kind):12,.0f} counter reservations/s on {kind} (block=1: one commit each)")
    if not _POSTGRES:
        print("PostgreSQL: no server binary or psycopg here; its rows are not measured")


if __name__ == "__main__":
    sys.exit(main())
