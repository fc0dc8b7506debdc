"""A real PostgreSQL server for the test session: initdb into a temporary
directory, started on a free 127.0.0.1 port (and a unix socket in that
directory), one fresh database per test that asks, stopped and deleted at the
end of the session.

The server binaries are looked up on PATH (``pg_ctl``, ``initdb``) and in
Debian's ``/usr/lib/postgresql/<version>/bin``.  None found, the tests that
need PostgreSQL skip with that reason, except under ``CI=true``, where they
fail: CI installs the server (.ci/run) and must not pass by skipping.

PostgreSQL refuses to run as root: run as root (containers), the cluster
belongs to the ``postgres`` user (Debian's package creates it) or ``nobody``,
and initdb and pg_ctl run as that user through ``runuser``.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

__all__ = ["PostgresServer", "find_bin_dir", "start_server", "require_server", "Databases"]

#: the seconds any server command may take (start, stop, initdb)
COMMAND_TIMEOUT = 120


def find_bin_dir() -> str | None:
    """The directory of ``pg_ctl``, ``initdb`` and ``postgres`` (the newest Debian version first)."""
    for version_dir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        if all(os.access(os.path.join(version_dir, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return version_dir
    found = shutil.which("pg_ctl")
    if found is not None:
        directory = os.path.dirname(os.path.realpath(found))
        if all(os.access(os.path.join(directory, b), os.X_OK) for b in ("initdb", "postgres")):
            return directory
    return None


def _version_key(path: str) -> tuple[int, ...]:
    version = path.split("/")[-2]
    return tuple(int(p) for p in version.split(".") if p.isdigit())


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PostgresServer:
    """A running server: ``url(database)`` for the URL of a database on it."""

    bin_dir: str
    directory: str
    port: int
    runas: list[str]
    _counter: Iterator[int] = field(default_factory=itertools.count)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql)  # type: ignore[arg-type]  # the tests' own constant SQL

    def create_database(self, hint: str = "db") -> str:
        """A new empty database; gives its URL."""
        safe = "".join(c if c.isalnum() else "_" for c in hint.lower())[:40]
        name = f"t{next(self._counter)}_{safe}"
        self._admin(f'CREATE DATABASE "{name}" TEMPLATE template0 STRATEGY FILE_COPY')
        return self.url(name)

    def drop_database(self, url: str) -> None:
        name = url.rsplit("/", 1)[1]
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        subprocess.run(
            [*self.runas, os.path.join(self.bin_dir, "pg_ctl"), "-D", os.path.join(self.directory, "data"),
             "-m", "fast", "-w", "-t", "60", "stop"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=COMMAND_TIMEOUT, check=False,
        )  # fmt: skip


def _owner() -> tuple[list[str], int | None, int | None]:
    """(the command prefix running as the cluster's owner, its uid, gid): as
    ourselves unless we are root."""
    if os.geteuid() != 0:
        return [], None, None
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        runuser = shutil.which("runuser")
        if runuser is not None:
            return [runuser, "-u", name, "--"], entry.pw_uid, entry.pw_gid
        su = shutil.which("su")
        if su is not None:  # pragma: no cover - util-linux without runuser
            return [su, name, "-s", "/bin/sh", "-c", '"$0" "$@"', "--"], entry.pw_uid, entry.pw_gid
    raise RuntimeError("running as root, and no postgres or nobody user to run the server as")


def start_server(bin_dir: str, *, durable: bool = False) -> PostgresServer:
    """initdb and start a server in a new temporary directory (raises with the
    server's log on failure).  ``durable``: fsync and synchronous commits as
    in production (benchmarks); else off (tests kill clients, never the server)."""
    runas, uid, gid = _owner()
    directory = tempfile.mkdtemp(prefix="dlmsmesh-pg-")
    if uid is not None and gid is not None:
        os.chown(directory, uid, gid)
    data = os.path.join(directory, "data")
    log = os.path.join(directory, "server.log")
    env = {**os.environ, "LC_ALL": "C", "LANG": "C"}
    done = subprocess.run(
        [*runas, os.path.join(bin_dir, "initdb"), "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8",
         "--no-locale", "--no-sync"],
        capture_output=True, text=True, timeout=COMMAND_TIMEOUT, env=env, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        raise RuntimeError(f"initdb failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    last = ""
    for _ in range(5):  # a free port can be taken before the server binds it
        port = _free_port()
        options = f"-c listen_addresses=127.0.0.1 -p {port} -k {directory} -c max_connections=300"
        if not durable:  # the tests kill clients, never the server: fsync buys nothing there
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        done = subprocess.run(
            [*runas, os.path.join(bin_dir, "pg_ctl"), "-D", data, "-l", log, "-w", "-t", "60", "-o", options,
             "start"],
            capture_output=True, text=True, timeout=COMMAND_TIMEOUT, env=env, check=False,
        )  # fmt: skip
        if done.returncode == 0:
            return PostgresServer(bin_dir, directory, port, runas)
        try:
            with open(log) as f:
                last = f.read()[-2000:]
        except OSError:
            last = done.stderr
    shutil.rmtree(directory, ignore_errors=True)
    raise RuntimeError(f"the PostgreSQL server did not start: {last}")


def require_server() -> str:
    """The binaries' directory, or skip (fail under CI=true) with the reason."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        reason = (
            "no PostgreSQL server binaries (pg_ctl, initdb, postgres on PATH or in /usr/lib/postgresql/*/bin):"
            " install Debian's postgresql package"
        )
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI must run the PostgreSQL tests: {reason}")
        pytest.skip(reason)
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        reason = "psycopg / psycopg_pool not installed: pip install -e '.[test]'"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return bin_dir


@dataclass
class Databases:
    """A test's databases on one backend: ``db("name")`` is the location of a
    fresh one (a SQLite path under the test's tmp_path, or a new PostgreSQL
    database); the same name gives the same location again."""

    kind: str  # sqlite | postgres
    _make: Callable[[str], str]
    _made: dict[str, str] = field(default_factory=dict)

    def __call__(self, name: str = "registry") -> str:
        if name not in self._made:
            self._made[name] = self._make(name)
        return self._made[name]

    @property
    def postgres(self) -> bool:
        return self.kind == "postgres"
