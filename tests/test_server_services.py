"""GET, SET and ACTION as the Server runs them: normal and with-list, access
rights (read-only attributes, methods not allowed, objects outside the
association's view), selective access by range and by entry with selected
columns, object_list, unconfirmed requests and conformance."""

from __future__ import annotations

from typing import Any

import pytest

from dlmsmesh import apdu as A
from dlmsmesh import axdr
from dlmsmesh.acse_pdu import AARQ, Mechanism
from dlmsmesh.apdu_model import (
    ActionResult,
    AttributeDescriptor,
    CaptureObject,
    DataAccessResult,
    MethodDescriptor,
    entry_descriptor,
    range_descriptor,
)
from dlmsmesh.transport import Address
from dlmsmesh.types import DoubleLongUnsigned, Integer, Long, LongUnsigned, OctetString, Unsigned
from dlmsmesh.xdlms_initiate import Conformance

from .server_support import (
    AUTHENC,
    CLOCK,
    FULL,
    IMPORT,
    IMPORT_SCALER,
    LDN,
    OTHER_PEER,
    PASSWORD,
    Client,
    client_context,
    initiate,
    make_meter,
    make_server,
    management_client,
    public_client,
)

TIME_ZONE = AttributeDescriptor(8, "0.0.1.0.0.255", 3)
CAPTURE_PERIOD = AttributeDescriptor(7, "1.0.99.1.0.255", 4)
UDP_PORT = AttributeDescriptor(41, "0.0.25.0.0.255", 2)
SYSTEM_TITLE_ATTR = AttributeDescriptor(64, "0.0.43.0.0.255", 5)
OBJECT_LIST = AttributeDescriptor(15, "0.0.40.0.0.255", 2)
CLOCK_ADJUST = MethodDescriptor(8, "0.0.1.0.0.255", 1)
REGISTER_RESET = MethodDescriptor(3, "1.0.1.8.0.255", 1)
NOON = bytes.fromhex("07EA0C05060C000000000000")  # 2026-12-05 (Saturday) 12:00:00 UTC
CLOCK_COLUMN = CaptureObject(8, "0.0.1.0.0.255", 2)
EXPORT_COLUMN = CaptureObject(3, "1.0.2.8.0.255", 2)


async def _management(conformance: Conformance = FULL, max_pdu: int = 1200) -> Client:
    """The management client (1) of an LLS meter: every right, no ciphering."""
    server = make_server(make_meter(authentication="lls", secret=PASSWORD))
    client = Client(server, client_sap=1)
    aare = await client.associate(
        AARQ(user_information=initiate(conformance, max_pdu), mechanism=Mechanism.LOW,
             calling_authentication_value=PASSWORD, sender_acse_requirements="1")
    )  # fmt: skip
    assert aare.accepted
    return client


async def _read(client: Client, descriptor: AttributeDescriptor) -> Any:
    response = await client.request(A.GetRequestNormal(descriptor))
    if isinstance(response, A.GetResponseNormal):
        return response.result
    value, _ = await client.get_blocks(descriptor)
    return value


# ------------------------------------------------------------------------ GET


@pytest.mark.asyncio
async def test_get_normal_values_and_bytes() -> None:
    client = await public_client(make_server())
    reply = await client.send(A.encode(A.GetRequestNormal(CLOCK, invoke_id=5)))
    # get-response-normal, invoke-id 5 high priority, data, octet-string(12)
    assert reply == bytes.fromhex("C401C500090C") + NOON
    assert await client.get(LDN) == b"MMM0000012345678"
    assert await client.get(IMPORT_SCALER) == (Integer(0), 30)  # scaler 0, unit Wh
    assert await client.get(IMPORT) == DoubleLongUnsigned(19285521)


@pytest.mark.asyncio
async def test_get_with_list_mixes_values_and_errors() -> None:
    client = await public_client(make_server())
    request = A.GetRequestWithList(
        (
            LDN,
            AttributeDescriptor(1, "0.0.96.1.0.255", 2),  # no such object
            AttributeDescriptor(3, "0.0.42.0.0.255", 2),  # the LDN is a Data, not a Register
            AttributeDescriptor(1, "0.0.42.0.0.255", 9),  # no attribute 9
            IMPORT_SCALER,
            SYSTEM_TITLE_ATTR,  # management-only object
        ),
        invoke_id=7,
    )
    response = await client.request(request)
    assert isinstance(response, A.GetResponseWithList) and response.invoke_id == 7
    assert list(response.results) == [
        b"MMM0000012345678",
        DataAccessResult.OBJECT_UNDEFINED,
        DataAccessResult.OBJECT_CLASS_INCONSISTENT,
        DataAccessResult.OBJECT_UNDEFINED,
        (Integer(0), 30),
        DataAccessResult.OBJECT_UNDEFINED,
    ]


