"""Ciphered traffic through the Server: the policy refuses plain requests,
wrong keys and replays get the exception-responses of security.md section 11
(and no plaintext), the invocation counter object follows what the meter
accepted, the meter's own counters only move forward (also across a
restart with a persistent counter store), and key_transfer takes effect
after its reply."""

from __future__ import annotations

import pathlib
import threading
from collections.abc import Sequence

import pytest

from dlmsmesh import apdu as A
from dlmsmesh.apdu_model import ActionResult, AttributeDescriptor, MethodDescriptor
from dlmsmesh.cosem import default_meter
from dlmsmesh.security import KeySet, SecurityPolicy, SqliteCounterStore
from dlmsmesh.security.keywrap import KeyId, wrap_key
from dlmsmesh.server import Meter, MeterKeys
from dlmsmesh.types import Enum, OctetString, Structure

from .server_support import (
    AK,
    AUTHENC,
    BK,
    CLOCK,
    EK,
    IC_OBJECT,
    KEK,
    LDN,
    NOW,
    OTHER_PEER,
    TITLE,
    Client,
    client_context,
    make_meter,
    make_server,
    management_client,
    public_client,
)

NOT_ALLOWED = bytes.fromhex("D80101")
DECIPHERING_ERROR = bytes.fromhex("D80105")
KEY_TRANSFER = MethodDescriptor(64, "0.0.43.0.0.255", 2)
OTHER_TITLE = bytes.fromhex("4845530000000002")
NEW_EK = bytes.fromhex("A0A1A2A3A4A5A6A7A8A9AAABACADAEAF")


def _ic(frame: bytes) -> int:
    """The invocation counter of a glo-ciphered APDU (tag, 1-byte length, SC, IC)."""
    assert frame[1] < 0x80
    return int.from_bytes(frame[3:7], "big")


async def _secured() -> Client:
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    return await management_client(server)


@pytest.mark.asyncio
async def test_plain_request_under_a_protecting_policy_is_refused_unread() -> None:
    client = await _secured()
    before = client.server.stats.security_failures
    assert await client.send(A.encode(A.GetRequestNormal(CLOCK))) == NOT_ALLOWED
    assert client.server.stats.security_failures == before + 1
    # authenticated only, where the policy asks for encryption too
    weak_ctx = client_context(policy=SecurityPolicy.NONE)
    weak_ctx.reserve_counters(KeySet.UNICAST, 100)
    weak = weak_ctx.protect(A.encode(A.GetRequestNormal(CLOCK)), protection=0x10)
    assert weak[2] == 0x10
    assert await client.send(weak) == DECIPHERING_ERROR
    assert await client.get(LDN, "glo") == b"MMM0000012345678"


@pytest.mark.asyncio
async def test_wrong_key_gives_deciphering_error_and_no_plaintext() -> None:
    client = await _secured()
    forger = client_context(ek=bytes(16))
    forger.reserve_counters(KeySet.UNICAST, 100)
    frame = forger.protect(A.encode(A.GetRequestNormal(LDN)))
    reply = await client.send(frame)
    assert reply == DECIPHERING_ERROR
    assert b"MMM" not in reply
    # a flipped bit in a good frame: the same
    assert client.ctx is not None
    good = bytearray(client.ctx.protect(A.encode(A.GetRequestNormal(LDN))))
    good[-1] ^= 0x01
    assert await client.send(bytes(good)) == DECIPHERING_ERROR
    assert client.server.stats.security_failures == 2
    # the association survives: the next good frame is served
    assert await client.get(LDN, "glo") == b"MMM0000012345678"


@pytest.mark.asyncio
async def test_replayed_frame_gives_invocation_counter_error_with_the_expected_counter() -> None:
    client = await _secured()
    assert client.ctx is not None
    frame = client.ctx.protect(A.encode(A.GetRequestNormal(LDN)))
    ic = _ic(frame)
    first = await client.send(frame)
    assert A.decode(client.open(first)).result == b"MMM0000012345678"
    replay = await client.send(frame)
    # exception-response service-not-allowed invocation-counter-error, then the counter expected next
    assert replay == bytes.fromhex("D80106") + (ic + 1).to_bytes(4, "big")
    assert client.server.stats.replays == 1
    # an older counter too
    older = client_context()
    older.reserve_counters(KeySet.UNICAST, ic - 3)
    stale = older.protect(A.encode(A.GetRequestNormal(LDN)))
    assert _ic(stale) < ic
    assert await client.send(stale) == bytes.fromhex("D80106") + (ic + 1).to_bytes(4, "big")


