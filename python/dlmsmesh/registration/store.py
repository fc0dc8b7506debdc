"""The interface a Registry's store implements, the ordering rules every store applies, and
the choice of a store by URL.

SQLite (:mod:`.sqlite_store`) is the default: one file shared by the
processes of one machine.  The PostgreSQL store (:mod:`.postgres_store`)
implements the same :class:`Store` when one head-end becomes several
processes on several machines; the Registry above (cache, watch, resolver,
async wrappers) does not change.  A location is a SQLite path,
``sqlite:///PATH`` or ``postgresql://...``; none given, the
``DLMSMESH_DATABASE`` environment variable names one, else
``registry.sqlite``.

Every store keeps a *change log* (the history: one row per accepted change,
numbered in commit order).  It is the binding's audit trail, the feed
:meth:`dlmsmesh.Registry.watch` reads, and what tells another process's
cache which titles to forget.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from ..errors import DlmsError
from .model import Binding, Change, Outcome, Registration, Status

__all__ = [
    "Store",
    "StoreError",
    "HistoryEntry",
    "Stored",
    "Notifying",
    "open_store",
    "store_path",
    "store_location",
    "is_postgres",
    "decide",
    "same_content",
    "DATABASE_ENV",
    "DEFAULT_LOCATION",
]

#: the environment variable naming the head-end's database (URL or SQLite path)
DATABASE_ENV = "DLMSMESH_DATABASE"
#: the registry when neither a location nor the environment names one
DEFAULT_LOCATION = "registry.sqlite"


class StoreError(DlmsError):
    """The store cannot be opened or written (a bad URL, a file of a newer schema, a database error)."""


@dataclass(frozen=True)
class HistoryEntry:
    """One accepted change of a binding: the binding as it became, and why."""

    id: int  # the change's number in this store (commit order)
    at: float  # when the change happened (unix time)
    change: str  # ChangeKind value: recorded / updated / quarantined / admitted
    binding: Binding

    def as_dict(self) -> dict[str, Any]:
        b = self.binding
        return {
            "at": self.at,
            "change": self.change,
            "status": b.status.value,
            "kind": b.kind,
            "addresses": list(b.addresses),
            "port": b.port,
            "wport": b.wport,
            "invocation_counter": b.invocation_counter,
            "sequence": b.sequence,
            "source": b.source,
            "last_update": b.last_update,
        }


class Store(Protocol):
    """What the Registry needs of a database.  Every method is blocking (the
    Registry calls it from a worker thread when on an event loop) and safe to
    call from several threads."""

    def apply(self, items: Sequence[Registration], *, quarantine: bool) -> tuple[list[Outcome], set[bytes]]:
        """Record ``items`` in ONE transaction, in order, by :func:`decide`
        (``quarantine``: as quarantined records).  Durable when it returns.
        Gives the outcome of each item and the titles whose binding changed."""
        ...

    def apply_batch(
        self, records: Sequence[Registration], quarantined: Sequence[Registration]
    ) -> tuple[list[Outcome], list[Outcome], set[bytes]]:
        """:meth:`apply` of ``records`` then of ``quarantined`` (as quarantined), in ONE transaction."""
        ...

    def get(self, system_title: bytes) -> Binding | None: ...

    def bindings(self) -> list[Binding]: ...

    def history(self, system_title: bytes) -> list[HistoryEntry]: ...

    def admit(self, system_title: bytes, at: float) -> Binding:
        """Make a quarantined binding registered (``KeyError`` when the title is unknown)."""
        ...

    def version(self) -> int:
        """A number that changes when another connection or process committed (cheap: called often)."""
        ...

    def last_change(self) -> int:
        """The number of the newest change (0: none yet)."""
        ...

    def changes_since(self, after: int, limit: int) -> list[tuple[int, Change]]:
        """The changes numbered above ``after``, oldest first, at most ``limit``."""
        ...

    def changed_titles_since(self, after: int) -> tuple[int, list[bytes]]:
        """(the newest change number, the titles changed above ``after``)."""
        ...

    def import_rows(self, rows: Iterable[tuple[Binding, list[HistoryEntry]]]) -> tuple[int, set[bytes]]:
        """Apply exported bindings (with their history) by :func:`decide`, one transaction."""
        ...

    def export_rows(self) -> Iterator[tuple[Binding, list[HistoryEntry]]]: ...

    def set_groups(self, system_title: bytes, group_ids: Iterable[int]) -> bool:
        """Make ``group_ids`` the meter's group memberships, one transaction; True when they changed."""
        ...

    def change_members(self, group_id: int, add: Iterable[bytes] = (), remove: Iterable[bytes] = ()) -> int:
        """Add and remove members of one group, one transaction; the memberships changed."""
        ...

    def members(self, group_id: int) -> set[bytes]: ...

    def groups_of(self, system_title: bytes) -> set[int]: ...

    def close(self) -> None: ...


