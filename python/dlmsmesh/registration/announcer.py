"""The meter side of registration: a Meter of a Server announces its addresses.

(skeleton: the API is fixed, the body comes next)
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..server import Meter, Server
from ..transport.clock import Clock
from .announce import AnnouncementKind

__all__ = ["Announcer", "AnnouncerStats"]


@dataclass
class AnnouncerStats:
    sent: int = 0
    retries: int = 0


class Announcer:
    """Sends one meter's registration and address updates."""

    def __init__(
        self,
        server: Server,
        meter: Meter,
        *,
        destination: tuple[str, int] | None = None,
        rng: random.Random | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.server = server
        self.meter = meter
        self.destination = destination
        self.stats = AnnouncerStats()

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError

    def address_changed(self) -> None:
        raise NotImplementedError

    async def announce(self, kind: AnnouncementKind = AnnouncementKind.UPDATE) -> None:
        raise NotImplementedError
