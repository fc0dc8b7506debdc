"""The Client's services against the Server: GET (one, with-list with mixed
results, chunked to the meter's PDU size, selective access), SET and ACTION
(one and with-list), and long messages both ways (GET datablocks, SET
datablocks, ACTION pblocks, general-block-transfer replies)."""

from __future__ import annotations

from typing import Any

import pytest

from dlmsmesh.apdu_model import CaptureObject, entry_descriptor, range_descriptor
from dlmsmesh.client.errors import ActionReadWriteDenied, ObjectUndefined, ReadWriteDenied, TypeUnmatched
from dlmsmesh.server import Meter
from dlmsmesh.types import DoubleLongUnsigned, Enum, Integer, Long, OctetString, Structure, Unsigned
from dlmsmesh.xdlms_initiate import Conformance

from .loopback_support import ECHO, PASSWORD, SCRATCH, TITLE, loopback, make_meter, record

LDN = (1, "0.0.42.0.0.255", 2)
CLOCK = (8, "0.0.1.0.0.255", 2)
TIME_ZONE = (8, "0.0.1.0.0.255", 3)
CLOCK_NAME = (8, "0.0.1.0.0.255", 1)
IMPORT = (3, "1.0.1.8.0.255", 2)
IMPORT_SCALER = (3, "1.0.1.8.0.255", 3)
CAPTURE_PERIOD = (7, "1.0.99.1.0.255", 4)
PROFILE = (7, "1.0.99.1.0.255", 2)
MISSING = (1, "0.0.96.1.0.255", 2)
CLOCK_ADJUST = (8, "0.0.1.0.0.255", 1)
REGISTER_RESET = (3, "1.0.1.8.0.255", 1)
NOON = bytes.fromhex("07EA0C05060C000000000000")
FIRST_ROW_TIME = bytes.fromhex("07EA0B050400000000000000")
ROWS = 2929
CLOCK_COLUMN = CaptureObject(8, "0.0.1.0.0.255", 2)
EXPORT_COLUMN = CaptureObject(3, "1.0.2.8.0.255", 2)
LLS: dict[str, Any] = {"client_sap": 1, "auth": "lls", "password": PASSWORD}
GET_WITH_LIST, SET_WITH_LIST, ACTION_WITH_LIST = b"\xc0\x03", b"\xc1\x04", b"\xc3\x03"


def check_profile(rows: Any) -> None:
    assert len(rows) == ROWS
    assert rows[0][0] == FIRST_ROW_TIME and rows[-1][0] == NOON
    imports = [int(r[1]) for r in rows]
    assert imports == sorted(imports) and imports[-1] == 19285521


def lls_meter(**kwargs: Any) -> Meter:
    return make_meter(authentication="lls", secret=PASSWORD, **kwargs)


# ------------------------------------------------------------------------ GET


@pytest.mark.asyncio
async def test_get_one_attribute_and_its_failure() -> None:
    async with loopback() as lb, lb.client.associate(TITLE) as meter:
        assert await meter.get(LDN) == b"MMM0000012345678"
        assert await meter.get(CLOCK) == NOON
        assert await meter.get(IMPORT) == DoubleLongUnsigned(19285521)
        assert await meter.get(IMPORT_SCALER) == (Integer(0), Enum(30))
        with pytest.raises(ObjectUndefined):
            await meter.get(MISSING)
        # the association goes on after a failure
        assert await meter.get(TIME_ZONE) == Long(0)


@pytest.mark.asyncio
async def test_get_many_gives_a_result_per_item_failures_as_exception_objects() -> None:
    async with loopback() as lb, lb.client.associate(TITLE) as meter:
        sent = record(lb.client)
        results = await meter.get_many([LDN, MISSING, TIME_ZONE, IMPORT_SCALER])
        assert results[0] == b"MMM0000012345678"
        assert isinstance(results[1], ObjectUndefined)
        assert results[2:] == [Long(0), (Integer(0), Enum(30))]
        assert [p[:2] for p in sent] == [GET_WITH_LIST]  # one request for all four


