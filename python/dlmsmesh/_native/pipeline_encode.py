"""Native send side of the pipeline: requests packed as ``dm_pipe_request``
records (their A-XDR values encoded here, everything else from the fields),
then one dm_pipe_encode call for APDUs, sealing, wrapper, UDP, IPv6, IPHC."""

from __future__ import annotations

import struct
from array import array
from collections.abc import Sequence
from typing import Any

from .. import _status as S
from .._common import pipeline_items as I
from .._common.apdu import iip_byte, long_iip
from .._common.pipeline_plan import EncodePlan
from .._core import ffi, lib
from ..apdu_model import ActionRequestNormal, DataNotification, GetRequestNormal, SetRequestNormal
from ..errors import EncodeError
from ..frames import FrameBuffer
from ..types import NullData
from . import apdu as native_apdu
from . import axdr as native_axdr
from . import secure
from .iphc import context_table, pack_links

__all__ = ["encode"]

_REQ = struct.Struct("=14I8s")
assert _REQ.size == ffi.sizeof("dm_pipe_request")
_RAW, _GET, _SET, _ACTION, _NOTIFY = (
    lib.DM_PIPE_REQ_RAW,
    lib.DM_PIPE_REQ_GET,
    lib.DM_PIPE_REQ_SET,
    lib.DM_PIPE_REQ_ACTION,
    lib.DM_PIPE_REQ_NOTIFY,
)
_ACCESS, _VALUE = lib.DM_PIPE_REQ_ACCESS, lib.DM_PIPE_REQ_VALUE
# bytes a frame may add to its APDU: request header and access, sealing, transport
_GROWTH = 32 + 40 + 56


def pack(requests: Sequence[Any], plan: EncodePlan) -> tuple[bytearray, bytearray]:
    """(the dm_pipe_request records, the A-XDR values they point into)."""
    n = len(requests)
    recs = bytearray(_REQ.size * n)
    values = bytearray()
    put = _REQ.pack_into
    enc = native_axdr.encode
    sender, ic, peer, wp = plan.sender, plan.ic, plan.peer, plan.wports
    size = _REQ.size
    for i, a in enumerate(requests):
        t = type(a)
        at = i * size
        if t is GetRequestNormal or t is SetRequestNormal:
            d = a.descriptor
            acc = d.access
            options = sel = x = xl = v = vl = 0
            if acc is not None:
                x = len(values)
                values += enc(acc.parameters)
                options, sel, xl = _ACCESS, acc.selector, len(values) - x
            if t is SetRequestNormal:
                v = len(values)
                values += enc(a.value)
                vl = len(values) - v
            kind = _GET if t is GetRequestNormal else _SET
            head = iip_byte(a)
            put(recs, at, kind, options, head, d.class_id, d.attribute_id & 0xFF, sel, v, vl, x, xl,
                sender[i], ic[i], peer[i], wp, d.instance_id)  # fmt: skip
        elif t is ActionRequestNormal:
            d = a.descriptor
            params = a.parameters
            options = v = vl = 0
            if not (params is None and type(params) is not NullData):
                v = len(values)
                values += enc(params)
                options, vl = _VALUE, len(values) - v
            put(recs, at, _ACTION, options, iip_byte(a), d.class_id, d.method_id & 0xFF, 0, v, vl, 0, 0,
                sender[i], ic[i], peer[i], wp, d.instance_id)  # fmt: skip
        elif t is DataNotification:
            options = x = xl = 0
            if a.date_time is not None:
                x = len(values)
                values += bytes(a.date_time)
                options, xl = _VALUE, 12
            v = len(values)
            values += enc(a.body)
            put(recs, at, _NOTIFY, options, long_iip(a), 0, 0, 0, v, len(values) - v, x, xl,
                sender[i], ic[i], peer[i], wp, b"")  # fmt: skip
        else:
            raw = native_apdu.encode(a) if not isinstance(a, (bytes, bytearray, memoryview)) else a
            v = len(values)
            values += raw
            put(recs, at, _RAW, 0, 0, 0, 0, 0, v, len(values) - v, 0, 0, sender[i], ic[i], peer[i], wp, b"")
    return recs, values


def encode(requests: Sequence[Any], plan: EncodePlan) -> FrameBuffer:
    """Encode a batch in one C call (see :func:`dlmsmesh.pipeline.encode_batch`)."""
    n = len(requests)
    recs, values = pack(requests, plan)
    cap = len(values) + _GROWTH * n + 64
    lowpan = plan.layer == I.LOWPAN_LAYER

    senders = ffi.new("dm_pipe_sender[]", max(len(plan.senders), 1))
    keys = []
    for k, s in enumerate(plan.senders):
        key = s.key(secure)
        keys.append(key)
        c = senders[k]
        c.key = key.ptr
        ffi.memmove(c.title, s.title, 8)
        c.sc = s.sc
        c.framing = s.framing
    keys = sorted(set(keys), key=id)

    cfg = ffi.new("dm_pipe_encode_config *")
    cfg.layer = plan.layer
    cfg.iphc_flags = plan.iphc_flags
    cfg.ports = plan.ports
    cfg.ip = plan.ip
    cfg.flow_label = plan.flow_label
    src = ffi.from_buffer("uint8_t[]", plan.source) if plan.source else ffi.NULL
    dst = ffi.from_buffer("uint8_t[]", plan.destinations) if plan.destinations else ffi.NULL
    cfg.source, cfg.destinations, cfg.npeers = src, dst, plan.npeers
    ll, ll_count = pack_links(plan.links) if plan.links is not None else (ffi.NULL, 0)
    cfg.ll, cfg.ll_count = ll, ll_count
    ctx_table = context_table(plan.contexts)
    cfg.contexts = ctx_table
    cfg.senders, cfg.nsenders = senders, len(plan.senders)

    buf = ffi.new("dm_pipe_encode_buffers *")
    apdu = ffi.new("uint8_t[]", len(values) + 64)
    out = ffi.new("uint8_t[]", cap)
    out_offsets = ffi.new("uint32_t[]", n + 1)
    buf.apdu, buf.apdu_cap = apdu, len(values) + 64
    buf.out, buf.out_cap, buf.out_offsets = out, cap, out_offsets
    if lowpan:
        stage = ffi.new("uint8_t[]", cap)
        stage_ends = ffi.new("uint32_t[]", max(n, 1))
        ll_scratch = ffi.new("dm_ll_pair[]", max(n, 1))
        items = ffi.new("dm_lowpan_item[]", max(n, 1))
        buf.stage, buf.stage_cap, buf.stage_ends, buf.ll, buf.lowpan = stage, cap, stage_ends, ll_scratch, items
    reqs = ffi.from_buffer("dm_pipe_request[]", recs) if n else ffi.NULL
    vals = ffi.from_buffer("uint8_t[]", values) if values else ffi.NULL
    with secure._locked(keys):
        rc = lib.dm_pipe_encode(cfg, reqs, n, vals, len(values), buf)
    if rc < 0:
        raise _error(rc, buf.err_index)
    data = ffi.buffer(out, rc)[:]
    offsets = array("I", bytes(ffi.buffer(out_offsets, 4 * (n + 1))))
    return FrameBuffer._trusted(data, offsets)


def _error(rc: int, index: int) -> EncodeError:
    if rc == lib.DM_ERR_SEC_TAG:
        return EncodeError(f"APDU {index} has no service-specific ciphered form (use general-glo-ciphering)")
    return EncodeError(f"request {index}: {S.MESSAGES.get(rc, f'error {rc}')}")
