"""Push setup versions 1 and 2 (layout from gurux-dlms, UNVERIFIED): the added
attributes read and written, push_object_list elements with a restriction
(and, in version 2, columns), and the push and reset methods."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from dlmsmesh import apdu, axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import ActionResult, CaptureObject, DataAccessResult, DataNotification
from dlmsmesh.cosem import (
    AccessRights,
    Clock,
    Data,
    ObjectList,
    ProfileGeneric,
    PushOperationMethod,
    PushSetup,
    PushSetupV1,
    PushSetupV2,
    Register,
    Restriction,
    RestrictionType,
)

from .helpers import hexbytes

UTC = dt.timezone.utc
NO_DATE = hexbytes("FF FF FF FF FF FF FF FF FF 80 00 FF")


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def enc(value: Any) -> bytes:
    return axdr.encode(value)


def stamp(hour: int) -> bytes:
    return bytes(t.DateTime.from_datetime(dt.datetime(2024, 3, 15, hour, tzinfo=UTC), clock_status=0))


def meter() -> tuple[ObjectList, Data, Clock, Register, ProfileGeneric]:
    ldn = Data("0.0.42.0.0.255", b"MMM0000012345678")
    clock = Clock(now=lambda: dt.datetime(2024, 3, 15, 12, tzinfo=UTC), time_zone=0, dst_enabled=False)
    energy = Register("1.0.1.8.0.255", t.DoubleLongUnsigned(100))
    rows = [(t.OctetString(stamp(h)), t.DoubleLongUnsigned(100 + h)) for h in range(6)]
    profile = ProfileGeneric("1.0.99.1.0.255", [(clock, 2), (energy, 2)], capture_period=3600, rows=rows)
    return ObjectList([ldn, clock, energy, profile]), ldn, clock, energy, profile


def test_versions_and_tables() -> None:
    assert (PushSetupV1.class_id, PushSetupV1.version) == (40, 1)
    assert (PushSetupV2.class_id, PushSetupV2.version) == (40, 2)
    assert list(PushSetupV1.attribute_specs()) == list(range(1, 11))
    assert list(PushSetupV2.attribute_specs()) == list(range(1, 14))
    assert list(PushSetupV1.method_specs()) == [1]
    assert list(PushSetupV2.method_specs()) == [1, 2]
    rights = AccessRights()
    v2 = PushSetupV2()
    assert [rights.check_set(v2, i) is None for i in range(1, 14)] == [False] + [True] * 11 + [False]
    assert all(rights.check_get(v2, i) is None for i in range(1, 14))


def test_v1_attributes_get_and_set() -> None:
    push = PushSetupV1(port_reference="0.0.25.0.0.255", client_sap=0x66)
    assert enc(run(push.get(8))) == hexbytes("09 06 00 00 19 00 00 FF")
    assert enc(run(push.get(9))) == hexbytes("0F 66")
    assert enc(run(push.get(10))) == hexbytes("01 00")
    assert enc(run(push.get(7))) == hexbytes("12 00 00")  # long-unsigned in version 1
    assert run(push.set(8, b"")) == DataAccessResult.SUCCESS
    assert enc(run(push.get(8))) == hexbytes("09 00")
    assert run(push.set(8, bytes(5))) == DataAccessResult.TYPE_UNMATCHED
    assert run(push.set(9, t.Integer(0x10))) == DataAccessResult.SUCCESS
    assert push.client_sap == 0x10 and enc(run(push.get(9))) == hexbytes("0F 10")
    assert run(push.set(9, t.Unsigned(0x10))) == DataAccessResult.TYPE_UNMATCHED
    # one protection parameter: authenticated encryption with the identified global unicast key
    protection = t.Array(
        [
            t.Structure(
                (
                    t.Enum(2),
                    t.Structure(
                        (
                            b"\x00" * 8,
                            hexbytes("4D4D4D0000BC614E"),
                            hexbytes("4142434445464748"),
                            b"",
                            t.Structure((t.Enum(0), t.Structure((t.Enum(0),)))),
                        )
                    ),
                )
            )
        ]
    )
    assert run(push.set(10, protection)) == DataAccessResult.SUCCESS
    assert enc(run(push.get(10))) == hexbytes(
        "01 01 02 02 16 02 02 05 09 08 0000000000000000 09 08 4D4D4D0000BC614E 09 08 4142434445464748 09 00"
        " 02 02 16 00 02 01 16 00"
    )
    assert run(push.set(10, t.Array([t.Structure((t.Enum(2),))]))) == DataAccessResult.TYPE_UNMATCHED
    assert run(push.set(7, t.LongUnsigned(60))) == DataAccessResult.SUCCESS
    assert run(push.set(6, t.Unsigned(2))) == DataAccessResult.SUCCESS
    assert push.retry_delays() == [60, 60]


def test_v1_push_object_list_elements_carry_a_restriction() -> None:
    objects, ldn, _clock, _energy, profile = meter()
    push = PushSetupV1(push_objects=[(ldn, 2)], objects=objects)
    # gurux-dlms's version-1 element: the capture object definition and restriction {none, null-data}
    assert enc(run(push.get(2))) == hexbytes(
        "01 01 02 05 12 00 01 09 06 00 00 2A 00 00 FF 0F 02 12 00 00 02 02 16 00 00"
    )
    by_entry = (t.Enum(2), (t.LongUnsigned(2), t.LongUnsigned(3)))
    by_date = (t.Enum(1), (stamp(1), stamp(2)))
    written = [
        (t.LongUnsigned(7), bytes(profile.logical_name), t.Integer(2), t.LongUnsigned(0), by_entry),
        (t.LongUnsigned(7), bytes(profile.logical_name), t.Integer(2), t.LongUnsigned(0), by_date),
        # a version-0 element is accepted and reads back with restriction none
        (t.LongUnsigned(1), bytes(ldn.logical_name), t.Integer(2), t.LongUnsigned(0)),
    ]
    assert run(push.set(2, written)) == DataAccessResult.SUCCESS
    listed = run(push.get(2))
    assert [len(e) for e in listed] == [5, 5, 5]
    assert listed[0][4] == (t.Enum(2), (t.LongUnsigned(2), t.LongUnsigned(3)))
    assert listed[2][4] == (t.Enum(0), t.NullData())
    assert push.restriction(1)[0] == Restriction(RestrictionType.BY_DATE, stamp(1), stamp(2))
    assert push.push_objects[2] == CaptureObject(1, t.Obis("0.0.42.0.0.255"), 2, 0)
    # restriction type and bounds must agree; unknown type; a 6-member element is version 2's
    bad = [
        (t.Enum(1), (t.LongUnsigned(2), t.LongUnsigned(3))),
        (t.Enum(0), (t.LongUnsigned(2), t.LongUnsigned(3))),
        (t.Enum(2), t.NullData()),
    ]
    for restriction in bad:
        element = (t.LongUnsigned(7), bytes(profile.logical_name), t.Integer(2), t.LongUnsigned(0), restriction)
        assert run(push.set(2, [element])) == DataAccessResult.TYPE_UNMATCHED
    unknown = (t.LongUnsigned(7), bytes(profile.logical_name), t.Integer(2), t.LongUnsigned(0), (t.Enum(5), None))
    assert run(push.set(2, [unknown])) == DataAccessResult.OTHER_REASON
    six = (*written[0], t.Array())
    assert run(push.set(2, [six])) == DataAccessResult.TYPE_UNMATCHED
    assert len(run(push.get(2))) == 3  # nothing half-written


def test_v1_push_applies_the_restrictions() -> None:
    objects, ldn, _clock, energy, profile = meter()
    notes: list[DataNotification] = []
    push = PushSetupV1(
        push_objects=[(ldn, 2), (profile, 2), (profile, 2), (energy, 2)],
        objects=objects,
        sender=lambda note, origin: notes.append(note),
    )
    push.restrict(1, Restriction(RestrictionType.BY_ENTRY, t.LongUnsigned(2), t.LongUnsigned(3)))
    push.restrict(2, Restriction(RestrictionType.BY_DATE, t.OctetString(stamp(4)), t.OctetString(stamp(5))))
    # a restriction on an attribute without selective access is ignored
    push.restrict(3, Restriction(RestrictionType.BY_ENTRY, t.LongUnsigned(1), t.LongUnsigned(1)))
    with pytest.raises(IndexError):
        push.restrict(4, Restriction())
    assert run(push.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    body = notes[0].body
    assert body[0] == b"MMM0000012345678"
    assert [int(row[1]) for row in body[1]] == [101, 102]
    assert [int(row[1]) for row in body[2]] == [104, 105]
    assert body[3] == t.DoubleLongUnsigned(100)
    assert apdu.decode(apdu.encode(notes[0])) == notes[0]


def test_v2_attributes_get_and_set() -> None:
    push = PushSetupV2()
    assert enc(run(push.get(7))) == hexbytes("02 03 12 00 00 12 00 00 12 00 00")
    assert enc(run(push.get(11))) == hexbytes("16 00")
    assert enc(run(push.get(12))) == hexbytes("02 02 09 0C" + NO_DATE.hex() + " 06 00 00 00 00")
    assert enc(run(push.get(13))) == hexbytes("09 0C") + NO_DATE
    delay = (t.LongUnsigned(10), t.LongUnsigned(2), t.LongUnsigned(50))
    assert run(push.set(7, delay)) == DataAccessResult.SUCCESS
    assert enc(run(push.get(7))) == hexbytes("02 03 12 00 0A 12 00 02 12 00 32")
    assert run(push.set(7, t.LongUnsigned(60))) == DataAccessResult.TYPE_UNMATCHED
    assert run(push.set(6, t.Unsigned(4))) == DataAccessResult.SUCCESS
    assert push.retry_delays() == [10, 20, 40, 50]
    assert run(push.set(7, (t.LongUnsigned(10), t.LongUnsigned(0), t.LongUnsigned(0)))) == DataAccessResult.SUCCESS
    assert push.retry_delays() == [10, 10, 10, 10]
    assert run(push.set(11, t.Enum(PushOperationMethod.CONFIRMED))) == DataAccessResult.SUCCESS
    assert enc(run(push.get(11))) == hexbytes("16 02")
    assert run(push.set(11, t.Enum(3))) == DataAccessResult.OTHER_REASON
    assert run(push.set(11, t.Unsigned(1))) == DataAccessResult.TYPE_UNMATCHED
    assert enc(run(push.get(11))) == hexbytes("16 02")
    start = stamp(0)
    assert run(push.set(12, (start, t.DoubleLongUnsigned(86400)))) == DataAccessResult.SUCCESS
    assert enc(run(push.get(12))) == hexbytes("02 02 09 0C") + start + hexbytes("06 00 01 51 80")
    # the date-time type gurux-dlms writes is accepted too
    typed = t.DateTime(start)
    assert run(push.set(12, (typed, t.DoubleLongUnsigned(60)))) == DataAccessResult.SUCCESS
    assert run(push.set(12, (bytes(11), t.DoubleLongUnsigned(60)))) == DataAccessResult.TYPE_UNMATCHED
    # last_confirmation_date_time is the server's to write
    assert AccessRights().check_set(push, 13) is DataAccessResult.READ_WRITE_DENIED
    push.confirmed(stamp(3))
    assert enc(run(push.get(13))) == hexbytes("09 0C") + stamp(3)


def test_v2_elements_carry_columns_and_push_only_those() -> None:
    objects, ldn, clock, energy, profile = meter()
    notes: list[DataNotification] = []
    push = PushSetupV2(objects=objects, sender=lambda note, origin: notes.append(note))
    energy_column = (t.LongUnsigned(3), bytes(energy.logical_name), t.Integer(2), t.LongUnsigned(0))
    clock_column = (t.LongUnsigned(8), bytes(clock.logical_name), t.Integer(2), t.LongUnsigned(0))
    elements = [
        (t.LongUnsigned(1), bytes(ldn.logical_name), t.Integer(2), t.LongUnsigned(0), (t.Enum(0), None), []),
        (
            t.LongUnsigned(7), bytes(profile.logical_name), t.Integer(2), t.LongUnsigned(0),
            (t.Enum(2), (t.LongUnsigned(5), t.LongUnsigned(6))), [energy_column],
        ),
        (
            t.LongUnsigned(7), bytes(profile.logical_name), t.Integer(2), t.LongUnsigned(0),
            (t.Enum(1), (stamp(0), stamp(1))), [energy_column, clock_column],
        ),
        (t.LongUnsigned(7), bytes(profile.logical_name), t.Integer(2), t.LongUnsigned(0), (t.Enum(0), None), [energy_column]),
        # a column the profile does not capture: that value is pushed as null-data
        (
            t.LongUnsigned(7), bytes(profile.logical_name), t.Integer(2), t.LongUnsigned(0),
            (t.Enum(2), (t.LongUnsigned(1), t.LongUnsigned(1))), [(t.LongUnsigned(1), bytes(ldn.logical_name), t.Integer(2), t.LongUnsigned(0))],
        ),
    ]  # fmt: skip
    assert run(push.set(2, elements)) == DataAccessResult.SUCCESS
    listed = run(push.get(2))
    assert [len(e) for e in listed] == [6] * 5
    assert enc(listed[1]) == hexbytes(
        "02 06 12 00 07 09 06 01 00 63 01 00 FF 0F 02 12 00 00 02 02 16 02 02 02 12 00 05 12 00 06"
        " 01 01 02 04 12 00 03 09 06 01 00 01 08 00 FF 0F 02 12 00 00"
    )
    assert run(push.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    body = notes[0].body
    assert body[0] == b"MMM0000012345678"
    assert body[1] == [(t.DoubleLongUnsigned(104),), (t.DoubleLongUnsigned(105),)]
    assert body[2] == [(t.DoubleLongUnsigned(100), stamp(0)), (t.DoubleLongUnsigned(101), stamp(1))]
    assert [row[0] for row in body[3]] == [t.DoubleLongUnsigned(100 + h) for h in range(6)]
    assert body[4] == t.NullData()
    # 4- and 5-member elements are accepted and read back with 6
    five = (*elements[1][:5],)
    assert run(push.set(2, [five, elements[0][:4]])) == DataAccessResult.SUCCESS
    assert [len(e) for e in run(push.get(2))] == [6, 6]
    assert run(push.get(2))[1][4:] == ((t.Enum(0), t.NullData()), [])


def test_v2_reset_forgets_confirmations_and_restarts_invoke_ids() -> None:
    notes: list[DataNotification] = []
    push = PushSetupV2(sender=lambda note, origin: notes.append(note))
    push.push_object_list = t.Array()
    for _ in range(2):
        assert run(push.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    push.confirmed(stamp(5))
    assert run(push.action(2, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert enc(run(push.get(13))) == hexbytes("09 0C") + NO_DATE
    assert run(push.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert [n.long_invoke_id for n in notes] == [1, 2, 1]
    assert run(push.action(2, t.Unsigned(0))) == (ActionResult.TYPE_UNMATCHED, None)
    # version 0 and 1 have no reset
    assert run(PushSetup().action(2, t.Integer(0))) == (ActionResult.OBJECT_UNDEFINED, None)
    assert run(PushSetupV1().action(2, t.Integer(0))) == (ActionResult.OBJECT_UNDEFINED, None)
