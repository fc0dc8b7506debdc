"""Keys files (JSON Lines, one meter a line) -> a Keyring: what they hold,
every refusal naming its line, no key material in any error or repr, and a
keyring that opens what the meters send."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from dlmsmesh import stack
from dlmsmesh.cosem import default_meter
from dlmsmesh.registration.announce import Announcement, from_notification, notification
from dlmsmesh.registration.errors import KeysFileError
from dlmsmesh.registration.keys_file import KeyEntry, keys_lines, load_keys, read_keys
from dlmsmesh.security import Keyring, MemoryCounterStore, Role, SecurityContext
from dlmsmesh.server import Meter, MeterKeys

TITLE = "4D4D4D0000BC614E"
EK = "000102030405060708090A0B0C0D0E0F"
AK = "D0D1D2D3D4D5D6D7D8D9DADBDCDDDEDF"
BK = "AA" * 16
EK2 = "11" * 32
AK2 = "22" * 32
LINE = json.dumps({"system_title": TITLE, "ek": EK, "ak": AK})
SECRETS = (EK, AK, BK, EK2, AK2, EK.lower(), AK.lower())


def no_secret_in(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text and secret.lower() not in text.lower()


def test_one_line_one_meter(tmp_path: Path) -> None:
    path = tmp_path / "keys.jsonl"
    path.write_text(
        LINE
        + "\n\n"
        + json.dumps({"system_title": "4d4d4d0000000002", "ek": EK2, "ak": AK2, "bk": None, "suite": 2})
        + "\n"
        + json.dumps({"system_title": "4D4D4D0000000003", "ek": EK, "ak": AK, "bk": BK, "dk": EK})
        + "\n"
    )
    entries = read_keys(path)
    assert [e.system_title.hex().upper() for e in entries] == [TITLE, "4D4D4D0000000002", "4D4D4D0000000003"]
    assert [e.line for e in entries] == [1, 3, 4]
    assert (entries[1].suite, entries[1].ek, entries[1].bk) == (2, bytes.fromhex(EK2), None)
    assert (entries[2].bk, entries[2].dk) == (bytes.fromhex(BK), bytes.fromhex(EK))
    ring = load_keys(str(path))
    assert isinstance(ring, Keyring) and len(ring) == 3
    ctx = ring.get(bytes.fromhex("4D4D4D0000000002"))
    assert ctx is not None and int(ctx.suite) == 2 and ctx.has_key("ek") and not ctx.has_key("bk")
    assert ring.get(bytes.fromhex(TITLE)).has_key("ak")  # type: ignore[union-attr]


def test_sources_path_file_lines_and_text(tmp_path: Path) -> None:
    path = tmp_path / "k.jsonl"
    path.write_text(LINE + "\n")
    for source in (path, str(path), io.StringIO(LINE + "\n"), [LINE], LINE, LINE + "\n"):
        assert [e.system_title.hex().upper() for e in read_keys(source)] == [TITLE]


def test_the_keyring_opens_what_the_meter_sends() -> None:
    meter = SecurityContext(bytes.fromhex(TITLE), ek=bytes.fromhex(EK), ak=bytes.fromhex(AK), role=Role.SERVER)
    announcement = Announcement("registration", bytes.fromhex(TITLE), ("2001:db8::1",), 61616, 1)
    frame = stack.send(notification(announcement), security=meter, general=True, wports=(1, 0x66))
    ring = load_keys([LINE], counters=MemoryCounterStore())
    received = stack.receive(frame, "wrapper", security=ring)
    assert received.apdu is not None and from_notification(received.apdu) == announcement


@pytest.mark.parametrize(
    "text, message",
    [
        ("{", "line 1: not JSON (Expecting property name enclosed in double quotes at column 2)"),
        ("[]", "line 1: a line is a JSON object, not an array"),
        ('{"system_title": "' + TITLE + '", "ek": "' + EK + '"}', 'line 1: "ak" is missing'),
        (
            '{"system_title": 5, "ek": "' + EK + '", "ak": "' + AK + '"}',
            'line 1: "system_title" is a hex string, not a number',
        ),
        (
            '{"system_title": "4D4D", "ek": "' + EK + '", "ak": "' + AK + '"}',
            'line 1: "system_title" is 8 octets, not 2',
        ),
        (
            '{"system_title": "' + TITLE + '", "ek": "' + EK + 'X", "ak": "' + AK + '"}',
            'line 1: "ek" is not hex (33 characters)',
        ),
        (
            '{"system_title": "' + TITLE + '", "ek": "' + EK + '", "ak": "' + AK2 + '"}',
            'line 1: "ak" is 16 octets in suite 0, not 32',
        ),
        (
            '{"system_title": "' + TITLE + '", "ek": "' + EK + '", "ak": "' + AK + '", "suite": 3}',
            'line 1: "suite" is 0, 1 or 2, not 3',
        ),
        (
            '{"system_title": "' + TITLE + '", "ek": "' + EK + '", "ak": "' + AK + '", "suite": true}',
            'line 1: "suite" is 0, 1 or 2, not true',
        ),
        (
            '{"system_title": "' + TITLE + '", "ek": "' + EK + '", "ak": "' + AK + '", "BK": "' + BK + '"}',
            'line 1: unknown member "BK" (known: system_title, ek, ak, bk, dk, suite)',
        ),
        (
            '{"system_title": "' + TITLE + '", "ek": "' + EK + '", "ak": "' + AK + '", "bk": 1}',
            'line 1: "bk" is a hex string, not a number',
        ),
        (LINE + "\n" + LINE, "line 2: system title 4D4D4D0000BC614E is on line 1 already"),
        ("\n\n" + LINE[:-1], "line 3: not JSON (Expecting ',' delimiter at column " + str(len(LINE)) + ")"),
    ],
)
def test_refusals_name_the_line_and_never_a_key(text: str, message: str) -> None:
    with pytest.raises(KeysFileError) as info:
        read_keys(text.splitlines())
    assert str(info.value) == message
    assert info.value.line == int(message.split(":")[0].split()[1])
    no_secret_in(str(info.value))
    no_secret_in(repr(info.value))


def test_a_file_error_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.jsonl"
    path.write_text(LINE + "\n" + '{"system_title": "' + TITLE[:-2] + '", "ek": "' + EK + '", "ak": "' + AK + '"}\n')
    with pytest.raises(KeysFileError) as info:
        load_keys(path)
    assert str(info.value) == f'{path}:2: "system_title" is 8 octets, not 7'
    with pytest.raises(KeysFileError) as info:
        load_keys(tmp_path / "missing.jsonl")
    assert str(info.value) == f"{tmp_path / 'missing.jsonl'}: cannot read the keys file: No such file or directory"
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe" + bytes.fromhex(EK))
    with pytest.raises(KeysFileError) as info:
        load_keys(binary)
    assert str(info.value) == f"{binary}: not UTF-8 text"


def test_a_key_in_a_bad_line_is_never_echoed() -> None:
    # a JSON error inside a line that holds a key: only the column goes out
    text = '{"system_title": "' + TITLE + '", "ek": "' + EK + '" "ak": "' + AK + '"}'
    with pytest.raises(KeysFileError) as info:
        read_keys([text])
    no_secret_in(str(info.value))
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_repr_names_keys_not_values() -> None:
    entry = read_keys([json.dumps({"system_title": TITLE, "ek": EK, "ak": AK, "bk": BK})])[0]
    assert repr(entry) == "KeyEntry(4D4D4D0000BC614E, suite=0, keys=ek/ak/bk)"
    no_secret_in(repr(entry))
    no_secret_in(repr(load_keys([LINE])))


def test_keys_lines_is_the_inverse() -> None:
    entries = read_keys([LINE, json.dumps({"system_title": "4D4D4D0000000002", "ek": EK2, "ak": AK2, "suite": 2})])
    text = keys_lines(entries)
    assert text.splitlines()[0] == json.dumps({"system_title": TITLE, "ek": EK, "ak": AK})
    assert [(e.system_title, e.ek, e.ak, e.suite) for e in read_keys(text)] == [
        (e.system_title, e.ek, e.ak, e.suite) for e in entries
    ]


def test_keys_lines_of_meters() -> None:
    meter = Meter.from_objects(
        default_meter(bytes.fromhex(TITLE)),
        keys=MeterKeys(ek=bytes.fromhex(EK), ak=bytes.fromhex(AK), bk=bytes.fromhex(BK)),
    )
    assert keys_lines([meter]) == json.dumps({"system_title": TITLE, "ek": EK, "ak": AK, "bk": BK}) + "\n"
    keyless = Meter.from_objects(default_meter(bytes.fromhex(TITLE)))
    with pytest.raises(ValueError, match="has no global keys"):
        keys_lines([keyless])


def test_entries_check_themselves() -> None:
    with pytest.raises(ValueError, match="ek is 16 octets in suite 0, not 15"):
        KeyEntry(bytes(8), bytes(15), bytes(16))
    with pytest.raises(ValueError, match="the security suite is 0, 1 or 2, not 9"):
        KeyEntry(bytes(8), bytes(16), bytes(16), suite=9)
