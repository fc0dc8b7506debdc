"""Scale: one process hosting 10,000 meters made from one template on the
in-process network answers a GET to each of them (issue 12, "Done when").

The meters share the template's immutable parts (MeterTemplate); what each
costs (its objects, its Meter, the server's tables) is measured with
tracemalloc and printed with the time the 10,000 AARQ + GET + RLRQ rounds
took, for the issue note.
"""

from __future__ import annotations

import datetime as dt
import gc
import time
import tracemalloc
from collections.abc import Mapping
from typing import Any

import pytest

from dlmsmesh import acse, wrapper
from dlmsmesh import apdu as A
from dlmsmesh import types as t
from dlmsmesh.acse_pdu import AARE, AARQ, RLRE, RLRQ
from dlmsmesh.apdu_model import AttributeDescriptor
from dlmsmesh.cosem import (
    AccessRights,
    AssociationLN,
    Clock,
    Data,
    GeneratedRows,
    MeterTemplate,
    ObjectList,
    ProfileGeneric,
    Register,
    Unit,
)
from dlmsmesh.server import Meter, Server
from dlmsmesh.transport import InProcessNetwork, RealClock
from dlmsmesh.xdlms_initiate import Conformance, InitiateRequest

pytestmark = pytest.mark.single_backend  # a load run: the native backend, as deployed

COUNT = int(__import__("os").environ.get("SCALE_COUNT", "10000"))
PORT = 4059
LDN = "0.0.42.0.0.255"
IMPORT = "1.0.1.8.0.255"
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.timezone.utc)
START = NOW - dt.timedelta(days=30)


def _now() -> dt.datetime:
    return NOW


def _rows(seed: int) -> GeneratedRows:
    def row_at(i: int) -> tuple[Any, ...]:
        stamp = t.OctetString(bytes(t.DateTime.from_datetime(START + dt.timedelta(minutes=15 * i), clock_status=0)))
        return (stamp, t.DoubleLongUnsigned(seed * 1000 + i))

    return GeneratedRows(30 * 96, row_at)


def _device() -> ObjectList:
    objects = ObjectList()
    clock = objects.add(Clock(now=_now, time_zone=0))
    objects.add(Data(LDN, t.OctetString(b"TEMPLATE00000000")))
    energy = objects.add(Register(IMPORT, t.DoubleLongUnsigned(0), scaler=0, unit=Unit.WATT_HOUR))
    objects.add(ProfileGeneric("1.0.99.1.0.255", [(clock, 2), (energy, 2)], capture_period=900, rows=_rows(0)))
    conformance = int(Conformance.GET | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ | Conformance.SELECTIVE_ACCESS)
    objects.add(AssociationLN(objects=objects, rights=AccessRights(default_read_only=True), conformance=conformance))
    return objects


def _bind_name(obj: Any, params: Mapping[str, Any]) -> None:
    obj.value = t.OctetString(b"MTR" + params["system_title"][3:].hex().upper().encode()[:13])


def _bind_energy(obj: Any, params: Mapping[str, Any]) -> None:
    obj.value = t.DoubleLongUnsigned(params["serial"] * 10)


def _bind_rows(obj: Any, params: Mapping[str, Any]) -> None:
    obj._rows = _rows(params["serial"])


def _title(i: int) -> bytes:
    return b"MTR" + i.to_bytes(5, "big")


def _host(i: int) -> str:
    return f"fd00::{i // 0x10000:x}:{i % 0x10000:x}:1"


def _aarq() -> bytes:
    return acse.encode(AARQ(user_information=InitiateRequest(conformance=Conformance.GET, max_receive_pdu_size=1224)))


@pytest.mark.asyncio
async def test_ten_thousand_template_meters_answer_a_get_each() -> None:
    template = MeterTemplate(_device, {LDN: _bind_name, IMPORT: _bind_energy, "1.0.99.1.0.255": _bind_rows})
    titles = [_title(i) for i in range(COUNT)]
    hosts = [_host(i) for i in range(COUNT)]
    # real time: the server's receive loop waits with a timeout, which a
    # virtual clock would keep firing
    network = InProcessNetwork(seed=12, clock=RealClock())
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        meters = [
            Meter.from_template(template, title, associations={16: "0.0.40.0.0.255"}, address=host, serial=i)
            for i, (title, host) in enumerate(zip(titles, hosts))
        ]
        server = Server(network.endpoint("fd00::ffff", PORT, aliases=hosts, queue_size=COUNT + 16))
        server.add_meters(meters)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    per_meter = (after - before) / COUNT
    assert per_meter <= 10_000, per_meter

    client = network.endpoint("fd01::1", 40000, queue_size=COUNT + 16)
    aarq = _aarq()
    get = A.encode(A.GetRequestNormal(AttributeDescriptor(3, IMPORT, 2)))
    rlrq = acse.encode(RLRQ())
    started = time.perf_counter()
    async with server:
        answers: dict[str, Any] = {}
        for stage, apdu in (("aarq", aarq), ("get", get), ("rlrq", rlrq)):
            for host in hosts:
                await client.send(wrapper.encode(16, 1, apdu), (host, PORT))
            got = 0
            deadline = time.monotonic() + 120
            while got < COUNT and time.monotonic() < deadline:
                for data, _source in await client.recv_batch(1024, timeout=5):
                    _, body = wrapper.decode(data)
                    answers.setdefault(stage, []).append(body)
                    got += 1
            assert got == COUNT, (stage, got, server.stats, network.stats, server.transport.dropped)
    elapsed = time.perf_counter() - started
    assert all(isinstance(acse.decode(b), AARE) and acse.decode(b).accepted for b in answers["aarq"])
    assert all(isinstance(acse.decode(b), RLRE) for b in answers["rlrq"])
    # every meter answered with its own value (replies come in sending order)
    values = sorted(int(A.decode(b).result) for b in answers["get"])  # type: ignore[attr-defined]
    assert values == [i * 10 for i in range(COUNT)]
    assert server.stats.internal_errors == 0 and server.associations == 0
    print(
        f"\n{COUNT} template meters: {per_meter:.0f} bytes per meter (objects, Meter and server tables);"
        f" AARQ + GET + RLRQ to each in {elapsed:.1f} s ({3 * COUNT / elapsed:.0f} exchanges/s)"
    )