class Notifying(Protocol):
    """A store that hears other processes' commits (PostgreSQL's LISTEN):
    the Registry wakes its watchers at once instead of at the next poll."""

    def subscribe(self, call: Callable[[], None]) -> None: ...


# ---------------------------------------------------------------- the ordering rules


class Stored(Protocol):
    """What the ordering rules read of a stored binding (a :class:`Binding`, or a store's lighter row)."""

    @property
    def status(self) -> Status: ...
    @property
    def addresses(self) -> tuple[str, ...]: ...
    @property
    def port(self) -> int: ...
    @property
    def wport(self) -> int: ...
    @property
    def kind(self) -> str: ...
    @property
    def invocation_counter(self) -> int | None: ...
    @property
    def sequence(self) -> int | None: ...


class ApplyByBatch:
    """:meth:`Store.apply` in terms of the store's ``apply_batch`` (one
    transaction for the recorded and the quarantined items)."""

    def apply_batch(
        self, records: Sequence[Registration], quarantined: Sequence[Registration]
    ) -> tuple[list[Outcome], list[Outcome], set[bytes]]:
        raise NotImplementedError

    def apply(self, items: Sequence[Registration], *, quarantine: bool) -> tuple[list[Outcome], set[bytes]]:
        if quarantine:
            _, outcomes, changed = self.apply_batch((), items)
        else:
            outcomes, _, changed = self.apply_batch(items, ())
        return outcomes, changed


def same_content(a: Registration | Binding, b: Stored) -> bool:
    return (
        a.addresses == b.addresses
        and a.port == b.port
        and a.wport == b.wport
        and a.kind == b.kind
        and a.sequence == b.sequence
    )


def decide(new: Registration | Binding, old: Stored | None, *, quarantine: bool) -> Outcome:
    """Whether ``new`` replaces ``old`` (spec note mesh-profile §4.5), as its outcome.

    - a quarantined record never replaces a registered binding (STALE);
    - a registered record always replaces a quarantined one: the quarantined
      counter and sequence were never verified, so they cannot hold back the
      meter's first authenticated announcement;
    - otherwise, when both carry an invocation counter: below the stored one
      is STALE, equal is DUPLICATE (a repetition of the same frame);
    - when both carry a sequence number, a lower one is STALE;
    - without counters to compare (plain records, imports of them), the same
      content again is DUPLICATE;
    - anything else is recorded (RECORDED, or QUARANTINED for ``quarantine``).

    Every store repeats these rules inside its write (SQLite: the WHERE of the
    upsert), so two processes writing at once cannot regress a binding.
    """
    done = Outcome.QUARANTINED if quarantine else Outcome.RECORDED
    if old is None:
        return done
    if old.status is Status.REGISTERED and quarantine:
        return Outcome.STALE
    if old.status is Status.QUARANTINED and not quarantine:
        return done
    ic, old_ic = new.invocation_counter, old.invocation_counter
    if ic is not None and old_ic is not None:
        if ic < old_ic:
            return Outcome.STALE
        if ic == old_ic:
            return Outcome.DUPLICATE
    if new.sequence is not None and old.sequence is not None and new.sequence < old.sequence:
        return Outcome.STALE
    if (ic is None or old_ic is None) and same_content(new, old):
        return Outcome.DUPLICATE
    return done


