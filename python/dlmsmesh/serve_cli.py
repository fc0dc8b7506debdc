"""``dlmsmesh serve``: one emulated meter on UDP (docs/cli.md, section serve).

The meter is :func:`dlmsmesh.cosem.default_meter` hosted by a
:class:`dlmsmesh.server.Server` on a :class:`dlmsmesh.transport.UdpTransport`:
the public client (SAP 16) with no authentication and no security, the
management client (SAP 1) with the authentication and security the command
line or the ``--config`` file asks for, both at the management logical
device (SAP 1).  Its readings follow from the system title and the real UTC
clock.

This is a test emulator: keys not given are drawn at random and printed
with the rest of the start-up block, because a head-end pointed at the
emulator needs them.

Only the option parsing lives at import; the server, the object model and
the socket are imported when the command runs, so ``dlmsmesh decode`` does
not pay for them.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import os
import secrets
import signal
import sqlite3
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .security import Protection, SecurityPolicy
from .security.policy import PROTECTION_WORDS, policy_for

if TYPE_CHECKING:
    from .server import Meter

__all__ = [
    "ServeConfig",
    "ServeError",
    "add_parser",
    "load_config",
    "run",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "DEFAULT_SYSTEM_TITLE",
    "AUTHENTICATIONS",
    "SECURITIES",
    "CONFIG_KEYS",
    "PROTECTIONS",
    "policy_of",
]

DEFAULT_HOST = "127.0.0.1"
#: the profile's UDP port (MESH_UDP_PORT)
DEFAULT_PORT = 61616
#: FLAG id "MMM", serial 12345678: logical device name MMM0000012345678
DEFAULT_SYSTEM_TITLE = bytes.fromhex("4d4d4d0000bc614e")
AUTHENTICATIONS = ("none", "lls", "hls-gmac")
SECURITIES = tuple(PROTECTION_WORDS)
#: what --config may set: the option names, dashes as underscores
CONFIG_KEYS = ("host", "port", "auth", "password", "security", "ek", "ak", "keys", "system_title", "counters")
#: security suite 0 (AES-GCM-128): every key is 16 octets
KEY_SIZE = 16
_SYSTEM_TITLE_SIZE = 8
_PUBLIC, _MANAGEMENT, _DEVICE = 16, 1, 1


class ServeError(Exception):
    """A setting or start-up problem: one line, ``dlmsmesh serve: error: ...``."""


@dataclass(frozen=True)
class ServeConfig:
    """Everything ``serve`` is told (flags over the ``--config`` file over
    the defaults).  ``password`` is the LLS secret (UTF-8 text)."""

    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    auth: str = "none"
    password: str | None = None
    security: str = "none"
    ek: bytes | None = None
    ak: bytes | None = None
    system_title: bytes = DEFAULT_SYSTEM_TITLE
    #: the SQLite file of invocation counters (None: see :meth:`counter_file`)
    counters: str | None = None
    #: whether the keys were drawn at random for this run (none was given)
    drawn: bool = False
    #: where each setting came from ("--ek", "serve.toml: ek"), for error messages
    sources: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    def _where(self, key: str) -> str:
        return self.sources.get(key, "--" + key.replace("_", "-"))

    def check(self) -> ServeConfig:
        """The settings that belong together: raises ServeError naming the
        option (or file and key) at fault."""
        if self.auth == "lls" and not self.password:
            raise ServeError(f"{self._where('auth')} lls needs a password (--password)")
        if self.auth != "lls" and self.password is not None:
            auth_from, password_from = self.sources.get("auth", ""), self.sources.get("password", "")
            if auth_from.startswith("--") and not password_from.startswith("--"):
                # --auth on the command line overrides the file's LLS setting as a whole
                return replace(self, password=None)
            raise ServeError(f"{self._where('password')} is only used with --auth lls")
        return self

    @property
    def needs_keys(self) -> bool:
        """Whether the meter holds keys: security on, HLS-GMAC, or keys given."""
        return self.security != "none" or self.auth == "hls-gmac" or self.ek is not None or self.ak is not None

    def with_keys(self) -> ServeConfig:
        """This configuration with the keys it needs, random where not given."""
        if not self.needs_keys:
            return self
        return replace(
            self,
            ek=self.ek if self.ek is not None else secrets.token_bytes(KEY_SIZE),
            ak=self.ak if self.ak is not None else secrets.token_bytes(KEY_SIZE),
            drawn=self.ek is None and self.ak is None,
        )

    def counter_file(self) -> str | None:
        """Where the meter's invocation counters persist: ``counters`` when
        given, else (keys given: they outlive this run, and a counter must
        never be used twice with a key) the per-user counter database; None
        (memory) for keys drawn at random for this run only."""
        if self.counters is not None:
            return self.counters
        if not self.needs_keys or self.drawn:
            return None
        from .security.sqlite_store import default_path

        return default_path()


# ---------------------------------------------------------------- values


def _hex(size: int) -> Callable[[Any, str], bytes]:
    def parse(value: Any, where: str) -> bytes:
        if not isinstance(value, str):
            raise ServeError(f"{where}: expected a hex string, got {_kind(value)}")
        text = value.strip()
        if text[:2].lower() == "0x":
            text = text[2:]
        try:
            data = bytes.fromhex(text)
        except ValueError:
            raise ServeError(f"{where}: {value!r} is not hex") from None
        if len(data) != size:
            raise ServeError(f"{where}: {len(data)} byte{'' if len(data) == 1 else 's'}, expected {size}")
        return data

    return parse


def _port(value: Any, where: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0xFFFF:
        raise ServeError(f"{where}: expected a port number 0..65535, got {value!r}")
    return value


def _port_flag(value: str, where: str) -> int:
    # a flag is text; in a file a port is a number, as TOML and JSON can say
    return _port(int(value) if value.strip().isdigit() else value, where)


def _host(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ServeError(f"{where}: expected an IP address, got {_kind(value)}")
    try:
        ipaddress.ip_address(value.partition("%")[0])
    except ValueError:
        raise ServeError(f"{where}: {value!r} is not an IPv4 or IPv6 address") from None
    return value


def _choice(options: tuple[str, ...]) -> Callable[[Any, str], str]:
    def parse(value: Any, where: str) -> str:
        if value not in options:
            raise ServeError(f"{where}: expected one of {', '.join(options)}, got {value!r}")
        return str(value)

    return parse


def _path(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise ServeError(f"{where}: expected a file name, got {value!r}")
    return value


def _password(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise ServeError(f"{where}: expected a string, got {_kind(value)}")
    if not value:
        raise ServeError(f"{where}: the password is empty")
    return value


def _kind(value: Any) -> str:
    return {bool: "a boolean", int: "a number", float: "a number", list: "a list", dict: "a table"}.get(
        type(value), type(value).__name__
    )


_PARSERS: dict[str, Callable[[Any, str], Any]] = {
    "host": _host,
    "port": _port,
    "auth": _choice(AUTHENTICATIONS),
    "password": _password,
    "security": _choice(SECURITIES),
    "ek": _hex(KEY_SIZE),
    "ak": _hex(KEY_SIZE),
    "system_title": _hex(_SYSTEM_TITLE_SIZE),
    "counters": _path,
    "keys": _path,
}


# ---------------------------------------------------------------- the file


def load_config(path: str | Path) -> dict[str, Any]:
    """The settings of a TOML (``.toml``) or JSON (``.json``) file, checked:
    raises ServeError for an unreadable file, bad syntax, an unknown key or
    a bad value."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise ServeError(f"{path}: a config file is .toml or .json")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ServeError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ServeError(f"{path}: not UTF-8 text") from None
    raw: Any
    if suffix == ".toml":
        toml = _tomllib()
        try:
            raw = toml.loads(text)
        except toml.TOMLDecodeError as exc:
            raise ServeError(f"{path}: not valid TOML: {exc}") from None
    else:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ServeError(f"{path}: not valid JSON: {exc}") from None
        if not isinstance(raw, dict):
            raise ServeError(f"{path}: expected a JSON object, got {_kind(raw)}")
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key not in _PARSERS:
            raise ServeError(f"{path}: unknown key {key!r} (known: {', '.join(CONFIG_KEYS)})")
        out[key] = _PARSERS[key](value, f"{path}: {key}")
    return out


