"""A month of 15-minute profile rows read through the Client on a mesh that
loses one datagram in ten (in-process network, seeded): once in GET
datablocks, once in general-block-transfer.  Retries recover every loss, in
bounded time."""

from __future__ import annotations

import time
from typing import Any

import pytest

from dlmsmesh.client.errors import NoLongActionInProgress
from dlmsmesh.server import Server
from dlmsmesh.transport import LinkProfile
from dlmsmesh.types import DoubleLongUnsigned, OctetString

from .loopback_support import (
    AK,
    AUTHENC,
    ECHO,
    EK,
    MEASURE,
    PASSWORD,
    SCRATCH,
    TITLE,
    Scratch,
    loopback,
    make_meter,
    record,
)

PROFILE = (7, "1.0.99.1.0.255", 2)
NOON = bytes.fromhex("07EA0C05060C000000000000")
FIRST_ROW_TIME = bytes.fromhex("07EA0B050400000000000000")
ROWS = 2929  # thirty days of 96 rows and today's 49
LOSSY = LinkProfile(loss=0.1)
#: seconds: the whole read, AARQ to RLRE, with every retry it needs
BOUND = 45.0


def check_profile(rows: Any) -> None:
    assert len(rows) == ROWS
    assert rows[0][0] == FIRST_ROW_TIME and rows[-1][0] == NOON
    imports = [int(r[1]) for r in rows]
    assert imports == sorted(imports) and imports[-1] == 19285521
    # 15-minute rows, none missing or repeated
    minutes = [bytes(r[0])[5] * 60 + bytes(r[0])[6] for r in rows[:96]]
    assert minutes == list(range(0, 24 * 60, 15))


@pytest.mark.asyncio
@pytest.mark.parametrize("gbt", [False, True], ids=["datablocks", "gbt"])
async def test_month_of_profile_rows_over_a_lossy_mesh(gbt: bool) -> None:
    started = time.monotonic()
    async with loopback(make_meter(gbt=gbt), link=LOSSY, seed=3, timeout=0.05, retries=7, virtual=True) as lb:
        async with lb.client.associate(TITLE) as meter:
            check_profile(await meter.get(PROFILE))
            blocks = lb.client.stats.received
        assert blocks > 60  # 1224-byte blocks
        assert lb.net.stats.lost > 6  # the loss was real
        assert lb.client.stats.retries > 0 and lb.client.stats.timeouts == 0
        assert lb.server.stats.associations_opened == 1
    assert time.monotonic() - started < BOUND


@pytest.mark.asyncio
async def test_ciphered_month_of_profile_rows_in_gbt_over_a_lossy_mesh() -> None:
    """The management client (HLS-GMAC, authenticated encryption): the reply is
    ciphered whole, then cut into GBT blocks; a repeated request gets a reply
    ciphered anew, whose blocks must not be mixed with the first one's."""
    started = time.monotonic()
    meter = make_meter(authentication="hls-gmac", policy=int(AUTHENC))
    async with loopback(meter, link=LOSSY, seed=5, timeout=0.05, retries=7, virtual=True) as lb:
        async with lb.client.associate(TITLE, client_sap=1, auth="hls-gmac", security="authenc", ek=EK,
                                       ak=AK) as opened:  # fmt: skip
            check_profile(await opened.get(PROFILE))
        assert lb.net.stats.lost > 6 and lb.client.stats.timeouts == 0
    assert time.monotonic() - started < BOUND


# ------------------------------------------------- one chosen datagram lost


def lose_replies(server: Server, *numbers: int) -> list[bytes]:
    """The server's replies ``numbers`` (1 = the first from now on) never
    arrive; returns every reply it sends (the lost ones too)."""
    sent: list[bytes] = []
    endpoint = server.transport
    original = endpoint.send

    async def send(data: bytes, destination: Any, **kwargs: Any) -> None:
        sent.append(bytes(data))
        if len(sent) not in numbers:
            await original(data, destination, **kwargs)

    endpoint.send = send  # type: ignore[method-assign,assignment]
    return sent


GMAC: dict[str, Any] = {"client_sap": 1, "auth": "hls-gmac", "security": "authenc", "ek": EK, "ak": AK}
LDN = (1, "0.0.42.0.0.255", 2)


@pytest.mark.asyncio
async def test_lost_aare_the_aarq_goes_again_with_a_fresh_counter() -> None:
    async with loopback(make_meter(authentication="hls-gmac", policy=int(AUTHENC)), timeout=0.1, virtual=True) as lb:
        replies = lose_replies(lb.server, 1)
        async with lb.client.associate(TITLE, **GMAC) as meter:
            assert await meter.get(LDN) == b"MMM0000012345678"
        assert replies[0][8] == 0x61 and lb.client.stats.retries >= 1
        assert lb.server.stats.replays == 0  # the second AARQ was not a replay of the first


@pytest.mark.asyncio
async def test_lost_pass_3_reply_opens_the_association_again() -> None:
    async with loopback(make_meter(authentication="hls-gmac", policy=int(AUTHENC)), timeout=0.1, virtual=True) as lb:
        replies = lose_replies(lb.server, 2)  # the AARE arrives, pass 3's answer does not
        async with lb.client.associate(TITLE, **GMAC) as meter:
            assert await meter.get(LDN) == b"MMM0000012345678"
        assert replies[1][8] == 0xCF  # glo-action-response
        # the repeated pass 3 was refused (the meter had authenticated us): a second AARQ
        assert lb.server.stats.associations_opened == 2


