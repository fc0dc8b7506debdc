"""Long transfers through the Server: GET answered in datablocks, SET and
ACTION requests arriving in datablocks/pblocks, general-block-transfer both
ways (plain and ciphered), and pdu-too-long when nothing was negotiated."""

from __future__ import annotations

from typing import Any

import pytest

from dlmsmesh import apdu as A
from dlmsmesh import axdr
from dlmsmesh.acse_pdu import AARQ, Mechanism
from dlmsmesh.apdu_model import ActionResult, AttributeDescriptor, DataAccessResult, MethodDescriptor
from dlmsmesh.cosem import CosemObject, default_meter, method
from dlmsmesh.server import Meter
from dlmsmesh.types import DoubleLongUnsigned, Integer, Long, OctetString
from dlmsmesh.xdlms_initiate import Conformance

from .server_support import (
    AUTHENC,
    FULL,
    LDN,
    NOW,
    PASSWORD,
    PROFILE,
    TITLE,
    WITH_GBT,
    Client,
    initiate,
    make_meter,
    make_server,
    management_client,
)

TIME_ZONE = AttributeDescriptor(8, "0.0.1.0.0.255", 3)
CAPTURE_PERIOD = AttributeDescriptor(7, "1.0.99.1.0.255", 4)
CLOCK_ADJUST = MethodDescriptor(8, "0.0.1.0.0.255", 1)
NOON = bytes.fromhex("07EA0C05060C000000000000")
FIRST_ROW_TIME = bytes.fromhex("07EA0B050400000000000000")  # 2026-11-05 (Thursday) 00:00
ROWS = 2929


async def _management(conformance: Conformance = FULL, max_pdu: int = 1200, server_pdu: int | None = None) -> Client:
    kwargs: dict[str, Any] = {} if server_pdu is None else {"max_pdu_size": server_pdu}
    server = make_server(make_meter(authentication="lls", secret=PASSWORD), **kwargs)
    client = Client(server, client_sap=1)
    aare = await client.associate(
        AARQ(user_information=initiate(conformance, max_pdu), mechanism=Mechanism.LOW,
             calling_authentication_value=PASSWORD, sender_acse_requirements="1")
    )  # fmt: skip
    assert aare.accepted
    return client


def _check_profile(rows: Any) -> None:
    assert len(rows) == ROWS
    assert rows[0][0] == FIRST_ROW_TIME and rows[-1][0] == NOON
    assert all(len(r) == 3 for r in rows)
    imports = [int(r[1]) for r in rows]
    assert imports == sorted(imports) and imports[-1] == 19285521


# -------------------------------------------------------------- GET in blocks


