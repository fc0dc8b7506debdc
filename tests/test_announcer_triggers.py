"""What makes a meter announce: the push method (ACTION 1) on either Push
setup through the server, IPv6 setup attribute 4 changed by a SET, by the
add/remove methods or in code, Server.readdress, address_changed(), the
keep-alive; a newer announcement supersedes one not yet sent; close leaves
nothing behind; and a neighbourhood repeats from its seed."""

from __future__ import annotations

import asyncio
import ipaddress
import random
from typing import Any

import pytest

from dlmsmesh import apdu, stack
from dlmsmesh.apdu_model import (
    ActionRequestNormal,
    ActionResponseNormal,
    ActionResult,
    AttributeDescriptor,
    DataAccessResult,
    MethodDescriptor,
    SetRequestNormal,
    SetResponseNormal,
)
from dlmsmesh.cosem import default_meter
from dlmsmesh.cosem.network import Ipv6Setup
from dlmsmesh.cosem.push import PushSetup, PushSetupV2
from dlmsmesh.registration.announce import (
    REGISTRATION_PUSH,
    UPDATE_PUSH,
    Announcement,
    AnnouncementKind,
    format_destination,
    from_notification,
)
from dlmsmesh.registration.announcer import Announcer, _invoke_id
from dlmsmesh.registration.keys_file import KeyEntry, keyring_of
from dlmsmesh.registration.neighbourhood import meter_title, neighbourhood
from dlmsmesh.security import Protection, SecurityContext
from dlmsmesh.security.keywrap import KeyId
from dlmsmesh.server import Meter, MeterKeys, Server
from dlmsmesh.transport import InProcessNetwork, UdpTransport
from dlmsmesh.types import Array, Enum, Integer, LongUnsigned, OctetString, Structure, Unsigned

from .test_announcer_timing import AK, BOUND, EK, HEAD_END, HOME, MOVED, PORT, TITLE, Rig

HEAD_END_TITLE = bytes.fromhex("4D4D4D0000000001")
NEW = "2001:db8:3::1"


def request(rig: Rig, pdu: Any) -> None:
    """Send ``pdu`` to the meter as the pre-established client 0x66, ciphered
    with the meter's global keys (general-glo-ciphering)."""
    ctx = SecurityContext(HEAD_END_TITLE, peer_system_title=TITLE, ek=EK, ak=AK)
    frame = stack.send(pdu, security=ctx, general=True, wports=(0x66, 1))
    assert isinstance(frame, bytes)
    asyncio.get_running_loop().create_task(rig.head_end.send(frame, (HOME, PORT)))


def kinds(rig: Rig) -> list[tuple[str, int | None]]:
    return [(h.announcement.kind.value, h.announcement.sequence) for h in rig.heard]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "push_setup, kind", [(REGISTRATION_PUSH, "registration"), (UPDATE_PUSH, "update")], ids=["registration", "update"]
)
async def test_the_push_method_sends_that_push_setups_announcement(push_setup: Any, kind: str) -> None:
    async with (
        asyncio.timeout(BOUND),
        Rig(randomisation_start_interval=20, number_of_retries=1, repetition_delay=5) as rig,
    ):
        await rig.advance(30)
        assert kinds(rig) == [("registration", 1), ("registration", 1)]
        request(
            rig, ActionRequestNormal(invoke_id=3, descriptor=MethodDescriptor(40, push_setup, 1), parameters=Integer(0))
        )
        await rig.advance(30)
        assert kinds(rig)[2:] == [(kind, 2), (kind, 2)]
        assert rig.heard[2].announcement.push_setup == push_setup
        assert 30 <= rig.heard[2].at <= 50 and rig.heard[3].at == rig.heard[2].at + 5
        (response,) = rig.other
        assert isinstance(response, ActionResponseNormal) and response.result == ActionResult.SUCCESS


