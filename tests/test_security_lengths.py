"""The A-XDR length in front of a ciphered content, at every length-form
boundary: both backends write the same bytes, the shortest form (an
encoder always writes the shortest length form), and both read it back, a
non-minimal form included.

Regression: csrc/secure.c wrote contents of 65,536 bytes or more as
``84 xxxxxxxx`` where the pure backend writes ``83 xxxxxx``.
"""

from __future__ import annotations

import pytest

import dlmsmesh
from dlmsmesh.security import Protection, Role, SecurityContext, SecurityPolicy

from .helpers import on_backend

pytestmark = pytest.mark.skipif(not dlmsmesh.native_available(), reason="C core not built")

CLIENT = bytes.fromhex("4D4D4D0000000001")
METER = bytes.fromhex("4D4D4D0000BC614E")
EK = bytes.fromhex("8F1C7A2E5B3D49A0C6E1F2D3B4A59687")
AK = bytes.fromhex("1A2B3C4D5E6F708192A3B4C5D6E7F809")

# security control byte + invocation counter, then the ciphertext, then the
# 12-byte tag when authenticated
SC_IC = 5
TAG = 12
OVERHEAD = {Protection.AUTHENTICATED_ENCRYPTION: SC_IC + TAG, Protection.ENCRYPTION: SC_IC}

CONTENT_LENGTHS = [127, 128, 255, 256, 65_535, 65_536, 70_000]

# content length -> the exact length field the shortest form gives it
LENGTH_FIELD = {
    127: bytes.fromhex("7F"),
    128: bytes.fromhex("8180"),
    255: bytes.fromhex("81FF"),
    256: bytes.fromhex("820100"),
    65_535: bytes.fromhex("82FFFF"),
    65_536: bytes.fromhex("83010000"),
    70_000: bytes.fromhex("83011170"),
}

GET_RESPONSE = 0xC4
GLO_GET_RESPONSE = 0xCC
GENERAL_GLO = 0xDB


def _pair(protection: Protection) -> tuple[SecurityContext, SecurityContext]:
    """A fresh (client, meter) pair asking ``protection``: fresh counter
    stores, so both backends seal with the same invocation counter."""
    policy = SecurityPolicy.both_ways(protection)
    client = SecurityContext(CLIENT, peer_system_title=METER, ek=EK, ak=AK, policy=policy)
    meter = SecurityContext(METER, peer_system_title=CLIENT, role=Role.SERVER, ek=EK, ak=AK, policy=policy)
    return client, meter


def _apdu(content_length: int, protection: Protection) -> bytes:
    n = content_length - OVERHEAD[protection]
    return bytes((GET_RESPONSE,)) + bytes(n - 1)


def _protect(name: str, apdu: bytes, general: bool, protection: Protection) -> bytes:
    client, _ = _pair(protection)
    with on_backend(name):
        return client.protect(apdu, general=general, protection=protection)


def _head(general: bool) -> bytes:
    return bytes((GENERAL_GLO, 8)) + CLIENT if general else bytes((GLO_GET_RESPONSE,))


@pytest.mark.parametrize("protection", list(OVERHEAD))
@pytest.mark.parametrize("general", [False, True], ids=["glo", "general-glo"])
@pytest.mark.parametrize("content_length", CONTENT_LENGTHS)
def test_native_and_pure_write_the_shortest_length(content_length: int, general: bool, protection: Protection) -> None:
    apdu = _apdu(content_length, protection)
    native = _protect("native", apdu, general, protection)
    pure = _protect("pure", apdu, general, protection)
    head = _head(general) + LENGTH_FIELD[content_length]
    assert pure[: len(head)] == head
    assert native[: len(head)] == head
    assert len(native) == len(head) + content_length
    assert native == pure


def _non_minimal(frame: bytes, general: bool, content_length: int) -> bytes:
    """The same frame with its length written in four length octets."""
    head = _head(general)
    body = frame[len(head) + len(LENGTH_FIELD[content_length]) :]
    assert len(body) == content_length
    return head + b"\x84" + content_length.to_bytes(4, "big") + body


@pytest.mark.parametrize("minimal", [True, False], ids=["shortest", "four-octets"])
@pytest.mark.parametrize("protection", list(OVERHEAD))
@pytest.mark.parametrize("general", [False, True], ids=["glo", "general-glo"])
@pytest.mark.parametrize("content_length", CONTENT_LENGTHS)
def test_both_backends_read_every_length_form(
    backend: str, content_length: int, general: bool, protection: Protection, minimal: bool
) -> None:
    apdu = _apdu(content_length, protection)
    client, meter = _pair(protection)
    # sealed by the pure backend, whose length form the first test pins
    with on_backend("pure"):
        frame = client.protect(apdu, general=general, protection=protection)
    if not minimal:
        frame = _non_minimal(frame, general, content_length)
    opened = meter.unprotect(frame)
    assert opened.plaintext == apdu
    assert opened.info.system_title == CLIENT
