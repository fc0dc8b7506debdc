"""The Registry: system title -> where the meter is now, and what it said before.

(Skeleton: signatures of the contract; bodies follow.)
"""

from __future__ import annotations

import enum
import os
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import IO, Any

from ..transport import Address

__all__ = ["Status", "Registration", "Binding", "Outcome", "ChangeKind", "Change", "Registry", "GRACE_PERIOD"]

#: how long a meter's previous addresses stay known after it moved (spec note §4.5 rule 2)
GRACE_PERIOD = 600.0


class Status(str, enum.Enum):
    REGISTERED = "registered"
    QUARANTINED = "quarantined"  # no keys for this system title: recorded for an operator to admit


@dataclass(frozen=True)
class Registration:
    """What the listener hands the registry, one per accepted frame."""

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
    previous_addresses: tuple[str, ...]


class Outcome(str, enum.Enum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    STALE = "stale"
    QUARANTINED = "quarantined"


class ChangeKind(str, enum.Enum):
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


class Registry:
    """System title -> binding, backed by a store (SQLite by default)."""

    @classmethod
    def open(cls, where: str | os.PathLike[str] = "registry.sqlite", **options: Any) -> Registry:
        raise NotImplementedError

    def record_many(self, items: Sequence[Registration]) -> list[Outcome]:
        raise NotImplementedError

    def quarantine_many(self, items: Sequence[Registration]) -> list[Outcome]:
        raise NotImplementedError

    async def arecord_many(self, items: Sequence[Registration]) -> list[Outcome]:
        raise NotImplementedError

    async def aquarantine_many(self, items: Sequence[Registration]) -> list[Outcome]:
        raise NotImplementedError

    def lookup(self, system_title: bytes) -> Binding | None:
        raise NotImplementedError

    async def resolve(self, system_title: bytes) -> Address:
        raise NotImplementedError

    async def title_of(self, address: Address) -> bytes | None:
        raise NotImplementedError

    def hops(self, system_title: bytes) -> int | None:
        return None

    def history(self, system_title: bytes) -> list[dict[str, Any]]:
        raise NotImplementedError

    def list(self) -> list[Binding]:
        raise NotImplementedError

    def admit(self, system_title: bytes) -> None:
        raise NotImplementedError

    def export(self, fp: IO[str]) -> int:
        raise NotImplementedError

    def import_(self, fp: IO[str]) -> int:
        raise NotImplementedError

    def watch(self) -> AsyncIterator[Change]:
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Registry:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
