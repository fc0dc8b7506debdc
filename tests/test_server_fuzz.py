"""Mutated traffic: valid frames of every kind the server understands, with
bytes flipped, inserted, dropped and cut, fed into associations in every
state (none, public, HLS pending, HLS done and ciphered, pre-established).
Whatever arrives, the server answers or drops it and never fails itself
(``internal_errors`` stays 0), and the valid clients are still served after.

Seeded and bounded: 20,000 mutants per backend."""

from __future__ import annotations

import random

import pytest

from dlmsmesh import acse, wrapper
from dlmsmesh import apdu as A
from dlmsmesh.acse_pdu import AARQ, RLRQ, Mechanism
from dlmsmesh.apdu_model import AttributeDescriptor, MethodDescriptor, entry_descriptor
from dlmsmesh.server import PRE_ESTABLISHED_CLIENT
from dlmsmesh.transport import Address, Incoming
from dlmsmesh.types import DoubleLongUnsigned, OctetString

from .server_support import (
    AUTHENC,
    CLOCK,
    LDN,
    PROFILE,
    SERVER,
    Client,
    client_context,
    initiate,
    make_meter,
    make_server,
    public_client,
)

MUTANTS = 20_000


def _mutate(rng: random.Random, frame: bytes) -> bytes:
    data = bytearray(frame)
    for _ in range(rng.randrange(1, 4)):
        op = rng.randrange(5)
        at = rng.randrange(len(data) + 1)
        if op == 0 and data:
            data[min(at, len(data) - 1)] ^= 1 << rng.randrange(8)
        elif op == 1:
            data[at:at] = rng.randbytes(rng.randrange(1, 4))
        elif op == 2 and data:
            del data[at : at + rng.randrange(1, 4)]
        elif op == 3:
            data = data[:at]
        else:
            data[min(at, max(len(data) - 1, 0)) : min(at, max(len(data) - 1, 0)) + 1] = bytes((rng.randrange(256),))
    return bytes(data)


@pytest.mark.asyncio
async def test_mutated_frames_never_make_the_server_fail() -> None:
    rng = random.Random(1205)
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    public = await public_client(server)
    secure = Client(server, client_sap=1, ctx=client_context())
    await secure.hls_gmac(initiate())
    pending = Client(server, client_sap=1, source=Address("fd00::7", 50000),
                     ctx=client_context(title=bytes.fromhex("4845530000000007")))  # fmt: skip
    assert (await pending.associate(pending.hls_aarq(Mechanism.HIGH_GMAC, initiate()))).accepted
    ctx = secure.ctx
    assert ctx is not None
    seeds = [
        acse.encode(AARQ(user_information=initiate())),
        acse.encode(secure.hls_aarq(Mechanism.HIGH_GMAC, initiate())),
        acse.encode(RLRQ()),
        A.encode(A.GetRequestNormal(CLOCK)),
        A.encode(A.GetRequestWithList((CLOCK, LDN))),
        A.encode(A.GetRequestNormal(AttributeDescriptor(7, "1.0.99.1.0.255", 2, entry_descriptor(1, 4)))),
        A.encode(A.GetRequestNext(1)),
        A.encode(A.SetRequestNormal(AttributeDescriptor(1, "0.0.42.0.0.255", 2), OctetString(b"x"))),
        A.encode(A.SetRequestWithFirstDatablock(AttributeDescriptor(3, "1.0.1.8.0.255", 2), False, 1, b"\x06\x00")),
        A.encode(A.ActionRequestNormal(MethodDescriptor(3, "1.0.1.8.0.255", 1), DoubleLongUnsigned(0))),
        A.encode(A.GeneralBlockTransfer(b"\xc0\x01\xc1\x00\x08", last_block=False, block_number=1)),
        ctx.protect(A.encode(A.GetRequestNormal(PROFILE))),
        ctx.protect(A.encode(A.GetRequestNormal(LDN)), general=True),
    ]
    clients = [
        (public.client_sap, public.source),
        (secure.client_sap, secure.source),
        (pending.client_sap, pending.source),
        (PRE_ESTABLISHED_CLIENT, Address("fd00::8", 50000)),
        (16, Address("fd00::9", 50000)),  # never associated
    ]
    answered = 0
    for i in range(MUTANTS):
        client_sap, source = clients[i % len(clients)]
        frame = _mutate(rng, seeds[rng.randrange(len(seeds))])
        datagram = wrapper.encode(client_sap, 1, frame) if frame and rng.random() < 0.9 else _mutate(rng, frame)
        answered += bool(await server.handle(Incoming(datagram, source, SERVER)))
    assert server.stats.internal_errors == 0
    assert answered > MUTANTS // 10
    # the valid clients are served still (a mutant may have released or
    # replaced an association from their address: open it again if so)
    public = await public_client(server)
    assert await public.get(LDN) == b"MMM0000012345678"
    fresh = Client(server, client_sap=1, source=Address("fd00::a", 50000),
                   ctx=client_context(title=bytes.fromhex("484553000000000A")))  # fmt: skip
    await fresh.hls_gmac(initiate())
    assert await fresh.get(LDN, "glo") == b"MMM0000012345678"
    await server.close()
