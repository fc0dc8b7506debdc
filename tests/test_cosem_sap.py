"""SAP assignment (17): the list and connect_logical_device."""

from __future__ import annotations

import asyncio
from typing import Any

from dlmsmesh import axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import ActionResult, DataAccessResult
from dlmsmesh.cosem import AccessRights, SapAssignment

from .helpers import hexbytes


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_class_id_version_and_list_bytes() -> None:
    assert (SapAssignment.class_id, SapAssignment.version) == (17, 0)
    assert list(SapAssignment.attribute_specs()) == [1, 2] and list(SapAssignment.method_specs()) == [1]
    sap = SapAssignment(devices=[(1, b"GRX0000000000001")])
    assert axdr.encode(run(sap.get(1))) == hexbytes("09 06 00 00 29 00 00 FF")
    assert axdr.encode(run(sap.get(2))) == hexbytes(
        "01 01 02 02 12 00 01 09 10 47 52 58 30 30 30 30 30 30 30 30 30 30 30 30 31"
    )
    assert sap.devices == {1: b"GRX0000000000001"}


def test_list_is_read_only() -> None:
    sap = SapAssignment(devices=[(1, b"A")])
    assert AccessRights().check_set(sap, 2) is DataAccessResult.READ_WRITE_DENIED
    assert AccessRights().check_get(sap, 2) is None
    assert run(sap.set(2, t.Array([(t.LongUnsigned(2), b"B")]))) == DataAccessResult.SUCCESS
    assert run(sap.set(2, t.Array([(t.Unsigned(2), b"B")]))) == DataAccessResult.TYPE_UNMATCHED
    assert sap.devices == {2: b"B"}


def test_connect_logical_device_adds_replaces_and_removes() -> None:
    sap = SapAssignment(devices=[(1, b"MGMT")])
    assert run(sap.action(1, (t.LongUnsigned(17), b"SECOND"))) == (ActionResult.SUCCESS, None)
    assert sap.devices == {1: b"MGMT", 17: b"SECOND"}
    assert run(sap.action(1, (t.LongUnsigned(17), b"RENAMED"))) == (ActionResult.SUCCESS, None)
    assert sap.devices == {1: b"MGMT", 17: b"RENAMED"}
    assert run(sap.action(1, (t.LongUnsigned(17), b""))) == (ActionResult.SUCCESS, None)
    assert sap.devices == {1: b"MGMT"}
    assert run(sap.action(1, (t.LongUnsigned(17), b""))) == (ActionResult.OBJECT_UNAVAILABLE, None)
    assert run(sap.action(1, (t.Unsigned(17), b"X"))) == (ActionResult.TYPE_UNMATCHED, None)
    assert run(sap.action(1, t.LongUnsigned(17))) == (ActionResult.TYPE_UNMATCHED, None)
