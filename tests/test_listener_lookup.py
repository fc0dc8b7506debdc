"""Address lookup (spec note mesh-profile §4.5 rule 3, the Annex A
equivalent) over the network: a GET of the registration table keyed by
system title, answered by the listener on its port; the asking side is
bounded in time and ignores what is not its answer."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from dlmsmesh import apdu as A
from dlmsmesh import wrapper
from dlmsmesh.apdu_model import AttributeDescriptor, DataAccessResult, SelectiveAccess
from dlmsmesh.client import Client
from dlmsmesh.client.errors import NoAddress
from dlmsmesh.cosem import default_meter
from dlmsmesh.cosem.meter_set import logical_device_name
from dlmsmesh.errors import DlmsError, DlmsTimeout
from dlmsmesh.registration.listener import Listener
from dlmsmesh.registration.lookup import (
    REGISTRATION_TABLE,
    LookupService,
    RemoteBinding,
    RemoteResolver,
    lookup_address,
    lookup_binding,
    lookup_request,
)
from dlmsmesh.registration.registry import Registration, Registry, Status
from dlmsmesh.server import Meter, Server
from dlmsmesh.transport import Address, InProcessNetwork, RealClock, UdpTransport
from dlmsmesh.types import OctetString

from .registration_support import HES, address, announcement, frame, keyring, meter_context, title

LISTENER = ("2001:db8:ffff::10", 61616)
ASKER = ("2001:db8:ffff::20", 40000)


def _record(registry: Registry, i: int, addresses: tuple[str, ...], ic: int, at: float | None = None) -> None:
    # the time is read when the test records (a time read at import would
    # be past the grace period when the file runs late in a long session)
    at = int(time.time()) if at is None else at
    registry.record_many([Registration(title(i), addresses, 61616, 1, "update", ic, None, at, addresses[0])])


@pytest.mark.asyncio
async def test_lookup_over_the_network_gives_the_current_binding(tmp_path: Path) -> None:
    network = InProcessNetwork(seed=3, clock=RealClock())
    now = int(time.time())
    with Registry.open(tmp_path / "r.sqlite") as registry:
        _record(registry, 1, (address(1, 1), "fe80::1"), 5, now)
        _record(registry, 1, (address(1, 2),), 6, now + 1)  # moved: the old list stays for the grace period
        registry.quarantine_many(
            [Registration(title(2), ("2001:db8::2",), 50000, 1, "registration", None, None, 1.0, "2001:db8::2")]
        )
        listener = Listener(network.endpoint(*LISTENER), registry, keyring([title(1)], registry), system_title=HES)
        asker = network.endpoint(*ASKER)
        async with listener:
            binding = await lookup_binding(asker, LISTENER, title(1), timeout=5)
            assert binding == RemoteBinding(
                title(1), (address(1, 2),), 61616, 1, Status.REGISTERED, now + 1, (address(1, 1), "fe80::1")
            )
            assert await lookup_address(asker, LISTENER, title(1)) == Address(address(1, 2), 61616)
            assert await lookup_address(asker, LISTENER, title(9)) is None  # unknown
            assert await lookup_binding(asker, LISTENER, title(9)) is None
            quarantined = await lookup_binding(asker, LISTENER, title(2))
            assert quarantined is not None and quarantined.status is Status.QUARANTINED
            assert await lookup_address(asker, LISTENER, title(2)) is None  # no verified address
            assert listener.stats.lookups == 6


@pytest.mark.asyncio
async def test_registrations_and_lookups_share_the_port(tmp_path: Path) -> None:
    network = InProcessNetwork(seed=4, clock=RealClock())
    t = title(3)
    with Registry.open(tmp_path / "r.sqlite") as registry:
        listener = Listener(network.endpoint(*LISTENER), registry, keyring([t], registry), system_title=HES)
        meter = network.endpoint(address(3), 61616)
        asker = network.endpoint(*ASKER)
        async with listener:
            await meter.send(frame(meter_context(t), announcement(t, [address(3)])), LISTENER)
            for _ in range(500):  # the datagram is in flight until the network's timer delivers it
                if listener.stats.received:
                    break
                await asyncio.sleep(0.01)
            await listener.drain(timeout=5)
            assert await lookup_address(asker, LISTENER, t, timeout=5) == Address(address(3), 61616)
        assert listener.stats.recorded == 1 and listener.stats.lookups == 1


@pytest.mark.asyncio
async def test_lookup_over_udp_maps_ipv4_addresses(tmp_path: Path) -> None:
    with Registry.open(tmp_path / "r.sqlite") as registry:
        _record(registry, 4, ("::ffff:127.1.0.4",), 1)
        listener = Listener(await UdpTransport.open("127.0.0.1", 0), registry, keyring([]), system_title=HES)
        async with listener, await UdpTransport.open("127.0.0.1", 0) as asker:
            where = listener.transport.local_address
            assert await lookup_address(asker, where, title(4), timeout=5) == Address("127.1.0.4", 61616)


def test_the_service_answers_with_list_and_refuses_other_objects(tmp_path: Path) -> None:
    with Registry.open(tmp_path / "r.sqlite") as registry:
        _record(registry, 5, (address(5),), 1)
        service = LookupService(registry)

        def ask(*descriptors: AttributeDescriptor) -> A.Apdu:
            request = (
                A.GetRequestWithList(descriptors, invoke_id=7)
                if len(descriptors) > 1
                else A.GetRequestNormal(descriptors[0], invoke_id=7)
            )
            answer = service.reply(wrapper.encode(0x10, 1, A.encode(request)))
            assert answer is not None
            header, payload = wrapper.decode(answer)
            assert (header.source_wport, header.destination_wport) == (1, 0x10)
            return A.decode(payload)

        def by_title(
            t: bytes, selector: int = 1, obis: str = str(REGISTRATION_TABLE), attribute: int = 2
        ) -> AttributeDescriptor:
            return AttributeDescriptor(1, obis, attribute, SelectiveAccess(selector, OctetString(t)))

        reply = ask(by_title(title(5)), by_title(title(6)), by_title(title(5), obis="0.0.42.0.0.255"),
                    by_title(title(5), attribute=3), by_title(title(5), selector=2), by_title(b"short"))  # fmt: skip
        assert isinstance(reply, A.GetResponseWithList) and reply.invoke_id == 7
        first, *rest = reply.results
        assert bytes(first[0]) == title(5) and [bytes(a) for a in first[1]] != []
        assert list(rest) == [
            DataAccessResult.OBJECT_UNAVAILABLE,
            DataAccessResult.OBJECT_UNDEFINED,
            DataAccessResult.OBJECT_UNDEFINED,
            DataAccessResult.TYPE_UNMATCHED,
            DataAccessResult.TYPE_UNMATCHED,
        ]
        no_access = ask(AttributeDescriptor(1, REGISTRATION_TABLE, 2))
        assert isinstance(no_access, A.GetResponseNormal) and no_access.result is DataAccessResult.TYPE_UNMATCHED
        # not a GET-Request-Normal/-With-List: no answer
        assert service.reply(wrapper.encode(0x10, 1, A.encode(A.GetRequestNext(1)))) is None
        assert service.reply(b"\x00\x01") is None


@pytest.mark.asyncio
async def test_lookup_is_bounded_and_ignores_strays(tmp_path: Path) -> None:
    network = InProcessNetwork(seed=5, clock=RealClock())
    asker = network.endpoint(*ASKER)
    silent = network.endpoint(*LISTENER)  # nobody answers
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(DlmsTimeout):
        await lookup_address(asker, LISTENER, title(1), timeout=0.3, retries=2)
    assert 0.25 <= loop.time() - started < 2.0
    assert silent.received == 3  # the request and its two retries
    for _ in range(3):
        await silent.recv(timeout=1)
    # a stray and a wrong invoke-id before the answer are skipped
    with Registry.open(tmp_path / "r.sqlite") as registry:
        _record(registry, 1, (address(1),), 1)
        service = LookupService(registry)

        async def answer_late() -> None:
            data, source = await silent.recv(timeout=5)
            await silent.send(b"junk", source)
            header, payload = wrapper.decode(data)
            wrong = A.encode(
                A.GetResponseNormal(
                    DataAccessResult.OBJECT_UNAVAILABLE, invoke_id=(A.decode(payload).invoke_id + 1) % 16
                )
            )
            await silent.send(wrapper.encode(1, header.source_wport, wrong), source)
            reply = service.reply(data)
            assert reply is not None
            await silent.send(reply, source)

        task = loop.create_task(answer_late())
        assert await lookup_address(asker, LISTENER, title(1), timeout=5, retries=0) == Address(address(1), 61616)
        await task
    # a refusal other than "unknown" is an error, not None
    refusing = network.endpoint("2001:db8:ffff::30", 61616)

    async def refuse() -> None:
        data, source = await refusing.recv(timeout=5)
        header, payload = wrapper.decode(data)
        no = A.encode(A.GetResponseNormal(DataAccessResult.READ_WRITE_DENIED, invoke_id=A.decode(payload).invoke_id))
        await refusing.send(wrapper.encode(1, header.source_wport, no), source)

    task = loop.create_task(refuse())
    with pytest.raises(DlmsError, match="read-write-denied"):
        await lookup_binding(asker, ("2001:db8:ffff::30", 61616), title(1), timeout=5, retries=0)
    await task
    with pytest.raises(ValueError):
        lookup_request(b"short")


@pytest.mark.asyncio
async def test_a_client_in_another_process_resolves_through_the_listener(tmp_path: Path) -> None:
    network = InProcessNetwork(seed=6, clock=RealClock())
    here = address(9)
    meter = Meter.from_objects(default_meter(title(9)), address=here)
    server = Server(network.endpoint(here, 61616))
    server.add_meter(meter)
    with Registry.open(tmp_path / "r.sqlite") as registry:
        _record(registry, 9, (here,), 1)
        listener = Listener(network.endpoint(*LISTENER), registry, keyring([]), system_title=HES)
        resolver = RemoteResolver(network.endpoint(*ASKER), LISTENER, timeout=5, ttl=60)
        client = Client(network.endpoint("2001:db8:ffff::30", 61616), system_title=HES, resolver=resolver, timeout=2)
        async with listener, server, client:
            async with client.associate(title(9)) as association:
                assert bytes(await association.get((1, "0.0.42.0.0.255", 2))) == logical_device_name(title(9))
                assert bytes(await association.get((1, "0.0.42.0.0.255", 2))) == logical_device_name(title(9))
            assert listener.stats.lookups == 1  # every send asked the resolver; the answer was kept
            assert await resolver.title_of(Address(here, 61616)) == title(9)
            with pytest.raises(NoAddress):
                await resolver.resolve(title(10))
            resolver.forget()
            await resolver.resolve(title(9))
            assert listener.stats.lookups == 3
