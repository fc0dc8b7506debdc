"""TCP-UDP setup (41) and IPv6 setup (48): attributes as the worked examples
write them, type checks, access, and the add/remove address methods."""

from __future__ import annotations

import asyncio
import ipaddress
from typing import Any

import pytest

from dlmsmesh import apdu, axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import (
    ActionRequestNormal,
    ActionResult,
    AttributeDescriptor,
    DataAccessResult,
    MethodDescriptor,
    SetRequestNormal,
)
from dlmsmesh.cosem import AccessRights, AddressConfigMode, Ipv6AddressType, Ipv6Setup, TcpUdpSetup

from .helpers import hexbytes

LINK_LOCAL = "fe80::212:4b00:1:203"
GLOBAL = "2001:db8:1::212:4b00:1:203"


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def set_request(obj: Any, attribute_id: int) -> bytes:
    value = run(obj.get(attribute_id))
    return apdu.encode(SetRequestNormal(AttributeDescriptor(obj.class_id, obj.logical_name, attribute_id), value))


def test_tcp_udp_setup_matches_the_worked_example() -> None:
    assert (TcpUdpSetup.class_id, TcpUdpSetup.version) == (41, 0)
    assert list(TcpUdpSetup.attribute_specs()) == [1, 2, 3, 4, 5, 6] and not TcpUdpSetup.method_specs()
    setup = TcpUdpSetup()
    # C16
    assert set_request(setup, 2) == hexbytes("C1 01 C1 00 29 00 00 19 00 00 FF 02 00 12 0F DB")
    assert set_request(setup, 3) == hexbytes("C1 01 C1 00 29 00 00 19 00 00 FF 03 00 09 06 00 00 19 07 00 FF")
    assert axdr.encode(run(setup.get(4))) == hexbytes("12 02 40")
    assert axdr.encode(run(setup.get(5))) == hexbytes("11 01")
    assert axdr.encode(run(setup.get(6))) == hexbytes("12 00 B4")
    mesh = TcpUdpSetup(port=61616)
    assert axdr.encode(run(mesh.get(2))) == hexbytes("12 F0 B0")


def test_tcp_udp_setup_set_and_access() -> None:
    setup = TcpUdpSetup()
    assert run(setup.set(2, t.LongUnsigned(61616))) == DataAccessResult.SUCCESS and setup.tcp_udp_port == 61616
    assert run(setup.set(2, t.Unsigned(1))) == DataAccessResult.TYPE_UNMATCHED
    assert run(setup.set(3, b"\x00" * 5)) == DataAccessResult.TYPE_UNMATCHED
    assert run(setup.set(5, t.LongUnsigned(2))) == DataAccessResult.TYPE_UNMATCHED
    assert run(setup.set(1, b"\x00" * 6)) == DataAccessResult.READ_WRITE_DENIED
    rights = AccessRights()
    assert rights.check_set(setup, 1) is DataAccessResult.READ_WRITE_DENIED
    assert all(rights.check_set(setup, i) is None for i in range(2, 7))
    assert AccessRights(default_read_only=True).check_set(setup, 2) is DataAccessResult.READ_WRITE_DENIED


def test_ipv6_setup_addresses_match_the_worked_example() -> None:
    assert (Ipv6Setup.class_id, Ipv6Setup.version) == (48, 0)
    assert list(Ipv6Setup.attribute_specs()) == list(range(1, 11))
    assert list(Ipv6Setup.method_specs()) == [1, 2]
    setup = Ipv6Setup(unicast=[LINK_LOCAL, ipaddress.IPv6Address(GLOBAL)], multicast=["ff03::1"])
    # C13
    assert set_request(setup, 4) == hexbytes(
        "C1 01 C1 00 30 00 00 19 07 00 FF 04 00 01 02 09 10 FE 80 00 00 00 00 00 00 02 12 4B 00 00 01 02 03"
        " 09 10 20 01 0D B8 00 01 00 00 02 12 4B 00 00 01 02 03"
    )
    assert axdr.encode(run(setup.get(5))) == hexbytes("01 01 09 10 FF 03 00 00 00 00 00 00 00 00 00 00 00 00 00 01")
    assert setup.addresses(Ipv6AddressType.MULTICAST) == [ipaddress.IPv6Address("ff03::1")]
    assert axdr.encode(run(setup.get(2))) == hexbytes("09 06 00 00 00 00 00 00")
    assert axdr.encode(run(setup.get(3))) == hexbytes("16 00")
    assert axdr.encode(run(setup.get(6))) == hexbytes("01 00")
    assert axdr.encode(run(setup.get(7))) == hexbytes("09 00")
    assert axdr.encode(run(setup.get(8))) == hexbytes("09 00")
    assert axdr.encode(run(setup.get(9))) == hexbytes("11 00")
    assert axdr.encode(run(setup.get(10))) == hexbytes("01 00")