@pytest.mark.asyncio
@pytest.mark.parametrize("gbt", [False, True], ids=["datablocks", "gbt"])
@pytest.mark.parametrize("lost", ["middle", "last"])
async def test_lost_block_of_a_long_reply_is_sent_again(gbt: bool, lost: str) -> None:
    # on virtual time: under load, a real 0.4 s wait could run out while the
    # meter is still sending blocks, and the client would rightly ask afresh
    async with loopback(make_meter(gbt=gbt), timeout=0.4, virtual=True) as lb, lb.client.associate(TITLE) as meter:
        if lost == "last":
            replies = lose_replies(lb.server)
            check_profile(await meter.get(PROFILE))  # to count the blocks
            replies = lose_replies(lb.server, len(replies))
        else:
            replies = lose_replies(lb.server, 5)
        requests = record(lb.client)
        check_profile(await meter.get(PROFILE))
        assert lb.client.stats.retries >= 1
        # the meter sent the lost block again: one GET, no new transfer
        assert sum(r[:2] == b"\xc0\x01" for r in requests) == 1
        assert len(requests) == len(replies)


LLS: dict[str, Any] = {"client_sap": 1, "auth": "lls", "password": PASSWORD}
LONG = OctetString(bytes(range(200)) * 3)


@pytest.mark.asyncio
@pytest.mark.parametrize("lost", [1, 3], ids=["first-block", "middle-block"])
async def test_lost_answer_to_a_set_datablock_the_set_goes_again(lost: int) -> None:
    meter = make_meter(authentication="lls", secret=PASSWORD, scratch=True)
    async with (
        loopback(meter, server_pdu=128, timeout=0.2, virtual=True) as lb,
        lb.client.associate(TITLE, **LLS) as opened,
    ):
        replies = lose_replies(lb.server, lost)
        requests = record(lb.client)
        await opened.set(SCRATCH, LONG)
        assert replies[lost - 1][8:10] == b"\xc5\x02"  # the lost one: set-response-datablock
        # the meter refused the repeated block; the client wrote again from block 1
        assert sum(r[:2] == b"\xc1\x02" for r in requests) == 2
        assert await opened.get(SCRATCH) == LONG


@pytest.mark.asyncio
async def test_lost_answer_to_an_action_pblock_the_action_goes_again() -> None:
    meter = make_meter(authentication="lls", secret=PASSWORD, scratch=True)
    async with (
        loopback(meter, server_pdu=128, timeout=0.2, virtual=True) as lb,
        lb.client.associate(TITLE, **LLS) as opened,
    ):
        lose_replies(lb.server, 2)
        requests = record(lb.client)
        assert await opened.action(ECHO, LONG) == LONG
        assert sum(r[:2] == b"\xc3\x04" for r in requests) == 2  # action-request-with-first-pblock twice


@pytest.mark.asyncio
async def test_lost_answer_to_the_last_action_pblock_is_not_invoked_twice() -> None:
    meter = make_meter(authentication="lls", secret=PASSWORD, scratch=True)
    calls = Scratch.measured
    async with (
        loopback(meter, server_pdu=128, timeout=0.2, virtual=True) as lb,
        lb.client.associate(TITLE, **LLS) as opened,
    ):
        replies = lose_replies(lb.server)
        assert await opened.action(MEASURE, LONG) == DoubleLongUnsigned(len(LONG))
        lose_replies(lb.server, len(replies))  # the answer to the last pblock: the method ran
        requests = record(lb.client)
        with pytest.raises(NoLongActionInProgress):
            await opened.action(MEASURE, LONG)
        assert sum(r[:2] == b"\xc3\x04" for r in requests) == 1
        assert Scratch.measured - calls == 2  # once per call, never twice for one


@pytest.mark.asyncio
async def test_lost_pblock_of_a_long_action_reply_is_sent_again() -> None:
    """The meter's answer to action-request-next-pblock lost: the client asks
    again for the same block and the meter sends it again (the method is not
    invoked again, the transfer goes on)."""
    # without general-block-transfer a long reply goes in pblocks
    meter = make_meter(authentication="lls", secret=PASSWORD, scratch=True, gbt=False)
    async with (
        loopback(meter, server_pdu=128, timeout=0.2, virtual=True) as lb,
        lb.client.associate(TITLE, **LLS) as opened,
    ):
        replies = lose_replies(lb.server)
        assert await opened.action(ECHO, LONG) == LONG
        reply_blocks = [i for i, r in enumerate(replies, 1) if r[8:10] == b"\xc7\x02"]  # action-response-with-pblock
        assert len(reply_blocks) >= 3
        for lost in (reply_blocks[1], reply_blocks[-1]):  # a middle block, then the last
            retries = lb.client.stats.retries
            lose_replies(lb.server, lost)
            requests = record(lb.client)
            assert await opened.action(ECHO, LONG) == LONG
            assert lb.client.stats.retries == retries + 1
            assert sum(r[:2] == b"\xc3\x04" for r in requests) == 1  # the action was not asked afresh
            asked = [int.from_bytes(r[3:7], "big") for r in requests if r[:2] == b"\xc3\x02"]  # next-pblock
            assert len(asked) == len(set(asked)) + 1  # one block asked for twice
