"""The Registry's JSON Lines form: one binding a line, with its history (docs/registry.md).

``export`` then ``import_`` into an empty registry then ``export`` again gives
the same bytes: every field is written, floats in their shortest exact form,
keys in a fixed order.  A line that does not parse names its line number and
nothing is imported.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import IO, Any

from .model import Binding, Status
from .store import HistoryEntry

__all__ = ["JsonlError", "binding_json", "entry_json", "write", "read", "parse_line"]

_dumps = json.JSONEncoder(separators=(",", ":"), allow_nan=False).encode


class JsonlError(ValueError):
    """A line of a registry export that cannot be imported."""


def binding_json(b: Binding) -> dict[str, Any]:
    """A binding as JSON (``system_title`` in upper-case hex, as the CLI prints titles)."""
    return {
        "system_title": b.system_title.hex().upper(),
        "addresses": list(b.addresses),
        "port": b.port,
        "wport": b.wport,
        "status": b.status.value,
        "last_update": b.last_update,
        "invocation_counter": b.invocation_counter,
        "sequence": b.sequence,
        "kind": b.kind,
        "previous_addresses": list(b.previous_addresses),
        "previous_until": b.previous_until,
        "source": b.source,
    }


def entry_json(e: HistoryEntry) -> dict[str, Any]:
    return e.as_dict()


def write(rows: Iterable[tuple[Binding, list[HistoryEntry]]], fp: IO[str]) -> int:
    count = 0
    for binding, entries in rows:
        obj = binding_json(binding)
        obj["history"] = [entry_json(e) for e in entries]
        fp.write(_dumps(obj) + "\n")
        count += 1
    return count


def _field(obj: dict[str, Any], name: str, kinds: type | tuple[type, ...], *, optional: bool = False) -> Any:
    if name not in obj:
        raise JsonlError(f"missing {name!r}")
    value = obj[name]
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, kinds):
        raise JsonlError(f"{name!r} is {value!r}")
    return value


def _addresses(obj: dict[str, Any], name: str) -> tuple[str, ...]:
    value = _field(obj, name, list)
    if not all(isinstance(a, str) and a and " " not in a for a in value):
        raise JsonlError(f"{name!r} must be a list of addresses")
    return tuple(value)


def _number(obj: dict[str, Any], name: str) -> float:
    return float(_field(obj, name, (int, float)))


def _binding(obj: dict[str, Any], title: bytes, previous: bool) -> Binding:
    try:
        status = Status(_field(obj, "status", str))
    except ValueError:
        raise JsonlError(f"'status' is {obj.get('status')!r}") from None
    kind = _field(obj, "kind", str)
    if kind not in ("registration", "update"):
        raise JsonlError(f"'kind' is {kind!r}")
    until = _field(obj, "previous_until", (int, float), optional=True) if previous else None
    return Binding(
        system_title=title,
        addresses=_addresses(obj, "addresses"),
        port=_field(obj, "port", int),
        wport=_field(obj, "wport", int),
        status=status,
        last_update=_number(obj, "last_update"),
        invocation_counter=_field(obj, "invocation_counter", int, optional=True),
        sequence=_field(obj, "sequence", int, optional=True),
        kind=kind,
        previous_addresses=_addresses(obj, "previous_addresses") if previous else (),
        previous_until=None if until is None else float(until),
        source=_field(obj, "source", str),
    )


def parse_line(text: str) -> tuple[Binding, list[HistoryEntry]]:
    """One exported line back into a binding and its history."""
    try:
        obj = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise JsonlError(f"invalid JSON: {exc}") from None
    if not isinstance(obj, dict):
        raise JsonlError("expected a JSON object")
    try:
        title = bytes.fromhex(_field(obj, "system_title", str))
    except ValueError:
        raise JsonlError(f"'system_title' is {obj.get('system_title')!r}") from None
    if len(title) != 8:
        raise JsonlError(f"'system_title' is {len(title)} octets, not 8")
    binding = _binding(obj, title, previous=True)
    entries: list[HistoryEntry] = []
    for item in obj.get("history", []) or []:
        if not isinstance(item, dict):
            raise JsonlError("a history entry is a JSON object")
        change = _field(item, "change", str)
        if change not in ("recorded", "updated", "quarantined", "admitted"):
            raise JsonlError(f"history 'change' is {change!r}")
        entries.append(HistoryEntry(0, _number(item, "at"), change, _binding(item, title, previous=False)))
    return binding, entries


def read(fp: IO[str]) -> Iterator[tuple[Binding, list[HistoryEntry]]]:
    """Every binding of a JSON Lines stream (blank lines skipped); :class:`JsonlError` names the line."""
    for number, line in enumerate(fp, 1):
        if not line.strip():
            continue
        try:
            yield parse_line(line)
        except JsonlError as exc:
            raise JsonlError(f"line {number}: {exc}") from None