@pytest.mark.asyncio
async def test_invocation_counter_object_follows_the_requests() -> None:
    client = await _secured()
    assert client.ctx is not None
    frame = client.ctx.protect(A.encode(A.GetRequestNormal(IC_OBJECT)))
    value = A.decode(client.open(await client.send(frame))).result
    assert int(value) == _ic(frame)
    client.ctx.reserve_counters(KeySet.UNICAST, 5)  # the client skips some counters
    frame = client.ctx.protect(A.encode(A.GetRequestNormal(IC_OBJECT)))
    assert int(A.decode(client.open(await client.send(frame))).result) == _ic(frame) > int(value) + 5
    # the public client reads the same counter
    public = await public_client(client.server)
    assert int(await public.get(IC_OBJECT)) == _ic(frame)


@pytest.mark.asyncio
async def test_response_counters_strictly_increase() -> None:
    client = await _secured()
    assert client.ctx is not None
    counters = []
    for descriptor in (CLOCK, LDN, IC_OBJECT, CLOCK, LDN):
        reply = await client.send(client.ctx.protect(A.encode(A.GetRequestNormal(descriptor))))
        counters.append(client.ctx.unprotect(reply).info.invocation_counter)
    # a general-glo reply and an exception-response draw from the same counter
    reply = await client.send(client.ctx.protect(A.encode(A.GetRequestNormal(LDN)), general=True))
    counters.append(client.ctx.unprotect(reply).info.invocation_counter)
    assert counters == sorted(set(counters)) and len(counters) == 6


@pytest.mark.asyncio
async def test_ciphered_request_in_a_plain_association_is_a_deciphering_error() -> None:
    client = await public_client(make_server())
    frame = client_context().protect(A.encode(A.GetRequestNormal(CLOCK)))
    assert await client.send(frame) == DECIPHERING_ERROR


@pytest.mark.asyncio
async def test_key_transfer_takes_effect_after_its_reply() -> None:
    client = await _secured()
    ctx = client.ctx
    assert ctx is not None
    parameters = [Structure((Enum(int(KeyId.GLOBAL_UNICAST_ENCRYPTION)), OctetString(wrap_key(KEK, NEW_EK))))]
    reply = await client.send(ctx.protect(A.encode(A.ActionRequestNormal(KEY_TRANSFER, parameters))))
    # the reply still travels under the old key
    assert A.decode(ctx.unprotect(reply).plaintext) == A.ActionResponseNormal(ActionResult.SUCCESS)
    # the old key no longer opens anything
    assert await client.send(ctx.protect(A.encode(A.GetRequestNormal(LDN)))) == DECIPHERING_ERROR
    # the new one does, and the reply comes under it
    client.ctx = client_context(ek=NEW_EK)
    assert await client.get(LDN, "glo") == b"MMM0000012345678"
    assert client.server.meters[0].keys.ek == NEW_EK


@pytest.mark.asyncio
async def test_key_transfer_with_a_bad_wrap_changes_nothing() -> None:
    client = await _secured()
    bad = bytearray(wrap_key(KEK, NEW_EK))
    bad[0] ^= 1
    parameters = [Structure((Enum(0), OctetString(bytes(bad))))]
    response = await client.request(A.ActionRequestNormal(KEY_TRANSFER, parameters), "glo")
    assert response == A.ActionResponseNormal(ActionResult.OTHER_REASON)
    assert await client.get(LDN, "glo") == b"MMM0000012345678"
    assert client.server.meters[0].keys.ek == EK


@pytest.mark.asyncio
async def test_counters_survive_a_restart_with_a_persistent_store(tmp_path: pathlib.Path) -> None:
    path = tmp_path / "counters.sqlite"

    def meter() -> Meter:
        objects = default_meter(TITLE, now=lambda: NOW, authentication="hls-gmac", policy=int(AUTHENC))
        return Meter.from_objects(
            objects, keys=MeterKeys(ek=EK, ak=AK, bk=BK, kek=KEK), counters=SqliteCounterStore(path)
        )

    server = make_server(meter())
    client = await management_client(server)
    assert client.ctx is not None
    frame = client.ctx.protect(A.encode(A.GetRequestNormal(LDN)))
    first = await client.send(frame)
    sent_ic = client.ctx.unprotect(first).info.invocation_counter
    await server.close()

    # the meter restarts: a new server, the same counter store
    server = make_server(meter())
    again = Client(server, client_sap=1, ctx=client.ctx)
    await again.hls_gmac()
    # the old frame replayed into the new association is still refused
    reply = await again.send(frame)
    assert reply[:3] == bytes.fromhex("D80106")
    # and the meter never reuses a counter it sent before the restart
    reply = await again.send(client.ctx.protect(A.encode(A.GetRequestNormal(LDN))))
    assert client.ctx.unprotect(reply).info.invocation_counter > sent_ic
    await server.close()


