"""The Client recovers by itself where it can: a meter that forgot the
association gets a new COSEM-OPEN (``reopen=True``), a meter that refuses
the client's invocation counter gets the request again after the counter
moved past what it expects; typed reads (scaled registers, profiles as
columns) go through the same association."""

from __future__ import annotations

import datetime as dt

import pytest

from dlmsmesh.client import Client
from dlmsmesh.client.errors import StaleAssociation
from dlmsmesh.cosem import default_meter
from dlmsmesh.security import DEFAULT_POLICY, MemoryCounterStore
from dlmsmesh.server import Meter, MeterKeys, Server
from dlmsmesh.transport import InProcessNetwork, RealClock

TITLE = bytes.fromhex("4D4D4D0000BC614E")
CLIENT = b"HES00001"
EK, AK = bytes(range(16)), bytes(range(16, 32))
NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.timezone.utc)
LDN = (1, "0.0.42.0.0.255", 2)
METER = ("fd00::1", 4059)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _setup(clock: Clock | None = None, *, secured: bool = False) -> tuple[InProcessNetwork, Server]:
    network = InProcessNetwork(seed=5, clock=RealClock())
    kwargs = {"idle_timeout": 60.0, "clock": clock} if clock is not None else {}
    server = Server(network.endpoint(*METER), **kwargs)
    if secured:
        objects = default_meter(TITLE, now=lambda: NOW, authentication="hls-gmac", policy=int(DEFAULT_POLICY))
        server.add_meter(Meter.from_objects(objects, keys=MeterKeys(ek=EK, ak=AK)))
    else:
        server.add_meter(Meter.from_objects(default_meter(TITLE, now=lambda: NOW)))
    return network, server


@pytest.mark.asyncio
@pytest.mark.parametrize("reopen", [True, False])
async def test_a_forgotten_association_is_opened_again_once_when_asked(reopen: bool) -> None:
    clock = Clock()
    network, server = _setup(clock)
    async with server, Client(network.endpoint("fd00::2", 4059), system_title=CLIENT, timeout=0.5,
                              reopen=reopen) as client:  # fmt: skip
        async with client.associate(TITLE, address=METER) as meter:
            assert await meter.get(LDN) == b"MMM0000012345678"
            clock.now += 3600  # the meter forgets the idle association
            if reopen:
                assert await meter.get(LDN) == b"MMM0000012345678"
                assert client.stats.associations_reopened == 1
                assert server.stats.associations_opened == 2
            else:
                with pytest.raises(StaleAssociation):
                    await meter.get(LDN)
                assert server.stats.associations_opened == 1


@pytest.mark.asyncio
async def test_a_refused_invocation_counter_is_moved_forward_and_the_request_asked_again() -> None:
    network, server = _setup(secured=True)
    async with server, Client(network.endpoint("fd00::2", 4059), system_title=CLIENT, timeout=0.5) as client:
        async with client.associate(TITLE, address=METER, client_sap=1, auth="hls-gmac", security="authenc",
                                    ek=EK, ak=AK) as meter:  # fmt: skip
            for _ in range(3):
                assert await meter.get(LDN) == b"MMM0000012345678"
            ctx = meter.opening.context
            assert ctx is not None
            # the client lost its counters (a restore from an old backup): it starts again at 1
            ctx._counters = MemoryCounterStore()
            ctx._drop_backend_keys()
            assert await meter.get(LDN) == b"MMM0000012345678"
            assert client.stats.resynchronised == 1
            assert server.stats.replays == 1


@pytest.mark.asyncio
async def test_typed_reads_scale_registers_and_give_profiles_as_columns() -> None:
    from dlmsmesh.cosem import Register, Unit
    from dlmsmesh.types import DoubleLongUnsigned

    network, server = _setup()
    async with server, Client(network.endpoint("fd00::2", 4059), system_title=CLIENT, timeout=0.5) as client:
        async with client.associate(TITLE, address=METER) as meter:
            register = Register("1.0.1.8.0.255", DoubleLongUnsigned(0), scaler=0, unit=Unit.WATT_HOUR)
            raw = await meter.get(register)  # a COSEM object names its value
            quantity = await meter.scaled(register)
            assert quantity.unit == 30 and quantity.scaler == 0 and quantity.value >= int(raw)
            whole = await meter.profile("1.0.99.1.0.255")
            assert len(whole) == 30 * 96 + 12 * 4 + 1  # thirty days and today up to 12:00
            span = await meter.profile("1.0.99.1.0.255", NOW - dt.timedelta(hours=2), NOW, columns=[0, 1])
            assert len(span) == 9 and len(span.columns) == 2
            first = await meter.profile("1.0.99.1.0.255", entries=(1, 10), columns=[1, 2])
            assert len(first) == 10 and len(first.columns) == 2
            assert list(first.columns[0])[:1] == list(whole.columns[1])[:1]


