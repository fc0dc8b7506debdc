"""The head-end's round trip: GET requests from one Client to one Server over
loopback UDP (127.0.0.1), both in this process on one asyncio event loop.

Each op opens two UDP sockets, starts a Server with one fresh
``default_meter`` and a Client (fresh counters on both sides, so every op
runs the same exchanges), opens one association (AARQ/AARE), sends 1,000 GET
requests one after the other, each awaited before the next (register value,
clock, logical device name in turn), and releases it (RLRQ/RLRE).  Plain: the
public client, no security.  Glo-ciphered: the management client, LLS in the
ciphered context, every request and reply glo-ciphered with suite 0
authenticated encryption.  The backend is switched for the op, as in
``workloads_server.py``.

What a round trip includes: the client's request encoding, ciphering,
wrapper and ``sendto``; the kernel's loopback delivery; the server's
receive, wrapper, deciphering, xDLMS decoding, access check, object
dispatch, reply encoding, ciphering and ``sendto``; the client's receive,
routing, deciphering and decoding; and the asyncio event loop turning
between them.  The op's wall time over 1,000 round trips (plus one AARQ, one
RLRQ and the sockets' setup: about 1% of the op) gives the GET rate.

:func:`cpu_per_round_trip` gives the other figure of issue 13: the process's
CPU time (``time.process_time``: user + system time of every thread of the
process) per glo-ciphered GET round trip, client and server side together,
minus nothing: the event loop, the socket system calls and the garbage
collector are in it; the sockets' setup, the AARQ and the RLRQ are not
(measured around the 1,000 GETs only).  The issue's target is 50 us per
ciphered round trip on the native backend; compare.py's targets are ratios
between implementations, so this one is not among them:
``python benchmarks/workloads_client.py`` prints it (benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import time
from dataclasses import dataclass
from functools import cache
from typing import Any, Callable, List, Tuple

import dlmsmesh
from bench_support import NATIVE, PURE, Workload
from dlmsmesh.client import Client
from dlmsmesh.cosem import default_meter
from dlmsmesh.cosem.meter_set import logical_device_name
from dlmsmesh.security import DEFAULT_POLICY
from dlmsmesh.server import Meter, MeterKeys, Server
from dlmsmesh.transport.udp import UdpTransport
from dlmsmesh.types import DateTime

REQUESTS = 1_000
TITLE = bytes.fromhex("4D4D4D0000BC614E")
CLIENT_TITLE = bytes.fromhex("4845530000000001")
EK = bytes(range(16))
AK = bytes(range(16, 32))
PASSWORD = b"12345678"
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.timezone.utc)
HOST = "127.0.0.1"
_READS = ((3, "1.0.1.8.0.255", 2), (8, "0.0.1.0.0.255", 2), (1, "0.0.42.0.0.255", 2))


@dataclass(frozen=True)
class ClientInput:
    ciphered: bool
    requests: int


@cache
def plain_input() -> ClientInput:
    return ClientInput(False, REQUESTS)


@cache
def ciphered_input() -> ClientInput:
    return ClientInput(True, REQUESTS)


def _meter(ciphered: bool) -> Meter:
    if ciphered:
        objects = default_meter(
            TITLE, now=lambda: NOW, authentication="lls", secret=PASSWORD, policy=int(DEFAULT_POLICY)
        )
        return Meter.from_objects(objects, keys=MeterKeys(ek=EK, ak=AK))
    return Meter.from_objects(default_meter(TITLE, now=lambda: NOW))


def _settings(ciphered: bool) -> dict[str, Any]:
    if ciphered:
        return {"client_sap": 1, "auth": "lls", "password": PASSWORD, "security": "authenc", "ek": EK, "ak": AK}
    return {"client_sap": 16}


async def _session(inp: ClientInput) -> Tuple[List[Any], float]:
    """The GET values, and the CPU seconds the 1,000 round trips took."""
    server_socket = await UdpTransport.open(HOST, 0)
    server = Server(server_socket)
    server.add_meter(_meter(inp.ciphered))
    address = server_socket.local_address
    # one association per op: the cap on new associations per second is not what is measured
    client = Client(
        await UdpTransport.open(HOST, 0), system_title=CLIENT_TITLE, timeout=5.0, associations_per_second=None
    )
    async with server, client:
        async with client.associate(TITLE, address=(address.host, address.port), **_settings(inp.ciphered)) as meter:
            values: List[Any] = []
            cpu = time.process_time()
            for i in range(inp.requests):
                values.append(await meter.get(_READS[i % 3]))
            cpu = time.process_time() - cpu
    return values, cpu


def _run(impl: str, inp: ClientInput) -> Tuple[List[Any], float]:
    previous = dlmsmesh.backend()
    dlmsmesh.set_backend(impl)
    try:
        return asyncio.run(_session(inp))
    finally:
        dlmsmesh.set_backend(previous)


def _round_trips(impl: str) -> Callable[[ClientInput], List[Any]]:
    def op(inp: ClientInput) -> List[Any]:
        return _run(impl, inp)[0]

    return op


def cpu_per_round_trip(impl: str, ciphered: bool = True, sessions: int = 5) -> float:
    """Seconds of process CPU time per GET round trip (client + server),
    the least of ``sessions`` sessions of 1,000 GETs (see the module text)."""
    inp = ciphered_input() if ciphered else plain_input()
    return min(_run(impl, inp)[1] for _ in range(sessions)) / inp.requests


def _check(inp: ClientInput, result: Any) -> None:
    assert len(result) == inp.requests
    energy, clock, name = result[:3]
    assert int(energy) > 0
    assert DateTime(bytes(clock)).to_datetime() == NOW
    assert bytes(name) == logical_device_name(TITLE)
    # every GET answered, each by its own object, and the meter's clock and name never changed
    assert all(result[i] == result[i % 3] for i in range(inp.requests)), "a GET got another object's value"


WORKLOADS: List[Workload] = [
    Workload(
        name="client: 1,000 GET round trips over loopback UDP, plain",
        description="one Client and one Server in one process, UDP on 127.0.0.1: the public client's "
        "AARQ, 1,000 GET requests awaited one by one (register value, clock, logical device name), RLRQ",
        setup=plain_input,
        ops={NATIVE: lambda: _round_trips(NATIVE), PURE: lambda: _round_trips(PURE)},
        check=_check,
        suite="client",
    ),
    Workload(
        name="client: 1,000 GET round trips over loopback UDP, glo-ciphered",
        description="the same for the management client: LLS in the ciphered context, every request and "
        "reply glo-ciphered with suite 0 authenticated encryption",
        setup=ciphered_input,
        ops={NATIVE: lambda: _round_trips(NATIVE), PURE: lambda: _round_trips(PURE)},
        check=_check,
        suite="client",
    ),
]


def main() -> None:
    """Print the CPU time per GET round trip on each backend (the issue's target: 50 us, native, ciphered)."""
    impls = [NATIVE, PURE] if dlmsmesh.native_available() else [PURE]
    for ciphered in (False, True):
        for impl in impls:
            us = cpu_per_round_trip(impl, ciphered) * 1e6
            kind = "glo-ciphered" if ciphered else "plain"
            print(f"{impl:6} {kind:12} {us:7.1f} us of CPU per GET round trip (client + server, best of 5 x 1,000)")


if __name__ == "__main__":
    sys.exit(main())
