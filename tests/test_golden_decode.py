"""``dlmsmesh decode`` prints, byte for byte, what the golden file recorded.

tests/golden/make_golden.py ran ``dlmsmesh decode`` over every vector, the
sample capture and the fuzz corpora and stored the JSON Lines; this replays
each run (same arguments, same input lines, one run per reassembler lifetime)
in this process on both backends and compares the output bytes.  A change of
output is either a bug or a deliberate change: then regenerate with
``python tests/golden/make_golden.py`` and say why in the commit.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from dlmsmesh import cli

GOLDEN = Path(__file__).resolve().parent / "golden"
RUNS: list[dict[str, Any]] = json.loads((GOLDEN / "runs.json").read_text(encoding="utf-8"))


def decode_in_process(args: list[str], stdin: bytes, monkeypatch: pytest.MonkeyPatch) -> bytes:
    out = io.BytesIO()
    stdout = io.TextIOWrapper(out, encoding="utf-8", newline="\n", write_through=True)
    stdin_text = io.TextIOWrapper(io.BytesIO(stdin), encoding="ascii")
    monkeypatch.setattr(sys, "stdin", stdin_text)
    monkeypatch.setattr(sys, "stdout", stdout)
    code = cli.main(["decode", *args])
    stdout.flush()
    assert code == 0
    return out.getvalue()


def test_the_golden_file_covers_vectors_sample_and_corpora() -> None:
    names = {run["name"] for run in RUNS}
    assert {"axdr-data", "apdu-apdu", "security-keys", "transport-ipv6", "lowpan-14-fragments", "sample-auto"} <= names
    corpora = {p.name for p in (GOLDEN.parent / "fuzz" / "corpus").iterdir() if p.is_dir()}
    assert {f"corpus-{t}" for t in corpora} <= names
    assert {f"corpus-{t}-auto" for t in corpora} <= names
    total = sum(p.stat().st_size for p in GOLDEN.iterdir())
    assert total < 10_000_000


@pytest.mark.parametrize("run", RUNS, ids=[r["name"] for r in RUNS])
def test_decode_output_is_the_golden_output(backend: str, run: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = (GOLDEN / run["input"]).read_bytes()
    want = (GOLDEN / f"{run['name']}.jsonl").read_bytes()
    got = decode_in_process(run["args"], stdin, monkeypatch)
    if got != want:
        for i, (g, w) in enumerate(zip(got.splitlines(), want.splitlines())):
            assert g == w, f"line {i + 1} of {run['name']}"
    assert got == want
