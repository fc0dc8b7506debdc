"""Native xDLMS APDU codec: the hot APDUs (get-response-normal,
data-notification, general-block-transfer) decode in one C call that builds
the object; the others are walked by the pure codec over the native Data codec."""

from __future__ import annotations

import functools
from typing import Any

from .. import _status as S
from .._common.apdu import LAYER, Codec, iip_fields
from .._common.axdr import BYTE_CACHE
from .._core import lib
from ..apdu_model import DataAccessResult, GetResponseNormal
from ..errors import DecodeError
from ..types import DoubleLong, DoubleLongUnsigned, Long, LongUnsigned, NullData
from . import axdr as native_axdr
from .loader import _local, loader

_codec = Codec(native_axdr)
decode_prefix = _codec.decode_prefix
encode = _codec.encode
_walk = _codec.decode
_hot = lib.dm_apdu_decode
_NOT_HOT = lib.DM_ERR_APDU_NOT_HOT
_NO_SPACE = lib.DM_ERR_NO_SPACE
_SCALAR = lib.DM_APDU_SCALAR
_onew = object.__new__
_inew = int.__new__
_NULL = NullData()
# invoke-id-and-priority byte -> the fields that differ from the defaults (C1)
_IIP_DIFF = tuple({k: v for k, v in iip_fields(b).items() if getattr(GetResponseNormal, k) != v} for b in range(256))
# scalar kind (a Data tag, 255 = data-access-result) -> value from ctx.value
_SCALAR_VALUE: list[Any] = [None] * 256
for _cls in (DoubleLong, DoubleLongUnsigned, Long, LongUnsigned):
    _SCALAR_VALUE[_cls.TAG] = functools.partial(int.__new__, _cls)
for _tag, _cache in BYTE_CACHE.items():
    _SCALAR_VALUE[_tag] = _cache.__getitem__
_SCALAR_VALUE[255] = tuple(DataAccessResult(i) for i in range(256)).__getitem__


def _context() -> Any:
    ctx = loader().apdu_ctx
    _local.apdu_ctx = ctx
    return ctx


def decode(data: Any) -> Any:
    try:
        ctx = _local.apdu_ctx
    except AttributeError:
        ctx = _context()
    try:
        rc = _hot(data, len(data), ctx)
    except TypeError:  # not bytes: cffi passes only bytes as const char *
        data = bytes(data)
        rc = _hot(data, len(data), ctx)
    if rc >= _SCALAR:
        # a get-response-normal with one small value: built here, no program
        obj = _onew(GetResponseNormal)
        d = obj.__dict__
        iip = (rc >> 8) & 0xFF
        if iip != 0xC1:
            d.update(_IIP_DIFF[iip])
        kind = rc & 0xFF
        if kind == 6:  # double-long-unsigned: most register values
            d["result"] = _inew(DoubleLongUnsigned, ctx.value)
        elif kind == 9:
            d["result"] = data[6:]
        elif kind == 0:
            d["result"] = _NULL
        else:
            d["result"] = _SCALAR_VALUE[kind](ctx.value)
        return obj
    if rc > 0:
        ld = _local.loader
        ld.source.view = ld.view[:rc]
        return ld.unpickler.load()
    ld = loader()
    if rc == _NOT_HOT:
        return _walk(data)
    while rc == _NO_SPACE and ld.cap < (1 << 28):
        ld.grow(ld.cap * 2)
        rc = _hot(data, len(data), ctx)
        if 0 < rc < _SCALAR:
            return ld.run(rc)
    res = ctx.res
    err = S.decode_error(rc, res.err_offset, LAYER)
    if res.in_data:
        raise DecodeError(f"in Data: {err.reason}", layer=LAYER, offset=res.err_offset)
    raise err
