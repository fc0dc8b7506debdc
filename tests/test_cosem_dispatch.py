"""A request descriptor dispatched onto a logical device: lookup, access
rights, then the object (dlmsmesh.cosem.dispatch)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from dlmsmesh import apdu, axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import (
    ActionResult,
    AttributeDescriptor,
    CaptureObject,
    DataAccessResult,
    GetRequestNormal,
    MethodDescriptor,
    entry_descriptor,
)
from dlmsmesh.cosem import (
    AccessRights,
    AttributeAccess,
    Clock,
    Data,
    GeneratedRows,
    MethodAccess,
    ObjectList,
    ProfileGeneric,
    Register,
    Unit,
    dispatch,
)

from .helpers import hexbytes

UTC = dt.timezone.utc


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def device() -> ObjectList:
    clock = Clock(now=lambda: dt.datetime(2024, 3, 15, 11, 30, 45, tzinfo=UTC), time_zone=-60)
    energy = Register("1.0.1.8.0.255", t.DoubleLongUnsigned(12345), scaler=-3, unit=Unit.WATT_HOUR)
    rows = GeneratedRows(4, lambda i: (t.DoubleLongUnsigned(i),))
    profile = ProfileGeneric("1.0.99.1.0.255", [CaptureObject(3, "1.0.1.8.0.255", 2)], rows=rows)
    return ObjectList([clock, Data("0.0.42.0.0.255", b"DLM1"), energy, profile])


def test_get_finds_checks_and_reads() -> None:
    objects, rights = device(), AccessRights()
    got = run(dispatch.get(objects, AttributeDescriptor(8, "0.0.1.0.0.255", 2), rights))
    assert axdr.encode(got) == hexbytes("09 0C 07 E8 03 0F 05 0C 1E 2D 00 FF C4 00")
    assert run(dispatch.get(objects, AttributeDescriptor(3, "1.0.1.8.0.255", 3), rights)) == (-3, 30)


def test_lookup_failures() -> None:
    objects, rights = device(), AccessRights()
    missing = AttributeDescriptor(8, "0.0.1.0.1.255", 2)
    wrong_class = AttributeDescriptor(1, "0.0.1.0.0.255", 2)
    assert run(dispatch.get(objects, missing, rights)) is DataAccessResult.OBJECT_UNDEFINED
    assert run(dispatch.get(objects, wrong_class, rights)) is DataAccessResult.OBJECT_CLASS_INCONSISTENT
    assert run(dispatch.set(objects, wrong_class, b"", rights)) is DataAccessResult.OBJECT_CLASS_INCONSISTENT
    assert run(dispatch.get(objects, AttributeDescriptor(8, "0.0.1.0.0.255", 10), rights)) is (
        DataAccessResult.OBJECT_UNDEFINED
    )
    assert run(dispatch.action(objects, MethodDescriptor(3, "1.0.2.8.0.255", 1), t.Integer(0), rights)) == (
        ActionResult.OBJECT_UNDEFINED,
        None,
    )
    assert run(dispatch.action(objects, MethodDescriptor(8, "1.0.1.8.0.255", 1), t.Integer(0), rights)) == (
        ActionResult.OBJECT_CLASS_INCONSISTENT,
        None,
    )
    assert run(dispatch.action(objects, MethodDescriptor(3, "1.0.1.8.0.255", 2), t.Integer(0), rights)) == (
        ActionResult.OBJECT_UNDEFINED,
        None,
    )


def test_set_is_refused_unless_granted() -> None:
    objects = device()
    energy = objects.find(3, "1.0.1.8.0.255")
    assert isinstance(energy, Register)
    target = AttributeDescriptor(3, "1.0.1.8.0.255", 2)
    public = AccessRights()
    assert run(dispatch.set(objects, target, t.DoubleLongUnsigned(1), public)) is DataAccessResult.READ_WRITE_DENIED
    assert energy.value == 12345
    manager = AccessRights().grant(energy, attributes={2: AttributeAccess.AUTHENTICATED_READ_WRITE})
    assert run(dispatch.set(objects, target, t.DoubleLongUnsigned(1), manager)) is DataAccessResult.READ_WRITE_DENIED
    assert (
        run(dispatch.set(objects, target, t.DoubleLongUnsigned(1), manager, authenticated=True))
        is DataAccessResult.SUCCESS
    )
    assert energy.value == 1
    assert (
        run(dispatch.set(objects, target, t.Unsigned(1), manager, authenticated=True))
        is DataAccessResult.TYPE_UNMATCHED
    )
    selective = AttributeDescriptor(3, "1.0.1.8.0.255", 2, access=entry_descriptor(1))
    assert (
        run(dispatch.set(objects, selective, t.DoubleLongUnsigned(2), manager, authenticated=True))
        is DataAccessResult.OTHER_REASON
    )


def test_action_is_refused_when_the_association_may_not_run_it() -> None:
    objects = device()
    reset = MethodDescriptor(3, "1.0.1.8.0.255", 1)
    denied = AccessRights().grant((3, "1.0.1.8.0.255"), methods={1: MethodAccess.NO_ACCESS})
    assert run(dispatch.action(objects, reset, t.Integer(0), denied)) == (ActionResult.READ_WRITE_DENIED, None)
    assert run(dispatch.action(objects, reset, t.Integer(0), AccessRights())) == (ActionResult.SUCCESS, None)
    energy = objects.find(3, "1.0.1.8.0.255")
    assert isinstance(energy, Register) and energy.value == 0


def test_get_with_selective_access_from_a_decoded_request() -> None:
    objects = device()
    wire = apdu.encode(GetRequestNormal(AttributeDescriptor(7, "1.0.99.1.0.255", 2, access=entry_descriptor(2, 3))))
    request = apdu.decode(wire)
    got = run(dispatch.get(objects, request.descriptor, AccessRights()))
    assert axdr.encode(got).hex() == "01020201060000000102010600000002"
