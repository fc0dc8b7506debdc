"""Shared fixtures: every codec test runs once per backend."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

import dlmsmesh
from dlmsmesh import _backend

BACKENDS = ["native", "pure"] if dlmsmesh.native_available() else ["pure"]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test with the named backend live, then restore the previous one."""
    before = _backend.backend()
    _backend.set_backend(request.param)
    try:
        yield request.param
    finally:
        _backend.set_backend(before)

