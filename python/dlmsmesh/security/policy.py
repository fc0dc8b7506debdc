"""Who protects what: the association role, the security policy (Security
setup version 1 bits, IEC 62056-6-2) and the general-ciphering
AAD variant."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType

from .tags import SC_AUTHENTICATION, SC_ENCRYPTION, Protection

__all__ = ["Role", "SecurityPolicy", "GeneralCipheringAad", "GeneralSigningRange", "PROTECTION_WORDS", "policy_for"]


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

    ``HEADER`` (the default) adds the five A-XDR fields transaction-id ..
    other-information exactly as the frame carries them (each with its
    length byte, empty ones as a lone ``00``), key-info excluded; for
    authentication-only frames the APDU follows them.  Settled from the GB
    smart-metering test set (SmartDCCInnovation/gbcs-parser ``test/rtds``:
    811 of 815 MACs verify with exactly this, none without the header
    fields); gurux-dlms (Python) builds the same AAD.  ``PLAIN`` adds
    nothing, as Gurux Java (since 3.1.1) and Gurux.DLMS.Net do: a peer quirk,
    for those peers only.
    """

    HEADER = "header"
    PLAIN = "plain"


class GeneralSigningRange(enum.Enum):
    """Which bytes a general-signing signature covers when we verify one.

    ``STANDARD`` (the default, and always what :meth:`sign` signs):
    everything after the 0xDF tag up to the end of the content, the
    content's own A-XDR length included (every signature of the GB
    smart-metering test set verifies with it).  ``GURUX``: the header fields
    then the content *without* its length, as Gurux Java/.NET sign and verify
    (``GXSecure``: "Content length is not add for the signed data"): a peer
    quirk, to accept frames from those peers only.
    """

    STANDARD = "standard"
    GURUX = "gurux"
