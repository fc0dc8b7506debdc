"""The server's express lane (:mod:`dlmsmesh.server.express`) serves what it
takes exactly as the general road serves it, and leaves the rest untouched.

The same datagrams go to two servers in the same state through the
transport's push callback (``Server._on_datagram``, where the lane sits):
one with the lane, one without.  Their answers (the datagrams sent, byte for
byte, in order), their statistics, the meters' invocation-counter objects
and the associations' last-use must be the same, for a mix of ciphered GETs
(stored, computed, refused, failing and waiting getters, undefined objects,
the association's own status, long answers cut into blocks), unconfirmed
GETs, other services, general-glo frames, replays, tampered and truncated
frames, and datagrams for unknown logical devices.  And the lane must have
taken most of the GETs (it is not standing aside for everything).
"""

from __future__ import annotations

import asyncio
import random
from typing import Any

import pytest

from dlmsmesh import apdu as A
from dlmsmesh.apdu_model import AttributeDescriptor, DataAccessResult
from dlmsmesh.cosem import READ_ONLY, DataAccessError, attribute, default_meter
from dlmsmesh.cosem.base import CosemObject
from dlmsmesh.cosem.typespec import octets
from dlmsmesh.server import Meter, MeterKeys, Server, express
from dlmsmesh.transport import Incoming
from dlmsmesh.types import Long, OctetString

from .server_support import (
    AK,
    AUTHENC,
    BK,
    CLOCK,
    EK,
    IC_OBJECT,
    IMPORT,
    IMPORT_SCALER,
    KEK,
    LDN,
    NOW,
    PROFILE,
    TITLE,
    make_server,
    management_client,
)

ODD = "0.0.96.1.0.255"


class _Odd(CosemObject):
    class_id = 1
    version = 0

    stored = attribute(2, Long, access=READ_ONLY, default=Long(-3))

    @attribute(3, Long, access=READ_ONLY)
    async def waited(self) -> Any:
        await asyncio.sleep(0)
        return Long(12)

    @attribute(4, Long, access=READ_ONLY)
    def refused(self) -> Any:
        raise DataAccessError(DataAccessResult.TEMPORARY_FAILURE, "not now")

    @attribute(5, OctetString, access=READ_ONLY)
    def long(self) -> Any:
        return OctetString(bytes(range(256)) * 8)  # longer than one APDU: datablocks


def _meter() -> Meter:
    objects = default_meter(TITLE, now=lambda: NOW, authentication="hls-gmac", policy=int(AUTHENC))
    objects.associations[1].objects.add(_Odd(ODD))
    return Meter.from_objects(objects, keys=MeterKeys(ek=EK, ak=AK, bk=BK, kek=KEK))


_DESCRIPTORS = [
    CLOCK, LDN, IC_OBJECT, IMPORT, IMPORT_SCALER, AttributeDescriptor(3, "1.0.1.8.0.255", 9),
    AttributeDescriptor(3, "9.9.9.9.9.9", 2), AttributeDescriptor(8, "1.0.1.8.0.255", 2),
    AttributeDescriptor(15, "0.0.40.0.0.255", 8), AttributeDescriptor(1, ODD, 2), AttributeDescriptor(1, ODD, 3),
    AttributeDescriptor(1, ODD, 4), AttributeDescriptor(1, ODD, 5),
]  # fmt: skip


