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
(measured around the 1,000 GETs only).  :func:`floor_per_round_trip`
measures the same for a bare UDP ping-pong of the same datagram sizes on
the asyncio event loop (two sockets on the loop's selector, the loop's
turns, a future and a timer per wait, the socket system calls): what any
asyncio code pays per round trip.  The difference
is the library's own CPU time per round trip, whose target (issue 13) is
50 us for a glo-ciphered GET on the native backend.
``python benchmarks/workloads_client.py`` prints the table, and
``compare.py`` prints it after its own when the client workloads run
(benchmarks/README.md).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import socket
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


def _expire(waiter: asyncio.Future[bytes]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError("the floor's echo did not answer"))


async def _floor_session(requests: int, request_size: int, reply_size: int) -> float:
    """The bare ping-pong: two non-blocking UDP sockets on the event loop's
    selector (``add_reader``), one ``recvfrom``/``sendto`` each way, a
    future and a timer per wait.  Not asyncio's datagram transport: it
    reads into a new 256 KiB buffer per datagram (its ``max_size``), whose
    allocation costs more than the rest of the ping-pong on a busy machine
    and made the floor swing from 24 to 51 us between runs."""
    loop = asyncio.get_running_loop()
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    reply, request = bytes(reply_size), bytes(request_size)
    waiter: List[Any] = [None]
    try:
        for sock in (server, client):
            sock.setblocking(False)
            sock.bind((HOST, 0))
        address = server.getsockname()

        def echo() -> None:
            try:
                _data, peer = server.recvfrom(65536)
            except BlockingIOError:
                return
            server.sendto(reply, peer)

        def answer() -> None:
            try:
                data, _peer = client.recvfrom(65536)
            except BlockingIOError:
                return
            w = waiter[0]
            if w is not None and not w.done():
                w.set_result(data)

        loop.add_reader(server.fileno(), echo)
        loop.add_reader(client.fileno(), answer)
        try:
            cpu = time.process_time()
            for _ in range(requests):
                w = waiter[0] = loop.create_future()
                timer = loop.call_later(5.0, _expire, w)
                client.sendto(request, address)
                await w
                timer.cancel()
            return time.process_time() - cpu
        finally:
            loop.remove_reader(server.fileno())
            loop.remove_reader(client.fileno())
    finally:
        client.close()
        server.close()


def floor_per_round_trip(sessions: int = 5, request_size: int = 40, reply_size: int = 45) -> float:
    """Seconds of process CPU time per round trip of a bare UDP ping-pong on
    127.0.0.1 driven by the asyncio event loop, with datagrams of the sizes a
    glo-ciphered GET and its reply have: the loop's turns, the futures, the
    timers and the socket system calls a round trip costs whatever library
    sends it (the least of ``sessions`` of 1,000).  The library's own CPU
    time per round trip is what the GETs take above it."""
    return min(asyncio.run(_floor_session(REQUESTS, request_size, reply_size)) for _ in range(sessions)) / REQUESTS


#: the issue's target: library CPU per glo-ciphered GET round trip, native backend
LIBRARY_TARGET_US = 50.0


def cpu_rows(sessions: int = 5) -> List[dict[str, Any]]:
    """Process CPU, the transport floor and the library's own CPU per GET
    round trip (client + server), in microseconds, for each backend and
    protection; the native glo-ciphered row carries the target."""
    impls = [NATIVE, PURE] if dlmsmesh.native_available() else [PURE]
    floor = floor_per_round_trip(sessions) * 1e6
    rows = []
    for ciphered in (False, True):
        for impl in impls:
            total = cpu_per_round_trip(impl, ciphered, sessions) * 1e6
            target = LIBRARY_TARGET_US if ciphered and impl == NATIVE else None
            library = total - floor
            rows.append(
                {
                    "backend": impl,
                    "protection": "glo-ciphered" if ciphered else "plain",
                    "process_us": round(total, 1),
                    "floor_us": round(floor, 1),
                    "library_us": round(library, 1),
                    "target_us": target,
                    "pass": None if target is None else library <= target,
                }
            )
    return rows


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


def render_cpu(rows: List[dict[str, Any]]) -> str:
    lines = ["CPU per GET round trip, client + server in one process (best of 5 x 1,000), microseconds:",
             f"{'backend':8} {'protection':13} {'process':>8} {'floor':>7} {'library':>8}  target"]  # fmt: skip
    for r in rows:
        verdict = "" if r["target_us"] is None else f"<= {r['target_us']:g}  {'PASS' if r['pass'] else 'MISS'}"
        lines.append(
            f"{r['backend']:8} {r['protection']:13} {r['process_us']:8.1f} {r['floor_us']:7.1f} {r['library_us']:8.1f}  {verdict}"
        )
    lines.append("floor: a bare UDP ping-pong of the same sizes on the event loop (selector, futures, timers, system calls)")
    return "\n".join(lines)


def main() -> None:
    """Print the CPU time per GET round trip on each backend, the floor, and
    the library's own share (the issue's target: 50 us, native, glo-ciphered)."""
    print(render_cpu(cpu_rows()))


if __name__ == "__main__":
    sys.exit(main())
