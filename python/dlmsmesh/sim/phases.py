"""What a phase measured: one record per attempt, summed into a phase's row."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Attempt", "PhaseResult", "percentile", "AIR_KEYS", "OPTIONAL_KEYS"]

#: the network's counters a phase reports (differences of two snapshots)
AIR_KEYS = ("datagrams", "frames", "bytes_on_air", "bytes_uncompressed", "lost_frames", "lost_datagrams")
#: counted only by some networks (the udp transport's UDP payload bytes), reported where counted
OPTIONAL_KEYS = ("udp_bytes",)


@dataclass(frozen=True)
class Attempt:
    """One meter's outcome in one phase (latency in simulated seconds)."""

    title: bytes
    ok: bool
    latency: float
    hops: int


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile of sorted ``values`` (0.0 for none)."""
    if not values:
        return 0.0
    rank = max(1, math.ceil(p / 100.0 * len(values)))
    return values[min(rank, len(values)) - 1]


@dataclass
class PhaseResult:
    name: str
    threshold: float
    attempts: list[Attempt] = field(default_factory=list)
    retries: int = 0
    simulated_s: float = 0.0
    air: dict[str, int] = field(default_factory=dict)
    #: per border router: seconds of airtime the phase used
    airtime_s: list[float] = field(default_factory=list)
    #: what else a phase reports (the broadcast's answer times, say)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def attempted(self) -> int:
        return len(self.attempts)

    @property
    def succeeded(self) -> int:
        return sum(1 for a in self.attempts if a.ok)

    @property
    def failed(self) -> int:
        return self.attempted - self.succeeded

    @property
    def passed(self) -> bool:
        return self.attempted == 0 or self.succeeded >= self.threshold * self.attempted - 1e-9

    def latencies(self) -> list[float]:
        return sorted(a.latency for a in self.attempts if a.ok)

    def as_dict(self) -> dict[str, Any]:
        lat = self.latencies()
        out: dict[str, Any] = {
            "name": self.name,
            "attempted": self.attempted,
            "succeeded": self.succeeded,
            "failed": self.failed,
            "retries": self.retries,
            "latency_ms": {
                "p50": round(percentile(lat, 50) * 1000, 1),
                "p95": round(percentile(lat, 95) * 1000, 1),
                "max": round((lat[-1] if lat else 0.0) * 1000, 1),
            },
        }
        for key in AIR_KEYS:
            out[key] = int(self.air.get(key, 0))
        for key in OPTIONAL_KEYS:
            if key in self.air:
                out[key] = int(self.air[key])
        out["simulated_s"] = round(self.simulated_s, 3)
        out["airtime_s"] = [round(a, 3) for a in self.airtime_s]
        out["airtime_use"] = [round(a / self.simulated_s, 4) if self.simulated_s > 0 else 0.0 for a in self.airtime_s]
        out["threshold"] = self.threshold
        out["passed"] = self.passed
        out.update(self.extra)
        return out


def difference(after: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, int]:
    keys = AIR_KEYS + tuple(k for k in OPTIONAL_KEYS if k in after)
    return {k: int(after.get(k, 0)) - int(before.get(k, 0)) for k in keys}


def by_hops(attempts: Iterable[Attempt]) -> dict[int, list[float]]:
    out: dict[int, list[float]] = {}
    for a in attempts:
        if a.ok:
            out.setdefault(a.hops, []).append(a.latency)
    return out
