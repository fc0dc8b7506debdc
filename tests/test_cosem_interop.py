"""The COSEM objects as gurux-dlms 1.0.203 (a GPL test oracle, imported only
here) reads them: its client parses our object_list to the right classes,
versions and access, and its object models take every attribute value we
serve (``GXDLMSClient.updateValue``), to the same meaning.

Peer deviations asserted: gurux-dlms's GXDLMSPushSetup defaults to version 2
and then reads 6 members per push_object_list element, so a client must take
the version from the object_list (0 here) first; gurux-dlms holds the
conformance block bit-reversed (0x00121D on the wire is its 0xB84800)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dlmsmesh import axdr
from dlmsmesh import types as t
from dlmsmesh.apdu_model import DataAccessResult
from dlmsmesh.cosem import (
    AccessRights,
    AssociationLN,
    CosemObject,
    Data,
    DemandRegister,
    Ipv6Setup,
    MethodAccess,
    ObjectList,
    PushSetup,
    Register,
    SapAssignment,
    ScriptAction,
    ScriptTable,
    SecuritySetup,
    TcpUdpSetup,
    Unit,
    action_spec,
)

pytestmark = pytest.mark.interop

gx = pytest.importorskip("gurux_dlms")
from gurux_dlms.enums import AccessMode, MethodAccessMode  # noqa: E402
from gurux_dlms.internal._GXCommon import _GXCommon  # noqa: E402
from gurux_dlms.internal._GXDataInfo import _GXDataInfo  # noqa: E402
from gurux_dlms.objects import (  # noqa: E402
    GXDLMSAssociationLogicalName,
    GXDLMSDemandRegister,
    GXDLMSIp6Setup,
    GXDLMSPushSetup,
    GXDLMSSapAssignment,
    GXDLMSScriptTable,
    GXDLMSSecuritySetup,
    GXDLMSTcpUdpSetup,
)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def gurux_value(value: Any) -> Any:
    info = _GXDataInfo()
    data = axdr.encode(value)
    buf = gx.GXByteBuffer(data)
    parsed = _GXCommon.getData(gx.GXDLMSSettings(False, None), buf, info)
    assert info.complete and buf.position == len(data)
    return parsed


def fed(peer: Any, ours: CosemObject) -> Any:
    """The gurux-dlms object after reading every readable attribute of ours."""
    client = gx.GXDLMSClient(True)
    peer.version = ours.version
    for index in ours.attribute_specs():
        value = run(ours.get(index))
        if not isinstance(value, DataAccessResult):
            client.updateValue(peer, index, gurux_value(value))
    return peer


def test_gurux_parses_the_object_list() -> None:
    objects = ObjectList()
    rights = AccessRights()
    association = objects.add(AssociationLN(objects=objects, rights=rights))
    register = objects.add(Register("1.0.1.8.0.255", t.DoubleLongUnsigned(5), scaler=-3, unit=Unit.WATT_HOUR))
    rights.grant(register, methods={1: MethodAccess.NO_ACCESS})
    for obj in (
        PushSetup(objects=objects),
        SecuritySetup(server_system_title=bytes(8)),
        Ipv6Setup(),
        TcpUdpSetup(),
        SapAssignment(devices=[(1, b"X")]),
        ScriptTable("0.0.10.0.100.255", objects),
        DemandRegister("1.0.1.4.0.255"),
    ):
        objects.add(obj)
    parsed = gx.GXDLMSClient(True).parseObjects(gx.GXByteBuffer(axdr.encode(run(association.get(2)))), True)
    assert [(int(p.objectType), p.logicalName, p.version) for p in parsed] == [
        (obj.class_id, str(obj.logical_name), obj.version) for obj in objects
    ]
    peer_assoc, peer_register = parsed[0], parsed[1]
    assert peer_assoc.getAccess(7) == AccessMode.WRITE and peer_assoc.getAccess(2) == AccessMode.READ
    assert peer_register.getMethodAccess(1) == MethodAccessMode.NO_ACCESS
    assert [parsed[2].getAccess(i) for i in range(1, 8)] == [AccessMode.READ] + [AccessMode.READ_WRITE] * 6


def test_association_values() -> None:
    association = AssociationLN(
        objects=ObjectList(), conformance=0x00121D, max_receive_pdu_size=1024, mechanism_id=5, context_id=3
    )
    peer = fed(GXDLMSAssociationLogicalName(), association)
    assert (peer.clientSAP, peer.serverSAP) == (16, 1)
    assert peer.applicationContextName.contextId == 3
    assert peer.authenticationMechanismName.mechanismId == 5
    assert peer.xDLMSContextInfo.conformance == 0xB84800  # bit-reversed
    assert peer.xDLMSContextInfo.maxReceivePduSize == 1024
    assert peer.securitySetupReference == "0.0.43.0.0.255"


def test_push_setup_values() -> None:
    ldn = Data("0.0.42.0.0.255", b"GRX0000000000001")
    push = PushSetup(push_objects=[(ldn, 2)], destination="[2001:db8::1]:4059")
    push.number_of_retries = t.Unsigned(3)
    push.repetition_delay = t.LongUnsigned(60)
    peer = fed(GXDLMSPushSetup("0.0.25.9.0.255"), push)
    [(target, capture)] = peer.pushObjectList
    assert (target.logicalName, capture.attributeIndex, capture.dataIndex) == ("0.0.42.0.0.255", 2, 0)
    assert (int(peer.service), peer.destination, int(peer.message)) == (1, "[2001:db8::1]:4059", 0)
    assert (peer.numberOfRetries, peer.repetitionDelay) == (3, 60)


def test_network_and_security_values() -> None:
    ipv6 = Ipv6Setup(unicast=["2001:db8:1::212:4b00:1:203"], multicast=["ff03::1"])
    peer = fed(GXDLMSIp6Setup("0.0.25.7.0.255"), ipv6)
    assert [str(a) for a in peer.unicastIPAddress] == ["2001:db8:1:0:212:4b00:1:203"]
    assert [str(a) for a in peer.multicastIPAddress] == ["ff03::1"]
    udp = fed(GXDLMSTcpUdpSetup(), TcpUdpSetup(port=61616))
    assert (udp.port, udp.ipReference, udp.maximumSegmentSize) == (61616, "0.0.25.7.0.255", 576)
    security = fed(
        GXDLMSSecuritySetup(), SecuritySetup(server_system_title=bytes.fromhex("4D4D4D0000BC614E"), policy=0x6C)
    )
    assert (int(security.securityPolicy), int(security.securitySuite)) == (0x6C, 0)
    assert bytes(security.serverSystemTitle) == bytes.fromhex("4D4D4D0000BC614E")
    sap = fed(GXDLMSSapAssignment(), SapAssignment(devices=[(1, b"GRX1")]))
    assert sap.sapAssignmentList == [(1, "GRX1")]


def test_script_table_and_demand_register_values() -> None:
    ldn = Data("0.0.42.0.0.255", b"GRX0000000000001")
    table = ScriptTable(
        "0.0.10.0.100.255", ObjectList([ldn]), {1: [action_spec(ScriptAction.WRITE_ATTRIBUTE, ldn, 2, b"X")]}
    )
    peer = fed(GXDLMSScriptTable("0.0.10.0.100.255"), table)
    [script] = peer.scripts
    [action] = script.actions
    assert (script.id, int(action.type_), action.target.logicalName, action.index, bytes(action.parameter)) == (
        1, 1, "0.0.42.0.0.255", 2, b"X",
    )  # fmt: skip
    demand = DemandRegister("1.0.1.4.0.255", t.DoubleLongUnsigned(7), scaler=-1, unit=Unit.WATT, period=60)
    peer = fed(GXDLMSDemandRegister("1.0.1.4.0.255"), demand)
    assert (peer.currentAverageValue, peer.lastAverageValue, peer.unit, peer.period, peer.numberOfPeriods) == (
        7, 0, 27, 60, 1,
    )  # fmt: skip
    assert peer.scaler == pytest.approx(0.1)