def _tomllib() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:  # pragma: no cover - Python 3.10
        import tomli
    except ImportError:  # pragma: no cover
        raise ServeError("reading TOML needs Python 3.11 or the tomli package (or use a .json file)") from None
    return tomli  # pragma: no cover


def resolve(args: argparse.Namespace) -> ServeConfig:
    """Defaults, then the ``--config`` file, then the flags given."""
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    if args.config is not None:
        for key, value in load_config(args.config).items():
            values[key] = value
            sources[key] = f"{args.config}: {key}"
    for key in CONFIG_KEYS:
        given = getattr(args, key)
        if given is not None:
            flag = "--" + key.replace("_", "-")
            values[key] = (_port_flag if key == "port" else _PARSERS[key])(given, flag)
            sources[key] = flag
    keys = values.pop("keys", None)
    if keys is not None:
        if "ek" in values or "ak" in values:
            raise ServeError(f"{sources['keys']} and {sources.get('ek') or sources['ak']}: give the keys one way")
        entry = _keys_entry(str(keys), values.get("system_title"), sources["keys"])
        values.update(ek=entry.ek, ak=entry.ak, system_title=entry.system_title)
        for name in ("ek", "ak", "system_title"):
            sources.setdefault(name, sources["keys"])
    return ServeConfig(**values, sources=sources).check()


