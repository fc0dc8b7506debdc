"""Keys files: the meters' keys a head-end tool reads, one meter a line.

A keys file is JSON Lines (UTF-8), one object per meter::

    {"system_title": "4D4D4D0000BC614E", "ek": "000102...0F", "ak": "D0D1...DF"}

with the optional members ``bk`` (broadcast key), ``dk`` (dedicated key)
and ``suite`` (0, 1 or 2; default 0).  Keys are hex of the suite's size (16
octets, 32 in suite 2); hex is read in either case.  Blank lines are
skipped; anything else that is not such an object is an error naming the
line (:class:`~dlmsmesh.registration.errors.KeysFileError`), never a line
skipped in silence, and no error message or ``repr`` shows key material.
The same format goes wherever a command takes keys (``dlmsmesh listen
--keys``, the registry tools).
"""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, TextIO, Union

from ..security import DEFAULT_POLICY, InvocationCounterStore, Keyring, Role, SecurityContext, SecurityPolicy
from ..security.tags import SecuritySuite
from .errors import KeysFileError

__all__ = ["KeyEntry", "read_keys", "load_keys", "keys_lines", "pick_keys", "keyring_of"]

#: what a line may hold; anything else is refused (a misspelt "bk" must not vanish)
FIELDS = ("system_title", "ek", "ak", "bk", "dk", "suite")
_KEYS = ("ek", "ak", "bk", "dk")

Source = Union[str, "os.PathLike[str]", TextIO, Iterable[str]]


@dataclass(frozen=True, repr=False)
class KeyEntry:
    """One meter's keys from a keys file (``line``: where it was read, 0 when
    built in code).  ``repr`` names the keys held, never their values."""

    system_title: bytes
    ek: bytes
    ak: bytes
    bk: bytes | None = None
    dk: bytes | None = None
    suite: int = SecuritySuite.AES_GCM_128
    line: int = 0

    def __post_init__(self) -> None:
        try:
            suite = SecuritySuite(self.suite)
        except ValueError:
            raise ValueError(f"the security suite is 0, 1 or 2, not {self.suite!r}") from None
        object.__setattr__(self, "suite", int(suite))
        if len(self.system_title) != 8:
            raise ValueError(f"a system title is 8 octets, not {len(self.system_title)}")
        for name in _KEYS:
            key = getattr(self, name)
            if key is not None and len(key) != suite.key_size:
                raise ValueError(f"{name} is {suite.key_size} octets in suite {int(suite)}, not {len(key)}")

    def __repr__(self) -> str:
        held = "/".join(name for name in _KEYS if getattr(self, name) is not None)
        return f"KeyEntry({self.system_title.hex().upper()}, suite={self.suite}, keys={held})"

    def to_json(self) -> dict[str, Any]:
        """The object of this entry's line (keys in upper-case hex)."""
        out: dict[str, Any] = {"system_title": self.system_title.hex().upper()}
        for name in _KEYS:
            key = getattr(self, name)
            if key is not None:
                out[name] = key.hex().upper()
        if self.suite:
            out["suite"] = self.suite
        return out

    def context(
        self,
        system_title: bytes | None = None,
        *,
        counters: InvocationCounterStore | None = None,
        policy: SecurityPolicy | int = DEFAULT_POLICY,
        role: Role | str = Role.CLIENT,
    ) -> SecurityContext:
        """A security context towards this meter (``system_title``: ours)."""
        return SecurityContext(
            system_title,
            peer_system_title=self.system_title,
            suite=self.suite,
            ek=self.ek,
            ak=self.ak,
            bk=self.bk,
            dk=self.dk,
            policy=policy,
            role=role,
            counters=counters,
        )


def _hex(value: Any, name: str, line: int, source: str) -> bytes:
    if not isinstance(value, str):
        raise KeysFileError(f'"{name}" is a hex string, not {_json_type(value)}', line=line, source=source)
    try:
        return bytes.fromhex(value)
    except ValueError:
        # the text itself is key material: say what is wrong, not what it was
        raise KeysFileError(f'"{name}" is not hex ({len(value)} characters)', line=line, source=source) from None


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number"
    )


def _entry(obj: Any, line: int, source: str) -> KeyEntry:
    if not isinstance(obj, dict):
        raise KeysFileError(f"a line is a JSON object, not {_json_type(obj)}", line=line, source=source)
    unknown = sorted(set(obj) - set(FIELDS))
    if unknown:
        names = ", ".join(json.dumps(name) for name in unknown)
        raise KeysFileError(f"unknown member {names} (known: {', '.join(FIELDS)})", line=line, source=source)
    for name in ("system_title", "ek", "ak"):
        if name not in obj:
            raise KeysFileError(f'"{name}" is missing', line=line, source=source)
    suite = obj.get("suite", 0)
    if isinstance(suite, bool) or not isinstance(suite, int) or suite not in (0, 1, 2):
        raise KeysFileError(f'"suite" is 0, 1 or 2, not {json.dumps(suite)}', line=line, source=source)
    title = _hex(obj["system_title"], "system_title", line, source)
    if len(title) != 8:
        raise KeysFileError(f'"system_title" is 8 octets, not {len(title)}', line=line, source=source)
    size = SecuritySuite(suite).key_size
    keys: dict[str, bytes | None] = {}
    for name in _KEYS:
        if name not in obj or (name in ("bk", "dk") and obj[name] is None):
            keys[name] = None
            continue
        key = _hex(obj[name], name, line, source)
        if len(key) != size:
            raise KeysFileError(f'"{name}" is {size} octets in suite {suite}, not {len(key)}', line=line, source=source)
        keys[name] = key
    ek, ak = keys["ek"], keys["ak"]
    assert ek is not None and ak is not None
    return KeyEntry(title, ek, ak, keys["bk"], keys["dk"], suite, line)