@pytest.mark.asyncio
async def test_public_client_cannot_see_management_objects() -> None:
    server = make_server()
    public = await public_client(server)
    assert await public.get(SYSTEM_TITLE_ATTR) == DataAccessResult.OBJECT_UNDEFINED
    assert await public.get(AttributeDescriptor(15, "0.0.40.0.2.255", 2)) == DataAccessResult.OBJECT_UNDEFINED
    response = await public.request(A.ActionRequestNormal(MethodDescriptor(64, "0.0.43.0.0.255", 2), []))
    assert response == A.ActionResponseNormal(ActionResult.OBJECT_UNDEFINED)
    response = await public.request(A.SetRequestNormal(UDP_PORT, LongUnsigned(1)))
    assert response == A.SetResponseNormal(DataAccessResult.OBJECT_UNDEFINED)


@pytest.mark.asyncio
async def test_object_list_shows_the_public_view_with_its_rights() -> None:
    client = await public_client(make_server())
    object_list = await _read(client, OBJECT_LIST)
    names = [(int(e[0]), bytes(e[2])) for e in object_list]
    assert names == [
        (8, bytes([0, 0, 1, 0, 0, 255])),
        (1, bytes([0, 0, 42, 0, 0, 255])),
        (1, bytes([0, 0, 43, 1, 0, 255])),
        (3, bytes([1, 0, 1, 8, 0, 255])),
        (3, bytes([1, 0, 2, 8, 0, 255])),
        (7, bytes([1, 0, 99, 1, 0, 255])),
        (17, bytes([0, 0, 41, 0, 0, 255])),
        (15, bytes([0, 0, 40, 0, 0, 255])),
        (15, bytes([0, 0, 40, 0, 1, 255])),
    ]
    clock = object_list[0]
    attributes, methods = clock[3]
    # read-only everywhere (1), no method (0): the public client's rights
    assert {int(a[1]) for a in attributes} == {1} and {int(m[1]) for m in methods} == {0}
    profile = object_list[5]
    assert int(profile[1]) == 1  # Profile generic version 1
    assert list(profile[3][0][1][2]) == [1, 2]  # buffer: selectors 1 (range) and 2 (entry)


@pytest.mark.asyncio
async def test_management_object_list_shows_every_object() -> None:
    client = await _management()
    object_list = await _read(client, OBJECT_LIST)
    names = {bytes(e[2]) for e in object_list}
    assert bytes([0, 0, 43, 0, 0, 255]) in names  # Security setup
    assert bytes([0, 0, 40, 0, 2, 255]) in names  # its own Association LN
    assert len(object_list) >= 15


# ------------------------------------------------------------ selective access


@pytest.mark.asyncio
async def test_entry_selective_access_with_selected_columns() -> None:
    client = await public_client(make_server())
    # entries 1..3, columns 2..3 (import and export)
    rows = await client.get(AttributeDescriptor(7, "1.0.99.1.0.255", 2, entry_descriptor(1, 3, 2, 3)))
    assert rows == [
        (DoubleLongUnsigned(19172483), DoubleLongUnsigned(19032838)),
        (DoubleLongUnsigned(19172536), DoubleLongUnsigned(19032883)),
        (DoubleLongUnsigned(19172572), DoubleLongUnsigned(19032883)),
    ]
    # the last entry, first column only: today's noon row
    last = await client.get(AttributeDescriptor(7, "1.0.99.1.0.255", 2, entry_descriptor(2929, 2929, 1, 1)))
    assert last == [(NOON,)]
    # entries past the end give what exists
    tail = await client.get(AttributeDescriptor(7, "1.0.99.1.0.255", 2, entry_descriptor(2928, 0, 1, 1)))
    assert [bytes(r[0])[5] for r in tail] == [11, 12]  # 11:45 and 12:00


