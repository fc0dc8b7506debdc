#!/usr/bin/env python3
"""Record what ``dlmsmesh decode`` prints for every known frame: the golden file.

    python tests/golden/make_golden.py          # rewrite tests/golden/
    python tests/golden/make_golden.py --check  # exit 1 if the output differs

Inputs: every vector of tests/vectors/*.json and the vector modules
(tests/test_apdu_vectors.py, tests/transport_vectors.py, at the layer and with
the keys / link-layer addresses / IPHC contexts they decode with), plus broken
variants (one byte short, one byte more), samples/profile_capture.hex and every
file of the fuzz corpora tests/fuzz/corpus/<target>/ (as hex, at the layer
that target parses, and again with ``--layer auto``).

Each run is one ``python -m dlmsmesh decode ARGS`` process reading hex lines on
standard input (one process per layer/option set: the 6LoWPAN reassembler
lives as long as a run).  ``runs.json`` lists the runs (name, arguments, input
file), ``<input>.hex`` holds the input lines and ``<name>.jsonl`` the output.
tests/test_golden_decode.py replays the runs and compares byte for byte.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(ROOT))

from tests.test_apdu_vectors import VECTORS as APDU_VECTORS  # noqa: E402
from tests.transport_vectors import (  # noqa: E402
    EXAMPLE13_FRAME,
    EXAMPLE13_MAC,
    EXAMPLE14_CONTEXTS,
    EXAMPLE14_FRAGMENTS,
    EXAMPLE14_LL,
    FULL_FRAME_1,
    FULL_FRAME_13,
    LOWPAN_VECTORS,
    REGISTRATION_CONTEXTS,
    REGISTRATION_IPHC,
    REGISTRATION_LL,
    REGISTRATION_WPDU,
    T1_APDU,
    T1_DATAGRAM,
    T1_WPDU,
    T2_APDU,
    T2_DATAGRAM,
    T2_WPDU,
)

VECTORS = ROOT / "tests" / "vectors"
CORPUS = ROOT / "tests" / "fuzz" / "corpus"
SAMPLE = ROOT / "samples" / "profile_capture.hex"

SEC = json.loads((VECTORS / "security_examples.json").read_text(encoding="utf-8"))
AXDR = json.loads((VECTORS / "axdr_examples.json").read_text(encoding="utf-8"))

#: the keys and titles of tests/vectors/security_examples.json (the server sends)
KEYS = ["--ek", SEC["ek"], "--ak", SEC["ak"], "--bk", SEC["S5"]["bk"], "--system-title", SEC["server_title"]]
#: the link-layer addresses and IPHC context most lowpan vectors use
LINKS = ["--ll-src", "00124B0000010203", "--ll-dst", "00124B0000040506", "--context", "0=2001:db8:1::/64"]

#: which layer the fuzz target parses (the corpus file is one frame there)
CORPUS_LAYERS: dict[str, tuple[str, list[str]]] = {
    "apdu": ("apdu", []),
    "axdr": ("data", []),
    "ber": ("apdu", []),
    "columns": ("data", []),
    "frag": ("lowpan", LINKS),
    "iphc": ("lowpan", LINKS),
    "pipe_encode": ("apdu", KEYS),
    "pipeline": ("lowpan", LINKS + KEYS),
    "py_acse": ("apdu", KEYS),
    "py_apdu": ("apdu", []),
    "py_axdr": ("data", []),
    "py_pipeline": ("wrapper", KEYS),
    "py_security": ("apdu", KEYS),
    "py_stack": ("lowpan", LINKS + KEYS),
    "push": ("apdu", []),
    "py_transport": ("ipv6", []),
    "secure": ("apdu", KEYS),
    "wrapper": ("wrapper", []),
}
#: the py_stack corpus is decoded from every layer, as its harness does
STACK_LAYERS = ("auto", "lowpan", "ipv6", "udp", "wrapper", "apdu", "data")

#: keep the golden files small: a corpus of more files is sampled (every k-th
#: file by name, a deterministic choice)
MAX_CORPUS_FILES = 2000


def _variants(frame: bytes) -> list[bytes]:
    """The frame, one byte short and one byte more (errors at the end)."""
    return [frame, frame[:-1], frame + b"\x00"]


def _hexstrings(obj: Any) -> list[str]:
    out: list[str] = []
    if isinstance(obj, str):
        try:
            if len(obj) >= 2 and len(obj) % 2 == 0:
                bytes.fromhex(obj)
                out.append(obj)
        except ValueError:
            pass
    elif isinstance(obj, dict):
        for value in obj.values():
            out.extend(_hexstrings(value))
    elif isinstance(obj, list):
        for value in obj:
            out.extend(_hexstrings(value))
    return out


def _lowpan_args(ll_src: bytes | None, ll_dst: bytes | None, contexts: dict[int, str]) -> list[str]:
    args: list[str] = []
    if ll_src is not None:
        args += ["--ll-src", ll_src.hex()]
    if ll_dst is not None:
        args += ["--ll-dst", ll_dst.hex()]
    for number, prefix in sorted(contexts.items()):
        args += ["--context", f"{number}={prefix}"]
    return args


def corpus_files(target: str) -> list[Path]:
    files = sorted(p for p in (CORPUS / target).iterdir() if p.is_file())
    if len(files) > MAX_CORPUS_FILES:
        step = -(-len(files) // MAX_CORPUS_FILES)
        files = files[::step]
    return files


def runs() -> list[tuple[str, list[str], str, list[str]]]:
    """(run name, decode arguments, input name, input lines)."""
    out: list[tuple[str, list[str], str, list[str]]] = []
    inputs: dict[str, list[str]] = {}

    def add(name: str, args: list[str], input_name: str, lines: list[str] | None = None) -> None:
        if lines is not None:
            inputs[input_name] = lines
        out.append((name, args, input_name, inputs[input_name]))

    # A-XDR worked examples
    axdr_lines = [f.hex() for e in AXDR for f in _variants(bytes.fromhex(e["hex"]))]
    add("axdr-data", ["--layer", "data"], "axdr", axdr_lines)
    add("axdr-auto", [], "axdr")

    # xDLMS APDU examples: bare, behind a wrapper
    apdu_lines = [f.hex() for name in APDU_VECTORS for f in _variants(APDU_VECTORS[name])]
    add("apdu-apdu", ["--layer", "apdu"], "apdu", apdu_lines)
    add("apdu-auto", [], "apdu")
    wrapped = [(bytes.fromhex("0001 0001 0010".replace(" ", "")) + len(APDU_VECTORS[n]).to_bytes(2, "big")
                + APDU_VECTORS[n]).hex() for n in APDU_VECTORS]  # fmt: skip
    add("apdu-wrapper", ["--layer", "wrapper"], "apdu-wrapped", wrapped)
    add("apdu-wrapper-auto", [], "apdu-wrapped")

    # security examples: every hex string of the file, with and without keys
    sec_lines = [f.hex() for s in _hexstrings(SEC) for f in _variants(bytes.fromhex(s))]
    add("security-keys", ["--layer", "apdu", *KEYS], "security", sec_lines)
    add("security-nokeys", ["--layer", "apdu"], "security")
    add("security-auto", KEYS, "security")
    s6 = SEC["S6"]
    add("security-s6", ["--layer", "apdu", "--ek", s6["ek"], "--ak", s6["ak"], "--system-title",
                        SEC["server_title"]], "security")  # fmt: skip
    add("security-s11", ["--layer", "apdu", "--ek", SEC["S11"]["ek"], "--system-title", "4B464D1010000023"],
        "security")  # fmt: skip

    # transport T1/T2 at every layer
    t_ipv6 = [f.hex() for d in (T1_DATAGRAM, T2_DATAGRAM) for f in _variants(d)]
    t_ipv6.append((T1_DATAGRAM[:46] + b"\x00\x01" + T1_DATAGRAM[48:]).hex())  # bad checksum
    add("transport-ipv6", ["--layer", "ipv6"], "transport-ipv6", t_ipv6)
    add("transport-ipv6-auto", [], "transport-ipv6")
    add("transport-udp", ["--layer", "udp"], "transport-udp",
        [f.hex() for d in (T1_DATAGRAM, T2_DATAGRAM) for f in _variants(d[40:])])  # fmt: skip
    add("transport-wrapper", ["--layer", "wrapper"], "transport-wrapper",
        [f.hex() for d in (T1_WPDU, T2_WPDU) for f in _variants(d)])  # fmt: skip
    add("transport-wrapper-auto", [], "transport-wrapper")
    add("transport-apdu", ["--layer", "apdu"], "transport-apdu",
        [f.hex() for d in (T1_APDU, T2_APDU) for f in _variants(d)])  # fmt: skip

    # 6LoWPAN examples 1-12, each with its own link-layer addresses and contexts
    for v in LOWPAN_VECTORS:
        lines = [f.hex() for f in (*_variants(v.frame), b"\x50\x01" + v.frame, v.frame[:3])]
        args = _lowpan_args(v.ll_src, v.ll_dst, v.contexts)
        add(f"lowpan-{v.name}", ["--layer", "lowpan", *args], f"lowpan-{v.name}", lines)
        add(f"lowpan-{v.name}-auto", args, f"lowpan-{v.name}")
    add("lowpan-13-mesh", ["--layer", "lowpan", *_lowpan_args(*EXAMPLE13_MAC, {})], "lowpan-13",
        [f.hex() for f in _variants(EXAMPLE13_FRAME)])  # fmt: skip
    frag_args = _lowpan_args(*EXAMPLE14_LL, EXAMPLE14_CONTEXTS)
    frags = [f.hex() for f in (*EXAMPLE14_FRAGMENTS, *reversed(EXAMPLE14_FRAGMENTS), EXAMPLE14_FRAGMENTS[1])]
    add("lowpan-14-fragments", ["--layer", "lowpan", *frag_args], "lowpan-14", frags)
    add("lowpan-14-fragments-auto", frag_args, "lowpan-14")
    add("lowpan-full-frames", ["--layer", "lowpan", *LINKS], "lowpan-full", [FULL_FRAME_1.hex(), FULL_FRAME_13.hex()])
    reg_args = [*_lowpan_args(*REGISTRATION_LL, REGISTRATION_CONTEXTS), *KEYS]
    reg = REGISTRATION_IPHC + REGISTRATION_WPDU
    add("registration", ["--layer", "lowpan", *reg_args], "registration", [f.hex() for f in _variants(reg)])
    add("registration-auto", reg_args, "registration")
    add("registration-nokeys", ["--layer", "lowpan", *_lowpan_args(*REGISTRATION_LL, REGISTRATION_CONTEXTS)],
        "registration")  # fmt: skip

    # the sample capture
    sample = SAMPLE.read_text(encoding="ascii").splitlines()
    add("sample-data", ["--layer", "data"], "sample", sample)
    add("sample-auto", [], "sample")
    add("sample-apdu", ["--layer", "apdu"], "sample")

    # the fuzz corpora
    for target, (layer, args) in CORPUS_LAYERS.items():
        lines = [p.read_bytes().hex() for p in corpus_files(target)]
        add(f"corpus-{target}", ["--layer", layer, *args], f"corpus-{target}", lines)
        add(f"corpus-{target}-auto", [*KEYS, *LINKS], f"corpus-{target}")
    for layer in STACK_LAYERS[1:]:
        if layer != "lowpan":
            add(f"corpus-py_stack-{layer}", ["--layer", layer, *KEYS, *LINKS], "corpus-py_stack")
    return out


def decode(args: list[str], lines: list[str]) -> bytes:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT / "python") + os.pathsep + env.get("PYTHONPATH", "")
    proc = subprocess.run(
        [sys.executable, "-m", "dlmsmesh", "decode", *args],
        input="".join(line + "\n" for line in lines).encode("ascii"),
        capture_output=True,
        env=env,
        check=False,
        timeout=600,
    )
    if proc.returncode != 0 or proc.stderr:
        raise SystemExit(f"dlmsmesh decode {' '.join(args)}: exit {proc.returncode}: {proc.stderr.decode()}")
    return proc.stdout


def main(argv: list[str]) -> int:
    check = "--check" in argv
    manifest = []
    written: set[str] = set()
    differ = []
    for name, args, input_name, lines in runs():
        manifest.append({"name": name, "args": args, "input": f"{input_name}.hex"})
        if input_name not in written:
            written.add(input_name)
            text = "".join(line + "\n" for line in lines)
            if not check:
                (HERE / f"{input_name}.hex").write_text(text, encoding="ascii")
        output = decode(args, lines)
        path = HERE / f"{name}.jsonl"
        if check:
            if not path.exists() or path.read_bytes() != output:
                differ.append(name)
        else:
            path.write_bytes(output)
    if not check:
        (HERE / "runs.json").write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
    for name in differ:
        print(f"differs: {name}", file=sys.stderr)
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
