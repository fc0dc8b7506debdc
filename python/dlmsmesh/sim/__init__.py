"""The neighbourhood-network simulator behind ``dlmsmesh simulate``: a
head-end and emulated meters on a simulated mesh (:class:`MeshNetwork`:
real 6LoWPAN frames over radio hops under border routers, on a virtual
clock), or real UDP sockets on loopback on the wall clock (:mod:`.udp`)."""

from __future__ import annotations

from dlmsmesh.sim.air import BorderRouterAir, MeshStats, Radio, snapshot_delta, uncompressed_frame_sizes
from dlmsmesh.sim.config import SimConfig
from dlmsmesh.sim.mesh import MeshNetwork, Placement
from dlmsmesh.sim.run import Report, Simulation, simulate

__all__ = [
    # the mesh transport
    "MeshNetwork",
    "Placement",
    "Radio",
    "MeshStats",
    "BorderRouterAir",
    "snapshot_delta",
    "uncompressed_frame_sizes",
    # the run and its report
    "SimConfig",
    "Simulation",
    "Report",
    "simulate",
]