@pytest.mark.asyncio
async def test_range_selective_access_with_selected_columns() -> None:
    client = await public_client(make_server())
    start = OctetString(bytes.fromhex("07EA0C05FF0B000000000000"))  # 11:00, day of week not specified
    end = OctetString(NOON)
    access = range_descriptor(CLOCK_COLUMN, start, end, (CLOCK_COLUMN, EXPORT_COLUMN))
    rows = await client.get(AttributeDescriptor(7, "1.0.99.1.0.255", 2, access))
    assert [bytes(r[0])[5:7] for r in rows] == [bytes([11, m]) for m in (0, 15, 30, 45)] + [bytes([12, 0])]
    assert [int(r[1]) for r in rows] == [19170137, 19170154, 19170182, 19170197, 19170225]
    # every column when none is selected
    rows = await client.get(AttributeDescriptor(7, "1.0.99.1.0.255", 2, range_descriptor(CLOCK_COLUMN, end, end)))
    assert len(rows) == 1 and len(rows[0]) == 3 and rows[0][0] == NOON and int(rows[0][2]) == 19170225


@pytest.mark.asyncio
async def test_selective_access_needs_the_conformance_bit() -> None:
    server = make_server()
    client = Client(server)
    assert (await client.associate(AARQ(user_information=initiate(Conformance.GET)))).accepted
    reply = await client.send(A.encode(A.GetRequestNormal(
        AttributeDescriptor(7, "1.0.99.1.0.255", 2, entry_descriptor(1, 1)))))  # fmt: skip
    assert reply == bytes.fromhex("D80102")  # service-not-supported
    # a plain GET still works; a with-list GET was not negotiated either
    assert await client.get(LDN) == b"MMM0000012345678"
    assert await client.send(A.encode(A.GetRequestWithList((LDN,)))) == bytes.fromhex("D80102")


# ------------------------------------------------------------------------ SET


@pytest.mark.asyncio
async def test_set_normal_changes_what_get_reads() -> None:
    client = await _management()
    assert await client.request(A.SetRequestNormal(TIME_ZONE, Long(60), invoke_id=3)) == A.SetResponseNormal(
        DataAccessResult.SUCCESS, invoke_id=3
    )
    assert await client.get(TIME_ZONE) == Long(60)
    # the wrong type is refused and changes nothing
    assert await client.request(A.SetRequestNormal(TIME_ZONE, Unsigned(1))) == A.SetResponseNormal(
        DataAccessResult.TYPE_UNMATCHED
    )
    assert await client.get(TIME_ZONE) == Long(60)


@pytest.mark.asyncio
async def test_read_only_attribute_refuses_set_with_read_write_denied() -> None:
    client = await _management()
    logical_name = AttributeDescriptor(8, "0.0.1.0.0.255", 1)
    reply = await client.send(A.encode(A.SetRequestNormal(logical_name, OctetString(bytes(6)))))
    assert reply == bytes.fromhex("C501C103")  # set-response-normal read-write-denied
    # the public client's rights are read-only where the class allows writing
    public = await public_client(client.server, source=OTHER_PEER)
    assert await public.request(A.SetRequestNormal(TIME_ZONE, Long(60))) == A.SetResponseNormal(
        DataAccessResult.READ_WRITE_DENIED
    )
    assert await public.get(TIME_ZONE) == Long(0)


@pytest.mark.asyncio
async def test_set_with_list_mixes_results() -> None:
    client = await _management()
    request = A.SetRequestWithList(
        (
            TIME_ZONE,
            AttributeDescriptor(8, "0.0.1.0.0.255", 1),
            CAPTURE_PERIOD,
            AttributeDescriptor(1, "0.0.96.1.0.255", 2),
        ),
        (Long(-60), OctetString(bytes(6)), DoubleLongUnsigned(600), Unsigned(1)),
        invoke_id=9,
    )
    response = await client.request(request)
    assert response == A.SetResponseWithList(
        (DataAccessResult.SUCCESS, DataAccessResult.READ_WRITE_DENIED, DataAccessResult.SUCCESS,
         DataAccessResult.OBJECT_UNDEFINED),
        invoke_id=9,
    )  # fmt: skip
    assert await client.get(TIME_ZONE) == Long(-60)
    assert await client.get(CAPTURE_PERIOD) == DoubleLongUnsigned(600)


# --------------------------------------------------------------------- ACTION


