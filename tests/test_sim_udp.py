"""Issue 16, point 2: ``dlmsmesh simulate --transport udp``: the same phases
over real UDP sockets on loopback (127/8 only), on the wall clock.

A small seeded run passes every phase, its counts add up, its JSON report
keeps the stable keys, the moved meters are read on the associations they
had (a new socket at a new address), the group request reaches every member
by unicast relay; the settings a udp run refuses are refused clearly."""

from __future__ import annotations

import importlib.util
import ipaddress
import json
import time
from pathlib import Path

import pytest

from dlmsmesh.cli import main
from dlmsmesh.sim.config import UDP_DEFAULT_METERS, UDP_MAX_METERS, SimConfig, default_meters
from dlmsmesh.sim.report import render_text
from dlmsmesh.sim.run import PHASES, Report, simulate
from dlmsmesh.sim.udp import meter_host

from .test_sim_cli import _schema_errors

pytestmark = pytest.mark.single_backend  # sockets and a whole neighbourhood: one backend is enough

_METERS = 30


@pytest.fixture(scope="module")
def run() -> tuple[Report, float]:
    started = time.perf_counter()
    report = simulate(SimConfig(meters=_METERS, transport="udp", seed=7, migrate_share=0.1, key_change_share=0.1))
    return report, time.perf_counter() - started


def test_every_phase_passes_over_loopback_sockets_in_bounded_time(run: tuple[Report, float]) -> None:
    report, took = run
    d = report.as_dict()
    assert d["passed"] is True, render_text(report)
    assert [p["name"] for p in d["phases"]] == list(PHASES)
    by_name = {p["name"]: p for p in d["phases"]}
    for name in ("join", "associate", "read", "broadcast", "release"):
        assert (by_name[name]["attempted"], by_name[name]["succeeded"]) == (_METERS, _METERS), name
    assert (by_name["migrate"]["attempted"], by_name["migrate"]["succeeded"]) == (3, 3)
    assert (by_name["key_change"]["attempted"], by_name["key_change"]["succeeded"]) == (3, 3)
    # the read checked the 96 rows of yesterday against the meters' curves
    assert by_name["read"]["profile_rows"] == 96
    # nothing is lost on loopback: a request asked twice is one whose answer
    # a busy machine kept past its timeout (none here on a quiet one)
    assert sum(p["retries"] for p in d["phases"]) <= _METERS // 10
    # wall-clock time: a join window of 2 s, a broadcast window of 5 s, the rest quick
    assert took < 30.0
    assert d["clock"] == "wall"
    assert 0 < d["simulated_s"] <= d["wall_s"] <= took + 0.1


def test_the_counts_add_up_and_no_radio_is_reported(run: tuple[Report, float]) -> None:
    report, _ = run
    d = report.as_dict()
    totals = d["totals"]
    phases = d["phases"]
    for key in ("datagrams", "udp_bytes"):
        assert sum(p[key] for p in phases) == totals[key], key
    assert totals["datagrams"] > 10 * _METERS
    # the sockets' own counters: every datagram is at least a wrapper header
    assert totals["udp_bytes"] >= 8 * totals["datagrams"]
    # frames and bytes on air are a radio's: 0 on loopback, the keys kept
    for p in phases:
        assert (p["frames"], p["bytes_on_air"], p["bytes_uncompressed"], p["lost_frames"]) == (0, 0, 0, 0)
        assert p["airtime_s"] == []
    # the table shows UDP bytes instead of radio columns
    text = render_text(report)
    assert "UDP B" in text and "on air B" not in text and "airtime/BR" not in text
    assert "wall s" in text and "of wall-clock time" in text.splitlines()[-1]
    assert text.splitlines()[0].startswith(f"{_METERS} meters on UDP loopback sockets")


def test_the_moved_meters_keep_their_associations_on_new_sockets(run: tuple[Report, float]) -> None:
    report, _ = run
    migrate = {p["name"]: p for p in report.as_dict()["phases"]}["migrate"]
    # read at the new address on the association it had: no AARQ went out
    assert migrate["new_associations"] == 0
    assert migrate["passes"] == 1 and migrate["first_pass"] == 3


def test_the_group_request_reaches_every_member_by_unicast_relay(run: tuple[Report, float]) -> None:
    report, _ = run
    broadcast = {p["name"]: p for p in report.as_dict()["phases"]}["broadcast"]
    assert broadcast["delivery"] == "unicast relay"
    assert broadcast["relayed_to"] == _METERS
    # every member answered inside the window, after its random delay (3 s at most)
    assert broadcast["answered_in_window"] == _METERS and broadcast["followed_up"] == 0
    times = broadcast["answer_times_s"]
    assert len(times) == _METERS and max(times) < 3.0 + 1.0
    # spread over the window, not all at once
    assert max(times) - min(times) > 1.0


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small UDP run of the command line writing its JSON report and its picture."""
    folder = tmp_path_factory.mktemp("udp-cli")
    args = ["simulate", "--transport", "udp", "--meters", "8", "--quiet", "--json", str(folder / "udp.json")]
    if importlib.util.find_spec("matplotlib") is not None:
        args += ["--plot", str(folder / "udp.png")]
    assert main(args) == 0
    return folder


def test_the_json_report_has_the_stable_keys(cli_run: Path) -> None:
    report = json.loads((cli_run / "udp.json").read_text())
    assert _schema_errors(report) == []
    assert (report["meters"], report["transport"], report["clock"]) == (8, "udp", "wall")
    assert [p["name"] for p in report["phases"]] == list(PHASES)


def test_meters_are_loopback_addresses_only() -> None:
    for index, generation in ((0, 0), (999, 0), (999, 1), (65532, 1)):
        host = ipaddress.IPv6Address(meter_host(index, generation))
        assert host.ipv4_mapped is not None and host.ipv4_mapped.is_loopback
    assert meter_host(0) == "::ffff:127.16.0.1" and meter_host(0, 1) == "::ffff:127.17.0.1"
    assert len({meter_host(i, g) for i in range(UDP_MAX_METERS) for g in (0, 1)}) == 2 * UDP_MAX_METERS


def test_defaults_and_caps_of_a_udp_run(capsys: pytest.CaptureFixture[str]) -> None:
    assert default_meters("udp") == UDP_DEFAULT_METERS == 200
    assert default_meters("mesh") == SimConfig().meters == 1000
    with pytest.raises(ValueError, match="at most 1,000 meters"):
        SimConfig(transport="udp", meters=UDP_MAX_METERS + 1)
    with pytest.raises(ValueError, match="--loss needs --transport mesh or inprocess"):
        SimConfig(transport="udp", meters=10, loss=0.01)
    SimConfig(transport="udp", meters=UDP_MAX_METERS)  # the cap itself is allowed
    assert main(["simulate", "--transport", "udp", "--meters", "1001", "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "dlmsmesh simulate: error: the udp transport runs at most 1,000 meters (real sockets, wall-clock time), "
        "not 1,001: use --transport mesh for more"
    )


def test_plot_of_a_udp_run_is_a_png(cli_run: Path) -> None:
    image = pytest.importorskip("matplotlib.image")
    path = cli_run / "udp.png"
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert image.imread(str(path)).shape[1] > 300
