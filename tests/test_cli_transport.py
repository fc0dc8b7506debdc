"""``dlmsmesh decode`` from the transport layers up: lowpan, ipv6, udp,
wrapper, auto detection, and 6LoWPAN reassembly across input lines."""

from __future__ import annotations

from typing import Any

import pytest

from dlmsmesh import apdu, ipv6, lowpan, wrapper

from .test_cli import BACKENDS, error, json_lines, run
from .transport_vectors import (
    COLLECTOR,
    EXAMPLE13_FRAME,
    LOWPAN_VECTORS,
    METER,
    T1_APDU,
    T1_DATAGRAM,
    T1_WPDU,
)

T1_JSON: dict[str, Any] = {
    "ipv6": {
        "source": "2001:db8:ffff::10",
        "destination": "2001:db8:1:0:212:4b00:1:203",
        "next_header": 17,
        "hop_limit": 64,
        "traffic_class": 0,
        "flow_label": 0,
        "payload_length": 29,
    },
    "udp": {"source_port": 4059, "destination_port": 4059, "length": 29, "checksum": 0xAD3F, "checksum_ok": True},
    "wrapper": {"version": 1, "source_wport": 16, "destination_wport": 1, "length": 13},
    "apdu": apdu.to_json(apdu.decode(T1_APDU)),
}
LL = ["--ll-src", METER.hex(), "--ll-dst", COLLECTOR.hex()]


def decode(args: list[str], stdin: str | None = None, backend: str | None = None) -> list[dict[str, Any]]:
    proc = run(["decode", *args], stdin=stdin, backend=backend)
    assert proc.returncode == 0, proc.stderr
    return json_lines(proc.stdout)


def test_ipv6_udp_wrapper_layers(backend: str) -> None:
    out = decode(
        [
            "--layer", "ipv6", T1_DATAGRAM.hex(),
        ],
        backend=backend,
    )  # fmt: skip
    assert out == [T1_JSON]
    assert decode(["--layer", "udp", T1_DATAGRAM[40:].hex()], backend=backend) == [
        {"udp": dict(T1_JSON["udp"], checksum_ok=None), "wrapper": T1_JSON["wrapper"], "apdu": T1_JSON["apdu"]}
    ]
    assert decode(["--layer", "wrapper", T1_WPDU.hex()], backend=backend) == [
        {"wrapper": T1_JSON["wrapper"], "apdu": T1_JSON["apdu"]}
    ]


def test_lowpan_layer_up_to_the_apdu(backend: str) -> None:
    frame = lowpan.compress_datagram(T1_DATAGRAM, contexts={0: "2001:db8:1::/64"}, ll_src=METER)
    out = decode(
        ["--layer", "lowpan", "--ll-src", METER.hex(), "--context", "0=2001:db8:1::/64", frame.hex()], backend=backend
    )
    assert out == [dict({"lowpan": {"dispatch": "iphc", "header_length": len(frame) - 21, "dci": 0}}, **T1_JSON)]


def test_mesh_frame_and_checksum_elision(backend: str) -> None:
    v = LOWPAN_VECTORS[11]  # example 12: checksum elided, recomputed as F7F5
    out = decode(["--layer", "lowpan", *LL, v.frame.hex(), EXAMPLE13_FRAME.hex()], backend=backend)
    assert out[0]["lowpan"] == {"dispatch": "iphc", "header_length": 4}
    assert out[0]["udp"]["checksum"] == 0xF7F5 and out[0]["udp"]["checksum_ok"] is True
    assert out[0]["apdu"]["type"] == "get-request"
    assert out[1]["lowpan"] == {"dispatch": "mesh", "header_length": 20}
    assert out[1]["ipv6"]["source"] == "fe80::212:4b00:1:203" and out[1]["ipv6"]["destination"] == "fe80::ff:fe00:1"
    assert out[1]["apdu"] == out[0]["apdu"]


def test_errors_point_into_the_frame(backend: str) -> None:
    v = LOWPAN_VECTORS[0]  # its 13-byte payload is a wrapper announcing 5 APDU bytes, with 5
    bad_wrapper = v.header + b"\x00\x02" + v.payload[2:]
    out = decode(["--layer", "lowpan", *LL, v.frame.hex(), bad_wrapper.hex(), "7e33"], backend=backend)
    assert out[0]["wrapper"] == {"version": 1, "source_wport": 16, "destination_wport": 1, "length": 5}
    assert out[0]["error"] == {"layer": "apdu", "offset": 6 + 8 + 3, "message": "truncated input"}
    assert out[1]["error"] == {"layer": "wrapper", "offset": 6, "message": "wrapper version is not 1"}
    assert "wrapper" not in out[1] and out[1]["udp"]["checksum_ok"] is False
    assert out[2] == dict(error("lowpan", 2, "truncated input"))


