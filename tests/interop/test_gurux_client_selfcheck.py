"""The gurux UDP driver (gurux_client.py) proved against real peers before it
is pointed at ``dlmsmesh serve``.

Two kinds of peer: gurux-dlms's own server classes on a loopback UDP socket
(gurux_server.py: no security for the public client 16; LLS and HLS-GMAC with
suite-0 authenticated encryption for the management client 1; a load profile
too long for one PDU), and a scripted socket that answers with exact bytes,
for what gurux's server never sends (exception-response, a wrong wPort, a
reply from another port, silence).

What the tests pin about gurux's client is what the dlmsmesh server has to
meet; the bytes asserted here are the ones gurux sends.
"""

from __future__ import annotations

import datetime
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

pytest.importorskip("gurux_dlms")

from gurux_dlms import GXDLMSConfirmedServiceError, GXDLMSException, GXDLMSExceptionResponse  # noqa: E402
from gurux_dlms.enums import (  # noqa: E402
    AssociationResult,
    Authentication,
    Conformance,
    ObjectType,
    Security,
    SourceDiagnostic,
    Unit,
)
from gurux_dlms.objects import GXDLMSClock, GXDLMSData, GXDLMSProfileGeneric, GXDLMSRegister  # noqa: E402

from .gurux_client import RX, TX, GuruxUdpClient, PeerError, wrapper_header  # noqa: E402
from .gurux_server import (  # noqa: E402
    CLOCK_LN,
    ENERGY_LN,
    EPOCH,
    LDN_LN,
    MANAGEMENT_CLIENT,
    MANAGEMENT_LD,
    PROFILE_LN,
    PUBLIC_CLIENT,
    MeterConfig,
    serving,
)

pytestmark = [pytest.mark.interop, pytest.mark.single_backend]

PASSWORD = b"12345678"
CLIENT_TITLE = b"GRX00001"
EK = bytes(range(16))
AK = bytes(range(0xD0, 0xE0))

AARE = 0x61
RLRQ, RLRE = 0x62, 0x63
GET_REQUEST, GET_RESPONSE = 0xC0, 0xC4
ACTION_REQUEST = 0xC3
GLO_GET_REQUEST, GLO_GET_RESPONSE = 0xC8, 0xCC
GLO_ACTION_REQUEST, GLO_ACTION_RESPONSE = 0xCB, 0xCF
GENERAL_GLO_CIPHERING = 0xDB
GBT = 0xE0


def _apdus(client: GuruxUdpClient, direction: str) -> list[bytes]:
    return [data[8:] for d, data in client.exchanges if d == direction]


