"""The ``dlmsmesh`` command line (DESIGN.md section 5).

``dlmsmesh decode`` turns hex frames into JSON Lines, ``dlmsmesh encode`` turns
JSON values into hex, ``dlmsmesh backend`` names the live backend.

Both codecs read a whole capture in one process: standard input is read in
large chunks and each chunk's output is written with one ``write`` call, and
every input line gives exactly one output line, whether it decoded or not.

Adding a decoder for a layer is one function in :data:`DECODERS`; adding an
encoder is one function in :data:`ENCODERS`.
"""

from __future__ import annotations

import argparse
import io
import ipaddress
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import IO, Any, Callable

from . import __version__, apdu, axdr, types
from ._backend import backend
from ._cli_transport import transport_decoders
from .errors import DecodeError
from .security.tags import CIPHERED_TAGS

__all__ = ["main", "DecodeOptions", "DECODERS", "ENCODERS", "DECODE_LAYERS", "ENCODE_LAYERS"]

#: every layer name ``decode --layer`` accepts (DESIGN.md section 5), bottom first
DECODE_LAYERS = ("auto", "lowpan", "ipv6", "udp", "wrapper", "apdu", "data")

#: the error ``layer`` of a line that is not valid hex or JSON at all
INPUT_LAYER = "input"

# A 64 KiB read returns whatever the pipe holds, so a live capture piped in
# still prints as it arrives while a file is processed in big batches.
_CHUNK = 1 << 16

_dumps = json.JSONEncoder(separators=(",", ":")).encode


@dataclass
class DecodeOptions:
    """What ``decode`` knows besides the frame: keys, addresses, IPHC contexts.

    Holds per-run state too (``transport``: the IPHC context table and the
    6LoWPAN reassembler, made on first use), which is why one instance serves
    every frame of a run.
    """

    ek: bytes | None = None
    ak: bytes | None = None
    bk: bytes | None = None
    dk: bytes | None = None
    system_title: bytes | None = None
    ll_src: bytes | None = None
    ll_dst: bytes | None = None
    contexts: dict[int, ipaddress.IPv6Network] = field(default_factory=dict)
    transport: Any = field(default=None, repr=False, compare=False)
    security: Any = field(default=None, repr=False, compare=False)  # receive contexts, made on first use


#: a layer decoder: fills ``out`` with one key per layer it reaches, bottom
#: first, and raises DecodeError where the frame stops making sense (the keys
#: already set are printed beside the error)
Decoder = Callable[[bytes, DecodeOptions, "dict[str, Any]"], None]


def _decode_data(frame: bytes, opts: DecodeOptions, out: dict[str, Any]) -> None:
    out["data"] = types.to_json(axdr.decode(frame))


#: first octets of the ACSE APDUs (AARQ, AARE, RLRQ, RLRE)
_ACSE_TAGS = frozenset((0x60, 0x61, 0x62, 0x63))


def _decode_apdu(frame: bytes, opts: DecodeOptions, out: dict[str, Any]) -> None:
    """An ACSE APDU (BER), a ciphered APDU (the security layer, then what it
    carries) or an xDLMS APDU (A-XDR), told apart by the first octet."""
    if frame and frame[0] in _ACSE_TAGS:
        from . import _cli_security, acse

        pdu = _cli_security.open_user_information(frame, acse.decode(frame), opts, out)
        out["acse"] = acse.to_json(pdu)
    elif frame and frame[0] in CIPHERED_TAGS:
        from . import _cli_security

        _cli_security.decode_ciphered(frame, opts, out, _decode_apdu)
    else:
        out["apdu"] = apdu.to_json(apdu.decode(frame))


def _decode_auto(frame: bytes, opts: DecodeOptions, out: dict[str, Any]) -> None:
    # Without the lower layers a frame is an APDU or a bare A-XDR value.  The
    # tags overlap (0x0F is data-notification and integer), so a frame is an
    # APDU when it decodes whole as one, else a Data value when it decodes whole
    # as one; when neither, the APDU error is the one reported.
    try:
        _decode_apdu(frame, opts, out)
    except DecodeError as apdu_error:
        try:
            _decode_data(frame, opts, out)
        except DecodeError:
            raise apdu_error from None


DECODERS: dict[str, Decoder] = {
    "auto": _decode_auto,
    "apdu": _decode_apdu,
    "data": _decode_data,
}
# lowpan, ipv6, udp, wrapper; auto then also recognises those frames
DECODERS.update(transport_decoders(DECODERS))


