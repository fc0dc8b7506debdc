"""The ``dlmsmesh`` command line (docs/cli.md; the JSON forms: docs/json.md).

``dlmsmesh decode`` turns hex frames into JSON Lines: it is a renderer of
:func:`dlmsmesh.stack.receive` (one :class:`~dlmsmesh.stack.Received`, or the
error and the layers before it, per line).  ``dlmsmesh encode`` turns JSON
values into hex, ``dlmsmesh backend`` names the live backend.

Both codecs read a whole capture in one process: standard input is read in
large chunks and each chunk's output is written with one ``write`` call, and
every input line gives exactly one output line, whether it decoded or not.
"""

from __future__ import annotations

import argparse
import io
import ipaddress
import json
import math
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from _typeshed import SupportsWrite

from . import (
    __version__,
    _backend,
    axdr,
    listen_cli,
    lowpan,
    read_cli,
    registry_cli,
    serve_cli,
    simulate_cli,
    stack,
    types,
)
from .errors import DecodeError

__all__ = ["main", "DecodeOptions", "DECODERS", "ENCODERS", "DECODE_LAYERS", "ENCODE_LAYERS"]

#: every layer name ``decode --layer`` accepts (docs/cli.md), bottom first
DECODE_LAYERS = stack.LAYERS

#: the error ``layer`` of a line that is not valid hex or JSON at all
INPUT_LAYER = "input"

# A 64 KiB read returns whatever the pipe holds, so a live capture piped in
# still prints as it arrives while a file is processed in big batches.
_CHUNK = 1 << 16

_dumps = json.JSONEncoder(separators=(",", ":")).encode

#: the command line's wording of "a ciphered APDU and no keys"
_NO_KEYS = "ciphered APDU: give --ek/--ak (--bk, --dk) to verify and decrypt it"


@dataclass
class DecodeOptions:
    """What ``decode`` knows besides the frame: keys, addresses, IPHC contexts.

    One instance serves every frame of a run: it holds the run's IPHC
    context table, 6LoWPAN reassembler and receive-only security contexts
    (made on first use).
    """

    ek: bytes | None = None
    ak: bytes | None = None
    bk: bytes | None = None
    dk: bytes | None = None
    system_title: bytes | None = None
    ll_src: bytes | None = None
    ll_dst: bytes | None = None
    contexts: dict[int, ipaddress.IPv6Network] = field(default_factory=dict)
    _state: tuple[stack.Keys, lowpan.ContextTable, lowpan.Reassembler] | None = field(
        default=None, init=False, repr=False, compare=False
    )

    def receive(self, frame: bytes, layer: stack.Layer) -> stack.Received:
        """:func:`dlmsmesh.stack.receive` with this run's options and state."""
        if self._state is None:
            keys = stack.Keys(ek=self.ek, ak=self.ak, bk=self.bk, dk=self.dk, system_title=self.system_title)
            self._state = (keys, lowpan.ContextTable(self.contexts), lowpan.Reassembler())
        keys, table, reassembler = self._state
        return stack.receive(
            frame, layer, security=keys, links=(self.ll_src, self.ll_dst), contexts=table, reassembler=reassembler
        )


def render(received: stack.Received) -> dict[str, Any]:
    """The JSON object of a decoded frame (docs/json.md)."""
    return received.to_json()


def render_error(exc: DecodeError) -> dict[str, Any]:
    """The JSON object of a frame that failed: the layers decoded before the
    failure, then ``error`` (docs/json.md)."""
    partial = getattr(exc, "partial", None)
    obj: dict[str, Any] = partial.to_json() if isinstance(partial, stack.Received) else {}
    message = _NO_KEYS if isinstance(exc, stack.NoKeysError) else exc.reason
    obj["error"] = {"layer": exc.layer, "offset": exc.offset, "message": message}
    return obj


