"""Pipeline workloads (issue 6; headline workloads 1 and 2, see
benchmarks/README.md): the whole
receive path and the whole send path of 10,000 frames, one batch call each,
on the native and the pure backend, and the peers where they can do it.

1. ``decode_batch`` of 10,000 UDP payloads (wrapper + general-glo-ciphering
   data-notification, 121 bytes; 100 meters, each with its own keys, pushing
   in turn): wrapper, security header, sender lookup, invocation-counter
   check against the counter store, AES-128-GCM verify + decrypt, APDU
   header and A-XDR body parsed (the loader programs written; APDU objects
   are built only when asked, so not here).  Held against OpenSSL's own
   AES-128-GCM at 128 bytes, and against dlms-cosem and gurux-dlms doing
   the same per frame (parse the wrapper and the ciphered APDU, decrypt,
   parse the notification and its body; neither checks counters).
2. ``encode_batch`` of 10,000 get-request-normal to the 100 meters: APDU,
   counters reserved from each meter context's store, AES-128-GCM
   (glo-get-request), wrapper, UDP + checksum, IPv6, IPHC (context 0, IIDs
   from the link-layer addresses).  The peers cannot IPHC-compress.

The receive counters are forgotten at the start of every timed op (the
same 10,000 frames are decoded again and again, so they must be new to the
counter table each time); that reset is part of the measured time and costs
a few microseconds for 100 meters.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import io
import struct
from typing import Any, Callable, List

import workloads_apdu
import workloads_security as WS
from bench_support import DLMS_COSEM, GURUX, NATIVE, PURE, ReferencedWorkload, Workload
from dlmsmesh import apdu, ipv6
from dlmsmesh.pipeline import FrameBuffer, decode_plan, encode_plan
from dlmsmesh.pipeline.decode import decode_with
from dlmsmesh.security import Keyring, MemoryCounterStore, SecurityContext
from dlmsmesh.types import Obis

HEAD_END = WS.HEAD_END
HEAD_END_IP = "2001:db8:ffff::10"
HEAD_END_MAC = bytes.fromhex("0000")
PAN = {0: "2001:db8:1::/64"}
MESH_PORT = 0xF0B0
COUNT = 10_000


def _pipeline(impl: str) -> Any:
    return importlib.import_module(f"dlmsmesh._{impl}.pipeline")


def _meter_mac(m: int) -> bytes:
    return bytes.fromhex("00124b00") + m.to_bytes(4, "big")


def _meter_ip(m: int) -> bytes:
    mac = _meter_mac(m)
    return bytes.fromhex("20010db800010000") + bytes((mac[0] ^ 2,)) + mac[1:]


# --------------------------------------------------------------------------
# 1. receive: decode_batch of 10,000 ciphered data-notifications
# --------------------------------------------------------------------------


@functools.cache
def receive_input() -> FrameBuffer:
    """The security workload's 10,000 general-glo-ciphered notifications, each
    in its wrapper (meter logical device 1 -> push client 0x66), back to back
    as a receive loop keeps them."""
    batch = WS.notifications_input()
    frames = []
    for a, b in zip(batch.offsets, batch.offsets[1:]):
        frames.append(struct.pack(">HHHH", 1, 1, 0x66, b - a) + batch.data[a:b])
    return FrameBuffer.join(frames)


def _keyring() -> Keyring:
    contexts = []
    for m in range(WS.METERS):
        title, ek, ak = WS._meter(m)
        contexts.append(SecurityContext(HEAD_END, peer_system_title=title, ek=ek, ak=ak, counters=MemoryCounterStore()))
    return Keyring(contexts)


def _forget_counters(ring: Keyring) -> None:
    """Benchmark plumbing: make the stores and the pipeline's counter tables
    of ``ring`` forget every received counter (a head-end never does this)."""
    from dlmsmesh.pipeline import plan as P

    for ctx in ring:
        ctx.counters._rx.clear()  # type: ignore[attr-defined]
    for _, table in P._tables.get(ring, {}).values():
        words = table.words
        for e in range(len(table)):
            if table.state[e] == 1:
                words[4 * e] = 0
                words[4 * e + 1] = 0


def _decode_op(impl: str, build: bool = False) -> Callable[[], Callable[[FrameBuffer], Any]]:
    def factory() -> Callable[[FrameBuffer], Any]:
        mod = _pipeline(impl)
        ring = _keyring()
        plan = decode_plan(layer="wrapper", security=ring)
        workspace = mod.Workspace()

        def op(frames: FrameBuffer) -> Any:
            _forget_counters(ring)
            # the backend fills an outcome; decode_with settles it (counters,
            # deferred frames) into the DecodedBatch, as decode_batch does
            result = decode_with(mod, frames, plan, workspace)
            if build:
                return result, [obj for _, obj in result.apdus()]
            return result

        return op

    return factory


def _expected_notifications() -> List[Any]:
    return workloads_apdu.data_notifications_input().expected()


def _check_decode(frames: FrameBuffer, result: Any) -> None:
    assert len(result) == len(frames) == COUNT
    assert result.status == [0] * COUNT, (
        f"{COUNT - result.ok} frames failed, first: {result.error(result.failed_indices()[0])}"
    )
    expected = _expected_notifications()
    for i in range(0, COUNT, 97):
        assert result.apdu(i) == expected[i], i
        assert result.security(i).invocation_counter == i // WS.METERS + 1


def _check_decode_built(frames: FrameBuffer, result: Any) -> None:
    batch, objects = result
    assert objects == _expected_notifications()
    _check_decode(frames, batch)


def _dlms_cosem_decode() -> Callable[[FrameBuffer], Any]:
    from dlms_cosem.dlms_data import DlmsDataParser
    from dlms_cosem.protocol.wrappers import DlmsUdpMessage
    from dlms_cosem.protocol.xdlms.data_notification import DataNotification
    from dlms_cosem.protocol.xdlms.general_global_cipher import GeneralGlobalCipher
    from dlms_cosem.security import decrypt

    keys = {title: (ek, ak) for title, ek, ak in map(WS._meter, range(WS.METERS))}

    def op(frames: FrameBuffer) -> Any:
        out = []
        data, offsets = frames.data, frames.offsets
        for i in range(len(offsets) - 1):
            message = DlmsUdpMessage.from_bytes(data[offsets[i] : offsets[i + 1]])
            g = GeneralGlobalCipher.from_bytes(message.data)
            ek, ak = keys[bytes(g.system_title)]
            plain = decrypt(g.security_control, g.system_title, g.invocation_counter, ek, g.ciphered_text, ak)
            notification = DataNotification.from_bytes(plain)
            out.append((notification, DlmsDataParser().parse(notification.body)))
        return out

    return op


def _check_dlms_cosem(frames: FrameBuffer, result: Any) -> None:
    assert len(result) == COUNT
    expected = _expected_notifications()
    for i in range(0, COUNT, 97):
        notification, body = result[i]
        assert notification.long_invoke_id_and_priority.long_invoke_id == expected[i].long_invoke_id
        values = body[0].value
        assert [v.value for v in values[2:]] == [int(v) for v in expected[i].body[2:]]


def _gurux_decode() -> Callable[[FrameBuffer], Any]:
    from gurux_dlms import GXByteBuffer, GXCiphering, GXReplyData
    from gurux_dlms.AesGcmParameter import AesGcmParameter
    from gurux_dlms.enums import Authentication, InterfaceType
    from gurux_dlms.secure import GXDLMSSecureClient

    keys = {title: (ek, ak) for title, ek, ak in map(WS._meter, range(WS.METERS))}
    client = GXDLMSSecureClient(True, 16, 1, Authentication.NONE, None, InterfaceType.PDU)

    def op(frames: FrameBuffer) -> Any:
        out = []
        data, offsets = frames.data, frames.offsets
        settings = client.settings
        with contextlib.redirect_stdout(io.StringIO()):  # gurux prints from its decryption path
            for i in range(len(offsets) - 1):
                frame = data[offsets[i] : offsets[i + 1]]
                if struct.unpack_from(">HH", frame, 0)[0] != 1 or len(frame) - 8 != frame[6] << 8 | frame[7]:
                    raise ValueError("bad wrapper")
                title = frame[10:18]  # general-glo-ciphering: DB 08 title
                ek, ak = keys[title]
                plain = GXCiphering.decrypt(settings, AesGcmParameter(0, title, ek, ak), GXByteBuffer(frame[8:]))
                reply = GXReplyData()
                client.getData(bytes(plain), reply)
                out.append(reply)
        return out

    return op


def _check_gurux(frames: FrameBuffer, result: Any) -> None:
    assert len(result) == COUNT
    expected = _expected_notifications()
    for i in range(0, COUNT, 97):
        values = list(result[i].value)
        assert [int(v) for v in values[2:]] == [int(v) for v in expected[i].body[2:]], (values, expected[i].body)


# --------------------------------------------------------------------------
# 2. send: encode_batch of 10,000 GET requests
# --------------------------------------------------------------------------


@functools.cache
def send_input() -> List[Any]:
    """10,000 get-request-normal (register reads, class 3, 1.0.x.8.t.255,
    attribute 2, invoke ids cycling), request i to meter i % 100."""
    out = []
    for i in range(COUNT):
        obis = Obis(bytes((1, 0, 1 + i % 4, 8, i % 5, 255)))
        out.append(apdu.GetRequestNormal(apdu.AttributeDescriptor(3, obis, 2), invoke_id=i % 16))
    return out


def _head_end_contexts() -> List[SecurityContext]:
    out = []
    for m in range(WS.METERS):
        title, ek, ak = WS._meter(m)
        out.append(SecurityContext(HEAD_END, peer_system_title=title, ek=ek, ak=ak, counters=MemoryCounterStore()))
    return out


_PEERS = [i % WS.METERS for i in range(COUNT)]
_SEND: dict[str, Any] = {
    "layer": "lowpan",
    "peers": _PEERS,
    "source": HEAD_END_IP,
    "destinations": [_meter_ip(m) for m in range(WS.METERS)],
    "destination_port": MESH_PORT,
    "links": [(HEAD_END_MAC, _meter_mac(m)) for m in range(WS.METERS)],
    "contexts": PAN,
}


def _encode_op(impl: str) -> Callable[[], Callable[[List[Any]], Any]]:
    def factory() -> Callable[[List[Any]], Any]:
        mod = _pipeline(impl)
        contexts = _head_end_contexts()
        encode = mod.encode

        def op(requests: List[Any]) -> Any:
            # The counters are reserved (from each meter context's store)
            # inside the op, so every op sends under new counters; the
            # contexts go with the frames for the check to know which.
            return encode(requests, encode_plan(requests, security=contexts, **_SEND)), contexts

        return op

    return factory


def _check_encode(requests: List[Any], result: Any) -> None:
    from dlmsmesh import lowpan, wrapper

    frames, contexts = result
    assert len(frames) == COUNT
    # The frames are the latest op's: each meter's first counter is where its
    # store stands now less the requests it was sent (the same in every op).
    sent = [_PEERS.count(m) for m in range(WS.METERS)]
    twins = []
    for m, ctx in enumerate(contexts):
        title, ek, ak = WS._meter(m)
        store = MemoryCounterStore(first_counter=ctx.next_invocation_counter() - sent[m])
        twins.append(SecurityContext(HEAD_END, peer_system_title=title, ek=ek, ak=ak, counters=store))
    for i in range(0, 300):
        m = _PEERS[i]
        wp = wrapper.encode(16, 1, twins[m].protect(apdu.encode(requests[i])))
        datagram = ipv6.build(HEAD_END_IP, _meter_ip(m), wp, destination_port=MESH_PORT)
        frame = lowpan.compress_datagram(datagram, ll_src=HEAD_END_MAC, ll_dst=_meter_mac(m), contexts=PAN)
        assert frames[i] == frame, i


# --------------------------------------------------------------------------

RECEIVE = "10,000 ciphered data-notifications: decode_batch (verify+decrypt+parse)"
SEND = "10,000 GET requests: encode_batch (build+encrypt+wrap+IPHC)"

WORKLOADS: List[Workload] = [
    ReferencedWorkload(
        name=RECEIVE,
        description="decode_batch of 10,000 UDP payloads (wrapper + general-glo-ciphering data-notification, "
        "121 bytes, AES-128-GCM, 100 meters with their own keys) in one call: wrapper, security header, sender, "
        "counter check, verify+decrypt, APDU + A-XDR body parsed; dlms-cosem and gurux-dlms per frame",
        setup=receive_input,
        ops={
            NATIVE: _decode_op(NATIVE),
            PURE: _decode_op(PURE),
            DLMS_COSEM: _dlms_cosem_decode,
            GURUX: _gurux_decode,
        },
        check=_check_decode,
        checks={DLMS_COSEM: _check_dlms_cosem, GURUX: _check_gurux},
        targets={"native/pure": 8.0, "native/dlms-cosem": 30.0},
        suite="pipeline",
        items_per_op=COUNT,
        reference=WS.openssl_rate,
        reference_target=0.5,
    ),
    Workload(
        name=SEND,
        description="encode_batch of 10,000 get-request-normal to 100 meters in one call: APDU, counters reserved, "
        "glo-get-request AES-128-GCM, wrapper, UDP + checksum, IPv6, IPHC (context 0, IIDs from link addresses)",
        setup=send_input,
        ops={NATIVE: _encode_op(NATIVE), PURE: _encode_op(PURE)},
        check=_check_encode,
        targets={"native/pure": 8.0},
        suite="pipeline",
    ),
    Workload(
        name="10,000 ciphered data-notifications: decode_batch + every APDU object built",
        description="as the receive workload, then result.apdu(i) for every frame (information: what "
        "materializing costs over the C parse)",
        setup=receive_input,
        ops={NATIVE: _decode_op(NATIVE, build=True), PURE: _decode_op(PURE, build=True)},
        check=_check_decode_built,
        suite="pipeline",
    ),
]