class _NotImplementedLayer:
    """Stands in for a layer whose decoder does not exist yet: every frame is an error."""

    def __init__(self, layer: str) -> None:
        self.layer = layer

    def __call__(self, frame: bytes, opts: DecodeOptions, out: dict[str, Any]) -> None:
        raise DecodeError(f"decoding from layer {self.layer} is not implemented yet", layer=self.layer, offset=0)


def _encode_data(obj: Any) -> bytes:
    return axdr.encode(types.from_json(obj))


#: a layer encoder: JSON value -> bytes
Encoder = Callable[[Any], bytes]

ENCODERS: dict[str, Encoder] = {
    "data": _encode_data,
}

ENCODE_LAYERS = tuple(ENCODERS)


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


def _decode_one(text: str, layer: str, decoder: Decoder, opts: DecodeOptions) -> tuple[str, bool]:
    """(the JSON line for one hex frame, whether it decoded)."""
    try:
        frame = parse_hex(text)
    except _InputError as exc:
        return _error_line(INPUT_LAYER, exc.offset, exc.message), False
    out: dict[str, Any] = {}
    try:
        decoder(frame, opts, out)
    except DecodeError as exc:
        return _error_line(exc.layer, exc.offset, exc.reason, out), False
    except Exception as exc:  # a bug must not cost the rest of the capture its output
        return _error_line(layer, None, f"internal error: {type(exc).__name__}: {exc}", out), False
    return _dumps(out), True


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
        sys.stdout.write("\n".join(lines) + "\n")
        sys.stdout.flush()


def _run_batch(batches: Iterable[Iterable[Any]], one: Callable[[Any], tuple[str, bool]], strict: bool) -> int:
    """Process every line and print its result; per-line failures are output,
    not a failed run, unless ``strict``."""
    failed = False
    for batch in batches:
        out = []
        for item in batch:
            line, ok = one(item)
            out.append(line)
            failed = failed or not ok
        _emit(out)
    return 1 if failed and strict else 0


def _cmd_decode(args: argparse.Namespace) -> int:
    layer: str = args.layer
    decoder = DECODERS.get(layer) or _NotImplementedLayer(layer)
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
        return _decode_one(text, layer, decoder, opts)

    if args.frames:
        return _run_batch([args.frames], one, args.strict)
    return _run_batch(_line_chunks(_stdin_bytes()), one, args.strict)


def _cmd_encode(args: argparse.Namespace) -> int:
    layer: str = args.layer
    encoder = ENCODERS[layer]

    def one(item: str | bytes) -> tuple[str, bool]:
        return _encode_one(item, encoder, layer)

    if args.values:
        return _run_batch([args.values], one, args.strict)
    return _run_batch(_line_chunks(_stdin_bytes()), one, args.strict)


def _cmd_backend(args: argparse.Namespace) -> int:
    _emit([backend()])
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
     still processed); also when standard output closes early
  2  bad command line
"""

_DECODE_HELP = """\
Decode hex frames from LAYER upward and print one JSON object per frame
(JSON Lines). With no HEX arguments, read standard input: one frame per line,
whitespace between bytes and a leading 0x allowed. Every input line gives
exactly one output line; a blank line or bad hex gives an error line.

A frame that fails prints {"error": {"layer": L, "offset": N, "message": TEXT}}
beside the layers decoded before the failure; offset is the byte offset in the
frame (for layer "input": the 0-based column in the line; null when there is
no position). Layers not implemented yet print an error line per frame.
"""

_ENCODE_HELP = """\
Encode values given in the JSON form of DESIGN.md section 5, e.g.
'{"type": "long-unsigned", "value": 230}', and print the hex (lowercase, no
spaces) of each. With no JSON arguments, read JSON Lines from standard input:
one hex line out per line in; a line that fails prints an error line
{"error": {"layer": L, "offset": N, "message": TEXT}} (offset: the JSON column
for layer "input", else null).
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="dlmsmesh",
        description="DLMS/COSEM over IPv6 mesh networks: decode and encode frames.",
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
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help(sys.stderr)
        return 2
    if args.command == "decode" and args.context:
        numbers = [n for n, _ in args.context]
        dup = sorted({n for n in numbers if numbers.count(n) > 1})
        if dup:
            parser.error(f"--context {dup[0]} given more than once")
    try:
        return int(args.func(args))
    except BrokenPipeError:
        # the reader went away (| head): stop quietly, and keep Python's exit
        # flush from raising again on the closed pipe
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
