"""The import-linter contracts of pyproject.toml ([tool.importlinter]) hold:
the layers of the package from the bottom (errors and the data model, the
backends, the layer modules, stack and pipeline, cli), the backends computing
only, the two backends independent, and nothing above them reaching one except through
``dlmsmesh._backend``.  CI runs ``lint-imports`` too; this test makes a
local ``pytest`` catch a layering break as well."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.single_backend

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "pyproject.toml"


def test_import_contracts_hold() -> None:
    pytest.importorskip("importlinter", reason="import-linter is not installed (pip install -e '.[test]' brings it)")
    # a child process: lint_imports configures logging (dictConfig), which
    # would disable this process's loggers for the tests that follow
    run = (
        "import sys; from importlinter.cli import lint_imports; "
        f"sys.exit(lint_imports(config_filename={str(CONFIG)!r}, no_cache=True, no_logo=True))"
    )
    proc = subprocess.run([sys.executable, "-c", run], cwd=ROOT, capture_output=True, text=True, timeout=300)
    out = proc.stdout + proc.stderr
    assert proc.returncode == 0, "lint-imports found broken contracts:\n" + out[out.find("Broken contracts") :]


def test_contracts_name_the_layers() -> None:
    """The contracts exist and cover those layers: a check that finds
    nothing to check would pass for the wrong reason."""
    tomllib = pytest.importorskip("tomllib")
    config = tomllib.loads(CONFIG.read_text())["tool"]["importlinter"]
    assert config["root_package"] == "dlmsmesh"
    contracts = {c["id"]: c for c in config["contracts"]}
    assert {"layers", "backends-compute-only", "backends-independent", "backends-through-dispatch"} <= set(contracts)
    assert "dlmsmesh._native | dlmsmesh._pure" in contracts["layers"]["layers"]
    forbidden = set(contracts["backends-compute-only"]["forbidden_modules"])
    assert {"dlmsmesh.pipeline", "dlmsmesh.security", "dlmsmesh.lowpan", "dlmsmesh.cli", "dlmsmesh.acse"} <= forbidden
    assert set(contracts["backends-through-dispatch"]["forbidden_modules"]) == {"dlmsmesh._pure", "dlmsmesh._native"}
