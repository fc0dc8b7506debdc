"""Every example of the documentation runs as written (docs/, built by mkdocs).

Each ```python block of a page runs; the blocks of one page run in order in
one namespace, in a scratch directory, on both backends, and the results
their comments state are checked exactly as README.md's are
(:func:`tests.test_readme.check_statement`: ``expr  # result``,
``expr  # ExcName: message``, ``print(...)  # text``).

A ```console block is a shell transcript that runs too: each ``$ `` line is
a command (run by bash, with this interpreter's ``dlmsmesh`` first on PATH)
and the lines up to the next ``$ `` are its standard output, where ``...``
stands for any text.  Other fences (``sh``, ``text``, ``json``, ``toml``)
show formats or commands that need a network or a running meter; they are
not run.
"""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from .test_readme import Stated, _comments, check_statement

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

#: comments of the docs' python blocks that are prose on purpose (not results)
PROSE: set[str] = set()


@dataclass
class Block:
    lang: str
    line: int  # of the page, where the code starts
    code: str


def pages() -> list[Path]:
    return sorted(DOCS.rglob("*.md"))


def blocks(page: Path) -> list[Block]:
    out: list[Block] = []
    lines = page.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        fence = re.match(r"^(\s*)```(\w*)\s*$", lines[i])
        if fence:
            indent, lang = fence.groups()
            j = i + 1
            while lines[j].strip() != "```":
                j += 1
            code = "\n".join(text[len(indent) :] for text in lines[i + 1 : j]) + "\n"
            out.append(Block(lang, i + 2, code))
            i = j
        i += 1
    return out


def _name(page: Path) -> str:
    return page.relative_to(DOCS).as_posix()


PAGES_WITH_PYTHON = [p for p in pages() if any(b.lang == "python" for b in blocks(p))]
PAGES_WITH_CONSOLE = [p for p in pages() if any(b.lang == "console" for b in blocks(p))]


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory of its own, with the repository's samples/ beside."""
    shutil.copytree(ROOT / "samples", tmp_path / "samples")
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize("page", PAGES_WITH_PYTHON, ids=_name)
def test_python_examples_run(page: Path, scratch: Path) -> None:
    ns: dict[str, Any] = {"__name__": "docs"}
    stated = Stated()
    for block in blocks(page):
        if block.lang != "python":
            continue
        tree = ast.parse(block.code)
        comments = _comments(block.code)
        for stmt in tree.body:
            end = stmt.end_lineno or stmt.lineno
            where = f"docs/{_name(page)}:{block.line + stmt.lineno - 1}"
            check_statement(stmt, comments.get(end), ns, where, stated)
    unexpected = [c for c in stated.prose if c not in PROSE]
    assert not unexpected, f"comments that look like results but are not checked: {unexpected}"


def _matches(want: str, got: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in want.split("..."))
    return re.fullmatch(pattern, got) is not None


def transcript(code: str) -> list[tuple[str, list[str]]]:
    """(command, expected output lines) for each ``$`` line of a console block."""
    out: list[tuple[str, list[str]]] = []
    for text in code.splitlines():
        if text.startswith("$ "):
            out.append((text[2:], []))
        else:
            assert out, f"output before the first command: {text!r}"
            out[-1][1].append(text)
    return out


@pytest.mark.single_backend
@pytest.mark.parametrize("page", PAGES_WITH_CONSOLE, ids=_name)
def test_console_transcripts_run(page: Path, scratch: Path) -> None:
    env = dict(os.environ)
    env["PATH"] = os.path.dirname(sys.executable) + os.pathsep + env.get("PATH", "")
    for block in blocks(page):
        if block.lang != "console":
            continue
        for command, want in transcript(block.code):
            proc = subprocess.run(
                ["bash", "-c", command], capture_output=True, text=True, timeout=120, env=env, cwd=scratch
            )
            where = f"docs/{_name(page)}:{block.line}: {command}"
            assert proc.returncode == 0, f"{where}: exit {proc.returncode}: {proc.stderr}"
            got = proc.stdout.splitlines()
            assert len(got) == len(want), f"{where}: {got}"
            for w, g in zip(want, got):
                assert _matches(w, g), f"{where}: {g!r} is not {w!r}"


def test_every_page_is_in_the_site() -> None:
    text = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = set(re.findall(r":\s+(\S+\.md)\s*$", text, re.M))
    assert listed == {_name(p) for p in pages()}


def test_every_guide_has_a_runnable_example() -> None:
    guides = sorted((DOCS / "guides").glob("*.md"))
    assert len(guides) == 8
    for page in guides:
        assert page in PAGES_WITH_PYTHON or page in PAGES_WITH_CONSOLE, _name(page)


def test_the_transcript_reader() -> None:
    assert transcript("$ a\nx\n...\n$ b\n") == [("a", ["x", "..."]), ("b", [])]
    assert _matches("dlmsmesh ...", "dlmsmesh 1.2.3") and not _matches("dlmsmesh ...", "other 1")
