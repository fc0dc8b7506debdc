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
BER_TAG = -30
BER_INDEFINITE = -31

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
    BER_TAG: "BER tag number longer than 4 octets",
    BER_INDEFINITE: "BER indefinite length is not supported",
}


def decode_error(code: int, offset: int, layer: str) -> DecodeError:
    return DecodeError(MESSAGES.get(code, f"error {code}"), layer=layer, offset=offset)
