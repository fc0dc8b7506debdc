"""``dlmsmesh registry``: what the registry knows, as JSON (docs/registry.md).

``list`` one JSON line per binding; ``show TITLE`` one binding with its
history; ``export`` / ``import`` JSON Lines on standard output / input;
``admit TITLE`` makes a quarantined meter registered.

Only the option parsing lives at import; the registry (SQLite or PostgreSQL) is imported
when the command runs, so ``dlmsmesh decode`` does not pay for it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .registration import Registry

__all__ = ["add_parser", "run", "DEFAULT_REGISTRY", "RegistryCliError"]

#: the registry file when --registry is not given (``dlmsmesh listen``'s default too)
DEFAULT_REGISTRY = "registry.sqlite"
_dumps = json.JSONEncoder(separators=(",", ":")).encode

_HELP = """\
Print what the registry knows, as JSON.

  list          one JSON line per binding, by system title
  show TITLE    one binding and its history: {"system_title", "addresses": [...],
                "port", "status", "last_update", ..., "history": [...]}
  export        every binding with its history, JSON Lines on standard output
  import        JSON Lines (as export writes them) from standard input, applied
                by the registry's ordering rules in one transaction; prints
                {"read": N, "applied": M}
  admit TITLE   make a quarantined meter registered (its keys were added);
                prints the binding

TITLE is the system title, 16 hex digits. The registry (--database) is a
SQLite file, sqlite:///PATH or postgresql://USER@HOST/DB; without
--database, $DLMSMESH_DATABASE, else registry.sqlite. A SQLite file must
exist except for import, which creates it.

exit status:
  0  done
  2  bad command line, no such registry or title, or a bad import line
     (one line on standard error: dlmsmesh registry: error: ...)
"""


class RegistryCliError(Exception):
    """A bad command line or registry: one line on standard error, exit 2."""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``registry`` on the ``dlmsmesh`` subparsers."""
    p: argparse.ArgumentParser = sub.add_parser(
        "registry",
        help="list, show, export, import or admit registry bindings (JSON)",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--database",
        "--registry",
        dest="database",
        metavar="URL",
        default=None,
        help=f"the registry: FILE, sqlite:///PATH or postgresql://... (default $DLMSMESH_DATABASE, else {DEFAULT_REGISTRY})",
    )
    p.add_argument("action", choices=("list", "show", "export", "import", "admit"), help="what to do")
    p.add_argument("title", nargs="?", metavar="TITLE", help="the system title (show, admit), 16 hex digits")
    p.set_defaults(func=run)
    return p


def _title(text: str | None, action: str) -> bytes:
    if text is None:
        raise RegistryCliError(f"{action} needs a TITLE (the system title, 16 hex digits)")
    try:
        title = bytes.fromhex(text)
    except ValueError:
        raise RegistryCliError(f"{text!r} is not a system title (16 hex digits)") from None
    if len(title) != 8:
        raise RegistryCliError(f"{text!r} is {len(title)} octets, a system title is 8 (16 hex digits)")
    return title


def _open(where: str | None, *, create: bool) -> Registry:
    from .registration import Registry
    from .registration.store import StoreError, is_postgres, store_location, store_path

    where = store_location(where)
    if not is_postgres(where):  # a PostgreSQL database exists, or the connection says why not
        try:
            path = store_path(where)
        except StoreError as exc:
            raise RegistryCliError(str(exc)) from None
        if not create and not os.path.exists(path):
            raise RegistryCliError(f"no registry at {path}")
    try:
        return Registry.open(where)
    except StoreError as exc:
        raise RegistryCliError(str(exc)) from None


def show_json(registry: Registry, title: bytes) -> dict[str, Any]:
    """``show``'s object: the keys the issue names first, then the rest of the binding, then the history."""
    from .registration.jsonl import binding_json

    binding = registry.lookup(title)
    if binding is None:
        raise RegistryCliError(f"no binding for system title {title.hex().upper()}")
    full = binding_json(binding)
    obj = {key: full.pop(key) for key in ("system_title", "addresses", "port", "status", "last_update")}
    obj.update(full)
    obj["history"] = registry.history(title)
    return obj


def _stdin_text() -> IO[str]:
    return sys.stdin if sys.stdin is not None else io.StringIO()


def _act(args: argparse.Namespace) -> int:
    from .registration.jsonl import JsonlError, binding_json
    from .registration.store import StoreError

    action: str = args.action
    if action in ("list", "export", "import") and args.title is not None:
        raise RegistryCliError(f"{action} takes no TITLE")
    title = _title(args.title, action) if action in ("show", "admit") else None
    registry = _open(args.database, create=action == "import")
    try:
        if action == "list":
            for binding in registry.list():
                sys.stdout.write(_dumps(binding_json(binding)) + "\n")
        elif action == "show":
            assert title is not None
            sys.stdout.write(_dumps(show_json(registry, title)) + "\n")
        elif action == "export":
            registry.export(sys.stdout)
        elif action == "import":
            text = _stdin_text().read()
            lines = sum(1 for line in text.splitlines() if line.strip())
            try:
                applied = registry.import_(io.StringIO(text))
            except (JsonlError, ValueError) as exc:
                raise RegistryCliError(f"import: {exc} (nothing imported)") from None
            sys.stdout.write(_dumps({"read": lines, "applied": applied}) + "\n")
        else:  # admit
            assert title is not None
            try:
                registry.admit(title)
            except KeyError:
                raise RegistryCliError(f"no binding for system title {title.hex().upper()}") from None
            admitted = registry.lookup(title)
            assert admitted is not None
            sys.stdout.write(_dumps(binding_json(admitted)) + "\n")
    except StoreError as exc:
        raise RegistryCliError(str(exc)) from None
    finally:
        registry.close()
    return 0


def run(args: argparse.Namespace) -> int:
    """``dlmsmesh registry``: 0 when done, 2 (one line on standard error) otherwise."""
    try:
        return _act(args)
    except RegistryCliError as exc:
        print(f"dlmsmesh registry: error: {exc}", file=sys.stderr)
        return 2
