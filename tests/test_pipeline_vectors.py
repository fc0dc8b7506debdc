"""decode_batch on every known-answer vector of the spec notes, at every
layer each one exists at, equals the single-frame path (and, for the
transport vectors, what ``dlmsmesh decode`` prints for the same frame)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dlmsmesh import _status as S
from dlmsmesh import apdu, ipv6, lowpan, pipeline, wrapper
from dlmsmesh.security import MemoryCounterStore, SecurityContext, SecurityPolicy

from .helpers import hexbytes
from .pipeline_support import reference, same, summary
from .test_apdu_vectors import VECTORS as APDU_VECTORS
from .test_cli import run
from .transport_vectors import (
    EXAMPLE13_FRAME,
    EXAMPLE14_CONTEXTS,
    EXAMPLE14_FRAGMENTS,
    EXAMPLE14_LL,
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

with open(__file__.rsplit("/", 1)[0] + "/vectors/security_examples.json") as _fh:
    SEC = json.load(_fh)
SERVER = bytes.fromhex(SEC["server_title"])
EK = bytes.fromhex(SEC["ek"])
AK = bytes.fromhex(SEC["ak"])


def receiver(**kw: Any) -> SecurityContext:
    """The client end of the spec's test keys (it receives what the server sends)."""
    kw.setdefault("ek", EK)
    kw.setdefault("ak", AK)
    return SecurityContext(
        bytes.fromhex(SEC["client_title"]), peer_system_title=SERVER, policy=SecurityPolicy.NONE,
        counters=MemoryCounterStore(), **kw,
    )  # fmt: skip


def check(frames: list[bytes], layer: str, *, security: Any = None, make: Any = None, **kw: Any) -> Any:
    """The batch equals the single-frame path frame by frame (two security
    sources made alike: one for the batch, one for the reference)."""
    batch_src = make() if make else security
    ref_src = make() if make else security
    result = pipeline.decode_batch(frames, layer=layer, security=batch_src, **kw)
    links = kw.get("links")
    for i, frame in enumerate(frames):
        ll = None if links is None else (links[0] if len(links) == 1 else links[i])
        want = reference(
            frame, layer=layer, security=ref_src, ll=ll, contexts=kw.get("contexts"),
            allow_plain=bool(kw.get("allow_plain")), verify_checksum=kw.get("verify_checksum", True),
        )  # fmt: skip
        got = summary(result, i)
        assert same(got, want), (i, got.error, want.error)
    return result


# --------------------------------------------------------------------------
# T1, T2 (tests/transport_vectors.py)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("layer", "frames"),
    [
        ("ipv6", [T1_DATAGRAM, T2_DATAGRAM]),
        ("udp", [T1_DATAGRAM[40:], T2_DATAGRAM[40:]]),
        ("wrapper", [T1_WPDU, T2_WPDU]),
        ("apdu", [T1_APDU, T2_APDU]),
    ],
)
def test_transport_vectors(backend: str, layer: str, frames: list[bytes]) -> None:
    result = check(frames, layer)
    assert result.status == [0, 0]
    assert result.apdu(0) == apdu.decode(T1_APDU) and result.apdu(1) == apdu.decode(T2_APDU)
    assert result.plaintext(0) == T1_APDU
    if layer == "ipv6":
        assert result.ipv6(0) == ipv6.parse(T1_DATAGRAM).ipv6
        assert result.udp(1) == ipv6.parse(T2_DATAGRAM).udp
        assert result.checksum_ok(0) is True and result.checksum_ok(1) is True
    if layer in ("ipv6", "udp", "wrapper"):
        assert result.wrapper(0) == wrapper.decode(T1_WPDU)[0]
        assert result.wrapper(1) == wrapper.decode(T2_WPDU)[0]
    if layer == "udp":
        assert result.checksum_ok(0) is None
    assert result.body(1) == hexbytes("090C07E80A0F020C1E00FF800000")


def test_transport_vectors_bad_checksum(backend: str) -> None:
    bad = T1_DATAGRAM[:46] + b"\x00\x01" + T1_DATAGRAM[48:]
    result = check([bad], "ipv6")
    assert result.status == [S.PIPE_CHECKSUM] and result.error(0).offset == 46
    relaxed = check([bad], "ipv6", verify_checksum=False)
    assert relaxed.status == [0] and relaxed.checksum_ok(0) is False