@pytest.mark.asyncio
async def test_get_many_is_chunked_to_the_meters_pdu_size() -> None:
    attributes = [LDN, TIME_ZONE, MISSING, IMPORT, CAPTURE_PERIOD] * 8
    async with loopback(server_pdu=96) as lb, lb.client.associate(TITLE) as meter:
        assert meter.send_limit == 96
        sent = record(lb.client)
        results = await meter.get_many(attributes)
        assert len(results) == 40
        for i in range(0, 40, 5):
            assert results[i] == b"MMM0000012345678" and results[i + 1] == Long(0)
            assert isinstance(results[i + 2], ObjectUndefined)
            assert results[i + 3] == DoubleLongUnsigned(19285521) and results[i + 4] == DoubleLongUnsigned(900)
        lists = [p for p in sent if p[:2] == GET_WITH_LIST]
        assert len(lists) >= 3 and all(len(p) <= 96 for p in sent)
        # every attribute asked exactly once
        assert sum(p[3] for p in lists) + len(sent) - len(lists) >= 40


@pytest.mark.asyncio
async def test_selective_access_by_entry_with_selected_columns() -> None:
    async with loopback() as lb, lb.client.associate(TITLE) as meter:
        rows = await meter.get(PROFILE, entry_descriptor(1, 3, 2, 3))
        assert rows == [
            (DoubleLongUnsigned(19172483), DoubleLongUnsigned(19032838)),
            (DoubleLongUnsigned(19172536), DoubleLongUnsigned(19032883)),
            (DoubleLongUnsigned(19172572), DoubleLongUnsigned(19032883)),
        ]
        assert await meter.get(PROFILE, entry_descriptor(ROWS, ROWS, 1, 1)) == [(NOON,)]


@pytest.mark.asyncio
async def test_selective_access_by_range_with_selected_columns() -> None:
    start = OctetString(bytes.fromhex("07EA0C05FF0B000000000000"))  # 11:00
    end = OctetString(NOON)
    async with loopback() as lb, lb.client.associate(TITLE) as meter:
        rows = await meter.get(PROFILE, range_descriptor(CLOCK_COLUMN, start, end, (CLOCK_COLUMN, EXPORT_COLUMN)))
        assert [bytes(r[0])[5:7] for r in rows] == [bytes([11, m]) for m in (0, 15, 30, 45)] + [bytes([12, 0])]
        assert [int(r[1]) for r in rows] == [19170137, 19170154, 19170182, 19170197, 19170225]
        whole = await meter.get(PROFILE, range_descriptor(CLOCK_COLUMN, end, end))
        assert len(whole) == 1 and len(whole[0]) == 3 and int(whole[0][2]) == 19170225


# ------------------------------------------------------------ SET and ACTION


@pytest.mark.asyncio
async def test_set_and_set_many() -> None:
    async with loopback(lls_meter()) as lb, lb.client.associate(TITLE, **LLS) as meter:
        await meter.set(TIME_ZONE, Long(60))
        assert await meter.get(TIME_ZONE) == Long(60)
        with pytest.raises(TypeUnmatched):
            await meter.set(TIME_ZONE, Unsigned(1))
        with pytest.raises(ReadWriteDenied):
            await meter.set(CLOCK_NAME, OctetString(bytes(6)))
        sent = record(lb.client)
        results = await meter.set_many([
            (TIME_ZONE, Long(-60)), (CLOCK_NAME, OctetString(bytes(6))), (CAPTURE_PERIOD, DoubleLongUnsigned(600)),
            (MISSING, Unsigned(1)),
        ])  # fmt: skip
        assert results[0] is None and results[2] is None
        assert isinstance(results[1], ReadWriteDenied) and isinstance(results[3], ObjectUndefined)
        assert [p[:2] for p in sent] == [SET_WITH_LIST]
        assert await meter.get_many([TIME_ZONE, CAPTURE_PERIOD]) == [Long(-60), DoubleLongUnsigned(600)]