#: a layer decoder: fills ``out`` with one key per layer it reaches, bottom
#: first, and raises DecodeError where the frame stops making sense (the keys
#: already set are printed beside the error)
Decoder = Callable[[bytes, DecodeOptions, "dict[str, Any]"], None]


def _decoder(layer: stack.Layer) -> Decoder:
    def decode(frame: bytes, opts: DecodeOptions, out: dict[str, Any]) -> None:
        try:
            out.update(render(opts.receive(frame, layer)))
        except DecodeError as exc:
            partial = getattr(exc, "partial", None)
            if isinstance(partial, stack.Received):
                out.update(partial.to_json())
            raise

    return decode


#: the decoder of each layer (what ``--layer`` names)
DECODERS: dict[str, Decoder] = {layer: _decoder(layer) for layer in stack.LAYERS}  # type: ignore[arg-type]


def _encode_data(obj: Any) -> bytes:
    if isinstance(obj, dict) and set(obj) == {"data"}:
        obj = obj["data"]  # a line of ``dlmsmesh decode`` output
    check_data_json(obj)
    return axdr.encode(types.from_json(obj))


#: a layer encoder: JSON value -> bytes
Encoder = Callable[[Any], bytes]

ENCODERS: dict[str, Encoder] = {
    "data": _encode_data,
}

ENCODE_LAYERS = tuple(ENCODERS)


# --------------------------------------------------------------------------
# what encode refuses before types.from_json sees it
# --------------------------------------------------------------------------

_HEX_TYPES = frozenset(("octet-string", "date-time", "date", "time"))
_INTEGER_TYPES = frozenset(
    (
        "integer", "long", "double-long", "long64", "unsigned", "long-unsigned", "double-long-unsigned",
        "long64-unsigned", "enum", "bcd", "delta-integer", "delta-long", "delta-double-long", "delta-unsigned",
        "delta-long-unsigned", "delta-double-long-unsigned",
    )
)  # fmt: skip
_VALUE_KEYS = frozenset(("type", "value"))
_COMPACT_KEYS = frozenset(("type", "description", "value"))
_DESCRIPTION_KEYS = {"array": frozenset(("type", "count", "element")), "structure": frozenset(("type", "elements"))}


def check_data_json(obj: Any, *, depth: int = 0) -> None:
    """Refuse what ``types.from_json`` would take but should not: unknown
    keys, non-ASCII visible-strings, NaN or infinity as an integer, and
    octet-strings that are not whole hex bytes (with a clear message)."""
    if depth > 10_000:
        raise ValueError("value nested too deeply")
    if not isinstance(obj, dict):
        return  # types.from_json says what is wrong
    name = obj.get("type")
    allowed = _COMPACT_KEYS if name == "compact-array" else _VALUE_KEYS
    extra = sorted(str(k) for k in obj if k not in allowed)
    if extra:
        raise ValueError(
            f"unknown key {extra[0]!r} in a {name or 'value'} object (allowed: {', '.join(sorted(allowed))})"
        )
    value = obj.get("value")
    if name == "visible-string" and isinstance(value, str) and not value.isascii():
        bad = next(ch for ch in value if not ch.isascii())
        raise ValueError(f"visible-string is ASCII only: {bad!r} is not (use utf8-string)")
    if name in _INTEGER_TYPES and isinstance(value, float) and not math.isfinite(value):
        raise ValueError(f"{name} takes a JSON integer, not {value}")
    if name in _HEX_TYPES and isinstance(value, str):
        _check_hex(name, value)
    if name == "compact-array":
        _check_description(obj.get("description"), depth + 1)
    if isinstance(value, list):
        for item in value:
            check_data_json(item, depth=depth + 1)


def _check_hex(name: str, value: str) -> None:
    for i, ch in enumerate(value):
        if ch not in _HEXDIGITS:
            raise ValueError(f"{name} takes hex digits: {ch!r} at position {i} is not one")
    if len(value) % 2:
        raise ValueError(f"{name} takes whole bytes: {len(value)} hex digits is an odd number")


