"""What one simulation run is: the neighbourhood, the radio and the seed."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["SimConfig", "TRANSPORTS", "THRESHOLDS", "UDP_DEFAULT_METERS", "UDP_MAX_METERS", "default_meters"]

#: the networks a run can use (``mesh``: 6LoWPAN frames on a virtual clock;
#: ``inprocess``: whole datagrams with a per-hop delay, also virtual;
#: ``udp``: real sockets on loopback, wall-clock time)
TRANSPORTS = ("mesh", "inprocess", "udp")
#: meters of a udp run by default, and at most: two sockets each (requests
#: and relayed group requests) and wall-clock time
UDP_DEFAULT_METERS = 200
UDP_MAX_METERS = 1000

#: the share of a phase's attempts that must succeed (after retries) for the
#: run to pass: the daily read's target is every meter after retries, so
#: anything short of all of them is reported as a failure of the phase
THRESHOLDS = {
    "join": 1.0,
    "associate": 1.0,
    "read": 1.0,
    "migrate": 1.0,
    "broadcast": 1.0,
    "key_change": 1.0,
    "release": 1.0,
}


@dataclass(frozen=True)
class SimConfig:
    meters: int = 1000
    border_routers: int = 2
    hops: int = 4
    loss: float = 0.0
    phy_kbps: float = 50.0
    seed: int = 1
    transport: str = "mesh"
    #: meters power up at uniform random instants of this window (seconds;
    #: None: :attr:`join_s`, sized to the meters a border router carries)
    join_window: float | None = None
    #: the share of meters that move to a new address, and that get a new key
    migrate_share: float = 0.05
    key_change_share: float = 0.05
    #: the group members' largest random answer delay (seconds; None:
    #: :attr:`broadcast_s`, sized like the join window)
    broadcast_delay: int | None = None
    #: IEEE 802.15.4 frame size (127; 802.15.4g SUN frames up to 2047)
    frame_size: int = 127
    #: times the MAC sends a lost frame again on a hop (802.15.4
    #: macMaxFrameRetries, whose default is 3); ``loss`` is per transmission
    mac_retries: int = 3

    @property
    def meters_per_router(self) -> int:
        return -(-self.meters // self.border_routers)

    @property
    def wall_clock(self) -> bool:
        """Whether the run takes real time (the udp transport)."""
        return self.transport == "udp"

    @property
    def join_s(self) -> float:
        """The power-up window: a minute, or more for a crowded border router.
        A registration and its repeats take about a third of a second of a
        50 kbps channel (fragments times hops): a window of 0.4 s per meter
        (at 50 kbps) keeps the channel below its unicast capacity."""
        if self.join_window is not None:
            return self.join_window
        if self.wall_clock:
            return max(2.0, 0.01 * self.meters)  # loopback carries a registration in microseconds
        return max(60.0, 0.4 * self.meters_per_router * 50.0 / self.phy_kbps)

    @property
    def broadcast_s(self) -> int:
        """The answer window of the group request: 30 s, or more when a
        border router's members would not fit their answers in it (about
        0.15 s of channel per answer at 50 kbps)."""
        if self.broadcast_delay is not None:
            return self.broadcast_delay
        if self.wall_clock:
            return 3
        return max(30, -(-int(0.15 * self.meters_per_router * 50.0 / self.phy_kbps * 1000) // 1000))

    def __post_init__(self) -> None:
        if self.meters < 1:
            raise ValueError(f"at least one meter, not {self.meters}")
        if self.border_routers < 1:
            raise ValueError(f"at least one border router, not {self.border_routers}")
        if self.hops < 1:
            raise ValueError(f"at least one hop, not {self.hops}")
        if not 0.0 <= self.loss < 1.0:
            raise ValueError(f"the loss per hop is a probability in [0, 1), not {self.loss}")
        if not self.phy_kbps > 0:
            raise ValueError(f"the PHY rate is > 0 kbps, not {self.phy_kbps}")
        if not 0 <= self.mac_retries <= 7:
            raise ValueError(f"the MAC retries are 0..7 (macMaxFrameRetries), not {self.mac_retries}")
        if self.transport not in TRANSPORTS:
            raise ValueError(f"the transport is one of {', '.join(TRANSPORTS)}, not {self.transport!r}")
        if self.transport == "udp":
            if self.meters > UDP_MAX_METERS:
                raise ValueError(
                    f"the udp transport runs at most {UDP_MAX_METERS:,} meters (real sockets, wall-clock time), "
                    f"not {self.meters:,}: use --transport mesh for more"
                )
            if self.loss:
                raise ValueError(
                    "the udp transport loses nothing on purpose: --loss needs --transport mesh or inprocess"
                )
        for name in ("migrate_share", "key_change_share"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} is a share in [0, 1]")


def default_meters(transport: str) -> int:
    """The meters of a run when none are asked for."""
    return UDP_DEFAULT_METERS if transport == "udp" else SimConfig.meters
