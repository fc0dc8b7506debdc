"""The head-end side: an asyncio :class:`Client` that opens and keeps
associations with meters by system title over one datagram endpoint."""

from __future__ import annotations

from .association import Association
from .core import Client, ClientStats
from .resolver import AddressResolver, MemoryResolver

__all__ = ["Client", "ClientStats", "Association", "AddressResolver", "MemoryResolver"]