def _check_description(obj: Any, depth: int) -> None:
    if depth > 10_000:
        raise ValueError("value nested too deeply")
    if not isinstance(obj, dict):
        return
    allowed = _DESCRIPTION_KEYS.get(obj.get("type"), frozenset(("type",)))  # type: ignore[arg-type]
    extra = sorted(str(k) for k in obj if k not in allowed)
    if extra:
        raise ValueError(f"unknown key {extra[0]!r} in a type description (allowed: {', '.join(sorted(allowed))})")
    if isinstance(obj.get("element"), dict):
        _check_description(obj["element"], depth + 1)
    elements = obj.get("elements")
    if isinstance(elements, list):
        for e in elements:
            _check_description(e, depth + 1)


# --------------------------------------------------------------------------
# input lines
# --------------------------------------------------------------------------


class _InputError(Exception):
    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.message = message
        self.offset = offset


_HEXDIGITS = frozenset("0123456789abcdefABCDEF")
_SPACE = " \t\r\n\f\v"


def parse_hex(line: str) -> bytes:
    """The bytes of one hex frame: whitespace between bytes and one leading
    ``0x`` are allowed.  Raises _InputError with the 0-based column of the
    first character that is wrong."""
    text = line.strip(_SPACE)
    body = text[2:] if text[:2] in ("0x", "0X") else text
    if body:
        try:
            return bytes.fromhex(body)
        except ValueError:
            pass
    raise _hex_problem(line)


def _hex_problem(line: str) -> _InputError:
    """Why ``line`` is not a hex frame (the slow path, taken only on failure)."""
    start = len(line) - len(line.lstrip(_SPACE))
    text = line.strip(_SPACE)
    if not text:
        return _InputError("empty line: expected a hex frame", 0)
    if text[:2] in ("0x", "0X"):
        start += 2
        text = text[2:]
        if not text.strip(_SPACE):
            return _InputError("no hex digits after 0x", start)
    half = -1  # column of the first digit of an unfinished byte
    for i, ch in enumerate(text, start):
        if ch in _HEXDIGITS:
            half = i if half < 0 else -1
        elif ch in _SPACE:
            if half >= 0:
                return _InputError(f"whitespace inside the byte starting at column {half}", i)
        else:
            return _InputError(f"not a hex digit: {ch!r}", i)
    return _InputError("odd number of hex digits", half)


def _line_chunks(stream: IO[bytes]) -> Iterator[list[bytes]]:
    """The lines of ``stream`` in batches, without their line ends.

    A final line without a newline is still a line; an empty stream has none.
    """
    read = getattr(stream, "read1", None) or stream.read
    parts: list[bytes] = []
    while True:
        chunk = read(_CHUNK)
        if not chunk:
            break
        cut = chunk.rfind(b"\n")
        if cut < 0:
            parts.append(chunk)
            continue
        head = chunk[:cut]
        if parts:
            parts.append(head)
            head = b"".join(parts)
        parts = [chunk[cut + 1 :]] if cut + 1 < len(chunk) else []
        yield head.split(b"\n")
    if parts:
        yield [b"".join(parts)]


def _stdin_bytes() -> IO[bytes]:
    stdin = sys.stdin
    if stdin is None:  # started with standard input closed
        return io.BytesIO()
    buf = getattr(stdin, "buffer", None)
    if buf is not None:
        return buf  # type: ignore[no-any-return]
    # a text stream without bytes underneath (tests replace sys.stdin)
    return io.BytesIO(stdin.read().encode("utf-8", "surrogateescape"))


# --------------------------------------------------------------------------
# decode / encode one line
# --------------------------------------------------------------------------


def _error_line(layer: str, offset: int | None, message: str, out: dict[str, Any] | None = None) -> str:
    obj: dict[str, Any] = dict(out) if out else {}
    obj["error"] = {"layer": layer, "offset": offset, "message": message}
    return _dumps(obj)


