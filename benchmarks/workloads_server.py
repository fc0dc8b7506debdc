"""The meter server's workloads: what one request costs the server, from the
datagram in to the datagram out (wrapper, security, xDLMS, object dispatch,
reply encoding), through ``Server.handle`` without a socket.

Each op serves, on a fresh meter (so the same frames verify again), an AARQ
and then 1,000 GET requests of the register value, the clock and the
logical device name in turn: plain from the public client, or glo-ciphered
(suite 0, authenticated encryption) from the management client of an LLS
association in the ciphered context.  The backend is switched for the op
(the server runs through the layer modules, not a backend module).
"""

from __future__ import annotations

import asyncio
import datetime as dt
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable, List

import dlmsmesh
from bench_support import NATIVE, PURE, Workload
from dlmsmesh import acse, wrapper
from dlmsmesh import apdu as A
from dlmsmesh.acse_pdu import AARQ, ApplicationContext, Mechanism
from dlmsmesh.apdu_model import AttributeDescriptor
from dlmsmesh.cosem import default_meter
from dlmsmesh.security import DEFAULT_POLICY, Role, SecurityContext
from dlmsmesh.server import Meter, MeterKeys, Server
from dlmsmesh.transport import Address, Incoming, InProcessNetwork
from dlmsmesh.xdlms_initiate import Conformance, InitiateRequest, decode_user_information, encode_user_information

REQUESTS = 1_000
TITLE = bytes.fromhex("4D4D4D0000BC614E")
CLIENT_TITLE = bytes.fromhex("4845530000000001")
EK = bytes(range(16))
AK = bytes(range(16, 32))
PASSWORD = b"12345678"
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.timezone.utc)
SERVER = Address("fd00::1", 4059)
PEER = Address("fd00::2", 50000)
_READS = (
    AttributeDescriptor(3, "1.0.1.8.0.255", 2),
    AttributeDescriptor(8, "0.0.1.0.0.255", 2),
    AttributeDescriptor(1, "0.0.42.0.0.255", 2),
)
_CONFORMANCE = Conformance.GET | Conformance.SELECTIVE_ACCESS | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ


@dataclass(frozen=True)
class ServerInput:
    ciphered: bool
    client_sap: int
    datagrams: List[bytes]  # the AARQ, then the GETs, each in its wrapper


def _gets() -> List[bytes]:
    return [A.encode(A.GetRequestNormal(_READS[i % 3], invoke_id=i % 16)) for i in range(REQUESTS)]


@cache
def plain_input() -> ServerInput:
    aarq = acse.encode(AARQ(user_information=InitiateRequest(conformance=_CONFORMANCE, max_receive_pdu_size=1224)))
    return ServerInput(False, 16, [wrapper.encode(16, 1, apdu) for apdu in [aarq, *_gets()]])


@cache
def ciphered_input() -> ServerInput:
    ctx = SecurityContext(CLIENT_TITLE, peer_system_title=TITLE, ek=EK, ak=AK, role=Role.CLIENT, policy=DEFAULT_POLICY)
    initiate = encode_user_information(InitiateRequest(conformance=_CONFORMANCE, max_receive_pdu_size=1224))
    aarq = acse.encode(
        AARQ(
            application_context=ApplicationContext.LOGICAL_NAME_CIPHERED,
            calling_ap_title=CLIENT_TITLE,
            sender_acse_requirements="1",
            mechanism=Mechanism.LOW,
            calling_authentication_value=PASSWORD,
            user_information=decode_user_information(ctx.protect(initiate)),  # type: ignore[arg-type]
        )
    )
    return ServerInput(True, 1, [wrapper.encode(1, 1, apdu) for apdu in [aarq, *ctx.protect_batch(_gets())]])


def _meter(ciphered: bool) -> Meter:
    if ciphered:
        objects = default_meter(TITLE, now=lambda: NOW, authentication="lls", secret=PASSWORD, policy=int(DEFAULT_POLICY))
        return Meter.from_objects(objects, keys=MeterKeys(ek=EK, ak=AK))
    return Meter.from_objects(default_meter(TITLE, now=lambda: NOW))


def _serve(impl: str) -> Callable[[ServerInput], List[bytes]]:
    def op(inp: ServerInput) -> List[bytes]:
        previous = dlmsmesh.backend()
        dlmsmesh.set_backend(impl)
        try:
            server = Server(InProcessNetwork(seed=1).endpoint(SERVER.host, SERVER.port))
            server.add_meter(_meter(inp.ciphered))

            async def run() -> List[bytes]:
                out: List[bytes] = []
                for datagram in inp.datagrams:
                    out.extend(await server.handle(Incoming(datagram, PEER, SERVER)))
                return out

            return asyncio.run(run())
        finally:
            dlmsmesh.set_backend(previous)

    return op


def _check(inp: ServerInput, result: Any) -> None:
    assert len(result) == REQUESTS + 1
    assert acse.decode(wrapper.decode(result[0])[1]).accepted  # type: ignore[attr-defined]
    want = 0xCC if inp.ciphered else 0xC4  # glo-get-response / get-response
    assert all(wrapper.decode(r)[1][0] == want for r in result[1:])


WORKLOADS: List[Workload] = [
    Workload(
        name="server: AARQ + 1,000 GETs served, plain",
        description="Server.handle on a fresh meter: the public client's AARQ, then 1,000 GET requests "
        "(register value, clock, logical device name) answered, wrapper to wrapper",
        setup=plain_input,
        ops={NATIVE: lambda: _serve(NATIVE), PURE: lambda: _serve(PURE)},
        check=_check,
        suite="server",
    ),
    Workload(
        name="server: AARQ + 1,000 GETs served, glo-ciphered",
        description="the same for the management client: LLS in the ciphered context, every request and "
        "reply glo-ciphered with suite 0 authenticated encryption",
        setup=ciphered_input,
        ops={NATIVE: lambda: _serve(NATIVE), PURE: lambda: _serve(PURE)},
        check=_check,
        suite="server",
    ),
]