@pytest.mark.asyncio
async def test_requests_in_flight_per_border_router_and_new_associations_per_second_are_capped() -> None:
    import asyncio
    import time

    from dlmsmesh.cosem import MeterTemplate
    from dlmsmesh.transport import LinkProfile

    network = InProcessNetwork(seed=7, clock=RealClock(), link=LinkProfile(delay=0.02))
    hosts = [f"fd00:0:0:1::{i + 1:x}" for i in range(10)]  # one /64: one border router
    server = Server(network.endpoint("fd00:0:0:1::ffff", 4059, aliases=hosts))
    template = MeterTemplate(lambda: default_meter(TITLE, now=lambda: NOW).logical_devices[1])
    titles = [b"MTR" + i.to_bytes(5, "big") for i in range(10)]
    for title, host in zip(titles, hosts):
        server.add_meter(Meter.from_template(template, title, associations={16: "0.0.40.0.1.255"}, address=host))
    async with server, Client(network.endpoint("fd00::2", 4059), system_title=CLIENT, in_flight_per_router=2,
                              associations_per_second=5) as client:  # fmt: skip
        started = time.monotonic()
        meters = [await client.open(t, address=(h, 4059)) for t, h in zip(titles, hosts)]
        opening_took = time.monotonic() - started
        peak = 0

        async def sample() -> None:
            nonlocal peak
            while True:
                assert client.in_flight is not None
                peak = max(peak, client.in_flight.in_flight(meters[0].address))  # type: ignore[arg-type]
                await asyncio.sleep(0.002)

        sampler = asyncio.get_running_loop().create_task(sample())
        values = await asyncio.gather(*(m.get(LDN) for m in meters for _ in range(3)))
        sampler.cancel()
        for m in meters:
            await client.release(m)
    assert all(v == b"MMM0000012345678" for v in values)
    assert peak == 2  # never more than two outstanding towards the one border router
    assert opening_took >= 0.9  # 10 AARQs at 5 per second after a burst of 5


@pytest.mark.asyncio
async def test_quirks_switch_tolerances_per_meter() -> None:
    from dlmsmesh.client import Quirks
    from dlmsmesh.xdlms_initiate import Conformance

    network, server = _setup()
    async with server, Client(network.endpoint("fd00::2", 4059), system_title=CLIENT) as client:
        async with client.associate(TITLE, address=METER) as standard:
            assert standard.conformance & Conformance.GENERAL_BLOCK_TRANSFER
            assert standard.send_limit == 1224
        quirks = Quirks(no_gbt=True, max_pdu_size=200, scaler_as_multiplier=True)
        async with client.associate(TITLE, address=METER, quirks=quirks) as odd:
            assert not odd.conformance & Conformance.GENERAL_BLOCK_TRANSFER  # never proposed
            assert odd.send_limit == 200
            quantity = await odd.scaled("1.0.1.8.0.255")  # scaler 0 taken as the multiplier 0
            assert quantity.value == 0


@pytest.mark.asyncio
async def test_a_dual_stack_client_reads_an_ipv4_meter() -> None:
    """A socket bound to :: names an IPv4 peer ::ffff:a.b.c.d; the client
    routes its replies all the same."""
    from dlmsmesh.transport import UdpTransport

    server = Server(await UdpTransport.open("127.0.0.1", 0))
    server.add_meter(Meter.from_objects(default_meter(TITLE, now=lambda: NOW)))
    port = server.transport.local_address.port
    async with server, Client(await UdpTransport.open("::", 0), system_title=CLIENT) as client:
        async with client.associate(TITLE, address=("127.0.0.1", port)) as meter:
            assert await meter.get(LDN) == b"MMM0000012345678"
        assert client.stats.strays == 0


def test_the_client_and_the_server_are_importable_from_the_package() -> None:
    import dlmsmesh
    from dlmsmesh.client import Client as AsyncClient
    from dlmsmesh.server import Server as AsyncServer

    assert dlmsmesh.Client is AsyncClient and dlmsmesh.Server is AsyncServer
