"""``dlmsmesh serve`` (issue 12, point 4): the emulator runs as its own
process on a loopback UDP port and the tests talk to it with dlmsmesh's own
encoders, as a head-end would: the public client reads the clock and the
logical device name, the management client authenticates (LLS, HLS-GMAC),
ciphers (authenc), and the settings come from flags or a TOML/JSON file.

Every wait is bounded (the start-up line, each reply, the stop) and every
process is killed in ``finally``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import os
import queue
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import pytest

from dlmsmesh import acse, axdr, serve_cli, wrapper
from dlmsmesh import apdu as A
from dlmsmesh.acse_pdu import (
    AARE,
    AARQ,
    RLRE,
    RLRQ,
    AcseServiceUserDiagnostic,
    ApplicationContext,
    AssociationResult,
    Mechanism,
)
from dlmsmesh.apdu_model import (
    ActionResult,
    AttributeDescriptor,
    DataAccessResult,
    MethodDescriptor,
    ServiceError,
    StateError,
)
from dlmsmesh.cli import build_parser
from dlmsmesh.cosem import default_meter
from dlmsmesh.security import CIPHERED_TAGS, KeySet, Role, SecurityContext, SecurityPolicy
from dlmsmesh.types import DateTime, DoubleLongUnsigned, Enum, Integer, OctetString, Structure
from dlmsmesh.xdlms_initiate import (
    Conformance,
    InitiateRequest,
    InitiateResponse,
    decode_user_information,
    encode_user_information,
)

from .helpers import BACKENDS

pytestmark = pytest.mark.single_backend  # the meter runs in a subprocess

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_TITLE = bytes.fromhex("4d4d4d0000bc614e")
CLIENT_TITLE = bytes.fromhex("4142430000000001")
CLOCK = AttributeDescriptor(8, "0.0.1.0.0.255", 2)
NAME = AttributeDescriptor(1, "0.0.42.0.0.255", 2)
IMPORT_SCALER_UNIT = AttributeDescriptor(3, "1.0.1.8.0.255", 3)
CONFORMANCE = Conformance.GET | Conformance.ACTION | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ
#: how long a start-up line, a reply or a stop may take
WAIT = 30.0


# --------------------------------------------------------------------------
# the process and the wire
# --------------------------------------------------------------------------


class Lines:
    """A process's text stream read by a thread, so every read has a deadline."""

    def __init__(self, stream: IO[str]) -> None:
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._queue.put(line)
        self._queue.put(None)

    def next(self, timeout: float = WAIT) -> str | None:
        """The next line (None at the end of the stream)."""
        try:
            return self._queue.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no line within {timeout} s") from None

    def until(self, prefix: str, timeout: float = WAIT) -> list[str]:
        """The lines up to and including the first that starts with ``prefix``."""
        got: list[str] = []
        while True:
            line = self.next(timeout)
            if line is None:
                raise AssertionError(f"the stream ended before a line starting {prefix!r}: {got}")
            got.append(line.rstrip("\n"))
            if line.startswith(prefix):
                return got


@dataclass
class Served:
    proc: subprocess.Popen[str]
    stdout: Lines
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def port(self) -> int:
        return int(self.info["port"])

    @property
    def keys(self) -> tuple[bytes, bytes]:
        keys = self.info["keys"]
        return bytes.fromhex(keys["ek"]), bytes.fromhex(keys["ak"])

    def stop(self, sig: int = signal.SIGTERM) -> tuple[int, list[str], str]:
        """Signal the process: its exit code, the rest of its stdout, its stderr."""
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=WAIT)
        rest: list[str] = []
        while (line := self.stdout.next()) is not None:
            rest.append(line.rstrip("\n"))
        assert self.proc.stderr is not None
        return code, rest, self.proc.stderr.read()


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "dlmsmesh", "serve", *args]


def _env(backend: str | None = None) -> dict[str, str]:
    env = dict(os.environ)
    if backend is not None:
        env["DLMSMESH_BACKEND"] = backend
    return env


@contextlib.contextmanager
def serve(*args: str, as_json: bool = True, backend: str | None = None) -> Iterator[Served]:
    """``dlmsmesh serve --port 0 ARGS`` on 127.0.0.1, started (its start-up
    block read), and killed whatever happens."""
    argv = _command("--port", "0", *(["--json"] if as_json else []), *args)
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env(backend), cwd=ROOT
    )
    try:
        assert proc.stdout is not None
        served = Served(proc, Lines(proc.stdout))
        if as_json:
            first = served.stdout.next()
            if first is None:
                assert proc.stderr is not None
                raise AssertionError(f"serve exited before starting: {proc.wait(timeout=WAIT)} {proc.stderr.read()}")
            served.info = json.loads(first)
        yield served
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(timeout=WAIT)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


