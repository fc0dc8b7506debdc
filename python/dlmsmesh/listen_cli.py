"""``dlmsmesh listen``: the registration listener on UDP (docs/listener.md).

Runs :class:`~dlmsmesh.registration.listener.Listener` until SIGINT or
SIGTERM (or ``--seconds``): registrations and address updates from meters
are verified with the keys file and recorded in the registry (``--database``:
a SQLite file, ``sqlite:///PATH`` or ``postgresql://...``; default
``$DLMSMESH_DATABASE``, else ``registry.sqlite``); address
lookups are answered on the same port.  Prints one start line and, when
stopped, one summary line (JSON with ``--json``); ``--print-commits`` adds
one JSON line per committed transaction, the point from which a
registration is acknowledged (durable).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import math
import signal
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .registration.registry import Outcome, Registration

__all__ = ["add_parser", "run", "DEFAULT_HOST", "DEFAULT_PORT", "DEFAULT_REGISTRY", "DEFAULT_SYSTEM_TITLE"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 61616
DEFAULT_REGISTRY = "registry.sqlite"
#: the head-end's own system title when none is given ("HES" and 1)
DEFAULT_SYSTEM_TITLE = bytes.fromhex("4845530000000001")

_HELP = """\
Receive registrations and address updates from meters on UDP and record
them in the registry; answer address lookups on the same port.

Announcements must come in general-glo-ciphering with the meter's keys
from --keys (JSON Lines, one meter a line: {"system_title": HEX, "ek": HEX,
"ak": HEX}); a meter without keys is quarantined for `dlmsmesh registry
admit`.  Runs until SIGINT or SIGTERM, then prints a summary line.

The registry is a SQLite file, sqlite:///PATH or postgresql://USER@HOST/DB
(several listeners may share one PostgreSQL database); without --database,
$DLMSMESH_DATABASE, else registry.sqlite.

example:
  dlmsmesh listen --port 0 --database /tmp/reg.sqlite --keys meters.jsonl
