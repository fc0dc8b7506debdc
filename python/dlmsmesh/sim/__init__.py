"""The neighbourhood-network simulator behind ``dlmsmesh simulate``: a
head-end and emulated meters on a simulated mesh (:class:`MeshNetwork`:
real 6LoWPAN frames over radio hops under border routers, on a virtual
clock), or real UDP sockets on loopback on the wall clock (:mod:`.udp`)."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from dlmsmesh.sim.config import SimConfig

if TYPE_CHECKING:
    from dlmsmesh.sim.air import BorderRouterAir, MeshStats, Radio, snapshot_delta, uncompressed_frame_sizes
    from dlmsmesh.sim.mesh import MeshNetwork, Placement
    from dlmsmesh.sim.run import Report, Simulation, simulate

#: imported on first use: the command line reads SimConfig's defaults to build
#: its parser, and every ``dlmsmesh`` command would pay for the whole simulator
_LAZY = {
    "BorderRouterAir": "air", "MeshStats": "air", "Radio": "air", "snapshot_delta": "air",
    "uncompressed_frame_sizes": "air", "MeshNetwork": "mesh", "Placement": "mesh",
    "Report": "run", "Simulation": "run", "simulate": "run",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value

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
