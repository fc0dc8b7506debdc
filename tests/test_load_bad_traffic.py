"""Bad traffic: a meter server on loopback UDP receives 100,000 malformed,
truncated, replayed, wrongly keyed and valid-but-unassociated datagrams while
a valid client (HLS-GMAC, suite 0 authenticated encryption) keeps reading
it; no exception escapes, the client is answered throughout, and the
process's RSS stays flat (issue 12, "Done when").  The start and end RSS
are printed for the issue note.

Every datagram goes to 127.0.0.1 only; the run is bounded in count and time.
"""

from __future__ import annotations

import asyncio
import random
import resource
import time
from typing import Any

import pytest

from dlmsmesh import acse, wrapper
from dlmsmesh import apdu as A
from dlmsmesh.acse_pdu import AARE, AARQ, ApplicationContext, Mechanism
from dlmsmesh.apdu_model import AttributeDescriptor, MethodDescriptor
from dlmsmesh.cosem import default_meter
from dlmsmesh.errors import DlmsTimeout
from dlmsmesh.security import DEFAULT_POLICY, Role, SecurityContext, new_challenge
from dlmsmesh.server import Meter, MeterKeys, Server
from dlmsmesh.transport import UdpTransport
from dlmsmesh.types import OctetString
from dlmsmesh.xdlms_initiate import Conformance, InitiateRequest, decode_user_information, encode_user_information

pytestmark = pytest.mark.single_backend  # a load run: the native backend, as deployed

BAD = 100_000
METER_TITLE = bytes.fromhex("4D4D4D0000BC614E")
CLIENT_TITLE = bytes.fromhex("4748450000000001")
EK = bytes(range(16))
AK = bytes(range(16, 32))
WRONG = bytes(range(32, 48))
CLOCK = AttributeDescriptor(8, "0.0.1.0.0.255", 2)
LDN = AttributeDescriptor(1, "0.0.42.0.0.255", 2)
CONFORMANCE = Conformance.GET | Conformance.ACTION | Conformance.BLOCK_TRANSFER_WITH_GET_OR_READ


def _rss_kib() -> int:
    with open("/proc/self/statm") as f:
        pages = int(f.read().split()[1])
    return pages * resource.getpagesize() // 1024


def _client_context(ek: bytes = EK) -> SecurityContext:
    return SecurityContext(
        CLIENT_TITLE, peer_system_title=METER_TITLE, ek=ek, ak=AK, role=Role.CLIENT, policy=DEFAULT_POLICY
    )


def _aarq(ctx: SecurityContext, ctos: bytes) -> bytes:
    initiate = encode_user_information(InitiateRequest(conformance=CONFORMANCE, max_receive_pdu_size=1224))
    return acse.encode(
        AARQ(
            application_context=ApplicationContext.LOGICAL_NAME_CIPHERED,
            calling_ap_title=CLIENT_TITLE,
            sender_acse_requirements="1",
            mechanism=Mechanism.HIGH_GMAC,
            calling_authentication_value=ctos,
            user_information=decode_user_information(ctx.protect(initiate)),  # type: ignore[arg-type]
        )
    )


class ValidClient:
    """The management client: associates with HLS-GMAC and reads, ciphered."""

    def __init__(self, endpoint: UdpTransport, server: tuple[str, int]) -> None:
        self.endpoint = endpoint
        self.server = server
        self.ctx = _client_context()
        self.invoke = 0
        self.sent: list[bytes] = []  # ciphered requests, for the attacker to replay
        self.retries = 0
        self.refusals: list[A.Apdu] = []

    async def exchange(self, apdu: bytes) -> bytes:
        await self.endpoint.send(wrapper.encode(1, 1, apdu), self.server)
        data, _ = await self.endpoint.recv(timeout=10)
        header, body = wrapper.decode(data)
        assert (header.source_wport, header.destination_wport) == (1, 1)
        return body

    async def associate(self) -> None:
        ctos = new_challenge(16)
        aare = acse.decode(await self.exchange(_aarq(self.ctx, ctos)))
        assert isinstance(aare, AARE) and aare.accepted
        stoc = aare.responding_authentication_value
        assert stoc is not None
        reply = self.ctx.hls_gmac_response(stoc)
        action = A.ActionRequestNormal(MethodDescriptor(15, "0.0.40.0.0.255", 1), OctetString(reply))
        answer = A.decode(self.ctx.unprotect(await self.exchange(self.ctx.protect(A.encode(action)))).plaintext)
        assert isinstance(answer, A.ActionResponseNormal) and answer.result == 0
        self.ctx.verify_hls_gmac(ctos, bytes(answer.return_parameters))

    async def read(self, descriptor: AttributeDescriptor) -> Any:
        """GET, as a head-end does over UDP: a datagram the kernel dropped
        under the flood is asked again (a new invoke-id and counter), late
        answers to an earlier attempt are skipped."""
        for _attempt in range(5):
            self.invoke = (self.invoke + 1) % 16
            frame = self.ctx.protect(A.encode(A.GetRequestNormal(descriptor, invoke_id=self.invoke)))
            self.sent.append(frame)
            await self.endpoint.send(wrapper.encode(1, 1, frame), self.server)
            deadline = time.monotonic() + 2.0
            while (left := deadline - time.monotonic()) > 0:
                try:
                    data, _ = await self.endpoint.recv(timeout=left)
                except DlmsTimeout:
                    break
                body = wrapper.decode(data)[1]
                if body[0] == 0xD8:  # the exception-response to a replay we sent ourselves
                    self.refusals.append(A.decode(body))
                    continue
                answer = A.decode(self.ctx.unprotect(body).plaintext)
                if isinstance(answer, A.GetResponseNormal) and answer.invoke_id == self.invoke:
                    return answer.result
            self.retries += 1
        raise AssertionError("the server stopped answering the valid client")


