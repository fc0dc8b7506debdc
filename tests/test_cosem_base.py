"""The CosemObject dispatch surface: attribute and method tables, typed Python
attributes, GET/SET/ACTION results, custom objects with sync and async handlers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dlmsmesh import axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import ActionResult, DataAccessResult
from dlmsmesh.cosem import (
    ANY,
    READ_WRITE,
    ActionError,
    ArrayOf,
    CosemObject,
    DataAccessError,
    Octets,
    OneOf,
    StructureOf,
    TypeMismatch,
    attribute,
    method,
)


class Meter(CosemObject):
    """A custom object: sync and async handlers, a stored attribute."""

    class_id = 9000
    version = 2

    label = attribute(4, t.VisibleString, access=READ_WRITE, default=t.VisibleString("none"))

    def __init__(self, logical_name: str) -> None:
        super().__init__(logical_name)
        self.count = 7
        self.log: list[Any] = []

    @attribute(2, t.DoubleLongUnsigned, access=READ_WRITE)
    def total(self) -> t.DoubleLongUnsigned:
        return t.DoubleLongUnsigned(self.count)

    @total.setter
    def total(self, value: t.DoubleLongUnsigned) -> None:  # type: ignore[no-redef]
        self.count = int(value)

    @attribute(3, t.LongUnsigned, access=READ_WRITE)
    async def remote(self) -> t.LongUnsigned:
        await asyncio.sleep(0)
        return t.LongUnsigned(self.count * 2)

    @remote.setter
    async def remote(self, value: t.LongUnsigned) -> None:  # type: ignore[no-redef]
        await asyncio.sleep(0)
        self.count = int(value) // 2

    @attribute(5, ANY)
    def broken(self) -> Any:
        raise RuntimeError("sensor gone")

    @attribute(6, ANY)
    def busy(self) -> Any:
        raise DataAccessError(DataAccessResult.TEMPORARY_FAILURE)

    @method(1, t.Integer)
    def bump(self, parameters: t.Integer) -> None:
        self.count += int(parameters)

    @method(2, None)
    async def echo(self, parameters: Any) -> Any:
        await asyncio.sleep(0)
        self.log.append(parameters)
        return parameters

    @method(3, t.Integer)
    def refuse(self, parameters: t.Integer) -> None:
        raise ActionError(ActionResult.TEMPORARY_FAILURE)

    @method(4, None)
    def crash(self, parameters: Any) -> None:
        raise ZeroDivisionError


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_tables_collect_attributes_and_methods_in_index_order() -> None:
    assert list(Meter.attribute_specs()) == [1, 2, 3, 4, 5, 6]
    assert list(Meter.method_specs()) == [1, 2, 3, 4]
    specs = Meter.attribute_specs()
    assert [specs[i].name for i in (1, 2, 3, 4)] == ["logical_name", "total", "remote", "label"]
    assert specs[2].access is READ_WRITE and specs[3].is_async and not specs[2].is_async
    assert Meter.method_specs()[2].name == "echo"


def test_logical_name_is_attribute_one_and_encodes_as_octet_string_6() -> None:
    m = Meter("0.0.96.1.0.255")
    assert m.logical_name == t.Obis("0.0.96.1.0.255") and m.key == (9000, t.Obis("0.0.96.1.0.255"))
    assert axdr.encode(run(m.get(1))).hex() == "0906000060010 0ff".replace(" ", "")
    with pytest.raises(AttributeError):
        m.logical_name = t.Obis("0.0.96.1.1.255")
    assert run(m.set(1, b"\x00" * 6)) == DataAccessResult.READ_WRITE_DENIED


def test_sync_getter_and_setter_through_python_and_dispatch() -> None:
    m = Meter("0.0.96.1.0.255")
    assert m.total == 7
    m.total = t.DoubleLongUnsigned(9)
    assert m.count == 9
    assert run(m.set(2, t.DoubleLongUnsigned(12))) == DataAccessResult.SUCCESS
    got = run(m.get(2))
    assert type(got) is t.DoubleLongUnsigned and got == 12
    assert axdr.encode(got).hex() == "060000000c"


def test_async_getter_and_setter_are_awaited_by_dispatch() -> None:
    m = Meter("0.0.96.1.0.255")
    assert run(m.get(3)) == t.LongUnsigned(14)
    assert run(m.set(3, t.LongUnsigned(40))) == DataAccessResult.SUCCESS
    assert m.count == 20
    with pytest.raises(AttributeError, match="async setter"):
        m.remote = t.LongUnsigned(2)


def test_stored_attribute_default_then_set() -> None:
    m = Meter("0.0.96.1.0.255")
    assert m.label == "none"
    assert run(m.set(4, "abc")) == DataAccessResult.SUCCESS
    assert type(m.label) is t.VisibleString and m.label == "abc"
    assert axdr.encode(run(m.get(4))).hex() == "0a03616263"


def test_set_with_the_wrong_type_is_type_unmatched_and_keeps_the_value() -> None:
    m = Meter("0.0.96.1.0.255")
    assert run(m.set(2, t.LongUnsigned(5))) == DataAccessResult.TYPE_UNMATCHED
    assert run(m.set(2, b"\x05")) == DataAccessResult.TYPE_UNMATCHED
    assert run(m.set(4, t.Utf8String("é"))) == DataAccessResult.TYPE_UNMATCHED
    assert m.count == 7 and m.label == "none"
    with pytest.raises(TypeError):
        m.total = t.Long(1)
    with pytest.raises(TypeError):
        m.total = 5  # a bare int has no COSEM type


def test_unknown_attribute_and_method() -> None:
    m = Meter("0.0.96.1.0.255")
    assert run(m.get(99)) == DataAccessResult.OBJECT_UNDEFINED
    assert run(m.set(99, None)) == DataAccessResult.OBJECT_UNDEFINED
    assert run(m.action(99, t.Integer(0))) == (ActionResult.OBJECT_UNDEFINED, None)


def test_selector_on_an_attribute_without_selective_access_is_refused() -> None:
    m = Meter("0.0.96.1.0.255")
    assert run(m.get(2, 1, ())) == DataAccessResult.OTHER_REASON


def test_handler_failures_become_results_never_exceptions(caplog: pytest.LogCaptureFixture) -> None:
    m = Meter("0.0.96.1.0.255")
    assert run(m.get(5)) == DataAccessResult.OTHER_REASON
    assert "sensor gone" in caplog.text
    assert run(m.get(6)) == DataAccessResult.TEMPORARY_FAILURE
    assert run(m.action(3, t.Integer(0))) == (ActionResult.TEMPORARY_FAILURE, None)
    assert run(m.action(4, None)) == (ActionResult.OTHER_REASON, None)


def test_actions_sync_async_parameters_and_return_value() -> None:
    m = Meter("0.0.96.1.0.255")
    assert run(m.action(1, t.Integer(3))) == (ActionResult.SUCCESS, None)
    assert m.count == 10
    assert run(m.action(1, t.Unsigned(3))) == (ActionResult.TYPE_UNMATCHED, None)
    assert m.count == 10
    result, returned = run(m.action(2, (b"\x01", t.Unsigned(2))))
    assert result is ActionResult.SUCCESS and type(returned) is t.Structure
    assert axdr.encode(returned).hex() == "0202090101 1102".replace(" ", "")
    m.bump(t.Integer(1))  # a method is callable from Python too
    assert m.count == 11


def test_type_specs() -> None:
    su = StructureOf(t.Integer, t.Enum)
    assert su.check((t.Integer(-3), t.Enum(30))) == (-3, 30)
    with pytest.raises(TypeMismatch):
        su.check((t.Integer(-3),))
    with pytest.raises(TypeMismatch):
        su.check((t.Integer(-3), t.Unsigned(30)))
    arr = ArrayOf(Octets(16))
    assert arr.check([bytes(16)]) == [bytes(16)] and arr.check([]) == []
    with pytest.raises(TypeMismatch):
        arr.check([bytes(15)])
    with pytest.raises(TypeMismatch):
        arr.check((bytes(16),))
    either = OneOf(Octets(), t.VisibleString)
    assert type(either.check("x")) is t.VisibleString and type(either.check(b"x")) is t.OctetString
    with pytest.raises(TypeMismatch):
        either.check(t.Unsigned(1))


def test_attribute_index_zero_is_rejected() -> None:
    with pytest.raises(ValueError):
        attribute(0, ANY)
    with pytest.raises(ValueError):
        method(0, None)