class Peer:
    """A head-end's UDP socket towards one served meter (wrapper PDUs)."""

    def __init__(self, port: int, client_sap: int) -> None:
        self.address = ("127.0.0.1", port)
        self.client_sap = client_sap
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.settimeout(WAIT)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Peer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def exchange(self, apdu: bytes) -> bytes:
        """Send one APDU to logical device 1 and return the APDU answered."""
        self.sock.sendto(wrapper.encode(self.client_sap, 1, apdu), self.address)
        data, _ = self.sock.recvfrom(65536)
        header, payload = wrapper.decode(data)
        assert (header.source_wport, header.destination_wport) == (1, self.client_sap)
        return payload

    def associate(self, aarq: AARQ) -> AARE:
        pdu = acse.decode(self.exchange(acse.encode(aarq)))
        assert isinstance(pdu, AARE)
        return pdu

    def request(self, apdu: A.Apdu, ctx: SecurityContext | None = None) -> A.Apdu:
        """Send an xDLMS request (protected with ``ctx``) and decode the answer
        (which, with ``ctx``, must come ciphered)."""
        request = A.encode(apdu)
        answer = self.exchange(request if ctx is None else ctx.protect(request))
        if ctx is not None:
            assert answer[0] in CIPHERED_TAGS, f"a ciphered association answered {answer[:1].hex()} in the clear"
            answer = ctx.unprotect(answer).plaintext
        return A.decode(answer)

    def get(self, descriptor: AttributeDescriptor, ctx: SecurityContext | None = None) -> Any:
        response = self.request(A.GetRequestNormal(descriptor), ctx)
        assert isinstance(response, A.GetResponseNormal), response
        return response.result

    def release(self) -> None:
        assert isinstance(acse.decode(self.exchange(acse.encode(RLRQ()))), RLRE)


def _plain_aarq(**fields: Any) -> AARQ:
    return AARQ(user_information=InitiateRequest(conformance=CONFORMANCE, max_receive_pdu_size=1200), **fields)


def _lls_aarq(password: bytes) -> AARQ:
    return _plain_aarq(sender_acse_requirements="1", mechanism=Mechanism.LOW, calling_authentication_value=password)


def _ciphered_aarq(ctx: SecurityContext, **fields: Any) -> AARQ:
    """An AARQ of the ciphered context whose InitiateRequest is a glo-initiate-request."""
    initiate = encode_user_information(InitiateRequest(conformance=CONFORMANCE, max_receive_pdu_size=1200))
    fields.setdefault("calling_ap_title", CLIENT_TITLE)
    return AARQ(
        application_context=ApplicationContext.LOGICAL_NAME_CIPHERED,
        user_information=decode_user_information(ctx.protect(initiate)),
        **fields,
    )


def _client_context(served: Served, policy: SecurityPolicy) -> SecurityContext:
    ek, ak = served.keys
    title = bytes.fromhex(served.info["system_title"])
    return SecurityContext(CLIENT_TITLE, peer_system_title=title, ek=ek, ak=ak, policy=policy, role=Role.CLIENT)


def _assert_now(value: Any) -> None:
    """A clock reading is the real UTC time (the emulator's clock runs in UTC)."""
    read = DateTime(bytes(value)).to_datetime()
    assert abs(read - dt.datetime.now(dt.timezone.utc)) < dt.timedelta(seconds=WAIT)
    assert read.utcoffset() == dt.timedelta(0)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --------------------------------------------------------------------------
# clients over real UDP
# --------------------------------------------------------------------------


def test_public_client_reads_the_clock_and_the_logical_device_name() -> None:
    with serve() as served, Peer(served.port, 16) as peer:
        assert served.info["system_title"] == DEFAULT_TITLE.hex()
        assert served.info["logical_device_name"] == "MMM0000012345678"
        aare = peer.associate(_plain_aarq())
        assert aare.result == AssociationResult.ACCEPTED
        assert isinstance(aare.user_information, InitiateResponse)
        _assert_now(peer.get(CLOCK))
        assert bytes(peer.get(NAME)) == b"MMM0000012345678"
        peer.release()


def test_the_public_client_cannot_read_security_setup() -> None:
    # the public client's view holds what reads the meter, not its configuration
    with serve() as served, Peer(served.port, 16) as peer:
        peer.associate(_plain_aarq())
        assert peer.get(AttributeDescriptor(64, "0.0.43.0.0.255", 2)) == DataAccessResult.OBJECT_UNDEFINED
        assert isinstance(peer.get(AttributeDescriptor(3, "1.0.1.8.0.255", 2)), DoubleLongUnsigned)


def _rows_now() -> int:
    """Load profile rows at this moment: thirty whole days, then today's quarters up to now."""
    now = dt.datetime.now(dt.timezone.utc)
    since_midnight = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
    return 30 * 96 + int(since_midnight.total_seconds()) // 900 + 1


