"""The per-frame record both backends fill: ``dm_pipe_item`` of csrc/dlmsmesh.h,
26 32-bit words per frame, read by Python as one flat array.

The native backend's C core writes it; the pure twin writes the same words
from Python, so everything above (counters, deferred frames, the result
object) is one code path for both.
"""

from __future__ import annotations

from typing import Final

__all__ = ["WORDS", "LAYERS", "LAYER_NAMES", "NONE", "layer_code"]

#: 32-bit words of one dm_pipe_item
WORDS: Final = 26

# field indexes, in dm_pipe_item order
STATUS: Final = 0
LAYER: Final = 1
ERR_OFFSET: Final = 2
FLAGS: Final = 3
LOWPAN: Final = 4
HEADER_LENGTH: Final = 5
UNCOMPRESSED: Final = 6
BASE: Final = 7
BASE_LEN: Final = 8
UDP: Final = 9
WRAPPER: Final = 10
APDU: Final = 11
APDU_LEN: Final = 12
PLAIN: Final = 13
PLAIN_LEN: Final = 14
PEER: Final = 15
TAG: Final = 16
SC: Final = 17
IC: Final = 18
KEY_SET: Final = 19
REPLAY_LAST: Final = 20
PROGRAM: Final = 21
PROGRAM_LEN: Final = 22
SCALAR: Final = 23
VALUE_LO: Final = 24
VALUE_HI: Final = 25

#: an absent offset or index
NONE: Final = 0xFFFFFFFF

# layers (DM_PIPE_*)
LOWPAN_LAYER: Final = 1
IPV6_LAYER: Final = 2
UDP_LAYER: Final = 3
WRAPPER_LAYER: Final = 4
SECURITY_LAYER: Final = 5
APDU_LAYER: Final = 6
LAYERS: Final = {"lowpan": 1, "ipv6": 2, "udp": 3, "wrapper": 4, "apdu": 6}
LAYER_NAMES: Final = {1: "lowpan", 2: "ipv6", 3: "udp", 4: "wrapper", 5: "security", 6: "apdu"}

# decode flags (DM_PIPE_KEYS ...)
KEYS: Final = 1
ALLOW_PLAIN: Final = 2
CHECKSUM: Final = 4

# item flags (DM_PIPE_F_*)
F_DEFER_SECURITY: Final = 1
F_DEFER_REPLAY: Final = 2
F_DEFER_APDU: Final = 4
F_DATAGRAM: Final = 8
F_CIPHERED: Final = 16
F_CHECKSUM_CHECKED: Final = 32
F_CHECKSUM_OK: Final = 64
F_IN_DATA: Final = 128
F_MESH: Final = 256
F_BC0: Final = 512
F_DEFERRED: Final = F_DEFER_SECURITY | F_DEFER_REPLAY | F_DEFER_APDU

# counter entries (dm_rx_counter: last, flags, prev_last, prev_flags)
RX_WORDS: Final = 4
RX_KNOWN: Final = 1
RX_CALLER: Final = 2
RX_TOUCHED: Final = 4
KEY_SETS: Final = 3


def layer_code(layer: str) -> int:
    """The DM_PIPE_* code of a layer name the frames of a batch can start at."""
    try:
        return LAYERS[layer]
    except KeyError:
        raise ValueError(f"layer must be one of {sorted(LAYERS)}, not {layer!r}") from None


def frame_offset(words: object, k: int, d: int) -> int:
    """The input-frame offset of byte ``d`` of frame ``k``'s base (the
    uncompressed datagram): the compressed 6LoWPAN header stands for the
    first ``uncompressed`` bytes, the rest is carried one for one."""
    w: list[int] = words  # type: ignore[assignment]
    un = w[k + UNCOMPRESSED]
    if d < un:
        return d
    return d - un + w[k + HEADER_LENGTH]
