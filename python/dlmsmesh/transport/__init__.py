"""Datagram transports: the one interface a server, a client, a registry
listener and a simulator share, over real UDP or a simulated network.

>>> from dlmsmesh.transport import UdpTransport, InProcessNetwork, LinkProfile
"""

from __future__ import annotations

from dlmsmesh.transport.clock import Clock, RealClock, VirtualClock
from dlmsmesh.transport.inprocess import InProcessEndpoint, InProcessNetwork, LinkProfile, NetworkStats
from dlmsmesh.transport.interface import (
    DLMS_UDP_PORT,
    MAX_DATAGRAM,
    MESH_UDP_PORT,
    Address,
    AddressError,
    Datagram,
    Incoming,
    TransportClosed,
    TransportError,
)
from dlmsmesh.transport.udp import UdpTransport

__all__ = [
    "DLMS_UDP_PORT",
    "MESH_UDP_PORT",
    "MAX_DATAGRAM",
    "Address",
    "Datagram",
    "Incoming",
    "TransportError",
    "TransportClosed",
    "AddressError",
    "UdpTransport",
    "InProcessNetwork",
    "InProcessEndpoint",
    "LinkProfile",
    "NetworkStats",
    "Clock",
    "RealClock",
    "VirtualClock",
]