@pytest.mark.asyncio
async def test_action_normal_and_methods_not_allowed() -> None:
    client = await _management()
    reply = await client.send(A.encode(A.ActionRequestNormal(CLOCK_ADJUST, Integer(0), invoke_id=2)))
    assert reply == bytes.fromhex("C701C20000")  # action-response-normal success, no return parameters
    # a method with no such id
    assert await client.request(A.ActionRequestNormal(MethodDescriptor(8, "0.0.1.0.0.255", 99), Integer(0))) == (
        A.ActionResponseNormal(ActionResult.OBJECT_UNDEFINED)
    )
    # this meter's registers are not reset by anyone
    assert await client.request(A.ActionRequestNormal(REGISTER_RESET, Integer(0))) == A.ActionResponseNormal(
        ActionResult.READ_WRITE_DENIED
    )
    # the public client may call no method
    public = await public_client(client.server, source=OTHER_PEER)
    assert await public.request(A.ActionRequestNormal(CLOCK_ADJUST, Integer(0))) == A.ActionResponseNormal(
        ActionResult.READ_WRITE_DENIED
    )


@pytest.mark.asyncio
async def test_action_with_list() -> None:
    client = await _management()
    request = A.ActionRequestWithList(
        (CLOCK_ADJUST, REGISTER_RESET, MethodDescriptor(1, "0.0.96.1.0.255", 1)),
        (Integer(0), Integer(0), Integer(0)),
        invoke_id=4,
    )
    response = await client.request(request)
    assert response == A.ActionResponseWithList(
        ((ActionResult.SUCCESS, None), (ActionResult.READ_WRITE_DENIED, None), (ActionResult.OBJECT_UNDEFINED, None)),
        invoke_id=4,
    )


@pytest.mark.asyncio
async def test_unconfirmed_requests_get_no_answer_but_run() -> None:
    client = await _management()
    request = A.SetRequestNormal(TIME_ZONE, Long(120), service_class=A.ServiceClass.UNCONFIRMED)
    assert await client.send_raw(A.encode(request)) == []
    assert await client.get(TIME_ZONE) == Long(120)


@pytest.mark.asyncio
async def test_services_not_negotiated_are_refused() -> None:
    server = make_server()
    client = Client(server)
    assert (await client.associate(AARQ(user_information=initiate(Conformance.GET)))).accepted
    assert await client.send(A.encode(A.SetRequestNormal(TIME_ZONE, Long(1)))) == bytes.fromhex("D80102")
    assert await client.send(A.encode(A.ActionRequestNormal(CLOCK_ADJUST, Integer(0)))) == bytes.fromhex("D80102")


@pytest.mark.asyncio
async def test_a_response_apdu_sent_as_a_request_is_refused() -> None:
    client = await public_client(make_server())
    reply = await client.send(A.encode(A.GetResponseNormal(NOON)))
    assert reply == bytes.fromhex("D80202")  # service-unknown / service-not-supported


@pytest.mark.asyncio
async def test_garbage_inside_an_association_is_answered_not_raised() -> None:
    server = make_server()
    client = await public_client(server)
    assert await client.send(bytes.fromhex("C001")) == bytes.fromhex("D80103")  # truncated get-request: other-reason
    assert server.stats.malformed == 1 and server.stats.internal_errors == 0
    assert await client.get(LDN) == b"MMM0000012345678"


@pytest.mark.asyncio
async def test_every_attribute_of_the_management_view_reads_and_writes_back() -> None:
    """Each object the object_list names, each attribute as its access right
    says: readable ones give a value, writable ones take their own value
    back; the association secret is write-only (read-write-denied)."""
    client = await _management()
    object_list = await _read(client, OBJECT_LIST)
    classes, reads, writes = set(), 0, 0
    for class_id, _version, name, (attributes, _methods) in object_list:
        classes.add(int(class_id))
        for index, mode, _selectors in attributes:
            descriptor = AttributeDescriptor(int(class_id), bytes(name), int(index))
            value = await _read(client, descriptor)
            if int(mode) in (0, 2):  # no access, write-only
                assert value == DataAccessResult.READ_WRITE_DENIED, descriptor
                continue
            assert not isinstance(value, DataAccessResult), (descriptor, value)
            reads += 1
            if int(mode) == 3:
                assert await client.request(A.SetRequestNormal(descriptor, value)) == A.SetResponseNormal(
                    DataAccessResult.SUCCESS
                ), descriptor
                writes += 1
    assert classes == {1, 3, 7, 8, 15, 17, 40, 41, 48, 64}
    assert reads > 80 and writes > 20
    assert client.server.stats.internal_errors == 0