@pytest.mark.asyncio
async def test_authenticated_access_modes_see_the_request_protection() -> None:
    """Security setup attribute 2 (policy) is readable; its keys never are."""
    client = await _secured()
    assert await client.get(AttributeDescriptor(64, "0.0.43.0.0.255", 2), "glo") == int(AUTHENC)


@pytest.mark.asyncio
async def test_key_transfer_reaches_every_association_of_the_meter() -> None:
    first = await _secured()
    second = await management_client(first.server, source=OTHER_PEER, ctx=client_context(title=OTHER_TITLE))
    assert first.ctx is not None and second.ctx is not None
    parameters = [Structure((Enum(int(KeyId.GLOBAL_UNICAST_ENCRYPTION)), OctetString(wrap_key(KEK, NEW_EK))))]
    assert await first.request(A.ActionRequestNormal(KEY_TRANSFER, parameters), "glo") == A.ActionResponseNormal(
        ActionResult.SUCCESS
    )
    # the other association's next request under the old key is not opened
    assert await second.send(second.ctx.protect(A.encode(A.GetRequestNormal(LDN)))) == DECIPHERING_ERROR
    second.ctx = client_context(ek=NEW_EK, title=OTHER_TITLE)
    reply = await second.send(second.ctx.protect(A.encode(A.GetRequestNormal(LDN))))
    assert A.decode(second.ctx.unprotect(reply).plaintext).result == b"MMM0000012345678"


class _ThreadNoting(SqliteCounterStore):
    """A store on disk that notes the thread of every call."""

    def __init__(self, path: pathlib.Path) -> None:
        super().__init__(path)
        self.threads: set[int] = set()

    def reserve(self, scope: str, count: int = 1) -> int:
        self.threads.add(threading.get_ident())
        return super().reserve(scope, count)

    def accept_many(self, scopes: Sequence[str], counters: Sequence[int], window: int = 0) -> list[bool]:
        self.threads.add(threading.get_ident())
        return super().accept_many(scopes, counters, window)


@pytest.mark.asyncio
async def test_a_store_on_disk_is_never_called_on_the_event_loop(tmp_path: pathlib.Path) -> None:
    """Its commits fsync: AARQ, requests and replies meet it in a worker thread."""
    store = _ThreadNoting(tmp_path / "counters.sqlite")
    objects = default_meter(TITLE, now=lambda: NOW, authentication="hls-gmac", policy=int(AUTHENC))
    server = make_server(Meter.from_objects(objects, keys=MeterKeys(ek=EK, ak=AK, bk=BK, kek=KEK), counters=store))
    client = await management_client(server)
    assert await client.get(LDN, "glo") == b"MMM0000012345678"
    replayed = client.ctx.protect(A.encode(A.GetRequestNormal(LDN)))  # type: ignore[union-attr]
    await client.send(replayed)
    assert (await client.send(replayed))[:3] == bytes.fromhex("D80106")
    assert store.threads and threading.get_ident() not in store.threads
    await server.close()


@pytest.mark.asyncio
async def test_a_broadcast_key_given_by_key_transfer_subscribes_the_all_nodes_addresses() -> None:
    """A meter without a broadcast key hears no all-nodes address; once a
    key_transfer gives it one, the server joins them for it (after the reply)."""
    meter = Meter.from_objects(
        default_meter(TITLE, authentication="hls-gmac", policy=int(AUTHENC)),
        keys=MeterKeys(ek=EK, ak=AK, kek=KEK),
    )
    server = make_server(meter)
    assert not {"ff03::1", "ff05::1"} & server.group_addresses
    client = await management_client(server)
    parameters = [Structure((Enum(int(KeyId.GLOBAL_BROADCAST_ENCRYPTION)), OctetString(wrap_key(KEK, NEW_EK))))]
    response = await client.request(A.ActionRequestNormal(KEY_TRANSFER, parameters), "glo")
    assert response == A.ActionResponseNormal(ActionResult.SUCCESS)
    assert meter.keys.bk == NEW_EK
    assert {"ff03::1", "ff05::1"} <= server.group_addresses
