"""encode_batch gives, byte for byte, what the single-frame path gives
(apdu.encode, SecurityContext.protect, wrapper.encode, ipv6.build,
lowpan.compress_datagram), with consecutive invocation counters reserved
from the store before sealing and never reused; both backends agree."""

from __future__ import annotations

import random
from typing import Any

import pytest

import dlmsmesh
from dlmsmesh import _backend, apdu, ipv6, lowpan, pipeline, wrapper
from dlmsmesh.errors import EncodeError
from dlmsmesh.lowpan import LinkPairs
from dlmsmesh.security import DEFAULT_POLICY, MemoryCounterStore, SecurityContext, SecurityPolicy
from dlmsmesh.security.tags import KeySet, Protection
from dlmsmesh.types import DateTime, DoubleLongUnsigned, Long, NullData, Obis, OctetString, Structure, Unsigned

from .pipeline_support import AK, CONTEXTS, HEAD_END, HEAD_END_IP, HEAD_END_MAC, meter_ip, meter_keys, meter_mac
from .pipeline_support import meter_title as title_of

LAYERS = ["wrapper", "udp", "ipv6", "lowpan"]
CLOCK = Obis(bytes((0, 0, 1, 0, 0, 255)))
REGISTER = Obis(bytes((1, 0, 1, 8, 0, 255)))
TIME = DateTime(bytes.fromhex("07E8030F050C1E2D00FFC400"))


def requests() -> list[Any]:
    """One of every shape the C core writes, and some it takes as they are."""
    sel = apdu.SelectiveAccess(1, Structure([Unsigned(1), Long(-5)]))
    return [
        apdu.GetRequestNormal(apdu.AttributeDescriptor(8, CLOCK, 2)),
        apdu.GetRequestNormal(apdu.AttributeDescriptor(3, REGISTER, 2), invoke_id=7, priority=apdu.Priority.NORMAL),
        apdu.GetRequestNormal(
            apdu.AttributeDescriptor(7, REGISTER, 2, access=sel),
            invoke_id=15,
            service_class=apdu.ServiceClass.UNCONFIRMED,
        ),
        apdu.GetRequestNormal(apdu.AttributeDescriptor(1, REGISTER, -3)),
        apdu.SetRequestNormal(apdu.AttributeDescriptor(8, CLOCK, 2), OctetString(bytes(TIME))),
        apdu.SetRequestNormal(apdu.AttributeDescriptor(7, REGISTER, 2, access=sel), Unsigned(9), invoke_id=2),
        apdu.ActionRequestNormal(apdu.MethodDescriptor(70, REGISTER, 1), Long(0)),
        apdu.ActionRequestNormal(apdu.MethodDescriptor(70, REGISTER, 2)),
        apdu.ActionRequestNormal(apdu.MethodDescriptor(70, REGISTER, 2), NullData()),
        apdu.GetRequestNext(5),
        apdu.GetRequestWithList((apdu.AttributeDescriptor(8, CLOCK, 2), apdu.AttributeDescriptor(3, REGISTER, 3))),
        bytes.fromhex("C0010000080000010000FF0200"),
    ]


def notifications() -> list[Any]:
    body = Structure([OctetString(bytes(REGISTER)), DoubleLongUnsigned(123456)])
    return [
        apdu.DataNotification(body, long_invoke_id=0xABCDEF, date_time=TIME),
        apdu.DataNotification(body, priority=apdu.Priority.HIGH, service_class=apdu.ServiceClass.CONFIRMED),
        apdu.DataNotification(Unsigned(3), processing_option=True, self_descriptive=True),
    ]


def client(m: int, first: int = 1, policy: Any = DEFAULT_POLICY) -> SecurityContext:
    ek, bk = meter_keys(m)
    dk = bytes(range(0x60, 0x70))
    return SecurityContext(
        HEAD_END, peer_system_title=title_of(m), ek=ek, ak=AK, bk=bk, dk=dk,
        counters=MemoryCounterStore(first_counter=first), policy=policy,
    )  # fmt: skip


def single_path(
    reqs: list[Any], layer: str, contexts: list[SecurityContext | None], peers: list[int], links: LinkPairs | None,
    **protect: Any,
) -> list[bytes]:  # fmt: skip
    out = []
    for r, p in zip(reqs, peers):
        data = r if isinstance(r, bytes) else apdu.encode(r)
        ctx = contexts[p]
        if ctx is not None:
            data = ctx.protect(data, **protect)
        frame = wrapper.encode(16, 1, data)
        if layer != "wrapper":
            d = ipv6.build(HEAD_END_IP, meter_ip(p), frame)
            frame = d[40:] if layer == "udp" else d
            if layer == "lowpan":
                ll = links.pair(p) if links is not None else (b"", b"")
                frame = lowpan.compress_datagram(d, ll_src=ll[0] or None, ll_dst=ll[1] or None, contexts=CONTEXTS)
        out.append(frame)
    return out