def _decode_one(text: str, layer: stack.Layer, opts: DecodeOptions) -> tuple[str, bool]:
    """(the JSON line for one hex frame, whether it decoded)."""
    try:
        frame = parse_hex(text)
    except _InputError as exc:
        return _error_line(INPUT_LAYER, exc.offset, exc.message), False
    try:
        received = opts.receive(frame, layer)
    except DecodeError as exc:
        return _dumps(render_error(exc)), False
    return _dumps(render(received)), True


def _encode_one(text: str | bytes, encoder: Encoder, layer: str) -> tuple[str, bool]:
    """(the hex line, or JSON error line, for one JSON value, whether it encoded)."""
    if not text.strip():
        return _error_line(INPUT_LAYER, 0, "empty line: expected a JSON value"), False
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as exc:
        return _error_line(INPUT_LAYER, exc.pos, f"invalid JSON: {exc.msg}"), False
    except UnicodeDecodeError as exc:
        return _error_line(INPUT_LAYER, exc.start, "input is not UTF-8"), False
    except RecursionError:
        return _error_line(INPUT_LAYER, None, "invalid JSON: nested too deeply"), False
    except ValueError as exc:  # an integer of more digits than Python converts
        return _error_line(INPUT_LAYER, None, f"invalid JSON: {str(exc).split(';')[0]}"), False
    try:
        return encoder(obj).hex(), True
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        # EncodeError is a ValueError; the JSON has no byte offsets to point at
        return _error_line(layer, None, _describe(exc)), False
    except RecursionError:
        return _error_line(layer, None, "value nested too deeply"), False


def _describe(exc: Exception) -> str:
    if isinstance(exc, KeyError):
        return f"missing key {exc.args[0]!r}" if exc.args else "missing key"
    return str(exc) or type(exc).__name__


# --------------------------------------------------------------------------
# running a batch
# --------------------------------------------------------------------------


def _emit(lines: list[str]) -> None:
    if lines:
        try:
            sys.stdout.write("\n".join(lines) + "\n")
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputError(exc.strerror or str(exc)) from None
        _flush_stdout()


def _run_batch(
    batches: Iterable[Iterable[Any]], one: Callable[[Any], tuple[str, bool]], strict: bool, layer: str
) -> int:
    """Process every line and print its result; per-line failures are output,
    not a failed run, unless ``strict``."""
    failed = False
    for batch in batches:
        out: list[str] = []
        try:
            for item in batch:
                try:
                    line, ok = one(item)
                except Exception as exc:  # a bug must not cost the rest of the capture its output
                    line, ok = _error_line(layer, None, f"internal error: {type(exc).__name__}: {exc}"), False
                out.append(line)
                failed = failed or not ok
        finally:
            # the lines answered so far are printed even when the run stops here
            _emit(out)
    return 1 if failed and strict else 0


def _cmd_decode(args: argparse.Namespace) -> int:
    layer: stack.Layer = args.layer
    opts = DecodeOptions(
        ek=args.ek,
        ak=args.ak,
        bk=args.bk,
        dk=args.dk,
        system_title=args.system_title,
        ll_src=args.ll_src,
        ll_dst=args.ll_dst,
        contexts=dict(args.context or ()),
    )

    def one(item: str | bytes) -> tuple[str, bool]:
        # latin-1 maps every byte to one character, so a stray byte is reported
        # as a bad hex digit at its column instead of failing the whole run
        text = item.decode("latin-1") if isinstance(item, bytes) else item
        return _decode_one(text, layer, opts)

    if args.frames:
        return _run_batch([args.frames], one, args.strict, layer)
    return _run_batch(_line_chunks(_stdin_bytes()), one, args.strict, layer)


def _cmd_encode(args: argparse.Namespace) -> int:
    layer: str = args.layer
    encoder = ENCODERS[layer]

    def one(item: str | bytes) -> tuple[str, bool]:
        return _encode_one(item, encoder, layer)

    if args.values:
        return _run_batch([args.values], one, args.strict, layer)
    return _run_batch(_line_chunks(_stdin_bytes()), one, args.strict, layer)


