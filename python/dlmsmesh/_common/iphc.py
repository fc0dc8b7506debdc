"""What both IPHC backends and ``dlmsmesh.lowpan`` share: the flag and info
bits of ``dlmsmesh.h``, the header sizes, and the shape of one link-layer
address pair."""

from __future__ import annotations

from .fail import Fail
from .iphc_batch import ITEM_WORDS, Batch

__all__ = [
    "Batch",
    "Fail",
    "ITEM_WORDS",
    "Link",
    "IPV6_HEADER",
    "UDP_HEADER",
    "NH_UDP",
    "ELIDE_CHECKSUM",
    "HEADERS_ONLY",
    "INFO_SAC",
    "INFO_DAC",
    "INFO_UDP",
    "INFO_ELIDED",
    "INFO_PENDING",
    "CONTEXT_DECOMPRESS",
    "CONTEXT_COMPRESS",
]

IPV6_HEADER = 40
UDP_HEADER = 8
NH_UDP = 17

# flags and info bits: the values of dlmsmesh.h
ELIDE_CHECKSUM = 1
HEADERS_ONLY = 2
INFO_SAC = 1
INFO_DAC = 2
INFO_UDP = 4
INFO_ELIDED = 8
INFO_PENDING = 16
CONTEXT_DECOMPRESS = 1
CONTEXT_COMPRESS = 2

#: (source, destination) link-layer addresses of one item: 0, 2 or 8 bytes each
Link = tuple[bytes, bytes]
