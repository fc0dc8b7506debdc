"""Push setup (40): attributes as the worked examples write them, and the push
method building the data-notification from push_object_list."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from dlmsmesh import apdu, axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import (
    ActionRequestNormal,
    ActionResult,
    AttributeDescriptor,
    CaptureObject,
    DataAccessResult,
    DataNotification,
    MethodDescriptor,
    SetRequestNormal,
)
from dlmsmesh.cosem import (
    AccessRights,
    Clock,
    Data,
    Ipv6Setup,
    ObjectList,
    PushSetup,
    Register,
    SecuritySetup,
    TcpUdpSetup,
    TransportService,
)

from .helpers import hexbytes

CET = dt.timezone(dt.timedelta(hours=1))
LN = t.Obis("0.0.25.9.0.255")
PREFIX = "C1 01 C1 00 28 00 00 19 09 00 FF"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def set_request(attribute_id: int, value: Any) -> bytes:
    return apdu.encode(SetRequestNormal(AttributeDescriptor(40, LN, attribute_id), value))


def c11_objects() -> tuple[Data, Clock]:
    ldn = Data("0.0.42.0.0.255", b"GRX0000000000001")
    clock = Clock(now=lambda: dt.datetime(2024, 3, 15, 12, 30, 45, tzinfo=CET), time_zone=-60)
    return ldn, clock


def test_class_id_version_and_tables() -> None:
    assert (PushSetup.class_id, PushSetup.version) == (40, 0)
    assert list(PushSetup.attribute_specs()) == [1, 2, 3, 4, 5, 6, 7]
    assert list(PushSetup.method_specs()) == [1]


def test_attribute_values_match_the_worked_set_examples() -> None:
    ldn, clock = c11_objects()
    push = PushSetup(destination="[2001:db8::1]:4059", transport=TransportService.UDP)
    # C6: the push_object_list written as a list of capture object definitions
    c6 = [
        (t.LongUnsigned(40), LN, t.Integer(1), t.LongUnsigned(0)),
        (t.LongUnsigned(1), t.Obis("0.0.42.0.0.255"), t.Integer(2), t.LongUnsigned(0)),
        (t.LongUnsigned(8), t.Obis("0.0.1.0.0.255"), t.Integer(2), t.LongUnsigned(0)),
    ]
    c6_value = [tuple(bytes(m) if isinstance(m, t.Obis) else m for m in row) for row in c6]
    assert run(push.set(2, c6_value)) == DataAccessResult.SUCCESS
    assert set_request(2, run(push.get(2))) == hexbytes(
        PREFIX + " 02 00 01 03 02 04 12 00 28 09 06 00 00 19 09 00 FF 0F 01 12 00 00 02 04 12 00 01 09 06 00 00"
        " 2A 00 00 FF 0F 02 12 00 00 02 04 12 00 08 09 06 00 00 01 00 00 FF 0F 02 12 00 00"
    )
    assert push.push_objects[1] == CaptureObject(1, t.Obis("0.0.42.0.0.255"), 2, 0)
    # C7
    assert set_request(3, run(push.get(3))) == hexbytes(
        PREFIX + " 03 00 02 03 16 01 09 12 5B 32 30 30 31 3A 64 62 38 3A 3A 31 5D 3A 34 30 35 39 16 00"
    )
    assert push.destination == b"[2001:db8::1]:4059"
    # C8: one daily window 00:00-06:00
    start = hexbytes("FF FF FF FF FF 00 00 00 FF 80 00 FF")
    end = hexbytes("FF FF FF FF FF 06 00 00 FF 80 00 FF")
    assert run(push.set(4, [(start, end)])) == DataAccessResult.SUCCESS
    assert set_request(4, run(push.get(4))) == hexbytes(
        PREFIX + " 04 00 01 01 02 02 09 0C" + start.hex() + "09 0C" + end.hex()
    )
    # C9
    assert run(push.set(5, t.LongUnsigned(30))) == DataAccessResult.SUCCESS
    assert run(push.set(6, t.Unsigned(3))) == DataAccessResult.SUCCESS
    assert run(push.set(7, t.LongUnsigned(60))) == DataAccessResult.SUCCESS
    assert set_request(5, run(push.get(5))) == hexbytes(PREFIX + " 05 00 12 00 1E")
    assert set_request(6, run(push.get(6))) == hexbytes(PREFIX + " 06 00 11 03")
    assert set_request(7, run(push.get(7))) == hexbytes(PREFIX + " 07 00 12 00 3C")
    assert push.retry_delays() == [60, 60, 60]


def test_defaults_and_type_checks() -> None:
    push = PushSetup()
    assert axdr.encode(run(push.get(1))) == hexbytes("09 06 00 00 19 09 00 FF")
    assert axdr.encode(run(push.get(2))) == hexbytes("01 00")
    assert axdr.encode(run(push.get(3))) == hexbytes("02 03 16 01 09 00 16 00")
    assert axdr.encode(run(push.get(4))) == hexbytes("01 00")
    assert [axdr.encode(run(push.get(i))) for i in (5, 6, 7)] == [
        hexbytes("12 00 00"),
        hexbytes("11 00"),
        hexbytes("12 00 00"),
    ]
    assert push.retry_delays() == [] and push.client_sap == 0x66
    assert run(push.set(2, [(t.LongUnsigned(1), b"\x00" * 6, t.Integer(2))])) == DataAccessResult.TYPE_UNMATCHED
    assert run(push.set(3, (t.Enum(1), b"x"))) == DataAccessResult.TYPE_UNMATCHED
    assert run(push.set(4, [(bytes(12), bytes(11))])) == DataAccessResult.TYPE_UNMATCHED
    assert run(push.set(5, t.Unsigned(30))) == DataAccessResult.TYPE_UNMATCHED
    assert run(push.set(6, t.LongUnsigned(3))) == DataAccessResult.TYPE_UNMATCHED
    assert run(push.set(7, t.DoubleLongUnsigned(60))) == DataAccessResult.TYPE_UNMATCHED
    rights = AccessRights()
    assert rights.check_set(push, 1) is DataAccessResult.READ_WRITE_DENIED
    assert all(rights.check_set(push, i) is None for i in range(2, 8))


def test_push_sends_the_worked_data_notification() -> None:
    ldn, clock = c11_objects()
    sent: list[tuple[DataNotification, PushSetup]] = []

    async def sender(note: DataNotification, origin: PushSetup) -> None:
        sent.append((note, origin))

    push = PushSetup(sender=sender)
    push = PushSetup(push_objects=[(push, 1), (ldn, 2), (clock, 2)], sender=sender)
    # C10: the ACTION that triggers it
    request = ActionRequestNormal(MethodDescriptor(40, LN, 1), t.Integer(0))
    assert apdu.encode(request) == hexbytes("C3 01 C1 00 28 00 00 19 09 00 FF 01 01 0F 00")
    assert run(push.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert len(sent) == 1 and sent[0][1] is push
    # C11
    assert apdu.encode(sent[0][0]) == hexbytes(
        "0F 00 00 00 01 00 02 03 09 06 00 00 19 09 00 FF 09 10 47 52 58 30 30 30 30 30 30 30 30 30 30 30 30 31"
        " 09 0C 07 E8 03 0F 05 0C 1E 2D 00 FF C4 00"
    )
    assert run(push.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert sent[1][0].long_invoke_id == 2
    assert run(push.action(1, t.Unsigned(0))) == (ActionResult.TYPE_UNMATCHED, None)


def test_push_resolves_written_definitions_in_the_object_list() -> None:
    ldn, clock = c11_objects()
    register = Register("1.0.1.8.0.255", t.DoubleLongUnsigned(7), scaler=-1)
    notes: list[DataNotification] = []
    push = PushSetup(
        objects=ObjectList([ldn, clock, register]),
        sender=lambda note, origin: notes.append(note),  # a plain function is fine too
        now=lambda: dt.datetime(2024, 10, 15, 12, 30, tzinfo=dt.timezone.utc),
    )
    definitions = [
        (t.LongUnsigned(3), bytes(register.logical_name), t.Integer(0), t.LongUnsigned(0)),  # whole object
        (t.LongUnsigned(3), bytes(register.logical_name), t.Integer(3), t.LongUnsigned(2)),  # the unit only
        (t.LongUnsigned(3), bytes(t.Obis("1.0.2.8.0.255")), t.Integer(2), t.LongUnsigned(0)),  # not there
        (t.LongUnsigned(1), bytes(ldn.logical_name), t.Integer(9), t.LongUnsigned(0)),  # no such attribute
        (t.LongUnsigned(1), bytes(ldn.logical_name), t.Integer(2), t.LongUnsigned(5)),  # not an array
    ]
    assert run(push.set(2, definitions)) == DataAccessResult.SUCCESS
    assert run(push.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert notes[0].body == (
        (bytes(register.logical_name), t.DoubleLongUnsigned(7), (t.Integer(-1), t.Enum(255))),
        t.Enum(255),
        t.NullData(),
        t.NullData(),
        t.NullData(),
    )
    assert apdu.encode(notes[0])[:19] == hexbytes("0F 00 00 00 01 0C 07 E8 0A 0F 02 0C 1E 00 00 00 00 00 02")


def test_push_without_a_sender_still_succeeds_and_sender_errors_fail() -> None:
    push = PushSetup()
    assert run(push.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)

    def broken(note: DataNotification, origin: PushSetup) -> None:
        raise OSError("network down")

    push.sender = broken
    assert run(push.action(1, t.Integer(0))) == (ActionResult.OTHER_REASON, None)


def test_registration_push_of_the_mesh_profile() -> None:
    """The address registration push (IEC 62056-8-20 profile): push setup name,
    server system title, unicast addresses and UDP port, stamped with the time."""
    security = SecuritySetup(server_system_title=hexbytes("4D4D4D0000BC614E"))
    ipv6 = Ipv6Setup(unicast=["2001:db8:1::212:4b00:1:203"])
    udp = TcpUdpSetup(port=61616)
    notes: list[DataNotification] = []
    registration = PushSetup(
        "0.1.25.9.0.255",
        objects=ObjectList([security, ipv6, udp]),
        destination="[2001:db8:ffff::10]:61616",
        sender=lambda note, origin: notes.append(note),
        now=lambda: dt.datetime(2024, 10, 15, 12, 30, tzinfo=dt.timezone.utc),
    )
    registration.push_object_list = t.Array(
        [
            (t.LongUnsigned(40), bytes(t.Obis("0.1.25.9.0.255")), t.Integer(1), t.LongUnsigned(0)),
            (t.LongUnsigned(64), bytes(t.Obis("0.0.43.0.0.255")), t.Integer(5), t.LongUnsigned(0)),
            (t.LongUnsigned(48), bytes(t.Obis("0.0.25.7.0.255")), t.Integer(4), t.LongUnsigned(0)),
            (t.LongUnsigned(41), bytes(t.Obis("0.0.25.0.0.255")), t.Integer(2), t.LongUnsigned(0)),
        ]
    )
    registration.objects.add(registration)  # type: ignore[union-attr]
    assert run(registration.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert registration.client_sap == 0x66
    assert apdu.encode(notes[0]) == hexbytes(
        "0F 00000001 0C 07E80A0F020C1E0000000000 02 04 09 06 0001190900FF 09 08 4D4D4D0000BC614E"
        " 01 01 09 10 20010DB80001000002124B0000010203 12 F0B0"
    )
