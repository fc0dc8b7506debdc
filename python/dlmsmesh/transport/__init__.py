"""Datagram transports: the one interface a server, a client, a registry
listener and a simulator share, over real UDP or a simulated network.

A peer is written once against :class:`Datagram`::

    async def echo(endpoint: Datagram) -> None:
        for data, source in await endpoint.recv_batch(256, timeout=5.0):
            await endpoint.send(data, source)

and runs on a socket (``await UdpTransport.open("::1", MESH_UDP_PORT)``) or
on a simulated mesh whose time is virtual and whose losses repeat from a
seed::

    net = InProcessNetwork(seed=1, link=LinkProfile(delay=0.045, jitter=0.03, loss=0.01))
    meter = net.endpoint("2001:db8:1::203", MESH_UDP_PORT)
    ...
    await net.run_until_idle()

Failures are :class:`TransportError` (a :class:`~dlmsmesh.errors.DlmsError`);
waits that run out raise :class:`~dlmsmesh.errors.DlmsTimeout`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
from dlmsmesh.transport.udp import UdpHosts, UdpTransport, relay_datagram, unrelay_datagram

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
    "UdpHosts",
    "relay_datagram",
    "unrelay_datagram",
    "InProcessNetwork",
    "InProcessEndpoint",
    "LinkProfile",
    "NetworkStats",
    "Clock",
    "RealClock",
    "VirtualClock",
]

if TYPE_CHECKING:  # both implementations satisfy the interface, checked by mypy

    def _implements(udp: UdpTransport, hosts: UdpHosts, endpoint: InProcessEndpoint) -> tuple[Datagram, ...]:
        return udp, hosts, endpoint
