"""Interop: the dlmsmesh head-end Client reads a meter built with gurux-dlms.

The peer is gurux_server.py's meter (gurux-dlms 1.0.203's server classes,
shimmed where that server is unfinished) on a loopback UDP socket, spoken to
through the wrapper.  Two associations, as the issue asks: the public client
(SAP 16, no authentication, no security) and the management client (SAP 1)
with low-level security (the password in the AARQ).  Each reads the clock,
the energy register (value, then scaler and unit) and the load profile's
buffer, which is larger than one 1024-byte PDU and comes in
GET-response-with-datablock blocks, asked for one by one with
get-request-next.  The values asserted are the gurux meter's configuration
(MeterConfig and GuruxMeter.row, as test_gurux_client_selfcheck.py checks
them with gurux's own client).

Peer deviations seen and asserted here (not worked around):

* gurux's AARE answers max-receive-pdu-size with the client's own proposal
  (1224) and not the meter's configured maxServerPDUSize (1024): the
  Client's send limit is the 1224 the AARE says, and the profile blocks come
  as 1232-byte datagrams (1224 of APDU), not 1024.  Asserted by
  ``meter.send_limit == 1224`` and the size of the largest reply.
* gurux encodes the register value 123456 as double-long (signed), the
  clock's day of week as 0xFF (not specified), deviation 0 and status 0;
  all are allowed by the Blue Book, so the values compare equal to the
  configuration (the date-time decodes to UTC).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import pytest

pytest.importorskip("gurux_dlms")

from gurux_dlms.enums import Authentication  # noqa: E402

from dlmsmesh import types as t  # noqa: E402
from dlmsmesh.client import Client  # noqa: E402
from dlmsmesh.client.association import Association  # noqa: E402
from dlmsmesh.client.errors import AuthenticationFailed  # noqa: E402
from dlmsmesh.transport import Incoming  # noqa: E402
from dlmsmesh.transport.udp import UdpTransport  # noqa: E402

from .gurux_server import (  # noqa: E402
    CLOCK_LN,
    ENERGY_LN,
    EPOCH,
    LDN_LN,
    MANAGEMENT_CLIENT,
    MANAGEMENT_LD,
    PROFILE_LN,
    PUBLIC_CLIENT,
    GuruxMeter,
    MeterConfig,
    serving,
)

pytestmark = [pytest.mark.interop, pytest.mark.single_backend]

PASSWORD = b"12345678"
HEAD_END_TITLE = b"HES00001"
ROWS = 400
#: unit 30 is Wh (DLMS UA 1000-1 table of units); gurux's Unit.ACTIVE_ENERGY
WH = 30


@contextmanager
def _gurux(config: MeterConfig) -> Iterator[tuple[GuruxMeter, tuple[str, int]]]:
    with serving(config) as (meter, address):
        yield meter, (str(address[0]), int(address[1]))


class _RecordingUdp(UdpTransport):
    """A UdpTransport that keeps every datagram it sends and receives."""

    sent_log: list[bytes]
    received_log: list[bytes]

    async def send(self, data: bytes | bytearray | memoryview, address: tuple[str, int]) -> None:
        self.sent_log.append(bytes(data))
        await super().send(data, address)

    async def recv_batch_incoming(self, max_count: int = 64, timeout: float | None = None) -> list[Incoming]:
        batch = await super().recv_batch_incoming(max_count, timeout)
        self.received_log.extend(bytes(i.data) for i in batch)
        return batch

    def on_receive(self, callback: Callable[[Incoming], None] | None) -> None:
        # the Client takes datagrams by callback: log them on the way
        if callback is None:
            super().on_receive(None)
            return

        def logged(incoming: Incoming, deliver: Callable[[Incoming], None] = callback) -> None:
            self.received_log.append(bytes(incoming.data))
            deliver(incoming)

        super().on_receive(logged)


@asynccontextmanager
async def _client() -> AsyncIterator[tuple[Client, list[bytes], list[bytes]]]:
    """A Client on its own loopback socket, with every datagram it sends and receives."""
    transport = await _RecordingUdp.open("127.0.0.1", 0)
    assert isinstance(transport, _RecordingUdp)  # open() builds cls
    transport.sent_log, transport.received_log = [], []
    async with Client(transport, system_title=HEAD_END_TITLE, timeout=2.0, retries=1) as client:
        yield client, transport.sent_log, transport.received_log


def _expected_row(index: int) -> tuple[dt.datetime, int]:
    return (EPOCH + dt.timedelta(minutes=15 * index)).replace(tzinfo=None), 1000 + 7 * index


def _naive(value: Any) -> dt.datetime:
    stamp = t.DateTime(bytes(value)).to_datetime()
    return stamp.replace(tzinfo=None)


async def _read_everything(meter: Association, rows: int) -> None:
    clock = await meter.get((8, CLOCK_LN, 2))
    assert isinstance(clock, bytes) and len(clock) == 12  # an octet-string
    assert _naive(clock) == EPOCH.replace(tzinfo=None)

    assert bytes(await meter.get((1, LDN_LN, 2))) == MeterConfig().logical_device_name

    energy = await meter.get((3, ENERGY_LN, 2))
    assert energy == 123456
    scaler_unit = await meter.get((3, ENERGY_LN, 3))
    assert isinstance(scaler_unit, tuple)  # a structure
    assert [int(v) for v in scaler_unit] == [-3, WH]
    assert isinstance(scaler_unit[0], t.Integer) and isinstance(scaler_unit[1], t.Enum)
    # the register's value with the scaler applied: 123.456 kWh
    assert energy * 10 ** int(scaler_unit[0]) == pytest.approx(123.456)

    capture = await meter.get((7, PROFILE_LN, 3))
    assert [(int(c[0]), bytes(c[1]), int(c[2]), int(c[3])) for c in capture] == [
        (8, bytes(t.Obis(CLOCK_LN)), 2, 0),
        (3, bytes(t.Obis(ENERGY_LN)), 2, 0),
    ]
    buffer = await meter.get((7, PROFILE_LN, 2))
    assert isinstance(buffer, list) and len(buffer) == rows
    got = [(_naive(row[0]), int(row[1])) for row in buffer]
    assert got == [_expected_row(i) for i in range(rows)]


def _apdus(sent: list[bytes]) -> list[bytes]:
    return [d[8:] for d in sent]


def _wports(sent: list[bytes]) -> set[tuple[int, int]]:
    return {(int.from_bytes(d[2:4], "big"), int.from_bytes(d[4:6], "big")) for d in sent}


@pytest.mark.asyncio
async def test_public_client_reads_clock_register_and_profile_in_blocks() -> None:
    with _gurux(MeterConfig(rows=ROWS)) as (gurux, address):
        async with _client() as (client, sent, received):
            async with client.associate(b"GRXMTR01", address=address, client_sap=PUBLIC_CLIENT) as meter:
                # gurux echoes the client's max-receive-pdu-size (see the module text)
                assert meter.send_limit == 1224 != MeterConfig().max_pdu_size
                await _read_everything(meter, ROWS)
            stats = client.stats
    apdus = _apdus(sent)
    assert apdus[0][0] == 0x60 and apdus[-1][0] == 0x62  # AARQ first, RLRQ last
    assert _wports(sent) == {(PUBLIC_CLIENT, MANAGEMENT_LD)}
    # the buffer (400 rows of 21 bytes: 8,403 bytes of A-XDR) took 7 blocks of at most 1224 bytes of APDU:
    # one get-request-next per block after the first, numbered from the block it acknowledges
    nexts = [a for a in apdus if a[:2] == bytes([0xC0, 0x02])]
    assert len(nexts) == 6
    assert [int.from_bytes(a[3:7], "big") for a in nexts] == list(range(1, len(nexts) + 1))
    assert max(len(d) for d in received) == 8 + 1224
    assert stats.retries == 0 and stats.timeouts == 0 and stats.strays == 0
    assert stats.associations_opened == stats.associations_released == 1
    assert ("connected", PUBLIC_CLIENT) in gurux.events


@pytest.mark.asyncio
async def test_management_client_lls_reads_the_same() -> None:
    config = MeterConfig(authentication=Authentication.LOW, password=PASSWORD, rows=200)
    with _gurux(config) as (gurux, address):
        async with _client() as (client, sent, received):
            async with client.associate(
                b"GRXMTR01", address=address, client_sap=MANAGEMENT_CLIENT, auth="lls", password=PASSWORD
            ) as meter:
                await _read_everything(meter, 200)
            stats = client.stats
    aarq = _apdus(sent)[0]
    # LN context without ciphering, the LLS mechanism name and the password as calling-authentication-value
    assert bytes.fromhex("a109060760857405080101") in aarq
    assert bytes.fromhex("8b0760857405080201") in aarq
    assert bytes.fromhex("ac0a8008") + PASSWORD in aarq
    assert _wports(sent) == {(MANAGEMENT_CLIENT, MANAGEMENT_LD)}
    assert stats.retries == 0 and stats.timeouts == 0
    assert ("authenticate", (MANAGEMENT_CLIENT, int(Authentication.LOW), True)) in gurux.events


@pytest.mark.asyncio
async def test_lls_wrong_password_is_refused_by_the_aare() -> None:
    config = MeterConfig(authentication=Authentication.LOW, password=PASSWORD)
    with _gurux(config) as (_gurux_meter, address):
        async with _client() as (client, _sent, _received):
            with pytest.raises(AuthenticationFailed) as refused:
                async with client.associate(
                    b"GRXMTR01", address=address, client_sap=MANAGEMENT_CLIENT, auth="lls", password=b"wrong"
                ):
                    pass
            assert client.stats.associations_opened == 0
    # result rejected-permanent (1), diagnostic authentication-failure (13)
    assert (refused.value.result, refused.value.diagnostic) == (1, 13)
