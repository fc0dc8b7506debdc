"""Replay the committed corpora of the atheris harnesses (tests/fuzz/corpus/
py_*) through the harnesses' ``one``, without atheris: every input the
fuzzers kept still decodes alike on both backends (issue 7).  The C corpora
are replayed by the C test driver (``make -C tests/c test``)."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

CORPUS = Path(__file__).resolve().parent / "corpus"
TARGETS = ["py_axdr", "py_apdu", "py_acse", "py_transport", "py_security", "py_stack", "py_pipeline"]


def _inputs(target: str) -> list[Path]:
    d = CORPUS / target
    return sorted(d.iterdir()) if d.is_dir() else []


@pytest.mark.parametrize("target", TARGETS)
def test_corpus_replays(target: str) -> None:
    harness = importlib.import_module(f"tests.fuzz.atheris_{target[3:]}")
    inputs = _inputs(target)
    if not inputs:
        pytest.skip(f"no committed corpus for {target}")
    for path in inputs:
        try:
            harness.one(path.read_bytes())
        except Exception as exc:
            raise AssertionError(f"{target}: {path.name} ({path.read_bytes().hex()}): {exc}") from exc


def test_seeds_come_from_the_vectors() -> None:
    from tests.fuzz import seeds

    found = seeds.collect()
    assert set(found) == set(seeds.C_TARGETS + seeds.PY_TARGETS)
    assert all(found[t] for t in found)
    assert bytes.fromhex("C81E3001234567411312FF935A47566827C467BC7D825C3BE4A77C3FCC056B6B") in found["secure"]
