"""The security layer writes and reads A-XDR lengths with the one codec of
``dlmsmesh._common.length`` (issue 11): the frame builders write the
shortest form at every boundary, and a malformed length in a ciphered APDU
gives the same status code at the same offset on both backends."""

from __future__ import annotations

import importlib

import pytest

from dlmsmesh import _status as S
from dlmsmesh._common.length import encode_length
from dlmsmesh.errors import DecodeError
from dlmsmesh.security import envelope as E
from dlmsmesh.security.tags import GENERAL_GLO_CIPHERING

from .helpers import BACKENDS

single = pytest.mark.single_backend

TITLE = bytes.fromhex("4D4D4D0000BC614E")
GLO_GET = 0xC8

BOUNDARIES = [
    (127, b"\x7f"),
    (128, b"\x81\x80"),
    (255, b"\x81\xff"),
    (256, b"\x82\x01\x00"),
    (65_535, b"\x82\xff\xff"),
    (65_536, b"\x83\x01\x00\x00"),
    (70_000, b"\x83\x01\x11\x70"),
]


@single
@pytest.mark.parametrize(("n", "form"), BOUNDARIES)
def test_frame_builders_write_the_shortest_length(n: int, form: bytes) -> None:
    content = bytes(n)
    assert encode_length(n) == form
    assert E.service_frame(GLO_GET, content) == bytes((GLO_GET,)) + form + content
    assert E.general_frame(GENERAL_GLO_CIPHERING, TITLE, content) == (
        bytes((GENERAL_GLO_CIPHERING, 8)) + TITLE + form + content
    )


@single
@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize(("n", "form"), BOUNDARIES)
def test_parse_reads_every_length_form_of_the_content(name: str, n: int, form: bytes) -> None:
    secure = importlib.import_module(f"dlmsmesh._{name}.secure")
    content = b"\x30" + (7).to_bytes(4, "big") + bytes(n - 5)
    env = secure.parse(E.service_frame(GLO_GET, content))
    assert (env.content, env.content_len, env.sc, env.ic) == (1 + len(form), n, 0x30, 7)


# (frame, status code, offset): the length field of the content or of the title
MALFORMED = [
    (bytes((GLO_GET, 0x80)), S.BAD_LENGTH, 1),  # 0x80: no length octets
    (bytes((GLO_GET, 0x85, 0, 0, 0, 0, 5)), S.BAD_LENGTH, 1),  # five length octets
    (bytes((GLO_GET, 0x82, 0x01)), S.TRUNCATED, 1),  # length octets run past the end
    (bytes((GLO_GET, 0x81, 0x06, 0x30, 0, 0, 0, 1)), S.TRUNCATED, 1),  # content shorter than said
    # a non-minimal title length is read (8); then the content length is missing
    (bytes((GENERAL_GLO_CIPHERING, 0x84, 0, 0, 0, 8)) + TITLE, S.TRUNCATED, 14),
    (bytes((GENERAL_GLO_CIPHERING, 0x81)), S.TRUNCATED, 1),
    (bytes((GENERAL_GLO_CIPHERING, 8)) + TITLE + b"\x86", S.BAD_LENGTH, 10),
]


@single
@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize(("frame", "code", "offset"), MALFORMED)
def test_a_malformed_length_fails_at_its_offset(name: str, frame: bytes, code: int, offset: int) -> None:
    secure = importlib.import_module(f"dlmsmesh._{name}.secure")
    with pytest.raises(DecodeError) as info:
        secure.parse(frame)
    assert info.value.layer == "security"
    assert info.value.offset == offset
    assert info.value.code == code  # type: ignore[attr-defined]
    assert info.value.reason == S.MESSAGES[code]