@pytest.mark.asyncio
async def test_the_update_push_setup_is_there_for_the_head_end() -> None:
    async with asyncio.timeout(BOUND), Rig(randomisation_start_interval=0) as rig:
        update = rig.announcer.update_push
        assert rig.meter.logical_devices[1].get(UPDATE_PUSH) is update
        assert rig.meter.pre_established(0x66, 1).objects.get(UPDATE_PUSH) is update  # type: ignore[union-attr]
        assert [c.logical_name for c in update.push_objects] == [
            UPDATE_PUSH,
            *(c.logical_name for c in rig.announcer.registration_push.push_objects[1:]),
        ]
        assert [(c.class_id, c.attribute_index) for c in update.push_objects] == [(40, 1), (64, 5), (48, 4), (41, 2)]
        for ps in (update, rig.announcer.registration_push):
            assert ps.destination == b"[2001:db8:ffff::10]:61616"
            assert ps.client_sap == 0x66


@pytest.mark.asyncio
async def test_a_set_of_the_addresses_sends_an_update() -> None:
    async with asyncio.timeout(BOUND), Rig(randomisation_start_interval=10) as rig:
        await rig.advance(20)
        value = Array([OctetString(ipaddress.IPv6Address(a).packed) for a in ("fe80::1", NEW)])
        request(
            rig, SetRequestNormal(invoke_id=4, descriptor=AttributeDescriptor(48, "0.0.25.7.0.255", 4), value=value)
        )
        await rig.advance(20)
        (response,) = rig.other
        assert isinstance(response, SetResponseNormal) and response.result == DataAccessResult.SUCCESS
        assert kinds(rig) == [("registration", 1), ("update", 2)]
        assert rig.heard[1].announcement.addresses == (NEW, "fe80::1")
        assert rig.heard[1].announcement.push_setup == UPDATE_PUSH


@pytest.mark.asyncio
async def test_the_add_method_and_code_send_updates_and_a_rewrite_alike_does_not() -> None:
    async with asyncio.timeout(BOUND), Rig(randomisation_start_interval=10) as rig:
        await rig.advance(20)
        ipv6 = rig.objects.ipv6_setup
        result = await ipv6.action(1, Structure((Enum(0), OctetString(ipaddress.IPv6Address(NEW).packed))))
        assert result == (ActionResult.SUCCESS, None)
        await rig.advance(20)
        ipv6.unicast_ipv6_addresses = Array([OctetString(ipaddress.IPv6Address(MOVED).packed)])
        await rig.advance(20)
        ipv6.unicast_ipv6_addresses = Array([OctetString(ipaddress.IPv6Address(MOVED).packed)])  # the same again
        await rig.advance(20)
    assert kinds(rig) == [("registration", 1), ("update", 2), ("update", 3)]
    assert rig.heard[1].announcement.addresses == ("2001:db8:1:0:212:4b00:1:203", NEW, "fe80::212:4b00:1:203")
    assert rig.heard[2].announcement.addresses == ("2001:db8:2:0:212:4b00:1:203",)


@pytest.mark.asyncio
async def test_readdress_moves_the_announced_address_and_the_source() -> None:
    async with asyncio.timeout(BOUND), Rig(randomisation_start_interval=10) as rig:
        await rig.advance(20)
        rig.server.readdress(TITLE, MOVED)
        await rig.advance(20)
        assert kinds(rig) == [("registration", 1), ("update", 2)]
        moved = rig.heard[1]
        assert moved.announcement.addresses == ("2001:db8:2:0:212:4b00:1:203", "fe80::212:4b00:1:203")
        assert moved.source == "2001:db8:2:0:212:4b00:1:203"
        assert rig.announcer.stats.superseded == 0  # one update, not one per write
    # closing stops watching the server's readdress
    assert rig.server._readdressed == []


@pytest.mark.asyncio
async def test_a_change_before_the_registration_went_out_keeps_it_a_registration() -> None:
    async with asyncio.timeout(BOUND), Rig(randomisation_start_interval=60) as rig:
        await rig.advance(0)
        rig.objects.ipv6_setup.unicast_ipv6_addresses = Array([OctetString(ipaddress.IPv6Address(NEW).packed)])
        await rig.advance(120)
    assert kinds(rig) == [("registration", 1)]
    assert rig.heard[0].announcement.addresses == (NEW,)
    assert rig.announcer.stats.superseded == 1


