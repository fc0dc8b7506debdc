"""The radio model of the simulated mesh: the PHY/MAC parameters
(:class:`Radio`), what one border router's channel has carried
(:class:`BorderRouterAir`), the network's counters (:class:`MeshStats`) and
the frame arithmetic the counters need.

Choices (the model, not a measurement):

- ``mac_overhead`` 25 bytes: an 802.15.4 data frame with PAN-ID compression
  and two extended (EUI-64) addresses has a 21-byte MAC header (frame
  control 2, sequence 1, PAN id 2, addresses 8 + 8), plus a 4-byte FCS as
  802.15.4g SUN PHYs use; the 6LoWPAN payload of a 127-byte frame is then
  102 bytes.  PHY preamble and headers are not counted.
- ``unicast_capacity`` 0.75: a frame holds its border router's channel for
  its airtime divided by this share (acknowledgements, CSMA backoff and
  inter-frame spacing take the rest), so one border router carries at most
  75% of its airtime as unicast payload frames.
- ``loss`` is the chance that one transmission of a frame on a hop fails;
  with ``mac_retries`` 0 (the default) it is what is left after the MAC's
  own retransmissions: a frame lost on a hop loses its datagram (6LoWPAN
  has no fragment recovery).  With ``mac_retries`` n the MAC sends a lost
  frame up to n times more, each costing airtime (the frame and byte
  counters count every transmission; ``lost_frames`` every failed one).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dlmsmesh.transport.inprocess import NetworkStats

__all__ = [
    "Radio",
    "BorderRouterAir",
    "MeshStats",
    "uncompressed_frame_sizes",
    "snapshot_delta",
    "MAX_FRAME_SIZE",
]

#: the largest 802.15.4g SUN PHY payload (an 11-bit frame length)
MAX_FRAME_SIZE = 2047
_FRAG1_HEADER = 4
_FRAGN_HEADER = 5
#: the smallest 6LoWPAN room a frame must leave: a FRAGN header and 8 bytes
_MIN_MTU = _FRAGN_HEADER + 8


@dataclass(frozen=True)
class Radio:
    """The PHY/MAC model every radio hop follows (see the module docstring)."""

    #: 802.15.4g FSK data rate, kbit/s (50, 100, 150, 200 or 300 in the field)
    phy_kbps: float = 50.0
    #: PHY payload of one frame, bytes (127 for 802.15.4; SUN frames up to 2047)
    frame_size: int = 127
    #: routing/forwarding time per hop, seconds, on top of the airtime
    hop_delay: float = 0.045
    #: probability that one frame is lost on one hop
    loss: float = 0.0
    #: MAC header and FCS bytes in every frame
    mac_overhead: int = 25
    #: share of a border router's airtime that unicast frames can use
    unicast_capacity: float = 0.75
    #: times the MAC sends a lost frame again on a hop (802.15.4's
    #: macMaxFrameRetries, 0-7), each costing its airtime again; 0 makes
    #: ``loss`` what is left after the MAC's own retransmissions
    mac_retries: int = 0

    def __post_init__(self) -> None:
        if not self.phy_kbps > 0:
            raise ValueError(f"Radio.phy_kbps must be > 0, not {self.phy_kbps!r}")
        if not self.hop_delay >= 0:
            raise ValueError(f"Radio.hop_delay must be >= 0 seconds, not {self.hop_delay!r}")
        if not 0 <= self.loss < 1:
            raise ValueError(f"Radio.loss is a probability 0..1 (1 carries nothing), not {self.loss!r}")
        if not 0 < self.unicast_capacity <= 1:
            raise ValueError(f"Radio.unicast_capacity is a share 0..1, not {self.unicast_capacity!r}")
        if not isinstance(self.mac_retries, int) or not 0 <= self.mac_retries <= 7:
            raise ValueError(f"Radio.mac_retries is 0..7 (802.15.4 macMaxFrameRetries), not {self.mac_retries!r}")
        if self.mac_overhead < 0:
            raise ValueError(f"Radio.mac_overhead must be >= 0 bytes, not {self.mac_overhead!r}")
        if not self.mac_overhead + _MIN_MTU <= self.frame_size <= MAX_FRAME_SIZE:
            raise ValueError(
                f"Radio.frame_size must be {self.mac_overhead + _MIN_MTU}..{MAX_FRAME_SIZE} bytes "
                f"(room for the MAC overhead and a fragment), not {self.frame_size!r}"
            )

    @property
    def mtu(self) -> int:
        """The 6LoWPAN bytes one frame carries."""
        return self.frame_size - self.mac_overhead

    @property
    def bytes_per_second(self) -> float:
        return self.phy_kbps * 125.0

    def airtime(self, lowpan_bytes: int) -> float:
        """Seconds on air of a frame carrying ``lowpan_bytes`` of 6LoWPAN payload."""
        return (lowpan_bytes + self.mac_overhead) / self.bytes_per_second


def uncompressed_frame_sizes(datagram_length: int, mtu: int) -> list[int]:
    """The 6LoWPAN payload sizes of the frames a datagram of
    ``datagram_length`` bytes (IPv6 header included) would take without
    header compression: the uncompressed-IPv6 dispatch (1 byte) before the
    header, fragmented as RFC 4944 does (FRAG1 and FRAGN headers; every
    fragment but the last a multiple of 8 datagram bytes)."""
    if 1 + datagram_length <= mtu:
        return [1 + datagram_length]
    first = (mtu - _FRAG1_HEADER - 1) // 8 * 8
    sizes = [_FRAG1_HEADER + 1 + first]
    step = (mtu - _FRAGN_HEADER) // 8 * 8
    offset = first
    while offset < datagram_length:
        piece = min(step, datagram_length - offset)
        sizes.append(_FRAGN_HEADER + piece)
        offset += piece
    return sizes


@dataclass
class BorderRouterAir:
    """What one border router's channel carried (every hop under it)."""

    #: frame transmissions (a frame crossing three hops counts three times)
    frames: int = 0
    #: bytes of those transmissions, MAC overhead included
    bytes_on_air: int = 0
    #: seconds of airtime of those transmissions
    airtime_s: float = 0.0
    #: airtime seconds by bucket (bucket index = transmission start // bucket seconds)
    series: dict[int, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "frames": self.frames,
            "bytes_on_air": self.bytes_on_air,
            "airtime_s": self.airtime_s,
            "series": dict(self.series),
        }


