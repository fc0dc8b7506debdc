"""The registry's JSON Lines: export then import is exact, import follows the
ordering rules, and a bad line imports nothing."""

from __future__ import annotations

import io
import json
import time

import pytest

from dlmsmesh.registration import Registration, Registry, Status
from dlmsmesh.registration.jsonl import JsonlError

from .postgres_support import Databases

pytestmark = pytest.mark.single_backend

A = bytes.fromhex("4D4D4D0000BC614E")
B = bytes.fromhex("4D4D4D0000BC614F")
C = bytes.fromhex("4D4D4D0000BC6150")


def reg(title: bytes, ic: int | None, host: str, seq: int | None = None, at: float | None = None) -> Registration:
    return Registration(title, (host, "fe80::1"), 61616, 1, "update", ic, seq, time.time() if at is None else at, host)


def populated(path: str) -> Registry:
    r = Registry.open(path)
    r.record_many([reg(A, 1, "2001:db8::1", seq=7), reg(A, 2, "2001:db8::2", seq=8), reg(B, 5, "2001:db8::b")])
    r.quarantine_many([reg(C, None, "2001:db8::c")])
    r.admit(C)
    r.quarantine_many([reg(bytes(8), 3, "2001:db8::d")])
    return r


def exported(r: Registry) -> str:
    out = io.StringIO()
    r.export(out)
    return out.getvalue()


def test_export_then_import_is_exact(db: Databases) -> None:
    with populated(db("a")) as first:
        text = exported(first)
    assert len(text.splitlines()) == 4
    with Registry.open(db("b")) as second:
        assert second.import_(io.StringIO(text)) == 4
        assert exported(second) == text
        b = second.lookup(A)
        assert b is not None and b.previous_addresses == ("2001:db8::1", "fe80::1") and b.sequence == 8
        assert second.lookup(bytes(8)).status is Status.QUARANTINED  # type: ignore[union-attr]
        # importing the same lines again changes nothing
        assert second.import_(io.StringIO(text)) == 0
        assert exported(second) == text


def test_a_line_carries_the_binding_and_its_history(db: Databases) -> None:
    with populated(db("a")) as r:
        line = json.loads(exported(r).splitlines()[1])
    assert line["system_title"] == "4D4D4D0000BC614E"
    assert line["addresses"] == ["2001:db8::2", "fe80::1"]
    assert (line["port"], line["wport"], line["status"], line["invocation_counter"], line["sequence"]) == (
        61616, 1, "registered", 2, 8)  # fmt: skip
    assert [(h["change"], h["invocation_counter"]) for h in line["history"]] == [("recorded", 1), ("updated", 2)]


def test_import_follows_the_ordering_rules(db: Databases) -> None:
    with populated(db("a")) as old:
        text = exported(old)
    with Registry.open(db("b")) as r:
        r.record_many([reg(A, 9, "2001:db8::99"), reg(B, 1, "2001:db8::bb")])
        # A is newer here (counter 9 > 2): kept; B is older (1 < 5): replaced
        assert r.import_(io.StringIO(text)) == 3
        assert r.lookup(A).addresses[0] == "2001:db8::99"  # type: ignore[union-attr]
        assert r.lookup(B).addresses[0] == "2001:db8::b"  # type: ignore[union-attr]
        assert [h["invocation_counter"] for h in r.history(B)] == [1, 5]


def test_a_bad_line_imports_nothing(db: Databases) -> None:
    with populated(db("a")) as old:
        lines = exported(old).splitlines()
    broken = "\n".join([lines[0], '{"system_title": "00"}', lines[1]]) + "\n"
    with Registry.open(db("b")) as r:
        with pytest.raises(JsonlError, match="line 2: 'system_title' is 1 octets, not 8"):
            r.import_(io.StringIO(broken))
        with pytest.raises(JsonlError, match="line 1: invalid JSON"):
            r.import_(io.StringIO("{nope\n"))
        assert r.list() == []