def _read_everything(client: GuruxUdpClient, rows: int) -> GXDLMSProfileGeneric:
    """The reads the issue asks of the interop test, checked against the gurux meter's values."""
    clock = GXDLMSClock(CLOCK_LN)
    client.read(clock, 2)
    assert clock.time.value.replace(tzinfo=None) == EPOCH.replace(tzinfo=None)

    ldn = GXDLMSData(LDN_LN)
    assert bytes(client.read(ldn, 2)) == MeterConfig().logical_device_name

    energy = GXDLMSRegister(ENERGY_LN)
    client.read(energy, 3)
    # gurux turns scaler -3 into the multiplier 10**-3 and then scales the value with it
    assert energy.scaler == pytest.approx(1e-3)
    assert energy.unit == Unit.ACTIVE_ENERGY
    assert client.read(energy, 2) == pytest.approx(123.456)

    profile = GXDLMSProfileGeneric(PROFILE_LN)
    client.read(profile, 3)
    assert [
        (obj.objectType, obj.logicalName, co.attributeIndex, co.dataIndex) for obj, co in profile.captureObjects
    ] == [
        (ObjectType.CLOCK, CLOCK_LN, 2, 0),
        (ObjectType.REGISTER, ENERGY_LN, 2, 0),
    ]
    client.read(profile, 2)
    assert len(profile.buffer) == rows
    for index in (0, 1, rows // 2, rows - 1):
        stamp, value = profile.buffer[index]
        assert stamp.value.replace(tzinfo=None) == (EPOCH + datetime.timedelta(minutes=15 * index)).replace(tzinfo=None)
        assert value == 1000 + 7 * index
    return profile


def _assert_wports(client: GuruxUdpClient, client_sap: int, server_sap: int) -> None:
    for direction, data in client.exchanges:
        version, source, destination, length = wrapper_header(data)
        assert version == 1
        assert length == len(data) - 8
        if direction == TX:
            assert (source, destination) == (client_sap, server_sap)
        else:
            assert (source, destination) == (server_sap, client_sap)


# -- against gurux's server ----------------------------------------------


def test_public_client_no_security_reads_everything_and_the_profile_in_blocks() -> None:
    rows = 400
    with (
        serving(MeterConfig(rows=rows)) as (meter, (host, port)),
        GuruxUdpClient(host, port, client_address=PUBLIC_CLIENT, timeout=2.0) as client,
    ):
        client.associate()
        aarq = _apdus(client, TX)[0]
        # AARQ, LN context without ciphering, no ACSE requirements, plain xDLMS InitiateRequest
        assert aarq.hex() == "601da109060760857405080101be10040e01000000065f1f0400401e5d04c8"
        assert _apdus(client, RX)[0][0] == AARE
        assert client.client.maxReceivePDUSize == 1224

        client.clear_capture()
        _read_everything(client, rows)
        requests, responses = _apdus(client, TX), _apdus(client, RX)
        # the buffer came as GET-response-with-datablock (c4 02), each block asked for with get-request-next (c0 02)
        blocks = [r for r in responses if r[:2] == bytes([GET_RESPONSE, 0x02])]
        assert len(blocks) >= 5  # 400 rows of 21 bytes in blocks of at most 1224
        assert [int.from_bytes(b[4:8], "big") for b in blocks] == list(range(1, len(blocks) + 1))
        assert [b[3] for b in blocks] == [0] * (len(blocks) - 1) + [1]
        next_requests = [r for r in requests if r[:2] == bytes([GET_REQUEST, 0x02])]
        assert [int.from_bytes(r[3:7], "big") for r in next_requests] == list(range(1, len(blocks)))
        assert all(len(r) <= 8 + 1224 for r in client.received())

        client.clear_capture()
        client.release()
        assert _apdus(client, TX) == [bytes.fromhex("6203800100")]
        assert _apdus(client, RX)[0][0] == RLRE
        _assert_wports(client, PUBLIC_CLIENT, MANAGEMENT_LD)
    assert ("connected", PUBLIC_CLIENT) in meter.events


def test_ipv6_loopback() -> None:
    try:
        probe = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
        probe.bind(("::1", 0))
        probe.close()
    except OSError:
        pytest.skip("no IPv6 loopback on this host")
    with (
        serving(MeterConfig(), host="::1") as (_meter, (host, port)),
        GuruxUdpClient(host, port, client_address=PUBLIC_CLIENT) as client,
    ):
        client.associate()
        assert bytes(client.read(GXDLMSData(LDN_LN), 2)) == MeterConfig().logical_device_name
        client.release()
        assert client.local_address[0] == "::1"
        assert {d.peer[0] for d in client.datagrams} == {"::1"}


def test_management_client_lls() -> None:
    config = MeterConfig(authentication=Authentication.LOW, password=PASSWORD, rows=200)
    with (
        serving(config) as (meter, (host, port)),
        GuruxUdpClient(
            host, port, client_address=MANAGEMENT_CLIENT, authentication=Authentication.LOW, password=PASSWORD
        ) as client,
    ):
        client.associate()
        aarq = _apdus(client, TX)[0]
        assert aarq.hex() == (
            "6036a109060760857405080101"  # LN context, no ciphering
            "8a020780"  # sender-acse-requirements: authentication
            "8b0760857405080201"  # mechanism-name: low-level-security
            "ac0a8008" + PASSWORD.hex() + "be10040e01000000065f1f0400401e5d04c8"
        )
        _read_everything(client, 200)
        client.release()
        _assert_wports(client, MANAGEMENT_CLIENT, MANAGEMENT_LD)
    assert ("authenticate", (MANAGEMENT_CLIENT, int(Authentication.LOW), True)) in meter.events


def test_management_client_lls_wrong_password_is_rejected_in_the_aare() -> None:
    config = MeterConfig(authentication=Authentication.LOW, password=PASSWORD)
    with (
        serving(config) as (_meter, (host, port)),
        GuruxUdpClient(
            host, port, client_address=MANAGEMENT_CLIENT, authentication=Authentication.LOW, password=b"wrong"
        ) as client,
    ):
        with pytest.raises(GXDLMSException) as excinfo:
            client.associate()
        assert excinfo.value.result == AssociationResult.PERMANENT_REJECTED
        assert excinfo.value.diagnostic == SourceDiagnostic.AUTHENTICATION_FAILURE
        # the AARE a rejection needs: result 1, diagnostic 13, no user-information is required by gurux
        aare = _apdus(client, RX)[0]
        assert bytes.fromhex("a203020101a305a10302010d") in aare


def test_management_client_hls_gmac_with_authenticated_encryption() -> None:
    rows = 300
    config = MeterConfig(
        authentication=Authentication.HIGH_GMAC,
        security=Security.AUTHENTICATION_ENCRYPTION,
        block_cipher_key=EK,
        authentication_key=AK,
        rows=rows,
    )
    with (
        serving(config) as (meter, (host, port)),
        GuruxUdpClient(
            host,
            port,
            client_address=MANAGEMENT_CLIENT,
            authentication=Authentication.HIGH_GMAC,
            security=Security.AUTHENTICATION_ENCRYPTION,
            system_title=CLIENT_TITLE,
            block_cipher_key=EK,
            authentication_key=AK,
            invocation_counter=1,
        ) as client,
    ):
        client.associate()
        aarq, pass3 = _apdus(client, TX)[:2]
        assert aarq[:2] == bytes([0x60, len(aarq) - 2])
        assert aarq[2:13].hex() == "a109060760857405080103"  # LN context with ciphering
        assert aarq[13:25] == bytes.fromhex("a60a0408") + CLIENT_TITLE  # calling-AP-title
        assert aarq[25:38].hex() == "8a0207808b0760857405080205"  # mechanism-name: HLS GMAC
        # calling-authentication-value: CtoS, 16 bytes
        assert aarq[38:42].hex() == "ac128010"
        # user-information: glo-initiate-request (0x21), SC 0x30 (suite 0, authenticated encryption), IC 1
        assert aarq[58:64].hex() == "be230421211f"
        assert aarq[64:69].hex() == "3000000001"
        # pass 3: glo-action-request, SC 0x30 and IC 3: gurux put IC 2 into f(StoC) (SC 0x10 | IC 2 | GMAC)
        # and ciphered the action-request that carries it under IC 3
        assert pass3[0] == GLO_ACTION_REQUEST
        assert pass3[2:7].hex() == "3000000003"
        assert _apdus(client, RX)[1][0] == GLO_ACTION_RESPONSE
        # f(StoC) = 10 | IC 2 | GMAC: the proof carries IC 2, the envelope around it IC 3
        assert ("hls-pass3", (True, 2)) in meter.events
        aare = _apdus(client, RX)[0]
        assert bytes.fromhex("a305a10302010e") in aare  # accepted, authentication-required
        assert bytes.fromhex("a40a0408") + config.system_title in aare
        assert bytes(client.client.sourceSystemTitle) == config.system_title  # from the AARE's responding-AP-title

        client.clear_capture()
        _read_everything(client, rows)
        requests, responses = _apdus(client, TX), _apdus(client, RX)
        # once associated with general-protection negotiated (gurux proposes it), every request is
        # general-glo-ciphering carrying the client's system title: DB 08 <title> <len> 30 <IC> ...
        assert {r[0] for r in requests} == {GENERAL_GLO_CIPHERING}
        assert {r[1:10] for r in requests} == {b"\x08" + CLIENT_TITLE}
        assert {r[0] for r in responses} == {GENERAL_GLO_CIPHERING}
        assert len(responses) > 8
        # the client's invocation counter climbs by one per request
        counters = [int.from_bytes(r[12:16], "big") for r in requests]
        assert {r[11] for r in requests} == {0x30}
        assert counters == list(range(counters[0], counters[0] + len(counters)))
        client.release()
        _assert_wports(client, MANAGEMENT_CLIENT, MANAGEMENT_LD)


def test_hls_gmac_wrong_authentication_key_fails_pass_4() -> None:
    config = MeterConfig(
        authentication=Authentication.HIGH_GMAC,
        security=Security.AUTHENTICATION_ENCRYPTION,
        block_cipher_key=EK,
        authentication_key=AK,
    )
    with (
        serving(config) as (meter, (host, port)),
        GuruxUdpClient(
            host,
            port,
            client_address=MANAGEMENT_CLIENT,
            authentication=Authentication.HIGH_GMAC,
            security=Security.AUTHENTICATION_ENCRYPTION,
            block_cipher_key=EK,
            authentication_key=bytes(16),
        ) as client,
    ):
        with pytest.raises(Exception):  # noqa: B017 (gurux raises whatever its decryption raises)
            client.associate()
    assert ("connected", MANAGEMENT_CLIENT) not in meter.events


def test_reading_an_unknown_object_raises_the_data_access_result() -> None:
    with (
        serving(MeterConfig()) as (_meter, (host, port)),
        GuruxUdpClient(host, port, client_address=PUBLIC_CLIENT) as client,
    ):
        client.associate()
        with pytest.raises(GXDLMSException) as excinfo:
            client.read(GXDLMSData("0.0.96.99.99.255"), 2)
        assert excinfo.value.errorCode == 4  # object-undefined
        assert _apdus(client, RX)[-1].hex() == "c401c10104"
        client.release()


def test_gurux_client_cannot_acknowledge_a_general_block_transfer_block() -> None:
    """A peer deviation, asserted: gurux-dlms 1.0.203's client, once it has
    proposed GBT and got a first GBT block, fails building its
    acknowledgement (GXDLMSSettings has no ``blockNumber``).  A server that
    sends GBT to gurux loses it: use GET-with-datablock, which is what gurux
    negotiates unless told otherwise."""
    with (
        serving(MeterConfig(general_block_transfer=True)) as (_meter, (host, port)),
        GuruxUdpClient(host, port, client_address=PUBLIC_CLIENT, general_block_transfer=True) as client,
    ):
        client.associate()
        with pytest.raises(AttributeError, match="blockNumber"):
            client.read(GXDLMSProfileGeneric(PROFILE_LN), 2)
        assert _apdus(client, RX)[-1][0] == GBT


# -- against a scripted peer -----------------------------------------------


@contextmanager
def scripted_peer(answer: Callable[[bytes], list[tuple[bytes, bool]]]) -> Iterator[tuple[str, int]]:
    """A loopback UDP socket answering each datagram with ``answer(datagram)``:
    (bytes, from_another_port) pairs."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.05)
    other = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    other.bind(("127.0.0.1", 0))
    stop = threading.Event()

    def loop() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            for reply, elsewhere in answer(data):
                (other if elsewhere else sock).sendto(reply, peer)

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()
    finally:
        stop.set()
        thread.join(timeout=5)
        sock.close()
        other.close()


def _wrap(source: int, destination: int, apdu: bytes) -> bytes:
    return (
        b"\x00\x01" + source.to_bytes(2, "big") + destination.to_bytes(2, "big") + len(apdu).to_bytes(2, "big") + apdu
    )


# an AARE accepting an LN association: the shortest gurux takes
_AARE = bytes.fromhex("6129a109060760857405080101a203020100a305a103020100be10040e0800065f1f0400001e1d04c80007")


def _association_then(apdu: bytes) -> Callable[[bytes], list[tuple[bytes, bool]]]:
    def answer(datagram: bytes) -> list[tuple[bytes, bool]]:
        if datagram[8] == 0x60:
            return [(_wrap(1, 16, _AARE), False)]
        return [(_wrap(1, 16, apdu), False)]

    return answer


def test_scripted_aare_is_enough_for_gurux() -> None:
    with (
        scripted_peer(_association_then(bytes.fromhex("c401c1000906") + b"ABCDEF")) as (host, port),
        GuruxUdpClient(host, port, client_address=16) as client,
    ):
        client.associate()
        # gurux takes the server's conformance block (00 1e 1d here: no general-protection) as the
        # negotiated one without intersecting it with its proposal, and the server's max PDU size
        negotiated = client.client.negotiatedConformance
        assert (
            negotiated
            == Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
            | Conformance.BLOCK_TRANSFER_WITH_SET_OR_WRITE
            | (
                Conformance.BLOCK_TRANSFER_WITH_ACTION
                | Conformance.MULTIPLE_REFERENCES
                | Conformance.GET
                | Conformance.SET
                | Conformance.SELECTIVE_ACCESS
                | Conformance.ACTION
            )
        )
        assert client.client.maxReceivePDUSize == 0x04C8
        assert bytes(client.read(GXDLMSData(LDN_LN), 2)) == b"ABCDEF"


def test_exception_response_surfaces_as_gurux_exception_response() -> None:
    # exception-response: state-error service-not-allowed (1), service-error operation-not-possible (2)
    with (
        scripted_peer(_association_then(bytes.fromhex("d80102"))) as (host, port),
        GuruxUdpClient(host, port, client_address=16) as client,
    ):
        client.associate()
        with pytest.raises(GXDLMSExceptionResponse) as excinfo:
            client.read(GXDLMSData(LDN_LN), 2)
        assert int(excinfo.value.exceptionStateError) == 1
        assert int(excinfo.value.exceptionServiceError) == 2


def test_confirmed_service_error_surfaces_as_gurux_confirmed_service_error() -> None:
    # confirmed-service-error: initiate-error (1), service (6), other (0)
    with (
        scripted_peer(_association_then(bytes.fromhex("0e010600"))) as (host, port),
        GuruxUdpClient(host, port, client_address=16) as client,
    ):
        client.associate()
        with pytest.raises(GXDLMSConfirmedServiceError):
            client.read(GXDLMSData(LDN_LN), 2)


def test_reply_with_unswapped_wports_is_a_peer_error() -> None:
    """gurux would file such a reply as a notification for someone else and
    wait for the real one until its timeout; the driver names the fault."""

    def answer(datagram: bytes) -> list[tuple[bytes, bool]]:
        # source 16, destination 1: the request's header echoed, not swapped
        return [(_wrap(16, 1, _AARE), False)]

    with scripted_peer(answer) as (host, port), GuruxUdpClient(host, port, client_address=16, timeout=0.5) as client:
        with pytest.raises(PeerError, match="not the request's swapped 1->16"):
            client.associate()


def test_reply_from_another_port_is_a_peer_error() -> None:
    with (
        scripted_peer(lambda d: [(_wrap(1, 16, _AARE), True)]) as (host, port),
        GuruxUdpClient(host, port, client_address=16) as client,
    ):
        with pytest.raises(PeerError, match="reply from"):
            client.associate()


def test_wrapper_length_must_match_the_datagram() -> None:
    def answer(datagram: bytes) -> list[tuple[bytes, bool]]:
        return [(_wrap(1, 16, _AARE) + b"\x00", False)]

    with scripted_peer(answer) as (host, port), GuruxUdpClient(host, port, client_address=16) as client:
        with pytest.raises(PeerError, match="one WPDU per datagram"):
            client.associate()


def test_silence_is_a_bounded_peer_error() -> None:
    with (
        scripted_peer(lambda d: []) as (host, port),
        GuruxUdpClient(host, port, client_address=16, timeout=0.2) as client,
    ):
        with pytest.raises(PeerError, match="no datagram"):
            client.associate()
        assert [d for d, _ in client.exchanges] == [TX]


def test_capture_lists_both_directions_in_order() -> None:
    with (
        scripted_peer(_association_then(bytes.fromhex("c401c1000906") + b"ABCDEF")) as (host, port),
        GuruxUdpClient(host, port, client_address=16) as client,
    ):
        client.associate()
        client.read(GXDLMSData(LDN_LN), 2)
        assert [d for d, _ in client.exchanges] == [TX, RX, TX, RX]
        assert client.exchanges[2][1].hex() == "000100100001000dc001c100010000" + "2a0000ff0200"
        assert client.received()[1] == _wrap(1, 16, bytes.fromhex("c401c1000906") + b"ABCDEF")