def _bad_datagrams(rng: random.Random, replays: list[bytes], count: int) -> list[bytes]:
    """``count`` datagrams of five kinds, in a shuffled order."""
    wrong = _client_context(WRONG)
    get = A.encode(A.GetRequestNormal(CLOCK))
    plain_get = wrapper.encode(1, 1, get)
    aarq = wrapper.encode(1, 1, _aarq(_client_context(), new_challenge(16)))
    out: list[bytes] = []
    for i in range(count):
        kind = i % 5
        if kind == 0:  # malformed: random bytes, some with a plausible wrapper header
            body = rng.randbytes(rng.randrange(0, 80))
            out.append(body if i % 2 else wrapper.encode(rng.choice((1, 16, 0x66)), 1, body))
        elif kind == 1:  # truncated valid frames
            frame = rng.choice((plain_get, aarq, wrapper.encode(1, 1, replays[i % len(replays)])))
            out.append(frame[: rng.randrange(1, len(frame))])
        elif kind == 2:  # replayed ciphered requests of the valid client
            out.append(wrapper.encode(1, 1, replays[i % len(replays)]))
        elif kind == 3:  # wrongly keyed, and AARQs whose pass 3 will never come
            frame = wrong.protect(get) if i % 3 else _aarq(wrong, new_challenge(8))
            out.append(wrapper.encode(rng.choice((1, 0x66)), 1, frame))
        else:  # valid but unassociated (plain and ciphered)
            out.append(plain_get if i % 2 else wrapper.encode(16, 1, get))
    rng.shuffle(out)
    return out


async def _drain(attacker: UdpTransport) -> int:
    """Read what the server answered the attacker: the count of answers that
    are anything but a refusal (exception-response, rejected AARE)."""
    leaked = 0
    while True:
        try:
            batch = await attacker.recv_batch(4096, timeout=0)
        except DlmsTimeout:
            return leaked
        for data, _ in batch:
            body = wrapper.decode(data)[1]
            if body[0] == 0xD8:
                continue
            if body[0] == 0x61 and not acse.decode(body).accepted:  # type: ignore[attr-defined]
                continue
            leaked += 1


@pytest.mark.asyncio
async def test_bad_traffic_never_stops_the_server_answering_a_valid_client() -> None:
    rng = random.Random(20261205)
    objects = default_meter(METER_TITLE, authentication="hls-gmac", policy=int(DEFAULT_POLICY))
    meter = Meter.from_objects(objects, keys=MeterKeys(ek=EK, ak=AK))
    server = Server(await UdpTransport.open("127.0.0.1", 0, queue_size=8192), max_associations=1_000)
    server.add_meter(meter)
    target = ("127.0.0.1", server.transport.local_address.port)
    async with server:
        client = ValidClient(await UdpTransport.open("127.0.0.1", 0), target)
        attacker = await UdpTransport.open("127.0.0.1", 0, queue_size=8192)
        try:
            await client.associate()
            for _ in range(20):
                await client.read(CLOCK)
            bad = _bad_datagrams(rng, client.sent, BAD)
            # warm up every path before the first RSS figure
            for at in range(0, 5_000, 250):
                for frame in bad[at : at + 250]:
                    await attacker.send(frame, target)
                await client.read(LDN)
            start_rss = _rss_kib()
            started = time.perf_counter()
            reads = leaked = 0
            for at in range(5_000, BAD, 250):
                for frame in bad[at : at + 250]:
                    await attacker.send(frame, target)
                if reads % 20 == 0:  # a replay inside the valid association itself
                    await client.endpoint.send(wrapper.encode(1, 1, client.sent[reads // 20]), target)
                # the valid client is answered between every burst
                assert bytes(await client.read(LDN)) == b"MMM0000012345678"
                reads += 1
                leaked += await _drain(attacker)
            await asyncio.sleep(0.2)
            end_rss = _rss_kib()
            elapsed = time.perf_counter() - started
        finally:
            await client.endpoint.close()
            await attacker.close()
    stats = server.stats
    assert stats.internal_errors == 0
    # the attacker only ever got refusals: never data of the client's association
    assert leaked == 0 and attacker.dropped == 0
    assert stats.replays >= 1 and stats.security_failures >= 1 and stats.malformed >= 1 and stats.unassociated >= 1
    assert server.associations <= 1_000
    # a replay in the client's own association is refused with the counter expected next
    assert client.refusals and all(r.service_error == 6 and r.invocation_counter > 0 for r in client.refusals)  # type: ignore[attr-defined]
    # flat: no growth beyond allocator noise over 95,000 bad datagrams
    assert end_rss - start_rss < 8 * 1024, (start_rss, end_rss)
    print(
        f"\n{BAD} bad datagrams ({stats.received} received incl. the client's, {server.transport.dropped} dropped"
        f" by the queue) with {reads} valid reads between bursts ({client.retries} asked again) in {elapsed:.1f} s; RSS {start_rss} KiB"
        f" at the start, {end_rss} KiB at the end; {stats.as_dict()}"
    )
