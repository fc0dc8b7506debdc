"""Status codes shared by the C core and the pure twin.

The C core returns these (negative) codes with a byte offset; the pure twin
raises with the same code, so both backends report the same message and
offset for the same bad input.  Keep in step with ``csrc/dlmsmesh.h``.
"""

from __future__ import annotations

from .errors import DecodeError

OK = 0
TRUNCATED = -1
BAD_TAG = -2
BAD_LENGTH = -3
TOO_DEEP = -4
TOO_MANY = -5
TRAILING = -6
BAD_UTF8 = -7
BAD_DESCRIPTION = -8
COMPACT_OVERRUN = -9
ZERO_SIZE = -10
NO_SPACE = -11
BAD_ARGUMENT = -12
APDU_TAG = -20
APDU_CHOICE = -21
APDU_FLAG = -22
APDU_COUNT = -24
BER_TAG = -30
BER_INDEFINITE = -31
# transport: wrapper, IPv6/UDP, 6LoWPAN
WRAPPER_VERSION = -50
WRAPPER_LENGTH = -51
IPV6_VERSION = -52
IPV6_LENGTH = -53
UDP_LENGTH = -54
LOWPAN_DISPATCH = -55
LOWPAN_RESERVED = -56
LOWPAN_CONTEXT = -57
LOWPAN_LINK = -58
LOWPAN_NHC = -59
LOWPAN_SIZE = -60
FRAG_OFFSET = -61
FRAG_OVERLAP = -62
FRAG_MTU = -63
FRAG_TOO_BIG = -64
FRAG_EMPTY = -65
FRAG_LIMIT = -66
# security layer (csrc/secure.c)
SEC_AUTH = -40
SEC_SUITE = -41
SEC_NO_KEY = -42
SEC_CONTROL = -43
SEC_POLICY = -44
SEC_TAG = -45
SEC_TITLE = -46
SEC_NO_TITLE = -47
SEC_MISMATCH = -48
SEC_CRYPTO = -49
# columns (csrc/columns_decode.c, columns_encode.c)
COL_NOT_ARRAY = -70
COL_ROW = -71
COL_FIELD = -72
COL_WIDTH = -73
COL_TYPE = -74
COL_VALUE = -75
# batch frame pipeline (csrc/pipeline_decode.c, pipeline_encode.c)
PIPE_REPLAY = -80
PIPE_FRAGMENT = -81
PIPE_NOT_UDP = -82
PIPE_CHECKSUM = -83
PIPE_PLAIN = -84
PIPE_NO_KEYS = -85
PIPE_TOO_LONG = -86
PIPE_OTHER = -87

MESSAGES: dict[int, str] = {
    TRUNCATED: "truncated input",
    BAD_TAG: "unknown data tag",
    BAD_LENGTH: "invalid length form",
    TOO_DEEP: "nesting deeper than the limit",
    TOO_MANY: "element count exceeds the bytes left",
    TRAILING: "trailing bytes after the value",
    BAD_UTF8: "utf8-string is not valid UTF-8",
    BAD_DESCRIPTION: "invalid compact-array type description",
    COMPACT_OVERRUN: "compact-array contents end inside an element",
    ZERO_SIZE: "compact-array description has a zero-size element",
    APDU_TAG: "unknown APDU tag",
    APDU_CHOICE: "unknown APDU variant",
    APDU_FLAG: "OPTIONAL/CHOICE flag is neither 0 nor 1",
    APDU_COUNT: "the value list does not have one value per descriptor",
    BER_TAG: "BER tag number longer than 4 octets",
    BER_INDEFINITE: "BER indefinite length is not supported",
    WRAPPER_VERSION: "wrapper version is not 1",
    WRAPPER_LENGTH: "wrapper length does not match the datagram",
    IPV6_VERSION: "IP version is not 6",
    IPV6_LENGTH: "IPv6 payload length does not match the datagram",
    UDP_LENGTH: "UDP length does not match the IPv6 payload",
    LOWPAN_DISPATCH: "not a 6LoWPAN dispatch this decoder handles",
    LOWPAN_RESERVED: "reserved IPHC address mode",
    LOWPAN_CONTEXT: "IPHC context is not in the context table",
    LOWPAN_LINK: "address derived from a link-layer address that is not known",
    LOWPAN_NHC: "next-header compression other than NHC-UDP is not supported",
    LOWPAN_SIZE: "datagram size inconsistent with the headers",
    FRAG_OFFSET: "fragment reaches beyond the datagram size",
    FRAG_OVERLAP: "fragment overlaps an earlier one inconsistently",
    FRAG_MTU: "link MTU too small for the fragment and compressed headers",
    FRAG_TOO_BIG: "datagram larger than 2047 bytes cannot be fragmented",
    FRAG_EMPTY: "fragment carries no data",
    FRAG_LIMIT: "datagram larger than the reassembly memory budget",
    SEC_AUTH: "authentication tag did not verify",
    SEC_SUITE: "security suite differs from the configured suite",
    SEC_NO_KEY: "no key for this sender and key set",
    SEC_CONTROL: "security control byte not acceptable (no protection, compression, or broadcast on a dedicated key)",
    SEC_POLICY: "protection weaker than the security policy requires",
    SEC_TAG: "not a ciphered APDU tag",
    SEC_TITLE: "system title is neither 0 nor 8 bytes long",
    SEC_NO_TITLE: "no system title in the frame and none configured for the peer",
    SEC_MISMATCH: "ciphered tag is not the protected form of the APDU inside",
    SEC_CRYPTO: "libcrypto failure",
    COL_NOT_ARRAY: "not an array",
    COL_ROW: "row is not a structure of the layout's width",
    COL_FIELD: "field type differs from the layout",
    COL_WIDTH: "an octet-string date-time is not 12 octets",
    COL_TYPE: "type cannot be a column",
    COL_VALUE: "value cannot be encoded",
    PIPE_REPLAY: "invocation counter is not greater than the last accepted one",
    PIPE_FRAGMENT: "6LoWPAN fragment: reassemble the datagram before the pipeline",
    PIPE_NOT_UDP: "the IPv6 next header is not UDP",
    PIPE_CHECKSUM: "UDP checksum does not verify",
    PIPE_PLAIN: "unciphered APDU where the security context requires protection",
    PIPE_NO_KEYS: "ciphered APDU and no security context to open it",
    PIPE_TOO_LONG: "frame longer than its length fields allow",
    PIPE_OTHER: "error of a layer decoded above the C core",
}


def decode_error(code: int, offset: int, layer: str) -> DecodeError:
    return DecodeError(MESSAGES.get(code, f"error {code}"), layer=layer, offset=offset)