@pytest.mark.asyncio
async def test_a_newer_announcement_supersedes_the_repeats() -> None:
    async with (
        asyncio.timeout(BOUND),
        Rig(randomisation_start_interval=0, number_of_retries=5, repetition_delay=10) as rig,
    ):
        await rig.advance(15)  # the first send and one repeat
        rig.announcer.address_changed()
        await rig.advance(100)
    assert kinds(rig) == [("registration", 1)] * 2 + [("update", 2)] * 6


@pytest.mark.asyncio
async def test_keepalive_sends_updates_periodically() -> None:
    async with asyncio.timeout(BOUND), Rig(randomisation_start_interval=0, keepalive=3600) as rig:
        await rig.advance(3 * 3600 + 1)
    assert kinds(rig) == [("registration", 1), ("update", 2), ("update", 3), ("update", 4)]
    assert [h.at for h in rig.heard] == [0, 3600, 7200, 10800]


@pytest.mark.asyncio
async def test_announce_waits_for_the_last_repeat() -> None:
    async with (
        asyncio.timeout(BOUND),
        Rig(randomisation_start_interval=0, number_of_retries=2, repetition_delay=7) as rig,
    ):
        await rig.advance(30)
        task = asyncio.get_running_loop().create_task(rig.announcer.announce("update", delay=False))
        await rig.advance(13)
        assert not task.done()
        await rig.advance(1)
        await task
    assert [h.at for h in rig.heard[3:]] == [30, 37, 44]


@pytest.mark.asyncio
async def test_the_push_setups_timing_is_read_when_an_announcement_starts() -> None:
    async with asyncio.timeout(BOUND), Rig(randomisation_start_interval=0, number_of_retries=0) as rig:
        await rig.advance(1)
        update = rig.announcer.update_push
        assert await update.set(6, 2) == DataAccessResult.TYPE_UNMATCHED
        assert await update.set(6, Unsigned(2)) == DataAccessResult.SUCCESS
        assert await update.set(7, LongUnsigned(4)) == DataAccessResult.SUCCESS
        rig.announcer.address_changed()
        await rig.advance(20)
    assert [h.at for h in rig.heard] == [0, 1, 5, 9]


@pytest.mark.asyncio
async def test_a_destination_set_by_the_head_end_is_used() -> None:
    async with asyncio.timeout(BOUND), Rig(randomisation_start_interval=0) as rig:
        await rig.advance(1)
        other = rig.net.endpoint("2001:db8:ffff::20", 4059)
        for ps in rig.announcer.push_setups.values():
            ps.send_destination_and_method = Structure(
                (Enum(1), OctetString(format_destination("2001:db8:ffff::20", 4059)), Enum(0))
            )
        rig.announcer.address_changed()
        await rig.advance(1)
        data, _ = await other.recv(timeout=0)
        received = stack.receive(data, "wrapper", security=rig.ring)
        assert received.apdu is not None and from_notification(received.apdu).kind == AnnouncementKind.UPDATE
        # no destination at all: counted, nothing sent, nothing raised
        for ps in rig.announcer.push_setups.values():
            ps.send_destination_and_method = Structure((Enum(1), OctetString(b""), Enum(0)))
        rig.announcer.address_changed()
        await rig.advance(1)
        assert rig.announcer.stats.failed == 1
        await other.close()


@pytest.mark.asyncio
async def test_close_leaves_no_task_timer_or_hook() -> None:
    async with asyncio.timeout(BOUND):
        rig = Rig(randomisation_start_interval=600, keepalive=60)
        watchers = "_dlmsmesh_watchers"
        async with rig:
            await rig.advance(1)
            # attribute 4 watched, and the server's readdress, while running
            assert len(vars(rig.objects.ipv6_setup)[watchers][4]) == 1 and len(rig.server._readdressed) == 1
            rig.announcer.address_changed()  # supersedes: a second task, the first cancelled
            tasks = [t for t in asyncio.all_tasks() if t.get_name().startswith("announce ")]
            assert len(tasks) == 2
        assert all(t.done() for t in tasks)
        assert not vars(rig.objects.ipv6_setup).get(watchers) and rig.server._readdressed == []
        assert rig.net.clock.pending == 0  # type: ignore[attr-defined]
        assert rig.heard == []
        assert rig.announcer.registration_push.sender is None
        # a closed announcer ignores what would have triggered it
        rig.announcer.address_changed()
        rig.objects.ipv6_setup.unicast_ipv6_addresses = Array([])
        with pytest.raises(RuntimeError):
            await rig.announcer.start()