def test_missing_link_layer_address(backend: str) -> None:
    out = decode(["--layer", "lowpan", LOWPAN_VECTORS[0].frame.hex()], backend=backend)
    assert out == [error("lowpan", 1, "address derived from a link-layer address that is not known")]


def _fragments() -> tuple[bytes, list[bytes]]:
    response = apdu.encode(apdu.decode(bytes.fromhex("C401C100") + b"\x09\x81\xc8" + bytes(range(200))))
    datagram = ipv6.build(
        "fe80::212:4b00:1:203", "fe80::212:4b00:4:506", wrapper.encode(1, 16, response),
        source_port=ipv6.MESH_PORT, destination_port=ipv6.MESH_PORT,
    )  # fmt: skip
    return datagram, lowpan.fragment(datagram, mtu=100, tag=0x0A0B, ll_src=METER, ll_dst=COLLECTOR)


@pytest.mark.parametrize("layer", ["lowpan", "auto"])
def test_fragments_on_consecutive_lines_are_reassembled(backend: str, layer: str) -> None:
    datagram, frames = _fragments()
    assert len(frames) == 3
    lines = [frames[1], frames[0], LOWPAN_VECTORS[11].frame, frames[2]]  # another frame in between
    out = decode(["--layer", layer, *LL], stdin="".join(f.hex() + "\n" for f in lines), backend=backend)
    # 263 bytes; FRAG1: 4 + 6 compressed header bytes + 88 payload bytes, covering 48 + 88 = 136
    size, tag = len(datagram), 0x0A0B
    assert size == 263
    assert out[0] == {
        "lowpan": {"dispatch": "fragn", "header_length": 5, "fragment": {"size": size, "tag": tag, "offset": 136}},
        "pending": True,
    }
    assert out[1] == {
        "lowpan": {"dispatch": "frag1", "header_length": 10, "fragment": {"size": size, "tag": tag, "offset": 0}},
        "pending": True,
    }
    assert out[2]["apdu"]["type"] == "get-request"
    last = out[3]
    assert last["lowpan"] == {
        "dispatch": "fragn",
        "header_length": 5,
        "fragment": {"size": size, "tag": tag, "offset": 224},
    }
    assert last["ipv6"]["payload_length"] == size - 40 and last["udp"]["checksum_ok"] is True
    assert last["wrapper"]["length"] == 207 and last["apdu"]["type"] == "get-response"
    assert last["apdu"]["result"] == {"type": "octet-string", "value": bytes(range(200)).hex()}


def test_auto_recognises_each_layer(backend: str) -> None:
    frame = LOWPAN_VECTORS[11].frame
    out = decode(
        ["--layer", "auto", *LL, T1_DATAGRAM.hex(), T1_WPDU.hex(), frame.hex(), T1_APDU.hex(), "1203e8"],
        backend=backend,
    )
    assert out[0] == T1_JSON
    assert out[1] == {"wrapper": T1_JSON["wrapper"], "apdu": T1_JSON["apdu"]}
    assert list(out[2]) == ["lowpan", "ipv6", "udp", "wrapper", "apdu"]
    assert out[3] == {"apdu": T1_JSON["apdu"]}
    assert out[4] == {"data": {"type": "long-unsigned", "value": 1000}}


def test_auto_reports_the_layer_that_got_furthest(backend: str) -> None:
    bad = T1_DATAGRAM[:-1] + b"\x01"  # checksum off, APDU broken (attribute 2 -> trailing 01)
    out = decode(["--layer", "auto", bad.hex()], backend=backend)
    assert out[0]["udp"]["checksum_ok"] is False and out[0]["wrapper"]["length"] == 13
    assert out[0]["error"]["layer"] == "apdu"


def test_backends_print_the_same() -> None:
    if len(BACKENDS) < 2:
        pytest.skip("the native backend is not built")
    _, frames = _fragments()
    lines = [f.hex() for f in frames] + [v.frame.hex() for v in LOWPAN_VECTORS] + [EXAMPLE13_FRAME.hex(), "zz", ""]
    stdin = "\n".join(lines) + "\n"
    outputs = [
        run(["decode", "--layer", "lowpan", *LL, "--context", "0=2001:db8:1::/64"], stdin=stdin, backend=b)
        for b in BACKENDS
    ]
    assert outputs[0].stdout == outputs[1].stdout and outputs[0].stdout.count("\n") == len(lines)
