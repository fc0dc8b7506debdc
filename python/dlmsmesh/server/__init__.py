"""The meter side: an asyncio :class:`Server` hosting any number of meters
(:class:`Meter`: a system title, its keys, its logical devices and
associations) over one datagram transport.  Requests sent to a multicast
address are group requests: members answer after a random delay inside
their response window (:mod:`dlmsmesh.server.group_requests`).

::

    from dlmsmesh.cosem import default_meter
    from dlmsmesh.server import Meter, MeterKeys, Server
    from dlmsmesh.transport import UdpTransport

    transport = await UdpTransport.open(("127.0.0.1", 4059))
    async with Server(transport) as server:
        server.add_meter(Meter.from_objects(default_meter(bytes.fromhex("4D4D4D0000BC614E"))))
        await asyncio.sleep(3600)
"""

from __future__ import annotations

from .core import DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_ASSOCIATIONS, Server, ServerStats
from .delayed import DEFAULT_MAX_DELAYED
from .groups import GroupStats
from .meter import ALL_STATION, PRE_ESTABLISHED_CLIENT, SECURITY_LOG_REASONS, Meter, MeterKeys, SecurityLog
from .replies import DEFAULT_MAX_PDU_SIZE
from .session import Session

__all__ = [
    "Server",
    "ServerStats",
    "Meter",
    "MeterKeys",
    "SecurityLog",
    "SECURITY_LOG_REASONS",
    "GroupStats",
    "DEFAULT_MAX_DELAYED",
    "Session",
    "ALL_STATION",
    "PRE_ESTABLISHED_CLIENT",
    "DEFAULT_MAX_PDU_SIZE",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_MAX_ASSOCIATIONS",
]
