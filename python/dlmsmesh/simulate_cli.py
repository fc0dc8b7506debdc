"""``dlmsmesh simulate``: a head-end and a neighbourhood network of emulated
meters on this machine, every phase end to end, and the report (docs/cli.md).

Exit status: 0 when every phase reached its success threshold, 1 when one
did not, 2 for a bad argument or a missing optional package.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

__all__ = ["add_parser", "run"]

_HELP = """\
Simulate a neighbourhood network: meters under border routers, 1 to --hops
radio hops away, and a head-end on the backhaul.  Phases: the meters join
(random start) and register; the head-end associates (HLS-GMAC, suite 0)
and reads the clock; reads the energy registers and a day of 96-interval
load profile; some meters move to new addresses and are read on the same
associations; a group broadcast with randomized answers; a key change
(key_transfer) for some meters and a read with the new key; release.
Everything runs on a virtual clock and is reproducible from --seed.

--transport udp runs the same phases over real UDP sockets on loopback
(127.0.0.0/8 only: one socket per meter), on the wall clock, for a few
hundred meters (default 200, at most 1,000; no --loss): the report counts
datagrams and UDP bytes (no radio frames), and group requests reach the
meters by unicast relay (IPv6 multicast does not reach their sockets).

Prints a progress bar per phase, then a summary table per phase; exit
status 1 when a phase falls below its success threshold.

examples:
  dlmsmesh simulate --meters 1000 --loss 0.01 --json report.json
  dlmsmesh simulate --transport udp --meters 200
"""


def _probability(text: str) -> float:
    value = float(text)
    if not 0.0 <= value < 1.0:
        raise argparse.ArgumentTypeError(f"a probability in [0, 1), not {text}")
    return value


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"a whole number >= 1, not {text}")
    return value


def _rate(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"a rate > 0 kbps, not {text}")
    return value


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``simulate`` on the ``dlmsmesh`` subparsers."""
    from .sim.config import TRANSPORTS, UDP_DEFAULT_METERS, UDP_MAX_METERS, SimConfig

    d = SimConfig()
    p: argparse.ArgumentParser = sub.add_parser(
        "simulate",
        help="simulate a neighbourhood network and its head-end, with a report per phase",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--meters", type=_positive, default=None, metavar="N",
        help=f"meters (default {d.meters}; {UDP_DEFAULT_METERS} with --transport udp, which takes at most {UDP_MAX_METERS:,})",
    )  # fmt: skip
    p.add_argument(
        "--border-routers", dest="border_routers", type=_positive, default=d.border_routers, metavar="B",
        help=f"border routers (default {d.border_routers})",
    )  # fmt: skip
    p.add_argument("--hops", type=_positive, default=d.hops, metavar="MAX", help=f"most radio hops (default {d.hops})")
    p.add_argument("--loss", type=_probability, default=d.loss, metavar="P", help="loss per hop (default 0)")
    p.add_argument(
        "--phy-kbps", dest="phy_kbps", type=_rate, default=d.phy_kbps, metavar="R",
        help=f"PHY rate in kbps (default {d.phy_kbps:g})",
    )  # fmt: skip
    p.add_argument(
        "--mac-retries", dest="mac_retries", type=int, choices=range(8), default=d.mac_retries, metavar="N",
        help=f"times the MAC sends a lost frame again on a hop, 0-7 (default {d.mac_retries}, 802.15.4's)",
    )  # fmt: skip
    p.add_argument("--seed", type=int, default=d.seed, metavar="S", help=f"the seed (default {d.seed})")
    p.add_argument(
        "--transport", choices=TRANSPORTS, default=d.transport,
        help=f"mesh: 6LoWPAN frames per hop; inprocess: whole datagrams; udp: real sockets on loopback, "
        f"wall-clock time (default {d.transport})",
    )  # fmt: skip
    p.add_argument("--json", metavar="FILE", help="write the report as JSON")
    p.add_argument("--plot", metavar="FILE.png", help='write the figures as PNG (needs "dlmsmesh[plot]")')
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    from .sim.config import SimConfig, default_meters
    from .sim.report import PlotUnavailable, render, write_json, write_plot
    from .sim.run import PHASES, simulate

    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print('dlmsmesh simulate: error: --plot needs matplotlib: pip install "dlmsmesh[plot]"', file=sys.stderr)
            return 2
    try:
        config = SimConfig(
            meters=default_meters(args.transport) if args.meters is None else args.meters, border_routers=args.border_routers, hops=args.hops, loss=args.loss,
            phy_kbps=args.phy_kbps, seed=args.seed, transport=args.transport, mac_retries=args.mac_retries,
        )  # fmt: skip
    except ValueError as exc:
        print(f"dlmsmesh simulate: error: {exc}", file=sys.stderr)
        return 2
    progress = None if args.quiet else _progress(PHASES)
    if progress is None:
        report = simulate(config)
    else:
        with progress[0]:
            report = simulate(config, progress=progress[1])
    render(report, sys.stdout)
    if args.json:
        write_json(report, args.json)
    if args.plot:
        try:
            write_plot(report, args.plot)
        except PlotUnavailable as exc:
            print(f"dlmsmesh simulate: error: {exc}", file=sys.stderr)
            return 2
    return 0 if report.passed else 1


def _progress(phases: tuple[str, ...]) -> Any:
    """A rich progress bar per phase (None without rich: the table still prints)."""
    try:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
    except ImportError:
        return None
    bars = Progress(
        TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(file=sys.stderr), transient=False,
    )  # fmt: skip
    tasks = {name: bars.add_task(name, total=None, start=False) for name in phases}

    def update(phase: str, done: int, total: int) -> None:
        task = tasks[phase]
        if not bars.tasks[task].started:
            bars.start_task(task)
        bars.update(task, completed=done, total=total)

    return bars, update