def test_the_load_profile_is_a_month_read_in_blocks_and_follows_from_the_title() -> None:
    with serve() as served, Peer(served.port, 16) as peer:
        peer.associate(_plain_aarq())
        capture = peer.get(AttributeDescriptor(7, "1.0.99.1.0.255", 3))
        assert [(int(c[0]), bytes(c[1]), int(c[2])) for c in capture] == [
            (8, bytes([0, 0, 1, 0, 0, 255]), 2),
            (3, bytes([1, 0, 1, 8, 0, 255]), 2),
            (3, bytes([1, 0, 2, 8, 0, 255]), 2),
        ]
        before = _rows_now()
        first = A.decode(peer.exchange(A.encode(A.GetRequestNormal(AttributeDescriptor(7, "1.0.99.1.0.255", 2)))))
        assert isinstance(first, A.GetResponseWithDatablock)  # larger than one PDU
        response, raw, blocks = first, bytearray(), 0
        while True:
            assert isinstance(response, A.GetResponseWithDatablock) and isinstance(response.raw_data, bytes)
            raw += response.raw_data
            blocks += 1
            if response.last_block or blocks > 10_000:
                break
            response = A.decode(peer.exchange(A.encode(A.GetRequestNext(response.block_number))))
        assert response.last_block and blocks > 1
        rows = axdr.decode(bytes(raw))
        after = _rows_now()
        if after < before:
            pytest.skip("the read crossed 00:00 UTC, when the profile's first day moves")
        assert before <= len(rows) <= after
        midnight = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
        assert DateTime(bytes(rows[0][0])).to_datetime() == midnight - dt.timedelta(days=30)
        assert all(int(a[1]) <= int(b[1]) and int(a[2]) <= int(b[2]) for a, b in zip(rows, rows[1:]))
    # the same title in this process gives the same readings: nothing is stored, all is derived
    mine = asyncio.run(default_meter(DEFAULT_TITLE).load_profile.get(2))
    assert [(bytes(r[0]), int(r[1]), int(r[2])) for r in mine[:96]] == [
        (bytes(r[0]), int(r[1]), int(r[2])) for r in rows[:96]
    ]


def test_management_client_with_lls_reads_the_scaler_unit() -> None:
    with serve("--auth", "lls", "--password", "12345678") as served, Peer(served.port, 1) as peer:
        management = [c for c in served.info["clients"] if c["sap"] == 1]
        assert management == [
            {"sap": 1, "name": "management", "authentication": "lls", "security": "none", "application_context": 1}
        ]
        assert served.info["keys"] is None  # LLS without security needs none
        aare = peer.associate(_lls_aarq(b"12345678"))
        assert aare.result == AssociationResult.ACCEPTED
        assert peer.get(IMPORT_SCALER_UNIT) == Structure((Integer(0), Enum(30)))  # 10^0 Wh
        peer.release()


def test_a_wrong_password_gets_a_rejected_aare() -> None:
    with serve("--auth", "lls", "--password", "12345678") as served, Peer(served.port, 1) as peer:
        aare = peer.associate(_lls_aarq(b"87654321"))
        assert aare.result == AssociationResult.REJECTED_PERMANENT
        assert aare.diagnostic == AcseServiceUserDiagnostic.AUTHENTICATION_FAILURE
        # no password at all: the mechanism is required
        aare = peer.associate(_plain_aarq())
        assert aare.result == AssociationResult.REJECTED_PERMANENT
        assert aare.diagnostic == AcseServiceUserDiagnostic.AUTHENTICATION_MECHANISM_NAME_REQUIRED


@pytest.mark.parametrize("backend", BACKENDS)
def test_authenc_management_client_must_cipher_and_reads_the_clock(backend: str) -> None:
    policy = serve_cli.policy_of("authenc")
    with serve("--security", "authenc", backend=backend) as served, Peer(served.port, 1) as peer:
        assert [c["application_context"] for c in served.info["clients"] if c["sap"] == 1] == [3]
        ek, ak = served.keys
        assert len(ek) == len(ak) == 16 and ek != ak  # drawn at random, printed
        # the plain context is not the management association's
        refused = peer.associate(_plain_aarq())
        assert refused.result == AssociationResult.REJECTED_PERMANENT
        assert refused.diagnostic == AcseServiceUserDiagnostic.APPLICATION_CONTEXT_NAME_NOT_SUPPORTED
        # the ciphered context with a plain InitiateRequest is refused too
        plain_initiate = AARQ(
            application_context=ApplicationContext.LOGICAL_NAME_CIPHERED,
            calling_ap_title=CLIENT_TITLE,
            user_information=InitiateRequest(conformance=CONFORMANCE, max_receive_pdu_size=1200),
        )
        assert peer.associate(plain_initiate).result == AssociationResult.REJECTED_PERMANENT
        ctx = _client_context(served, policy)
        aare = peer.associate(_ciphered_aarq(ctx))
        assert aare.result == AssociationResult.ACCEPTED
        assert aare.responding_ap_title == DEFAULT_TITLE
        _assert_now(peer.get(CLOCK, ctx))
        assert peer.get(IMPORT_SCALER_UNIT, ctx) == Structure((Integer(0), Enum(30)))
        # the invocation counter object shows the highest counter accepted from the client
        seen = int(peer.get(AttributeDescriptor(1, "0.0.43.1.0.255", 2), ctx))
        assert seen == ctx.next_invocation_counter(KeySet.UNICAST) - 1 >= 3