@pytest.mark.asyncio
async def test_public_client_may_not_write() -> None:
    async with loopback() as lb, lb.client.associate(TITLE) as meter:
        with pytest.raises(ReadWriteDenied):
            await meter.set(TIME_ZONE, Long(60))
        assert await meter.get(TIME_ZONE) == Long(0)


@pytest.mark.asyncio
async def test_action_and_action_many() -> None:
    async with loopback(lls_meter(scratch=True)) as lb, lb.client.associate(TITLE, **LLS) as meter:
        assert await meter.action(CLOCK_ADJUST, Integer(0)) is None
        assert await meter.action(ECHO, OctetString(b"hello")) == b"hello"
        sent = record(lb.client)
        results = await meter.action_many([(CLOCK_ADJUST, Integer(0)), (REGISTER_RESET, Integer(0)),
                                           (ECHO, Unsigned(7))])  # fmt: skip
        assert results[0] is None and isinstance(results[1], ActionReadWriteDenied) and results[2] == Unsigned(7)
        assert [p[:2] for p in sent] == [ACTION_WITH_LIST]
        with pytest.raises(ActionReadWriteDenied):
            await meter.action(REGISTER_RESET, Integer(0))


# ------------------------------------------------------------- long messages


@pytest.mark.asyncio
async def test_long_get_reply_in_datablocks() -> None:
    async with loopback(make_meter(gbt=False), server_pdu=256) as lb, lb.client.associate(TITLE) as meter:
        sent = record(lb.client)
        check_profile(await meter.get(PROFILE))
        assert sum(p[:2] == b"\xc0\x02" for p in sent) > 100  # get-request-next for each block


@pytest.mark.asyncio
async def test_long_get_with_list_reply_in_datablocks() -> None:
    async with loopback(make_meter(gbt=False), server_pdu=256) as lb, lb.client.associate(TITLE) as meter:
        results = await meter.get_many([LDN, PROFILE, TIME_ZONE, MISSING])
        assert results[0] == b"MMM0000012345678" and results[2] == Long(0)
        check_profile(results[1])
        assert isinstance(results[3], ObjectUndefined)


@pytest.mark.asyncio
@pytest.mark.parametrize("limit", [{"server_pdu": 256}, {"max_pdu_size": 256}], ids=["server-pdu", "client-pdu"])
async def test_long_get_reply_in_gbt(limit: dict[str, Any]) -> None:
    async with loopback(**limit) as lb, lb.client.associate(TITLE) as meter:
        sent = record(lb.client)
        check_profile(await meter.get(PROFILE))
        assert sum(p[:1] == b"\xe0" for p in sent) > 100  # a GBT ack per block (window 1)
        # the association goes on: a short GET after the long one
        assert await meter.get(LDN) == b"MMM0000012345678"


@pytest.mark.asyncio
async def test_long_set_request_in_datablocks() -> None:
    value = OctetString(bytes(range(256)) * 4)
    async with loopback(lls_meter(scratch=True), server_pdu=128) as lb, lb.client.associate(TITLE, **LLS) as meter:
        sent = record(lb.client)
        await meter.set(SCRATCH, value)
        assert sum(p[:2] in (b"\xc1\x02", b"\xc1\x03") for p in sent) > 8 and all(len(p) <= 128 for p in sent)
        assert await meter.get(SCRATCH) == value
        # a structure too
        shaped = Structure([OctetString(bytes(300)), Long(5)])
        await meter.set(SCRATCH, shaped)
        assert await meter.get(SCRATCH) == shaped


