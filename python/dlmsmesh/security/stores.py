"""Choosing an invocation counter store by URL.

``sqlite:///PATH`` (or a plain path) is a :class:`SqliteCounterStore` (one
machine), ``postgresql://...`` a :class:`PostgresCounterStore` (every
process of a head-end, on any machine).  Without a URL the
``DLMSMESH_DATABASE`` environment variable names one; without that, the
SQLite file of :func:`~dlmsmesh.security.sqlite_store.default_path`.
"""

from __future__ import annotations

import os
from typing import Any

from ..errors import DlmsError
from .counters import InvocationCounterStore

__all__ = ["DATABASE_ENV", "database_url", "open_counter_store"]

#: the environment variable naming the head-end's database (URL or SQLite path)
DATABASE_ENV = "DLMSMESH_DATABASE"


def database_url(url: str | os.PathLike[str] | None = None) -> str | None:
    """``url``, else ``$DLMSMESH_DATABASE`` (when set and not empty), else None."""
    if url is not None:
        return os.fspath(url)
    return os.environ.get(DATABASE_ENV) or None


def open_counter_store(url: str | os.PathLike[str] | None = None, **options: Any) -> InvocationCounterStore:
    """The counter store ``url`` names (see the module); ``options`` go to its
    constructor (``block``, ``first_counter``, ``timeout``...)."""
    where = database_url(url)
    if where is None:
        from .sqlite_store import SqliteCounterStore

        return SqliteCounterStore(**options)
    scheme, sep, rest = where.partition("://")
    if sep and scheme.lower() in ("postgresql", "postgres"):
        from .postgres_store import PostgresCounterStore

        return PostgresCounterStore(where, **options)
    if sep and scheme.lower() != "sqlite":
        raise DlmsError(f"unknown counter store {scheme!r}: expected a file path, sqlite:///PATH or postgresql://...")
    if sep and (not rest.startswith("/") or rest == "/"):
        raise DlmsError(f"{where!r}: expected sqlite:///PATH (three slashes, then the file)")
    from .sqlite_store import SqliteCounterStore

    return SqliteCounterStore(rest[1:] if sep else where, **options)