def test_authenc_with_wrong_keys_is_refused() -> None:
    with serve("--security", "authenc") as served, Peer(served.port, 1) as peer:
        ek, ak = served.keys
        wrong = SecurityContext(
            CLIENT_TITLE,
            ek=bytes(b ^ 1 for b in ek),
            ak=ak,
            policy=serve_cli.policy_of("authenc"),
            role=Role.CLIENT,
        )
        assert peer.associate(_ciphered_aarq(wrong)).result == AssociationResult.REJECTED_PERMANENT


def test_invocation_counters_persist_across_restarts_with_given_keys(tmp_path: Path) -> None:
    """Keys given outlive a run: the restarted meter continues its counters
    (never a nonce twice) and still refuses the client's old frames."""
    ek, ak = secrets.token_bytes(16), secrets.token_bytes(16)
    counters = tmp_path / "meter.sqlite3"
    args = ("--security", "authenc", "--ek", ek.hex(), "--ak", ak.hex(), "--counters", str(counters))
    policy = serve_cli.policy_of("authenc")
    ctx = SecurityContext(CLIENT_TITLE, peer_system_title=DEFAULT_TITLE, ek=ek, ak=ak, policy=policy, role=Role.CLIENT)
    seen: list[int] = []
    old = b""
    for run in range(2):
        with serve(*args) as served, Peer(served.port, 1) as peer:
            assert served.info["counters"] == str(counters)
            assert peer.associate(_ciphered_aarq(ctx)).result == AssociationResult.ACCEPTED
            if run == 1:
                # a request of the first run, replayed to the restarted meter
                refused = A.decode(peer.exchange(old))
                assert isinstance(refused, A.ExceptionResponse) and refused.service_error == 6
            old = ctx.protect(A.encode(A.GetRequestNormal(CLOCK)))
            answer = peer.exchange(old)
            assert answer[0] == 0xCC  # glo-get-response
            seen.append(ctx.unprotect(answer).info.invocation_counter)  # type: ignore[arg-type]
    assert seen[1] > seen[0]
    # random keys live for one run: their counters stay in memory
    with serve("--security", "authenc") as served:
        assert served.info["counters"] is None


def test_given_keys_and_system_title_are_used_and_printed() -> None:
    ek, ak, title = secrets.token_bytes(16), secrets.token_bytes(16), bytes.fromhex("4142430000000063")
    args = ("--security", "auth", "--ek", ek.hex(), "--ak", "0x" + ak.hex().upper(), "--system-title", title.hex())
    with serve(*args) as served, Peer(served.port, 1) as peer:
        assert served.info["keys"] == {"suite": 0, "ek": ek.hex(), "ak": ak.hex()}
        assert served.info["system_title"] == title.hex()
        assert served.info["logical_device_name"] == "ABC0000000000099"
        ctx = _client_context(served, serve_cli.policy_of("auth"))
        assert peer.associate(_ciphered_aarq(ctx)).result == AssociationResult.ACCEPTED
        _assert_now(peer.get(CLOCK, ctx))


@pytest.mark.parametrize("security", ["none", "authenc"])
def test_hls_gmac_management_client_passes_the_four_passes(security: str) -> None:
    with serve("--auth", "hls-gmac", "--security", security) as served, Peer(served.port, 1) as peer:
        assert served.info["keys"] is not None  # HLS-GMAC needs keys: drawn and printed
        ciphered = security != "none"
        ctx = _client_context(served, serve_cli.policy_of(security))
        cipher = ctx if ciphered else None
        ctos = secrets.token_bytes(16)
        fields: dict[str, Any] = {
            "calling_ap_title": CLIENT_TITLE,
            "sender_acse_requirements": "1",
            "mechanism": Mechanism.HIGH_GMAC,
            "calling_authentication_value": ctos,
        }
        aare = peer.associate(_ciphered_aarq(ctx, **fields) if ciphered else _plain_aarq(**fields))
        assert aare.result == AssociationResult.ACCEPTED
        assert aare.diagnostic == AcseServiceUserDiagnostic.AUTHENTICATION_REQUIRED
        stoc = aare.responding_authentication_value
        assert stoc is not None
        # before pass 3 the association serves nothing but pass 3
        assert peer.request(A.GetRequestNormal(CLOCK), cipher) == A.ExceptionResponse(
            StateError.SERVICE_NOT_ALLOWED, ServiceError.OPERATION_NOT_POSSIBLE
        )
        f_stoc = bytes.__new__(OctetString, ctx.hls_gmac_response(stoc))
        response = peer.request(A.ActionRequestNormal(MethodDescriptor(15, "0.0.40.0.0.255", 1), f_stoc), cipher)
        assert isinstance(response, A.ActionResponseNormal) and response.result == ActionResult.SUCCESS
        ctx.verify_hls_gmac(ctos, bytes(response.return_parameters))  # the meter knows the keys too
        _assert_now(peer.get(CLOCK, cipher))


