"""Collection rules shared by tests/ and benchmarks/.

Tests marked ``slow`` (long fuzz and soak runs, the gurux-dlms benchmark
cases) are deselected unless asked for.  This is not ``-m "not slow"`` in
addopts: a second ``-m`` on the command line replaces the first, so
``pytest -m "not interop"`` used to run every slow test.  Here they stay
deselected unless the ``-m`` expression names ``slow`` (``-m slow`` runs only
them, ``-m "slow or interop"`` adds them) or ``--run-slow`` is given.
"""

from __future__ import annotations

import re

import pytest

# tests/test_pytest_markers.py runs pytest on a tiny directory, in process
pytest_plugins = ["pytester"]

SLOW = "slow"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run the tests marked slow (deselected by default unless -m names slow)",
    )


def slow_requested(config: pytest.Config) -> bool:
    """Whether this run asked for the slow tests: --run-slow, or a -m expression naming ``slow``."""
    if config.getoption("--run-slow"):
        return True
    return re.search(rf"\b{SLOW}\b", config.getoption("markexpr") or "") is not None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if slow_requested(config):
        return
    kept = [item for item in items if item.get_closest_marker(SLOW) is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item.get_closest_marker(SLOW) is not None])
        items[:] = kept