# --------------------------------------------------------------------------
# 6LoWPAN examples 1-14 and the registration push (tests/transport_vectors.py)
# --------------------------------------------------------------------------


@pytest.mark.parametrize("vector", LOWPAN_VECTORS, ids=[v.name for v in LOWPAN_VECTORS])
def test_lowpan_vectors(backend: str, vector: Any) -> None:
    links = [(vector.ll_src or b"", vector.ll_dst or b"")]
    frames = [vector.frame, b"\x50\x01" + vector.frame, vector.frame[:-1], vector.frame[:3]]
    result = check(frames, "lowpan", links=links, contexts=vector.contexts)
    assert result.lowpan(0)["header_length"] == len(vector.header)
    datagram = lowpan.decompress_datagram(
        vector.frame, ll_src=vector.ll_src, ll_dst=vector.ll_dst, contexts=vector.contexts
    )
    if result.ipv6(0) is not None:
        assert result.ipv6(0) == ipv6.IPv6Header.unpack(datagram)


def test_mesh_example_13(backend: str) -> None:
    result = check([EXAMPLE13_FRAME], "lowpan", links=[(hexbytes("0007"), hexbytes("0005"))])
    assert result.status == [0]
    assert result.lowpan(0)["dispatch"] == "mesh"
    assert result.apdu(0) == apdu.decode(T1_APDU)


def test_fragments_are_refused_then_decode_once_reassembled(backend: str) -> None:
    result = check(EXAMPLE14_FRAGMENTS, "lowpan", links=[EXAMPLE14_LL], contexts=EXAMPLE14_CONTEXTS)
    assert result.status == [S.PIPE_FRAGMENT] * 3
    assert [result.error(i).offset for i in range(3)] == [0, 0, 0]
    re = lowpan.Reassembler()
    datagrams = [
        lowpan.decode_frame(
            f, ll_src=EXAMPLE14_LL[0], ll_dst=EXAMPLE14_LL[1], contexts=EXAMPLE14_CONTEXTS, reassembler=re
        )
        for f in EXAMPLE14_FRAGMENTS
    ]
    whole = datagrams[-1].datagram
    assert whole is not None
    out = check([whole], "ipv6")
    # the payload is an opaque 200 bytes behind an 8-byte wrapper: the APDU layer says why it stops
    assert out.layer(0) == "apdu" and out.wrapper(0) is not None


def test_registration_push(backend: str) -> None:
    frame = REGISTRATION_IPHC + REGISTRATION_WPDU
    links = [REGISTRATION_LL]
    no_keys = check([frame], "lowpan", links=links, contexts=REGISTRATION_CONTEXTS)
    assert no_keys.status == [S.PIPE_NO_KEYS]
    result = check([frame, frame], "lowpan", make=lambda: receiver(), links=links, contexts=REGISTRATION_CONTEXTS)
    assert result.status == [0, S.PIPE_REPLAY]
    push = result.apdu(0)
    assert isinstance(push, apdu.DataNotification) and push.long_invoke_id == 1
    assert result.security(0).invocation_counter == 0x10
    assert (
        result.to_json(1)["error"]["message"] == "invocation counter 16 is not greater than the last accepted one (16)"
    )


# --------------------------------------------------------------------------
# S1-S11 (tests/vectors/security_examples.json), X1-X31 (tests/test_apdu_vectors.py)
# --------------------------------------------------------------------------


def _server_frames() -> list[tuple[str, bytes, Any]]:
    """(name, ciphered APDU the server sent, receiver factory)."""
    out = [(name, bytes.fromhex(SEC[name]), receiver) for name in ("S1", "S2", "S3", "S4")]
    out.append(("S5", bytes.fromhex(SEC["S5"]["frame"]), lambda: receiver(bk=bytes.fromhex(SEC["S5"]["bk"]))))
    s6 = SEC["S6"]
    out.append(
        (
            "S6",
            bytes.fromhex(s6["frame"]),
            lambda: receiver(suite=2, ek=bytes.fromhex(s6["ek"]), ak=bytes.fromhex(s6["ak"])),
        )
    )
    s11 = SEC["S11"]
    out.append(
        (
            "S11",
            bytes.fromhex(s11["frame"]),
            lambda: SecurityContext(
                peer_system_title=bytes.fromhex("4B464D1010000023"),
                suite=1,
                ek=bytes.fromhex(s11["ek"]),
                policy=SecurityPolicy.NONE,
                counters=MemoryCounterStore(),
            ),  # fmt: skip
        )
    )
    return out


