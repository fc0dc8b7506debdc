"""Data (1), Register (3), Extended register (4) and the invocation counter object."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from dlmsmesh import apdu, axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import ActionResult, AttributeDescriptor, DataAccessResult, GetRequestNormal
from dlmsmesh.cosem import AccessRights, Data, ExtendedRegister, Register, Unit, invocation_counter

from .helpers import hexbytes

CET = dt.timezone(dt.timedelta(hours=1))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_class_ids_and_versions() -> None:
    assert (Data.class_id, Data.version) == (1, 0)
    assert (Register.class_id, Register.version) == (3, 0)
    assert (ExtendedRegister.class_id, ExtendedRegister.version) == (4, 0)
    assert list(Data.attribute_specs()) == [1, 2] and not Data.method_specs()
    assert list(Register.attribute_specs()) == [1, 2, 3] and list(Register.method_specs()) == [1]
    assert list(ExtendedRegister.attribute_specs()) == [1, 2, 3, 4, 5]
    assert list(ExtendedRegister.method_specs()) == [1]


def test_data_holds_any_type_and_null_by_default() -> None:
    d = Data("0.0.96.1.0.255")
    assert run(d.get(2)) is t.NullData()
    assert run(d.set(2, [t.Unsigned(1), "ab"])) == DataAccessResult.SUCCESS
    assert axdr.encode(run(d.get(2))).hex() == "0102110 10a026162".replace(" ", "")


def test_logical_device_name() -> None:
    ldn = Data("0.0.42.0.0.255", b"GRX0000000000001")
    assert axdr.encode(run(ldn.get(2))) == hexbytes("09 10 47 52 58 30 30 30 30 30 30 30 30 30 30 30 30 31")


def test_register_value_and_scaler_unit() -> None:
    r = Register("1.0.1.8.0.255", t.DoubleLongUnsigned(12345885), scaler=-3, unit=Unit.WATT_HOUR)
    assert axdr.encode(run(r.get(2))).hex() == "0600bc621d"
    assert axdr.encode(run(r.get(3))).hex() == "02020ffd161e"
    assert (r.scaler, r.unit) == (-3, 30)
    assert r.physical_value == pytest.approx(12345.885)
    assert run(r.set(3, (t.Integer(1), t.Enum(27)))) == DataAccessResult.SUCCESS
    assert (r.scaler, r.unit) == (1, 27)
    assert run(r.set(3, (t.Integer(1), t.Unsigned(27)))) == DataAccessResult.TYPE_UNMATCHED
    assert run(r.set(3, t.Integer(1))) == DataAccessResult.TYPE_UNMATCHED


def test_register_value_must_be_simple_and_keeps_its_type() -> None:
    r = Register("1.0.1.8.0.255")
    assert run(r.set(2, [t.Unsigned(1)])) == DataAccessResult.TYPE_UNMATCHED
    assert run(r.set(2, t.Long64Unsigned(5))) == DataAccessResult.TYPE_UNMATCHED
    assert run(r.set(2, t.DoubleLongUnsigned(5))) == DataAccessResult.SUCCESS
    assert type(r.value) is t.DoubleLongUnsigned and r.value == 5
    with pytest.raises(TypeError):
        r.value = (t.Unsigned(1),)
    with pytest.raises(TypeError):
        r.value = t.Long64Unsigned(6)
    x = ExtendedRegister("1.0.1.6.0.255", t.Float32(1.5))
    assert run(x.set(2, t.Float64(2.5))) == DataAccessResult.TYPE_UNMATCHED and x.value == 1.5
    with pytest.raises(TypeError, match="default"):
        Register("1.0.1.8.0.255", t.DoubleLongUnsigned(1), default=t.Long(0))


def test_register_reset_restores_the_default() -> None:
    r = Register("1.0.1.8.0.255", t.DoubleLongUnsigned(99))
    assert run(r.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert type(r.value) is t.DoubleLongUnsigned and r.value == 0
    r2 = Register("0.0.96.8.0.255", t.Long(-5), default=t.Long(10))
    assert run(r2.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert r2.value == t.Long(10)
    assert run(r2.action(1, b"\x00")) == (ActionResult.TYPE_UNMATCHED, None)
    assert run(r2.action(2, t.Integer(0))) == (ActionResult.OBJECT_UNDEFINED, None)


def test_register_value_read_only_by_default() -> None:
    r = Register("1.0.1.8.0.255")
    assert AccessRights().check_set(r, 2) is DataAccessResult.READ_WRITE_DENIED


def test_extended_register_stamps_capture_time_from_the_clock_source() -> None:
    times = iter([dt.datetime(2024, 3, 15, 12, 30, 45, tzinfo=CET), dt.datetime(2024, 3, 15, 12, 45, 0, tzinfo=CET)])
    x = ExtendedRegister(
        "1.0.1.6.0.255",
        t.DoubleLongUnsigned(1500),
        scaler=0,
        unit=Unit.WATT,
        status=t.Unsigned(0),
        now=lambda: next(times),
    )
    assert axdr.encode(run(x.get(2))).hex() == "06000005dc"
    assert axdr.encode(run(x.get(3))).hex() == "020 20f00161b".replace(" ", "")
    assert axdr.encode(run(x.get(4))).hex() == "1100"
    assert axdr.encode(run(x.get(5))) == hexbytes("09 0C 07 E8 03 0F 05 0C 1E 2D 00 FF C4 00")
    assert run(x.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert x.value == 0
    assert axdr.encode(run(x.get(5))) == hexbytes("09 0C 07 E8 03 0F 05 0C 2D 00 00 FF C4 00")
    assert run(x.set(5, bytes(11))) == DataAccessResult.TYPE_UNMATCHED


def test_invocation_counter_reads_the_store_on_every_get() -> None:
    counters = {"ic": 41}
    ic = invocation_counter(lambda: counters["ic"])
    assert ic.class_id == 1 and ic.logical_name == t.Obis("0.0.43.1.0.255")
    # C1 of the notes: the GET that reads it
    request = GetRequestNormal(AttributeDescriptor(ic.class_id, ic.logical_name, 2))
    assert apdu.encode(request) == hexbytes("C0 01 C1 00 01 00 00 2B 01 00 FF 02 00")
    assert axdr.encode(run(ic.get(2))).hex() == "0600000029"
    counters["ic"] = 0x01020304
    assert axdr.encode(run(ic.get(2))).hex() == "0601020304"
    assert run(ic.set(2, t.DoubleLongUnsigned(0))) == DataAccessResult.READ_WRITE_DENIED
    assert invocation_counter(lambda: 0, instance=3, channel=1).logical_name == t.Obis("0.1.43.1.3.255")