def _cmd_backend(args: argparse.Namespace) -> int:
    _emit([_backend.backend()])
    return 0


# --------------------------------------------------------------------------
# argument parsing
# --------------------------------------------------------------------------


def _hex_arg(sizes: tuple[int, ...]) -> Callable[[str], bytes]:
    def parse(text: str) -> bytes:
        try:
            value = parse_hex(text)
        except _InputError as exc:
            raise argparse.ArgumentTypeError(f"{text!r} is not hex: {exc.message}") from None
        if len(value) not in sizes:
            want = " or ".join(str(s) for s in sizes)
            raise argparse.ArgumentTypeError(f"{text!r} is {len(value)} bytes, expected {want}")
        return value

    return parse


def _context_arg(text: str) -> tuple[int, ipaddress.IPv6Network]:
    number, sep, prefix = text.partition("=")
    if not sep or not number.strip().isdigit() or not 0 <= int(number) <= 15:
        raise argparse.ArgumentTypeError(f"{text!r}: expected N=PREFIX/LEN with N in 0..15")
    try:
        net = ipaddress.IPv6Network(prefix.strip(), strict=False)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r}: {exc}") from None
    return int(number), net


_EXIT_CODES = """\
exit status:
  0  every input line was answered; a line that failed is an error line in
     the output, not a failed run
  1  with --strict: at least one line gave an error line (all lines were
     still processed); also when standard output closes early or cannot be
     written (a full disk: one line on standard error)
  2  bad command line, or a bad DLMSMESH_BACKEND (native, pure)
"""

_DECODE_HELP = """\
Decode hex frames from LAYER upward and print one JSON object per frame
(JSON Lines). With no HEX arguments, read standard input: one frame per line,
whitespace between bytes and a leading 0x allowed. Every input line gives
exactly one output line; a blank line or bad hex gives an error line.

A frame that fails prints {"error": {"layer": L, "offset": N, "message": TEXT}}
beside the layers decoded before the failure; offset is the byte offset in the
frame (for layer "input": the 0-based column in the line; null when there is
no position). The JSON form of every layer is in docs/json.md.

--layer auto (the default) tries, in this order: wrapper (when the frame
starts 00 01 and its length field matches), ipv6 (version 6 and a matching
payload length), lowpan (a 6LoWPAN dispatch octet; a fragment of a datagram
not yet under way is tried last), apdu (ACSE, ciphered or xDLMS), data (a
bare A-XDR value). The first that decodes the whole frame wins. When none
does, the error printed is the most plausible one: of the attempt that
decoded the most layers, then that got past the first byte, then that failed
above the transport layers (security, acse, apdu, data), then that got
furthest into the frame, then the earliest tried.
"""

_ENCODE_HELP = """\
Encode values given in their JSON form (docs/json.md), e.g.
'{"type": "long-unsigned", "value": 230}', and print the hex (lowercase, no
spaces) of each; a {"data": VALUE} line of decode output is taken as VALUE. With no JSON arguments, read JSON Lines from standard input:
one hex line out per line in; a line that fails prints an error line
{"error": {"layer": L, "offset": N, "message": TEXT}} (offset: the JSON column
for layer "input", else null).
"""


