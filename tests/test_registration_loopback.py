"""Issue 14, "Done when": 500 emulated meters register through real UDP on
loopback; 50 of them then change address (node migration); the
associations a Client opened to those 50 before the change keep working
with no new AARQ; the registry shows the new addresses and the history.

Each meter is a Server of its own on its own loopback address
(127.1.x.y, one port for all), announced as the IPv4-mapped IPv6 address
``::ffff:127.1.x.y``: a Server answers from its socket's address, and the
Client matches a plain reply (the AARE) by the address it sent to, so one
wildcard-bound socket for many meters would not do on real UDP (see
:class:`~tests.registration_support.MovableUdp`, which moves a meter's
socket to its new address while its Server keeps its associations).
"""

from __future__ import annotations

import asyncio
import random
import time
from pathlib import Path
from typing import Any

import pytest

from dlmsmesh.client import Client
from dlmsmesh.cosem import default_meter
from dlmsmesh.cosem.meter_set import logical_device_name
from dlmsmesh.registration.announcer import Announcer
from dlmsmesh.registration.listener import Listener
from dlmsmesh.registration.registry import Registry, Status
from dlmsmesh.server import Meter, MeterKeys, Server
from dlmsmesh.transport import UdpTransport

from .registration_support import HES, MovableUdp, keyring, keys_of, title
from .server_support import AUTHENC

pytestmark = pytest.mark.single_backend  # real sockets and 500 servers: the native backend, as deployed

METERS = 500
MOVED = 50
LDN = (1, "0.0.42.0.0.255", 2)
BOUND = 90.0


def _host(i: int, generation: int) -> str:
    return f"127.{generation + 1}.{i // 200}.{i % 200 + 1}"


def _meter(i: int, host: str, port: int) -> Meter:
    t = title(i)
    ek, ak = keys_of(t)
    mapped = f"::ffff:{host}"
    objects = default_meter(t, authentication="hls-gmac", policy=int(AUTHENC), addresses=[mapped], port=port)
    return Meter.from_objects(objects, keys=MeterKeys(ek=ek, ak=ak), address=mapped)


async def _until(condition: Any, what: str, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {seconds} s: {what}")
        await asyncio.sleep(0.1)


@pytest.mark.asyncio
async def test_500_meters_register_over_udp_and_50_move_under_live_associations(tmp_path: Path) -> None:
    titles = [title(i) for i in range(METERS)]
    registry = Registry.open(tmp_path / "registry.sqlite")
    listener = Listener(
        await UdpTransport.open("127.0.0.1", 0, queue_size=1 << 14), registry, keyring(titles, registry),
        system_title=HES,
    )  # fmt: skip
    destination = listener.transport.local_address
    first = await MovableUdp.open(_host(0, 0))
    port = first.local_address.port
    sockets = [first] + [await MovableUdp.open(_host(i, 0), port) for i in range(1, METERS)]
    servers = [Server(s) for s in sockets]
    meters = [server.add_meter(_meter(i, _host(i, 0), port)) for i, server in enumerate(servers)]
    announcers = [
        Announcer(
            server,
            meter,
            destination=destination,
            rng=random.Random(i),
            randomisation_start_interval=2,
            number_of_retries=1,
            repetition_delay=1,
        )  # fmt: skip
        for i, (server, meter) in enumerate(zip(servers, meters))
    ]
    client = Client(
        await UdpTransport.open("127.0.0.1", 0), system_title=HES, resolver=registry, timeout=3.0,
        in_flight_per_router=None, associations_per_second=None,
    )  # fmt: skip
    try:
        async with asyncio.timeout(BOUND):
            await listener.start()
            for server in servers:
                await server.start()
            await client.start()
            for a in announcers:
                await a.start()

            def registered() -> int:
                return sum(1 for t in titles if (b := registry.lookup(t)) is not None and b.status is Status.REGISTERED)

            await _until(lambda: registered() == METERS, "every meter registered")
            for i in (0, 137, METERS - 1):
                b = registry.lookup(titles[i])
                assert b is not None and b.addresses == (f"::ffff:{_host(i, 0)}",) and b.port == port

            # associations to the 50 that will move, opened through the registry's addresses
            moving = list(range(0, METERS, METERS // MOVED))[:MOVED]
            settings: dict[str, Any] = {"client_sap": 1, "auth": "hls-gmac", "security": "authenc"}
            associations = await asyncio.gather(
                *(
                    client.open(titles[i], **settings, ek=keys_of(titles[i])[0], ak=keys_of(titles[i])[1])
                    for i in moving
                )
            )
            names = await asyncio.gather(*(a.get(LDN) for a in associations))
            assert [bytes(n) for n in names] == [logical_device_name(titles[i]) for i in moving]
            assert [servers[i].stats.associations_opened for i in moving] == [1] * MOVED

            # node migration: a new address, the Server's associations kept, an update announced
            for i in moving:
                await sockets[i].move(_host(i, 1))
                servers[i].readdress(titles[i], f"::ffff:{_host(i, 1)}")

            def moved() -> bool:
                return all(
                    (b := registry.lookup(titles[i])) is not None and b.addresses == (f"::ffff:{_host(i, 1)}",)
                    for i in moving
                )

            await _until(moved, "the 50 new addresses recorded")
            names = await asyncio.gather(*(a.get(LDN) for a in associations))
            assert [bytes(n) for n in names] == [logical_device_name(titles[i]) for i in moving]
            # the same associations: no meter saw a second AARQ
            assert [servers[i].stats.associations_opened for i in moving] == [1] * MOVED
            assert all(a.address is not None and a.address.host == _host(i, 1) for a, i in zip(associations, moving))

            for i in moving[:5]:
                b = registry.lookup(titles[i])
                assert b is not None and b.kind == "update" and f"::ffff:{_host(i, 0)}" in b.previous_addresses
                history = registry.history(titles[i])
                seen = [tuple(h["addresses"]) for h in history]
                assert seen[0] == (f"::ffff:{_host(i, 0)}",) and seen[-1] == (f"::ffff:{_host(i, 1)}",)
                assert history[0]["kind"] == "registration" and history[-1]["kind"] == "update"
            # a meter that stayed has its one address and no update
            still = registry.lookup(titles[1])
            assert still is not None and still.addresses == (f"::ffff:{_host(1, 0)}",)
            stats = listener.stats
            assert stats.security_failures == stats.malformed == stats.quarantined == stats.store_errors == 0
            assert listener.transport.dropped == 0
            for a in associations:
                await client.release(a)
            print(f"\n500 meters over UDP, 50 moved: listener {stats.as_dict()}")
    finally:
        for a in announcers:
            await a.close()
        await client.close()
        for server in servers:
            await server.close()
        await listener.close()
        registry.close()