@pytest.mark.asyncio
async def test_plain_announcements_only_when_asked() -> None:
    net = InProcessNetwork(1)
    server = Server(net.endpoint(HOME, PORT))
    keyless = Meter.from_objects(default_meter(TITLE, addresses=[HOME]), address=HOME)
    with pytest.raises(ValueError, match="a meter without keys cannot cipher its announcements"):
        Announcer(server, keyless)
    server.add_meter(keyless)
    head_end = net.endpoint(*HEAD_END)
    announcer = Announcer(server, keyless, destination=HEAD_END, protection=Protection.NONE, rng=random.Random(1))
    async with asyncio.timeout(BOUND), server, announcer:
        await net.advance(100)
        data, _ = await head_end.recv(timeout=0)
    assert data[8] == 0x0F  # a data-notification right after the wrapper header
    assert from_notification(apdu.decode(data[8:])).kind == AnnouncementKind.REGISTRATION
    await head_end.close()


@pytest.mark.asyncio
async def test_a_meter_without_an_address_registers_when_it_gets_one() -> None:
    async with asyncio.timeout(BOUND):
        rig = Rig(randomisation_start_interval=0)
        rig.objects.ipv6_setup.unicast_ipv6_addresses = Array([])
        async with rig:
            await rig.advance(10)
            assert rig.heard == [] and rig.announcer.stats.failed == 1
            rig.objects.ipv6_setup.unicast_ipv6_addresses = Array([OctetString(ipaddress.IPv6Address(NEW).packed)])
            await rig.advance(10)
    assert kinds(rig) == [("registration", 1)]


def test_a_meter_without_ipv6_setup_is_refused() -> None:
    net = InProcessNetwork(1)
    objects = default_meter(TITLE)
    objects.logical_devices[1].remove("0.0.25.7.0.255")
    meter = Meter.from_objects(objects, keys=MeterKeys(ek=EK, ak=AK))
    with pytest.raises(ValueError, match="has no IPv6 setup"):
        Announcer(Server(net.endpoint(HOME, PORT)), meter)
    assert isinstance(default_meter(TITLE).ipv6_setup, Ipv6Setup)


# --------------------------------------------------------------- neighbourhood


async def _run_hood(seed: int) -> list[tuple[float, bytes]]:
    hood = neighbourhood(30, seed=seed, randomisation_start_interval=60, number_of_retries=1, repetition_delay=10)
    head_end = hood.network.endpoint(*hood.head_end)
    heard: list[tuple[float, bytes]] = []

    async def listen() -> None:
        for _ in range(1000):
            data, _ = await head_end.recv()
            heard.append((hood.network.clock.time(), data))

    async with hood:
        listener = asyncio.get_running_loop().create_task(listen())
        await hood.network.advance(80)
        hood.migrate(7)
        await hood.network.advance(80)
        listener.cancel()
        await asyncio.gather(listener, return_exceptions=True)
    return heard


@pytest.mark.asyncio
async def test_a_neighbourhood_repeats_from_its_seed() -> None:
    async with asyncio.timeout(BOUND):
        first, again, other = await _run_hood(3), await _run_hood(3), await _run_hood(4)
    assert first == again
    assert [t for t, _ in first] != [t for t, _ in other]
    assert len(first) == 30 * 2 + 2