# --------------------------------------------------------------------------
# the start-up block, stopping
# --------------------------------------------------------------------------


def test_the_text_block_names_title_address_clients_and_keys() -> None:
    ek = "000102030405060708090a0b0c0d0e0f"
    with serve("--auth", "lls", "--password", "pw", "--security", "enc", "--ek", ek, as_json=False) as served:
        lines = served.stdout.until("serving ")
        port = int(re.fullmatch(r"address +udp 127\.0\.0\.1 port (\d+)", lines[3]).group(1))  # type: ignore[union-attr]
        assert port > 0
        assert lines[0] == "dlmsmesh serve: a test meter emulator (never reuse its printed keys)"
        assert lines[1] == "system title    4d4d4d0000bc614e"
        assert lines[2] == "device name     MMM0000012345678"
        assert lines[4] == "logical device  1 (management)"
        assert lines[5] == "client 16       public: authentication none, security none"
        assert lines[6] == "client 1        management: authentication lls, security enc (ciphered context)"
        assert lines[7] == "client 102      pre-established: authentication none, security enc (no AARQ)"
        assert lines[8] == f"ek              {ek}"
        assert re.fullmatch(r"ak +[0-9a-f]{32}", lines[9])
        # keys given: the counters persist (the suite's counter database, see tests/conftest.py)
        assert lines[10] == f"counters        {os.environ['DLMSMESH_COUNTER_DB']}"
        assert lines[11] == "serving until Ctrl-C or SIGTERM"
        with Peer(port, 16) as peer:
            assert peer.associate(_plain_aarq()).result == AssociationResult.ACCEPTED
        code, rest, err = served.stop(signal.SIGTERM)
        assert code == 0 and err == ""
        assert rest == ["stopped: 1 datagrams received, 1 answered"]


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_ctrl_c_and_sigterm_stop_cleanly(sig: int) -> None:
    with serve() as served:
        code, rest, err = served.stop(sig)
        assert code == 0 and err == ""
        assert len(rest) == 1 and json.loads(rest[0])["stopped"]["internal_errors"] == 0


def test_seconds_stops_by_itself() -> None:
    proc = subprocess.run(_command("--port", "0", "--seconds", "0.2"), capture_output=True, text=True, timeout=WAIT)
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[-2] == "serving for 0.2 s or until Ctrl-C or SIGTERM"
    assert lines[-1] == "stopped: 0 datagrams received, 0 answered"


# --------------------------------------------------------------------------
# --config
# --------------------------------------------------------------------------

TOML = """\
# a comment
host = "127.0.0.1"
auth = "lls"
password = "from-the-file"
security = "authenc"
system_title = "4142430000000001"
ek = "00112233445566778899aabbccddeeff"
"""


def test_a_toml_config_sets_what_flags_would(tmp_path: Path) -> None:
    path = tmp_path / "meter.toml"
    path.write_text(TOML, encoding="utf-8")
    # a flag given overrides the file: the system title here
    with serve("--config", str(path), "--system-title", "4d4d4d0000000007") as served, Peer(served.port, 1) as peer:
        assert served.info["system_title"] == "4d4d4d0000000007"
        assert served.info["keys"]["ek"] == "00112233445566778899aabbccddeeff"
        assert [(c["authentication"], c["security"]) for c in served.info["clients"] if c["sap"] == 1] == [
            ("lls", "authenc")
        ]
        ctx = _client_context(served, serve_cli.policy_of("authenc"))
        aare = peer.associate(
            _ciphered_aarq(
                ctx,
                sender_acse_requirements="1",
                mechanism=Mechanism.LOW,
                calling_authentication_value=b"from-the-file",
            )
        )
        assert aare.result == AssociationResult.ACCEPTED
        _assert_now(peer.get(CLOCK, ctx))


def test_a_json_config_sets_what_flags_would(tmp_path: Path) -> None:
    path = tmp_path / "meter.json"
    path.write_text(json.dumps({"auth": "lls", "password": "json-pw", "port": 1}), encoding="utf-8")
    # --port 0 (given by serve()) overrides the file's port
    with serve("--config", str(path)) as served, Peer(served.port, 1) as peer:
        assert served.port != 1
        assert peer.associate(_lls_aarq(b"json-pw")).result == AssociationResult.ACCEPTED
        assert peer.get(IMPORT_SCALER_UNIT) == Structure((Integer(0), Enum(30)))


