"""The explicit limits of the codecs, in one place: every decoder is bounded
(nesting depth, element counts, reassembly buffers and timeouts), and every
bound is configurable.

Every module takes its default from here; none keeps a second copy.  The
values shared with the C core are checked against ``csrc/dlmsmesh.h`` by the
test suite (``DM_DEFAULT_MAX_DEPTH``, ``DM_BER_DEPTH_LIMIT``), and where a C
function takes a limit as a parameter, Python passes the value from here.

This module imports nothing from the package: every layer may read it.
"""

from __future__ import annotations

__all__ = [
    "DEFAULT_MAX_DEPTH",
    "MAX_DEPTH_CEILING",
    "BER_DEFAULT_MAX_DEPTH",
    "BER_DEPTH_LIMIT",
    "MAX_LENGTH",
    "MAX_CONTEXTS",
    "MAX_DATAGRAM_SIZE",
    "REASSEMBLY_MAX_BYTES",
    "REASSEMBLY_MAX_DATAGRAMS",
    "REASSEMBLY_TIMEOUT",
]

#: nesting of A-XDR ``Data`` (arrays, structures, compact-array descriptions)
#: a decoder accepts and an encoder writes, unless the caller passes another
#: ``max_depth``; the C core's ``DM_DEFAULT_MAX_DEPTH``
DEFAULT_MAX_DEPTH = 64
#: the largest ``max_depth`` a caller may pass: both decoders recurse once per
#: level, so an unbounded limit would trade a DecodeError for a RecursionError
#: in Python and a stack overflow in C
MAX_DEPTH_CEILING = 256

#: nesting of BER TLVs the ACSE walker accepts by default ...
BER_DEFAULT_MAX_DEPTH = 16
#: ... and at most (the C walker's fixed stack: ``DM_BER_DEPTH_LIMIT``)
BER_DEPTH_LIMIT = 64

#: the largest A-XDR length or element count (a 4-octet long form)
MAX_LENGTH = 0xFFFFFFFF

#: 6LoWPAN contexts (RFC 6282: a 4-bit context identifier)
MAX_CONTEXTS = 16
#: the largest datagram RFC 4944 fragmentation can carry (11-bit datagram_size)
MAX_DATAGRAM_SIZE = 2047
#: reassembly defaults: memory held by partial datagrams, how many are held at
#: once, and how long (seconds) one may wait for its missing fragments
REASSEMBLY_MAX_BYTES = 64 * 1024
REASSEMBLY_MAX_DATAGRAMS = 32
REASSEMBLY_TIMEOUT = 60.0
