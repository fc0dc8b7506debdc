"""Association LN (15): object_list from the object list and the access rights,
the context attributes, the write-only secret, and the HLS methods' plumbing."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dlmsmesh import axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import ActionResult, AttributeDescriptor, DataAccessResult, MethodDescriptor
from dlmsmesh.cosem import (
    CURRENT_ASSOCIATION,
    AccessRights,
    AssociationLN,
    AssociationStatus,
    AttributeAccess,
    MethodAccess,
    ObjectList,
    Register,
    dispatch,
)
from dlmsmesh.errors import AuthenticationError

from .helpers import hexbytes


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def enc(value: Any) -> bytes:
    return axdr.encode(value)


def test_class_id_version_and_tables() -> None:
    assert (AssociationLN.class_id, AssociationLN.version) == (15, 2)
    assert list(AssociationLN.attribute_specs()) == list(range(1, 12))
    assert list(AssociationLN.method_specs()) == [1, 2, 3, 4, 5, 6]


def test_object_list_matches_the_worked_example() -> None:
    # C3: Register 1.0.1.8.0.255 v0, attributes 1-3 read_only, method 1 no_access
    register = Register("1.0.1.8.0.255")
    rights = AccessRights().grant(register, methods={1: MethodAccess.NO_ACCESS})
    assoc = AssociationLN(objects=ObjectList([register]), rights=rights)
    assert enc(run(assoc.get(2))) == hexbytes(
        "01 01 02 04 12 00 03 11 00 09 06 01 00 01 08 00 FF 02 02 01 03 02 03 0F 01 16 01 00 02 03 0F 02 16 01 00"
        " 02 03 0F 03 16 01 00 01 01 02 02 0F 01 16 00"
    )


def test_object_list_follows_the_objects_and_rights_live() -> None:
    objects = ObjectList()
    rights = AccessRights()
    assoc = AssociationLN(objects=objects, rights=rights)
    objects.add(assoc)
    listed = run(assoc.get(2))
    assert len(listed) == 1 and listed[0][:3] == (15, 2, b"\x00\x00\x28\x00\x00\xff")
    # attribute 7 is write-only, method access is an enum in version 2
    access = listed[0][3]
    assert access[0][6] == (t.Integer(7), t.Enum(2), t.NullData())
    assert access[1][0] == (t.Integer(1), t.Enum(1))
    objects.add(Register("1.0.2.8.0.255"))
    rights.grant(assoc, attributes={7: AttributeAccess.NO_ACCESS})
    listed = run(assoc.get(2))
    assert len(listed) == 2 and listed[1][2] == bytes(t.Obis("1.0.2.8.0.255"))
    assert listed[0][3][0][6][1] == 0


def test_partners_and_context_info_match_the_worked_examples() -> None:
    assoc = AssociationLN(
        objects=ObjectList(), client_sap=16, server_sap=1, conformance=0x00121D,
        max_receive_pdu_size=1024, max_send_pdu_size=1024, dlms_version=0,
    )  # fmt: skip
    assert enc(run(assoc.get(3))) == hexbytes("02 02 0F 10 12 00 01")  # C4
    assert enc(run(assoc.get(5))) == hexbytes("02 06 04 18 00 12 1D 12 04 00 12 04 00 11 00 0F 00 09 00")  # C5
    with pytest.raises(ValueError):
        AssociationLN(objects=ObjectList(), conformance=1 << 24)


def test_context_and_mechanism_names() -> None:
    assoc = AssociationLN(objects=ObjectList(), context_id=3, mechanism_id=5)
    assert enc(run(assoc.get(6))) == hexbytes("02 07 11 02 11 10 12 02 F4 11 05 11 08 11 02 11 05")
    assert enc(run(assoc.get(4))) == hexbytes("02 07 11 02 11 10 12 02 F4 11 05 11 08 11 01 11 03")
    mechanism0 = AssociationLN(objects=ObjectList())
    # the notes' example of mechanism 0 as gurux-dlms writes it
    assert enc(run(mechanism0.get(6))) == hexbytes("02 07 11 02 11 10 12 02 F4 11 05 11 08 11 02 11 00")
    # the octet-string form (the BER OID body) is accepted as well
    assert run(assoc.set(6, bytes.fromhex("60857405080205"))) == DataAccessResult.SUCCESS
    assert run(assoc.set(6, t.Unsigned(5))) == DataAccessResult.TYPE_UNMATCHED


def test_status_reference_and_users() -> None:
    assoc = AssociationLN("0.0.40.0.1.255", objects=ObjectList(), security_setup="0.0.43.0.1.255")
    assert enc(run(assoc.get(1))) == hexbytes("09 06 00 00 28 00 01 FF")
    assert enc(run(assoc.get(8))) == hexbytes("16 00")
    assoc.status = AssociationStatus.ASSOCIATED
    assert enc(run(assoc.get(8))) == hexbytes("16 02") and assoc.status is AssociationStatus.ASSOCIATED
    assert enc(run(assoc.get(9))) == hexbytes("09 06 00 00 2B 00 01 FF")
    assert enc(run(assoc.get(10))) == hexbytes("01 00")
    assert enc(run(assoc.get(11))) == hexbytes("02 02 11 00 0A 00")


def test_read_only_attributes_refuse_set_through_the_access_rights() -> None:
    assoc = AssociationLN(objects=ObjectList())
    rights = AccessRights()
    for index in (1, 2, 3, 4, 5, 6, 8, 9, 10, 11):
        assert rights.check_set(assoc, index) is DataAccessResult.READ_WRITE_DENIED
        assert rights.check_get(assoc, index) is None
    assert rights.check_get(assoc, 7) is DataAccessResult.READ_WRITE_DENIED
    assert rights.check_set(assoc, 7) is None
    # object_list has no setter at all
    assert run(assoc.set(2, t.Array())) == DataAccessResult.READ_WRITE_DENIED


def test_secret_is_write_only_and_type_checked() -> None:
    assoc = AssociationLN(objects=ObjectList(), secret=b"12345678")
    assert run(assoc.get(7)) == DataAccessResult.READ_WRITE_DENIED
    assert assoc.secret_matches(b"12345678") and not assoc.secret_matches(b"1234567")
    assert run(assoc.set(7, b"ABCDEFGH")) == DataAccessResult.SUCCESS
    assert assoc.secret_matches(b"ABCDEFGH")
    assert run(assoc.set(7, t.VisibleString("ABCDEFGH"))) == DataAccessResult.TYPE_UNMATCHED
    assert assoc.secret_matches(b"ABCDEFGH")


def test_reply_to_hls_authentication_uses_the_responder() -> None:
    seen: list[bytes] = []

    def responder(f_stoc: bytes) -> bytes:
        seen.append(f_stoc)
        if f_stoc != b"\x10good":
            raise AuthenticationError("no")
        return b"\x10f(CtoS)"

    assoc = AssociationLN(objects=ObjectList(), mechanism_id=5, hls_responder=responder)
    assoc.status = AssociationStatus.ASSOCIATION_PENDING
    result, value = run(assoc.action(1, b"\x10good"))
    assert result is ActionResult.SUCCESS and enc(value) == hexbytes("09 08 10 66 28 43 74 6F 53 29")
    assert assoc.status is AssociationStatus.ASSOCIATED and seen == [b"\x10good"]
    assoc.status = AssociationStatus.ASSOCIATION_PENDING
    assert run(assoc.action(1, b"\x10bad")) == (ActionResult.READ_WRITE_DENIED, None)
    assert assoc.status is AssociationStatus.NON_ASSOCIATED
    assert run(assoc.action(1, t.Unsigned(1))) == (ActionResult.TYPE_UNMATCHED, None)


def test_reply_to_hls_authentication_async_responder_and_none() -> None:
    async def responder(f_stoc: bytes) -> bytes:
        await asyncio.sleep(0)
        return f_stoc[::-1]

    assoc = AssociationLN(objects=ObjectList(), hls_responder=responder)
    assert run(assoc.action(1, b"\x01\x02")) == (ActionResult.SUCCESS, b"\x02\x01")
    no_hls = AssociationLN(objects=ObjectList())
    assert run(no_hls.action(1, b"\x01\x02")) == (ActionResult.READ_WRITE_DENIED, None)


def test_change_hls_secret() -> None:
    changed: list[bytes] = []

    async def on_changed(secret: bytes) -> None:
        changed.append(secret)

    assoc = AssociationLN(objects=ObjectList(), secret=b"old", on_secret_changed=on_changed)
    assert run(assoc.action(2, b"new secret")) == (ActionResult.SUCCESS, None)
    assert assoc.secret_matches(b"new secret") and changed == [b"new secret"]
    assert run(assoc.action(2, b"")) == (ActionResult.READ_WRITE_DENIED, None)
    assert run(assoc.action(2, t.Integer(1))) == (ActionResult.TYPE_UNMATCHED, None)
    assert assoc.secret_matches(b"new secret") and changed == [b"new secret"]


def test_add_and_remove_user() -> None:
    assoc = AssociationLN(objects=ObjectList())
    alice = (t.Unsigned(1), t.VisibleString("alice"))
    assert run(assoc.action(5, alice)) == (ActionResult.SUCCESS, None)
    assert enc(run(assoc.get(10))) == hexbytes("01 01 02 02 11 01 0A 05 61 6C 69 63 65")
    assert run(assoc.action(5, alice)) == (ActionResult.OTHER_REASON, None)
    assert run(assoc.action(5, (t.Unsigned(1),))) == (ActionResult.TYPE_UNMATCHED, None)
    assert run(assoc.action(6, (t.Unsigned(2), t.VisibleString("bob")))) == (ActionResult.OBJECT_UNAVAILABLE, None)
    assert run(assoc.action(6, alice)) == (ActionResult.SUCCESS, None)
    assert run(assoc.get(10)) == []


# C3's element: Register 1.0.1.8.0.255 v0, attributes 1-3 read_only, method 1 no_access
C3_ELEMENT = (
    "02 04 12 00 03 11 00 09 06 01 00 01 08 00 FF 02 02 01 03 02 03 0F 01 16 01 00 02 03 0F 02 16 01 00"
    " 02 03 0F 03 16 01 00 01 01 02 02 0F 01 16 00"
)


def element(class_id: int, version: int, name: str, attributes: Any = (), methods: Any = ()) -> t.Structure:
    return t.Structure(
        (
            t.LongUnsigned(class_id),
            t.Unsigned(version),
            bytes(t.Obis(name)),
            t.Structure(
                (
                    t.Array(t.Structure((t.Integer(i), t.Enum(m), t.NullData())) for i, m in attributes),
                    t.Array(t.Structure((t.Integer(i), mode)) for i, mode in methods),
                )
            ),
        )
    )


def management_and_public() -> tuple[ObjectList, AssociationLN, Register]:
    register = Register("1.0.1.8.0.255", t.DoubleLongUnsigned(42))
    device = ObjectList([register, Register("1.0.2.8.0.255")])
    public = AssociationLN(
        "0.0.40.0.1.255", objects=ObjectList(), rights=AccessRights(default_read_only=True), logical_device=device
    )
    device.add(public)
    public.objects.add(public)
    return device, public, register


def test_add_object_makes_a_logical_device_object_reachable_with_the_given_rights() -> None:
    device, public, register = management_and_public()
    get_value = AttributeDescriptor(3, register.logical_name, 2)
    assert run(dispatch.get(public.objects, get_value, public.rights)) == DataAccessResult.OBJECT_UNDEFINED
    assert run(public.action(3, axdr.decode(hexbytes(C3_ELEMENT)))) == (ActionResult.SUCCESS, None)
    assert register.logical_name in public.objects and register.logical_name in device
    assert run(dispatch.get(public.objects, get_value, public.rights)) == t.DoubleLongUnsigned(42)
    reset = MethodDescriptor(3, register.logical_name, 1)
    assert run(dispatch.action(public.objects, reset, t.Integer(0), public.rights)) == (
        ActionResult.READ_WRITE_DENIED,
        None,
    )
    # object_list now lists it with exactly the element's access rights (version 2 writes method access as enum)
    listed = run(public.get(2))
    assert [bytes(e[2]) for e in listed] == [bytes(public.logical_name), bytes(register.logical_name)]
    assert enc(listed[1][3]) == hexbytes(C3_ELEMENT)[15:]
    # adding again replaces the rights; a version-0 boolean method access is accepted too
    again = element(3, 0, "1.0.1.8.0.255", [(2, AttributeAccess.READ_WRITE)], [(1, t.Boolean(True))])
    assert run(public.action(3, again)) == (ActionResult.SUCCESS, None)
    assert len(public.objects) == 2
    assert public.rights.attribute(register, 2) is AttributeAccess.READ_WRITE
    assert public.rights.method(register, 1) is MethodAccess.ACCESS
    assert run(dispatch.set(public.objects, get_value, t.DoubleLongUnsigned(7), public.rights)) == (
        DataAccessResult.SUCCESS
    )
    assert register.value == 7


def test_add_object_refuses_unknown_inconsistent_and_malformed_elements() -> None:
    device, public, _register = management_and_public()
    before = len(public.objects)
    # not in the logical device
    assert run(public.action(3, element(3, 0, "1.0.3.8.0.255"))) == (ActionResult.OBJECT_UNAVAILABLE, None)
    # wrong class, wrong version
    assert run(public.action(3, element(4, 0, "1.0.1.8.0.255"))) == (ActionResult.OBJECT_CLASS_INCONSISTENT, None)
    assert run(public.action(3, element(3, 1, "1.0.1.8.0.255"))) == (ActionResult.OBJECT_CLASS_INCONSISTENT, None)
    # an access mode no version has
    bad_mode = element(3, 0, "1.0.1.8.0.255", [(2, 9)])
    assert run(public.action(3, bad_mode)) == (ActionResult.OTHER_REASON, None)
    # not an object_list element
    assert run(public.action(3, t.Structure((t.LongUnsigned(3), t.Unsigned(0))))) == (ActionResult.TYPE_UNMATCHED, None)
    short_name = t.Structure((t.LongUnsigned(3), t.Unsigned(0), b"\x01\x00", t.Structure((t.Array(), t.Array()))))
    assert run(public.action(3, short_name)) == (ActionResult.TYPE_UNMATCHED, None)
    assert len(public.objects) == before and len(device) == 3


def test_add_object_without_a_logical_device_only_changes_rights_of_listed_objects() -> None:
    register = Register("1.0.1.8.0.255")
    assoc = AssociationLN(objects=ObjectList([register]))
    assert run(assoc.action(3, element(3, 0, "1.0.2.8.0.255"))) == (ActionResult.OBJECT_UNAVAILABLE, None)
    listed = element(3, 0, "1.0.1.8.0.255", [(2, AttributeAccess.NO_ACCESS)], [(1, t.Enum(0))])
    assert run(assoc.action(3, listed)) == (ActionResult.SUCCESS, None)
    assert assoc.rights.check_get(register, 2) is DataAccessResult.READ_WRITE_DENIED
    assert assoc.rights.check_action(register, 1) is ActionResult.READ_WRITE_DENIED


def test_remove_object_takes_it_out_of_this_view_only() -> None:
    device, public, register = management_and_public()
    assert run(public.action(3, axdr.decode(hexbytes(C3_ELEMENT)))) == (ActionResult.SUCCESS, None)
    assert run(public.action(4, element(3, 0, "1.0.1.8.0.255"))) == (ActionResult.SUCCESS, None)
    assert register.logical_name not in public.objects and device.get(register.logical_name) is register
    get_value = AttributeDescriptor(3, register.logical_name, 2)
    assert run(dispatch.get(public.objects, get_value, public.rights)) == DataAccessResult.OBJECT_UNDEFINED
    assert [bytes(e[2]) for e in run(public.get(2))] == [bytes(public.logical_name)]
    # twice, a name never listed, the wrong class
    assert run(public.action(4, element(3, 0, "1.0.1.8.0.255"))) == (ActionResult.OBJECT_UNAVAILABLE, None)
    assert run(public.action(4, element(3, 0, "1.0.9.8.0.255"))) == (ActionResult.OBJECT_UNAVAILABLE, None)
    assert run(public.action(4, element(1, 0, "0.0.40.0.1.255"))) == (ActionResult.OBJECT_CLASS_INCONSISTENT, None)
    # an association keeps itself and the current association in its view
    assert run(public.action(4, element(15, 2, "0.0.40.0.1.255"))) == (ActionResult.READ_WRITE_DENIED, None)
    current = AssociationLN(CURRENT_ASSOCIATION, objects=public.objects)
    public.objects.add(current)
    assert run(public.action(4, element(15, 2, "0.0.40.0.0.255"))) == (ActionResult.READ_WRITE_DENIED, None)
    assert public.logical_name in public.objects and CURRENT_ASSOCIATION in public.objects
    assert run(public.action(4, t.Unsigned(1))) == (ActionResult.TYPE_UNMATCHED, None)
