"""One association as the server keeps it: who (client SAP, peer address,
system title), what was negotiated (conformance, PDU sizes, mechanism), how
far authentication went, its security context, and the long transfers under
way (GET/ACTION replies sent in blocks, SET/ACTION requests received in
blocks, general-block-transfer both ways)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from ..cosem import AssociationLN
from ..security import SecurityContext, SecurityPolicy
from ..transport import Address
from ..xdlms_initiate import Conformance
from .meter import Meter

__all__ = ["Session", "SessionKey", "OutgoingBlocks", "IncomingBlocks"]

#: (meter index, server SAP, client SAP, peer address)
SessionKey = tuple[int, int, int, Address]


@dataclass(eq=False)
class OutgoingBlocks:
    """A reply too long for one APDU, cut into ``blocks``; ``sent`` of them are out."""

    kind: str  # "get", "action" or "gbt"
    invoke_id: int
    blocks: list[bytes]
    sent: int = 0

    @property
    def done(self) -> bool:
        return self.sent >= len(self.blocks)


@dataclass(eq=False)
class IncomingBlocks:
    """A request arriving in blocks: the raw data so far and what it is for."""

    kind: str  # "set", "set-list", "action", "action-list" or "gbt"
    invoke_id: int
    block_number: int
    data: bytearray
    descriptors: Any = None


@dataclass(eq=False)
class Session:
    meter: Meter
    meter_index: int
    association: AssociationLN
    client_sap: int
    server_sap: int
    peer: Address
    pre_established: bool
    policy: SecurityPolicy
    conformance: Conformance
    client_max_pdu: int
    mechanism: int = 0
    authenticated: bool = True
    client_title: bytes | None = None
    context: SecurityContext | None = None
    ciphered_context: bool = False
    stoc: bytes | None = None
    ctos: bytes | None = None
    last_used: float = 0.0
    keys_version: int = 0
    outgoing: OutgoingBlocks | None = None
    incoming: IncomingBlocks | None = None
    gbt_in: IncomingBlocks | None = None
    gbt_out: OutgoingBlocks | None = None
    gbt_window: int = 1
    #: the last general-block-transfer block number received from the client
    gbt_received: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: requests of this association being served or waiting for ``lock``
    busy: int = 0

    def held(self) -> _Held:
        """``async with session.held():`` holds :attr:`lock`, counted in
        :attr:`busy` from the moment it waits (the server's express lane
        serves a session only when nothing is under way in it)."""
        return _Held(self)

    @property
    def key(self) -> SessionKey:
        return (self.meter_index, self.server_sap, self.client_sap, self.peer)

    def allows(self, flags: Conformance) -> bool:
        """Whether every one of ``flags`` was negotiated."""
        # as ints: IntFlag's & builds a flag object (checked) on every request
        wanted = int(flags)
        return int(self.conformance) & wanted == wanted


class _Held:
    __slots__ = ("session",)

    def __init__(self, session: Session) -> None:
        self.session = session

    async def __aenter__(self) -> None:
        session = self.session
        session.busy += 1
        try:
            await session.lock.acquire()
        except BaseException:
            session.busy -= 1
            raise

    async def __aexit__(self, *exc: object) -> None:
        session = self.session
        session.lock.release()
        session.busy -= 1
