"""6LoWPAN adaptation (RFC 6282 IPHC + NHC-UDP, RFC 4944 fragmentation and
mesh header) for IEEE 802.15.4 neighbourhood networks.

- :func:`compress` / :func:`decompress` (and the ``_datagram`` / ``_batch``
  forms): IPHC on the live backend, with a :class:`ContextTable`;
- :func:`fragment` / :class:`Fragmenter`: FRAG1/FRAGN frames for a link MTU;
- :class:`Reassembler`: fragments back into datagrams, with bounded memory
  and a timeout;
- :func:`decode_frame`: one frame's dispatch walk (mesh, BC0, fragment,
  IPHC), giving a :class:`LowpanFrame`;
- :mod:`~dlmsmesh.lowpan.link`: interface identifiers from EUI-64 and short
  addresses.
"""

from __future__ import annotations

from .context import Context, ContextTable
from .frag import MAX_DATAGRAM_SIZE, Fragmenter, fragment
from .frame import FragmentHeader, LowpanFrame, decode_frame, is_lowpan_dispatch
from .iphc import (
    Decompressed,
    compress,
    compress_batch,
    compress_datagram,
    decompress,
    decompress_batch,
    decompress_batch_buffer,
    decompress_datagram,
)
from .link import LinkPairs, from_frame_order, iid, link_local
from .mesh import MeshHeader, parse_mesh
from .reassembly import Reassembler, ReassemblyStats

__all__ = [
    "Context",
    "ContextTable",
    "Decompressed",
    "compress",
    "decompress",
    "compress_datagram",
    "decompress_datagram",
    "compress_batch",
    "decompress_batch",
    "decompress_batch_buffer",
    "fragment",
    "Fragmenter",
    "MAX_DATAGRAM_SIZE",
    "Reassembler",
    "ReassemblyStats",
    "decode_frame",
    "LowpanFrame",
    "FragmentHeader",
    "is_lowpan_dispatch",
    "MeshHeader",
    "parse_mesh",
    "LinkPairs",
    "iid",
    "link_local",
    "from_frame_order",
]
