"""Interop: gurux-dlms's client (InterfaceType.WRAPPER over real loopback UDP)
associates with ``dlmsmesh serve`` and reads the clock, the logical device
name, an energy register with its scaler/unit and the load profile's capture
objects and month-long buffer (far larger than one PDU: datagram blocks),
then releases (issue 12, "Done when").

Three associations: the public client 16 without security, the management
client 1 with LLS, and the management client 1 with HLS-GMAC and suite-0
authenticated encryption.

Peer deviations, asserted rather than hidden:

* gurux holds a register's scaler as a multiplier (10**scaler) and scales
  the value it reads with it; the server sends scaler 0 and unit 30 (Wh).
* gurux-dlms 1.0.203 cannot read general-block-transfer (its receiverReady
  fails after the first block), so it is not proposed here; the server
  answers long GETs with datablocks, which is what gurux proposes.
* gurux sends RLRQ unciphered even in a ciphered association; the server
  answers it (RLRE) as the association's release.
"""

from __future__ import annotations

import datetime as dt

import pytest

pytest.importorskip("gurux_dlms")

from gurux_dlms.enums import Authentication, ObjectType, Security, Unit  # noqa: E402
from gurux_dlms.objects import GXDLMSClock, GXDLMSData, GXDLMSProfileGeneric, GXDLMSRegister  # noqa: E402

from dlmsmesh.cosem import logical_device_name  # noqa: E402
from dlmsmesh.cosem.meter_set import PROFILE_DAYS  # noqa: E402

from .dlmsmesh_meter import serve  # noqa: E402
from .gurux_client import RX, TX, GuruxUdpClient, wrapper_header  # noqa: E402

pytestmark = [pytest.mark.interop, pytest.mark.single_backend]

TITLE = bytes.fromhex("4D4D4D0000BC614E")
CLIENT_TITLE = b"GRX00001"
EK = bytes(range(16))
AK = bytes(range(0xD0, 0xE0))
PASSWORD = "12345678"
CLOCK_LN, LDN_LN, IMPORT_LN, PROFILE_LN = "0.0.1.0.0.255", "0.0.42.0.0.255", "1.0.1.8.0.255", "1.0.99.1.0.255"


def _read_everything(client: GuruxUdpClient) -> None:
    before = dt.datetime.now(dt.timezone.utc)
    clock = GXDLMSClock(CLOCK_LN)
    client.read(clock, 2)
    moment = clock.time.value
    assert abs((moment.astimezone(dt.timezone.utc) - before).total_seconds()) < 60

    ldn = GXDLMSData(LDN_LN)
    assert bytes(client.read(ldn, 2)) == logical_device_name(TITLE) == b"MMM0000012345678"

    energy = GXDLMSRegister(IMPORT_LN)
    client.read(energy, 3)
    assert energy.scaler == 1  # gurux's multiplier for scaler 0
    assert energy.unit == Unit.ACTIVE_ENERGY
    assert client.read(energy, 2) > 1_000_000  # Wh since the emulated installation

    profile = GXDLMSProfileGeneric(PROFILE_LN)
    client.read(profile, 3)
    assert [(obj.objectType, obj.logicalName, co.attributeIndex) for obj, co in profile.captureObjects] == [
        (ObjectType.CLOCK, CLOCK_LN, 2),
        (ObjectType.REGISTER, IMPORT_LN, 2),
        (ObjectType.REGISTER, "1.0.2.8.0.255", 2),
    ]
    assert client.read(profile, 4) == 900  # capture period
    client.clear_capture()
    client.read(profile, 2)
    rows = profile.buffer
    assert len(rows) >= PROFILE_DAYS * 96
    # a quarter-hour apart, energy never decreasing
    first, second, last = rows[0], rows[1], rows[-1]
    assert (second[0].value - first[0].value).total_seconds() == 900
    assert last[1] >= first[1] and last[2] >= first[2]
    # the month came in datablocks: get-response-with-datablock, each within the 1224-byte PDU
    replies = [data[8:] for direction, data in client.exchanges if direction == RX]
    assert len(replies) > 20
    for reply in replies:
        assert len(reply) <= 1224
    return None


def _assert_wports(client: GuruxUdpClient, client_sap: int) -> None:
    for direction, data in client.exchanges:
        version, source, destination, length = wrapper_header(data)
        assert version == 1 and length == len(data) - 8
        assert (source, destination) == ((client_sap, 1) if direction == TX else (1, client_sap))


def test_public_client_without_security() -> None:
    with (
        serve("--system-title", TITLE.hex()) as started,
        GuruxUdpClient("127.0.0.1", started["port"], client_address=16, timeout=5.0) as client,
    ):
        client.associate()
        _read_everything(client)
        client.release()
        _assert_wports(client, 16)


def test_management_client_with_lls() -> None:
    with (
        serve("--system-title", TITLE.hex(), "--auth", "lls", "--password", PASSWORD) as started,
        GuruxUdpClient(
            "127.0.0.1",
            started["port"],
            client_address=1,
            authentication=Authentication.LOW,
            password=PASSWORD.encode(),
            timeout=5.0,
        ) as client,
    ):
        client.associate()
        _read_everything(client)
        client.release()
        _assert_wports(client, 1)


def test_management_client_with_hls_gmac_and_authenticated_encryption() -> None:
    args = (
        "--system-title",
        TITLE.hex(),
        "--auth",
        "hls-gmac",
        "--security",
        "authenc",
        "--ek",
        EK.hex(),
        "--ak",
        AK.hex(),
    )
    with (
        serve(*args) as started,
        GuruxUdpClient(
            "127.0.0.1",
            started["port"],
            client_address=1,
            authentication=Authentication.HIGH_GMAC,
            security=Security.AUTHENTICATION_ENCRYPTION,
            system_title=CLIENT_TITLE,
            block_cipher_key=EK,
            authentication_key=AK,
            timeout=5.0,
        ) as client,
    ):
        client.associate()
        assert bytes(client.client.sourceSystemTitle) == TITLE  # the AARE's responding-AP-title
        _read_everything(client)
        # every request and reply after the AARQ/AARE was ciphered (glo-, tag C8.. / CC..)
        apdus = [data[8:] for _, data in client.exchanges]
        assert all(apdu[0] in (0xC8, 0xCC, 0xCB, 0xCF) for apdu in apdus)
        client.release()
        _assert_wports(client, 1)
