"""Demand register (5): attributes, type checks, access, reset and next_period."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from dlmsmesh import axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import ActionResult, DataAccessResult
from dlmsmesh.cosem import AccessRights, DemandRegister, Unit

from .helpers import hexbytes

CET = dt.timezone(dt.timedelta(hours=1))


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def clock() -> Any:
    moments = iter(dt.datetime(2024, 3, 15, 12, 15 * i, 0, tzinfo=CET) for i in range(4))
    return lambda: next(moments)


def test_class_id_version_and_attributes() -> None:
    assert (DemandRegister.class_id, DemandRegister.version) == (5, 0)
    assert list(DemandRegister.attribute_specs()) == list(range(1, 10))
    assert list(DemandRegister.method_specs()) == [1, 2]
    demand = DemandRegister("1.0.1.4.0.255", t.DoubleLongUnsigned(1500), scaler=0, unit=Unit.WATT, now=clock())
    assert axdr.encode(run(demand.get(1))) == hexbytes("09 06 01 00 01 04 00 FF")
    assert axdr.encode(run(demand.get(2))) == hexbytes("06 00 00 05 DC")
    assert axdr.encode(run(demand.get(3))) == hexbytes("06 00 00 00 00")
    assert axdr.encode(run(demand.get(4))) == hexbytes("02 02 0F 00 16 1B")
    assert axdr.encode(run(demand.get(5))) == hexbytes("00")
    stamp = hexbytes("09 0C 07 E8 03 0F 05 0C 00 00 00 FF C4 00")
    assert axdr.encode(run(demand.get(6))) == stamp
    assert axdr.encode(run(demand.get(7))) == stamp
    assert axdr.encode(run(demand.get(8))) == hexbytes("06 00 00 03 84")
    assert axdr.encode(run(demand.get(9))) == hexbytes("12 00 01")


def test_set_type_checks_and_access() -> None:
    demand = DemandRegister("1.0.1.4.0.255", t.Float32(1.5))
    rights = AccessRights()
    for index in range(1, 8):
        assert rights.check_set(demand, index) is DataAccessResult.READ_WRITE_DENIED
    assert rights.check_set(demand, 8) is None and rights.check_set(demand, 9) is None
    assert run(demand.set(8, t.DoubleLongUnsigned(60))) == DataAccessResult.SUCCESS and demand.period == 60
    assert run(demand.set(8, t.LongUnsigned(60))) == DataAccessResult.TYPE_UNMATCHED
    assert run(demand.set(9, t.Unsigned(2))) == DataAccessResult.TYPE_UNMATCHED
    assert run(demand.set(2, t.Float64(2.0))) == DataAccessResult.TYPE_UNMATCHED
    assert run(demand.set(2, [t.Unsigned(1)])) == DataAccessResult.TYPE_UNMATCHED
    assert run(demand.set(3, t.Float32(2.5))) == DataAccessResult.SUCCESS and demand.last_average_value == 2.5
    assert run(demand.set(6, bytes(11))) == DataAccessResult.TYPE_UNMATCHED


def test_next_period_and_reset() -> None:
    demand = DemandRegister("1.0.1.4.0.255", t.DoubleLongUnsigned(0), now=clock())
    demand.current_average_value = t.DoubleLongUnsigned(1234)
    assert run(demand.action(2, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert (demand.current_average_value, demand.last_average_value) == (0, 1234)
    assert type(demand.current_average_value) is t.DoubleLongUnsigned
    assert axdr.encode(run(demand.get(6))) == hexbytes("09 0C 07 E8 03 0F 05 0C 0F 00 00 FF C4 00")
    assert axdr.encode(run(demand.get(7))) == hexbytes("09 0C 07 E8 03 0F 05 0C 0F 00 00 FF C4 00")
    demand.current_average_value = t.DoubleLongUnsigned(99)
    assert run(demand.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert (demand.current_average_value, demand.last_average_value) == (0, 0)
    assert axdr.encode(run(demand.get(7))) == hexbytes("09 0C 07 E8 03 0F 05 0C 1E 00 00 FF C4 00")
    assert run(demand.action(1, t.Unsigned(0))) == (ActionResult.TYPE_UNMATCHED, None)
    assert run(demand.action(3, t.Integer(0))) == (ActionResult.OBJECT_UNDEFINED, None)