@pytest.mark.asyncio
async def test_every_attribute_and_method_of_the_public_view_is_read_only() -> None:
    client = await public_client(make_server())
    object_list = await _read(client, OBJECT_LIST)
    for class_id, _version, name, (attributes, methods) in object_list:
        for index, mode, _selectors in attributes:
            descriptor = AttributeDescriptor(int(class_id), bytes(name), int(index))
            value = await _read(client, descriptor)
            if int(mode) == 0:
                assert value == DataAccessResult.READ_WRITE_DENIED
                continue
            assert int(mode) == 1 and not isinstance(value, DataAccessResult), (descriptor, value)
            if len(axdr.encode(value)) > 1000:
                value = []  # the buffer: refused before its type is looked at
            assert await client.request(A.SetRequestNormal(descriptor, value)) == A.SetResponseNormal(
                DataAccessResult.READ_WRITE_DENIED
            ), descriptor
        for index, mode in methods:
            assert int(mode) == 0
            method = MethodDescriptor(int(class_id), bytes(name), int(index))
            assert await client.request(A.ActionRequestNormal(method, Integer(0))) == A.ActionResponseNormal(
                ActionResult.READ_WRITE_DENIED
            ), method


@pytest.mark.asyncio
async def test_refused_unconfirmed_requests_get_no_answer() -> None:
    unconfirmed = A.SetRequestNormal(TIME_ZONE, Long(60), service_class=A.ServiceClass.UNCONFIRMED)
    # a service the association did not negotiate
    server = make_server()
    client = Client(server)
    assert (await client.associate(AARQ(user_information=initiate(Conformance.GET)))).accepted
    assert await client.send_raw(A.encode(unconfirmed)) == []
    # a plain request where the policy asks for protection: not run either
    secured = await management_client(make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC))))
    assert await secured.send_raw(A.encode(unconfirmed)) == []
    assert await secured.get(TIME_ZONE, "glo") == Long(0)
    # an association still waiting for HLS pass 3
    pending = Client(make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC))), client_sap=1,
                     ctx=client_context())  # fmt: skip
    assert (await pending.associate(pending.hls_aarq(Mechanism.HIGH_GMAC))).accepted
    assert pending.ctx is not None
    assert await pending.send_raw(pending.ctx.protect(A.encode(unconfirmed))) == []
    # (a confirmed one is refused out loud)
    assert await pending.request(A.SetRequestNormal(TIME_ZONE, Long(60)), "glo") == A.ExceptionResponse(1, 1)


@pytest.mark.asyncio
async def test_every_method_of_the_management_view_checks_its_parameter() -> None:
    """Each method the object_list names, called with null-data: refused by
    its access right or its parameter type, never by an exception."""
    from dlmsmesh.types import NullData

    client = await _management()
    object_list = await _read(client, OBJECT_LIST)
    called = 0
    for class_id, _version, name, (_attributes, methods) in object_list:
        for index, mode in methods:
            method = MethodDescriptor(int(class_id), bytes(name), int(index))
            response = await client.request(A.ActionRequestNormal(method, NullData()))
            expected = ActionResult.READ_WRITE_DENIED if int(mode) == 0 else ActionResult.TYPE_UNMATCHED
            assert response == A.ActionResponseNormal(expected), method
            called += 1
    assert called > 25 and client.server.stats.internal_errors == 0


@pytest.mark.asyncio
async def test_change_hls_secret_then_associate_with_the_new_one() -> None:
    from dlmsmesh.types import OctetString as Octets

    from .server_support import HLS_SECRET

    server = make_server(make_meter(authentication="hls-sha256", secret=HLS_SECRET))
    client = Client(server, client_sap=1)
    await client.hls_sha256()
    # the current association reports itself associated (attribute 8)
    assert await client.get(AttributeDescriptor(15, "0.0.40.0.0.255", 8)) == 2
    change = MethodDescriptor(15, "0.0.40.0.0.255", 2)
    new_secret = b"another secret, 32 octets long!!"
    assert await client.request(A.ActionRequestNormal(change, Octets(new_secret))) == A.ActionResponseNormal(
        ActionResult.SUCCESS
    )
    await client.release()
    again = Client(server, client_sap=1, source=OTHER_PEER)
    with pytest.raises(AssertionError):
        await again.hls_sha256(HLS_SECRET)
    fresh = Client(server, client_sap=1, source=Address("fd00::4", 1))
    await fresh.hls_sha256(new_secret)
    assert await fresh.get(LDN) == b"MMM0000012345678"
