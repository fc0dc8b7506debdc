"""What the security layer's bytes mean: ciphered APDU tags, the security
control byte, suites, key sets (IEC 62056-5-3: security suites, the security
header, the ciphered APDU tags).  Shared by both backends."""

from __future__ import annotations

import enum

__all__ = [
    "SecuritySuite",
    "Protection",
    "KeySet",
    "FrameKind",
    "KeyInfoKind",
    "SC_AUTHENTICATION",
    "SC_ENCRYPTION",
    "SC_BROADCAST",
    "SC_COMPRESSION",
    "SC_SUITE_MASK",
    "TAG_LENGTH",
    "PLAIN_NAMES",
    "SERVICE_TAGS",
    "TAG_NAMES",
    "CIPHERED_TAGS",
    "GENERAL_GLO_CIPHERING",
    "GENERAL_DED_CIPHERING",
    "GENERAL_CIPHERING",
    "GENERAL_SIGNING",
    "glo_tag",
    "ded_tag",
]

SC_AUTHENTICATION = 0x10
SC_ENCRYPTION = 0x20
SC_BROADCAST = 0x40
SC_COMPRESSION = 0x80
SC_SUITE_MASK = 0x0F
#: GCM tags are always truncated to 96 bits
TAG_LENGTH = 12

GENERAL_GLO_CIPHERING = 0xDB
GENERAL_DED_CIPHERING = 0xDC
GENERAL_CIPHERING = 0xDD
GENERAL_SIGNING = 0xDF


class SecuritySuite(enum.IntEnum):
    """Security suite id (the low nibble of the security control byte)."""

    AES_GCM_128 = 0
    ECDH_ECDSA_AES_GCM_128_SHA256 = 1
    ECDH_ECDSA_AES_GCM_256_SHA384 = 2

    @property
    def key_size(self) -> int:
        """Bytes of every symmetric key of the suite (EK, AK, KEK)."""
        return 32 if self is SecuritySuite.ECDH_ECDSA_AES_GCM_256_SHA384 else 16


class Protection(enum.IntFlag):
    """The A and E bits of the security control byte."""

    NONE = 0
    AUTHENTICATION = SC_AUTHENTICATION
    ENCRYPTION = SC_ENCRYPTION
    AUTHENTICATED_ENCRYPTION = SC_AUTHENTICATION | SC_ENCRYPTION


class KeySet(enum.IntEnum):
    """Which key protected a frame (values as the C core reports them)."""

    UNICAST = 0
    BROADCAST = 1
    DEDICATED = 2


class FrameKind(enum.IntEnum):
    """The shapes of ciphered APDUs (values as in csrc/dlmsmesh.h)."""

    SERVICE_GLO = 1
    SERVICE_DED = 2
    GENERAL_GLO = 3
    GENERAL_DED = 4
    GENERAL_CIPHERING = 5
    GENERAL_SIGNING = 6


class KeyInfoKind(enum.IntEnum):
    """general-ciphering key-info: absent, or the CHOICE alternative + 1."""

    NONE = 0
    IDENTIFIED = 1
    WRAPPED = 2
    AGREED = 3


#: the APDUs with a service-specific ciphered form: plain tag -> ASN.1 name
PLAIN_NAMES: dict[int, str] = {
    0x01: "initiate-request",
    0x05: "read-request",
    0x06: "write-request",
    0x08: "initiate-response",
    0x0C: "read-response",
    0x0D: "write-response",
    0x0E: "confirmed-service-error",
    0x16: "unconfirmed-write-request",
    0x18: "information-report-request",
    0xC0: "get-request",
    0xC1: "set-request",
    0xC2: "event-notification-request",
    0xC3: "action-request",
    0xC4: "get-response",
    0xC5: "set-response",
    0xC7: "action-response",
}


def glo_tag(plain: int) -> int:
    """The glo- tag of a plain APDU tag (SN/initiate family + 0x20, LN + 0x08)."""
    return plain + (0x20 if plain < 0x80 else 0x08)


def ded_tag(plain: int) -> int:
    """The ded- tag of a plain APDU tag (SN/initiate family + 0x40, LN + 0x10)."""
    return plain + (0x40 if plain < 0x80 else 0x10)


#: service-specific ciphered tag -> (kind, the plain tag it protects)
SERVICE_TAGS: dict[int, tuple[FrameKind, int]] = {}
for _plain in PLAIN_NAMES:
    SERVICE_TAGS[glo_tag(_plain)] = (FrameKind.SERVICE_GLO, _plain)
    SERVICE_TAGS[ded_tag(_plain)] = (FrameKind.SERVICE_DED, _plain)

#: every ciphered tag -> its ASN.1 name (``glo-get-request``, ``general-ciphering`` ...)
TAG_NAMES: dict[int, str] = {}
for _tag, (_kind, _plain) in SERVICE_TAGS.items():
    TAG_NAMES[_tag] = ("glo-" if _kind is FrameKind.SERVICE_GLO else "ded-") + PLAIN_NAMES[_plain]
TAG_NAMES[GENERAL_GLO_CIPHERING] = "general-glo-ciphering"
TAG_NAMES[GENERAL_DED_CIPHERING] = "general-ded-ciphering"
TAG_NAMES[GENERAL_CIPHERING] = "general-ciphering"
TAG_NAMES[GENERAL_SIGNING] = "general-signing"

#: the first octets that make a frame a job for the security layer
CIPHERED_TAGS = frozenset(TAG_NAMES)

#: tag -> frame kind, for every ciphered tag
KINDS: dict[int, FrameKind] = {tag: kind for tag, (kind, _) in SERVICE_TAGS.items()}
KINDS[GENERAL_GLO_CIPHERING] = FrameKind.GENERAL_GLO
KINDS[GENERAL_DED_CIPHERING] = FrameKind.GENERAL_DED
KINDS[GENERAL_CIPHERING] = FrameKind.GENERAL_CIPHERING
KINDS[GENERAL_SIGNING] = FrameKind.GENERAL_SIGNING