# ---------------------------------------------------------------- choosing a store


def history_to_import(
    binding: Binding, entries: Sequence[HistoryEntry], old: Stored | None, have: set[tuple[Any, ...]]
) -> list[HistoryEntry]:
    """The history entries an import of ``binding`` adds, in order: its
    ``entries`` (each of its own title) not already stored — ``have``: the
    stored (at, change, invocation counter) of the title, updated here — or,
    when it brings none, the one change the binding itself is."""
    if not entries:
        quarantine = binding.status is Status.QUARANTINED
        change = "quarantined" if quarantine else ("recorded" if old is None else "updated")
        entries = [HistoryEntry(0, binding.last_update, change, binding)]
    added = []
    for entry in entries:
        if entry.binding.system_title != binding.system_title:
            raise ValueError("a history entry of another system title")
        key = (entry.at, entry.change, entry.binding.invocation_counter)
        if key not in have:
            have.add(key)
            added.append(entry)
    return added


def store_location(where: str | os.PathLike[str] | None = None) -> str:
    """The registry a location names: ``where``, else ``$DLMSMESH_DATABASE``
    (when set and not empty), else ``registry.sqlite``."""
    if where is not None:
        return os.fspath(where)
    return os.environ.get(DATABASE_ENV) or DEFAULT_LOCATION


def is_postgres(where: str | os.PathLike[str]) -> bool:
    """Whether a location is a PostgreSQL URL (``postgresql://`` or ``postgres://``)."""
    scheme, sep, _ = os.fspath(where).partition("://")
    return bool(sep) and scheme.lower() in ("postgresql", "postgres")


def store_path(where: str | os.PathLike[str]) -> str:
    """The SQLite file a location names: a path, or a ``sqlite:///path`` URL
    (``sqlite:////abs/path`` for an absolute one).  A PostgreSQL URL or any
    other scheme is a :class:`StoreError`."""
    text = os.fspath(where)
    if "://" not in text:
        if not text:
            raise StoreError("no registry file given")
        return text
    scheme, _, rest = text.partition("://")
    scheme = scheme.lower()
    if scheme in ("postgresql", "postgres"):
        raise StoreError(f"{scheme}://... names a PostgreSQL database, not a SQLite file")
    if scheme != "sqlite":
        raise StoreError(
            f"unknown registry store {scheme!r}: expected a file path, sqlite:///PATH or postgresql://..."
        )
    if not rest.startswith("/") or rest == "/":
        raise StoreError(f"{text!r}: expected sqlite:///PATH (three slashes, then the file)")
    return rest[1:]


_SQLITE_ONLY = ("synchronous", "busy_timeout")
_POSTGRES_ONLY = ("timeout", "pool_size")


def open_store(where: str | os.PathLike[str] | None = None, **options: Any) -> Store:
    """The store a location names (:func:`store_location`): SQLite for a path
    or ``sqlite:///PATH``, PostgreSQL for ``postgresql://...``.  ``options``
    another backend does not take (``synchronous`` for PostgreSQL,
    ``pool_size`` for SQLite...) are left out."""
    location = store_location(where)
    if is_postgres(location):
        from .postgres_store import PostgresStore

        return PostgresStore(location, **{k: v for k, v in options.items() if k not in _SQLITE_ONLY})
    from .sqlite_store import SqliteStore

    return SqliteStore(store_path(location), **{k: v for k, v in options.items() if k not in _POSTGRES_ONLY})