def test_the_shipped_sample_config_loads() -> None:
    sample = ROOT / "samples" / "serve.toml"
    if not sample.exists():
        pytest.skip("samples/ is not part of this installation")
    settings = serve_cli.load_config(sample)
    assert set(settings) <= set(serve_cli.CONFIG_KEYS)
    assert settings["auth"] == "lls" and settings["security"] == "authenc"
    assert settings["port"] == serve_cli.DEFAULT_PORT


def _config_args(path: Path, *flags: str) -> argparse.Namespace:
    return build_parser().parse_args(["serve", "--config", str(path), *flags])


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "m.toml",
            'colour = "blue"\n',
            "unknown key 'colour' (known: host, port, auth, password, security, ek, ak, keys, system_title, counters)",
        ),
        (
            "m.json",
            '{"host": "127.0.0.1", "Port": 1}',
            "unknown key 'Port' (known: host, port, auth, password, security, ek, ak, keys, system_title, counters)",
        ),
        ("m.toml", "port = 70000\n", "port: expected a port number 0..65535, got 70000"),
        ("m.toml", 'port = "61616"\n', "port: expected a port number 0..65535, got '61616'"),
        ("m.toml", "port = true\n", "port: expected a port number 0..65535, got True"),
        ("m.json", '{"ek": "0011"}', "ek: 2 bytes, expected 16"),
        ("m.json", '{"ek": 17}', "ek: expected a hex string, got a number"),
        ("m.toml", 'auth = "hls-md5"\n', "auth: expected one of none, lls, hls-gmac, got 'hls-md5'"),
        ("m.toml", 'security = "full"\n', "security: expected one of none, auth, enc, authenc, got 'full'"),
        ("m.toml", 'system_title = "zz"\n', "system_title: 'zz' is not hex"),
        ("m.toml", 'host = "localhost"\n', "host: 'localhost' is not an IPv4 or IPv6 address"),
        ("m.json", "[1, 2]", "expected a JSON object, got a list"),
    ],
)
def test_a_bad_config_names_the_file_and_key(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    with pytest.raises(serve_cli.ServeError) as info:
        serve_cli.resolve(_config_args(path))
    assert str(info.value) == f"{path}: {message}"


def test_config_syntax_errors_name_the_format(tmp_path: Path) -> None:
    toml, js = tmp_path / "bad.toml", tmp_path / "bad.json"
    toml.write_text("port = \n", encoding="utf-8")
    js.write_text("{port: 1}", encoding="utf-8")
    with pytest.raises(serve_cli.ServeError, match=rf"^{re.escape(str(toml))}: not valid TOML: "):
        serve_cli.load_config(toml)
    with pytest.raises(serve_cli.ServeError, match=rf"^{re.escape(str(js))}: not valid JSON: "):
        serve_cli.load_config(js)


def test_flags_override_the_file_and_the_file_the_defaults(tmp_path: Path) -> None:
    path = tmp_path / "m.toml"
    path.write_text('auth = "lls"\npassword = "a"\nport = 4059\n', encoding="utf-8")
    config = serve_cli.resolve(_config_args(path, "--password", "b"))
    assert (config.auth, config.password, config.port, config.host) == ("lls", "b", 4059, "127.0.0.1")
    assert config.security == "none" and config.system_title == DEFAULT_TITLE
    # --auth given overrides the file's LLS as a whole: its password goes too
    config = serve_cli.resolve(_config_args(path, "--auth", "none"))
    assert (config.auth, config.password) == ("none", None)
    with pytest.raises(serve_cli.ServeError, match=r"^--password is only used with --auth lls$"):
        serve_cli.resolve(_config_args(path, "--auth", "none", "--password", "c"))
    # a setting that does not fit names where it came from
    path.write_text('password = "a"\n', encoding="utf-8")
    with pytest.raises(serve_cli.ServeError, match=r": password is only used with --auth lls$"):
        serve_cli.resolve(_config_args(path))


# --------------------------------------------------------------------------
# the meter serve builds (in process)
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("security", "bits", "context"),
    [("none", 0x00, 1), ("auth", 0x24, 3), ("enc", 0x48, 3), ("authenc", 0x6C, 3)],
)
def test_security_maps_to_the_policy_and_the_application_context(security: str, bits: int, context: int) -> None:
    config = serve_cli.ServeConfig(security=security).with_keys()
    meter = serve_cli.build_meter(config, 61616)
    management = meter.association(1, 1)
    public = meter.association(16, 1)
    assert management is not None and public is not None
    assert int(meter.policy(management)) == bits
    assert management.application_context_name[-1] == context
    assert public.application_context_name[-1] == 1 and int(public.authentication_mechanism_name[-1]) == 0
    assert bool(meter.keys) == (security != "none")


