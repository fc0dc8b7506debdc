"""Every test runs on every backend this build has (the two must give the same
bytes, values and errors: README.md, Backends).

A test that asks for the ``backend`` fixture runs once per backend with that
backend live and gets its name.  Every other test is run once per backend
too, by the autouse ``live_backend`` fixture that ``pytest_generate_tests``
parametrizes: no test module opts in.  A test that compares the backends
itself (with :func:`tests.helpers.on_backend`) or runs a subprocess gains
nothing from a second run: mark it (or its module, with ``pytestmark``)
``@pytest.mark.single_backend`` and it runs once, with the default backend.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dlmsmesh import _backend

from .helpers import BACKENDS
from .postgres_support import Databases, PostgresServer, require_server, start_server

SINGLE = "single_backend"


_COUNTERS = tempfile.TemporaryDirectory(prefix="dlmsmesh-tests-")


def pytest_configure(config: pytest.Config) -> None:
    # invocation counters persist by default (dlmsmesh serve with keys given,
    # SqliteCounterStore()): the suite and its subprocesses keep theirs in a
    # directory of their own, never in the user's
    os.environ.setdefault("DLMSMESH_COUNTER_DB", os.path.join(_COUNTERS.name, "counters.sqlite3"))
    config.addinivalue_line(
        "markers",
        f"{SINGLE}: run once, not once per backend (the test compares the backends itself or runs a subprocess)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "live_backend" not in metafunc.fixturenames or "backend" in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker(SINGLE) is not None:
        return
    metafunc.parametrize("live_backend", BACKENDS, indirect=True)


@pytest.fixture(autouse=True)
def live_backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """The backend the test runs on: the parametrized one, or (a test that
    takes ``backend`` or is ``single_backend``) whichever is live."""
    name = getattr(request, "param", None)
    if name is None:
        yield _backend.backend()
        return
    before = _backend.backend()
    _backend.set_backend(name)
    try:
        yield name
    finally:
        _backend.set_backend(before)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the named backend live, then restore the previous one."""
    before = _backend.backend()
    _backend.set_backend(request.param)
    try:
        yield request.param
    finally:
        _backend.set_backend(before)


# ---------------------------------------------------------------- databases


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session (tests/postgres_support.py);
    skips when no server binary exists, fails instead under CI=true."""
    server = start_server(require_server())
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(server.directory, ignore_errors=True)


@pytest.fixture
def postgres_db(request: pytest.FixtureRequest) -> Iterator[Callable[[str], str]]:
    """``make(name)``: the URL of a fresh PostgreSQL database, dropped after the test."""
    server: PostgresServer = request.getfixturevalue("postgres_server")
    made: list[str] = []

    def make(name: str) -> str:
        url = server.create_database(f"{request.node.name}_{name}")
        made.append(url)
        return url

    yield make
    for url in made:
        server.drop_database(url)


@pytest.fixture(params=["sqlite", "postgres"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Databases:
    """The test once per Registry / counter store backend: ``db(name)`` is a
    fresh location (a SQLite file, or a PostgreSQL database's URL)."""
    if request.param == "sqlite":
        return Databases("sqlite", lambda name: str(tmp_path / f"{name}.sqlite"))
    return Databases("postgres", request.getfixturevalue("postgres_db"))
