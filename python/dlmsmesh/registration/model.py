"""The Registry's data: what the listener hands it, what it keeps, what it reports.

Kept apart from :mod:`.registry` so the stores (:mod:`.store`,
:mod:`.sqlite_store`) and the Registry above them share one model without an
import cycle; :mod:`.registry` re-exports every name.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["Status", "Registration", "Binding", "Outcome", "ChangeKind", "Change"]


class Status(str, enum.Enum):
    """Whether the head-end has the keys of a title."""

    REGISTERED = "registered"
    QUARANTINED = "quarantined"  # no keys for this system title: recorded for an operator to admit


class Registration(NamedTuple):
    """What the listener hands the registry, one per accepted frame.

    A named tuple, immutable as a frozen dataclass would be: the listener
    makes one per registration of a storm, and a tuple is made in a fifth
    of the time."""

    system_title: bytes
    addresses: tuple[str, ...]
    port: int
    wport: int
    kind: str  # "registration" | "update"
    invocation_counter: int | None  # of the ciphered frame (None: plain / quarantined)
    sequence: int | None
    received_at: float  # unix time
    source: str  # the datagram's source host (IPv6 text)


@dataclass(frozen=True)
class Binding:
    """What :meth:`Registry.lookup` gives."""

    system_title: bytes
    addresses: tuple[str, ...]
    port: int
    wport: int
    status: Status
    last_update: float
    invocation_counter: int | None
    sequence: int | None
    kind: str
    previous_addresses: tuple[str, ...]  # kept for a grace period (spec note §4.5 rule 2)
    previous_until: float | None = None  # the end of that grace period (unix time)
    source: str = ""  # the source host of the announcement recorded


class Outcome(str, enum.Enum):
    """What recording one item did (:func:`dlmsmesh.registration.store.decide`)."""

    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    STALE = "stale"
    QUARANTINED = "quarantined"


class ChangeKind(str, enum.Enum):
    """What a change (a history entry, an item of :meth:`Registry.watch`) was."""

    RECORDED = "recorded"  # a title seen for the first time
    UPDATED = "updated"  # a known title's binding changed
    QUARANTINED = "quarantined"
    ADMITTED = "admitted"


@dataclass(frozen=True)
class Change:
    """One change :meth:`Registry.watch` yields."""

    kind: ChangeKind
    system_title: bytes
    binding: Binding | None
    at: float
