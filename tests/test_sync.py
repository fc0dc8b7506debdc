"""``dlmsmesh.sync`` (issue 13, point 4): the blocking facade reads, writes
and invokes methods on a Server over UDP loopback, raises what the asyncio
client raises, closes once and for all, and works from inside a running
event loop.

The Server runs on its own event loop in a thread of this process, so that a
test blocking its own thread (or its own loop, inside ``asyncio.run``) does
not stop the meter.  Every wait is bounded.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dlmsmesh import serve_cli, sync
from dlmsmesh.apdu_model import AttributeDescriptor, MethodDescriptor
from dlmsmesh.client import Client as AsyncClient
from dlmsmesh.client.errors import (
    ActionReadWriteDenied,
    AssociationRefused,
    ObjectUndefined,
    ReadWriteDenied,
)
from dlmsmesh.errors import DlmsError, DlmsTimeout
from dlmsmesh.server import Server, ServerStats
from dlmsmesh.transport import UdpTransport
from dlmsmesh.types import Integer, Long, OctetString

pytestmark = pytest.mark.single_backend  # sockets and threads; the codec is tested elsewhere

EK = bytes(range(16))
AK = bytes(range(16, 32))
METER = serve_cli.DEFAULT_SYSTEM_TITLE
NAME = (1, "0.0.42.0.0.255", 2)
COUNTER = (1, "0.0.43.1.0.255", 2)
MISSING = (1, "0.0.99.0.0.255", 2)
TIME_ZONE = AttributeDescriptor(8, "0.0.1.0.0.255", 3)
CLOCK_NAME = AttributeDescriptor(8, "0.0.1.0.0.255", 1)
CLOCK_ADJUST = MethodDescriptor(8, "0.0.1.0.0.255", 1)
REGISTER_RESET = MethodDescriptor(3, "1.0.1.8.0.255", 1)
#: the longest anything here may take
WAIT = 20.0

_titles = itertools.count(1)


def client_title() -> bytes:
    # each test's client is a head-end of its own: a fresh title starts fresh
    # invocation counters the meter has not seen
    return b"SYN" + next(_titles).to_bytes(5, "big")


class ServerThread:
    """``dlmsmesh serve``'s meter (HLS-GMAC and authenc for the management
    client, keys EK/AK) on 127.0.0.1, on a loop in a thread of its own."""

    def __init__(self, counters: Path) -> None:
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None
        self.port = 0
        self.server: Server | None = None
        self._config = serve_cli.ServeConfig(auth="hls-gmac", security="authenc", ek=EK, ak=AK, counters=str(counters))
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        if not self._ready.wait(WAIT):
            raise AssertionError("the server did not start")
        if self._error is not None:
            raise self._error

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # reported to the test that started it
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        transport = await UdpTransport.open("127.0.0.1", 0)
        self.port = transport.local_address.port
        self.server = Server(transport)
        self.server.add_meter(serve_cli.build_meter(self._config, self.port))
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        async with self.server:
            self._ready.set()
            await self._stop.wait()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    @property
    def stats(self) -> ServerStats:
        assert self.server is not None
        return self.server.stats

    def close(self) -> None:
        if self._loop is not None and self._stop is not None and self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(WAIT)
        assert not self._thread.is_alive()


@pytest.fixture(scope="module")
def meter(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    served = ServerThread(tmp_path_factory.mktemp("sync") / "meter-counters.sqlite3")
    try:
        yield served
    finally:
        served.close()


def client(**kw: Any) -> sync.Client:
    settings: dict[str, Any] = {"system_title": client_title(), "timeout": 1.0}
    settings.update(kw)
    return sync.Client("127.0.0.1", **settings)


def management(meter: ServerThread, **kw: Any) -> dict[str, Any]:
    settings: dict[str, Any] = {
        "address": meter.address, "client_sap": 1, "auth": "hls-gmac", "security": "authenc", "ek": EK, "ak": AK,
    }  # fmt: skip
    settings.update(kw)
    return settings


def _silent_port() -> tuple[socket.socket, int]:
    # a bound socket that never answers: no ICMP port-unreachable either
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    return sock, sock.getsockname()[1]


# --------------------------------------------------------------------------
# the services
# --------------------------------------------------------------------------


def test_get_and_get_many_read_the_public_client(meter: ServerThread) -> None:
    with client() as c, c.associate(METER, address=meter.address) as m:
        assert m.open and (m.client_sap, m.server_sap, m.meter_title) == (16, 1, METER)
        assert m.get(NAME) == b"MMM0000012345678"
        clock = m.get((8, "0.0.1.0.0.255", 2))
        assert isinstance(clock, bytes) and len(clock) == 12
        name, scaler_unit, missing = m.get_many([NAME, (3, "1.0.1.8.0.255", 3), MISSING])
        assert name == b"MMM0000012345678"
        assert scaler_unit == (Integer(0), 30)  # 10^0 Wh
        # a result per item: the failure is an exception object, not raised
        assert isinstance(missing, ObjectUndefined)
        assert str(missing) == "the meter has no such object or attribute"
        with pytest.raises(ObjectUndefined):
            m.get(MISSING)
    assert not m.open


def test_set_and_action_on_a_ciphered_hls_association(meter: ServerThread) -> None:
    with client() as c, c.associate(METER, **management(meter)) as m:
        assert m.get(COUNTER) > 0
        assert m.set(TIME_ZONE, Long(60)) is None
        assert m.get(TIME_ZONE) == 60
        with pytest.raises(ReadWriteDenied):
            m.set(CLOCK_NAME, OctetString(bytes(6)))
        results = m.set_many([(TIME_ZONE, Long(-60)), (CLOCK_NAME, OctetString(bytes(6)))])
        assert results[0] is None and isinstance(results[1], ReadWriteDenied)
        assert m.get(TIME_ZONE) == -60
        assert m.action(CLOCK_ADJUST, Integer(0)) is None
        with pytest.raises(ActionReadWriteDenied):
            m.action(REGISTER_RESET, Integer(0))
        done, denied = m.action_many([(CLOCK_ADJUST, Integer(0)), (REGISTER_RESET, Integer(0))])
        assert done is None and isinstance(denied, ActionReadWriteDenied)
        m.set(TIME_ZONE, Long(0))


def _async_error(meter: ServerThread, attempt: Any) -> BaseException:
    """What the asyncio client raises for ``attempt(association-opening client)``."""

    async def main() -> BaseException:
        transport = await UdpTransport.open("127.0.0.1", 0)
        async with AsyncClient(transport, system_title=client_title(), timeout=1.0) as c:
            try:
                await attempt(c)
            except DlmsError as exc:
                return exc
        raise AssertionError("no error")

    return asyncio.run(asyncio.wait_for(main(), WAIT))


def test_errors_are_the_async_clients_own(meter: ServerThread) -> None:
    # a refused association: the management client proposes no ciphering
    async def refused(c: AsyncClient) -> None:
        async with c.associate(METER, address=meter.address, client_sap=1):
            pass

    async def undefined(c: AsyncClient) -> None:
        async with c.associate(METER, address=meter.address) as m:
            await m.get(MISSING)

    expected_refusal = _async_error(meter, refused)
    expected_undefined = _async_error(meter, undefined)
    with client() as c:
        with pytest.raises(AssociationRefused) as refusal:
            with c.associate(METER, address=meter.address, client_sap=1):
                pass
        with c.associate(METER, address=meter.address) as m, pytest.raises(ObjectUndefined) as failure:
            m.get(MISSING)
    assert type(refusal.value) is type(expected_refusal) and str(refusal.value) == str(expected_refusal)
    assert type(failure.value) is type(expected_undefined) and str(failure.value) == str(expected_undefined)


def test_silence_is_a_dlms_timeout_and_the_call_bound_cancels_the_request() -> None:
    sock, port = _silent_port()
    try:
        with client(timeout=0.1, retries=0) as c:
            started = time.monotonic()
            with pytest.raises(DlmsTimeout, match="did not answer the AARQ"):
                c.open(METER, address=("127.0.0.1", port))
            assert time.monotonic() - started < WAIT
        # the client's own retries would take 10 s: the call bound stops it first
        with client(timeout=5.0, retries=1, call_timeout=0.3) as c:
            started = time.monotonic()
            with pytest.raises(DlmsTimeout, match=r"COSEM-OPEN took longer than 0\.3 s \(call_timeout\)"):
                c.open(METER, address=("127.0.0.1", port))
            assert time.monotonic() - started < 5.0
            # the cancelled opening left nothing behind: the same association opens again
            with pytest.raises(DlmsTimeout, match=r"call_timeout"):
                c.open(METER, address=("127.0.0.1", port))
    finally:
        sock.close()


# --------------------------------------------------------------------------
# lifecycle
# --------------------------------------------------------------------------


def test_close_releases_what_is_open_and_twice_is_harmless(meter: ServerThread) -> None:
    released = meter.stats.associations_released
    c = client()
    runner = c._runner
    m = c.open(METER, address=meter.address)
    assert m.get(NAME) == b"MMM0000012345678"
    c.close()
    assert c.closed and not m.open
    assert meter.stats.associations_released == released + 1  # the RLRQ went out
    c.close()
    assert not runner._thread.is_alive() and runner.loop.is_closed()
    with pytest.raises(DlmsError, match="^the client is closed$"):
        m.get(NAME)
    with pytest.raises(DlmsError, match="^the client is closed$"):
        c.open(METER, address=meter.address)
    # leaving an associate block after close does not try to release again
    with client() as d, d.associate(METER, address=meter.address) as m2:
        d.close()
    assert not m2.open


def test_release_by_hand_then_close(meter: ServerThread) -> None:
    with client() as c:
        m = c.open(METER, address=meter.address)
        m.release()
        assert not m.open
        m.release()  # twice: nothing
        assert c.stats.associations_released == 1


def test_a_transport_factory_runs_on_the_facades_loop(meter: ServerThread) -> None:
    with sync.Client(system_title=client_title(), transport=lambda: UdpTransport.open("127.0.0.1", 0)) as c:
        assert c.local_address is not None and c.local_address[0] == "127.0.0.1"
        with c.associate(METER, address=meter.address) as m:
            assert m.get(NAME) == b"MMM0000012345678"


def test_works_inside_a_running_event_loop(meter: ServerThread) -> None:
    async def notebook_cell() -> Any:
        # a notebook's loop is running here; the facade's runs in its own thread
        asyncio.get_running_loop()
        with client() as c, c.associate(METER, **management(meter)) as m:
            return m.get_many([NAME, COUNTER])

    name, counter = asyncio.run(asyncio.wait_for(notebook_cell(), WAIT))
    assert name == b"MMM0000012345678" and counter > 0


def test_a_call_from_the_facades_own_loop_is_refused(meter: ServerThread) -> None:
    with client() as c, c.associate(METER, address=meter.address) as m:

        async def from_inside() -> None:
            m.get(NAME)

        future = asyncio.run_coroutine_threadsafe(from_inside(), c._runner.loop)
        with pytest.raises(RuntimeError, match="would wait for itself"):
            future.result(WAIT)
        assert m.get(NAME) == b"MMM0000012345678"


def test_bad_settings() -> None:
    with pytest.raises(ValueError, match="call_timeout"):
        sync.Client(system_title=client_title(), call_timeout=0)
    with pytest.raises(ValueError, match="8 octets"):
        sync.Client("127.0.0.1", system_title=b"short")
    from dlmsmesh.transport import TransportError

    with pytest.raises(TransportError):
        sync.Client("192.0.2.1", system_title=client_title())  # not an address of this host
