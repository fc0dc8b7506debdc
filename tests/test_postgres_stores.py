"""What only the PostgreSQL stores have: every lock wait bounded by the
store's timeout, the LISTEN thread and the pool released on close, a lost
LISTEN connection made again, passwords kept out of messages."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
import pytest

from dlmsmesh.registration import Registration, Registry
from dlmsmesh.registration.postgres_store import PostgresStore
from dlmsmesh.registration.store import StoreError
from dlmsmesh.security import PostgresCounterStore
from dlmsmesh.security.postgres_store import PostgresError, redact

pytestmark = pytest.mark.single_backend

A = bytes.fromhex("4D4D4D0000BC614E")
WRITE_LOCK = 0x646C6D73_00000002


def reg(ic: int) -> Registration:
    return Registration(A, ("fd00::1",), 61616, 1, "registration", ic, None, 1.0, "fd00::1")


def test_a_write_waits_for_the_writers_lock_at_most_the_timeout(postgres_db: Callable[[str], str]) -> None:
    url = postgres_db("locked")
    with Registry.open(url, timeout=1.0) as registry, psycopg.connect(url) as other:
        other.execute("SELECT pg_advisory_lock(%s)", (WRITE_LOCK,))  # another writer, stuck
        started = time.monotonic()
        with pytest.raises(StoreError, match="lock timeout"):
            registry.record_many([reg(1)])
        assert time.monotonic() - started < 5
        other.execute("SELECT pg_advisory_unlock(%s)", (WRITE_LOCK,))
        assert [o.value for o in registry.record_many([reg(1)])] == ["recorded"]


def test_a_counter_row_held_elsewhere_is_waited_for_at_most_the_timeout(postgres_db: Callable[[str], str]) -> None:
    url = postgres_db("rows")
    with PostgresCounterStore(url, timeout=1.0) as store, psycopg.connect(url) as other:
        store.accept("rx:m", 5)
        other.execute("SELECT * FROM dlmsmesh_counters_rx WHERE scope = 'rx:m' FOR UPDATE")  # held, uncommitted
        started = time.monotonic()
        with pytest.raises(PostgresError, match="lock timeout"):
            store.accept("rx:m", 6)
        assert time.monotonic() - started < 5
        other.rollback()
        store.accept("rx:m", 6)
        assert store.last_accepted("rx:m") == 6


def test_close_stops_the_listen_thread_and_the_pool(postgres_db: Callable[[str], str]) -> None:
    url = postgres_db("close")
    before = {t.name for t in threading.enumerate()}
    store = PostgresStore(url)
    assert any(t.name == "dlmsmesh-registry-listen" for t in threading.enumerate())
    started = time.monotonic()
    store.close()
    store.close()  # idempotent
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 5
    while {t.name for t in threading.enumerate()} - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert {t.name for t in threading.enumerate()} - before == set()
    with pytest.raises(ValueError, match="closed"):
        store.get(A)


def test_a_lost_listen_connection_is_made_again_and_counts_as_a_change(postgres_db: Callable[[str], str]) -> None:
    url = postgres_db("relisten")
    with Registry.open(url) as registry, psycopg.connect(url, autocommit=True) as admin:
        store = registry.store
        version = store.version()
        killed = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'LISTEN%%' AND pid <> pg_backend_pid()"
        ).fetchall()
        assert killed == [(True,)]
        deadline = time.monotonic() + 10
        while store.version() == version and time.monotonic() < deadline:  # reconnected: it may have missed some
            time.sleep(0.01)
        assert store.version() > version
        # and it hears commits again
        version = store.version()
        with Registry.open(url) as other:
            other.record_many([reg(1)])
        deadline = time.monotonic() + 10
        while store.version() == version and time.monotonic() < deadline:
            time.sleep(0.01)
        assert store.version() > version


def test_passwords_stay_out_of_messages() -> None:
    assert redact("postgresql://app:s3cret@db:5432/x") == "postgresql://app:***@db:5432/x"
    assert redact("postgresql://app@db/x") == "postgresql://app@db/x"
    assert redact("/var/lib/registry.sqlite") == "/var/lib/registry.sqlite"
    with pytest.raises(StoreError) as caught:
        Registry.open("postgresql://app:s3cret@127.0.0.1:1/x", timeout=1)
    assert "s3cret" not in str(caught.value)


def test_without_psycopg_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg raises ImportError
    with pytest.raises(StoreError, match=r"pip install 'dlmsmesh\[postgres\]'"):
        Registry.open("postgresql://app@127.0.0.1:1/x")
    with pytest.raises(PostgresError, match=r"pip install 'dlmsmesh\[postgres\]'"):
        PostgresCounterStore("postgresql://app@127.0.0.1:1/x")