def _keys_entry(path: str, title: bytes | None, source: str) -> Any:
    """The meter's line of a keys file: by its system title, or the file's only line."""
    from .registration.errors import KeysFileError
    from .registration.keys_file import pick_keys

    try:
        entry = pick_keys(path, title)
    except KeysFileError as err:
        raise ServeError(f"{source} {err}" if source == "--keys" else f"{source}: {err}") from None
    if entry.suite != 0:
        raise ServeError(f"{source} {path}: line {entry.line}: suite {entry.suite} keys; serve runs suite 0")
    return entry


# ---------------------------------------------------------------- options

_HELP = """\
Run one emulated electricity meter on UDP (the wrapper, IEC 62056-47) until
Ctrl-C or SIGTERM. A TEST EMULATOR: keys not given are drawn at random, and
all keys are printed at start-up so that a client can use them.

The meter: system title (default 4d4d4d0000bc614e), management logical device
(server SAP 1) with the clock 0.0.1.0.0.255 (real UTC time), logical device
name 0.0.42.0.0.255, invocation counter 0.0.43.1.0.255, energy registers
1.0.1.8.0.255 and 1.0.2.8.0.255, the load profile 1.0.99.1.0.255 (15 minutes,
thirty days), association, security setup, IPv6 setup and push setup objects;
readings follow from the system title and the clock.

Clients: the public client (SAP 16), read-only, with no authentication and no
security; the management client (SAP 1) with --auth and --security; and, when
the meter has keys, the pre-established client (SAP 102, no AARQ) whose
requests are at least authenticated.

--security auth|enc|authenc sets the Security setup policy (requests and
responses authenticated, encrypted, or both) and makes the management
client's application context logical-name-ciphered; it needs keys, as
hls-gmac does. Keys are security suite 0 (AES-GCM-128, 16 bytes).

The start-up block names the system title, the address, each client SAP with
its authentication and security, and the keys (hex); --json prints it as one
JSON object. Flags override the --config file: TOML (.toml) or JSON (.json)
with the keys host, port, auth, password, security, ek, ak, system_title, counters
(docs/cli.md and samples/serve.toml show one).

exit status:
  0  stopped by Ctrl-C, SIGTERM or --seconds
  2  bad command line or config file, or the address cannot be bound (one
     line on standard error: dlmsmesh serve: error: ...)
"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``serve`` on the ``dlmsmesh`` subparsers."""
    p: argparse.ArgumentParser = sub.add_parser(
        "serve",
        help="run an emulated meter on UDP (a test emulator)",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # every default is None, so that a flag given can be told from a default
    # and override the --config file
    p.add_argument("--host", metavar="H", help=f"the address to bind (default {DEFAULT_HOST}; :: or ::1 for IPv6)")
    p.add_argument("--port", metavar="P", help=f"the UDP port (default {DEFAULT_PORT}; 0: any free port, printed)")
    p.add_argument("--auth", choices=AUTHENTICATIONS, help="the management client's authentication (default none)")
    p.add_argument("--password", metavar="PW", help="the LLS password (needed by --auth lls)")
    p.add_argument("--security", choices=SECURITIES, help="the management client's security policy (default none)")
    p.add_argument("--ek", metavar="HEX", help="global unicast encryption key, 16 bytes (default: random)")
    p.add_argument("--ak", metavar="HEX", help="authentication key, 16 bytes (default: random)")
    p.add_argument(
        "--keys",
        metavar="FILE",
        help="the keys from a keys file (JSON Lines: the line of --system-title, or the only line)",
    )
    p.add_argument(
        "--system-title",
        dest="system_title",
        metavar="HEX",
        help=f"the meter's system title, 8 bytes (default {DEFAULT_SYSTEM_TITLE.hex()})",
    )
    p.add_argument(
        "--counters",
        metavar="FILE",
        help="the SQLite file the invocation counters persist in (default: with keys given,"
        " $DLMSMESH_COUNTER_DB or ~/.local/share/dlmsmesh/counters.sqlite3; with random keys, memory)",
    )
    p.add_argument("--config", metavar="FILE", help="read the settings from a .toml or .json file")
    p.add_argument("--seconds", type=float, metavar="N", help="stop after N seconds (scripts and tests)")
    p.add_argument("--json", action="store_true", help="print the start-up block (and the stop line) as JSON")
    p.set_defaults(func=run)
    return p


# ---------------------------------------------------------------- running


#: what each --security word protects, both ways (requests and responses)
PROTECTIONS: Mapping[str, Protection] = PROTECTION_WORDS


def policy_of(security: str) -> SecurityPolicy:
    """The Security setup policy (version 1 bit map) of a --security word."""
    return policy_for(security)


def _security_name(policy: int) -> str:
    """The --security word for a policy's request protection."""
    requests = SecurityPolicy(policy).requests()
    return next(name for name, protection in PROTECTIONS.items() if protection == requests)


def build_meter(config: ServeConfig, port: int) -> Meter:
    """The meter ``config`` describes (keys already in place), answering at ``port``."""
    from .cosem import default_meter
    from .server import Meter, MeterKeys

    host = ipaddress.ip_address(config.host.partition("%")[0])
    # the registration push announces the address served at; a wildcard or
    # IPv4 bind leaves the meter its link-local address
    addresses = [host] if isinstance(host, ipaddress.IPv6Address) and not host.is_unspecified else None
    objects = default_meter(
        config.system_title,
        authentication=config.auth,
        secret=(config.password or "").encode("utf-8"),
        policy=int(policy_of(config.security)),
        addresses=addresses,
        port=port,
    )
    keys = MeterKeys(ek=config.ek, ak=config.ak) if config.needs_keys else None
    path = config.counter_file()
    counters = None
    if path is not None:
        from .security import SqliteCounterStore

        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
            counters = SqliteCounterStore(path)
        except (OSError, sqlite3.Error) as exc:
            raise ServeError(f"counters file {path}: {exc}") from None
    return Meter.from_objects(objects, keys=keys, counters=counters)


def describe(config: ServeConfig, meter: Meter, host: str, port: int) -> dict[str, Any]:
    """The start-up block as a JSON object (what ``--json`` prints)."""
    from .cosem import logical_device_name

    clients: list[dict[str, Any]] = [
        {"sap": _PUBLIC, "name": "public", "authentication": "none", "security": "none", "application_context": 1},
        {
            "sap": _MANAGEMENT,
            "name": "management",
            "authentication": config.auth,
            "security": config.security,
            "application_context": 3 if config.security != "none" else 1,
        },
    ]
    for sap in meter.client_saps:
        if sap in (_PUBLIC, _MANAGEMENT):
            continue
        association = meter.pre_established(sap, _DEVICE)
        if association is None:
            continue
        policy = meter.policy(association)
        if meter.keys and not policy.requests():
            policy |= SecurityPolicy.AUTHENTICATED_REQUEST
        clients.append(
            {
                "sap": sap,
                "name": "pre-established",
                "authentication": "none",
                "security": _security_name(policy),
                "application_context": None,
            }  # fmt: skip
        )
    keys = None
    if meter.keys:
        keys = {"suite": int(meter.keys.suite), "ek": (meter.keys.ek or b"").hex(), "ak": (meter.keys.ak or b"").hex()}
    return {
        "system_title": meter.system_title.hex(),
        "logical_device_name": logical_device_name(meter.system_title).decode("ascii"),
        "host": host,
        "port": port,
        "logical_device": _DEVICE,
        "clients": clients,
        "keys": keys,
        "counters": config.counter_file() if keys is not None else None,
    }


def _text_block(info: Mapping[str, Any], seconds: float | None) -> str:
    lines = [
        "dlmsmesh serve: a test meter emulator (never reuse its printed keys)",
        f"system title    {info['system_title']}",
        f"device name     {info['logical_device_name']}",
        f"address         udp {info['host']} port {info['port']}",
        f"logical device  {info['logical_device']} (management)",
    ]
    for c in info["clients"]:
        extra = " (ciphered context)" if c["application_context"] == 3 else ""
        if c["name"] == "pre-established":
            extra = " (no AARQ)"
        lines.append(
            f"client {c['sap']:<8} {c['name']}: authentication {c['authentication']}, security {c['security']}{extra}"
        )
    keys = info["keys"]
    if keys is None:
        lines.append("keys            none")
    else:
        lines.append(f"ek              {keys['ek']}")
        lines.append(f"ak              {keys['ak']}")
        lines.append(f"counters        {info['counters'] or 'memory (keys of this run only)'}")
    for_ = "" if seconds is None else f"for {seconds:g} s or "
    lines.append(f"serving {for_}until Ctrl-C or SIGTERM")
    return "\n".join(lines) + "\n"


async def _serve(config: ServeConfig, seconds: float | None, as_json: bool) -> None:
    from .server import Server
    from .transport import TransportError, UdpTransport

    try:
        transport = await UdpTransport.open(config.host, config.port)
    except TransportError as exc:
        raise ServeError(str(exc)) from None
    port = transport.local_address.port
    server = Server(transport)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    try:
        # the handlers go in before the start-up block is out: whoever reads
        # the block and signals at once still gets a clean stop
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
                handled.append(sig)
            except (NotImplementedError, RuntimeError, ValueError):  # pragma: no cover - not POSIX
                pass
        meter = server.add_meter(build_meter(config, port))
        await server.start()
        info = describe(config, meter, config.host, port)
        out = json.dumps(info) + "\n" if as_json else _text_block(info, seconds)
        sys.stdout.write(out)
        sys.stdout.flush()
        try:
            await asyncio.wait_for(stop.wait(), seconds)
        except asyncio.TimeoutError:
            pass
    finally:
        # still handled while closing: a second Ctrl-C does not cut it short
        await server.close()
        for sig in handled:
            loop.remove_signal_handler(sig)
    stats = server.stats
    if as_json:
        sys.stdout.write(json.dumps({"stopped": stats.as_dict()}) + "\n")
    else:
        sys.stdout.write(f"stopped: {stats.received} datagrams received, {stats.answered} answered\n")


def run(args: argparse.Namespace) -> int:
    """``dlmsmesh serve``: 0 when stopped, 2 (one line on standard error) for
    a bad setting or an address that cannot be bound."""
    try:
        seconds = args.seconds
        if seconds is not None and not (math.isfinite(seconds) and seconds >= 0):
            raise ServeError(f"--seconds: expected a number of seconds >= 0, got {seconds!r}")
        config = resolve(args).with_keys()
        asyncio.run(_serve(config, seconds, args.json))
    except ServeError as exc:
        print(f"dlmsmesh serve: error: {exc}", file=sys.stderr)
        return 2
    return 0