def _lines(source: Source) -> tuple[Iterable[str], str, TextIO | None]:
    if isinstance(source, str) and ("\n" in source or source.lstrip().startswith("{")):
        # the text of a keys file, not a path (and never to be echoed as one)
        return source.splitlines(), "", None
    if isinstance(source, (str, os.PathLike)):
        name = os.fspath(source)
        try:
            handle = open(name, encoding="utf-8")  # noqa: SIM115 - closed by read_keys
        except OSError as exc:
            raise KeysFileError(f"cannot read the keys file: {exc.strerror or exc}", source=name) from None
        return handle, name, handle
    if isinstance(source, (bytes, bytearray)):
        raise TypeError("give a path, a text file or lines of text, not bytes")
    return source, getattr(source, "name", "") if isinstance(getattr(source, "name", ""), str) else "", None


def read_keys(source: Source) -> list[KeyEntry]:
    """Every entry of a keys file (a path, an open text file, lines, or
    the file's whole text: a string holding a newline or starting with
    ``{``), checked: KeysFileError names the first bad line; a system title given
    twice is an error (which keys would win is not a guess to make)."""
    lines, name, handle = _lines(source)
    entries: list[KeyEntry] = []
    seen: dict[bytes, int] = {}
    try:
        for number, text in enumerate(lines, 1):
            if not isinstance(text, str):
                raise TypeError("lines of a keys file are text")
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except json.JSONDecodeError as exc:
                # exc.doc is the line, and may hold a key: only the position goes out
                raise KeysFileError(f"not JSON ({exc.msg} at column {exc.colno})", line=number, source=name) from None
            entry = _entry(obj, number, name)
            first = seen.setdefault(entry.system_title, number)
            if first != number:
                raise KeysFileError(
                    f"system title {entry.system_title.hex().upper()} is on line {first} already",
                    line=number,
                    source=name,
                )
            entries.append(entry)
    except UnicodeDecodeError:
        raise KeysFileError("not UTF-8 text", source=name) from None
    finally:
        if handle is not None:
            handle.close()
    return entries


def keyring_of(
    entries: Iterable[KeyEntry],
    *,
    system_title: bytes | None = None,
    counters: InvocationCounterStore | None = None,
    policy: SecurityPolicy | int = DEFAULT_POLICY,
) -> Keyring:
    """A :class:`~dlmsmesh.security.Keyring` with one context per entry
    (``system_title``: the head-end's own, for what it sends; ``counters``:
    where the counters accepted from each meter are kept)."""
    return Keyring(entry.context(system_title, counters=counters, policy=policy) for entry in entries)


def load_keys(
    path_or_lines: Source,
    *,
    system_title: bytes | None = None,
    counters: InvocationCounterStore | None = None,
    policy: SecurityPolicy | int = DEFAULT_POLICY,
) -> Keyring:
    """The keyring of a keys file: :func:`read_keys` then :func:`keyring_of`."""
    return keyring_of(read_keys(path_or_lines), system_title=system_title, counters=counters, policy=policy)


def pick_keys(source: Source, system_title: bytes | None = None) -> KeyEntry:
    """The one entry a command that talks to one meter uses: the line of
    ``system_title``, or (none given) the file's only line.  KeysFileError
    when there is no such line, or several and no title to choose by."""
    entries = read_keys(source)
    name = source if isinstance(source, (str, os.PathLike)) and "\n" not in str(source) else ""
    if system_title is not None:
        for entry in entries:
            if entry.system_title == bytes(system_title):
                return entry
        raise KeysFileError(f"no line for system title {bytes(system_title).hex().upper()}", source=str(name))
    if len(entries) != 1:
        raise KeysFileError(f"{len(entries)} meters in the file: give the system title to choose one", source=str(name))
    return entries[0]


def keys_lines(entries: Iterable[Any]) -> str:
    """The keys file of ``entries`` (each a :class:`KeyEntry`, or anything
    with ``system_title`` and ``keys`` holding ``ek``/``ak``/``bk``/``suite``
    such as a :class:`~dlmsmesh.server.Meter`): one line each, ending in a
    newline; :func:`read_keys` gives the entries back."""
    out = io.StringIO()
    for item in entries:
        entry = item if isinstance(item, KeyEntry) else _from_meter(item)
        out.write(json.dumps(entry.to_json(), separators=(", ", ": ")) + "\n")
    return out.getvalue()


def _from_meter(meter: Any) -> KeyEntry:
    keys = getattr(meter, "keys", None)
    if keys is None or getattr(keys, "ek", None) is None or getattr(keys, "ak", None) is None:
        raise ValueError(f"{meter!r} has no global keys (ek and ak) to write")
    return KeyEntry(bytes(meter.system_title), keys.ek, keys.ak, keys.bk, None, int(keys.suite))
