"""One of each limit (explicit, configurable, kept once): the defaults live in
``dlmsmesh.limits`` and every module takes them from there."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import dlmsmesh
from dlmsmesh import axdr, limits, lowpan
from dlmsmesh._common import length as common_length
from dlmsmesh.lowpan import context, reassembly

pytestmark = pytest.mark.single_backend

PACKAGE = Path(dlmsmesh.__file__).parent
NAMES = set(limits.__all__)


def test_the_values() -> None:
    assert limits.DEFAULT_MAX_DEPTH == 64
    assert limits.MAX_DEPTH_CEILING == 256
    assert limits.BER_DEFAULT_MAX_DEPTH == 16
    assert limits.BER_DEPTH_LIMIT == 64
    assert limits.MAX_LENGTH == 0xFFFFFFFF
    assert limits.MAX_CONTEXTS == 16
    assert limits.MAX_DATAGRAM_SIZE == 2047
    assert (limits.REASSEMBLY_MAX_BYTES, limits.REASSEMBLY_MAX_DATAGRAMS, limits.REASSEMBLY_TIMEOUT) == (
        65536,
        32,
        60.0,
    )


def test_the_public_names_are_the_limits() -> None:
    assert axdr.DEFAULT_MAX_DEPTH is limits.DEFAULT_MAX_DEPTH
    assert lowpan.MAX_DATAGRAM_SIZE is limits.MAX_DATAGRAM_SIZE
    assert context.MAX_CONTEXTS is limits.MAX_CONTEXTS
    assert common_length.MAX_LENGTH is limits.MAX_LENGTH


def test_defaults_come_from_limits() -> None:
    for fn in (axdr.decode, axdr.decode_prefix):
        assert inspect.signature(fn).parameters["max_depth"].default is limits.DEFAULT_MAX_DEPTH
    params = inspect.signature(reassembly.Reassembler).parameters
    assert params["max_bytes"].default is limits.REASSEMBLY_MAX_BYTES
    assert params["max_datagrams"].default is limits.REASSEMBLY_MAX_DATAGRAMS
    assert params["timeout"].default is limits.REASSEMBLY_TIMEOUT


def _assigned_limits(path: Path, root: Path = PACKAGE) -> list[str]:
    """Module-level ``NAME = <number>`` of a limit's name in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in tree.body:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            value = node.value
            if value is None or not isinstance(value, (ast.Constant, ast.BinOp)):
                continue
            for t in targets:
                if isinstance(t, ast.Name) and t.id in NAMES:
                    found.append(f"{path.relative_to(root)}: {t.id}")
    return found


def test_no_module_keeps_a_second_copy() -> None:
    copies = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if path.name != "limits.py" or path.parent != PACKAGE:
            copies += _assigned_limits(path)
    assert copies == []


def test_the_copy_check_sees_a_copy(tmp_path: Path) -> None:
    copy = tmp_path / "copy.py"
    copy.write_text("DEFAULT_MAX_DEPTH = 64\nREASSEMBLY_MAX_BYTES: int = 64 * 1024\nOTHER = 1\n")
    assert _assigned_limits(copy, tmp_path) == ["copy.py: DEFAULT_MAX_DEPTH", "copy.py: REASSEMBLY_MAX_BYTES"]