@pytest.mark.asyncio
async def test_get_in_datablocks_walks_the_whole_profile() -> None:
    client = await _management(max_pdu=256)
    rows, blocks = await client.get_blocks(PROFILE)
    _check_profile(rows)
    # 256-byte APDUs: 243 bytes of raw data each
    assert blocks == -(-len(axdr.encode(rows)) // 243)


@pytest.mark.asyncio
async def test_every_datablock_fits_the_client_pdu_size() -> None:
    client = await _management(max_pdu=128)
    frame = await client.send(A.encode(A.GetRequestNormal(PROFILE)))
    sizes = [len(frame)]
    response = A.decode(frame)
    for _ in range(2000):
        if response.last_block:
            break
        frame = await client.send(A.encode(A.GetRequestNext(response.block_number)))
        sizes.append(len(frame))
        response = A.decode(frame)
    assert response.last_block and max(sizes) <= 128 and len(sizes) > 100


@pytest.mark.asyncio
async def test_get_with_list_in_datablocks() -> None:
    client = await _management(max_pdu=300)
    response = await client.request(A.GetRequestWithList((LDN, PROFILE, TIME_ZONE), invoke_id=3))
    assert isinstance(response, A.GetResponseWithDatablock) and response.invoke_id == 3
    raw = bytearray(response.raw_data)  # type: ignore[arg-type]
    for _ in range(1000):
        if response.last_block:
            break
        response = await client.request(A.GetRequestNext(response.block_number, invoke_id=3))
        raw += response.raw_data  # type: ignore[operator]
    # SEQUENCE OF Get-Data-Result: a count, then (choice 0, Data) for each
    assert raw[0] == 3 and raw[1] == 0
    value, p = axdr.decode_prefix(bytes(raw), 2)
    assert value == b"MMM0000012345678" and raw[p] == 0
    rows, p = axdr.decode_prefix(bytes(raw), p + 1)
    _check_profile(rows)
    assert raw[p] == 0 and axdr.decode(bytes(raw[p + 1 :])) == Long(0)


@pytest.mark.asyncio
async def test_get_next_with_no_transfer_or_the_wrong_block() -> None:
    client = await _management(max_pdu=256)
    # nothing under way
    reply = await client.send(A.encode(A.GetRequestNext(1)))
    assert A.decode(reply) == A.GetResponseWithDatablock(True, 1, DataAccessResult.NO_LONG_GET_IN_PROGRESS)
    assert reply == bytes.fromhex("C402C101000000010110")
    first = await client.request(A.GetRequestNormal(PROFILE))
    assert isinstance(first, A.GetResponseWithDatablock) and first.block_number == 1 and not first.last_block
    # the client asks after a block it never had: the transfer is aborted
    aborted = await client.request(A.GetRequestNext(5))
    assert aborted == A.GetResponseWithDatablock(True, 5, DataAccessResult.LONG_GET_ABORTED)
    assert await client.request(A.GetRequestNext(1)) == A.GetResponseWithDatablock(
        True, 1, DataAccessResult.NO_LONG_GET_IN_PROGRESS
    )


@pytest.mark.asyncio
async def test_get_next_beyond_the_end() -> None:
    client = await _management(max_pdu=1200)
    value, blocks = await client.get_blocks(PROFILE)
    _check_profile(value)
    assert await client.request(A.GetRequestNext(blocks)) == A.GetResponseWithDatablock(
        True, blocks, DataAccessResult.NO_LONG_GET_IN_PROGRESS
    )


@pytest.mark.asyncio
async def test_a_new_get_abandons_the_transfer() -> None:
    client = await _management(max_pdu=256)
    first = await client.request(A.GetRequestNormal(PROFILE))
    assert isinstance(first, A.GetResponseWithDatablock)
    assert await client.get(LDN) == b"MMM0000012345678"
    assert await client.request(A.GetRequestNext(1)) == A.GetResponseWithDatablock(
        True, 1, DataAccessResult.NO_LONG_GET_IN_PROGRESS
    )


@pytest.mark.asyncio
async def test_ciphered_get_in_datablocks_each_block_ciphered() -> None:
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    client = await management_client(server, max_pdu=512)
    assert client.ctx is not None
    frame = await client.send(client.ctx.protect(A.encode(A.GetRequestNormal(PROFILE))))
    assert frame[0] == 0xCC and len(frame) <= 512  # glo-get-response
    rows, blocks = await client.get_blocks(PROFILE, "glo")
    _check_profile(rows)
    assert blocks > 100


@pytest.mark.asyncio
async def test_response_too_long_without_block_transfer_is_pdu_too_long() -> None:
    client = await _management(Conformance.GET | Conformance.SET | Conformance.ACTION)
    assert await client.send(A.encode(A.GetRequestNormal(PROFILE))) == bytes.fromhex("D80104")
    # the association is still usable
    assert await client.get(LDN) == b"MMM0000012345678"


# ------------------------------------------------------ SET and ACTION in blocks


def _cut(data: bytes, size: int) -> list[bytes]:
    return [data[i : i + size] for i in range(0, len(data), size)]


@pytest.mark.asyncio
async def test_set_with_datablocks_first_next_last() -> None:
    client = await _management()
    raw = axdr.encode(Long(-120))  # 10 FF 88
    parts = _cut(raw, 1)
    response = await client.request(A.SetRequestWithFirstDatablock(TIME_ZONE, False, 1, parts[0], invoke_id=6))
    assert response == A.SetResponseDatablock(1, invoke_id=6)
    response = await client.request(A.SetRequestWithDatablock(False, 2, parts[1], invoke_id=6))
    assert response == A.SetResponseDatablock(2, invoke_id=6)
    response = await client.request(A.SetRequestWithDatablock(True, 3, parts[2], invoke_id=6))
    assert response == A.SetResponseLastDatablock(DataAccessResult.SUCCESS, 3, invoke_id=6)
    assert await client.get(TIME_ZONE) == Long(-120)


@pytest.mark.asyncio
async def test_set_datablock_errors() -> None:
    client = await _management()
    # a next block with no transfer
    assert await client.request(A.SetRequestWithDatablock(True, 2, b"\x00")) == A.SetResponseLastDatablock(
        DataAccessResult.NO_LONG_SET_IN_PROGRESS, 2
    )
    # a block number that skips one
    await client.request(A.SetRequestWithFirstDatablock(TIME_ZONE, False, 1, b"\x10"))
    assert await client.request(A.SetRequestWithDatablock(True, 3, b"\x00\x3c")) == A.SetResponseLastDatablock(
        DataAccessResult.DATA_BLOCK_NUMBER_INVALID, 3
    )
    # a first block that is not block 1
    assert await client.request(A.SetRequestWithFirstDatablock(TIME_ZONE, True, 2, b"\x10\x00\x3c")) == (
        A.SetResponseLastDatablock(DataAccessResult.DATA_BLOCK_NUMBER_INVALID, 2)
    )
    # data that is not one A-XDR value
    assert await client.request(A.SetRequestWithFirstDatablock(TIME_ZONE, True, 1, b"\x10\x00")) == (
        A.SetResponseLastDatablock(DataAccessResult.TYPE_UNMATCHED, 1)
    )
    assert await client.get(TIME_ZONE) == Long(0)


@pytest.mark.asyncio
async def test_set_with_list_and_first_datablock() -> None:
    client = await _management()
    # SEQUENCE OF Data: count 2, long 60, double-long-unsigned 600
    raw = bytes([2]) + axdr.encode(Long(60)) + axdr.encode(DoubleLongUnsigned(600))
    parts = _cut(raw, 4)
    response = await client.request(
        A.SetRequestWithListAndFirstDatablock((TIME_ZONE, CAPTURE_PERIOD), False, 1, parts[0])
    )
    assert response == A.SetResponseDatablock(1)
    response = await client.request(A.SetRequestWithDatablock(False, 2, parts[1]))
    assert response == A.SetResponseDatablock(2)
    response = await client.request(A.SetRequestWithDatablock(True, 3, parts[2]))
    assert response == A.SetResponseLastDatablockWithList((DataAccessResult.SUCCESS, DataAccessResult.SUCCESS), 3)
    assert await client.get(TIME_ZONE) == Long(60)
    assert await client.get(CAPTURE_PERIOD) == DoubleLongUnsigned(600)


@pytest.mark.asyncio
async def test_action_with_pblocks_gathered() -> None:
    client = await _management()
    raw = axdr.encode(Integer(0))  # 0F 00
    response = await client.request(A.ActionRequestWithFirstPblock(CLOCK_ADJUST, False, 1, raw[:1], invoke_id=2))
    assert response == A.ActionResponseNextPblock(1, invoke_id=2)
    response = await client.request(A.ActionRequestWithPblock(True, 2, raw[1:], invoke_id=2))
    assert response == A.ActionResponseNormal(ActionResult.SUCCESS, invoke_id=2)
    # a pblock with nothing under way
    assert await client.request(A.ActionRequestWithPblock(True, 3, raw)) == A.ActionResponseNormal(
        ActionResult.NO_LONG_ACTION_IN_PROGRESS
    )


@pytest.mark.asyncio
async def test_action_with_list_and_first_pblock() -> None:
    client = await _management()
    reset = MethodDescriptor(3, "1.0.1.8.0.255", 1)
    raw = bytes([2]) + axdr.encode(Integer(0)) + axdr.encode(Integer(0))
    response = await client.request(A.ActionRequestWithListAndFirstPblock((CLOCK_ADJUST, reset), False, 1, raw[:3]))
    assert response == A.ActionResponseNextPblock(1)
    response = await client.request(A.ActionRequestWithPblock(True, 2, raw[3:]))
    assert response == A.ActionResponseWithList(((ActionResult.SUCCESS, None), (ActionResult.READ_WRITE_DENIED, None)))


# ----------------------------------------------------- general block transfer


async def _gbt_collect(client: Client, frames: list[bytes], window: int = 1, cipher: bool = False) -> tuple[bytes, int]:
    """Walk a GBT response to its end, acknowledging each window: (APDU, blocks)."""
    data = bytearray()
    count = 0
    for _ in range(500):
        last = None
        for frame in frames:
            block = A.decode(frame)
            assert isinstance(block, A.GeneralBlockTransfer)
            count += 1
            assert block.block_number == count
            data += block.block_data
            last = block
        assert last is not None
        if last.last_block:
            assert len(frames) <= window
            return bytes(data), count
        assert not last.streaming  # the last block of a window asks for an ack
        assert len(frames) == window
        ack = A.GeneralBlockTransfer(b"", last_block=False, window=window, block_number=0, block_number_ack=count)
        frames = await client.send_raw(A.encode(ack))
    raise AssertionError("no last block")


@pytest.mark.asyncio
async def test_long_response_as_gbt_with_acks() -> None:
    client = await _management(WITH_GBT, max_pdu=512)
    frames = await client.send_raw(A.encode(A.GetRequestNormal(PROFILE, invoke_id=4)))
    assert len(frames) == 1 and frames[0][0] == 0xE0 and all(len(f) <= 512 for f in frames)
    whole, count = await _gbt_collect(client, frames)
    response = A.decode(whole)
    assert isinstance(response, A.GetResponseNormal) and response.invoke_id == 4
    _check_profile(response.result)
    assert count > 100


@pytest.mark.asyncio
async def test_gbt_window_follows_the_client() -> None:
    client = await _management(WITH_GBT, max_pdu=512)
    # the client's own GBT (an empty ack) announces its window: 4
    await client.send_raw(A.encode(A.GeneralBlockTransfer(b"", last_block=False, window=4, block_number=0)))
    frames = await client.send_raw(A.encode(A.GetRequestNormal(PROFILE)))
    assert len(frames) == 4
    blocks = [A.decode(f) for f in frames]
    assert [b.streaming for b in blocks] == [True, True, True, False]
    whole, _ = await _gbt_collect(client, frames, window=4)
    _check_profile(A.decode(whole).result)


@pytest.mark.asyncio
async def test_gbt_missed_block_is_sent_again() -> None:
    client = await _management(WITH_GBT, max_pdu=512)
    frames = await client.send_raw(A.encode(A.GetRequestNormal(PROFILE)))
    first = A.decode(frames[0])
    again = await client.send_raw(
        A.encode(A.GeneralBlockTransfer(b"", last_block=False, block_number=0, block_number_ack=0))
    )
    assert [A.decode(f) for f in again] == [first]


@pytest.mark.asyncio
async def test_request_sent_in_gbt_blocks() -> None:
    client = await _management(WITH_GBT)
    request = A.encode(A.GetRequestWithList((LDN, TIME_ZONE, CAPTURE_PERIOD), invoke_id=8))
    parts = _cut(request, 10)
    assert len(parts) >= 3
    for n, part in enumerate(parts[:-1], start=1):
        acks = await client.send_raw(A.encode(A.GeneralBlockTransfer(part, last_block=False, block_number=n)))
        assert [A.decode(a) for a in acks] == [
            A.GeneralBlockTransfer(b"", last_block=False, window=1, block_number=0, block_number_ack=n)
        ]
    reply = await client.send(A.encode(A.GeneralBlockTransfer(parts[-1], last_block=True, block_number=len(parts))))
    assert A.decode(reply) == A.GetResponseWithList(
        (b"MMM0000012345678", Long(0), DoubleLongUnsigned(900)), invoke_id=8
    )


@pytest.mark.asyncio
async def test_gbt_out_of_order_block_drops_the_request() -> None:
    client = await _management(WITH_GBT)
    request = A.encode(A.GetRequestNormal(LDN))
    await client.send_raw(A.encode(A.GeneralBlockTransfer(request[:4], last_block=False, block_number=1)))
    assert await client.send_raw(A.encode(A.GeneralBlockTransfer(request[4:], last_block=True, block_number=3))) == []
    # a block 2 now has nothing to continue
    assert await client.send_raw(A.encode(A.GeneralBlockTransfer(request[4:], last_block=True, block_number=2))) == []


@pytest.mark.asyncio
async def test_gbt_not_negotiated_is_refused() -> None:
    client = await _management(FULL)
    reply = await client.send(A.encode(A.GeneralBlockTransfer(A.encode(A.GetRequestNormal(LDN)), block_number=1)))
    assert reply == bytes.fromhex("D80102")


@pytest.mark.asyncio
async def test_ciphered_gbt_both_ways() -> None:
    """Under a policy protecting every APDU, the whole APDU is ciphered and
    then cut: GBT blocks themselves travel plain (mesh-profile.md section 10)."""
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    client = await management_client(server, conformance=WITH_GBT, max_pdu=512)
    assert client.ctx is not None
    ciphered = client.ctx.protect(A.encode(A.GetRequestNormal(PROFILE, invoke_id=2)))
    parts = _cut(ciphered, 8)
    for n, part in enumerate(parts[:-1], start=1):
        acks = await client.send_raw(A.encode(A.GeneralBlockTransfer(part, last_block=False, block_number=n)))
        assert len(acks) == 1 and A.decode(acks[0]).block_number_ack == n
    frames = await client.send_raw(
        A.encode(A.GeneralBlockTransfer(parts[-1], last_block=True, block_number=len(parts)))
    )
    whole, count = await _gbt_collect(client, frames)
    assert whole[0] == 0xCC and count > 100  # glo-get-response, cut after ciphering
    response = A.decode(client.ctx.unprotect(whole).plaintext)
    assert isinstance(response, A.GetResponseNormal) and response.invoke_id == 2
    _check_profile(response.result)
    # a plain request inside GBT blocks is still refused by the policy
    plain = A.encode(A.GetRequestNormal(LDN))
    refused = await client.send(A.encode(A.GeneralBlockTransfer(plain, last_block=True, block_number=1)))
    assert A.decode(client.open(refused)) == A.ExceptionResponse(1, 1)


class _Dump(CosemObject):
    """A custom class whose method 1 returns more than one APDU holds."""

    class_id = 9001
    version = 0

    @method(1, Integer)
    async def dump(self, parameters: Integer) -> OctetString:
        return OctetString(bytes(range(256)) * int(parameters))


def _meter_with_dump() -> Meter:
    objects = default_meter(TITLE, now=lambda: NOW, authentication="lls", secret=PASSWORD)
    dump = _Dump("0.0.96.99.0.255")
    objects.logical_devices[1].add(dump)
    objects.associations[1].objects.add(dump)
    return Meter.from_objects(objects)


DUMP = MethodDescriptor(9001, "0.0.96.99.0.255", 1)


@pytest.mark.asyncio
async def test_long_action_response_in_pblocks() -> None:
    server = make_server(_meter_with_dump())
    client = Client(server, client_sap=1)
    aare = await client.associate(
        AARQ(user_information=initiate(FULL, 256), mechanism=Mechanism.LOW, calling_authentication_value=PASSWORD,
             sender_acse_requirements="1")
    )  # fmt: skip
    assert aare.accepted
    # a short return fits: action-response-normal with its data
    assert await client.request(A.ActionRequestNormal(DUMP, Integer(0))) == A.ActionResponseNormal(
        ActionResult.SUCCESS, OctetString(b"")
    )
    response = await client.request(A.ActionRequestNormal(DUMP, Integer(8), invoke_id=5))
    assert isinstance(response, A.ActionResponseWithPblock) and response.block_number == 1 and response.invoke_id == 5
    raw = bytearray(response.raw_data)
    blocks = 1
    for _ in range(100):
        if response.last_block:
            break
        response = await client.request(A.ActionRequestNextPblock(response.block_number, invoke_id=5))
        assert isinstance(response, A.ActionResponseWithPblock)
        blocks += 1
        assert response.block_number == blocks
        raw += response.raw_data
    assert response.last_block and blocks == -(-len(raw) // (256 - 13))
    # the blocks carry the action-response-normal after its invoke-id
    whole = A.encode(A.ActionResponseNormal(ActionResult.SUCCESS, OctetString(bytes(range(256)) * 8), invoke_id=5))
    assert bytes(raw) == whole[3:]
    # the last block's answer lost: asked again after the block before, it comes again
    again = await client.request(A.ActionRequestNextPblock(blocks - 1, invoke_id=5))
    assert again == response
    # nothing left to walk
    assert await client.request(A.ActionRequestNextPblock(blocks)) == A.ActionResponseNormal(
        ActionResult.NO_LONG_ACTION_IN_PROGRESS
    )
    assert await client.request(A.ActionRequestNextPblock(blocks)) == A.ActionResponseNormal(
        ActionResult.NO_LONG_ACTION_IN_PROGRESS
    )


@pytest.mark.asyncio
async def test_pre_established_client_long_reply_in_gbt() -> None:
    from dlmsmesh.server import PRE_ESTABLISHED_CLIENT

    from .server_support import client_context

    server = make_server(make_meter())
    ctx = client_context()
    client = Client(server, client_sap=PRE_ESTABLISHED_CLIENT, ctx=ctx)
    frames = await client.send_raw(ctx.protect(A.encode(A.GetRequestNormal(PROFILE, invoke_id=9)), general=True))
    assert frames[0][0] == 0xE0 and all(len(f) <= 1224 for f in frames)
    whole, count = await _gbt_collect(client, frames)
    assert whole[0] == 0xDB and count > 50  # general-glo-ciphering, cut after ciphering
    response = A.decode(ctx.unprotect(whole).plaintext)
    assert isinstance(response, A.GetResponseNormal) and response.invoke_id == 9
    _check_profile(response.result)


@pytest.mark.asyncio
async def test_requests_in_blocks_are_bounded() -> None:
    from dlmsmesh.server.services import MAX_BLOCKED_REQUEST

    client = await _management(WITH_GBT)
    chunk = bytes(60_000)
    blocks = MAX_BLOCKED_REQUEST // len(chunk) + 1
    # SET datablocks past the bound: long-set-aborted, and the transfer is gone
    await client.request(A.SetRequestWithFirstDatablock(TIME_ZONE, False, 1, chunk))
    response = None
    for n in range(2, blocks + 1):
        response = await client.request(A.SetRequestWithDatablock(False, n, chunk))
    assert response == A.SetResponseLastDatablock(DataAccessResult.LONG_SET_ABORTED, blocks)
    assert await client.request(A.SetRequestWithDatablock(True, blocks + 1, chunk)) == A.SetResponseLastDatablock(
        DataAccessResult.NO_LONG_SET_IN_PROGRESS, blocks + 1
    )
    # GBT blocks past the bound: pdu-too-long
    replies: list[bytes] = []
    for n in range(1, blocks + 1):
        replies = await client.send_raw(A.encode(A.GeneralBlockTransfer(chunk, last_block=False, block_number=n)))
    assert replies == [bytes.fromhex("D80104")]
    assert await client.get(LDN) == b"MMM0000012345678"
