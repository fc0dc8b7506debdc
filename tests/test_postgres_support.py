"""The test suite's own PostgreSQL server: found where Debian installs it,
skipped with the reason when absent, and never skipped under CI=true."""

from __future__ import annotations

import os

import pytest

from . import postgres_support
from .postgres_support import PostgresServer

pytestmark = pytest.mark.single_backend


def test_no_server_binary_skips_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres_support, "find_bin_dir", lambda: None)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="no PostgreSQL server binaries"):
        postgres_support.require_server()


def test_under_ci_no_server_binary_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(postgres_support, "find_bin_dir", lambda: None)
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI must run the PostgreSQL tests"):
        postgres_support.require_server()


def test_the_session_server_is_on_loopback_and_gives_fresh_databases(postgres_server: PostgresServer) -> None:
    import psycopg

    assert postgres_server.url().startswith("postgresql://postgres@127.0.0.1:")
    assert os.path.isdir(os.path.join(postgres_server.directory, "data"))
    url = postgres_server.create_database("fresh")
    try:
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
            assert conn.execute("SHOW listen_addresses").fetchone() == ("127.0.0.1",)
    finally:
        postgres_server.drop_database(url)
