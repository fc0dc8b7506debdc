"""Issue 16: the simulator's phases on a small neighbourhood (in-process
network, virtual clock): every phase passes, the report's counts add up
(under loss too), and a run is reproducible from its seed."""

from __future__ import annotations

from typing import Any

import pytest

from dlmsmesh.sim.config import SimConfig
from dlmsmesh.sim.run import PHASES, Report, simulate

pytestmark = pytest.mark.single_backend  # a whole network of meters: the native backend, as deployed


def _run(**options: Any) -> Report:
    settings: dict[str, Any] = {"meters": 40, "transport": "inprocess", "migrate_share": 0.1, "key_change_share": 0.1}
    settings.update(options)
    return simulate(SimConfig(**settings))


def _stable(report: Report) -> dict[str, Any]:
    d = report.as_dict()
    del d["wall_s"], d["peak_rss_mb"]
    return d


def test_every_phase_runs_and_passes_on_a_small_network() -> None:
    report = _run(border_routers=2, transport="inprocess")
    d = report.as_dict()
    assert d["passed"] is True
    assert [p["name"] for p in d["phases"]] == list(PHASES)
    by_name = {p["name"]: p for p in d["phases"]}
    # every meter joined, was associated, read (registers and the 96 rows of
    # yesterday, compared with what its curve gives), got the broadcast and was released
    for name in ("join", "associate", "read", "broadcast", "release"):
        assert (by_name[name]["attempted"], by_name[name]["succeeded"]) == (40, 40), name
    # a tenth moved and were read on the associations they had (no new AARQ)
    assert (by_name["migrate"]["attempted"], by_name["migrate"]["succeeded"]) == (4, 4)
    assert by_name["migrate"]["new_associations"] == 0
    assert (by_name["key_change"]["attempted"], by_name["key_change"]["succeeded"]) == (4, 4)
    # the broadcast's answers all came inside the window of the members' delays
    assert by_name["broadcast"]["followed_up"] == 0
    assert len(by_name["broadcast"]["answer_times_s"]) == 40
    assert all(0 <= t < 30 + 8 for t in by_name["broadcast"]["answer_times_s"])  # 20 meters a router: 30 s
    # nothing lost on a clean network, and nothing retried
    assert all(p["failed"] == 0 and p["retries"] == 0 and p["lost_datagrams"] == 0 for p in d["phases"])
    # a farther meter answers later: the median latency grows with the hop count
    medians = [sorted(v)[len(v) // 2] for _, v in sorted(report.hops.items())]
    assert medians == sorted(medians) and len(medians) == 4


def test_under_loss_every_phase_completes_through_retries_and_the_counts_add_up() -> None:
    # no MAC retries: every lost frame loses its datagram, the head-end asks again
    report = _run(loss=0.05, seed=3, mac_retries=0)
    d = report.as_dict()
    assert d["passed"] is True, [(p["name"], p["succeeded"], p["attempted"]) for p in d["phases"]]
    for p in d["phases"]:
        assert p["attempted"] == p["succeeded"] + p["failed"]
        assert 0 <= p["latency_ms"]["p50"] <= p["latency_ms"]["p95"] <= p["latency_ms"]["max"]
    # the loss is reported, and retried: the head-end asked again
    assert sum(p["lost_datagrams"] for p in d["phases"]) > 0
    assert sum(p["retries"] for p in d["phases"]) > 0
    # the phases' rows add up to the network's own counters over the run
    for key in ("datagrams", "lost_datagrams"):
        assert sum(p[key] for p in d["phases"]) == d["totals"][key], key
    assert d["totals"]["datagrams"] > 0


def test_a_phase_below_its_threshold_fails_the_run() -> None:
    # two of every three datagrams lost at each hop: some meters never get through
    report = _run(meters=6, loss=0.66, hops=4, seed=5, mac_retries=0)
    d = report.as_dict()
    assert d["passed"] is False
    failing = [p for p in d["phases"] if not p["passed"]]
    assert failing and all(p["succeeded"] < p["attempted"] for p in failing)
    assert all(p["attempted"] == p["succeeded"] + p["failed"] for p in d["phases"])


def test_the_same_seed_gives_the_same_report_and_another_seed_another() -> None:
    first, again, other = _run(meters=20), _run(meters=20), _run(meters=20, seed=2)
    assert _stable(first) == _stable(again)
    assert _stable(first) != _stable(other)


def test_bad_settings_are_refused() -> None:
    for bad in ({"meters": 0}, {"loss": 1.0}, {"transport": "carrier-pigeon"}, {"hops": 0}, {"phy_kbps": 0}):
        with pytest.raises(ValueError):
            SimConfig(**bad)  # type: ignore[arg-type]


def test_on_the_mesh_at_5_percent_loss_every_phase_passes_and_frames_bytes_and_airtime_add_up() -> None:
    report = _run(transport="mesh", meters=30, border_routers=2, loss=0.05, seed=4)
    d = report.as_dict()
    assert d["passed"] is True, [(p["name"], p["succeeded"], p["attempted"]) for p in d["phases"]]
    for key in ("datagrams", "frames", "bytes_on_air", "bytes_uncompressed", "lost_frames", "lost_datagrams"):
        assert sum(p[key] for p in d["phases"]) == d["totals"][key], key
    for p in d["phases"]:
        if p["datagrams"]:
            # every datagram went as at least one frame; IPHC made them smaller
            assert p["frames"] >= p["datagrams"] - p["lost_datagrams"] > 0, p["name"]
            assert 0 < p["bytes_on_air"] < p["bytes_uncompressed"], p["name"]
            assert len(p["airtime_s"]) == 2 and sum(p["airtime_s"]) > 0
    # the load profile travels fragmented: far more frames than datagrams
    read = next(p for p in d["phases"] if p["name"] == "read")
    assert read["frames"] > 3 * read["datagrams"]
    assert report.airtime_series and report.airtime_series[0]
    # frames were lost on the air (and sent again by the MAC), and reported
    assert d["totals"]["lost_frames"] > 0