async def _session(seed: int, lane: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    taken = [0]
    real = express.serve

    def counted(server: Server, incoming: Incoming) -> bool:
        if not lane:
            return False
        served = real(server, incoming)
        taken[0] += served
        return served

    monkeypatch.setattr(express, "serve", counted)
    meter = _meter()
    server = make_server(meter)
    client = await management_client(server)
    ctx = client.ctx
    assert ctx is not None
    sent: list[bytes] = []

    async def capture(data: bytes, address: Any, *, source: Any = None) -> None:
        sent.append(bytes(data))

    server.transport.send = capture  # type: ignore[method-assign]
    rng = random.Random(seed)
    answers: list[list[bytes]] = []
    last = b""
    for _ in range(160):
        kind = rng.randrange(12)
        invoke = rng.randrange(16)
        if kind <= 6:
            request: Any = A.GetRequestNormal(rng.choice(_DESCRIPTORS), invoke_id=invoke)
        elif kind == 7:
            request = A.GetRequestNormal(rng.choice(_DESCRIPTORS), invoke_id=invoke,
                                         service_class=A.ServiceClass.UNCONFIRMED)  # fmt: skip
        elif kind == 8:
            request = A.GetRequestWithList((CLOCK, IMPORT), invoke_id=invoke)
        elif kind == 9:
            request = A.SetRequestNormal(CLOCK, octets(bytes(12)), invoke_id=invoke)
        elif kind == 10:
            request = A.GetRequestNext(1, invoke_id=invoke)
        else:
            request = A.GetRequestNormal(PROFILE, invoke_id=invoke)
        frame = client.protect(A.encode(request), rng.choice(["glo", "glo", "glo", "general-glo"]))
        roll = rng.random()
        if roll < 0.08 and last:
            frame = last  # a replayed counter
        elif roll < 0.14:
            frame = frame[:-1] + bytes([frame[-1] ^ 1])  # the tag fails
        elif roll < 0.18:
            frame = frame[: rng.randrange(1, len(frame))]
        last = frame
        datagram = client.datagram(frame)
        if rng.random() < 0.03:
            datagram = datagram[:4] + b"\x00\x09" + datagram[6:]  # a logical device the meter does not have
        sent.clear()
        server._on_datagram(Incoming(datagram, client.source, client.destination))
        for _ in range(6):  # a waiting getter's task, and its send
            await asyncio.sleep(0)
        answers.append(list(sent))
    stats = {k: v for k, v in vars(server.stats).items() if isinstance(v, int)}
    sessions = [(key, s.last_used > 0, s.busy) for key, s in server._sessions.items()]
    return {
        "answers": answers,
        "stats": stats,
        "counter": meter.invocation_counter,
        "sessions": sessions,
        "taken": taken[0],
    }


@pytest.mark.asyncio
@pytest.mark.parametrize("seed", [1, 2, 3, 4])
async def test_the_express_lane_serves_as_the_general_road(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    with_lane = await _session(seed, True, monkeypatch)
    without = await _session(seed, False, monkeypatch)
    assert without["taken"] == 0
    assert with_lane["taken"] > 40  # the lane took most ciphered GETs
    taken = with_lane.pop("taken")
    without.pop("taken")
    assert with_lane == without, taken


@pytest.mark.asyncio
async def test_a_busy_session_is_left_to_the_general_road(monkeypatch: pytest.MonkeyPatch) -> None:
    """While a request of the association waits (a getter that waits), the
    next one waits its turn on the general road: answers in order."""
    server = make_server(_meter())
    client = await management_client(server)
    sent: list[bytes] = []

    async def capture(data: bytes, address: Any, *, source: Any = None) -> None:
        sent.append(bytes(data))

    server.transport.send = capture  # type: ignore[method-assign]
    waited = client.protect(A.encode(A.GetRequestNormal(AttributeDescriptor(1, ODD, 3), invoke_id=1)), "glo")
    stored = client.protect(A.encode(A.GetRequestNormal(AttributeDescriptor(1, ODD, 2), invoke_id=2)), "glo")
    served: list[bool] = []
    real = express.serve

    def spy(srv: Server, incoming: Incoming) -> bool:
        served.append(real(srv, incoming))
        return served[-1]

    monkeypatch.setattr(express, "serve", spy)
    server._on_datagram(Incoming(client.datagram(waited), client.source, client.destination))
    server._on_datagram(Incoming(client.datagram(stored), client.source, client.destination))
    assert served == [True, False]  # the first taken (its getter waits in a task), the second not
    for _ in range(10):
        await asyncio.sleep(0)
    assert client.ctx is not None
    invoke_ids = [A.decode(client.ctx.unprotect(d[8:]).plaintext).invoke_id for d in sent]
    assert invoke_ids == [1, 2]  # in the order asked


async def _udp_session(lane: bool, monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    from dlmsmesh.client import Client
    from dlmsmesh.transport import UdpTransport

    taken = [0]
    real = express.serve

    def counted(server: Server, incoming: Incoming) -> bool:
        served = lane and real(server, incoming)
        taken[0] += served
        return served

    monkeypatch.setattr(express, "serve", counted)
    objects = default_meter(TITLE, now=lambda: NOW, authentication="lls", secret=b"12345678", policy=int(AUTHENC))
    meter = Meter.from_objects(objects, keys=MeterKeys(ek=EK, ak=AK))
    server = Server(await UdpTransport.open("127.0.0.1", 0))
    server.add_meter(meter)
    address = server.transport.local_address  # type: ignore[attr-defined]
    client = Client(await UdpTransport.open("127.0.0.1", 0), system_title=bytes.fromhex("4845530000000001"),
                    timeout=5.0, associations_per_second=None)  # fmt: skip
    reads = [(3, "1.0.1.8.0.255", 2), (8, "0.0.1.0.0.255", 2), (1, "0.0.42.0.0.255", 2), (1, "9.9.9.9.9.9", 2)]
    values: list[Any] = []
    async with server, client:
        settings: dict[str, Any] = {"auth": "lls", "password": b"12345678", "security": "authenc", "ek": EK, "ak": AK}
        async with client.associate(TITLE, address=(address.host, address.port), client_sap=1, **settings) as assoc:
            for i in range(60):
                try:
                    values.append(await assoc.get(reads[i % 4]))
                except Exception as err:  # noqa: BLE001 - the DataAccessFailure is the answer compared
                    values.append((type(err).__name__, str(err)))
    stats = {k: v for k, v in vars(server.stats).items() if isinstance(v, int)}
    return {"values": values, "stats": stats, "counter": meter.invocation_counter, "taken": taken[0]}


@pytest.mark.asyncio
async def test_over_udp_the_lane_answers_as_the_general_road(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real loopback UDP (the lane sends with the socket's send_now): a
    Client's values, the server's statistics and the meter's counter object
    are those of the general road."""
    with_lane = await _udp_session(True, monkeypatch)
    without = await _udp_session(False, monkeypatch)
    assert with_lane.pop("taken") == 60 and without.pop("taken") == 0
    assert with_lane == without