@pytest.mark.parametrize(("name", "frame", "make"), _server_frames(), ids=[n for n, _, _ in _server_frames()])
@pytest.mark.parametrize("layer", ["apdu", "wrapper", "ipv6"])
def test_security_vectors(backend: str, name: str, frame: bytes, make: Any, layer: str) -> None:
    if layer != "apdu":
        frame = wrapper.encode(1, 16, frame)
    if layer == "ipv6":
        frame = ipv6.build("2001:db8:1::212:4b00:1:203", "2001:db8:ffff::10", frame)
    tampered = bytearray(frame)
    tampered[-3] ^= 0x40
    result = check([frame, frame, bytes(tampered)], layer, make=make)
    assert result.status[1] == S.PIPE_REPLAY
    assert result.status[2] != 0
    with pytest.raises(Exception, match="."):
        result.plaintext(2)
    if name != "S11":  # S11 is a real capture: its plaintext is longer than this APDU
        assert result.plaintext(0) == bytes.fromhex(SEC["plaintext"]) or name == "S2"
    assert result.security(0).system_title in (SERVER, bytes.fromhex("4B464D1010000023"))


@pytest.mark.parametrize("name", list(APDU_VECTORS))
def test_apdu_vectors(backend: str, name: str) -> None:
    data = APDU_VECTORS[name]
    frames = [data, data[:-1], data + b"\x00", wrapper.encode(1, 16, data)]
    check(frames[:3], "apdu")
    result = check(frames[3:], "wrapper")
    assert result.status == [0]
    assert result.apdu(0) == apdu.decode(data)


# --------------------------------------------------------------------------
# what dlmsmesh decode prints for the same frames
# --------------------------------------------------------------------------


def _cli(layer: str, frames: list[bytes], extra: list[str], backend: str) -> list[dict[str, Any]]:
    proc = run(["decode", "--layer", layer, *extra], stdin="".join(f.hex() + "\n" for f in frames), backend=backend)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_to_json_is_what_the_command_line_prints(backend: str) -> None:
    cases: list[tuple[str, list[bytes], dict[str, Any], list[str]]] = [
        ("ipv6", [T1_DATAGRAM, T2_DATAGRAM, T1_DATAGRAM[:50], T2_DATAGRAM[:-1]], {}, []),
        ("udp", [T1_DATAGRAM[40:], T2_DATAGRAM[40:] + b"\x00"], {}, []),
        ("wrapper", [T1_WPDU, T2_WPDU[:-2], b"\x00\x02" + T1_WPDU[2:]], {}, []),
        ("apdu", list(APDU_VECTORS.values()), {}, []),
        (
            "lowpan",
            [v.frame for v in LOWPAN_VECTORS if v.name.startswith(("1-", "4-", "9-", "12-"))] + [EXAMPLE13_FRAME],
            {
                "links": [(hexbytes("00124B0000010203"), hexbytes("00124B0000040506"))],
                "contexts": {0: "2001:db8:1::/64"},
            },
            ["--ll-src", "00124B0000010203", "--ll-dst", "00124B0000040506", "--context", "0=2001:db8:1::/64"],
        ),
        (
            "wrapper",
            [wrapper.encode(1, 16, bytes.fromhex(SEC[n])) for n in ("S1", "S2", "S3", "S4")]
            + [wrapper.encode(1, 16, bytes.fromhex(SEC["S1"])[:-1])],
            {"security": receiver(), "replay_check": False},
            ["--ek", EK.hex(), "--ak", AK.hex(), "--system-title", SERVER.hex()],
        ),
    ]
    for layer, frames, kw, extra in cases:
        result = pipeline.decode_batch(frames, layer=layer, verify_checksum=False, allow_plain=True, **kw)
        got = [result.to_json(i) for i in range(len(frames))]
        assert got == _cli(layer, frames, extra, backend), layer
