"""Group value type and addresses, and the group-conditions object (a Data
object whose value is the array of condition entries)."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest

from dlmsmesh import apdu, axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import AttributeDescriptor, DataAccessResult, SetRequestNormal
from dlmsmesh.cosem import (
    ALL_NODES,
    GROUP_CONDITIONS_OBIS,
    GROUP_SCOPES,
    RESPONSE_WINDOW_OBIS,
    Group,
    GroupCondition,
    GroupConditions,
    Obis,
    is_all_nodes,
)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_group_addresses_are_rfc5952_text_in_both_scopes() -> None:
    assert GROUP_SCOPES == {"realm": "ff03", "site": "ff05"}
    assert ALL_NODES == {"realm": "ff03::1", "site": "ff05::1"}
    assert Group(0x2A).address == "ff03::d1:2a"
    assert Group(0xBEEF, "site").address == "ff05::d1:beef"
    assert Group(1).packed == bytes.fromhex("ff030000000000000000000000d10001")
    assert Group(0xFFFF).ipv6 == ipaddress.IPv6Address("ff03::d1:ffff")


def test_group_id_and_scope_are_checked() -> None:
    with pytest.raises(ValueError):
        Group(0)
    with pytest.raises(ValueError):
        Group(0x10000)
    with pytest.raises(ValueError):
        Group(-1)
    with pytest.raises(ValueError):
        Group(1, "global")
    with pytest.raises(TypeError):
        Group(True)
    with pytest.raises(TypeError):
        Group("1")  # type: ignore[arg-type]


def test_from_address_round_trips_and_rejects_other_addresses() -> None:
    for group in (Group(1), Group(0x2A), Group(0xFFFF, "site")):
        assert Group.from_address(group.address) == group
        assert Group.from_address(group.packed) == group
        assert Group.from_address(group.ipv6) == group
        assert Group.from_address(group.address.upper()) == group
    assert Group.from_address("ff03::d1:2a%eth0") == Group(0x2A)
    for other in (
        "ff03::1",
        "ff05::1",
        "ff03::d1:0",  # id 0 is not a group
        "ff02::d1:2a",  # link-local scope is not a group scope
        "ff03::1:d1:2a",  # something between the prefix and d1
        "ff03::d2:2a",
        "2001:db8::d1:2a",
        "not an address",
        b"\xff\x03",
    ):
        assert Group.from_address(other) is None, other


def test_all_nodes() -> None:
    assert is_all_nodes("ff03::1") and is_all_nodes("ff05::1")
    assert is_all_nodes(ipaddress.IPv6Address("ff03::1").packed)
    assert not is_all_nodes("ff02::1") and not is_all_nodes(Group(1).address) and not is_all_nodes("junk")


def test_groups_hash_and_compare_by_value() -> None:
    assert {Group(5), Group(5, "realm"), Group(5, "site")} == {Group(5), Group(5, "site")}


def test_object_names_are_the_design_ones() -> None:
    assert RESPONSE_WINDOW_OBIS == "0.3.25.9.0.255"
    assert GROUP_CONDITIONS_OBIS == "0.0.128.25.9.255"
    # value group C 128..199 is manufacturer specific
    assert 128 <= bytes(Obis(GROUP_CONDITIONS_OBIS))[2] <= 199
    conditions = GroupConditions()
    assert (conditions.class_id, conditions.version) == (1, 0)
    assert conditions.logical_name == Obis(GROUP_CONDITIONS_OBIS)
    assert conditions.value == t.Array()
    assert conditions.conditions == [] and conditions.group_ids() == set()


def test_condition_entries_encode_as_the_documented_structure() -> None:
    condition = GroupCondition(Group(7), 3, "1.0.1.8.0.255", 2, t.Unsigned(4))
    entry = condition.to_cosem()
    assert entry == t.Structure(
        (t.LongUnsigned(7), t.LongUnsigned(3), t.OctetString(bytes([1, 0, 1, 8, 0, 255])), t.Integer(2), t.Unsigned(4))
    )
    assert axdr.encode(entry) == bytes.fromhex("0205 120007 120003 0906010001080 0ff 0f02 1104".replace(" ", ""))
    assert GroupCondition.from_cosem(entry) == condition
    assert GroupCondition.from_cosem(axdr.decode(axdr.encode(entry))) == condition


def test_a_condition_matches_equal_type_and_value_only() -> None:
    condition = GroupCondition(9, 1, "0.0.96.1.0.255", 2, t.VisibleString("feeder-A"))
    assert condition.matches(t.VisibleString("feeder-A"))
    assert not condition.matches(t.VisibleString("feeder-B"))
    assert not condition.matches(t.OctetString(b"feeder-A"))
    numeric = GroupCondition(9, 1, "0.0.96.1.0.255", 2, t.Unsigned(3))
    assert numeric.matches(t.Unsigned(3))
    assert not numeric.matches(t.LongUnsigned(3))
    assert not numeric.matches(DataAccessResult.OBJECT_UNDEFINED)


def test_conditions_are_written_with_set_and_read_back() -> None:
    obj = GroupConditions()
    entries = t.Array(
        [
            GroupCondition(7, 3, "1.0.1.8.0.255", 2, t.Unsigned(4)).to_cosem(),
            GroupCondition(8, 1, "0.0.96.1.0.255", 2, t.VisibleString("A")).to_cosem(),
        ]
    )
    # the value as a client's SET carries it, through the codec
    request = apdu.decode(apdu.encode(SetRequestNormal(AttributeDescriptor(1, obj.logical_name, 2), entries)))
    assert isinstance(request, SetRequestNormal)
    assert run(obj.set(2, request.value)) is DataAccessResult.SUCCESS
    assert [c.group for c in obj.conditions] == [7, 8]
    assert obj.group_ids() == {7, 8}
    assert run(obj.get(2)) == entries


def test_malformed_condition_writes_are_type_unmatched() -> None:
    obj = GroupConditions(conditions=[GroupCondition(7, 3, "1.0.1.8.0.255", 2, t.Unsigned(4))])
    bad = [
        t.Array(
            [t.Structure((t.LongUnsigned(0), t.LongUnsigned(3), t.OctetString(bytes(6)), t.Integer(2), t.Unsigned(1)))]
        ),
        t.Array(
            [t.Structure((t.LongUnsigned(1), t.LongUnsigned(3), t.OctetString(bytes(5)), t.Integer(2), t.Unsigned(1)))]
        ),
        t.Array([t.Structure((t.LongUnsigned(1), t.LongUnsigned(3), t.OctetString(bytes(6)), t.Integer(2)))]),
        t.Structure((t.LongUnsigned(1),)),
    ]
    for value in bad:
        assert run(obj.set(2, value)) is DataAccessResult.TYPE_UNMATCHED
    assert obj.group_ids() == {7}


def test_add_remove_and_watchers_see_changes() -> None:
    obj = GroupConditions()
    seen: list[int] = []
    obj.watch(2, lambda o, a: seen.append(a))
    first = GroupCondition(3, 1, "0.0.96.1.0.255", 2, t.Unsigned(1))
    obj.add(first)
    obj.add(first)
    assert obj.conditions == [first]
    obj.add(GroupCondition(4, 1, "0.0.96.1.0.255", 2, t.Unsigned(2)))
    obj.remove(first)
    assert obj.group_ids() == {4}
    assert seen == [2, 2, 2]  # the repeated add wrote nothing
    with pytest.raises(ValueError):
        GroupCondition(0, 1, "0.0.96.1.0.255", 2, t.Unsigned(1))
