"""The batch frame pipeline (issue 6): N frames through every layer in one
backend call, both ways.

Receive: :func:`decode_batch` takes 6LoWPAN frames, IPv6 datagrams, UDP
segments, UDP payloads (wrapper) or APDUs and runs IPHC decompression, UDP
length and checksum, the wrapper, the security header, AES-GCM verify and
decrypt, the invocation-counter check against the counter store, the APDU
header and its A-XDR body, returning a :class:`DecodedBatch` with per-frame
status and header fields; APDU objects are built only when asked
(``result.apdu(i)``)::

    buf = FrameBuffer()
    for _ in range(1000):
        buf.recv_into(sock)
    result = decode_batch(buf, layer="wrapper", security=keyring, out=workspace)
    for i, notification in result.apdus():
        ...
    for i in result.failed_indices():
        log.info("frame %d: %s", i, result.error(i))

Send: :func:`encode_batch` turns GET/SET/ACTION requests (or
data-notifications, for meter emulation) into ciphered, wrapped,
UDP/IPv6 and optionally IPHC-compressed frames in one
:class:`FrameBuffer`, with consecutive invocation counters reserved first.

The native backend does each batch in one C call (csrc/pipeline_*.c, calling
the C function of every layer); the pure backend does the same frame by
frame with the pure layers, with the same bytes, statuses and errors.
"""

from __future__ import annotations

from .._common.pipeline_items import LAYERS
from ..frames import FrameBuffer
from .decode import decode_batch, decode_plan, new_workspace
from .encode import ENCODE_LAYERS, encode_batch, encode_plan
from .result import DecodedBatch

__all__ = [
    "decode_batch",
    "encode_batch",
    "decode_plan",
    "encode_plan",
    "new_workspace",
    "DecodedBatch",
    "FrameBuffer",
    "LAYERS",
    "ENCODE_LAYERS",
]
