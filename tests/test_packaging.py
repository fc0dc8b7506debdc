"""What a user installing a wheel relies on: one version everywhere, a C core
that loads, and the wheel configuration that builds and tests it.

This file is in the fast subset that the built wheel is tested with
(``[tool.cibuildwheel] test-command``; scripts/check-wheel.sh), so it must run
against an installed wheel, from outside the source tree, with only the
subset's requirements installed.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import dlmsmesh
from dlmsmesh import _version

pytestmark = pytest.mark.single_backend

ROOT = Path(__file__).resolve().parents[1]

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib


def _pyproject() -> dict[str, object]:
    with open(ROOT / "pyproject.toml", "rb") as fh:
        return tomllib.load(fh)


def test_the_version_is_written_once() -> None:
    assert dlmsmesh.__version__ == _version.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+", dlmsmesh.__version__)
    assert importlib.metadata.version("dlmsmesh") == dlmsmesh.__version__
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    assert "version" not in project and project["dynamic"] == ["version"]
    tool = _pyproject()["tool"]
    assert isinstance(tool, dict)
    assert tool["setuptools"]["dynamic"]["version"] == {"attr": "dlmsmesh._version.__version__"}


def test_the_command_line_prints_the_version() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dlmsmesh", "--version"], capture_output=True, text=True, timeout=60, check=True
    )
    assert proc.stdout == f"dlmsmesh {dlmsmesh.__version__}\n"


def test_the_changelog_has_a_section_for_the_version() -> None:
    text = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## \[{re.escape(dlmsmesh.__version__)}\] - \d{{4}}-\d{{2}}-\d{{2}}$", text, re.M)
    assert text.index("## [Unreleased]") < text.index(f"## [{dlmsmesh.__version__}]")


def test_the_c_core_loads_and_is_abi3() -> None:
    """A wheel whose extension failed to load would fall back to nothing: the
    package has no import-time fallback, so the backend must be native."""
    assert dlmsmesh.native_available()
    from dlmsmesh import _core  # type: ignore[attr-defined]

    assert Path(_core.__file__).name.startswith("_core.abi3.")


@pytest.mark.skipif(not os.environ.get("DLMSMESH_WHEEL_TEST"), reason="only when testing an installed wheel")
def test_the_package_is_the_installed_wheel() -> None:
    """Run against a wheel, the subset must import the installed package,
    not this checkout's python/ directory."""
    where = Path(dlmsmesh.__file__).resolve()
    assert ROOT not in where.parents
    assert "site-packages" in where.parts
    assert importlib.metadata.distribution("dlmsmesh").read_text("WHEEL") is not None


def test_the_wheel_configuration() -> None:
    tool = _pyproject()["tool"]
    assert isinstance(tool, dict)
    assert tool["distutils"]["bdist_wheel"]["py-limited-api"] == "cp310"
    cibw = tool["cibuildwheel"]
    assert cibw["build"] == "cp310-*"
    command = cibw["test-command"]
    files = re.findall(r"\{project\}/(tests/\S+\.py)", command)
    assert "tests/test_packaging.py" in files
    for name in files:
        assert (ROOT / name).is_file(), name
    assert "auditwheel repair" in cibw["linux"]["repair-wheel-command"]
    assert cibw["test-environment"] == {"DLMSMESH_WHEEL_TEST": "1"}
