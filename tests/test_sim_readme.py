"""Issue 16: ``dlmsmesh simulate`` with its defaults passes every phase, and
the README's report is what it prints: the run is made again here (its seed
fixes every number but the wall time) and the table compared with the
README's text.

To renew the README's block after a deliberate change, print it with
``python tests/test_sim_readme.py`` and paste it between the markers.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dlmsmesh.sim.config import SimConfig
from dlmsmesh.sim.report import render_text
from dlmsmesh.sim.run import simulate

pytestmark = pytest.mark.single_backend  # a whole network of meters: the native backend, as deployed

README = Path(__file__).resolve().parents[1] / "README.md"
BEGIN, END = "<!-- simulate report: begin -->", "<!-- simulate report: end -->"
_WALL = re.compile(r" in [0-9.]+ s wall;")


def _block() -> str:
    text = README.read_text(encoding="utf-8")
    inside = text[text.index(BEGIN) + len(BEGIN) : text.index(END)].strip()
    assert inside.startswith("```text\n") and inside.endswith("\n```")
    return inside[len("```text\n") : -len("\n```")]


def _default_report() -> str:
    report = simulate(SimConfig())
    assert report.passed, render_text(report)
    return render_text(report)


def test_the_defaults_pass_every_phase_and_print_the_readme_report() -> None:
    printed = _default_report()
    assert _WALL.sub(" in N s wall;", printed) == _WALL.sub(" in N s wall;", _block())


def test_the_readme_block_is_found() -> None:
    block = _block()
    assert block.splitlines()[0].startswith("1,000 meters, 2 border router(s)")
    assert block.splitlines()[-1].endswith("every phase passed")


if __name__ == "__main__":
    print(f"{BEGIN}\n```text\n{_default_report()}\n```\n{END}")


def test_the_readme_first_command_runs_the_main_job() -> None:
    """The README's first command ends in ``dlmsmesh simulate``: the
    command, with its defaults, exits 0 and says every phase passed."""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "dlmsmesh", "simulate"], capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "every phase passed" in done.stdout
