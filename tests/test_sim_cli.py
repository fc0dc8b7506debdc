"""Issue 16: ``dlmsmesh simulate`` on the command line: its --help, the JSON
report's schema (the keys the issue holds stable), the PNG, the exit status."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from dlmsmesh.cli import main
from dlmsmesh.sim.run import PHASES

pytestmark = pytest.mark.single_backend  # a whole network of meters: the native backend, as deployed

SMALL = ["simulate", "--meters", "12", "--transport", "inprocess", "--quiet"]


def test_help_names_every_option() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "dlmsmesh", "simulate", "--help"], capture_output=True, text=True, check=True
    ).stdout
    for option in ("--meters N", "--border-routers B", "--hops MAX", "--loss P", "--phy-kbps R", "--seed S", "--mac-retries N",
                   "--transport", "--json FILE", "--plot FILE.png"):  # fmt: skip
        assert option in out, option
    assert "{mesh,inprocess,udp}" in out
    assert "dlmsmesh simulate --transport udp --meters 200" in out
    top = subprocess.run([sys.executable, "-m", "dlmsmesh", "--help"], capture_output=True, text=True).stdout
    assert "simulate" in top


def _schema_errors(report: dict[str, Any]) -> list[str]:
    errors = []
    top = {"meters": int, "seed": int, "transport": str, "wall_s": float, "simulated_s": float, "phases": list}
    for key, kind in top.items():
        if not isinstance(report.get(key), kind):
            errors.append(f"{key}: {report.get(key)!r}")
    phase = {"name": str, "attempted": int, "succeeded": int, "failed": int, "retries": int, "latency_ms": dict,
             "datagrams": int, "frames": int, "bytes_on_air": int, "bytes_uncompressed": int}  # fmt: skip
    for p in report.get("phases", []):
        for key, kind in phase.items():
            if not isinstance(p.get(key), kind) or isinstance(p.get(key), bool):
                errors.append(f"{p.get('name')}.{key}: {p.get(key)!r}")
        for key in ("p50", "p95", "max"):
            if not isinstance(p.get("latency_ms", {}).get(key), (int, float)):
                errors.append(f"{p.get('name')}.latency_ms.{key}")
    return errors


def test_the_json_report_has_the_stable_keys(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "report.json"
    assert main([*SMALL, "--json", str(path)]) == 0
    report = json.loads(path.read_text())
    assert _schema_errors(report) == []
    assert (report["meters"], report["seed"], report["transport"]) == (12, 1, "inprocess")
    assert [p["name"] for p in report["phases"]] == list(PHASES)
    assert report["simulated_s"] > 0 and report["wall_s"] > 0
    # the table printed the same phases
    out = capsys.readouterr().out
    assert all(name in out for name in PHASES) and "every phase passed" in out


def test_the_schema_check_catches_a_missing_key() -> None:
    assert _schema_errors({"meters": 1, "phases": [{"name": "join"}]}) != []


def test_plot_writes_a_png_a_reader_opens(tmp_path: Path) -> None:
    image = pytest.importorskip("matplotlib.image")
    path = tmp_path / "report.png"
    assert main([*SMALL, "--plot", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    pixels = image.imread(str(path))
    assert pixels.shape[0] > 100 and pixels.shape[1] > 300


def test_plot_without_matplotlib_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    assert main([*SMALL, "--plot", str(tmp_path / "x.png")]) == 2
    err = capsys.readouterr().err
    assert err.strip() == 'dlmsmesh simulate: error: --plot needs matplotlib: pip install "dlmsmesh[plot]"'
    assert not (tmp_path / "x.png").exists()


def test_exit_status_is_1_when_a_phase_falls_short(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--meters", "6", "--loss", "0.66", "--seed", "5", "--transport", "inprocess",
                 "--mac-retries", "0", "--quiet"]) == 1  # fmt: skip
    assert "FAILED" in capsys.readouterr().out


@pytest.mark.parametrize(
    "bad", [["--meters", "0"], ["--loss", "1.5"], ["--transport", "tcp"], ["--phy-kbps", "-1"], ["--mac-retries", "8"]]
)
def test_bad_arguments_exit_2(bad: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["simulate", *bad])
    assert exc.value.code == 2
