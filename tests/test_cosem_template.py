"""MeterTemplate: many meters from one template share its immutable parts and
keep their own state copy-on-write (issue 12, point 2)."""

from __future__ import annotations

import asyncio
import datetime as dt
import gc
import tracemalloc
from collections.abc import Mapping
from typing import Any

import pytest

from dlmsmesh import types as t
from dlmsmesh.apdu_model import (
    ActionResult,
    AttributeDescriptor,
    DataAccessResult,
    MethodDescriptor,
    entry_descriptor,
)
from dlmsmesh.cosem import (
    READ_ONLY,
    AccessRights,
    AssociationLN,
    Clock,
    CosemObject,
    Data,
    DemandRegister,
    ExtendedRegister,
    GeneratedRows,
    MeterTemplate,
    ObjectList,
    ProfileGeneric,
    Register,
    SecuritySetup,
    Unit,
    attribute,
    dispatch,
    invocation_counter,
    method,
)

UTC = dt.timezone.utc
START = dt.datetime(2024, 3, 1, tzinfo=UTC)
NOW = START + dt.timedelta(days=30)
LDN = "0.0.42.0.0.255"
IC = "0.0.43.1.0.255"
LOAD = "1.0.99.1.0.255"
BILLING = "0.0.98.1.0.255"
IMPORT = "1.0.1.8.0.255"
EXPORT = "1.0.2.8.0.255"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def fixed_now() -> dt.datetime:
    return NOW


def load_rows(seed: int) -> GeneratedRows:
    """A month of quarter-hour rows, deterministic from ``seed``."""

    def row_at(i: int) -> tuple[Any, ...]:
        moment = START + dt.timedelta(minutes=15 * i)
        stamp = t.OctetString(bytes(t.DateTime.from_datetime(moment, clock_status=0)))
        return (stamp, t.DoubleLongUnsigned(seed * 100_000 + 3 * i), t.DoubleLongUnsigned(seed + i))

    return GeneratedRows(30 * 96, row_at)


def build(name: bytes = b"TPL00000", seed: int = 0, counter: int = 0) -> ObjectList:
    """The representative device, built directly (the reference for a meter made
    from the template with the same parameters)."""
    objects = ObjectList()
    clock = objects.add(Clock(now=fixed_now, time_zone=-60))
    objects.add(Data(LDN, t.OctetString(name)))
    objects.add(invocation_counter(lambda: counter))
    imp = objects.add(Register(IMPORT, t.DoubleLongUnsigned(1000), scaler=0, unit=Unit.WATT_HOUR))
    exp = objects.add(Register(EXPORT, t.DoubleLongUnsigned(7), scaler=-1, unit=Unit.WATT_HOUR))
    objects.add(ExtendedRegister("1.0.1.6.0.255", t.DoubleLongUnsigned(42), unit=Unit.WATT, now=fixed_now))
    objects.add(DemandRegister("1.0.1.4.0.255", t.DoubleLongUnsigned(5), unit=Unit.WATT, now=fixed_now))
    objects.add(Data("1.0.0.2.0.255", t.VisibleString("fw-1.2.3")))
    columns = [(clock, 2), (imp, 2), (exp, 2)]
    objects.add(ProfileGeneric(LOAD, columns, capture_period=900, rows=load_rows(seed)))
    objects.add(ProfileGeneric(BILLING, columns, capture_period=0, profile_entries=3))
    objects.add(SecuritySetup(server_system_title=name))
    objects.add(AssociationLN(objects=objects, rights=AccessRights(), secret=b"12345678"))
    return objects


def bind_name(obj: Any, params: Mapping[str, Any]) -> None:
    obj.value = t.OctetString(params["name"])


def bind_title(obj: Any, params: Mapping[str, Any]) -> None:
    obj.server_system_title = t.OctetString(params["name"])


def bind_rows(obj: Any, params: Mapping[str, Any]) -> None:
    obj._rows = load_rows(params["seed"])


