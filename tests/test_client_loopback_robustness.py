"""What a head-end meets on a mesh, against the Server: the meter moves to
another address under a live association (no new AARQ), replies that are
strays, duplicates or replays (dropped and counted), exception-responses
(the right error class), and a meter that forgot the association
(StaleAssociation)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dlmsmesh import wrapper
from dlmsmesh.apdu_model import entry_descriptor
from dlmsmesh.client import Client
from dlmsmesh.client.errors import (
    DecipheringFailed,
    ExceptionResponseError,
    StaleAssociation,
)
from dlmsmesh.errors import DlmsTimeout
from dlmsmesh.server import PRE_ESTABLISHED_CLIENT, Server
from dlmsmesh.transport import Address, LinkProfile
from dlmsmesh.types import Long

from .loopback_support import (
    AK,
    AUTHENC,
    CLIENT_HOST,
    EK,
    HEAD_END,
    MOVED_HOST,
    OTHER_HOST,
    PORT,
    SERVER_HOST,
    TITLE,
    loopback,
    make_meter,
)

LDN = (1, "0.0.42.0.0.255", 2)
TIME_ZONE = (8, "0.0.1.0.0.255", 3)
PROFILE = (7, "1.0.99.1.0.255", 2)
NAME = b"MMM0000012345678"
MANAGEMENT: dict[str, Any] = {"client_sap": 1, "auth": "hls-gmac", "security": "authenc", "ek": EK, "ak": AK}
PRE: dict[str, Any] = {"client_sap": PRE_ESTABLISHED_CLIENT, "pre_established": True, "security": "authenc",
                       "ek": EK, "ak": AK}  # fmt: skip


def gmac_meter(**kwargs: Any) -> Any:
    return make_meter(authentication="hls-gmac", policy=int(AUTHENC), **kwargs)


# ------------------------------------------------------------ node migration


@pytest.mark.asyncio
@pytest.mark.parametrize("settings", [{}, MANAGEMENT], ids=["public-plain", "management-ciphered"])
async def test_meter_moves_under_a_live_association(settings: dict[str, Any]) -> None:
    async with loopback(gmac_meter()) as lb, lb.client.associate(TITLE, **settings) as meter:
        assert await meter.get(LDN) == NAME
        lb.server.readdress(TITLE, MOVED_HOST)
        lb.resolver.set(TITLE, Address(MOVED_HOST, PORT))
        assert await meter.get(LDN) == NAME
        assert meter.address == Address(MOVED_HOST, PORT)
        # a long reply from the new address too
        rows = await meter.get(PROFILE, entry_descriptor(1, 200))
        assert len(rows) == 200
        assert lb.server.stats.associations_opened == 1  # no second AARQ
        assert lb.client.stats.strays == 0 and lb.client.stats.timeouts == 0


@pytest.mark.asyncio
async def test_meter_moves_twice_and_back() -> None:
    async with loopback(gmac_meter()) as lb, lb.client.associate(TITLE, **MANAGEMENT) as meter:
        for host in (MOVED_HOST, SERVER_HOST, MOVED_HOST):
            lb.server.readdress(TITLE, host)
            lb.resolver.set(TITLE, Address(host, PORT))
            await meter.set(TIME_ZONE, Long(len(host)))
            assert await meter.get(TIME_ZONE) == Long(len(host))
        assert lb.server.stats.associations_opened == 1


@pytest.mark.asyncio
async def test_pre_established_association_follows_the_meter() -> None:
    async with loopback() as lb, lb.client.associate(TITLE, **PRE) as meter:
        assert await meter.get(LDN) == NAME
        lb.server.readdress(TITLE, MOVED_HOST)
        lb.resolver.set(TITLE, Address(MOVED_HOST, PORT))
        assert await meter.get(LDN) == NAME
        assert lb.server.stats.associations_opened == 0


# ------------------------------------------------ strays, duplicates, replays


@pytest.mark.asyncio
async def test_duplicated_replies_are_dropped_and_counted() -> None:
    async with loopback(make_meter(gbt=False), server_pdu=256) as lb:
        # every reply arrives twice
        lb.net.set_link(SERVER_HOST, CLIENT_HOST, LinkProfile(duplicate=1.0), both_ways=False)
        async with lb.client.associate(TITLE) as meter:
            assert await meter.get(LDN) == NAME
            assert await meter.get(TIME_ZONE) == Long(0)
            # datablocks: a copy of block n has the invoke-id of the request for block n + 1
            rows = await meter.get(PROFILE, entry_descriptor(1, 100))
            assert len(rows) == 100
            assert meter.duplicates >= 10, (meter.duplicates, lb.client.stats)
        await asyncio.sleep(0.01)
        # the copy of the AARE is a duplicate; the copy of the RLRE comes when
        # no association is left: a stray
        assert lb.client.stats.strays == 1 and lb.client.stats.timeouts == 0


@pytest.mark.asyncio
async def test_ciphered_duplicates_are_replays_dropped_and_counted() -> None:
    async with loopback(gmac_meter()) as lb:
        lb.net.set_link(SERVER_HOST, CLIENT_HOST, LinkProfile(duplicate=1.0), both_ways=False)
        async with lb.client.associate(TITLE, **MANAGEMENT) as meter:
            for value in range(5):
                await meter.set(TIME_ZONE, Long(value))
                assert await meter.get(TIME_ZONE) == Long(value)
            # each glo- reply came twice: the copy repeats its invocation counter
            assert meter.duplicates >= 10


@pytest.mark.asyncio
async def test_replayed_reply_is_dropped_and_the_association_goes_on() -> None:
    async with loopback(gmac_meter()) as lb, lb.client.associate(TITLE, **MANAGEMENT) as meter:
        captured: list[bytes] = []
        endpoint = lb.server.transport
        original = endpoint.send

        async def tap(data: bytes, destination: Any, **kwargs: Any) -> None:
            captured.append(data)
            await original(data, destination, **kwargs)

        endpoint.send = tap  # type: ignore[method-assign,assignment]
        assert await meter.get(LDN) == NAME
        before = meter.duplicates
        # an attacker (or the mesh) sends the old reply again, then the meter answers anew
        await endpoint.send(captured[-1], Address(CLIENT_HOST, PORT))
        assert await meter.get(TIME_ZONE) == Long(0)
        assert meter.duplicates == before + 1


@pytest.mark.asyncio
async def test_strays_are_dropped_and_counted() -> None:
    async with loopback() as lb, lb.client.associate(TITLE) as meter:
        stranger = lb.net.endpoint("fd00::66", PORT)
        to_client = Address(CLIENT_HOST, PORT)
        await stranger.send(b"not a wrapper frame", to_client)
        await stranger.send(wrapper.encode(1, 16, bytes.fromhex("C401C1000906") + bytes(6)), to_client)
        # the right SAPs from an address no association sent to, with no system title
        await stranger.send(wrapper.encode(1, 16, bytes.fromhex("C401C10009024142")), to_client)
        await stranger.close()
        assert await meter.get(LDN) == NAME
        assert lb.client.stats.strays == 3
        assert meter.duplicates == 0


# ------------------------------------------------------ exception-responses


@pytest.mark.asyncio
async def test_service_not_supported_is_an_exception_response_error() -> None:
    # the meter offers no selective access: a GET with one is refused service-not-supported
    async with loopback(make_meter(selective=False)) as lb, lb.client.associate(TITLE) as meter:
        with pytest.raises(ExceptionResponseError) as caught:
            await meter.get(PROFILE, entry_descriptor(1, 1))
        assert type(caught.value) is ExceptionResponseError
        assert (int(caught.value.state_error), int(caught.value.service_error)) == (1, 2)
        assert meter.open and await meter.get(LDN) == NAME


@pytest.mark.asyncio
async def test_wrong_keys_give_deciphering_failed() -> None:
    async with loopback() as lb, lb.client.associate(TITLE, **{**PRE, "ek": bytes(16)}) as meter:
        with pytest.raises(DecipheringFailed):
            await meter.get(LDN)
        assert lb.server.stats.security_failures == 1


@pytest.mark.asyncio
async def test_a_reused_invocation_counter_is_refused_and_the_client_moves_past_it() -> None:
    async with loopback() as lb:
        async with lb.client.associate(TITLE, **PRE) as meter:
            for _ in range(3):
                assert await meter.get(LDN) == NAME
        # another head-end process with the same title and forgotten counters
        other = Client(lb.net.endpoint("fd00::3", PORT), system_title=HEAD_END, resolver=lb.resolver, timeout=0.5)
        async with other, other.associate(TITLE, **PRE) as meter:
            # refused with the counter the meter expects: the client moves past
            # it (never reusing one) and asks once more
            ctx = meter.opening.context
            assert ctx is not None
            assert await meter.get(LDN) == NAME
            assert other.stats.resynchronised == 1
            assert ctx.next_invocation_counter() > 4
        assert lb.server.stats.replays == 1


# ---------------------------------------------------- the meter forgot us


@pytest.mark.asyncio
@pytest.mark.parametrize("settings", [{}, MANAGEMENT], ids=["public-plain", "management-ciphered"])
async def test_idle_timeout_on_the_meter_gives_stale_association(settings: dict[str, Any]) -> None:
    async with loopback(gmac_meter(), idle_timeout=0.2) as lb:
        async with lb.client.associate(TITLE, **settings) as meter:
            assert await meter.get(LDN) == NAME
            await asyncio.sleep(0.3)
            with pytest.raises(StaleAssociation):
                await meter.get(LDN)
            assert not meter.open
        # released without an RLRQ (the meter has nothing to release); a new association works
        async with lb.client.associate(TITLE, **settings) as meter:
            assert await meter.get(LDN) == NAME
        assert lb.server.stats.associations_opened == 2


@pytest.mark.asyncio
async def test_restarted_meter_gives_stale_association() -> None:
    async with loopback(gmac_meter()) as lb, lb.client.associate(TITLE, **MANAGEMENT) as meter:
        assert await meter.get(LDN) == NAME
        # the meter restarts: a new server at the same address, no association
        await lb.server.close()
        restarted = Server(lb.net.endpoint(SERVER_HOST, PORT))
        restarted.add_meter(gmac_meter())
        async with restarted:
            with pytest.raises(StaleAssociation):
                await meter.get(LDN)
            assert not meter.open and restarted.stats.unassociated == 1


# ------------------------------------------------------------- many at once


@pytest.mark.asyncio
async def test_concurrent_associations_are_routed_by_wports_and_meter() -> None:
    other_title = bytes.fromhex("4D4D4D0000BC614F")
    meters = (gmac_meter(), gmac_meter(title=other_title, address=OTHER_HOST))
    async with loopback(*meters, server_pdu=256) as lb:
        async with lb.client.associate(TITLE) as public, lb.client.associate(TITLE, **MANAGEMENT) as management, \
                lb.client.associate(other_title) as other:  # fmt: skip
            results = await asyncio.gather(
                public.get(PROFILE, entry_descriptor(1, 50)), management.get(PROFILE, entry_descriptor(1, 60)),
                other.get(PROFILE, entry_descriptor(1, 70)), public.get(LDN), other.get(LDN), management.get(LDN),
            )  # fmt: skip
        assert [len(r) for r in results[:3]] == [50, 60, 70]
        assert results[3:] == [NAME, b"MMM0000012345679", NAME]
        assert results[0] == results[1][:50] and results[2] != results[0][:70]  # another meter's rows
        assert lb.client.stats.strays == 0 and lb.client.stats.retries == 0
        assert public.duplicates == management.duplicates == other.duplicates == 0


@pytest.mark.asyncio
async def test_lost_rlre_still_releases_in_bounded_time() -> None:
    async with loopback(timeout=0.1, retries=2) as lb:
        async with lb.client.associate(TITLE) as meter:
            assert await meter.get(LDN) == NAME
            sent: list[bytes] = []
            original = lb.server.transport.send

            async def lose_first(data: bytes, destination: Any, **kwargs: Any) -> None:
                sent.append(data)
                if len(sent) > 1:
                    await original(data, destination, **kwargs)

            lb.server.transport.send = lose_first  # type: ignore[method-assign,assignment]
            started = asyncio.get_running_loop().time()
        assert not meter.open and asyncio.get_running_loop().time() - started < 1.0
        assert lb.server.stats.associations_released == 1
        # the SAPs are free again
        async with lb.client.associate(TITLE) as meter:
            assert await meter.get(LDN) == NAME


# ------------------------------------------- replies from another address


def answer_from(server: Server, host: str) -> list[bytes]:
    """The server's replies come from ``host`` (the meter moved and the head-end
    does not know yet); returns them."""
    sent: list[bytes] = []
    endpoint = server.transport
    original = endpoint.send

    async def send(data: bytes, destination: Any, **kwargs: Any) -> None:
        sent.append(bytes(data))
        await original(data, destination, source=host)

    endpoint.send = send  # type: ignore[method-assign,assignment]
    return sent


@pytest.mark.asyncio
async def test_general_glo_reply_from_an_unknown_address_is_routed_by_system_title() -> None:
    async with loopback(timeout=0.1, retries=1) as lb, lb.client.associate(TITLE, **PRE) as meter:
        assert await meter.get(LDN) == NAME
        replies = answer_from(lb.server, MOVED_HOST)
        assert await meter.get(TIME_ZONE) == Long(0)
        assert wrapper.decode(replies[-1])[1][0] == 0xDB  # general-glo-ciphering: it names the meter
        assert lb.client.stats.strays == 0 and lb.client.stats.retries == 0


@pytest.mark.asyncio
async def test_plain_reply_from_an_unknown_address_is_a_stray() -> None:
    async with loopback(timeout=0.1, retries=1) as lb, lb.client.associate(TITLE) as meter:
        assert await meter.get(LDN) == NAME
        answer_from(lb.server, MOVED_HOST)
        # nothing in a plain reply says which meter sent it
        with pytest.raises(DlmsTimeout):
            await meter.get(TIME_ZONE)
        assert lb.client.stats.strays == 2  # the reply and the one to the retry


@pytest.mark.asyncio
async def test_meter_moves_in_the_middle_of_a_gbt_reply() -> None:
    async with loopback(gmac_meter(), server_pdu=256) as lb, lb.client.associate(TITLE, **MANAGEMENT) as meter:
        sent: list[bytes] = []
        endpoint = lb.server.transport
        original = endpoint.send

        async def send(data: bytes, destination: Any, **kwargs: Any) -> None:
            sent.append(bytes(data))
            await original(data, destination, **kwargs)
            if len(sent) == 10:  # block 10 sent: the meter moves, the resolver learns it
                lb.server.readdress(TITLE, MOVED_HOST)
                lb.resolver.set(TITLE, Address(MOVED_HOST, PORT))

        endpoint.send = send  # type: ignore[method-assign,assignment]
        rows = await meter.get(PROFILE, entry_descriptor(1, 300))
        assert len(rows) == 300 and len(sent) > 20
        assert meter.address == Address(MOVED_HOST, PORT)
        assert lb.server.stats.associations_opened == 1 and lb.client.stats.retries == 0
