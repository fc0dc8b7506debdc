"""What the security layer's bytes mean (tags, control byte, suites, key
sets): the tables live in :mod:`dlmsmesh._common.security_tags`, below the
backends that read them too; this module is their public name."""

from __future__ import annotations

from .._common.security_tags import (
    CIPHERED_TAGS,
    GENERAL_CIPHERING,
    GENERAL_DED_CIPHERING,
    GENERAL_GLO_CIPHERING,
    GENERAL_SIGNING,
    KINDS,
    PLAIN_NAMES,
    SC_AUTHENTICATION,
    SC_BROADCAST,
    SC_COMPRESSION,
    SC_ENCRYPTION,
    SC_SUITE_MASK,
    SERVICE_TAGS,
    TAG_LENGTH,
    TAG_NAMES,
    FrameKind,
    KeyInfoKind,
    KeySet,
    Protection,
    SecuritySuite,
    ded_tag,
    glo_tag,
)

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
    "KINDS",
    "GENERAL_GLO_CIPHERING",
    "GENERAL_DED_CIPHERING",
    "GENERAL_CIPHERING",
    "GENERAL_SIGNING",
    "glo_tag",
    "ded_tag",
]
