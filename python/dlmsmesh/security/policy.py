"""Who protects what: the association role, the security policy (Security
setup version 1 bits, IEC 62056-6-2) and the general-ciphering
AAD variant."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from .tags import SC_AUTHENTICATION, SC_ENCRYPTION, Protection

__all__ = ["Role", "SecurityPolicy", "GeneralCipheringAad", "PROTECTION_WORDS", "policy_for"]


class Role(enum.Enum):
    """A client sends requests and receives responses; a server the reverse."""

    CLIENT = "client"
    SERVER = "server"


class SecurityPolicy(enum.IntFlag):
    """Security setup (class 64) security_policy, version 1."""

    NONE = 0
    AUTHENTICATED_REQUEST = 0x04
    ENCRYPTED_REQUEST = 0x08
    DIGITALLY_SIGNED_REQUEST = 0x10
    AUTHENTICATED_RESPONSE = 0x20
    ENCRYPTED_RESPONSE = 0x40
    DIGITALLY_SIGNED_RESPONSE = 0x80

    @classmethod
    def both_ways(cls, protection: Protection) -> SecurityPolicy:
        """The policy asking ``protection`` of requests and responses alike."""
        policy = cls.NONE
        if protection & Protection.AUTHENTICATION:
            policy |= cls.AUTHENTICATED_REQUEST | cls.AUTHENTICATED_RESPONSE
        if protection & Protection.ENCRYPTION:
            policy |= cls.ENCRYPTED_REQUEST | cls.ENCRYPTED_RESPONSE
        return policy

    def requests(self) -> Protection:
        """The protection requests must carry."""
        return _protection(self & self.AUTHENTICATED_REQUEST, self & self.ENCRYPTED_REQUEST)

    def responses(self) -> Protection:
        """The protection responses (and unsolicited server APDUs) must carry."""
        return _protection(self & self.AUTHENTICATED_RESPONSE, self & self.ENCRYPTED_RESPONSE)


#: the words the command line and the client name a protection by
PROTECTION_WORDS: Mapping[str, Protection] = MappingProxyType(
    {
        "none": Protection.NONE,
        "auth": Protection.AUTHENTICATION,
        "enc": Protection.ENCRYPTION,
        "authenc": Protection.AUTHENTICATED_ENCRYPTION,
    }
)


def policy_for(word: str) -> SecurityPolicy:
    """The policy asking the protection ``word`` names of requests and responses alike."""
    try:
        return SecurityPolicy.both_ways(PROTECTION_WORDS[word])
    except KeyError:
        raise ValueError(f"security is one of {', '.join(PROTECTION_WORDS)}, not {word!r}") from None


def _protection(auth: int, enc: int) -> Protection:
    return Protection((SC_AUTHENTICATION if auth else 0) | (SC_ENCRYPTION if enc else 0))


class GeneralCipheringAad(enum.Enum):
    """What general-ciphering adds to the AAD after ``SC || AK``.

    UNVERIFIED against IEC 62056-5-3 / the Green Book: the standard text was
    not available; two public implementations disagree.  ``HEADER`` (the
    default: the Green Book is recalled to authenticate the header) adds the
    A-XDR fields transaction-id .. other-information exactly as the frame
    carries them, as gurux-dlms (Python) does for suites 1/2;
    for authentication-only frames the APDU follows them.  ``PLAIN`` adds
    nothing, as Gurux.DLMS.Net does.  Pick what the meter does.
    """

    HEADER = "header"
    PLAIN = "plain"
