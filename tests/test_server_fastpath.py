"""The server's short road for the request a head-end sends most gives what
the general decoders, encoders and services give, byte for byte.

Each shortcut is compared with the general code it stands for: the wrapper
read and write (on valid, truncated and random datagrams), the cached
get-request-normal decode, the get-response-normal encoding, a GET answered
without a coroutine (stored values, sync and async getters, failing
getters, a class that serves GET its own way), and whole sessions of
ciphered requests served with and without the short road (the replies and
the counters must be the same)."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import pytest

from dlmsmesh import apdu as A
from dlmsmesh import axdr, wrapper
from dlmsmesh.apdu_model import AttributeDescriptor, DataAccessResult
from dlmsmesh.cosem import READ_ONLY, AssociationStatus, DataAccessError, attribute
from dlmsmesh.cosem.base import CosemObject, PendingGet
from dlmsmesh.cosem.typespec import octets
from dlmsmesh.errors import DecodeError
from dlmsmesh.server import fastpath, services
from dlmsmesh.types import Enum, Long, Long64, Structure, Unsigned

from .server_support import (
    AUTHENC,
    CLOCK,
    IC_OBJECT,
    IMPORT,
    IMPORT_SCALER,
    LDN,
    PROFILE,
    make_meter,
    make_server,
    management_client,
)

# ------------------------------------------------------------------ wrapper


def _datagrams(rng: random.Random) -> list[bytes]:
    out = [b"", b"\x00", bytes(7), bytes(8), b"\x00\x01\x00\x01\x00\x01\x00\x00"]
    for _ in range(400):
        body = rng.randbytes(rng.randrange(0, 40))
        header = bytearray(rng.randbytes(8))
        if rng.random() < 0.7:
            header[0:2] = b"\x00\x01"
        if rng.random() < 0.7:
            header[6:8] = len(body).to_bytes(2, "big")
        out.append(bytes(header) + body)
        out.append((bytes(header) + body)[: rng.randrange(0, 8 + len(body) + 1)])
    return out


def test_wrapper_fields_are_the_decoders() -> None:
    for data in _datagrams(random.Random(5)):
        fast = fastpath.wrapper_fields(data)
        try:
            header, payload = wrapper.decode(data)
        except DecodeError:
            assert fast is None, data.hex()
            continue
        assert fast == (header.source_wport, header.destination_wport, payload), data.hex()
        assert type(fast[2]) is bytes


def test_wrap_is_the_encoder() -> None:
    rng = random.Random(6)
    for _ in range(300):
        src, dst = rng.randrange(0x10000), rng.randrange(0x10000)
        apdu = rng.randbytes(rng.randrange(0, 60))
        assert fastpath.wrap(src, dst, apdu) == wrapper.encode(src, dst, apdu)
    with pytest.raises(Exception) as fast:
        fastpath.wrap(1, 0x10000, b"x")
    with pytest.raises(Exception) as general:
        wrapper.encode(1, 0x10000, b"x")
    assert type(fast.value) is type(general.value)


# ------------------------------------------------------------- GET decoding


def test_get_request_is_the_decoder() -> None:
    rng = random.Random(7)
    seen = 0
    for _ in range(3000):
        plain = b"\xc0\x01" + rng.randbytes(10) + (b"\x00" if rng.random() < 0.9 else rng.randbytes(1))
        if rng.random() < 0.1:
            plain = plain[: rng.randrange(len(plain))]
        try:
            expected: Any = A.decode(plain)
        except DecodeError as err:
            expected = err
        try:
            got: Any = fastpath.get_request(plain)
        except DecodeError as err:
            got = err
        if got is None:
            assert not isinstance(expected, A.GetRequestNormal) or expected.descriptor.access is not None
            continue
        seen += 1
        if isinstance(expected, DecodeError):
            assert type(got) is type(expected) and str(got) == str(expected)
        else:
            assert got == expected and got.descriptor.access is None
            assert fastpath.get_request(plain) is got  # decoded once
    assert seen > 2000
    # other APDUs are left to the decoder
    other = A.encode(A.GetRequestNext(5, invoke_id=3))
    assert fastpath.get_request(other) is None
    with_access = A.encode(A.GetRequestNormal(PROFILE))[:-1] + b"\x01\x01\x02\x00"
    assert fastpath.get_request(with_access) is None


def test_reply_bytes_is_the_encoder() -> None:
    values: list[Any] = [
        Unsigned(7), Long64(-5), octets(b"abc"), Structure([Unsigned(1), Enum(30)]), Enum(4),
        DataAccessResult.OBJECT_UNDEFINED, DataAccessResult.READ_WRITE_DENIED,
    ]  # fmt: skip
    for value in values:
        for invoke in range(16):
            for priority in A.Priority:
                for service in A.ServiceClass:
                    reply = A.GetResponseNormal(value, invoke_id=invoke, priority=priority, service_class=service)
                    assert fastpath.reply_bytes(reply) == A.encode(reply)
    others = [A.SetResponseNormal(DataAccessResult.SUCCESS, invoke_id=2), A.ExceptionResponse(1, 2)]
    for other in others:
        assert fastpath.reply_bytes(other) == A.encode(other)  # type: ignore[arg-type]


# ----------------------------------------------------------- GET at once


class _Odd(CosemObject):
    class_id = 1
    version = 0

    stored = attribute(2, Long, access=READ_ONLY, default=Long(-3))

    @attribute(3, Long, access=READ_ONLY)
    def computed(self) -> Any:
        return Long(11)

    @attribute(4, Long, access=READ_ONLY)
    async def waited(self) -> Any:
        await asyncio.sleep(0)
        return Long(12)

    @attribute(5, Long, access=READ_ONLY)
    def refused(self) -> Any:
        raise DataAccessError(DataAccessResult.TEMPORARY_FAILURE, "not now")

    @attribute(6, Long, access=READ_ONLY)
    def broken(self) -> Any:
        raise RuntimeError("a bug in a getter")

    @attribute(7, Long, access=READ_ONLY)
    def untyped(self) -> Any:
        return object()

    @attribute(8, Long, access=READ_ONLY)
    def gives_awaitable(self) -> Any:
        return self._later()

    async def _later(self) -> Any:
        raise RuntimeError("failed later")


@pytest.mark.asyncio
async def test_get_at_once_answers_as_get(caplog: pytest.LogCaptureFixture) -> None:
    obj = _Odd("0.0.96.1.0.255")
    for attribute_id in range(0, 10):
        with caplog.at_level(logging.ERROR):
            caplog.clear()
            expected = await obj.get(attribute_id)
            general_log = [r.getMessage() for r in caplog.records]
            caplog.clear()
            got = obj.get_at_once(attribute_id)
            if type(got) is PendingGet:
                assert attribute_id in (4, 8)
                got = await got.finish()
            fast_log = [r.getMessage() for r in caplog.records]
        assert got == expected and type(got) is type(expected), attribute_id
        assert fast_log == general_log, attribute_id
    assert obj.get_at_once(2) == Long(-3) and obj.get_at_once(5) is DataAccessResult.TEMPORARY_FAILURE
    assert obj.get_at_once(6) is DataAccessResult.OTHER_REASON


@pytest.mark.asyncio
async def test_a_class_serving_get_its_own_way_is_served_through_it() -> None:
    # the current association (0.0.40.0.0.255) answers for the client's own
    # association instance: its get() is the one that must run
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    client = await management_client(server)
    got = await client.get(AttributeDescriptor(15, "0.0.40.0.0.255", 1), "glo")
    assert bytes(got) == bytes.fromhex("0000280000FF")
    status = await client.get(AttributeDescriptor(15, "0.0.40.0.0.255", 8), "glo")
    assert status == Enum(int(AssociationStatus.ASSOCIATED))
    partners = await client.get(AttributeDescriptor(15, "0.0.40.0.0.255", 3), "glo")
    assert not isinstance(partners, DataAccessResult)
    assert partners == await client.get(AttributeDescriptor(15, "0.0.40.0.2.255", 3), "glo")


# ------------------------------------------------------- whole sessions


def _no_short_road(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(fastpath, "wrapper_fields", lambda data: None)
    monkeypatch.setattr(fastpath, "get_request", lambda plain: None)
    monkeypatch.setattr(fastpath, "reply_bytes", A.encode)
    monkeypatch.setattr("dlmsmesh.server.replies.reply_bytes", A.encode)
    monkeypatch.setattr(services, "answer_at_once", lambda session, request, authenticated: services.NOT_AT_ONCE)
    monkeypatch.setattr("dlmsmesh.stack.opens_at_once", lambda frame: False)


async def _session(seed: int) -> tuple[list[list[bytes]], dict[str, int], int]:
    """Replies to a fixed mix of requests after an HLS-GMAC association:
    GETs of every kind, unconfirmed ones, refused ones, replays, frames
    under a wrong key, truncated frames, other services."""
    meter = make_meter(authentication="hls-gmac", policy=int(AUTHENC))
    server = make_server(meter)
    client = await management_client(server)
    ctx = client.ctx
    assert ctx is not None
    rng = random.Random(seed)
    descriptors = [CLOCK, LDN, IC_OBJECT, IMPORT, IMPORT_SCALER, AttributeDescriptor(3, "1.0.1.8.0.255", 9),
                   AttributeDescriptor(3, "9.9.9.9.9.9", 2), AttributeDescriptor(8, "1.0.1.8.0.255", 2),
                   AttributeDescriptor(15, "0.0.40.0.0.255", 8)]  # fmt: skip
    replies: list[list[bytes]] = []
    last_frame = b""
    for _ in range(120):
        kind = rng.randrange(10)
        invoke = rng.randrange(16)
        if kind <= 4:
            request: Any = A.GetRequestNormal(rng.choice(descriptors), invoke_id=invoke)
        elif kind == 5:
            request = A.GetRequestNormal(rng.choice(descriptors), invoke_id=invoke,
                                         service_class=A.ServiceClass.UNCONFIRMED)  # fmt: skip
        elif kind == 6:
            request = A.GetRequestWithList((CLOCK, IMPORT), invoke_id=invoke)
        elif kind == 7:
            request = A.SetRequestNormal(CLOCK, octets(bytes(12)), invoke_id=invoke)
        else:
            request = A.GetRequestNormal(PROFILE, invoke_id=invoke)
        cipher = rng.choice(["glo", "glo", "general-glo"])
        frame = client.protect(A.encode(request), cipher)
        roll = rng.random()
        if roll < 0.08 and last_frame:
            frame = last_frame  # a replayed counter
        elif roll < 0.14:
            frame = frame[:-1] + bytes([frame[-1] ^ 1])  # the tag fails
        elif roll < 0.18:
            frame = frame[: rng.randrange(1, len(frame))]
        last_frame = frame
        replies.append(await client.send_raw(frame))
    stats = {k: v for k, v in vars(server.stats).items() if isinstance(v, int)}
    return replies, stats, meter.invocation_counter


@pytest.mark.asyncio
@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_sessions_are_the_same_without_the_short_road(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = await _session(seed)
    _no_short_road(monkeypatch)
    general = await _session(seed)
    assert fast == general


@pytest.mark.asyncio
async def test_a_ciphered_plaintext_that_is_not_a_get_is_walked_as_the_stack_walks_it() -> None:
    # an ACSE APDU inside a glo-ciphered frame: opened, then refused unanswered
    server = make_server(make_meter(authentication="hls-gmac", policy=int(AUTHENC)))
    client = await management_client(server)
    assert client.ctx is not None
    before = server.stats.malformed
    frame = client.ctx.protect(bytes.fromhex("6203800100"), general=True)
    assert await client.send_raw(frame) == []
    assert server.stats.malformed == before + 1
    # and the next GET is served as ever
    assert bytes(await client.get(LDN, "glo")).startswith(b"MMM")


def test_axdr_of_reply_is_the_data() -> None:
    reply = A.GetResponseNormal(Unsigned(9), invoke_id=1)
    assert fastpath.reply_bytes(reply)[4:] == axdr.encode(Unsigned(9))
