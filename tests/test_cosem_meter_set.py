"""The default meter's objects: every object at its OBIS with its class and
version, values as exact A-XDR bytes, a month of generated load profile read
whole and by range and entry, determinism from the system title, the public
client's read-only view, and the registration push of the mesh profile's
worked example (IEC 62056-8-20 registration as this library builds it)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import pytest

from dlmsmesh import apdu, axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import (
    ActionResult,
    AttributeDescriptor,
    CaptureObject,
    DataAccessResult,
    MethodDescriptor,
    entry_descriptor,
    range_descriptor,
)
from dlmsmesh.cosem import MeterObjects, default_meter, dispatch, logical_device_name
from dlmsmesh.cosem.meter_set import MANAGEMENT_CLIENT, PUBLIC_CLIENT

from .helpers import hexbytes

UTC = dt.timezone.utc
TITLE = bytes.fromhex("4D4D4D0000BC614E")
NOW = dt.datetime(2024, 10, 15, 12, 30, tzinfo=UTC)
CLOCK = CaptureObject(8, t.Obis("0.0.1.0.0.255"), 2)
IMPORT = CaptureObject(3, t.Obis("1.0.1.8.0.255"), 2)
EXPORT = CaptureObject(3, t.Obis("1.0.2.8.0.255"), 2)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def meter(title: bytes = TITLE, moment: dt.datetime = NOW, **options: Any) -> MeterObjects:
    return default_meter(title, now=lambda: moment, **options)


def device(m: MeterObjects) -> Any:
    return m.logical_devices[1]


def get_bytes(
    m: MeterObjects, obis: str, attribute_id: int, client: int = MANAGEMENT_CLIENT, access: Any = None
) -> bytes:
    association = m.associations[client]
    obj = association.objects.get(obis)
    assert obj is not None, obis
    descriptor = AttributeDescriptor(obj.class_id, t.Obis(obis), attribute_id, access=access)
    value = run(dispatch.get(association.objects, descriptor, association.rights))
    assert not isinstance(value, DataAccessResult), (obis, attribute_id, value)
    return axdr.encode(value)


def stamp(moment: dt.datetime) -> t.OctetString:
    return t.OctetString(bytes(t.DateTime.from_datetime(moment, clock_status=0)))


EXPECTED = {
    "0.0.1.0.0.255": (8, 0),
    "0.0.42.0.0.255": (1, 0),
    "0.0.43.1.0.255": (1, 0),
    "1.0.1.8.0.255": (3, 0),
    "1.0.2.8.0.255": (3, 0),
    "1.0.99.1.0.255": (7, 1),
    "0.0.41.0.0.255": (17, 0),
    "0.0.43.0.0.255": (64, 1),
    "0.0.25.7.0.255": (48, 0),
    "0.0.25.0.0.255": (41, 0),
    "0.1.25.9.0.255": (40, 0),
    "0.0.25.9.0.255": (40, 0),
    "0.0.40.0.1.255": (15, 2),
    "0.0.40.0.2.255": (15, 2),
}


def test_every_object_at_its_obis_with_its_class_and_version() -> None:
    m = meter()
    assert set(m.logical_devices) == {1}
    found = {str(obj.logical_name): (obj.class_id, obj.version) for obj in device(m)}
    assert found == EXPECTED
    for client in (PUBLIC_CLIENT, MANAGEMENT_CLIENT):
        current = m.associations[client].objects.get("0.0.40.0.0.255")
        assert current is not None and (current.class_id, current.version) == (15, 2)


def test_logical_device_name_format() -> None:
    assert logical_device_name(TITLE) == b"MMM0000012345678"
    assert logical_device_name(bytes.fromhex("4752580000000001")) == b"GRX0000000000001"
    assert logical_device_name(bytes.fromhex("4D4D4DFFFFFFFFFF")) == b"MMM1099511627775"  # 13 digits suffice
    assert logical_device_name(bytes.fromhex("0102030405060708")) == b"0102030405060708"
    with pytest.raises(ValueError):
        logical_device_name(b"short")


def test_clock_ldn_invocation_counter_and_registers_as_bytes() -> None:
    m = meter(counter=lambda: 0x10)
    assert get_bytes(m, "0.0.1.0.0.255", 2) == hexbytes("09 0C 07 E8 0A 0F 02 0C 1E 00 00 00 00 00")
    assert get_bytes(m, "0.0.42.0.0.255", 2) == hexbytes("09 10") + b"MMM0000012345678"
    assert get_bytes(m, "0.0.43.1.0.255", 2) == hexbytes("06 00 00 00 10")
    # scaler 0, unit Wh (30)
    assert get_bytes(m, "1.0.1.8.0.255", 3) == hexbytes("02 02 0F 00 16 1E")
    assert get_bytes(m, "1.0.2.8.0.255", 3) == hexbytes("02 02 0F 00 16 1E")
    imp = get_bytes(m, "1.0.1.8.0.255", 2)
    exp = get_bytes(m, "1.0.2.8.0.255", 2)
    assert imp[0] == exp[0] == 0x06 and len(imp) == len(exp) == 5
    # at a quarter boundary the registers read what the profile's last row holds
    last = m.load_profile.rows[-1]
    assert int.from_bytes(imp[1:], "big") == last[1] and int.from_bytes(exp[1:], "big") == last[2]
    assert last[0] == stamp(NOW)


def test_registers_grow_between_quarters_and_never_decrease() -> None:
    values = []
    for minutes in range(0, 61, 5):
        m = meter(moment=NOW + dt.timedelta(minutes=minutes))
        values.append((int(m.import_energy.value), int(m.export_energy.value)))
    assert all(a[0] <= b[0] and a[1] <= b[1] for a, b in zip(values, values[1:]))
    assert values[-1][0] > values[0][0]


def test_profile_capture_objects_period_and_a_month_of_rows() -> None:
    m = meter()
    assert get_bytes(m, "1.0.99.1.0.255", 3) == hexbytes(
        "01 03 02 04 12 00 08 09 06 00 00 01 00 00 FF 0F 02 12 00 00"
        " 02 04 12 00 03 09 06 01 00 01 08 00 FF 0F 02 12 00 00"
        " 02 04 12 00 03 09 06 01 00 02 08 00 FF 0F 02 12 00 00"
    )
    assert get_bytes(m, "1.0.99.1.0.255", 4) == hexbytes("06 00 00 03 84")
    # 30 whole days plus today's quarters 00:00 .. 12:30 inclusive
    today = 12 * 4 + 2 + 1
    assert run(m.load_profile.get(7)) == 2880 + today
    rows = m.load_profile.rows
    first = dt.datetime(2024, 9, 15, tzinfo=UTC)
    assert rows[0][0] == stamp(first) and rows[2880][0] == stamp(dt.datetime(2024, 10, 15, tzinfo=UTC))
    whole = run(m.load_profile.get(2))
    assert len(whole) == 2880 + today
    imports = [int(row[1]) for row in whole]
    exports = [int(row[2]) for row in whole]
    assert all(a <= b for a, b in zip(imports, imports[1:])) and imports[-1] > imports[0]
    assert all(a <= b for a, b in zip(exports, exports[1:]))
    assert [row[0] for row in whole[:3]] == [stamp(first + dt.timedelta(minutes=15 * i)) for i in range(3)]


def test_profile_read_by_range_and_by_entry() -> None:
    m = meter()
    rows = m.load_profile.rows
    day = dt.datetime(2024, 10, 1, tzinfo=UTC)
    access = range_descriptor(CLOCK, stamp(day), stamp(day + dt.timedelta(hours=1)), (IMPORT,))
    got = run(m.load_profile.get(2, access.selector, access.parameters))
    start = 16 * 96  # 2024-09-15 + 16 days
    assert got == [(rows[start + i][1],) for i in range(5)]
    # the same through dispatch, as bytes: array of 5 structures of one double-long-unsigned
    encoded = get_bytes(m, "1.0.99.1.0.255", 2, PUBLIC_CLIENT, access)
    assert encoded[:2] == hexbytes("01 05") and encoded[2:5] == hexbytes("02 01 06") and len(encoded) == 2 + 5 * 7
    access = entry_descriptor(2881, 2884, 2, 3)
    got = run(m.load_profile.get(2, access.selector, access.parameters))
    assert got == [(rows[i][1], rows[i][2]) for i in range(2880, 2884)]
    access = entry_descriptor(2931, 0)
    assert run(m.load_profile.get(2, access.selector, access.parameters)) == [rows[-1]]


def every_readable_attribute(m: MeterObjects) -> list[bytes]:
    out = []
    for client in (PUBLIC_CLIENT, MANAGEMENT_CLIENT):
        association = m.associations[client]
        for obj in association.objects:
            for index in obj.attribute_specs():
                if association.rights.check_get(obj, index) is None:
                    value = run(obj.get(index))
                    out.append(value.name.encode() if isinstance(value, DataAccessResult) else axdr.encode(value))
    return out


def test_same_title_and_time_give_the_same_bytes_other_titles_differ() -> None:
    assert every_readable_attribute(meter()) == every_readable_attribute(meter())
    other = meter(bytes.fromhex("4D4D4D0000BC614F"))
    for obis in ("0.0.42.0.0.255", "1.0.1.8.0.255", "1.0.2.8.0.255"):
        assert get_bytes(meter(), obis, 2) != get_bytes(other, obis, 2)
    assert meter().load_profile.rows[100] != other.load_profile.rows[100]


def test_the_public_client_can_set_nothing_and_run_nothing() -> None:
    m = meter()
    public = m.associations[PUBLIC_CLIENT]
    checked = 0
    for obj in public.objects:
        for index in obj.attribute_specs():
            current = run(obj.get(index))
            value = t.NullData() if isinstance(current, DataAccessResult) else current
            descriptor = AttributeDescriptor(obj.class_id, obj.logical_name, index)
            result = run(dispatch.set(public.objects, descriptor, value, public.rights))
            assert result is DataAccessResult.READ_WRITE_DENIED, (obj, index)
            checked += 1
        for index in obj.method_specs():
            md = MethodDescriptor(obj.class_id, obj.logical_name, index)
            assert run(dispatch.action(public.objects, md, t.Integer(0), public.rights))[0] is (
                ActionResult.READ_WRITE_DENIED
            )
    assert checked > 40
    # the management client may set the clock
    management = m.associations[MANAGEMENT_CLIENT]
    descriptor = AttributeDescriptor(8, t.Obis("0.0.1.0.0.255"), 2)
    assert run(dispatch.set(management.objects, descriptor, stamp(NOW), management.rights)) is DataAccessResult.SUCCESS


def names_in_object_list(m: MeterObjects, client: int) -> list[str]:
    value = axdr.decode(get_bytes(m, "0.0.40.0.0.255", 2, client))
    return [str(t.Obis(bytes(element[2]))) for element in value]


def test_object_lists_per_association() -> None:
    m = meter()
    assert names_in_object_list(m, PUBLIC_CLIENT) == [
        "0.0.1.0.0.255",
        "0.0.42.0.0.255",
        "0.0.43.1.0.255",
        "1.0.1.8.0.255",
        "1.0.2.8.0.255",
        "1.0.99.1.0.255",
        "0.0.41.0.0.255",
        "0.0.40.0.0.255",
        "0.0.40.0.1.255",
    ]
    assert names_in_object_list(m, MANAGEMENT_CLIENT) == [*EXPECTED, "0.0.40.0.0.255"]
    # the public object_list says read-only everywhere: {3, 1.0.1.8.0.255, attrs 1-3 read-only, reset no access}
    assert hexbytes(
        "02 04 12 00 03 11 00 09 06 01 00 01 08 00 FF 02 02 01 03 02 03 0F 01 16 01 00 02 03 0F 02 16 01 00"
        " 02 03 0F 03 16 01 00 01 01 02 02 0F 01 16 00"
    ) in get_bytes(m, "0.0.40.0.0.255", 2, PUBLIC_CLIENT)


def test_current_association_reaches_the_clients_own_instance() -> None:
    m = meter(authentication="hls-gmac", policy=0x20)
    # associated_partners_id {16, 1} and {1, 1}
    assert get_bytes(m, "0.0.40.0.0.255", 3, PUBLIC_CLIENT) == hexbytes("02 02 0F 10 12 00 01")
    assert get_bytes(m, "0.0.40.0.0.255", 3, MANAGEMENT_CLIENT) == hexbytes("02 02 0F 01 12 00 01")
    assert get_bytes(m, "0.0.40.0.0.255", 1, PUBLIC_CLIENT) == hexbytes("09 06 00 00 28 00 00 FF")
    # mechanism 2.16.756.5.8.2.5 (HLS-GMAC) and context LN with ciphering for the management client
    assert get_bytes(m, "0.0.40.0.0.255", 6, MANAGEMENT_CLIENT) == hexbytes(
        "02 07 11 02 11 10 12 02 F4 11 05 11 08 11 02 11 05"
    )
    assert get_bytes(m, "0.0.40.0.0.255", 4, MANAGEMENT_CLIENT)[-1] == 3
    assert get_bytes(m, "0.0.40.0.0.255", 6, PUBLIC_CLIENT)[-1] == 0
    assert get_bytes(m, "0.0.43.0.0.255", 5) == hexbytes("09 08") + TITLE
    assert get_bytes(m, "0.0.43.0.0.255", 2) == hexbytes("16 20")
    with pytest.raises(ValueError):
        default_meter(TITLE, authentication="kerberos")


def test_registration_push_is_the_worked_example() -> None:
    m = meter(addresses=["2001:db8:1::212:4b00:1:203"], push_destination="[2001:db8:ffff::10]:61616")
    sent: list[bytes] = []
    m.registration_push.sender = lambda note, setup: sent.append(apdu.encode(note))
    assert run(m.registration_push.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    assert sent == [
        hexbytes(
            "0F 00 00 00 01 0C 07 E8 0A 0F 02 0C 1E 00 00 00 00 00"
            " 02 04 09 06 00 01 19 09 00 FF 09 08 4D 4D 4D 00 00 BC 61 4E"
            " 01 01 09 10 20 01 0D B8 00 01 00 00 02 12 4B 00 00 01 02 03 12 F0 B0"
        )
    ]
    assert len(sent[0]) == 61
    assert m.registration_push.client_sap == 0x66
    assert get_bytes(m, "0.1.25.9.0.255", 3) == hexbytes("02 03 16 01 09 19") + b"[2001:db8:ffff::10]:61616" + (
        hexbytes("16 00")
    )


def test_default_address_is_link_local_from_the_system_title() -> None:
    m = meter()
    assert get_bytes(m, "0.0.25.7.0.255", 4) == hexbytes("01 01 09 10 FE 80 00 00 00 00 00 00") + TITLE
    assert get_bytes(m, "0.0.25.0.0.255", 2) == hexbytes("12 F0 B0")
    assert get_bytes(m, "0.0.41.0.0.255", 2) == hexbytes("01 01 02 02 12 00 01 09 10") + b"MMM0000012345678"


def test_identification_push_carries_its_name_the_ldn_and_the_clock() -> None:
    m = meter()
    sent: list[bytes] = []
    m.push.sender = lambda note, setup: sent.append(apdu.encode(note))
    assert run(m.push.action(1, t.Integer(0))) == (ActionResult.SUCCESS, None)
    # the layout of the IEC 62056-6-2 push example: no date-time, structure of 3
    assert sent == [
        hexbytes("0F 00 00 00 01 00 02 03 09 06 00 00 19 09 00 FF 09 10")
        + b"MMM0000012345678"
        + hexbytes("09 0C 07 E8 0A 0F 02 0C 1E 00 00 00 00 00")
    ]


def test_energy_registers_are_never_reset() -> None:
    m = meter()
    management = m.associations[MANAGEMENT_CLIENT]
    md = MethodDescriptor(3, t.Obis("1.0.1.8.0.255"), 1)
    assert run(dispatch.action(management.objects, md, t.Integer(0), management.rights)) == (
        ActionResult.READ_WRITE_DENIED,
        None,
    )
    assert run(m.import_energy.action(1, t.Integer(0))) == (ActionResult.READ_WRITE_DENIED, None)


@pytest.mark.interop
def test_gurux_reads_the_object_lists_and_the_values() -> None:
    gx = pytest.importorskip("gurux_dlms")
    from gurux_dlms.enums import AccessMode, MethodAccessMode
    from gurux_dlms.internal._GXCommon import _GXCommon
    from gurux_dlms.internal._GXDataInfo import _GXDataInfo

    m = meter()
    for client in (PUBLIC_CLIENT, MANAGEMENT_CLIENT):
        data = get_bytes(m, "0.0.40.0.0.255", 2, client)
        parsed = gx.GXDLMSClient(True).parseObjects(gx.GXByteBuffer(data), True)
        assert [(int(p.objectType), p.logicalName, p.version) for p in parsed] == [
            (obj.class_id, str(obj.logical_name), obj.version) for obj in m.associations[client].objects
        ]
        if client == PUBLIC_CLIENT:
            clock = parsed[0]
            assert [clock.getAccess(i) for i in range(1, 10)] == [AccessMode.READ] * 9
            assert clock.getMethodAccess(1) == MethodAccessMode.NO_ACCESS
    # every value the public client reads parses whole in gurux-dlms
    public = m.associations[PUBLIC_CLIENT]
    for obj in public.objects:
        for index in obj.attribute_specs():
            value = run(obj.get(index))
            if isinstance(value, DataAccessResult):
                continue
            data = axdr.encode(value)
            info = _GXDataInfo()
            buf = gx.GXByteBuffer(data)
            _GXCommon.getData(gx.GXDLMSSettings(False, None), buf, info)
            assert info.complete and buf.position == len(data), (obj, index)