@dataclass
class MeshStats(NetworkStats):
    """Counts over the mesh network's life.

    ``frames``, ``bytes_on_air`` and ``bytes_uncompressed`` count
    transmissions: a frame is counted once per hop it crosses (a multicast
    flood once per hop level and border router), and again for each MAC
    retransmission.  ``fragments`` counts the frames the senders made (once
    per datagram), ``datagrams`` every datagram sent (those between two
    backhaul hosts have no frames).  ``lost_frames`` counts transmissions
    that failed, ``lost_datagrams`` datagrams lost on the air (a multicast:
    per member that missed it) or too large for 6LoWPAN.
    """

    #: seconds per bucket of the airtime series
    bucket_s: float = 60.0
    datagrams: int = 0
    multicast_datagrams: int = 0
    fragments: int = 0
    frames: int = 0
    bytes_on_air: int = 0
    frames_uncompressed: int = 0
    bytes_uncompressed: int = 0
    lost_frames: int = 0
    lost_datagrams: int = 0
    #: reassembled datagrams that did not decode (never expected: the codec's own check)
    corrupt: int = 0
    border_routers: list[BorderRouterAir] = field(default_factory=list)

    @property
    def airtime_s(self) -> float:
        return sum(br.airtime_s for br in self.border_routers)

    def snapshot(self) -> dict[str, Any]:
        """A copy of every counter (plain values: a phase's figures are the
        :func:`snapshot_delta` of the snapshots at its start and end)."""
        out: dict[str, Any] = {
            name: getattr(self, name)
            for name in (
                "datagrams", "multicast_datagrams", "fragments", "frames", "bytes_on_air",
                "frames_uncompressed", "bytes_uncompressed", "lost_frames", "lost_datagrams", "corrupt",
                "sent", "delivered", "dropped", "unroutable",
            )
        }  # fmt: skip
        out["airtime_s"] = self.airtime_s
        out["bucket_s"] = self.bucket_s
        out["border_routers"] = [br.as_dict() for br in self.border_routers]
        return out


def snapshot_delta(after: dict[str, Any], before: dict[str, Any]) -> dict[str, Any]:
    """``after - before`` for two :meth:`MeshStats.snapshot` results
    (``bucket_s`` and other settings are kept from ``after``)."""
    out: dict[str, Any] = {}
    for key, value in after.items():
        old = before.get(key)
        if key == "bucket_s":
            out[key] = value
        elif key == "border_routers":
            olds = list(old or [])
            out[key] = [snapshot_delta(br, olds[i] if i < len(olds) else {}) for i, br in enumerate(value)]
        elif key == "series":
            series = {k: v - (old or {}).get(k, 0.0) for k, v in value.items()}
            out[key] = {k: v for k, v in series.items() if v}
        elif isinstance(value, (int, float)):
            out[key] = value - (old or 0)
        else:
            out[key] = value
    return out
