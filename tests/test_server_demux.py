"""Which meter and which association a datagram reaches: meters by address,
logical devices by wPort, associations by (client SAP, peer address);
idle expiry and the association bound; the pre-established client 0x66
(unicast and all-station, broadcast key); the statistics; and the serving
loop over the in-process network and over real UDP on loopback."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from dlmsmesh import acse, wrapper
from dlmsmesh import apdu as A
from dlmsmesh.acse_pdu import AARE, AARQ, RLRQ, Mechanism
from dlmsmesh.apdu_model import AttributeDescriptor
from dlmsmesh.cosem import ANY, READ_ONLY, CosemObject, attribute
from dlmsmesh.security import KeySet
from dlmsmesh.server import ALL_STATION, PRE_ESTABLISHED_CLIENT, Server
from dlmsmesh.transport import Address, Incoming, InProcessNetwork, UdpTransport
from dlmsmesh.types import Long

from .server_support import (
    CLOCK,
    LDN,
    OTHER_PEER,
    PEER,
    SERVER,
    SERVER_B,
    TITLE,
    TITLE_B,
    Client,
    client_context,
    initiate,
    make_meter,
    make_server,
    public_client,
)

NOT_ALLOWED = bytes.fromhex("D80101")
TIME_ZONE = AttributeDescriptor(8, "0.0.1.0.0.255", 3)
NAME_A, NAME_B = b"MMM0000012345678", b"MMM0000012345679"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _two_meters() -> Server:
    return make_server(make_meter(address=SERVER.host), make_meter(title=TITLE_B, address=SERVER_B.host))


# --------------------------------------------------------------------- meters


@pytest.mark.asyncio
async def test_two_meters_answer_only_for_themselves() -> None:
    server = _two_meters()
    a = await public_client(server, destination=SERVER)
    b = await public_client(server, destination=SERVER_B)
    assert await a.get(LDN) == NAME_A
    assert await b.get(LDN) == NAME_B
    assert server.associations == 2
    # the same peer and SAP, but the association lives with the other meter
    a_only = await public_client(_two_meters(), destination=SERVER)
    stray = Client(a_only.server, destination=SERVER_B)
    assert await stray.send(A.encode(A.GetRequestNormal(LDN))) == NOT_ALLOWED
    # releasing one meter's association leaves the other's
    await a.release()
    assert await b.get(LDN) == NAME_B
    assert await a.send(A.encode(A.GetRequestNormal(LDN))) == NOT_ALLOWED


@pytest.mark.asyncio
async def test_unknown_address_and_unknown_server_sap_are_dropped() -> None:
    server = _two_meters()
    nowhere = Client(server, destination=Address("fd00::99", 4059))
    assert await nowhere.send_raw(acse.encode(AARQ(user_information=initiate()))) == []
    wrong_sap = Client(server, server_sap=0x20)
    assert await wrong_sap.send_raw(acse.encode(AARQ(user_information=initiate()))) == []
    assert await wrong_sap.send_raw(A.encode(A.GetRequestNormal(LDN))) == []
    assert server.stats.unknown_destination == 3 and server.stats.answered == 0
    # a meter without an address takes whatever no other meter claims
    default = make_server(make_meter())
    anywhere = await public_client(default, destination=Address("fd00::99", 4059))
    assert await anywhere.get(LDN) == NAME_A


@pytest.mark.asyncio
async def test_another_peer_or_client_sap_never_uses_an_association() -> None:
    server = make_server()
    owner = await public_client(server)
    other_address = Client(server, source=OTHER_PEER)
    other_port = Client(server, source=Address(PEER.host, PEER.port + 1))
    other_sap = Client(server, client_sap=1)
    for intruder in (other_address, other_port, other_sap):
        assert await intruder.send(A.encode(A.GetRequestNormal(LDN))) == NOT_ALLOWED
        assert await intruder.send(A.encode(A.SetRequestNormal(TIME_ZONE, Long(60)))) == NOT_ALLOWED
        assert await intruder.send_raw(acse.encode(RLRQ())) != []  # an RLRE, releasing nothing
    assert server.associations == 1 and server.stats.unassociated == 6
    assert await owner.get(LDN) == NAME_A


@pytest.mark.asyncio
async def test_requests_to_the_wrong_logical_device_of_the_right_meter() -> None:
    server = make_server()
    owner = await public_client(server)
    # all-station from a client that has no pre-established association: a
    # group request nobody is associated for is dropped, not answered
    stray = Client(server, server_sap=ALL_STATION)
    assert await stray.send_raw(A.encode(A.GetRequestNormal(LDN))) == []
    assert server.stats.unassociated == 1
    assert await owner.get(LDN) == NAME_A


@pytest.mark.asyncio
async def test_malformed_datagrams_are_counted_and_dropped() -> None:
    server = make_server()
    owner = await public_client(server)
    for data in (b"", b"\x00", b"\x00\x02\x00\x10\x00\x01\x00\x01\xc0", wrapper.encode(16, 1, b"")[:7]):
        assert await server.handle(Incoming(data, PEER, SERVER)) == []
    # a wrapper whose length says more than it carries
    assert await server.handle(Incoming(bytes.fromhex("000100100001000AC001"), PEER, SERVER)) == []
    assert server.stats.malformed == 5 and server.stats.internal_errors == 0
    assert await owner.get(LDN) == NAME_A


# ----------------------------------------------------------- session lifetime


@pytest.mark.asyncio
async def test_idle_association_expires() -> None:
    clock = FakeClock()
    server = make_server(idle_timeout=100, clock=clock)
    client = await public_client(server)
    clock.now += 99
    assert await client.get(LDN) == NAME_A  # use keeps it alive
    clock.now += 99
    assert await client.get(LDN) == NAME_A
    clock.now += 101
    assert await client.send(A.encode(A.GetRequestNormal(LDN))) == NOT_ALLOWED
    assert server.associations == 0 and server.stats.associations_expired == 1


@pytest.mark.asyncio
async def test_max_associations_evicts_the_least_recently_used() -> None:
    server = make_server(max_associations=2)
    first = await public_client(server, source=Address("fd00::2", 1))
    second = await public_client(server, source=Address("fd00::2", 2))
    assert await first.get(LDN) == NAME_A  # first is now the most recently used
    third = await public_client(server, source=Address("fd00::2", 3))
    assert server.associations == 2 and server.stats.associations_expired == 1
    assert await second.send(A.encode(A.GetRequestNormal(LDN))) == NOT_ALLOWED
    assert await first.get(LDN) == NAME_A
    assert await third.get(LDN) == NAME_A


@pytest.mark.asyncio
async def test_pending_hls_association_expires_sooner() -> None:
    clock = FakeClock()
    net = InProcessNetwork(seed=2)
    server = Server(net.endpoint(SERVER.host, SERVER.port), clock=clock, idle_timeout=3600)
    server.add_meter(make_meter(authentication="hls-gmac", policy=0x6C))
    client = Client(server, client_sap=1, ctx=client_context())
    aare = await client.associate(client.hls_aarq(Mechanism.HIGH_GMAC))
    assert aare.accepted and server.associations == 1
    clock.now += 61
    server._sweep()  # what the receive loop runs every sweep interval
    assert server.associations == 0 and server.stats.associations_expired == 1


# ------------------------------------------------------------- pre-established


@pytest.mark.asyncio
async def test_pre_established_client_needs_no_aarq_but_ciphering() -> None:
    server = make_server()
    ctx = client_context()
    client = Client(server, client_sap=PRE_ESTABLISHED_CLIENT, ctx=ctx)
    # plain: refused
    assert await client.send(A.encode(A.GetRequestNormal(LDN))) == NOT_ALLOWED
    # general-glo-ciphering with the meter's global keys: served, answered general-glo
    frame = ctx.protect(A.encode(A.GetRequestNormal(LDN)), general=True)
    reply = await client.send(frame)
    assert reply[0] == 0xDB and reply[2:10] == TITLE
    assert A.decode(ctx.unprotect(reply).plaintext).result == NAME_A
    # a replay is refused with the counter expected next
    assert await client.send(frame) == bytes.fromhex("D80106") + (int.from_bytes(frame[12:16], "big") + 1).to_bytes(
        4, "big"
    )
    # its view is the management association's
    security_setup_title = AttributeDescriptor(64, "0.0.43.0.0.255", 5)
    assert await client.get(security_setup_title, "general-glo") == TITLE
    # a glo- (service-specific) frame carries no system title: from a peer the
    # meter has not heard a general-glo frame from, it cannot tell whose it is
    stranger = Client(server, client_sap=PRE_ESTABLISHED_CLIENT, source=OTHER_PEER, ctx=client_context())
    assert await stranger.send(client_context().protect(A.encode(A.GetRequestNormal(LDN)))) == bytes.fromhex("D80105")
    # from this peer, the title its general-glo frames carried opens it
    assert await client.get(LDN, "glo") == NAME_A
    # an AARQ is not needed, RLRQ ends nothing: it is still there afterwards
    assert await client.get(LDN, "general-glo") == NAME_A


@pytest.mark.asyncio
async def test_pre_established_all_station_broadcast() -> None:
    server = make_server()
    ctx = client_context()
    group = Client(server, client_sap=PRE_ESTABLISHED_CLIENT, server_sap=ALL_STATION, ctx=ctx)
    # an unconfirmed SET under the broadcast key: run, not answered
    request = A.SetRequestNormal(TIME_ZONE, Long(-30), service_class=A.ServiceClass.UNCONFIRMED)
    frame = ctx.protect(A.encode(request), general=True, broadcast=True)
    assert frame[11] & 0x40  # SC broadcast bit
    assert await group.send_raw(frame) == []
    # a confirmed request to all-station is answered from the management logical device
    replies = await group.send_raw(ctx.protect(A.encode(A.GetRequestNormal(TIME_ZONE)), general=True))
    assert len(replies) == 1
    assert A.decode(ctx.unprotect(replies[0]).plaintext).result == Long(-30)
    # a replayed broadcast is dropped silently
    assert await group.send_raw(frame) == []
    assert server.stats.replays == 1
    # a broadcast under a wrong key too
    wrong = client_context()
    wrong.set_keys(bk=bytes(16))
    wrong.reserve_counters(KeySet.BROADCAST, 100)
    assert await group.send_raw(wrong.protect(A.encode(request), general=True, broadcast=True)) == []


@pytest.mark.asyncio
async def test_meter_without_keys_has_no_pre_established_client() -> None:
    server = make_server(make_meter(keys=False))
    client = Client(server, client_sap=PRE_ESTABLISHED_CLIENT, ctx=client_context())
    assert await client.send(client_context().protect(A.encode(A.GetRequestNormal(LDN)), general=True)) == NOT_ALLOWED


# ---------------------------------------------------------------------- stats


@pytest.mark.asyncio
async def test_stats_count_every_outcome() -> None:
    server = make_server()
    client = await public_client(server)  # received 1, answered 1, opened 1
    await client.get(LDN)  # 2, 2
    await Client(server, client_sap=0x20).send(acse.encode(AARQ(user_information=initiate())))  # refused
    await Client(server, server_sap=0x20).send_raw(A.encode(A.GetRequestNormal(LDN)))  # unknown destination
    await server.handle(Incoming(b"junk", PEER, SERVER))  # malformed
    await Client(server, source=OTHER_PEER).send(A.encode(A.GetRequestNormal(LDN)))  # unassociated
    await client.send(client_context().protect(A.encode(A.GetRequestNormal(LDN))))  # security failure
    await client.release()
    assert server.stats.as_dict() == {
        "received": 8,
        "answered": 6,
        "malformed": 1,
        "unknown_destination": 1,
        "unassociated": 1,
        "security_failures": 1,
        "replays": 0,
        "associations_opened": 1,
        "associations_refused": 1,
        "associations_released": 1,
        "associations_expired": 0,
        "timeouts": 0,
        "internal_errors": 0,
    }


# ------------------------------------------------------------ serving loops


async def _exchange_inprocess(net: InProcessNetwork, endpoint: object, data: bytes, to: Address) -> bytes:
    await endpoint.send(data, to)  # type: ignore[attr-defined]
    for _ in range(50):
        await net.advance(0.01)
        try:
            got, _ = await endpoint.recv(timeout=0)  # type: ignore[attr-defined]
            return got
        except Exception:  # noqa: BLE001 - nothing yet: advance again
            continue
    raise AssertionError("no reply")


@pytest.mark.asyncio
async def test_serving_loop_on_the_in_process_network() -> None:
    net = InProcessNetwork(seed=3)
    server = Server(net.endpoint(SERVER.host, SERVER.port, aliases=[SERVER_B.host]))
    server.add_meters([make_meter(address=SERVER.host), make_meter(title=TITLE_B, address=SERVER_B.host)])
    head_end = net.endpoint(PEER.host, PEER.port)
    async with server:
        for destination, name in ((SERVER, NAME_A), (SERVER_B, NAME_B)):
            reply = await _exchange_inprocess(
                net, head_end, wrapper.encode(16, 1, acse.encode(AARQ(user_information=initiate()))), destination
            )
            header, payload = wrapper.decode(reply)
            assert (header.source_wport, header.destination_wport) == (1, 16)
            assert isinstance(acse.decode(payload), AARE) and acse.decode(payload).accepted
            reply = await _exchange_inprocess(
                net, head_end, wrapper.encode(16, 1, A.encode(A.GetRequestNormal(LDN))), destination
            )
            assert A.decode(wrapper.decode(reply)[1]).result == name
        assert server.associations == 2
    assert server.transport.closed
    await head_end.close()


@pytest.mark.asyncio
async def test_serving_loop_over_udp_loopback() -> None:
    transport = await UdpTransport.open("127.0.0.1", 0)
    port = transport.local_address.port
    server = Server(transport)
    server.add_meter(make_meter())
    client = await UdpTransport.open("127.0.0.1", 0)
    try:
        async with server:
            target = ("127.0.0.1", port)

            async def ask(apdu: bytes) -> bytes:
                await client.send(wrapper.encode(16, 1, apdu), target)
                data, source = await client.recv(timeout=5.0)
                assert source == Address("127.0.0.1", port)
                header, payload = wrapper.decode(data)
                assert (header.source_wport, header.destination_wport) == (1, 16)
                return payload

            aare = acse.decode(await ask(acse.encode(AARQ(user_information=initiate()))))
            assert isinstance(aare, AARE) and aare.accepted
            assert A.decode(await ask(A.encode(A.GetRequestNormal(CLOCK)))).result == bytes.fromhex(
                "07EA0C05060C000000000000"
            )
            # many requests at once: each answered, in order for one association
            for i in range(20):
                await client.send(wrapper.encode(16, 1, A.encode(A.GetRequestNormal(LDN, invoke_id=i % 16))), target)
            ids = []
            for _ in range(20):
                data, _ = await client.recv(timeout=5.0)
                response = A.decode(wrapper.decode(data)[1])
                assert response.result == NAME_A
                ids.append(response.invoke_id)
            assert ids == [i % 16 for i in range(20)]
            rlre = acse.decode(await ask(acse.encode(RLRQ())))
            assert rlre.reason == 0
            assert server.stats.associations_released == 1 and server.stats.internal_errors == 0
    finally:
        await client.close()
    assert transport.closed


@pytest.mark.asyncio
async def test_busy_server_holds_datagrams_back_and_answers_them_all() -> None:
    net = InProcessNetwork(seed=4)
    server = Server(net.endpoint(SERVER.host, SERVER.port), max_tasks=1)
    server.add_meter(make_meter())
    head_end = net.endpoint(PEER.host, PEER.port)
    async with server:
        aarq = wrapper.encode(16, 1, acse.encode(AARQ(user_information=initiate())))
        assert acse.decode(wrapper.decode(await _exchange_inprocess(net, head_end, aarq, SERVER))[1]).accepted
        for i in range(5):  # one burst: one batch for the receive loop, served one at a time
            await head_end.send(wrapper.encode(16, 1, A.encode(A.GetRequestNormal(LDN, invoke_id=i))), SERVER)
        await net.advance(0.05)
        ids = []
        for _ in range(5):
            data, _ = await head_end.recv(timeout=0)
            response = A.decode(wrapper.decode(data)[1])
            assert response.result == NAME_A
            ids.append(response.invoke_id)
        assert ids == [0, 1, 2, 3, 4]
        assert server.stats.received == 6 and server.stats.answered == 6
    await head_end.close()


@pytest.mark.asyncio
async def test_add_and_remove_meters() -> None:
    server = _two_meters()
    with pytest.raises(ValueError, match="system title"):
        server.add_meter(make_meter(address="fd00::77"))
    with pytest.raises(ValueError, match="answers at"):
        server.add_meter(make_meter(title=bytes(8), address=SERVER.host))
    b = await public_client(server, destination=SERVER_B)
    removed = server.remove_meter(TITLE_B)
    assert removed.system_title == TITLE_B and [m.system_title for m in server.meters] == [TITLE]
    assert server.associations == 0
    assert await b.send_raw(A.encode(A.GetRequestNormal(LDN))) == []  # nobody answers there now
    assert server.meter(TITLE).address == SERVER.host


@pytest.mark.asyncio
async def test_meter_address_is_matched_in_its_canonical_form() -> None:
    server = make_server(make_meter(address="FD00:0:0::1"))
    client = await public_client(server, destination=Address("fd00::1", 4059))
    assert await client.get(LDN) == NAME_A
    server.remove_meter(TITLE)
    server.add_meter(make_meter(address="fd00::1"))  # the address is free again


@pytest.mark.asyncio
async def test_unassociated_broadcast_frames_are_dropped_silently() -> None:
    server = make_server(make_meter(keys=False))
    ctx = client_context()
    request = A.encode(A.GetRequestNormal(LDN))
    unicast = Client(server, client_sap=PRE_ESTABLISHED_CLIENT, ctx=ctx)
    # a ciphered unicast request outside any association is refused out loud
    assert await unicast.send(ctx.protect(request, general=True)) == NOT_ALLOWED
    assert await unicast.send(ctx.protect(request)) == NOT_ALLOWED
    # one under the broadcast key is not answered, general-glo or glo
    assert await unicast.send_raw(ctx.protect(request, general=True, broadcast=True)) == []
    assert await unicast.send_raw(ctx.protect(request, broadcast=True)) == []
    assert server.stats.unassociated == 4 and server.stats.answered == 2


@pytest.mark.asyncio
async def test_serving_loop_sweeps_idle_associations_without_traffic() -> None:
    clock = FakeClock()
    net = InProcessNetwork(seed=5)
    server = Server(net.endpoint(SERVER.host, SERVER.port), idle_timeout=100, clock=clock)
    server.add_meter(make_meter())
    head_end = net.endpoint(PEER.host, PEER.port)
    async with server:
        aarq = wrapper.encode(16, 1, acse.encode(AARQ(user_information=initiate())))
        assert acse.decode(wrapper.decode(await _exchange_inprocess(net, head_end, aarq, SERVER))[1]).accepted
        assert server.associations == 1
        clock.now += 101
        await net.advance(30)  # the receive loop wakes every 25 s (idle_timeout / 4) and sweeps
        assert server.associations == 0 and server.stats.associations_expired == 1
    await head_end.close()


@pytest.mark.asyncio
async def test_idle_pre_established_association_starts_afresh() -> None:
    clock = FakeClock()
    server = make_server(idle_timeout=100, clock=clock)
    ctx = client_context()
    client = Client(server, client_sap=PRE_ESTABLISHED_CLIENT, ctx=ctx)
    assert await client.get(LDN, "general-glo") == NAME_A
    clock.now += 101
    assert await client.get(LDN, "general-glo") == NAME_A  # never "released" by idleness
    assert server.stats.associations_expired == 1 and server.associations == 1


@pytest.mark.asyncio
async def test_pending_hls_association_expires_on_access_too() -> None:
    clock = FakeClock()
    server = make_server(make_meter(authentication="hls-gmac", policy=0x6C), idle_timeout=3600, clock=clock)
    client = Client(server, client_sap=1, ctx=client_context())
    assert (await client.associate(client.hls_aarq(Mechanism.HIGH_GMAC))).accepted
    assert client.ctx is not None and client.stoc is not None
    clock.now += 61
    from dlmsmesh.cosem.typespec import octets
    from dlmsmesh.security.hls import gmac_reply

    from .server_support import HLS_REPLY

    late = client.ctx.protect(A.encode(A.ActionRequestNormal(HLS_REPLY, octets(gmac_reply(client.ctx, client.stoc)))))
    assert await client.send(late) == NOT_ALLOWED
    assert server.associations == 0


@pytest.mark.asyncio
async def test_a_hanging_handler_times_out_and_the_association_goes_on() -> None:
    """An async handler that never returns costs one request, not the association."""

    class Stuck(CosemObject):
        class_id = 1

        @attribute(2, ANY, access=READ_ONLY)
        async def value(self) -> Any:
            await asyncio.sleep(3600)

    meter = make_meter(keys=False)
    stuck = Stuck("0.0.96.99.0.255")
    meter.logical_devices[1].add(stuck)
    meter.association(16, 1).objects.add(stuck)  # type: ignore[union-attr]
    server = make_server(meter, request_timeout=0.05)
    client = await public_client(server)
    reply = await client.request(A.GetRequestNormal(AttributeDescriptor(1, "0.0.96.99.0.255", 2)))
    assert A.encode(reply) == bytes.fromhex("D80103")  # service-not-allowed, other-reason
    assert server.stats.timeouts == 1
    assert await client.get(LDN) == b"MMM0000012345678"
    await server.close()


@pytest.mark.asyncio
async def test_readdress_callbacks_hear_every_move_until_stopped(caplog: pytest.LogCaptureFixture) -> None:
    server = _two_meters()
    moves: list[tuple[bytes, str | None]] = []
    stop = server.on_readdress(lambda title, address: moves.append((title, address)))

    def broken(title: bytes, address: str | None) -> None:
        raise RuntimeError("callback bug")

    stop_broken = server.on_readdress(broken)
    server.readdress(TITLE_B, "fd00::99")
    assert moves == [(TITLE_B, "fd00::99")] and "readdress callback failed" in caplog.text
    assert server.meter(TITLE_B).address == "fd00::99"  # the move stands
    with pytest.raises(ValueError):
        server.readdress(TITLE_B, SERVER.host)  # taken: refused, nobody told
    assert len(moves) == 1
    stop()
    stop_broken()
    server.readdress(TITLE_B, "fd00::98")
    assert len(moves) == 1 and server._readdressed == []
    await server.close()