def test_keys_are_drawn_only_when_needed_and_never_twice_alike() -> None:
    assert serve_cli.ServeConfig(auth="lls", password="x").with_keys().ek is None
    a, b = serve_cli.ServeConfig(auth="hls-gmac").with_keys(), serve_cli.ServeConfig(auth="hls-gmac").with_keys()
    assert a.ek is not None and a.ak is not None and len(a.ek) == 16
    assert a.ek != b.ek and a.ak != b.ak
    given = bytes(range(16))
    assert serve_cli.ServeConfig(security="enc", ek=given).with_keys().ek == given


# --------------------------------------------------------------------------
# errors: one line, exit 2, no traceback
# --------------------------------------------------------------------------


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(_command(*args), capture_output=True, text=True, timeout=WAIT, cwd=ROOT)


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--ek", "zz", "--security", "auth"], "--ek: 'zz' is not hex"),
        (["--ak", "0011", "--security", "auth"], "--ak: 2 bytes, expected 16"),
        (["--ek", "00" * 32, "--security", "auth"], "--ek: 32 bytes, expected 16"),
        (["--system-title", "00"], "--system-title: 1 byte, expected 8"),
        (["--port", "70000"], "--port: expected a port number 0..65535, got 70000"),
        (["--port", "http"], "--port: expected a port number 0..65535, got 'http'"),
        (["--host", "localhost"], "--host: 'localhost' is not an IPv4 or IPv6 address"),
        (["--auth", "lls"], "--auth lls needs a password (--password)"),
        (["--password", "x"], "--password is only used with --auth lls"),
        (["--seconds", "-1"], "--seconds: expected a number of seconds >= 0, got -1.0"),
        (["--config", "/nonexistent/serve.toml"], "/nonexistent/serve.toml: cannot read it: No such file or directory"),
        (["--config", "serve.yaml"], "serve.yaml: a config file is .toml or .json"),
    ],
)
def test_a_bad_setting_is_one_line_and_exit_2(args: list[str], line: str) -> None:
    proc = _run(*args, "--seconds", "0") if "--seconds" not in args else _run(*args)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == f"dlmsmesh serve: error: {line}\n"


def test_a_port_in_use_is_one_line_and_exit_2() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as taken:
        taken.bind(("127.0.0.1", 0))
        port = taken.getsockname()[1]
        proc = _run("--port", str(port), "--seconds", "0")
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr == f"dlmsmesh serve: error: cannot open UDP 127.0.0.1 port {port}: Address already in use\n"


def test_ipv6_loopback_serves_and_announces_its_address() -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6")
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        pytest.skip("no IPv6 loopback")
    with serve("--host", "::1") as served:
        assert served.info["host"] == "::1"
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as sock:
            sock.settimeout(WAIT)
            sock.sendto(wrapper.encode(16, 1, acse.encode(_plain_aarq())), ("::1", served.port))
            data, _ = sock.recvfrom(65536)
        aare = acse.decode(wrapper.decode(data)[1])
        assert isinstance(aare, AARE) and aare.result == AssociationResult.ACCEPTED


@pytest.mark.parametrize(
    ("host", "announced"),
    [("fd00::17", ["fd00::17"]), ("::", ["fe80::4d4d:4d00:bc:614e"]), ("127.0.0.1", ["fe80::4d4d:4d00:bc:614e"])],
)
def test_ipv6_setup_announces_the_address_served_at(host: str, announced: list[str]) -> None:
    # a wildcard or IPv4 bind keeps the link-local address of the system title
    meter = serve_cli.build_meter(serve_cli.ServeConfig(host=host), 4059)
    setup = meter.logical_devices[1].get("0.0.25.7.0.255")
    assert setup is not None
    assert [str(ipaddress.IPv6Address(bytes(a))) for a in setup.unicast_ipv6_addresses] == announced


# --------------------------------------------------------------------------
# help and documentation
# --------------------------------------------------------------------------


