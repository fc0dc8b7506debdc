"""Access rights per association and the object list of a logical device."""

from __future__ import annotations

import pytest

from dlmsmesh import axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import ActionResult, CaptureObject, DataAccessResult
from dlmsmesh.cosem import AccessRights, AttributeAccess, Data, MethodAccess, ObjectList, ProfileGeneric, Register

from .helpers import hexbytes

ENERGY = "1.0.1.8.0.255"


def test_object_list_element_matches_the_gurux_decoded_example() -> None:
    # one Register 1.0.1.8.0.255 v0, attributes 1-3 read_only, method 1 no_access
    register = Register(ENERGY, t.DoubleLongUnsigned(0))
    rights = AccessRights().grant(register, methods={1: MethodAccess.NO_ACCESS})
    value = ObjectList([register]).to_data(rights)
    assert axdr.encode(value) == hexbytes(
        "01 01 02 04 12 00 03 11 00 09 06 01 00 01 08 00 FF 02 02 01 03 02 03 0F 01 16 01 00 02 03 0F 02 16 01 00"
        " 02 03 0F 03 16 01 00 01 01 02 02 0F 01 16 00"
    )


def test_association_version_0_gives_method_access_as_a_boolean() -> None:
    register = Register(ENERGY)
    value = AccessRights().to_data(register, association_version=0)
    assert value[1] == [(t.Integer(1), True)]
    assert axdr.encode(value[1]).hex() == "0101020 20f010301".replace(" ", "")


def test_read_only_attribute_refuses_set_with_read_write_denied() -> None:
    register = Register(ENERGY)
    rights = AccessRights()
    assert rights.check_get(register, 2) is None
    assert rights.check_set(register, 2) is DataAccessResult.READ_WRITE_DENIED
    assert rights.check_set(register, 3) is DataAccessResult.READ_WRITE_DENIED
    assert rights.check_get(register, 4) is DataAccessResult.OBJECT_UNDEFINED
    assert rights.check_set(register, 4) is DataAccessResult.OBJECT_UNDEFINED


def test_methods_allowed_denied_and_unknown() -> None:
    register = Register(ENERGY)
    rights = AccessRights()
    assert rights.check_action(register, 1) is None
    assert rights.check_action(register, 2) is ActionResult.OBJECT_UNDEFINED
    rights.grant(register, methods={1: MethodAccess.NO_ACCESS})
    assert rights.check_action(register, 1) is ActionResult.READ_WRITE_DENIED


def test_overrides_are_per_object_and_per_association() -> None:
    a, b = Register(ENERGY), Register("1.0.2.8.0.255")
    manager = AccessRights().grant(a, attributes={2: AttributeAccess.READ_WRITE})
    public = AccessRights()
    assert manager.check_set(a, 2) is None
    assert manager.check_set(b, 2) is DataAccessResult.READ_WRITE_DENIED
    assert public.check_set(a, 2) is DataAccessResult.READ_WRITE_DENIED
    # an override may name the object by (class_id, logical_name)
    public.grant((3, "1-0:2.8.0*255"), attributes={2: AttributeAccess.NO_ACCESS})
    assert public.check_get(b, 2) is DataAccessResult.READ_WRITE_DENIED
    assert public.attribute(b, 2) is AttributeAccess.NO_ACCESS


def test_authenticated_modes_need_an_authenticated_request() -> None:
    data = Data("0.0.96.1.0.255", b"X")
    rights = AccessRights().grant(
        data,
        attributes={2: AttributeAccess.AUTHENTICATED_READ_WRITE},
        methods={},
    )
    assert rights.check_get(data, 2) is DataAccessResult.READ_WRITE_DENIED
    assert rights.check_get(data, 2, authenticated=True) is None
    assert rights.check_set(data, 2, authenticated=True) is None
    register = Register(ENERGY)
    rights.grant(register, methods={1: MethodAccess.AUTHENTICATED_ACCESS})
    assert rights.check_action(register, 1) is ActionResult.READ_WRITE_DENIED
    assert rights.check_action(register, 1, authenticated=True) is None


def test_default_read_only_caps_writes_and_methods() -> None:
    data = Data("0.0.96.1.0.255", b"X")
    base = AccessRights().grant(data, attributes={2: AttributeAccess.READ_WRITE})
    assert base.check_set(data, 2) is None
    public = AccessRights(default_read_only=True)
    assert public.attribute(data, 1) is AttributeAccess.READ_ONLY
    assert public.check_action(Register(ENERGY), 1) is ActionResult.READ_WRITE_DENIED


def test_mode_predicates() -> None:
    assert [m.readable() for m in AttributeAccess] == [False, True, False, True, False, False, False]
    assert [m.writable() for m in AttributeAccess] == [False, False, True, True, False, False, False]
    assert [m.readable(True) for m in AttributeAccess] == [False, True, False, True, True, False, True]
    assert [m.writable(True) for m in AttributeAccess] == [False, False, True, True, False, True, True]
    assert [m.allowed() for m in MethodAccess] == [False, True, False]
    assert [m.allowed(True) for m in MethodAccess] == [False, True, True]


def test_object_list_lookup_for_dispatch() -> None:
    clock_ln, ldn = "0.0.1.0.0.255", "0.0.42.0.0.255"
    name = Data(ldn, b"DLM0000000000001")
    energy = Register(ENERGY)
    objects = ObjectList([name, energy])
    assert len(objects) == 2 and list(objects) == [name, energy]
    assert objects.find(1, ldn) is name and objects.find(3, bytes(t.Obis(ENERGY))) is energy
    assert objects.find(3, ldn) is None and objects.find(8, clock_ln) is None
    assert objects.resolve(1, t.Obis(ldn)) is name
    assert objects.resolve(8, clock_ln) is DataAccessResult.OBJECT_UNDEFINED
    assert objects.resolve(3, ldn) is DataAccessResult.OBJECT_CLASS_INCONSISTENT
    assert ldn in objects and clock_ln not in objects and 5 not in objects
    with pytest.raises(ValueError, match="taken"):
        objects.add(Register(ldn))
    assert objects.remove(ldn) is name and objects.get(ldn) is None and len(objects) == 1


def test_object_list_of_data_lists_selectors_as_null_and_every_attribute() -> None:
    value = ObjectList([Data("0.0.42.0.0.255", b"A")]).to_data()
    assert value == [(1, 0, bytes(t.Obis("0.0.42.0.0.255")), ([(1, 1, None), (2, 1, None)], []))]
    assert axdr.encode(value).hex() == (
        "0101" "0204" "120001" "1100" "0906"
        "00002a0000ff" "0202" "0102" "0203" "0f01" "1601" "00" "0203" "0f02" "1601" "00" "0100"
    )  # fmt: skip


def test_object_list_names_the_access_selectors_of_the_profile_buffer() -> None:
    profile = ProfileGeneric("1.0.99.1.0.255", [CaptureObject(8, "0.0.1.0.0.255", 2)])
    attributes, methods = AccessRights().to_data(profile)
    assert attributes[1] == (2, 1, [1, 2]) and attributes[0] == (1, 1, None)
    assert axdr.encode(attributes[1]).hex() == "02030f021601010 20f010f02".replace(" ", "")
    assert methods == [(1, 1), (2, 1)]
