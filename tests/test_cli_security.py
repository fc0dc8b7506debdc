"""``dlmsmesh decode`` on ciphered frames: the ``security`` object of
docs/json.md, then the APDU inside; a frame that fails verification
is an error line of layer ``security`` with the security object and no
``apdu``/``acse`` key.  One process per backend decodes a whole capture."""

from __future__ import annotations

from typing import Any

import pytest

from dlmsmesh import apdu
from dlmsmesh.errors import DecodeError
from dlmsmesh.security import MemoryCounterStore, Role, SecurityContext

from .test_cli import json_lines, run
from .test_security_vectors import AK, CLIENT, EK, SERVER, V, h

KEYS = ["--ek", EK.hex(), "--ak", AK.hex()]
SECURITY_KEYS = {
    "tag", "system_title", "security_control", "suite", "authenticated", "encrypted", "key_set", "invocation_counter",
}  # fmt: skip
B4_AARQ = (
    "6055A109060760857405080103A60A04084D4D4D00000000018A0207808B0760857405080205AC0A80084B35366956616759"
    "BE230421" + V["B4"]["ciphered"]
)
B5_AARE = (
    "6161A109060760857405080103A203020100A305A10302010EA40A04084D4D4D0000BC614E880207808907608574050802"
    "05AA0A8008503677524A323146BE230421" + V["B5"]["ciphered"]
)


def _security(**fields: Any) -> dict[str, Any]:
    base = {
        "tag": "glo-get-request",
        "system_title": SERVER.hex(),
        "security_control": 0x30,
        "suite": 0,
        "authenticated": True,
        "encrypted": True,
        "key_set": "unicast",
        "invocation_counter": V["ic"],
    }
    base.update(fields)
    return base


GET_REQUEST = {
    "type": "get-request",
    "variant": "normal",
    "invoke_id": 0,
    "priority": "normal",
    "service_class": "unconfirmed",
    "class_id": 8,
    "obis": "0.0.1.0.0.255",
    "attribute_id": 2,
}


def _bad_apdu_frame() -> tuple[str, int]:
    """general-glo-ciphering around a get-response whose octet-string runs
    past the end, and the frame offset of that length octet."""
    meter = SecurityContext(SERVER, ek=EK, ak=AK, role=Role.SERVER, counters=MemoryCounterStore(first_counter=9))
    inner = h("C401C100090502")  # octet-string of 5 bytes, 1 given
    frame = meter.protect(inner, general=True)
    with pytest.raises(DecodeError) as caught:
        apdu.decode(inner)
    # plaintext byte i is frame byte 16 + i: tag, title, length, SC, IC before it
    return frame.hex(), 16 + caught.value.offset


def test_decode_ciphered_capture(backend: str) -> None:
    bad_apdu, bad_at = _bad_apdu_frame()
    s1 = V["S1"]
    tampered = s1[:-2] + ("00" if s1[-2:] != "00" else "01")
    lines = [
        V["S1"],  # 0 glo-get-request, title from --system-title
        V["S2"],  # 1 authentication only
        V["S4"],  # 2 general-glo-ciphering carries the title
        tampered,  # 3 tag fails
        V["S5"]["frame"],  # 4 broadcast key
        bad_apdu,  # 5 verifies, then the APDU inside is malformed
        B4_AARQ,  # 6 AARQ with a glo-initiate-request
        B5_AARE,  # 7 AARE with a glo-initiate-response
        "DF00",  # 8 not a whole ciphered APDU
    ]
    args = ["decode", "--layer", "apdu", *KEYS, "--bk", V["S5"]["bk"], "--system-title", SERVER.hex()]
    proc = run(args, stdin="\n".join(lines) + "\n", backend=backend)
    assert proc.returncode == 0, proc.stderr
    out = json_lines(proc.stdout)
    assert len(out) == len(lines)
    assert out[0] == {"security": _security(), "apdu": GET_REQUEST}
    assert out[1] == {"security": _security(security_control=0x10, encrypted=False), "apdu": GET_REQUEST}
    assert out[2] == {"security": _security(tag="general-glo-ciphering"), "apdu": GET_REQUEST}
    assert out[3] == {
        "security": _security(),
        "error": {"layer": "security", "offset": 20, "message": "authentication tag did not verify"},
    }
    assert out[4]["security"] == _security(
        tag="general-glo-ciphering", security_control=0x70, key_set="broadcast", invocation_counter=1
    )
    assert out[4]["apdu"] == GET_REQUEST
    assert set(out[5]) == {"security", "error"} and out[5]["error"]["layer"] == "apdu"
    assert out[5]["error"]["offset"] == bad_at
    assert out[6]["security"] == _security(tag="glo-initiate-request", system_title=CLIENT.hex(), invocation_counter=1)
    assert out[6]["acse"]["user_information"] == "initiate-request"
    assert out[6]["acse"]["max_receive_pdu_size"] == 1024
    assert "general-protection" in out[6]["acse"]["conformance"]
    assert out[7]["security"]["tag"] == "glo-initiate-response"
    assert out[7]["acse"]["user_information"] == "initiate-response"
    assert out[8] == {"error": {"layer": "security", "offset": 2, "message": "truncated input"}}
    for line in out:
        if "security" in line:
            assert SECURITY_KEYS <= set(line["security"])


