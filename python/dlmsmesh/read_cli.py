"""``dlmsmesh read``: read attributes of one meter over UDP (docs/cli.md, section read).

One association (COSEM-OPEN with the authentication and security asked
for), one :meth:`dlmsmesh.client.Association.get_many` of every attribute
given, COSEM-RELEASE; one JSON line per attribute, in the order given.

Only the option parsing lives at import; the client and the socket are
imported when the command runs, so ``dlmsmesh decode`` does not pay for them.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import math
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import serve_cli

if TYPE_CHECKING:
    from .apdu_model import AttributeDescriptor
    from .security import InvocationCounterStore

__all__ = [
    "ReadConfig",
    "ReadError",
    "add_parser",
    "run",
    "parse_attribute",
    "error_object",
    "DEFAULT_PORT",
    "DEFAULT_SYSTEM_TITLE",
    "CLIENT_SYSTEM_TITLE",
    "DEFAULT_TIMEOUT",
]

#: the profile's UDP port, and the meter's system title when not given: ``dlmsmesh serve``'s
DEFAULT_PORT = serve_cli.DEFAULT_PORT
DEFAULT_SYSTEM_TITLE = serve_cli.DEFAULT_SYSTEM_TITLE
#: the client's own system title (calling-AP-title, and the nonce of what it ciphers)
CLIENT_SYSTEM_TITLE = bytes.fromhex("444c4d0000000001")
#: seconds to wait for an answer before asking again (the client's default)
DEFAULT_TIMEOUT = 3.0
AUTHENTICATIONS = serve_cli.AUTHENTICATIONS
SECURITIES = serve_cli.SECURITIES
_KEY_SIZE = 16
_SYSTEM_TITLE_SIZE = 8
_dumps = json.JSONEncoder(separators=(",", ":")).encode


class ReadError(Exception):
    """A bad command line: one line, ``dlmsmesh read: error: ...``, exit 2."""


@dataclass(frozen=True)
class ReadConfig:
    host: str
    port: int = DEFAULT_PORT
    client_sap: int = 16
    server_sap: int = 1
    auth: str = "none"
    password: str | None = None
    security: str = "none"
    ek: bytes | None = None
    ak: bytes | None = None
    system_title: bytes = DEFAULT_SYSTEM_TITLE
    timeout: float = DEFAULT_TIMEOUT
    counters: str | None = None

    @property
    def needs_keys(self) -> bool:
        return self.security != "none" or self.auth == "hls-gmac"

    def counter_file(self) -> str | None:
        """Where the client's invocation counters persist (keys are used:
        a counter must never be used twice with a key, across runs too)."""
        if not self.needs_keys:
            return None
        if self.counters is not None:
            return self.counters
        from .security.sqlite_store import default_path

        return default_path()


# ---------------------------------------------------------------- values


def _hex(value: str, where: str, size: int) -> bytes:
    text = value.strip()
    if text[:2].lower() == "0x":
        text = text[2:]
    try:
        data = bytes.fromhex(text)
    except ValueError:
        raise ReadError(f"{where}: {value!r} is not hex") from None
    if len(data) != size:
        raise ReadError(f"{where}: {len(data)} byte{'' if len(data) == 1 else 's'}, expected {size}")
    return data


def _number(value: str, where: str, low: int, high: int, what: str) -> int:
    text = value.strip()
    if not text.isdigit() or not low <= int(text) <= high:
        raise ReadError(f"{where}: expected {what} {low}..{high}, got {value!r}")
    return int(text)


def _host(value: str) -> str:
    try:
        ipaddress.ip_address(value.partition("%")[0])
    except ValueError:
        raise ReadError(f"--host: {value!r} is not an IPv4 or IPv6 address") from None
    return value


def parse_attribute(text: str) -> AttributeDescriptor:
    """``CLASS/OBIS/ATTR`` (``8/0.0.1.0.0.255/2``) as an attribute descriptor."""
    from .apdu_model import AttributeDescriptor
    from .types import Obis

    parts = text.split("/")
    if len(parts) != 3:
        raise ReadError(f"{text!r}: expected CLASS/OBIS/ATTR, e.g. 8/0.0.1.0.0.255/2")
    class_id = _number(parts[0], repr(text), 0, 0xFFFF, "a class id")
    attr = parts[2].strip()
    if not (attr.isdigit() or (attr[:1] == "-" and attr[1:].isdigit())) or not -128 <= int(attr) <= 127:
        raise ReadError(f"{text!r}: expected an attribute id -128..127, got {parts[2]!r}")
    try:
        obis = Obis(parts[1].strip())
    except ValueError as exc:
        raise ReadError(f"{text!r}: {exc}") from None
    return AttributeDescriptor(class_id, obis, int(attr))


def attribute_name(descriptor: AttributeDescriptor) -> str:
    """The ``attribute`` of an output line: ``CLASS/OBIS/ATTR``, the OBIS code dotted."""
    return f"{descriptor.class_id}/{descriptor.instance_id}/{descriptor.attribute_id}"


def resolve(args: argparse.Namespace) -> ReadConfig:
    """The settings of the command line, checked (ReadError names the option)."""
    if args.host is None:
        raise ReadError("--host is needed: the meter's IP address")
    timeout = args.timeout
    if timeout is not None and not (math.isfinite(timeout) and timeout > 0):
        raise ReadError(f"--timeout: expected a number of seconds > 0, got {timeout!r}")
    ek = None if args.ek is None else _hex(args.ek, "--ek", _KEY_SIZE)
    ak = None if args.ak is None else _hex(args.ak, "--ak", _KEY_SIZE)
    title = None if args.system_title is None else _hex(args.system_title, "--system-title", _SYSTEM_TITLE_SIZE)
    if args.keys is not None:
        if ek is not None or ak is not None:
            raise ReadError("--keys and --ek/--ak: give the keys one way")
        entry = _keys_entry(args.keys, title)
        ek, ak, title = entry.ek, entry.ak, entry.system_title
    config = ReadConfig(
        host=_host(args.host),
        port=DEFAULT_PORT if args.port is None else _number(args.port, "--port", 1, 0xFFFF, "a port number"),
        client_sap=16 if args.client_sap is None else _number(args.client_sap, "--client-sap", 1, 0xFFFF, "a SAP"),
        server_sap=1 if args.server_sap is None else _number(args.server_sap, "--server-sap", 0, 0xFFFF, "a SAP"),
        auth=args.auth or "none",
        password=args.password,
        security=args.security or "none",
        ek=ek,
        ak=ak,
        system_title=DEFAULT_SYSTEM_TITLE if title is None else title,
        timeout=DEFAULT_TIMEOUT if timeout is None else float(timeout),
        counters=args.counters,
    )
    if config.auth == "lls" and not config.password:
        raise ReadError("--auth lls needs a password (--password)")
    if config.auth != "lls" and config.password is not None:
        raise ReadError("--password is only used with --auth lls")
    if config.needs_keys and (config.ek is None or config.ak is None):
        why = f"--security {config.security}" if config.security != "none" else "--auth hls-gmac"
        raise ReadError(f"{why} needs both keys (--ek and --ak, or --keys)")
    return config


def _keys_entry(path: str, title: bytes | None) -> Any:
    """The meter's line of a keys file (``--keys``): by ``--system-title``, or the file's only line."""
    from .registration.errors import KeysFileError
    from .registration.keys_file import pick_keys

    try:
        entry = pick_keys(path, title)
    except KeysFileError as err:
        raise ReadError(f"--keys {err}") from None
    if entry.suite != 0:
        raise ReadError(f"--keys {path}: line {entry.line}: suite {entry.suite} keys; read speaks suite 0")
    return entry


# ---------------------------------------------------------------- options

_HELP = """\
Read attributes of one meter over UDP (the wrapper, IEC 62056-47): open one
association, read every attribute given with as few requests as the meter
allows (get-request-with-list), release the association.

