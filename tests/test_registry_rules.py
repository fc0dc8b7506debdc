"""The Registry's ordering rules (spec note mesh-profile §4.5), one transaction per
batch, the previous addresses' grace period, the lookup cache across two
registries on one file, and the choice of a store by URL; on both stores
(SQLite and PostgreSQL: the ``db`` fixture)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import dlmsmesh
from dlmsmesh.registration import Binding, ChangeKind, Outcome, Registration, Registry, Status
from dlmsmesh.registration.sqlite_store import SCHEMA_VERSION
from dlmsmesh.registration.store import StoreError, store_path

from .postgres_support import Databases

pytestmark = pytest.mark.single_backend  # databases and Python only: no codec runs

A = bytes.fromhex("4D4D4D0000BC614E")
B = bytes.fromhex("4D4D4D0000BC614F")
T0 = 1_700_000_000.0


def reg(
    title: bytes = A,
    ic: int | None = 10,
    *,
    addresses: tuple[str, ...] = ("2001:db8:1::203",),
    seq: int | None = None,
    at: float = T0,
    kind: str = "registration",
    port: int = 61616,
) -> Registration:
    return Registration(title, addresses, port, 1, kind, ic, seq, at, addresses[0] if addresses else "fe80::1")


@pytest.fixture
def registry(db: Databases) -> Registry:
    r = Registry.open(db("registry"))
    yield r  # type: ignore[misc]
    r.close()


def arm_boom(db: Databases) -> None:
    """Another connection arms a trigger that fails any history row of port 4242."""
    if db.postgres:
        import psycopg

        with psycopg.connect(db("registry"), autocommit=True) as conn:
            conn.execute(
                "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                " IF NEW.port = 4242 THEN RAISE EXCEPTION 'boom'; END IF; RETURN NEW; END $$"
            )
            conn.execute("CREATE TRIGGER boom BEFORE INSERT ON dlmsmesh_history FOR EACH ROW EXECUTE FUNCTION boom()")
        return
    with sqlite3.connect(db("registry")) as conn:
        conn.execute(
            "CREATE TRIGGER boom BEFORE INSERT ON history WHEN NEW.port = 4242 BEGIN SELECT RAISE(ABORT, 'boom'); END"
        )


def test_the_top_level_name_is_the_registry() -> None:
    assert dlmsmesh.Registry is Registry


def test_counter_orders_registrations(registry: Registry) -> None:
    out = registry.record_many([reg(ic=10), reg(ic=10), reg(ic=9), reg(ic=11, addresses=("2001:db8:2::203",))])
    assert out == [Outcome.RECORDED, Outcome.DUPLICATE, Outcome.STALE, Outcome.RECORDED]
    b = registry.lookup(A)
    assert b is not None
    assert b.addresses == ("2001:db8:2::203",) and b.invocation_counter == 11 and b.status is Status.REGISTERED
    assert [h["invocation_counter"] for h in registry.history(A)] == [10, 11]
    assert [h["change"] for h in registry.history(A)] == ["recorded", "updated"]
    # a later batch is judged against what is stored
    assert registry.record_many([reg(ic=11), reg(ic=3)]) == [Outcome.DUPLICATE, Outcome.STALE]
    assert registry.lookup(A).invocation_counter == 11  # type: ignore[union-attr]


def test_the_same_title_twice_in_one_batch_is_judged_in_order(registry: Registry) -> None:
    out = registry.record_many([reg(ic=5), reg(B, ic=1), reg(ic=7, addresses=("fd00::7",)), reg(ic=6), reg(ic=7)])
    assert out == [Outcome.RECORDED, Outcome.RECORDED, Outcome.RECORDED, Outcome.STALE, Outcome.DUPLICATE]
    assert registry.lookup(A).addresses == ("fd00::7",)  # type: ignore[union-attr]
    assert len(registry.history(A)) == 2 and len(registry.history(B)) == 1


def test_a_lower_sequence_is_stale_even_with_a_higher_counter(registry: Registry) -> None:
    assert registry.record_many([reg(ic=10, seq=5)]) == [Outcome.RECORDED]
    assert registry.record_many([reg(ic=11, seq=4, addresses=("fd00::9",))]) == [Outcome.STALE]
    assert registry.record_many([reg(ic=12, seq=5, kind="update")]) == [Outcome.RECORDED]
    b = registry.lookup(A)
    assert b is not None and b.sequence == 5 and b.invocation_counter == 12 and b.kind == "update"
    assert b.addresses == ("2001:db8:1::203",)


def test_without_counters_the_same_content_is_a_duplicate(registry: Registry) -> None:
    assert registry.record_many([reg(ic=None), reg(ic=None, at=T0 + 1)]) == [Outcome.RECORDED, Outcome.DUPLICATE]
    assert registry.record_many([reg(ic=None, addresses=("fd00::3",))]) == [Outcome.RECORDED]


def test_quarantine_never_replaces_a_registered_binding(registry: Registry) -> None:
    registry.record_many([reg(ic=10)])
    assert registry.quarantine_many([reg(ic=99, addresses=("fd00::66",))]) == [Outcome.STALE]
    b = registry.lookup(A)
    assert b is not None and b.status is Status.REGISTERED and b.addresses == ("2001:db8:1::203",)


def test_quarantined_title_is_recorded_then_admitted(registry: Registry) -> None:
    assert registry.quarantine_many([reg(B, ic=500, addresses=("fd00::b",))]) == [Outcome.QUARANTINED]
    assert registry.quarantine_many([reg(B, ic=500, addresses=("fd00::b",))]) == [Outcome.DUPLICATE]
    b = registry.lookup(B)
    assert b is not None and b.status is Status.QUARANTINED and b.addresses == ("fd00::b",)
    registry.admit(B)
    b = registry.lookup(B)
    assert b is not None and b.status is Status.REGISTERED
    # the unverified counter is forgotten: the meter's next authenticated registration goes through
    assert b.invocation_counter is None
    assert registry.record_many([reg(B, ic=3, addresses=("fd00::c",))]) == [Outcome.RECORDED]
    assert [h["change"] for h in registry.history(B)] == ["quarantined", "admitted", "updated"]
    registry.admit(B)  # already registered: nothing changes
    assert len(registry.history(B)) == 3
    with pytest.raises(KeyError):
        registry.admit(bytes(8))


def test_a_verified_registration_replaces_a_quarantined_record(registry: Registry) -> None:
    registry.quarantine_many([reg(ic=1000)])
    assert registry.record_many([reg(ic=1)]) == [Outcome.RECORDED]
    assert registry.lookup(A).status is Status.REGISTERED  # type: ignore[union-attr]
    assert [h["change"] for h in registry.history(A)] == ["quarantined", "recorded"]


def test_a_bad_item_refuses_the_whole_batch(registry: Registry) -> None:
    with pytest.raises(ValueError, match="8 octets"):
        registry.record_many([reg(ic=1), reg(b"short", ic=1)])
    with pytest.raises(ValueError, match="kind"):
        registry.record_many([reg(ic=1), reg(B, ic=1, kind="hello")])
    assert registry.lookup(A) is None and registry.list() == []


def test_a_batch_failing_inside_the_database_leaves_nothing(registry: Registry, db: Databases) -> None:
    registry.record_many([reg(ic=1)])
    # another connection arms a trigger that fails the 3rd row of the next batch
    arm_boom(db)
    batch = [reg(ic=2, addresses=("fd00::2",)), reg(B, ic=1), reg(bytes(8), ic=1, port=4242), reg(B, ic=2)]
    with pytest.raises(StoreError, match="boom"):
        registry.record_many(batch)
    b = registry.lookup(A)
    assert b is not None and b.invocation_counter == 1 and b.addresses == ("2001:db8:1::203",)
    assert registry.lookup(B) is None and len(registry.history(A)) == 1
    # and the registry goes on
    assert registry.record_many(batch[:2]) == [Outcome.RECORDED, Outcome.RECORDED]


def test_previous_addresses_are_kept_for_the_grace_period(db: Databases) -> None:
    now = time.time()
    with Registry.open(db("r"), grace=600) as r:
        r.record_many([reg(ic=1, at=now - 700, addresses=("fd00::1",)), reg(ic=2, at=now, addresses=("fd00::2",))])
        b = r.lookup(A)
        assert b is not None and b.previous_addresses == ("fd00::1",) and b.previous_until == now + 600
        # a move older than the grace period shows no previous addresses
        r.record_many(
            [reg(B, ic=1, at=now - 900, addresses=("fd00::8",)), reg(B, ic=2, at=now - 650, addresses=("fd00::9",))]
        )
        b = r.lookup(B)
        assert b is not None and b.previous_addresses == () and b.addresses == ("fd00::9",)
        # the same addresses again keep the previous ones (and their deadline)
        r.record_many([reg(ic=3, at=now + 1, addresses=("fd00::2",))])
        b = r.lookup(A)
        assert b is not None and b.previous_addresses == ("fd00::1",) and b.previous_until == now + 600


def test_two_registries_on_one_file_see_each_others_writes(db: Databases) -> None:
    path = db("shared")
    with Registry.open(path, staleness=0.02) as one, Registry.open(path, staleness=0.02) as two:
        assert two.lookup(A) is None  # cached as absent
        one.record_many([reg(ic=1)])
        assert one.lookup(A) is not None  # own writes: at once
        deadline = time.monotonic() + 5
        while two.lookup(A) is None and time.monotonic() < deadline:
            time.sleep(0.005)
        first = two.lookup(A)
        assert first is not None and first.invocation_counter == 1
        one.record_many([reg(ic=2, addresses=("fd00::2",))])
        time.sleep(0.05)  # > staleness
        moved = two.lookup(A)
        assert moved is not None and moved.addresses == ("fd00::2",)
        # and the other way, admit included
        two.quarantine_many([reg(B, ic=1)])
        time.sleep(0.05)
        assert one.lookup(B).status is Status.QUARANTINED  # type: ignore[union-attr]
        two.admit(B)
        time.sleep(0.05)
        assert one.lookup(B).status is Status.REGISTERED  # type: ignore[union-attr]


def test_list_gives_every_binding_by_title(registry: Registry) -> None:
    registry.record_many([reg(B, ic=1), reg(A, ic=1)])
    listed = registry.list()
    assert [b.system_title for b in listed] == [A, B]
    assert all(isinstance(b, Binding) for b in listed)
    assert registry.hops(A) is None


def test_urls_choose_the_store(tmp_path: Path) -> None:
    assert store_path("sqlite:////var/lib/x.sqlite") == "/var/lib/x.sqlite"
    assert store_path("sqlite:///x.sqlite") == "x.sqlite"
    assert store_path(tmp_path / "a.sqlite") == str(tmp_path / "a.sqlite")
    with pytest.raises(StoreError, match="names a PostgreSQL database"):
        store_path("postgresql://user@db/registry")
    # a PostgreSQL URL opens the PostgreSQL store: nothing listens on port 1
    with pytest.raises(StoreError, match="cannot connect to postgresql://user:\\*\\*\\*@127.0.0.1:1/registry"):
        Registry.open("postgresql://user:secret@127.0.0.1:1/registry", timeout=2)
    with pytest.raises(StoreError, match="unknown registry store 'mysql'"):
        Registry.open("mysql://db/registry")
    with Registry.open(f"sqlite:///{tmp_path}/url.sqlite") as r:
        r.record_many([reg(ic=1)])
    assert (tmp_path / "url.sqlite").exists()


def test_the_file_is_wal_and_versioned_and_a_newer_schema_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v.sqlite"
    Registry.open(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        db.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer"):
        Registry.open(path)


def test_a_closed_registry_refuses_work(db: Databases) -> None:
    r = Registry.open(db("c"))
    r.close()
    r.close()  # idempotent
    with pytest.raises(ValueError, match="closed"):
        r.record_many([reg()])
    with pytest.raises(ValueError, match="closed"):
        r.lookup(A)


def test_watch_kinds_are_the_four_changes() -> None:
    assert [k.value for k in ChangeKind] == ["recorded", "updated", "quarantined", "admitted"]


def test_record_batch_writes_records_and_quarantine_in_one_transaction(registry: Registry, db: Databases) -> None:
    assert registry.record_batch([reg(ic=1)], [reg(B, ic=7, addresses=("fd00::b",))]) == (
        [Outcome.RECORDED],
        [Outcome.QUARANTINED],
    )
    # a quarantine record of a registered title in the same batch is stale
    assert registry.record_batch([reg(ic=2)], [reg(ic=9)]) == ([Outcome.RECORDED], [Outcome.STALE])
    arm_boom(db)
    with pytest.raises(StoreError, match="boom"):
        registry.record_batch([reg(ic=3, addresses=("fd00::3",))], [reg(bytes(8), ic=1, port=4242)])
    # the records half was rolled back with the quarantine half
    assert registry.lookup(A).invocation_counter == 2  # type: ignore[union-attr]
    assert registry.lookup(bytes(8)) is None


def _random_batch(seed: int) -> tuple[list[bytes], list[Registration]]:
    rng = __import__("random").Random(seed)
    titles = [bytes.fromhex("4D4D4D00000100") + bytes([i]) for i in range(40)]
    items = []
    for n in range(1203):
        t = rng.choice(titles)
        items.append(
            reg(t, ic=rng.randrange(1, 60), addresses=(f"2001:db8:{rng.randrange(4)}::1",), at=T0 + n,
                seq=rng.choice([None, rng.randrange(10)]))
        )  # fmt: skip
    return titles, items


def _same_as_row_by_row(one_by_one: Registry, batched: Registry, titles: list[bytes], items: list[Registration]) -> None:
    expected = [one_by_one.record_many([item])[0] for item in items]
    assert batched.record_many(items) == expected
    assert sum(o is Outcome.RECORDED for o in expected) > 100
    assert {b.system_title: b for b in batched.list()} == {b.system_title: b for b in one_by_one.list()}
    for t in titles:
        assert batched.history(t) == one_by_one.history(t)


@pytest.mark.parametrize("per_statement", [1, 7, 500])
def test_a_batch_written_in_multi_row_statements_is_the_batch_written_row_by_row(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, per_statement: int
) -> None:
    """A batch's bindings and history go to SQLite in statements of many
    rows; with chunks of 1, 7 and 500 rows (titles repeated inside a chunk
    and across chunk boundaries, stale and duplicate rows between them) the
    outcomes, bindings and history are those of the same registrations
    recorded one at a time."""
    from dlmsmesh.registration import sqlite_store

    titles, items = _random_batch(per_statement)
    one_by_one = Registry.open(tmp_path / "one.sqlite")
    monkeypatch.setattr(sqlite_store, "_rows_per_statement", lambda db, width: per_statement)
    batched = Registry.open(tmp_path / "batched.sqlite")
    try:
        _same_as_row_by_row(one_by_one, batched, titles, items)
    finally:
        one_by_one.close()
        batched.close()


def test_a_batch_written_in_one_statement_on_postgres_is_the_batch_written_row_by_row(
    postgres_db: Callable[[str], str],
) -> None:
    """The PostgreSQL store writes a batch's bindings in ONE upsert (the last
    row of each title) and its history in ONE insert: the same outcomes,
    bindings and history as the registrations recorded one at a time."""
    titles, items = _random_batch(11)
    with Registry.open(postgres_db("one")) as one_by_one, Registry.open(postgres_db("batched")) as batched:
        _same_as_row_by_row(one_by_one, batched, titles, items)


def test_the_postgres_schema_is_versioned_migrated_in_order_and_a_newer_one_is_refused(
    postgres_db: Callable[[str], str],
) -> None:
    import psycopg

    from dlmsmesh.registration.postgres_store import MIGRATIONS
    from dlmsmesh.registration.postgres_store import SCHEMA_VERSION as PG_VERSION
    from dlmsmesh.security.postgres_store import migrate

    url = postgres_db("v")
    # a database of version 1 (no memberships yet) with a binding in it
    with psycopg.connect(url, autocommit=True) as conn:
        assert migrate(conn, "registry", MIGRATIONS, upto=1) == 0
    with Registry.open(url) as r:
        r.record_many([reg(ic=1)])
        r.set_groups(A, [7])  # the migration to 2 made the memberships table
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute("SELECT component, version FROM dlmsmesh_schema ORDER BY component").fetchall()
        assert rows == [("registry", PG_VERSION)] and PG_VERSION == 2
        conn.execute("UPDATE dlmsmesh_schema SET version = version + 1 WHERE component = 'registry'")
    with pytest.raises(StoreError, match=f"schema version {PG_VERSION + 1}, newer than this dlmsmesh reads"):
        Registry.open(url)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE dlmsmesh_schema SET version = version - 1 WHERE component = 'registry'")
    with Registry.open(url) as r:
        assert r.lookup(A).invocation_counter == 1 and r.groups_of(A) == {7}  # type: ignore[union-attr]


def test_registries_opening_a_new_postgres_database_at_once_migrate_it_once(postgres_db: Callable[[str], str]) -> None:
    import concurrent.futures

    url = postgres_db("race")
    with concurrent.futures.ThreadPoolExecutor(6) as pool:
        stores = list(pool.map(lambda _: Registry.open(url), range(6)))
    for r in stores:
        r.close()
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        assert conn.execute("SELECT version FROM dlmsmesh_schema WHERE component = 'registry'").fetchone() == (2,)
