"""Invocation counter stores: unique increasing counters for sending
(reserved in persisted blocks, resumed after a restart, an error at 2**32),
replay rejection with an optional reordering window for receiving."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlmsmesh.errors import DlmsError, EncodeError, ReplayError, SecurityError
from dlmsmesh.security import (
    InvocationCounterStore,
    MemoryCounterStore,
    PostgresCounterStore,
    SqliteCounterStore,
    open_counter_store,
)
from dlmsmesh.security.counters import MAX_WINDOW, advance
from dlmsmesh.security.sqlite_store import default_path

from .postgres_support import Databases


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: object) -> Iterator[InvocationCounterStore]:
    if request.param == "memory":
        made: InvocationCounterStore = MemoryCounterStore()
    elif request.param == "sqlite":
        made = SqliteCounterStore(os.path.join(str(tmp_path), "c.sqlite3"), block=4)
    else:
        made = PostgresCounterStore(request.getfixturevalue("postgres_db")("c"), block=4)
    yield made
    made.close()


def test_reserve_gives_fresh_increasing_counters(store: InvocationCounterStore) -> None:
    got = [store.reserve("tx:a") for _ in range(10)]
    assert got == list(range(1, 11))
    first = store.reserve("tx:a", 100)
    # the SQLite store may skip the unused rest of a block: never back
    assert first >= 11 and store.peek("tx:a") == first + 100
    assert store.reserve("tx:b") == 1  # scopes are independent
    with pytest.raises(EncodeError):
        store.reserve("tx:a", 0)


def test_reserve_is_thread_safe(store: InvocationCounterStore) -> None:
    out: list[int] = []
    lock = threading.Lock()

    def work() -> None:
        mine = [store.reserve("tx:t") for _ in range(200)]
        with lock:
            out.extend(mine)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(out) == list(range(1, 801))


def test_exhaustion(db: Databases) -> None:
    for store in (
        MemoryCounterStore(first_counter=0xFFFFFFFD),
        open_counter_store(db("x"), first_counter=0xFFFFFFFD, block=1000),
    ):
        assert store.reserve("s", 2) == 0xFFFFFFFD
        with pytest.raises(SecurityError, match="exhausted"):
            store.reserve("s", 2)
        assert store.reserve("s") == 0xFFFFFFFF
        with pytest.raises(SecurityError, match="exhausted"):
            store.reserve("s")


def test_accept_strict(store: InvocationCounterStore) -> None:
    store.accept("rx:m", 5)
    assert store.last_accepted("rx:m") == 5
    for replay in (5, 4, 0):
        with pytest.raises(ReplayError) as caught:
            store.accept("rx:m", replay)
        assert caught.value.expected == 6  # type: ignore[attr-defined]
    store.accept("rx:m", 6)
    store.accept("rx:m", 0xFFFFFFFF)
    with pytest.raises(ReplayError):
        store.accept("rx:m", 0xFFFFFFFF)
    assert store.last_accepted("rx:other") is None
    assert store.accept_many(["rx:n", "rx:n", "rx:n", "rx:o"], [3, 3, 4, 1]) == [True, False, True, True]


def test_accept_window(store: InvocationCounterStore) -> None:
    ok = store.accept_many(["r"] * 8, [10, 8, 9, 8, 7, 12, 9, 11], window=3)
    # 8 and 9 late but within 3 of 10; 8 again is a replay; 7 is 3 below 10: ok;
    # after 12, 9 is 3 below (seen already); 11 is new
    assert ok == [True, True, True, False, True, True, False, True]
    assert store.last_accepted("r") == 12
    with pytest.raises(EncodeError):
        store.accept("r", 13, window=MAX_WINDOW + 1)


class _Model:
    """The obvious reference: the set of accepted counters."""

    def __init__(self, window: int) -> None:
        self.window = window
        self.accepted: set[int] = set()

    def accept(self, ic: int) -> bool:
        top = max(self.accepted, default=-1)
        if ic in self.accepted or (self.accepted and ic < top - self.window) or (not self.window and ic <= top):
            return False
        self.accepted.add(ic)
        return True


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 70), st.lists(st.integers(0, 300), max_size=60))
def test_window_matches_a_set_model(window: int, counters: list[int]) -> None:
    model = _Model(window)
    state = None
    for ic in counters:
        new = advance(state, ic, window)
        assert (new is not None) == model.accept(ic), (window, ic, state)
        state = new if new is not None else state


def test_restart_resumes_after_the_reserved_block(db: Databases) -> None:
    path = db("c")
    a = open_counter_store(path, block=10)
    assert [a.reserve("s") for _ in range(3)] == [1, 2, 3]
    a.accept("r", 41)
    a.close()  # or a crash: the rest of the block is never handed out
    b = open_counter_store(path, block=10)
    assert b.reserve("s") == 11
    assert b.last_accepted("r") == 41
    with pytest.raises(ReplayError):
        b.accept("r", 41)
    # two live stores on one file get disjoint blocks
    c = open_counter_store(path, block=10)
    assert c.reserve("s") == 21
    assert b.reserve("s") == 12
    b.close()
    c.close()
    with pytest.raises(ValueError, match="closed"):
        c.reserve("s")


def test_sqlite_file_settings(tmp_path: object) -> None:
    path = os.path.join(str(tmp_path), "deep", "dir", "c.sqlite3")
    store = SqliteCounterStore(path)
    assert os.path.exists(path)
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert store.db.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert "SqliteCounterStore" in repr(store)
    store.close()


def test_default_path(monkeypatch: pytest.MonkeyPatch, tmp_path: object) -> None:
    monkeypatch.setenv("DLMSMESH_COUNTER_DB", os.path.join(str(tmp_path), "env.sqlite3"))
    assert default_path() == os.path.join(str(tmp_path), "env.sqlite3")
    store = SqliteCounterStore()
    assert store.path == default_path()
    store.close()
    monkeypatch.delenv("DLMSMESH_COUNTER_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert default_path() == os.path.join(str(tmp_path), "dlmsmesh", "counters.sqlite3")


def test_urls_and_the_environment_choose_the_counter_store(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch, postgres_db: Callable[[str], str]
) -> None:
    base = str(tmp_path)
    for where in (os.path.join(base, "plain.sqlite3"), f"sqlite:///{base}/url.sqlite3"):
        with open_counter_store(where) as store:
            assert isinstance(store, SqliteCounterStore) and store.path.startswith(base)
            assert store.reserve("s") == 1
    url = postgres_db("env")
    monkeypatch.setenv("DLMSMESH_DATABASE", url)
    with open_counter_store() as store:
        assert isinstance(store, PostgresCounterStore) and store.reserve("s") == 1
    monkeypatch.setenv("DLMSMESH_DATABASE", "")
    monkeypatch.setenv("DLMSMESH_COUNTER_DB", os.path.join(base, "default.sqlite3"))
    with open_counter_store() as store:
        assert isinstance(store, SqliteCounterStore) and store.path == os.path.join(base, "default.sqlite3")
    with pytest.raises(DlmsError, match="unknown counter store 'mysql'"):
        open_counter_store("mysql://db/x")
    with pytest.raises(DlmsError, match="cannot connect to postgresql://u:\\*\\*\\*@127.0.0.1:1/x"):
        open_counter_store("postgresql://u:secret@127.0.0.1:1/x", timeout=2)


def test_postgres_reservations_are_one_statement_and_the_schema_is_versioned(postgres_db: Callable[[str], str]) -> None:
    """Two stores on one database (two processes, as far as the database can
    tell) get disjoint blocks; the row holds the last block's bounds."""
    import psycopg

    url = postgres_db("two")
    with PostgresCounterStore(url, block=100) as a, PostgresCounterStore(url, block=100) as b:
        assert a.reserve("s") == 1 and b.reserve("s") == 101 and a.reserve("s", 150) == 201
        assert b.reserve("s") == 102  # from its own block
        assert "PostgresCounterStore" in repr(a) and a.peek("s") == 351
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT start, reserved FROM dlmsmesh_counters_tx").fetchall() == [(201, 351)]
        assert conn.execute("SELECT version FROM dlmsmesh_schema WHERE component = 'counters'").fetchone() == (1,)
