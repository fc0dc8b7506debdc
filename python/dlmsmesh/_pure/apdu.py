"""Pure-Python xDLMS APDU codec (IEC 62056-5-3): the shared walk of
``dlmsmesh._common.apdu`` over the pure A-XDR ``Data`` codec."""

from __future__ import annotations

from .._common.apdu import LAYER, Codec, iip_byte, iip_fields, long_iip
from . import axdr as pure_axdr

__all__ = ["LAYER", "Codec", "decode", "decode_prefix", "encode", "iip_byte", "iip_fields", "long_iip"]

_codec = Codec(pure_axdr)
decode = _codec.decode
decode_prefix = _codec.decode_prefix
encode = _codec.encode