def bind_counter(obj: Any, params: Mapping[str, Any]) -> None:
    counter = params["counter"]
    obj._counter = lambda: counter


def template() -> MeterTemplate:
    return MeterTemplate(
        build,
        {LDN: bind_name, "0.0.43.0.0.255": bind_title, LOAD: bind_rows, IC: bind_counter},
    )


async def every_get(objects: ObjectList) -> list[Any]:
    got: list[Any] = []
    for obj in objects:
        for index in obj.attribute_specs():
            got.append((obj.class_id, bytes(obj.logical_name), index, await obj.get(index)))
    return got


def test_every_attribute_of_every_object_reads_as_on_a_directly_built_device() -> None:
    tpl = template()
    for name, seed, counter in [(b"MTR00001", 1, 5), (b"MTR00002", 2, 9)]:
        meter = tpl.instantiate(name=name, seed=seed, counter=counter)
        direct = build(name, seed, counter)
        expected = run(every_get(direct))
        got = run(every_get(meter))
        assert len(got) == len(expected) > 50
        assert got == expected
        assert meter.to_data() == direct.to_data()
        # selective access on generated rows: the meter's own seed
        profile = meter.get(LOAD)
        assert isinstance(profile, ProfileGeneric)
        access = entry_descriptor(3, 4)
        entries = run(profile.get(2, access.selector, access.parameters))
        assert entries == run(direct.get(LOAD).get(2, access.selector, access.parameters))  # type: ignore[union-attr]
        assert entries[0][1] == seed * 100_000 + 6


def test_a_meter_is_served_through_the_unchanged_dispatch_surface() -> None:
    meter = template().instantiate(name=b"MTR00001", seed=1, counter=77)
    rights = AccessRights()
    assert meter.resolve(1, IC) is meter.get(IC)
    assert meter.resolve(3, IC) is DataAccessResult.OBJECT_CLASS_INCONSISTENT
    assert meter.find(8, "0.0.1.0.0.255") is not None
    assert IMPORT in meter and len(meter) == 12
    assert run(dispatch.get(meter, AttributeDescriptor(1, IC, 2), rights)) == t.DoubleLongUnsigned(77)
    assert run(dispatch.get(meter, AttributeDescriptor(3, EXPORT, 3), rights)) == (-1, int(Unit.WATT_HOUR))
    # read-only by default rights: refused the same way as on a directly built device
    refused = run(dispatch.set(meter, AttributeDescriptor(3, IMPORT, 2), t.DoubleLongUnsigned(1), rights))
    assert refused is DataAccessResult.READ_WRITE_DENIED
    assert run(dispatch.action(meter, MethodDescriptor(3, EXPORT, 1), t.Integer(0), rights)) == (
        ActionResult.SUCCESS,
        None,
    )
    assert run(meter.get(EXPORT).get(2)) == 0  # type: ignore[union-attr]
    assoc = meter.get("0.0.40.0.0.255")
    assert isinstance(assoc, AssociationLN)
    # the association lists this meter's objects, not the template's
    assert assoc.objects is meter
    listed = run(assoc.get(2))
    assert [bytes(entry[2]) for entry in listed] == [bytes(obj.logical_name) for obj in meter]