@pytest.mark.asyncio
async def test_a_neighbourhood_migration_is_announced_from_the_new_prefix() -> None:
    async with asyncio.timeout(BOUND):
        hood = neighbourhood(5, seed=1, randomisation_start_interval=10, number_of_retries=0)
        assert hood.meters[2].system_title == meter_title(2) == b"MMM\x00\x00\x00\x00\x03"
        assert hood.meters[2].address == "2001:db8:1:0:4d4d:4d00:0:3"
        ring = hood.keyring()
        head_end = hood.network.endpoint(*hood.head_end)
        async with hood:
            await hood.network.advance(20)
            assert len(await head_end.recv_batch(100, timeout=0)) == 5
            assert hood.migrate(2) == "2001:db8:2:0:4d4d:4d00:0:3"
            await hood.network.advance(20)
            ((data, source),) = await head_end.recv_batch(100, timeout=0)
        received = stack.receive(data, "wrapper", security=ring)
        assert received.apdu is not None
        update = from_notification(received.apdu)
        assert (update.kind, update.system_title, update.addresses[0], update.sequence) == (
            AnnouncementKind.UPDATE,
            meter_title(2),
            "2001:db8:2:0:4d4d:4d00:0:3",
            2,
        )
        assert source.host == "2001:db8:2:0:4d4d:4d00:0:3"
        assert hood.keys_file().count("\n") == 5


@pytest.mark.asyncio
async def test_over_real_udp_on_the_event_loops_clock() -> None:
    async with asyncio.timeout(BOUND):
        head_end = await UdpTransport.open("127.0.0.1", 0)
        server = Server(await UdpTransport.open("127.0.0.1", 0))
        meter = Meter.from_objects(default_meter(TITLE, addresses=[HOME]), keys=MeterKeys(ek=EK, ak=AK))
        server.add_meter(meter)
        announcer = Announcer(
            server,
            meter,
            destination=("127.0.0.1", head_end.local_address.port),
            randomisation_start_interval=0,
            number_of_retries=1,
            repetition_delay=0,
        )
        assert type(announcer.clock).__name__ == "RealClock"
        async with server, announcer:
            frames = [await head_end.recv(timeout=5) for _ in range(2)]
        await head_end.close()
    ring = Rig().ring
    heard = []
    for data, source in frames:
        assert source == ("127.0.0.1", server.transport.local_address.port)
        received = stack.receive(data, "wrapper", security=ring)
        assert received.apdu is not None
        heard.append(from_notification(received.apdu))
    assert [(a.kind, a.addresses, a.sequence) for a in heard] == [
        (AnnouncementKind.REGISTRATION, ("2001:db8:1:0:212:4b00:1:203",), 1)
    ] * 2


@pytest.mark.asyncio
async def test_after_a_key_transfer_the_next_announcement_uses_the_new_key() -> None:
    new_ek = bytes(range(16, 32))
    async with asyncio.timeout(BOUND), Rig(randomisation_start_interval=0) as rig:
        await rig.advance(1)
        rig.meter.replace_key(KeyId.GLOBAL_UNICAST_ENCRYPTION, new_ek)
        rig.ring = keyring_of([KeyEntry(TITLE, new_ek, AK)])
        rig.announcer.address_changed()
        await rig.advance(1)
    assert kinds(rig) == [("registration", 1), ("update", 2)]


@pytest.mark.asyncio
async def test_a_light_neighbourhood_announces_and_answers_the_push_method() -> None:
    async with asyncio.timeout(BOUND):
        hood = neighbourhood(3, seed=2, light=True, randomisation_start_interval=10, number_of_retries=0)
        head_end = hood.network.endpoint(*hood.head_end)
        ring = hood.keyring()
        meter = hood.meters[1]
        assert sorted(o.class_id for o in meter.logical_devices[1]) == [40, 40, 41, 48, 64]
        async with hood:
            await hood.network.advance(20)
            assert len(await head_end.recv_batch(100, timeout=0)) == 3
            ctx = SecurityContext(
                HEAD_END_TITLE, peer_system_title=meter.system_title, ek=hood.keys[1].ek, ak=hood.keys[1].ak
            )
            action = ActionRequestNormal(
                invoke_id=1, descriptor=MethodDescriptor(40, UPDATE_PUSH, 1), parameters=Integer(0)
            )
            frame = stack.send(action, security=ctx, general=True, wports=(0x66, 1))
            assert isinstance(frame, bytes) and meter.address is not None
            await head_end.send(frame, (meter.address, PORT))
            await hood.network.advance(20)
            got = [
                stack.receive(data, "wrapper", security=ring).apdu
                for data, _ in await head_end.recv_batch(100, timeout=0)
            ]
    (response,) = [a for a in got if isinstance(a, ActionResponseNormal)]
    assert response.result == ActionResult.SUCCESS
    (update,) = [from_notification(a) for a in got if not isinstance(a, ActionResponseNormal)]
    assert (update.kind, update.system_title, update.sequence) == (AnnouncementKind.UPDATE, meter.system_title, 2)


