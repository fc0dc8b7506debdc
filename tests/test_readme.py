"""Every ```python block of README.md runs as written, on both backends,
and the results its comments state are checked.

The blocks of one ``##`` section run in order in one namespace (a later
block of the API tour may use names an earlier one made); each section
starts afresh.  The top-level statements of a block run one at a time, so a
comment can be checked against the statement it ends:

- ``expr  # ExcName: message`` -- the expression raises ``ExcName`` (a
  builtin or dlmsmesh exception) whose text is ``message``;
- ``print(...)  # text`` -- the call prints ``text``;
- ``expr  # result`` -- ``result`` states the value: it is checked when it
  (or its text before the first ``" ("``, ``": "``, ``"; "`` or ``", "``)
  is the ``repr`` of the value, or a Python expression (a literal, or names
  of the block) equal to the value.  A comment that is neither, like
  ``# pattern: last Sunday of March``, is prose and not checked;
  :func:`test_every_stated_result_is_checked` keeps a list of those so a
  result cannot slip into prose by a typo.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import re
import tokenize
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import dlmsmesh
from dlmsmesh import errors

README = Path(__file__).resolve().parents[1] / "README.md"
_SEPARATORS = (" (", ": ", "; ", ", ")


@dataclass
class Block:
    section: str
    line: int  # of the README where the code starts
    code: str


def blocks() -> list[Block]:
    out: list[Block] = []
    section = ""
    lines = README.read_text(encoding="utf-8").splitlines()
    i = 0
    while i < len(lines):
        text = lines[i]
        if text.startswith("## "):
            section = text[3:].strip()
        if text.strip() == "```python":
            start = i + 1
            j = start
            while lines[j].strip() != "```":
                j += 1
            out.append(Block(section, start + 1, "\n".join(lines[start:j]) + "\n"))
            i = j
        i += 1
    return out


def sections() -> dict[str, list[Block]]:
    out: dict[str, list[Block]] = {}
    for b in blocks():
        out.setdefault(b.section, []).append(b)
    return out


def _comments(code: str) -> dict[int, str]:
    """Line number -> the text of the trailing comment on that line."""
    out = {}
    for tok in tokenize.generate_tokens(io.StringIO(code).readline):
        if tok.type == tokenize.COMMENT and tok.line[: tok.start[1]].strip():
            out[tok.start[0]] = tok.string[1:].strip()
    return out


def _candidates(comment: str) -> list[str]:
    cands = [comment]
    for sep in _SEPARATORS:
        at = comment.find(sep)
        if at > 0:
            cands.append(comment[:at].strip())
    return cands


def _exception(name: str) -> type[BaseException] | None:
    cls = getattr(builtins, name, None) or getattr(errors, name, None) or getattr(dlmsmesh, name, None)
    return cls if isinstance(cls, type) and issubclass(cls, BaseException) else None


class Stated:
    """What happened to each comment: checked or prose."""

    def __init__(self) -> None:
        self.checked = 0
        self.prose: list[str] = []


def check_statement(stmt: ast.stmt, comment: str | None, ns: dict[str, Any], where: str, stated: Stated) -> None:
    code = compile(ast.Module([stmt], type_ignores=[]), where, "exec")
    if comment is None or not isinstance(stmt, ast.Expr):
        exec(code, ns)
        return
    raised = re.match(r"^([A-Z]\w*(?:Error|Exception)): (.*)$", comment)
    if raised and _exception(raised.group(1)) is not None:
        cls = _exception(raised.group(1))
        assert cls is not None
        with pytest.raises(cls) as info:
            exec(code, ns)
        assert str(info.value) == raised.group(2), where
        stated.checked += 1
        return
    expr = compile(ast.Expression(stmt.value), where, "eval")
    call = stmt.value
    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "print":
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            eval(expr, ns)
        assert printed.getvalue().strip() == comment, where
        stated.checked += 1
        return
    value = eval(expr, ns)
    for cand in _candidates(comment):
        if repr(value) == cand:
            stated.checked += 1
            return
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # prose compiles with warnings ("'str' object is not callable")
                want = eval(cand, dict(ns))
        except Exception:
            continue
        assert value == want, f"{where}: {value!r} != {cand}"
        stated.checked += 1
        return
    stated.prose.append(comment)


def run_section(blocks_of_section: list[Block]) -> Stated:
    ns: dict[str, Any] = {"__name__": "readme"}
    stated = Stated()
    for block in blocks_of_section:
        tree = ast.parse(block.code)
        comments = _comments(block.code)
        for stmt in tree.body:
            end = stmt.end_lineno or stmt.lineno
            where = f"README.md:{block.line + stmt.lineno - 1}"
            check_statement(stmt, comments.get(end), ns, where, stated)
    return stated


SECTIONS = sections()

#: the comments of the README that are prose on purpose (not results)
PROSE = {
    "pattern: last Sunday of March, 02:00",
    "whether the C extension loads",
}


@pytest.mark.parametrize("section", list(SECTIONS))
def test_readme_section_runs(backend: str, section: str) -> None:
    stated = run_section(SECTIONS[section])
    unexpected = [c for c in stated.prose if c not in PROSE]
    assert not unexpected, f"comments that look like results but are not checked: {unexpected}"


def test_every_stated_result_is_checked() -> None:
    total = 0
    before = dlmsmesh.backend()
    try:
        for blocks_of_section in SECTIONS.values():
            total += run_section(blocks_of_section).checked
    finally:
        dlmsmesh.set_backend(before)  # the backends tour switches to pure
    assert total >= 40
    assert "Library stack" in SECTIONS and "API tour" in SECTIONS


def test_the_readme_cites_only_files_in_the_repository() -> None:
    text = README.read_text(encoding="utf-8")
    assert "DESIGN.md" not in text and "spec/" not in text
    root = README.parent
    for path in re.findall(r"`((?:docs|samples|tests|benchmarks)/[\w./-]+)`", text):
        assert (root / path).exists(), path


def test_the_setup_commands_are_the_two_documented() -> None:
    text = README.read_text(encoding="utf-8")
    assert (
        "```sh\npython -m pip install '.[cli]' && dlmsmesh simulate\n"
        "python -m pip install '.[test]' && python -m pytest\n```"
    ) in text


def shell_examples() -> list[tuple[str, list[str]]]:
    """The ``$ dlmsmesh ...`` examples of the README's sh blocks: (command,
    the output lines shown), for those shown in full (no ``...``)."""
    out: list[tuple[str, list[str]]] = []
    text = README.read_text(encoding="utf-8")
    for body in re.findall(r"```sh\n(.*?)```", text, re.S):
        lines = body.splitlines()
        i = 0
        while i < len(lines):
            if lines[i].startswith("$ "):
                command = lines[i][2:]
                while command.endswith("\\"):
                    i += 1
                    command = command[:-1] + lines[i].strip()
                shown = []
                while i + 1 < len(lines) and not lines[i + 1].startswith("$ "):
                    i += 1
                    shown.append(lines[i])
                if not any("..." in line for line in shown):
                    out.append((command, shown))
            i += 1
    return out


@pytest.mark.parametrize(("command", "shown"), shell_examples())
def test_readme_shell_examples_print_what_they_show(command: str, shown: list[str]) -> None:
    import shlex
    import subprocess
    import sys

    runnable = re.sub(r"(^|\| )dlmsmesh ", lambda m: f"{m.group(1)}{shlex.quote(sys.executable)} -m dlmsmesh ", command)
    proc = subprocess.run(
        ["bash", "-c", runnable], capture_output=True, text=True, timeout=60, cwd=README.parent, check=False
    )
    assert proc.stdout.splitlines() == shown, command