def test_set_and_action_on_one_meter_leave_the_others_and_the_template_alone() -> None:
    tpl = template()
    a = tpl.instantiate(name=b"MTRAAAAA", seed=1, counter=0)
    b = tpl.instantiate(name=b"MTRBBBBB", seed=2, counter=0)
    imp_a, imp_b, imp_t = (m.get(IMPORT) for m in (a, b, tpl.objects))
    assert isinstance(imp_a, Register) and isinstance(imp_b, Register) and isinstance(imp_t, Register)
    assert run(imp_a.set(2, t.DoubleLongUnsigned(5000))) is DataAccessResult.SUCCESS
    assert run(imp_a.get(2)) == 5000
    assert run(imp_b.get(2)) == 1000 and run(imp_t.get(2)) == 1000
    # reset on meter B puts B's value back to its default; A keeps its write
    assert run(imp_b.set(2, t.DoubleLongUnsigned(3))) is DataAccessResult.SUCCESS
    assert run(imp_b.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert run(imp_b.get(2)) == 0 and run(imp_a.get(2)) == 5000 and run(imp_t.get(2)) == 1000
    # a SET of another type is still type-unmatched on a meter that never wrote the value
    fresh = tpl.instantiate(name=b"MTRCCCCC", seed=3, counter=0).get(IMPORT)
    assert isinstance(fresh, Register)
    assert run(fresh.set(2, t.Long(1))) is DataAccessResult.TYPE_UNMATCHED
    demand = tpl.instantiate(name=b"MTRDDDDD", seed=4, counter=0).get("1.0.1.4.0.255")
    assert isinstance(demand, DemandRegister)
    assert run(demand.set(2, t.Long(1))) is DataAccessResult.TYPE_UNMATCHED
    # a stored attribute (Data) and a clock method
    ldn_a = a.get(LDN)
    assert isinstance(ldn_a, Data)
    ldn_a.value = t.OctetString(b"renamed")
    assert run(b.get(LDN).get(2)) == b"MTRBBBBB"  # type: ignore[union-attr]
    assert run(tpl.objects.get(LDN).get(2)) == b"TPL00000"  # type: ignore[union-attr]
    clock_a, clock_b = a.get("0.0.1.0.0.255"), b.get("0.0.1.0.0.255")
    assert isinstance(clock_a, Clock) and isinstance(clock_b, Clock)
    assert run(clock_a.action(6, t.Long(600))) == (ActionResult.SUCCESS, None)
    assert clock_a.utc() == NOW + dt.timedelta(minutes=10)
    assert clock_b.utc() == NOW
    assert run(clock_a.set(3, t.Long(120))) is DataAccessResult.SUCCESS
    assert run(clock_b.get(3)) == -60
    template_clock = tpl.objects.get("0.0.1.0.0.255")
    assert isinstance(template_clock, Clock) and template_clock.utc() == NOW


def test_profile_capture_on_one_meter_only_and_it_reads_that_meters_registers() -> None:
    tpl = template()
    a = tpl.instantiate(name=b"MTRAAAAA", seed=1, counter=0)
    b = tpl.instantiate(name=b"MTRBBBBB", seed=2, counter=0)
    a.get(IMPORT).value = t.DoubleLongUnsigned(1234)  # type: ignore[union-attr]
    billing_a, billing_b = a.get(BILLING), b.get(BILLING)
    assert isinstance(billing_a, ProfileGeneric) and isinstance(billing_b, ProfileGeneric)
    for _ in range(4):
        assert run(billing_a.action(2, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert run(billing_a.get(7)) == 3  # profile_entries bounds it, first in first out
    assert [row[1] for row in billing_a.rows] == [1234, 1234, 1234]
    assert run(billing_b.get(7)) == 0 and list(billing_b.rows) == []
    assert len(tpl.objects.get(BILLING).rows) == 0  # type: ignore[union-attr]
    assert run(billing_b.action(2, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert billing_b.rows[0][1] == 1000
    assert run(billing_a.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert run(billing_a.get(7)) == 0 and run(billing_b.get(7)) == 1


def test_the_template_is_taken_when_made_and_binders_must_name_an_object() -> None:
    source = build()
    tpl = MeterTemplate(source)
    source.get(IMPORT).value = t.DoubleLongUnsigned(99)  # type: ignore[union-attr]
    assert run(tpl.instantiate().get(IMPORT).get(2)) == 1000  # type: ignore[union-attr]
    with pytest.raises(KeyError):
        tpl.bind("9.9.9.9.9.9", bind_name)
    meter_obj = tpl.instantiate().get(IMPORT)
    assert isinstance(meter_obj, Register) and isinstance(meter_obj, CosemObject)
    assert type(meter_obj).__name__ == "Register" and meter_obj.class_id == 3
    assert repr(meter_obj) == "Register('1.0.1.8.0.255')"


def test_ten_thousand_meters_from_one_template_cost_little_each() -> None:
    tpl = template()
    count = 10_000
    names = [b"MTR%05d" % i for i in range(count)]  # parameters are the caller's, not the meter's cost
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        meters = [tpl.instantiate(name=name, seed=i, counter=i) for i, name in enumerate(names)]
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    per_meter = (after - before) / count
    print(f"\n{count} meters of {len(tpl)} objects from one template: {per_meter:.0f} bytes per meter")
    assert per_meter <= 10_000
    # they are live, separate meters
    assert run(meters[7].get(LDN).get(2)) == b"MTR00007"  # type: ignore[union-attr]
    assert run(meters[9999].get(IC).get(2)) == 9999  # type: ignore[union-attr]


class Tally(CosemObject):
    """A custom object whose state names another object of the device: a
    source register, a handler bound to it, and a list changed in place."""

    class_id = 1
    version = 0

    def __init__(self, logical_name: str, source: Register) -> None:
        super().__init__(logical_name)
        self.source = source
        self.on_tally = source.reset
        self.seen: list[int] = []

    @attribute(2, t.Array, access=READ_ONLY)
    def value(self) -> t.Array:
        return t.Array(t.DoubleLongUnsigned(v) for v in self.seen)

    @method(1, t.Integer)
    def tally(self, parameters: Any) -> None:
        self.seen.append(int(self.source.value))
        self.on_tally(parameters)


def test_a_custom_objects_references_lists_and_bound_handlers_are_the_meters_own() -> None:
    def device() -> ObjectList:
        objects = ObjectList()
        register = objects.add(Register(IMPORT, t.DoubleLongUnsigned(10)))
        assert isinstance(register, Register)
        objects.add(Tally("0.0.96.0.0.255", register))
        return objects

    tpl = MeterTemplate(device)
    a, b = tpl.instantiate(), tpl.instantiate()
    tally_a, register_a = a.get("0.0.96.0.0.255"), a.get(IMPORT)
    assert isinstance(tally_a, Tally) and isinstance(register_a, Register)
    assert tally_a.source is register_a and tally_a.on_tally.__self__ is register_a
    register_a.value = t.DoubleLongUnsigned(25)
    assert run(tally_a.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert run(tally_a.get(2)) == [25]
    assert register_a.value == 0  # the bound reset ran on meter A's register
    assert run(b.get(IMPORT).get(2)) == 10  # type: ignore[union-attr]
    assert run(b.get("0.0.96.0.0.255").get(2)) == []  # type: ignore[union-attr]
    template_tally = tpl.objects.get("0.0.96.0.0.255")
    assert isinstance(template_tally, Tally) and template_tally.seen == []


def test_association_views_of_a_template_meter_are_the_meters_own() -> None:
    """An association's objects (a view of the device, with the current
    association only it holds) point at the meter's objects, not the template's."""
    from dlmsmesh.cosem import default_meter

    device = default_meter(bytes.fromhex("4D4D4D0000BC614E"), now=fixed_now).logical_devices[1]
    tpl = MeterTemplate(device, {LDN: bind_name})
    a, b = tpl.instantiate(name=b"AAAAAAAA"), tpl.instantiate(name=b"BBBBBBBB")
    for meter in (a, b):
        public = meter.get("0.0.40.0.1.255")
        assert isinstance(public, AssociationLN)
        assert public.objects.get(LDN) is meter.get(LDN)  # the meter's own object
        current = public.objects.get("0.0.40.0.0.255")
        assert current is not None and current.target is public  # type: ignore[attr-defined]
    assert run(a.get("0.0.40.0.1.255").objects.get(LDN).get(2)) == b"AAAAAAAA"  # type: ignore[union-attr]
    assert run(b.get("0.0.40.0.1.255").objects.get(LDN).get(2)) == b"BBBBBBBB"  # type: ignore[union-attr]
    assert device.get(LDN).value != b"AAAAAAAA"  # type: ignore[union-attr]
