"""The Registry as the Client's address resolver, against a real Server over
loopback UDP, and on the in-process network an association follows the meter
when the registry's binding changes (node migration, no second AARQ); unknown and quarantined titles
have no address; plain replies are matched by address through title_of."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from dlmsmesh.client import AddressResolver, Client, NoAddress
from dlmsmesh.registration import Outcome, Registration, Registry
from dlmsmesh.server import Server
from dlmsmesh.transport import Address, InProcessNetwork, RealClock, UdpTransport

from .loopback_support import AK, AUTHENC, CLIENT_HOST, EK, HEAD_END, MOVED_HOST, PORT, SERVER_HOST, TITLE, make_meter

LDN = (1, "0.0.42.0.0.255", 2)
NAME = b"MMM0000012345678"
MANAGEMENT: dict[str, Any] = {"client_sap": 1, "auth": "hls-gmac", "security": "authenc", "ek": EK, "ak": AK}
BOUND = 60.0
OTHER = bytes.fromhex("4D4D4D0000000099")


def announce(title: bytes, host: str, port: int, ic: int) -> Registration:
    return Registration(title, (host,), port, 1, "update", ic, None, time.time(), host)


def test_the_registry_is_an_address_resolver(tmp_path: Path) -> None:
    with Registry.open(tmp_path / "r.sqlite") as registry:
        assert isinstance(registry, AddressResolver)


@pytest.mark.asyncio
@pytest.mark.parametrize("settings", [{}, MANAGEMENT], ids=["public-plain", "management-ciphered"])
async def test_an_association_over_udp_resolves_through_the_registry(tmp_path: Path, settings: dict[str, Any]) -> None:
    async with asyncio.timeout(BOUND):
        server = Server(await UdpTransport.open("127.0.0.1", 0))
        server.add_meter(make_meter(authentication="hls-gmac", policy=int(AUTHENC), address="127.0.0.1"))
        port = server.transport.local_address.port
        with Registry.open(tmp_path / "r.sqlite") as registry:
            registry.record_many([announce(TITLE, "127.0.0.1", port, 1)])
            client = Client(
                await UdpTransport.open("127.0.0.1", 0), system_title=HEAD_END, resolver=registry, timeout=1.0
            )
            async with server, client, client.associate(TITLE, **settings) as meter:
                assert await meter.get(LDN) == NAME
                assert meter.address == Address("127.0.0.1", port)
                assert await meter.get(LDN) == NAME
                assert server.stats.associations_opened == 1 and client.stats.strays == 0
                assert await registry.title_of(Address("127.0.0.1", port)) == TITLE


# Over real UDP a Server bound to a wildcard answers from the source address the
# kernel picks, not the one the request was sent to, so a move between two
# loopback addresses cannot be shown there; the in-process network carries each
# address as its own endpoint (as the client's own migration tests do).
@pytest.mark.asyncio
@pytest.mark.parametrize("settings", [{}, MANAGEMENT], ids=["public-plain", "management-ciphered"])
async def test_an_association_follows_the_meter_the_registry_moves(tmp_path: Path, settings: dict[str, Any]) -> None:
    net = InProcessNetwork(seed=1, clock=RealClock())
    server = Server(net.endpoint(SERVER_HOST, PORT, aliases=[MOVED_HOST]))
    server.add_meter(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    with Registry.open(tmp_path / "r.sqlite") as registry:
        registry.record_many([announce(TITLE, SERVER_HOST, PORT, 1)])
        client = Client(net.endpoint(CLIENT_HOST, PORT), system_title=HEAD_END, resolver=registry, timeout=0.5)
        async with asyncio.timeout(BOUND), server, client, client.associate(TITLE, **settings) as meter:
            assert await meter.get(LDN) == NAME
            # node migration: the meter announces its new address, the registry records it
            server.readdress(TITLE, MOVED_HOST)
            assert registry.record_many([announce(TITLE, MOVED_HOST, PORT, 2)]) == [Outcome.RECORDED]
            assert await meter.get(LDN) == NAME
            assert meter.address == Address(MOVED_HOST, PORT)
            assert server.stats.associations_opened == 1  # no second AARQ
            assert client.stats.strays == 0 and client.stats.timeouts == 0
            # and back, by an older announcement that must not win
            assert registry.record_many([announce(TITLE, SERVER_HOST, PORT, 1)]) == [Outcome.STALE]
            assert await meter.get(LDN) == NAME
            assert meter.address == Address(MOVED_HOST, PORT)
            # a plain reply from the previous address still names the meter (grace period)
            assert await registry.title_of(Address(SERVER_HOST, PORT)) == TITLE
            assert await registry.title_of(Address(MOVED_HOST, PORT)) == TITLE
            assert await registry.title_of(Address(MOVED_HOST, PORT + 1)) is None


@pytest.mark.asyncio
async def test_unknown_and_quarantined_titles_have_no_address(tmp_path: Path) -> None:
    with Registry.open(tmp_path / "r.sqlite") as registry:
        with pytest.raises(NoAddress):
            await registry.resolve(OTHER)
        registry.quarantine_many([announce(OTHER, "fd00::9", 61616, 1)])
        with pytest.raises(NoAddress) as caught:
            await registry.resolve(OTHER)
        assert caught.value.system_title == OTHER
        assert await registry.title_of(Address("fd00::9", 61616)) is None
        registry.admit(OTHER)
        assert await registry.resolve(OTHER) == Address("fd00::9", 61616)
        assert await registry.title_of(Address("fd00:0::9", 61616)) == OTHER


@pytest.mark.asyncio
async def test_title_of_follows_moves_of_this_process_and_another(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    with Registry.open(path, staleness=0.01) as registry, Registry.open(path) as other:
        registry.record_many([announce(TITLE, "fd00::1", 4059, 1), announce(OTHER, "fd00::2", 4059, 1)])
        assert await registry.title_of(Address("fd00::1", 4059)) == TITLE  # the map is built
        # TITLE moves away from fd00::1 and OTHER moves onto it: a current address beats a previous one
        registry.record_many([announce(TITLE, "fd00::3", 4059, 2), announce(OTHER, "fd00::1", 4059, 2)])
        assert await registry.title_of(Address("fd00::1", 4059)) == OTHER
        assert await registry.title_of(Address("fd00::3", 4059)) == TITLE
        assert await registry.title_of(Address("fd00::2", 4059)) == OTHER  # OTHER's previous address
        # another process moves TITLE: seen within the staleness bound
        other.record_many([announce(TITLE, "fd00::4", 4059, 3)])
        await asyncio.sleep(0.05)
        assert await registry.title_of(Address("fd00::4", 4059)) == TITLE
        assert await registry.title_of(Address("fd00::3", 4059)) == TITLE  # previous, in its grace period
        other.quarantine_many([announce(bytes(8), "fd00::9", 4059, 1)])
        await asyncio.sleep(0.05)
        assert await registry.title_of(Address("fd00::9", 4059)) is None  # quarantined: no address


@pytest.mark.asyncio
async def test_previous_addresses_stop_matching_after_the_grace_period(tmp_path: Path) -> None:
    with Registry.open(tmp_path / "r.sqlite", grace=0.2) as registry:
        registry.record_many([announce(TITLE, "fd00::1", 4059, 1), announce(TITLE, "fd00::2", 4059, 2)])
        assert await registry.title_of(Address("fd00::1", 4059)) == TITLE
        await asyncio.sleep(0.3)
        assert await registry.title_of(Address("fd00::1", 4059)) is None
        assert await registry.title_of(Address("fd00::2", 4059)) == TITLE
        binding = registry.lookup(TITLE)
        assert binding is not None and binding.previous_addresses == ()
