"""The run's report: a summary table per phase (rich when installed, plain
text otherwise), the JSON document and the PNG figures (matplotlib, the
optional ``plot`` extra)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

from .run import Report

__all__ = [
    "COLUMNS",
    "UDP_COLUMNS",
    "columns_of",
    "table_rows",
    "render_text",
    "render",
    "write_json",
    "write_plot",
    "PlotUnavailable",
]

#: the summary table's columns: (header, key of a phase's JSON)
COLUMNS = (
    ("phase", "name"),
    ("attempted", "attempted"),
    ("ok", "succeeded"),
    ("failed", "failed"),
    ("retries", "retries"),
    ("p50 ms", "p50"),
    ("p95 ms", "p95"),
    ("max ms", "max"),
    ("datagrams", "datagrams"),
    ("frames", "frames"),
    ("on air B", "bytes_on_air"),
    ("uncompr. B", "bytes_uncompressed"),
    ("sim s", "simulated_s"),
    ("airtime/BR", "airtime_use"),
)


#: the udp transport's columns: no radio, so UDP payload bytes instead of frames and airtime
UDP_COLUMNS = tuple(c for c in COLUMNS if c[1] not in ("frames", "bytes_on_air", "bytes_uncompressed", "airtime_use"))
UDP_COLUMNS = (
    UDP_COLUMNS[: UDP_COLUMNS.index(("datagrams", "datagrams")) + 1]
    + (("UDP B", "udp_bytes"),)
    + (UDP_COLUMNS[UDP_COLUMNS.index(("datagrams", "datagrams")) + 1 :])
)


UDP_COLUMNS = tuple(("wall s", key) if key == "simulated_s" else (h, key) for h, key in UDP_COLUMNS)


def columns_of(report: Report) -> tuple[tuple[str, str], ...]:
    """The summary table's columns for the report's transport."""
    return UDP_COLUMNS if report.config.transport == "udp" else COLUMNS


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed (``pip install "dlmsmesh[plot]"``)."""


def _cell(phase: dict[str, Any], key: str) -> str:
    if key in ("p50", "p95", "max"):
        return f"{phase['latency_ms'][key]:.0f}"
    value = phase.get(key, 0)
    if key == "airtime_use":
        return " ".join(f"{100 * v:.1f}%" for v in value) if value else "-"
    if key == "simulated_s":
        return f"{value:.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def table_rows(report: Report) -> list[list[str]]:
    return [[_cell(p, key) for _, key in columns_of(report)] for p in report.as_dict()["phases"]]


def _headline(report: Report) -> str:
    d = report.as_dict()
    if d["transport"] == "udp":
        return f"{d['meters']:,} meters on UDP loopback sockets (wall-clock time), seed {d['seed']}, transport udp"
    return (
        f"{d['meters']:,} meters, {d['border_routers']} border router(s), 1-{d['hops']} hops, "
        f"{d['phy_kbps']:g} kbps, loss {d['loss']:g}/hop, seed {d['seed']}, transport {d['transport']}"
    )


def _footer(report: Report) -> str:
    d = report.as_dict()
    verdict = (
        "every phase passed"
        if d["passed"]
        else "FAILED: "
        + ", ".join(f"{p['name']} {p['succeeded']}/{p['attempted']}" for p in d["phases"] if not p["passed"])
    )
    if d["clock"] == "wall":
        return f"phases took {d['simulated_s']:.1f} s of wall-clock time; {d['wall_s']:.1f} s wall in all; {verdict}"
    return f"{d['simulated_s']:.0f} s simulated in {d['wall_s']:.1f} s wall; {verdict}"


def render_text(report: Report) -> str:
    """The summary as plain text (what the README shows)."""
    headers = [h for h, _ in columns_of(report)]
    rows = table_rows(report)
    widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(c.ljust(w) if k == 0 else c.rjust(w) for k, (c, w) in enumerate(zip(cells, widths))).rstrip()

    out = [_headline(report), line(headers)]
    out += [line(r) for r in rows]
    out.append(_footer(report))
    return "\n".join(out)


def render(report: Report, file: IO[str] | None = None) -> None:
    """Print the summary: a rich table when rich is installed."""
    try:
        from rich.console import Console
        from rich.table import Table
    except ImportError:
        print(render_text(report), file=file)
        return
    console = Console(file=file, width=160)
    table = Table(title=_headline(report), caption=_footer(report))
    for k, (header, _) in enumerate(columns_of(report)):
        table.add_column(header, justify="left" if k == 0 else "right")
    for d, row in zip(report.as_dict()["phases"], table_rows(report)):
        table.add_row(*row, style=None if d["passed"] else "bold red")
    console.print(table)


def write_json(report: Report, path: str | Path) -> None:
    Path(path).write_text(json.dumps(report.as_dict(), indent=2) + "\n", encoding="utf-8")


def write_plot(report: Report, path: str | Path) -> None:
    """Latency by hop count, the broadcast's answer times, airtime over time."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise PlotUnavailable('--plot needs matplotlib: pip install "dlmsmesh[plot]"') from None
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(15, 4.5))
    hops = sorted(report.hops)
    if report.config.wall_clock:
        # loopback has no hops: one box for every meter
        ax1.boxplot([[1000 * v for h in hops for v in report.hops[h]]], positions=[1])
        ax1.set_xticks([1])
        ax1.set_xticklabels(["loopback"])
        ax1.set_xlabel("no radio hops on the udp transport")
    elif hops:
        ax1.boxplot([[1000 * v for v in report.hops[h]] for h in hops], positions=hops)
    if not report.config.wall_clock:
        ax1.set_xlabel("hops")
    ax1.set_ylabel("latency (ms), associate and read")
    ax1.set_title("latency by hop count")
    answers: list[float] = []
    window: float | None = None
    for p in report.phases:
        if p.name == "broadcast":
            answers = list(p.extra.get("answer_times_s", []))
            window = p.extra.get("window_s")
    # the bins span the whole answer window, so an empty stretch of it shows
    ax2.hist(answers, bins=30, range=None if window is None else (0.0, window))
    ax2.set_xlabel("answer time (s) after the request")
    ax2.set_ylabel("meters")
    ax2.set_title("broadcast answers across the window")
    if report.airtime_series:
        for k, series in enumerate(report.airtime_series):
            if series:
                xs, ys = zip(*series)
                ax3.plot(xs, [100 * y for y in ys], label=f"BR {k + 1}")
        ax3.legend()
    else:
        ax3.text(0.5, 0.5, f"no airtime on the {report.config.transport} transport", ha="center", va="center")
    ax3.set_xlabel("simulated time (s)")
    ax3.set_ylabel("airtime use (%)")
    ax3.set_title("airtime per border router")
    fig.suptitle(_headline(report), fontsize=9)
    fig.tight_layout()
    fig.savefig(str(path), format="png", dpi=80)
    plt.close(fig)