"""


class ListenError(Exception):
    """A setting or resource that stops the command before it listens."""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``listen`` on the ``dlmsmesh`` subparsers."""
    p: argparse.ArgumentParser = sub.add_parser(
        "listen",
        help="receive meter registrations into the registry (the head-end's listener)",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", metavar="H", default=DEFAULT_HOST, help=f"the address to bind (default {DEFAULT_HOST})")
    p.add_argument(
        "--port", metavar="P", type=int, default=DEFAULT_PORT, help=f"the UDP port (default {DEFAULT_PORT}; 0: any)"
    )
    p.add_argument(
        "--database",
        "--registry",
        dest="database",
        metavar="URL",
        default=None,
        help=f"the registry: FILE, sqlite:///PATH or postgresql://... (default $DLMSMESH_DATABASE, else {DEFAULT_REGISTRY})",
    )
    p.add_argument("--keys", metavar="FILE", help="the meters' keys, JSON Lines (default: none, all quarantined)")
    p.add_argument(
        "--system-title",
        dest="system_title",
        metavar="HEX",
        default=DEFAULT_SYSTEM_TITLE.hex().upper(),
        help=f"the head-end's system title, 8 bytes (default {DEFAULT_SYSTEM_TITLE.hex().upper()})",
    )
    p.add_argument("--max-batch", dest="max_batch", type=int, default=16384, metavar="N", help=argparse.SUPPRESS)
    p.add_argument("--seconds", type=float, metavar="N", help="stop after N seconds (scripts and tests)")
    p.add_argument("--json", action="store_true", help="print the start and stop lines as JSON")
    p.add_argument(
        "--print-commits",
        dest="print_commits",
        action="store_true",
        help="print a JSON line per committed transaction (titles, counters, outcomes)",
    )
    p.add_argument(
        "--pushes",
        metavar="FILE",
        help="also receive data-notifications on --push-port and write their values to FILE,"
        " a row per notification (CSV when FILE ends in .csv, else JSON Lines)",
    )
    p.add_argument(
        "--push-port", dest="push_port", metavar="P", type=int, default=4059, help="the pushes' UDP port (default 4059)"
    )
    p.set_defaults(func=run)
    return p


def _title(text: str) -> bytes:
    try:
        title = bytes.fromhex(text)
    except ValueError:
        raise ListenError(f"--system-title: not hex: {text!r}") from None
    if len(title) != 8:
        raise ListenError(f"--system-title: a system title is 8 bytes, not {len(title)}")
    return title


def _commit_line(records: Sequence[Registration], outcomes: Sequence[Outcome]) -> None:
    items = [[r.system_title.hex().upper(), r.invocation_counter, o.value] for r, o in zip(records, outcomes)]
    sys.stdout.write(json.dumps({"committed": items}, separators=(",", ":")) + "\n")
    sys.stdout.flush()


async def _listen(args: argparse.Namespace, title: bytes) -> None:
    from .registration.keys_file import load_keys
    from .registration.listener import Listener, RegistryCounterStore
    from .registration.registry import Registry
    from .registration.store import store_location
    from .security import Keyring
    from .security.postgres_store import redact
    from .transport import TransportError, UdpTransport

    where = redact(store_location(args.database))
    try:
        registry = Registry.open(store_location(args.database))
    except Exception as exc:
        raise ListenError(f"cannot open the registry {where}: {exc}") from None
    try:
        counters = RegistryCounterStore(registry)
        keyring = Keyring() if args.keys is None else load_keys(args.keys, system_title=title, counters=counters)
        try:
            transport = await UdpTransport.open(args.host, args.port, queue_size=1 << 16, receive_buffer=1 << 22)
        except TransportError as exc:
            raise ListenError(str(exc)) from None
        listener = Listener(
            transport,
            registry,
            keyring,
            system_title=title,
            max_batch=args.max_batch,
            on_commit=_commit_line if args.print_commits else None,
        )
        pushes = None
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        handled: list[signal.Signals] = []
        try:
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, stop.set)
                    handled.append(sig)
                except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - not POSIX
                    pass
            await listener.start()
            pushes = await _open_pushes(args, keyring, registry)
            # the keyring and the registry's counters are the process's
            # long-lived state: collected once and frozen, so the collector's
            # full passes during a storm scan only what the storm makes (a
            # pass over the keys of 100,000 meters took 0.35 s, a sixth of the
            # time their registrations took; with a million meters it would
            # stall the loop for seconds while the socket overflows)
            gc.collect()
            gc.freeze()
            host, port = transport.local_address
            start = {
                "listening": {"host": host, "port": port},
                "registry": where,
                "meters_with_keys": len(keyring),
                "system_title": title.hex().upper(),
            }
            if pushes is not None:
                start["pushes"] = {"host": pushes.address.host, "port": pushes.address.port, "file": args.pushes}
            if args.json:
                sys.stdout.write(json.dumps(start) + "\n")
            else:
                sys.stdout.write(
                    f"listening on {host} port {port}: registry {where},"
                    f" keys for {len(keyring)} meters, system title {title.hex().upper()}\n"
                )
                if pushes is not None:
                    sys.stdout.write(f"pushes on {pushes.address.host} port {pushes.address.port} to {args.pushes}\n")
            sys.stdout.flush()
            try:
                await asyncio.wait_for(stop.wait(), args.seconds)
            except asyncio.TimeoutError:
                pass
        finally:
            gc.unfreeze()
            await listener.close()
            pushed = None if pushes is None else await pushes.close()
            for sig in handled:
                loop.remove_signal_handler(sig)
    finally:
        registry.close()
    stats = listener.stats
    if args.json:
        sys.stdout.write(json.dumps({"stopped": stats.as_dict(), **({"pushes": pushed} if pushed else {})}) + "\n")
    else:
        sys.stdout.write(
            f"stopped: {stats.received} datagrams received, {stats.recorded} recorded, {stats.duplicates} duplicates,"
            f" {stats.stale} stale, {stats.replays} replays, {stats.security_failures} security failures,"
            f" {stats.malformed} malformed, {stats.quarantined} quarantined, {stats.lookups} lookups\n"
        )
        if pushed:
            sys.stdout.write(f"pushes: {pushed['received']} datagrams received, {pushed['rows']} rows written\n")
    sys.stdout.flush()


async def _open_pushes(args: argparse.Namespace, keyring: Any, registry: Any) -> Any:
    """The push listener writing to --pushes (None without it)."""
    if args.pushes is None:
        return None
    from .push_listener import PushFileSession
    from .transport import TransportError

    try:
        return await PushFileSession.open(args.host, args.push_port, args.pushes, keyring, registry=registry)
    except (OSError, TransportError) as exc:
        raise ListenError(f"--pushes: {exc}") from None


def run(args: argparse.Namespace) -> int:
    """``dlmsmesh listen``: 0 when stopped, 2 (one line on standard error)
    for a bad setting, an unreadable keys file or an address that cannot be bound."""
    from .errors import DlmsError

    try:
        if args.seconds is not None and not (math.isfinite(args.seconds) and args.seconds >= 0):
            raise ListenError(f"--seconds: expected a number of seconds >= 0, got {args.seconds!r}")
        if not 0 <= args.port <= 0xFFFF:
            raise ListenError(f"--port: 0..65535, not {args.port}")
        if not 0 <= args.push_port <= 0xFFFF:
            raise ListenError(f"--push-port: 0..65535, not {args.push_port}")
        if args.max_batch < 1:
            raise ListenError("--max-batch: at least 1")
        title = _title(args.system_title)
        asyncio.run(_listen(args, title))
    except ListenError as exc:
        print(f"dlmsmesh listen: error: {exc}", file=sys.stderr)
        return 2
    except DlmsError as exc:  # a keys file that cannot be used, say
        print(f"dlmsmesh listen: error: {exc}", file=sys.stderr)
        return 2
    return 0