@pytest.mark.asyncio
async def test_a_version_2_push_setup_repeats_by_its_own_delays() -> None:
    objects = default_meter(TITLE, addresses=[HOME])
    device = objects.logical_devices[1]
    old = device.remove(REGISTRATION_PUSH)
    assert isinstance(old, PushSetup)
    v2 = PushSetupV2(REGISTRATION_PUSH, old.push_objects, objects=device)
    v2.repetition_delay = Structure((LongUnsigned(2), LongUnsigned(3), LongUnsigned(20)))
    device.add(v2)
    async with asyncio.timeout(BOUND), Rig(objects=objects, randomisation_start_interval=0, number_of_retries=3) as rig:
        assert rig.announcer.registration_push is v2
        await rig.advance(60)
    # min 2, exponent 3, max 20: repeats 2, 6 and then 18 s apart
    assert [h.at for h in rig.heard] == [0, 2, 8, 26]
    # the update Push setup made for it repeats by the first delay
    assert rig.announcer.update_push.retry_delays() == [2, 2, 2]


@pytest.mark.asyncio
async def test_a_communication_window_is_reported_not_kept(caplog: pytest.LogCaptureFixture) -> None:
    objects = default_meter(TITLE, addresses=[HOME])
    pattern = OctetString(bytes.fromhex("FFFFFFFFFF0C0000FF800000"))  # any day, 12:00
    objects.registration_push.communication_window = Array([Structure((pattern, pattern))])
    with caplog.at_level("WARNING", logger="dlmsmesh.registration.announcer"):
        async with asyncio.timeout(BOUND), Rig(objects=objects, randomisation_start_interval=0) as rig:
            await rig.advance(1)
    assert kinds(rig) == [("registration", 1)]
    assert "0.1.25.9.0.255: communication_window is not honoured, announcing at any time" in caplog.messages


@pytest.mark.asyncio
async def test_a_meter_configured_wrong_is_counted_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    objects = default_meter(TITLE, addresses=["ff02::1", "::", HOME])
    async with asyncio.timeout(BOUND), Rig(objects=objects, randomisation_start_interval=0) as rig:
        await rig.advance(1)
        # a multicast or unspecified address in attribute 4 is no address of the meter
        assert rig.heard[0].announcement.addresses == ("2001:db8:1:0:212:4b00:1:203",)
        tcp_udp = rig.meter.logical_devices[1].get("0.0.25.0.0.255")
        tcp_udp.tcp_udp_port = LongUnsigned(0)  # type: ignore[union-attr]
        with caplog.at_level("WARNING", logger="dlmsmesh.registration.announcer"):
            rig.announcer.address_changed()
            await rig.advance(1)
        assert rig.announcer.stats.failed == 1 and len(rig.heard) == 1
    assert any("nothing to announce: the UDP port is 1..65535, not 0" in m for m in caplog.messages)


@pytest.mark.parametrize("sequence, invoke_id", [(None, 1), (0, 0), (5, 5), (0x1000005, 5), (0xFFFFFFFF, 0xFFFFFF)])
def test_the_invoke_id_is_the_sequence_numbers_low_24_bits(sequence: int | None, invoke_id: int) -> None:

    assert _invoke_id(Announcement("update", TITLE, (HOME,), PORT, sequence)) == invoke_id
