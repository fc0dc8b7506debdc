"""``dlmsmesh listen`` freezes the process's long-lived state (keys, the
registry's counters) once it has loaded it, so the garbage collector's full
passes during a registration storm scan only what the storm makes, and
thaws it when it stops."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from dlmsmesh.cli import main

from .registration_support import keys_text, title

pytestmark = pytest.mark.single_backend


def test_listen_freezes_what_it_loaded_and_thaws_when_it_stops(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "meters.jsonl").write_text(keys_text([title(1), title(2)]))
    calls: list[tuple[str, int]] = []
    freeze, unfreeze = gc.freeze, gc.unfreeze

    def recording_freeze() -> None:
        freeze()
        calls.append(("freeze", gc.get_freeze_count()))

    def recording_unfreeze() -> None:
        unfreeze()
        calls.append(("unfreeze", gc.get_freeze_count()))

    monkeypatch.setattr(gc, "freeze", recording_freeze)
    monkeypatch.setattr(gc, "unfreeze", recording_unfreeze)
    argv = ["listen", "--port", "0", "--database", str(tmp_path / "r.sqlite"), "--keys", str(tmp_path / "meters.jsonl")]
    assert main([*argv, "--seconds", "0.2"]) == 0
    assert "keys for 2 meters" in capsys.readouterr().out
    assert [name for name, _ in calls] == ["freeze", "unfreeze"]
    assert calls[0][1] > 0 and calls[1][1] == 0  # frozen while it listened, nothing left frozen after