class _Parser(argparse.ArgumentParser):
    """argparse, except that a help or version text that cannot be written is
    an error (argparse drops it silently and exits 0)."""

    def _print_message(self, message: str, file: SupportsWrite[str] | None = None) -> None:
        if message:
            (file or sys.stderr).write(message)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="dlmsmesh",
        description="DLMS/COSEM over IPv6 mesh networks: decode and encode frames, serve an emulated meter.",
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"dlmsmesh {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    dec = sub.add_parser(
        "decode",
        help="decode hex frames to JSON Lines",
        description=_DECODE_HELP,
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    dec.add_argument(
        "--layer",
        "-l",
        choices=DECODE_LAYERS,
        default="auto",
        help="the layer the frames start at (default: auto)",
    )
    keys = dec.add_argument_group("security (used by the security layer)")
    for name, what in (
        ("ek", "global unicast encryption key"),
        ("ak", "authentication key"),
        ("bk", "global broadcast encryption key"),
        ("dk", "dedicated key"),
    ):
        keys.add_argument(f"--{name}", type=_hex_arg((16, 32)), metavar="HEX", help=f"{what} (16 or 32 bytes)")
    keys.add_argument(
        "--system-title",
        type=_hex_arg((8,)),
        metavar="HEX",
        help="the peer's system title, for frames that do not carry it (8 bytes)",
    )
    lowpan = dec.add_argument_group("6LoWPAN (used by the lowpan layer)")
    lowpan.add_argument(
        "--ll-src", type=_hex_arg((2, 8)), metavar="HEX", help="link-layer source address (2 or 8 bytes)"
    )
    lowpan.add_argument(
        "--ll-dst", type=_hex_arg((2, 8)), metavar="HEX", help="link-layer destination address (2 or 8 bytes)"
    )
    lowpan.add_argument(
        "--context",
        type=_context_arg,
        action="append",
        metavar="N=PREFIX/LEN",
        help="IPHC context N (0..15), e.g. 0=2001:db8:1::/64; repeatable",
    )
    dec.add_argument("frames", nargs="*", metavar="HEX", help="frames to decode (default: standard input)")
    dec.add_argument("--strict", action="store_true", help="exit with status 1 if any line gave an error line")
    dec.set_defaults(func=_cmd_decode)

    enc = sub.add_parser(
        "encode",
        help="encode JSON values to hex",
        description=_ENCODE_HELP,
        epilog=_EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    enc.add_argument(
        "--layer", "-l", choices=ENCODE_LAYERS, default="data", help="what the JSON describes (default: data)"
    )
    enc.add_argument("values", nargs="*", metavar="JSON", help="values to encode (default: standard input)")
    enc.add_argument("--strict", action="store_true", help="exit with status 1 if any line gave an error line")
    enc.set_defaults(func=_cmd_encode)

    bk = sub.add_parser("backend", help="print the live backend (native or pure)")
    bk.set_defaults(func=_cmd_backend)
    serve_cli.add_parser(sub)
    read_cli.add_parser(sub)
    registry_cli.add_parser(sub)
    listen_cli.add_parser(sub)
    simulate_cli.add_parser(sub)
    return parser


class _OutputError(Exception):
    """Standard output could not be written (not a closed pipe: a full disk, say)."""


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise _OutputError(exc.strerror or str(exc)) from None


def _quiet_stdout() -> None:
    """Point standard output at /dev/null, so Python's flush at exit does not
    raise (and print) again on a stream that already failed."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def main(argv: list[str] | None = None) -> int:
    problem = _backend.startup_error()
    if problem is not None:
        print(f"dlmsmesh: error: {problem}", file=sys.stderr)
        return 2
    parser = build_parser()
    try:
        try:
            args = parser.parse_args(argv)
        except SystemExit:
            _flush_stdout()  # --version and --help print to stdout: a lost line is an error
            raise
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise _OutputError(exc.strerror or str(exc)) from None
        if args.command is None:
            parser.print_help(sys.stderr)
            return 2
        if args.command == "decode" and args.context:
            numbers = [n for n, _ in args.context]
            dup = sorted({n for n in numbers if numbers.count(n) > 1})
            if dup:
                parser.error(f"--context {dup[0]} given more than once")
        code = int(args.func(args))
        _flush_stdout()
        return code
    except BrokenPipeError:
        # the reader went away (| head): stop quietly
        _quiet_stdout()
        return 1
    except _OutputError as exc:
        _quiet_stdout()
        print(f"dlmsmesh: error: cannot write the output: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
