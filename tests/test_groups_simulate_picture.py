"""The simulator's picture of a group request's answer times (issue 15:
"the simulator makes it a picture"): ``dlmsmesh simulate --plot`` draws the
broadcast phase's answer times as a histogram spanning the answer window,
the same times its JSON report lists."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from dlmsmesh.cli import main

pytestmark = pytest.mark.single_backend

SMALL = ["simulate", "--meters", "40", "--transport", "inprocess", "--quiet", "--seed", "3"]


def test_the_plot_draws_the_answer_times_across_the_window(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.figure
    import numpy as np

    saved: list[Any] = []
    savefig = matplotlib.figure.Figure.savefig

    def keep(self: Any, *args: Any, **kwargs: Any) -> Any:
        saved.append(self)
        return savefig(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", keep)
    report_path, png = tmp_path / "report.json", tmp_path / "report.png"
    assert main([*SMALL, "--json", str(report_path), "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    broadcast = next(p for p in json.loads(report_path.read_text())["phases"] if p["name"] == "broadcast")
    times, window = broadcast["answer_times_s"], broadcast["window_s"]
    assert len(times) == broadcast["answered_in_window"] > 0 and all(0 <= t < window for t in times)

    (figure,) = saved
    panel = next(ax for ax in figure.axes if ax.get_title() == "broadcast answers across the window")
    assert panel.get_xlabel() == "answer time (s) after the request"
    bars = panel.patches
    # 30 bins from the request to the window's close, holding every answer time
    assert len(bars) == 30
    assert bars[0].get_x() == pytest.approx(0.0) and bars[-1].get_x() + bars[-1].get_width() == pytest.approx(window)
    heights = [int(bar.get_height()) for bar in bars]
    assert heights == np.histogram(times, bins=30, range=(0.0, window))[0].tolist()
    assert sum(heights) == len(times)
