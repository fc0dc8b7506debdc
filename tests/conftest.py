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
import tempfile
from collections.abc import Iterator

import pytest

from dlmsmesh import _backend

from .helpers import BACKENDS

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