def test_failures_never_show_the_apdu(backend: str) -> None:
    wrong = ["--ek", EK.hex(), "--ak", bytes(16).hex(), "--system-title", SERVER.hex()]
    lines = [V["S1"], V["S4"], B4_AARQ]
    proc = run(["decode", "--layer", "apdu", *wrong], stdin="\n".join(lines) + "\n", backend=backend)
    out = json_lines(proc.stdout)
    for line in out:
        assert set(line) == {"security", "error"}, line
        assert line["error"]["layer"] == "security"
    assert out[2]["error"]["offset"] == len(h(B4_AARQ)) - 12
    # no keys at all: the header is shown, the APDU is not
    proc = run(["decode", V["S1"]], backend=backend)
    (line,) = json_lines(proc.stdout)
    assert line["security"] == _security(system_title=None)
    assert line["error"]["layer"] == "security" and "--ek" in line["error"]["message"]
    # the AARQ decodes without keys; its user-information stays ciphered
    proc = run(["decode", "--layer", "apdu", B4_AARQ], backend=backend)
    (line,) = json_lines(proc.stdout)
    assert line["acse"]["user_information"] == "glo-initiate-request"
    assert line["security"]["invocation_counter"] == 1


def test_suite_1_capture_and_key_size_mismatch(backend: str) -> None:
    s11 = V["S11"]
    proc = run(["decode", "--ek", s11["ek"], s11["frame"]], backend=backend)
    (line,) = json_lines(proc.stdout)
    assert line["security"]["suite"] == 1 and line["security"]["system_title"] == "4b464d1010000023"
    assert line["apdu"]["type"] == "data-notification"
    proc = run(["decode", *KEYS, "--system-title", SERVER.hex(), V["S6"]["frame"]], backend=backend)
    (line,) = json_lines(proc.stdout)
    assert line["error"]["layer"] == "security" and "suite 2" in line["error"]["message"]
    s6 = ["--ek", V["S6"]["ek"], "--ak", V["S6"]["ak"], "--system-title", SERVER.hex()]
    proc = run(["decode", *s6, V["S6"]["frame"]], backend=backend)
    (line,) = json_lines(proc.stdout)
    assert line["apdu"] == GET_REQUEST and line["security"]["suite"] == 2


def test_wrapper_then_security(backend: str) -> None:
    apdu = h(V["S4"])
    datagram = bytes.fromhex("00010010 0001") + len(apdu).to_bytes(2, "big") + apdu
    proc = run(["decode", "--layer", "wrapper", *KEYS, datagram.hex()], backend=backend)
    (line,) = json_lines(proc.stdout)
    assert list(line) == ["wrapper", "security", "apdu"]
    assert line["apdu"] == GET_REQUEST
    bad = datagram[:-1] + bytes((datagram[-1] ^ 1,))
    proc = run(["decode", "--layer", "wrapper", *KEYS, bad.hex()], backend=backend)
    (line,) = json_lines(proc.stdout)
    assert list(line) == ["wrapper", "security", "error"]
    assert line["error"] == {
        "layer": "security",
        "offset": len(bad) - 12,
        "message": "authentication tag did not verify",
    }
