"""Security setup (64): policy, suite and system titles; security_activate
only raises the policy; key_transfer unwraps with the KEK and stores all keys
or none, never logging them."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from dlmsmesh import apdu, axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import ActionRequestNormal, ActionResult, DataAccessResult, MethodDescriptor
from dlmsmesh.cosem import AccessRights, SecurityPolicyV0, SecuritySetup, SecuritySetupV0
from dlmsmesh.security import KeyId, Protection, SecurityPolicy, SecuritySuite, key_transfer_parameter

from .helpers import hexbytes

SERVER_TITLE = hexbytes("4D 4D 4D 00 00 BC 61 4E")
CLIENT_TITLE = hexbytes("41 42 43 44 45 46 47 48")
KEK = hexbytes("000102030405060708090A0B0C0D0E0F")
NEW_KEY = hexbytes("00112233445566778899AABBCCDDEEFF")
# S9 of the notes: the key_transfer parameter replacing the GUEK
S9 = hexbytes("01 01 02 02 16 00 09 18 1FA68B0A8112B447AEF34BD8FB5A7B829D3E862371D2CFE5")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_class_ids_versions_and_tables() -> None:
    assert (SecuritySetup.class_id, SecuritySetup.version) == (64, 1)
    assert (SecuritySetupV0.class_id, SecuritySetupV0.version) == (64, 0)
    assert list(SecuritySetup.attribute_specs()) == [1, 2, 3, 4, 5, 6]
    assert list(SecuritySetupV0.attribute_specs()) == [1, 2, 3, 4, 5]
    assert list(SecuritySetup.method_specs()) == [1, 2, 3, 4, 5, 6, 7, 8]
    assert list(SecuritySetupV0.method_specs()) == [1, 2]


def test_attribute_values() -> None:
    policy = SecurityPolicy.both_ways(Protection.AUTHENTICATION | Protection.ENCRYPTION)
    setup = SecuritySetup(server_system_title=SERVER_TITLE, policy=policy, suite=SecuritySuite.AES_GCM_128)
    assert axdr.encode(run(setup.get(1))) == hexbytes("09 06 00 00 2B 00 00 FF")
    assert axdr.encode(run(setup.get(2))) == hexbytes("16 6C")
    assert setup.policy == SecurityPolicy(0x6C)
    assert axdr.encode(run(setup.get(3))) == hexbytes("16 00")
    assert axdr.encode(run(setup.get(4))) == hexbytes("09 00")
    assert axdr.encode(run(setup.get(5))) == hexbytes("09 08 4D 4D 4D 00 00 BC 61 4E")
    assert axdr.encode(run(setup.get(6))) == hexbytes("01 00")
    setup.client_system_title = CLIENT_TITLE
    assert axdr.encode(run(setup.get(4))) == hexbytes("09 08 41 42 43 44 45 46 47 48")
    with pytest.raises(TypeError):
        setup.client_system_title = bytes(7)
    with pytest.raises(ValueError):
        SecuritySetup(server_system_title=SERVER_TITLE, policy=0x03)
    with pytest.raises(ValueError):
        SecuritySetupV0(server_system_title=SERVER_TITLE, policy=4)
    with pytest.raises(ValueError):
        SecuritySetup(server_system_title=SERVER_TITLE, suite=3)


def test_every_attribute_is_read_only_over_the_wire() -> None:
    setup = SecuritySetup(server_system_title=SERVER_TITLE)
    rights = AccessRights()
    for index in range(1, 7):
        assert rights.check_set(setup, index) is DataAccessResult.READ_WRITE_DENIED
        assert rights.check_get(setup, index) is None
    assert run(setup.set(5, bytes(5))) == DataAccessResult.TYPE_UNMATCHED


def test_security_activate_v0_matches_the_worked_example_and_only_raises() -> None:
    policies: list[int] = []
    setup = SecuritySetupV0(server_system_title=SERVER_TITLE, on_policy=policies.append)
    # C12
    request = ActionRequestNormal(MethodDescriptor(64, setup.logical_name, 1), t.Enum(3))
    assert apdu.encode(request) == hexbytes("C3 01 C1 00 40 00 00 2B 00 00 FF 01 01 16 03")
    assert run(setup.action(1, t.Enum(1))) == (ActionResult.SUCCESS, None)
    assert run(setup.action(1, t.Enum(3))) == (ActionResult.SUCCESS, None)
    assert setup.policy is SecurityPolicyV0.AUTHENTICATED_ENCRYPTED and policies == [1, 3]
    assert run(setup.action(1, t.Enum(2))) == (ActionResult.READ_WRITE_DENIED, None)
    assert run(setup.action(1, t.Enum(4))) == (ActionResult.OTHER_REASON, None)
    assert run(setup.action(1, t.Unsigned(3))) == (ActionResult.TYPE_UNMATCHED, None)
    assert setup.policy is SecurityPolicyV0.AUTHENTICATED_ENCRYPTED and policies == [1, 3]


def test_security_activate_v1_bits_only_grow() -> None:
    policies: list[int] = []

    async def on_policy(policy: int) -> None:
        policies.append(policy)

    setup = SecuritySetup(
        server_system_title=SERVER_TITLE, policy=SecurityPolicy.AUTHENTICATED_REQUEST, on_policy=on_policy
    )
    assert run(setup.action(1, t.Enum(0x24))) == (ActionResult.SUCCESS, None)
    assert run(setup.action(1, t.Enum(0x6C))) == (ActionResult.SUCCESS, None)
    assert policies == [0x24, 0x6C]
    # dropping a bit (encrypted response) is lowering it, even with a bit added
    assert run(setup.action(1, t.Enum(0x2C | 0x10))) == (ActionResult.READ_WRITE_DENIED, None)
    assert run(setup.action(1, t.Enum(0x6D))) == (ActionResult.OTHER_REASON, None)
    assert setup.policy == SecurityPolicy(0x6C) and policies == [0x24, 0x6C]


def test_key_transfer_unwraps_and_stores_the_worked_example() -> None:
    stored: list[tuple[KeyId, bytes]] = []
    setup = SecuritySetup(server_system_title=SERVER_TITLE, kek=KEK, key_store=lambda k, v: stored.append((k, v)))
    assert key_transfer_parameter(KEK, [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_KEY)]) == S9
    assert run(setup.action(2, axdr.decode(S9))) == (ActionResult.SUCCESS, None)
    assert stored == [(KeyId.GLOBAL_UNICAST_ENCRYPTION, NEW_KEY)]


def test_key_transfer_stores_several_keys_with_an_async_store_and_a_kek_source() -> None:
    stored: dict[KeyId, bytes] = {}
    keks = {"current": KEK}

    async def store(kind: KeyId, key: bytes) -> None:
        stored[kind] = key

    setup = SecuritySetup(server_system_title=SERVER_TITLE, kek=lambda: keks["current"], key_store=store)
    keys = [(KeyId.AUTHENTICATION, bytes(range(16))), (KeyId.GLOBAL_BROADCAST_ENCRYPTION, bytes(range(32)))]
    assert run(setup.action(2, axdr.decode(key_transfer_parameter(KEK, keys)))) == (ActionResult.SUCCESS, None)
    assert stored == dict(keys)
    keks["current"] = bytes(16)
    stored.clear()
    # the old KEK no longer unwraps
    assert run(setup.action(2, axdr.decode(key_transfer_parameter(KEK, keys)))) == (ActionResult.OTHER_REASON, None)
    assert stored == {}


def test_key_transfer_failures_store_nothing_and_log_no_key(caplog: pytest.LogCaptureFixture) -> None:
    stored: list[tuple[KeyId, bytes]] = []
    setup = SecuritySetup(server_system_title=SERVER_TITLE, kek=KEK, key_store=lambda k, v: stored.append((k, v)))
    good = (t.Enum(2), axdr.decode(S9)[0][1])
    tampered = (t.Enum(0), bytes([S9[8] ^ 1]) + S9[9:])
    with caplog.at_level(logging.DEBUG):
        assert run(setup.action(2, [good, tampered])) == (ActionResult.OTHER_REASON, None)
        assert run(setup.action(2, [good, (t.Enum(9), S9[8:])])) == (ActionResult.READ_WRITE_DENIED, None)
        assert run(setup.action(2, [(t.Enum(0), bytes(10))])) == (ActionResult.OTHER_REASON, None)
        assert run(setup.action(2, [])) == (ActionResult.OTHER_REASON, None)
        assert run(setup.action(2, [(t.Enum(0),)])) == (ActionResult.TYPE_UNMATCHED, None)
    assert stored == []
    for secret in (KEK, NEW_KEY, S9[8:]):
        assert secret.hex() not in caplog.text.lower() and secret.hex().upper() not in caplog.text
    unconfigured = SecuritySetup(server_system_title=SERVER_TITLE)
    assert run(unconfigured.action(2, axdr.decode(S9))) == (ActionResult.READ_WRITE_DENIED, None)
    v0 = SecuritySetupV0(server_system_title=SERVER_TITLE, kek=KEK, key_store=lambda k, v: stored.append((k, v)))
    assert run(v0.action(3, t.Enum(0))) == (ActionResult.OBJECT_UNDEFINED, None)