def test_help_says_what_the_emulator_is_and_its_defaults() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "dlmsmesh", "serve", "--help"], capture_output=True, text=True, timeout=WAIT
    )
    assert proc.returncode == 0 and proc.stderr == ""
    text = " ".join(proc.stdout.split())  # argparse wraps the usage and the option help to the terminal
    assert text.startswith(
        "usage: dlmsmesh serve [-h] [--host H] [--port P] [--auth {none,lls,hls-gmac}] [--password PW] "
        "[--security {none,auth,enc,authenc}] [--ek HEX] [--ak HEX] [--keys FILE] [--system-title HEX] [--counters FILE] "
        "[--config FILE] [--seconds N] [--json]"
    )
    assert (
        "the SQLite file the invocation counters persist in (default: with keys given, $DLMSMESH_COUNTER_DB or"
        " ~/.local/share/dlmsmesh/counters.sqlite3; with random keys, memory)"
    ) in text
    assert "A TEST EMULATOR: keys not given are drawn at random, and all keys are printed at start-up" in text
    assert "the UDP port (default 61616; 0: any free port, printed)" in text
    assert "the address to bind (default 127.0.0.1; :: or ::1 for IPv6)" in text
    assert "Keys are security suite 0 (AES-GCM-128, 16 bytes)" in text
    assert (
        "TOML (.toml) or JSON (.json) with the keys host, port, auth, password, security, ek, ak, system_title, counters "
        "(docs/cli.md and samples/serve.toml show one)"
    ) in text
    assert "0 stopped by Ctrl-C, SIGTERM or --seconds 2 bad command line or config file" in text
    # what the help says the meter is, it is
    assert "system title (default 4d4d4d0000bc614e), management logical device (server SAP 1)" in text
    config = serve_cli.ServeConfig(auth="hls-gmac").with_keys()
    assert (config.system_title, config.port, config.host) == (DEFAULT_TITLE, 61616, "127.0.0.1")
    meter = serve_cli.build_meter(config, 61616)
    assert sorted(meter.logical_devices) == [1] and meter.client_saps == (1, 16, 102)
    device = meter.logical_devices[1]
    listed = re.findall(r"\b\d+\.\d+\.\d+\.\d+\.\d+\.255\b", proc.stdout)
    assert len(listed) == 6
    for obis in listed:
        assert device.get(obis) is not None, obis
    named = {type(obj).__name__ for obj in device}
    assert {"AssociationLN", "SecuritySetup", "Ipv6Setup", "PushSetup"} <= named
    for doc in ("docs/cli.md", "samples/serve.toml"):
        assert (ROOT / doc).exists(), doc


def test_the_top_level_help_lists_serve() -> None:
    proc = subprocess.run([sys.executable, "-m", "dlmsmesh", "--help"], capture_output=True, text=True, timeout=WAIT)
    assert re.search(r"\n +serve +run an emulated meter on UDP \(a test emulator\)\n", proc.stdout)


def _section(text: str, heading: str) -> str:
    start = text.index(heading + "\n")
    end = text.find("\n## ", start + len(heading))
    return text[start : end if end >= 0 else len(text)]


def _with_free_port(command: str) -> list[str]:
    """A documented command line, on any free port and stopping at once."""
    args = shlex.split(command.partition("#")[0])
    assert args[:2] == ["dlmsmesh", "serve"], command
    args = args[2:]
    if "--port" in args:
        del args[args.index("--port") : args.index("--port") + 2]
    return [*args, "--port", "0", "--seconds", "0"]


def test_the_readme_serve_commands_run() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    body = _section(readme, "## Run a meter emulator")
    commands = [line for line in re.findall(r"```sh\n(.*?)```", body, re.S)[0].splitlines() if line.strip()]
    assert len(commands) == 3
    for command in commands:
        proc = _run(*_with_free_port(command))
        assert proc.returncode == 0 and proc.stderr == "", (command, proc.stderr)
        first = proc.stdout.splitlines()[0]
        assert first.startswith("{") if "--json" in command else first.startswith("dlmsmesh serve: a test meter")


def test_the_documented_start_up_block_is_what_serve_prints() -> None:
    docs = _section((ROOT / "docs" / "cli.md").read_text(encoding="utf-8"), "## serve")
    shown = re.search(r"```sh\n\$ (dlmsmesh serve --config .*?)\n(.*?)\n\^C\n(.*?)\n```", docs, re.S)
    assert shown is not None
    command, block = shown.group(1), shown.group(2).splitlines()
    proc = _run(*_with_free_port(command))
    assert proc.returncode == 0, proc.stderr
    # the documented counter file is the default outside the test suite
    printed = proc.stdout.replace(
        os.environ["DLMSMESH_COUNTER_DB"], "~/.local/share/dlmsmesh/counters.sqlite3"
    ).splitlines()
    port = re.fullmatch(r"address +udp 127\.0\.0\.1 port (\d+)", printed[3]).group(1)  # type: ignore[union-attr]
    assert printed[:-2] == [line.replace("port 61616", f"port {port}") for line in block[:-1]]
    assert (
        block[-1] == "serving until Ctrl-C or SIGTERM" and printed[-2] == "serving for 0 s or until Ctrl-C or SIGTERM"
    )
    assert re.fullmatch(r"stopped: \d+ datagrams received, \d+ answered", shown.group(3))


def test_docs_and_readme_show_the_serve_command() -> None:
    cli_md = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert "\n## serve\n" in cli_md
    for option in (
        "--host",
        "--port",
        "--auth",
        "--password",
        "--security",
        "--ek",
        "--ak",
        "--system-title",
        "--config",
        "--seconds",
        "--json",
    ):
        assert f"`{option}" in cli_md, option
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "dlmsmesh serve" in readme


def test_decode_does_not_import_the_server() -> None:
    # serve_cli imports the server, object model and sockets only when serve runs
    code = "import sys, dlmsmesh.cli; print(sorted(m for m in ('dlmsmesh.server', 'dlmsmesh.cosem', 'dlmsmesh.transport') if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=WAIT)
    assert proc.stdout == "[]\n", proc.stderr