def _frames(fb: pipeline.FrameBuffer) -> list[bytes]:
    return [fb[i] for i in range(len(fb))]


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize(
    "mode", ["plain", "glo", "general", "dedicated", "broadcast", "authenticated", "peers", "mixed-peers"]
)
def test_equals_single_frame_path(backend: str, layer: str, mode: str) -> None:
    reqs = requests()
    protect: dict[str, Any] = {}
    npeers = 1
    if mode == "general":
        protect["general"] = True
        reqs += notifications()
    elif mode == "dedicated":
        protect["dedicated"] = True
    elif mode == "broadcast":
        protect.update(broadcast=True, general=True)
    elif mode == "authenticated":
        protect["protection"] = 0x10
    elif mode == "plain":
        reqs += notifications()
    if mode in ("peers", "mixed-peers"):
        npeers = 3
    rng = random.Random(len(mode))
    peers = [rng.randrange(npeers) for _ in reqs]

    def contexts() -> list[SecurityContext | None]:
        if mode == "plain":
            return [None]
        policy = SecurityPolicy.both_ways(Protection.AUTHENTICATION) if mode == "authenticated" else DEFAULT_POLICY
        made: list[SecurityContext | None] = [client(m, 10 * m + 1, policy) for m in range(npeers)]
        if mode == "mixed-peers":
            made[1] = None
        return made

    links = LinkPairs([(HEAD_END_MAC, meter_mac(m)) for m in range(npeers)])
    batch_ctx, single_ctx = contexts(), contexts()
    got = pipeline.encode_batch(
        reqs, layer=layer, security=batch_ctx if npeers > 1 else batch_ctx[0], peers=peers,
        source=HEAD_END_IP, destinations=[meter_ip(m) for m in range(npeers)], links=links, contexts=CONTEXTS,
        **protect,
    )  # fmt: skip
    assert _frames(got) == single_path(reqs, layer, single_ctx, peers, links, **protect)
    # the counters moved alike
    for b, s in zip(batch_ctx, single_ctx):
        if b is not None and s is not None:
            for ks in KeySet:
                assert b.next_invocation_counter(ks) == s.next_invocation_counter(ks)


def test_counters_are_consecutive_reserved_first_and_never_reused(backend: str) -> None:
    ctx = client(0)
    reqs = [apdu.GetRequestNormal(apdu.AttributeDescriptor(3, REGISTER, 2), invoke_id=i % 16) for i in range(50)]
    first = pipeline.encode_batch(reqs, security=ctx)
    second = pipeline.encode_batch(reqs[:5], security=ctx)
    server = SecurityContext(title_of(0), peer_system_title=HEAD_END, ek=meter_keys(0)[0], ak=AK, role="server")
    ics = [server.unprotect(f[8:]).info.invocation_counter for f in _frames(first) + _frames(second)]
    assert ics == list(range(1, 56))
    # a batch that fails in the C core still used its counters
    huge = apdu.SetRequestNormal(apdu.AttributeDescriptor(1, REGISTER, 2), OctetString(bytes(70000)))
    with pytest.raises(EncodeError, match="request 1"):
        pipeline.encode_batch([reqs[0], huge], security=ctx)
    assert ctx.next_invocation_counter() == 58
    # refused before any counter is reserved: no service-specific form
    with pytest.raises(EncodeError, match="no service-specific ciphered form"):
        pipeline.encode_batch(notifications(), security=ctx)
    assert ctx.next_invocation_counter() == 58


def test_round_trip_through_decode_batch(backend: str) -> None:
    """What the head-end sends, the meter's pipeline decodes (and back)."""
    reqs = requests()[:9]
    sender = client(2)
    meter = SecurityContext(title_of(2), peer_system_title=HEAD_END, ek=meter_keys(2)[0], ak=AK, role="server")
    for layer in LAYERS:
        fb = pipeline.encode_batch(
            reqs, layer=layer, security=sender, source=HEAD_END_IP, destinations=meter_ip(2),
            links=[(HEAD_END_MAC, meter_mac(2))], contexts=CONTEXTS,
        )  # fmt: skip
        result = pipeline.decode_batch(
            fb, layer=layer, security=meter, contexts=CONTEXTS, links=[(HEAD_END_MAC, meter_mac(2))]
        )
        assert result.status == [0] * len(reqs)
        assert [result.apdu(i) for i in range(len(reqs))] == reqs
        assert (
            result.security(0).invocation_counter + len(reqs) - 1 == result.security(len(reqs) - 1).invocation_counter
        )


def test_argument_errors(backend: str) -> None:
    reqs = requests()[:2]
    with pytest.raises(ValueError, match="layer"):
        pipeline.encode_batch(reqs, layer="apdu")
    with pytest.raises(EncodeError, match="source and destinations"):
        pipeline.encode_batch(reqs, layer="udp")
    with pytest.raises(EncodeError, match="peer index"):
        pipeline.encode_batch(reqs, peers=[0, 1])
    with pytest.raises(EncodeError, match="2 peer indexes"):
        pipeline.encode_batch(reqs[:1], peers=[0, 0])
    with pytest.raises(EncodeError, match="source_wport"):
        pipeline.encode_batch(reqs, source_wport=70000)
    with pytest.raises(EncodeError, match="neither an APDU"):
        pipeline.encode_batch([42])  # type: ignore[list-item]
    assert len(pipeline.encode_batch([])) == 0


@pytest.mark.skipif(not dlmsmesh.native_available(), reason="C core not built")
@pytest.mark.parametrize("seed", range(4))
def test_native_and_pure_agree(seed: int) -> None:
    rng = random.Random(seed)
    pool = requests()
    reqs = [rng.choice(pool) for _ in range(200)]
    layer = LAYERS[seed % 4]
    out = {}
    for name in ("native", "pure"):
        before = _backend.backend()
        _backend.set_backend(name)
        try:
            out[name] = _frames(
                pipeline.encode_batch(
                    reqs,
                    layer=layer,
                    security=[client(m) for m in range(3)],
                    peers=[i % 3 for i in range(200)],
                    source=HEAD_END_IP,
                    destinations=[meter_ip(m) for m in range(3)],
                    contexts=CONTEXTS,
                    links=[(HEAD_END_MAC, meter_mac(m)) for m in range(3)],
                    elide_checksum=seed % 2 == 1,
                )  # fmt: skip
            )
        finally:
            _backend.set_backend(before)
    assert out["native"] == out["pure"]