def test_ipv6_setup_set_type_checks() -> None:
    setup = Ipv6Setup()
    # C15
    assert run(setup.set(10, [(t.Unsigned(3), t.LongUnsigned(1000), t.DoubleLongUnsigned(3600))])) == (
        DataAccessResult.SUCCESS
    )
    assert set_request(setup, 10) == hexbytes(
        "C1 01 C1 00 30 00 00 19 07 00 FF 0A 00 01 01 02 03 11 03 12 03 E8 06 00 00 0E 10"
    )
    assert run(setup.set(10, [(t.Unsigned(3), t.LongUnsigned(1000))])) == DataAccessResult.TYPE_UNMATCHED
    assert run(setup.set(3, t.Enum(AddressConfigMode.MANUAL))) == DataAccessResult.SUCCESS
    assert run(setup.set(3, t.Unsigned(2))) == DataAccessResult.TYPE_UNMATCHED
    assert run(setup.set(4, [bytes(15)])) == DataAccessResult.TYPE_UNMATCHED
    assert run(setup.set(5, [ipaddress.IPv6Address("ff02::1").packed])) == DataAccessResult.SUCCESS
    assert run(setup.set(7, ipaddress.IPv6Address("2001:db8::53").packed)) == DataAccessResult.SUCCESS
    assert run(setup.set(7, b"")) == DataAccessResult.SUCCESS
    assert run(setup.set(8, bytes(4))) == DataAccessResult.TYPE_UNMATCHED
    assert run(setup.set(9, t.Unsigned(0xB8))) == DataAccessResult.SUCCESS and setup.traffic_class == 0xB8
    rights = AccessRights()
    assert rights.check_set(setup, 1) is DataAccessResult.READ_WRITE_DENIED
    assert all(rights.check_set(setup, i) is None for i in range(2, 11))
    with pytest.raises(ValueError):
        Ipv6Setup(unicast=["10.0.0.1"])


def test_add_and_remove_ipv6_address() -> None:
    setup = Ipv6Setup(unicast=[LINK_LOCAL])
    packed = ipaddress.IPv6Address(GLOBAL).packed
    # C14
    request = ActionRequestNormal(MethodDescriptor(48, setup.logical_name, 1), (t.Enum(0), packed))
    assert apdu.encode(request) == hexbytes(
        "C3 01 C1 00 30 00 00 19 07 00 FF 01 01 02 02 16 00 09 10 20 01 0D B8 00 01 00 00 02 12 4B 00 00 01 02 03"
    )
    assert run(setup.action(1, (t.Enum(0), packed))) == (ActionResult.SUCCESS, None)
    assert setup.addresses(Ipv6AddressType.UNICAST) == [
        ipaddress.IPv6Address(LINK_LOCAL),
        ipaddress.IPv6Address(GLOBAL),
    ]
    assert run(setup.action(1, (t.Enum(0), packed))) == (ActionResult.SUCCESS, None)
    assert len(setup.unicast_ipv6_addresses) == 2
    group = ipaddress.IPv6Address("ff03::fc").packed
    assert run(setup.action(1, (t.Enum(1), group))) == (ActionResult.SUCCESS, None)
    assert run(setup.action(1, (t.Enum(2), ipaddress.IPv6Address("fe80::1").packed))) == (ActionResult.SUCCESS, None)
    assert setup.addresses(Ipv6AddressType.MULTICAST) == [ipaddress.IPv6Address("ff03::fc")]
    assert setup.addresses(Ipv6AddressType.GATEWAY) == [ipaddress.IPv6Address("fe80::1")]
    assert run(setup.action(2, (t.Enum(1), group))) == (ActionResult.SUCCESS, None)
    assert setup.addresses(Ipv6AddressType.MULTICAST) == []
    assert run(setup.action(2, (t.Enum(1), group))) == (ActionResult.OBJECT_UNAVAILABLE, None)
    assert run(setup.action(1, (t.Enum(3), group))) == (ActionResult.OTHER_REASON, None)
    assert run(setup.action(1, (t.Enum(0), bytes(4)))) == (ActionResult.TYPE_UNMATCHED, None)
    assert run(setup.action(2, (t.Unsigned(0), packed))) == (ActionResult.TYPE_UNMATCHED, None)


def test_watching_the_unicast_addresses_sees_every_change_until_stopped(caplog: pytest.LogCaptureFixture) -> None:
    """CosemObject.watch: a client's SET, the add/remove methods and code
    assigning the attribute each report once; a failing watcher is logged
    and the change stands; stop() ends it."""
    setup = Ipv6Setup(unicast=[LINK_LOCAL])
    seen: list[tuple[Any, int]] = []
    stop = setup.watch(4, lambda obj, attribute_id: seen.append((obj, attribute_id)))
    assert run(setup.set(4, t.Array([t.OctetString(ipaddress.IPv6Address(GLOBAL).packed)]))) == DataAccessResult.SUCCESS
    add = t.Structure((t.Enum(int(Ipv6AddressType.UNICAST)), t.OctetString(ipaddress.IPv6Address(LINK_LOCAL).packed)))
    assert run(setup.action(1, add))[0] == ActionResult.SUCCESS
    setup.unicast_ipv6_addresses = t.Array([])
    assert seen == [(setup, 4)] * 3
    # a refused SET changes nothing and reports nothing; other attributes are not watched
    assert run(setup.set(4, t.Integer(1))) == DataAccessResult.TYPE_UNMATCHED
    setup.multicast_ipv6_addresses = t.Array([])
    assert len(seen) == 3

    def broken(obj: Any, attribute_id: int) -> None:
        raise RuntimeError("watcher bug")

    stop_broken = setup.watch(4, broken)
    setup.unicast_ipv6_addresses = t.Array([t.OctetString(ipaddress.IPv6Address(GLOBAL).packed)])
    assert len(seen) == 4 and "a watcher failed" in caplog.text
    assert [ipaddress.IPv6Address(bytes(a)).compressed for a in setup.unicast_ipv6_addresses] == [
        "2001:db8:1:0:212:4b00:1:203"
    ]
    stop()
    stop_broken()
    setup.unicast_ipv6_addresses = t.Array([])
    assert len(seen) == 4 and not vars(setup).get("_dlmsmesh_watchers")