Each attribute is CLASS/OBIS/ATTR: the interface class id, the logical name
(OBIS code a.b.c.d.e.f) and the attribute id, e.g. 8/0.0.1.0.0.255/2 (the
clock's time). One JSON line per attribute, in the order given:
  {"attribute": "8/0.0.1.0.0.255/2", "data": {"type": ..., "value": ...}}
or, when the meter refused that attribute,
  {"attribute": ..., "error": {"type": "object-undefined", "message": ...}}
(docs/cli.md, section read; the data objects: docs/json.md).

--system-title is the METER's system title: ciphering and HLS need it
(default 4d4d4d0000bc614e, the dlmsmesh serve default). The client's own
system title is 444c4d0000000001. With keys in use the client's invocation
counters persist in --counters (default $DLMSMESH_COUNTER_DB or
~/.local/share/dlmsmesh/counters.sqlite3), so that no run reuses one.

exit status:
  0  the association opened (lines with "error" say which attributes failed)
  1  the association did not open (one line on standard error says why)
  2  bad command line or counters file (one line on standard error:
     dlmsmesh read: error: ...)
"""


def add_parser(sub: Any) -> argparse.ArgumentParser:
    """Register ``read`` on the ``dlmsmesh`` subparsers."""
    p: argparse.ArgumentParser = sub.add_parser(
        "read",
        help="read attributes of a meter over UDP (one JSON line each)",
        description=_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--host", metavar="H", help="the meter's IP address, IPv4 or IPv6 (needed)")
    p.add_argument("--port", metavar="P", help=f"the meter's UDP port (default {DEFAULT_PORT})")
    p.add_argument("--client-sap", dest="client_sap", metavar="N", help="the client SAP (default 16, public)")
    p.add_argument("--server-sap", dest="server_sap", metavar="N", help="the server SAP, logical device (default 1)")
    p.add_argument("--auth", choices=AUTHENTICATIONS, help="the authentication mechanism (default none)")
    p.add_argument("--password", metavar="PW", help="the LLS password (needed by --auth lls)")
    p.add_argument("--security", choices=SECURITIES, help="protect the requests and responses (default none)")
    p.add_argument("--ek", metavar="HEX", help="global unicast encryption key, 16 bytes")
    p.add_argument("--ak", metavar="HEX", help="authentication key, 16 bytes")
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
        "--timeout",
        type=float,
        metavar="S",
        help=f"seconds to wait for an answer before asking again, twice more, each wait doubled (default {DEFAULT_TIMEOUT:g})",
    )
    p.add_argument("--counters", metavar="FILE", help="the SQLite file of the client's invocation counters")
    p.add_argument("attributes", nargs="+", metavar="CLASS/OBIS/ATTR", help="the attributes to read")
    p.set_defaults(func=run)
    return p


# ---------------------------------------------------------------- running


def error_object(exc: BaseException) -> dict[str, str]:
    """The ``error`` of an output line: a refused read is named by its
    Data-Access-Result (``object-undefined``), anything else by its class."""
    from .client.errors import DataAccessFailure

    if isinstance(exc, DataAccessFailure):
        return {"type": exc.result.asn1_name, "message": str(exc)}
    return {"type": type(exc).__name__, "message": str(exc) or type(exc).__name__}


def _line(descriptor: AttributeDescriptor, result: Any) -> str:
    from .types import to_json

    name = attribute_name(descriptor)
    if isinstance(result, BaseException):
        return _dumps({"attribute": name, "error": error_object(result)})
    return _dumps({"attribute": name, "data": to_json(result)})


class _NotOpened(Exception):
    """The association did not open: exit 1."""


async def _read(config: ReadConfig, attributes: list[AttributeDescriptor]) -> list[str]:
    from .client import Client
    from .errors import DlmsError
    from .transport import TransportError, UdpTransport

    family_any = "::" if ipaddress.ip_address(config.host.partition("%")[0]).version == 6 else "0.0.0.0"
    counters: InvocationCounterStore | None = None
    path = config.counter_file()
    if path is not None:
        import sqlite3

        from .security import SqliteCounterStore

        try:
            counters = SqliteCounterStore(path)
        except (OSError, sqlite3.Error) as exc:
            raise ReadError(f"counters file {path}: {exc}") from None
    try:
        transport = await UdpTransport.open(family_any, 0)
    except TransportError as exc:
        raise _NotOpened(str(exc)) from None
    # one meter, one association: no pacing caps; the retries the help names
    client = Client(transport, system_title=CLIENT_SYSTEM_TITLE, counters=counters, timeout=config.timeout,
                    retries=2, in_flight_per_router=None, associations_per_second=None)  # fmt: skip
    try:
        async with client:
            try:
                association = await client.open(
                    config.system_title, address=(config.host, config.port), auth=config.auth,
                    security=config.security, client_sap=config.client_sap, server_sap=config.server_sap,
                    ek=config.ek, ak=config.ak, password=config.password,
                )  # fmt: skip
            except (DlmsError, TransportError, OSError) as exc:
                raise _NotOpened(str(exc) or type(exc).__name__) from None
            try:
                try:
                    results: list[Any] = await association.get_many(attributes)
                except (DlmsError, TransportError, OSError) as exc:
                    # the request as a whole failed (no answer, an exception-response)
                    results = [exc] * len(attributes)
            finally:
                await client.release(association)
    finally:
        close = getattr(counters, "close", None)
        if close is not None:
            close()
    return [_line(d, r) for d, r in zip(attributes, results)]


def run(args: argparse.Namespace) -> int:
    """``dlmsmesh read``: 0 when the association opened, 1 when it did not,
    2 (one line on standard error) for a bad command line."""
    try:
        config = resolve(args)
        attributes = [parse_attribute(a) for a in args.attributes]
    except ReadError as exc:
        print(f"dlmsmesh read: error: {exc}", file=sys.stderr)
        return 2
    try:
        lines = asyncio.run(_read(config, attributes))
    except ReadError as exc:
        print(f"dlmsmesh read: error: {exc}", file=sys.stderr)
        return 2
    except _NotOpened as exc:
        print(f"dlmsmesh read: error: cannot open the association: {exc}", file=sys.stderr)
        return 1
    sys.stdout.write("".join(line + "\n" for line in lines))
    return 0
