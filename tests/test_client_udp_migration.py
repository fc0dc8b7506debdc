"""Meters at several addresses behind one Server on a wildcard UDP socket,
over real loopback sockets: each answers from the address it was asked at,
and a meter that moves to another address keeps its open association (no
second AARQ), plain and ciphered."""

from __future__ import annotations

import sys

import pytest

from dlmsmesh.client import Client, MemoryResolver
from dlmsmesh.server import Server
from dlmsmesh.transport import Address, UdpTransport

from .loopback_support import AK, EK, HEAD_END, make_meter

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="127.0.0.0/8 is all local on Linux")

TITLE_A = bytes.fromhex("4D4D4D0000BC6101")
TITLE_B = bytes.fromhex("4D4D4D0000BC6102")
LDN = (1, "0.0.42.0.0.255", 2)


@pytest.mark.asyncio
@pytest.mark.parametrize("ciphered", [False, True], ids=["plain", "ciphered"])
async def test_meters_answer_from_their_own_address_and_a_move_keeps_the_association(ciphered: bool) -> None:
    server = Server(await UdpTransport.open("0.0.0.0", 0))
    port = server.transport.local_address.port
    server.add_meter(make_meter(title=TITLE_A, address="127.0.0.2"))
    server.add_meter(make_meter(title=TITLE_B, address="127.0.0.3", policy=0x6C if ciphered else 0))
    resolver = MemoryResolver()
    resolver.set(TITLE_A, Address("127.0.0.2", port))
    resolver.set(TITLE_B, Address("127.0.0.3", port))
    client = Client(await UdpTransport.open("127.0.0.1", 0), system_title=HEAD_END, resolver=resolver, timeout=1.0)
    settings = {"client_sap": 1, "security": "authenc", "ek": EK, "ak": AK} if ciphered else {}
    async with server, client:
        async with client.associate(TITLE_A) as a, client.associate(TITLE_B, **settings) as b:
            assert bytes(await a.get(LDN)) == b"MMM0000012345601"
            assert bytes(await b.get(LDN)) == b"MMM0000012345602"
            # node migration: the meter answers at a new address, the resolver learns it
            server.readdress(TITLE_B, "127.0.0.4")
            resolver.set(TITLE_B, Address("127.0.0.4", port))
            for _ in range(3):
                assert bytes(await b.get(LDN)) == b"MMM0000012345602"
            assert bytes(await a.get(LDN)) == b"MMM0000012345601"
            assert server.stats.associations_opened == 2  # no second AARQ
        stats = client.stats
        assert stats.retries == 0 and stats.timeouts == 0 and stats.strays == 0
