"""The README's PostgreSQL section as written, against the test session's
PostgreSQL server (``DLMSMESH_DATABASE`` names a fresh database; test_readme
runs the same section on SQLite, with the variable unset)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .test_readme import SECTIONS, run_section

pytestmark = pytest.mark.single_backend


def test_the_postgresql_section_runs_on_postgresql(
    postgres_db: Callable[[str], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    url = postgres_db("readme")
    monkeypatch.setenv("DLMSMESH_DATABASE", url)
    run_section(SECTIONS["PostgreSQL"])
    import psycopg

    with psycopg.connect(url) as conn:  # the example wrote there, not into a SQLite file
        assert conn.execute("SELECT count(*) FROM dlmsmesh_bindings").fetchone() == (1,)
        assert conn.execute("SELECT reserved > 1 FROM dlmsmesh_counters_tx").fetchone() == (True,)


def test_the_readme_section_runs_on_sqlite_without_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DLMSMESH_DATABASE", raising=False)
    run_section(SECTIONS["PostgreSQL"])
