"""The Registry's group memberships: set per meter, changed per group, read
both ways, shared by the processes on one file, and a schema-1 file upgraded
in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from dlmsmesh.registration import Registry
from dlmsmesh.registration.sqlite_store import SCHEMA_VERSION

from .postgres_support import Databases

pytestmark = pytest.mark.single_backend

T1, T2, T3 = (bytes.fromhex("4D4D4D00000000") + bytes([n]) for n in (1, 2, 3))


def test_memberships_are_set_per_meter_and_read_per_group(db: Databases) -> None:
    with Registry.open(db("r")) as registry:
        assert registry.members(5) == set() and registry.groups_of(T1) == set()
        assert registry.set_groups(T1, [5, 6]) is True
        assert registry.set_groups(T2, [5]) is True
        assert registry.set_groups(T1, [6, 5]) is False  # the same groups: nothing changed
        assert registry.members(5) == {T1, T2} and registry.members(6) == {T1}
        assert registry.groups_of(T1) == {5, 6}
        # replacing: T1 leaves 5, joins 7
        assert registry.set_groups(T1, [6, 7]) is True
        assert registry.members(5) == {T2} and registry.members(7) == {T1} and registry.groups_of(T1) == {6, 7}
        assert registry.set_groups(T1, []) is True and registry.groups_of(T1) == set()


def test_members_are_added_and_removed_per_group(db: Databases) -> None:
    with Registry.open(db("r")) as registry:
        assert registry.add_members(9, [T1, T2, T2]) == 2
        assert registry.add_members(9, [T1, T3]) == 1  # T1 was a member already
        assert registry.members(9) == {T1, T2, T3}
        assert registry.remove_members(9, [T2, bytearray(T1)]) == 2
        assert registry.remove_members(9, [T2]) == 0
        assert registry.members(9) == {T3} and registry.groups_of(T3) == {9}


@pytest.mark.asyncio
async def test_members_are_read_without_blocking_the_loop(db: Databases) -> None:
    with Registry.open(db("r")) as registry:
        registry.add_members(4, [T1])
        assert await registry.amembers(4) == {T1}


def test_bad_group_ids_and_titles_are_refused_and_nothing_is_written(db: Databases) -> None:
    with Registry.open(db("r")) as registry:
        for bad in (0, 0x10000, -1, True, "5"):
            with pytest.raises(ValueError, match="group id"):
                registry.set_groups(T1, [5, bad])  # type: ignore[list-item]
            with pytest.raises(ValueError, match="group id"):
                registry.add_members(bad, [T1])  # type: ignore[arg-type]
        with pytest.raises(ValueError, match="8 octets"):
            registry.add_members(5, [T1, b"short"])
        assert registry.groups_of(T1) == set() and registry.members(5) == set()


def test_another_process_sees_the_memberships_at_once(db: Databases) -> None:
    path = db("r")
    with Registry.open(path) as writer, Registry.open(path) as reader:
        writer.set_groups(T1, [3])
        assert reader.members(3) == {T1}
        writer.remove_members(3, [T1])
        assert reader.members(3) == set()


def test_a_schema_1_file_gains_the_memberships_table_and_keeps_its_bindings(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    with Registry.open(path):
        pass
    with sqlite3.connect(path) as db:
        db.execute("DROP TABLE memberships")
        db.execute("PRAGMA user_version=1")
        db.execute(
            "INSERT INTO bindings VALUES (?, 'fd00::1', 4059, 1, 'registered', 0, 1, NULL, 'registration', '', NULL, 'fd00::1')",
            (T1,),
        )
    assert SCHEMA_VERSION == 2
    with Registry.open(path) as registry:
        binding = registry.lookup(T1)
        assert binding is not None and binding.addresses == ("fd00::1",)
        registry.set_groups(T1, [1])
        assert registry.members(1) == {T1}
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == 2