@pytest.mark.asyncio
async def test_long_action_request_in_pblocks() -> None:
    value = OctetString(bytes(range(200)) * 3)
    async with loopback(lls_meter(scratch=True), server_pdu=128) as lb, lb.client.associate(TITLE, **LLS) as meter:
        sent = record(lb.client)
        assert await meter.action(ECHO, value) == value
        assert sum(p[:2] in (b"\xc3\x04", b"\xc3\x06") for p in sent) > 4 and all(len(p) <= 128 for p in sent)


@pytest.mark.asyncio
async def test_set_many_and_action_many_are_chunked_one_long_item_in_datablocks() -> None:
    long_value = OctetString(bytes(range(250)))
    writes: list[tuple[Any, Any]] = [(TIME_ZONE, Long(i)) for i in range(10)] + [(SCRATCH, long_value)]
    writes += [(CAPTURE_PERIOD, DoubleLongUnsigned(600 + i)) for i in range(10)]
    async with loopback(lls_meter(scratch=True), server_pdu=96) as lb, lb.client.associate(TITLE, **LLS) as meter:
        sent = record(lb.client)
        assert await meter.set_many(writes) == [None] * 21
        assert all(len(p) <= 96 for p in sent) and sum(p[:2] == SET_WITH_LIST for p in sent) >= 2
        assert await meter.get_many([TIME_ZONE, SCRATCH, CAPTURE_PERIOD]) == [Long(9), long_value,
                                                                            DoubleLongUnsigned(609)]  # fmt: skip
        sent.clear()
        calls: list[tuple[Any, Any]] = [(ECHO, Unsigned(i)) for i in range(12)] + [(ECHO, long_value)]
        calls.append((REGISTER_RESET, Integer(0)))
        results = await meter.action_many(calls)
        assert results[:12] == [Unsigned(i) for i in range(12)] and results[12] == long_value
        assert isinstance(results[13], ActionReadWriteDenied)
        assert all(len(p) <= 96 for p in sent) and sum(p[:2] == ACTION_WITH_LIST for p in sent) >= 2


@pytest.mark.asyncio
async def test_long_action_reply_in_pblocks() -> None:
    value = OctetString(bytes(range(200)) * 3)
    meter = lls_meter(scratch=True, gbt=False)
    async with loopback(meter, server_pdu=128) as lb, lb.client.associate(TITLE, **LLS) as opened:
        sent = record(lb.client)
        assert await opened.action(ECHO, value) == value
        assert sum(p[:2] == b"\xc3\x02" for p in sent) >= 4  # action-request-next-pblock
        # with-list: the results in pblocks too
        results = await opened.action_many([(ECHO, value), (REGISTER_RESET, Integer(0)), (ECHO, Long(3))])
        assert results[0] == value and isinstance(results[1], ActionReadWriteDenied) and results[2] == Long(3)
        assert await opened.get(LDN) == b"MMM0000012345678"


@pytest.mark.asyncio
async def test_without_multiple_references_the_many_forms_ask_one_by_one() -> None:
    meter = lls_meter(scratch=True, withhold=Conformance.MULTIPLE_REFERENCES)
    async with loopback(meter) as lb, lb.client.associate(TITLE, **LLS) as opened:
        assert not opened.conformance & Conformance.MULTIPLE_REFERENCES
        sent = record(lb.client)
        results = await opened.get_many([LDN, MISSING, TIME_ZONE])
        assert results[0] == b"MMM0000012345678" and isinstance(results[1], ObjectUndefined)
        assert results[2] == Long(0)
        written = await opened.set_many([(TIME_ZONE, Long(5)), (CLOCK_NAME, OctetString(bytes(6)))])
        assert written[0] is None and isinstance(written[1], ReadWriteDenied)
        assert await opened.action_many([(ECHO, Long(1)), (ECHO, Long(2))]) == [Long(1), Long(2)]
        assert [p[:2] for p in sent][:3] == [b"\xc0\x01"] * 3
        assert not {GET_WITH_LIST, SET_WITH_LIST, ACTION_WITH_LIST} & {p[:2] for p in sent}
