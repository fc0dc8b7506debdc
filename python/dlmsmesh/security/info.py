"""What the security layer says about a frame: :class:`SecurityInfo` (the
``security`` object of docs/json.md), and the results of
unprotecting one frame or a batch."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import DlmsError
from .envelope import Envelope
from .tags import (
    SC_AUTHENTICATION,
    SC_BROADCAST,
    SC_COMPRESSION,
    SC_ENCRYPTION,
    TAG_NAMES,
    FrameKind,
    KeyInfoKind,
    KeySet,
)

__all__ = ["SecurityInfo", "Unprotected", "BatchUnprotected", "header_info", "info_from_envelope", "unprotected"]

_KEY_INFO_NAMES = {
    KeyInfoKind.IDENTIFIED: "identified-key",
    KeyInfoKind.WRAPPED: "wrapped-key",
    KeyInfoKind.AGREED: "agreed-key",
}


@dataclass(frozen=True)
class SecurityInfo:
    """The security header of one frame, as sent (nothing secret).

    ``system_title`` is the sender's: carried by the frame, or the
    configured peer title for frames that do not carry one (None when
    neither).  ``security_control``/``invocation_counter`` are None for
    general-signing.  ``key_set`` is the key that protected the frame
    (None when the frame failed before a key was chosen).  General-ciphering
    and general-signing also fill the header fields; ``inner`` describes the
    protection of a general-signing content that was itself ciphered.
    """

    tag: int
    system_title: bytes | None
    security_control: int | None
    invocation_counter: int | None
    key_set: KeySet | None = None
    transaction_id: bytes | None = None
    recipient_system_title: bytes | None = None
    date_time: bytes | None = None
    other_information: bytes | None = None
    key_info: KeyInfoKind | None = None
    signature: bytes | None = None
    inner: SecurityInfo | None = None

    @property
    def name(self) -> str:
        """The ASN.1 name of the tag (``glo-get-request``, ``general-ciphering`` ...)."""
        return TAG_NAMES.get(self.tag, f"unknown-{self.tag}")

    @property
    def suite(self) -> int | None:
        return None if self.security_control is None else self.security_control & 0x0F

    @property
    def authenticated(self) -> bool:
        return self.security_control is not None and bool(self.security_control & SC_AUTHENTICATION)

    @property
    def encrypted(self) -> bool:
        return self.security_control is not None and bool(self.security_control & SC_ENCRYPTION)

    @property
    def broadcast(self) -> bool:
        """True when the broadcast key protected the frame (K bit, or a
        general-ciphering identified-key naming the broadcast key)."""
        if self.key_set is not None:
            return self.key_set is KeySet.BROADCAST
        return self.security_control is not None and bool(self.security_control & SC_BROADCAST)

    @property
    def compressed(self) -> bool:
        return self.security_control is not None and bool(self.security_control & SC_COMPRESSION)

    def to_json(self) -> dict[str, Any]:
        """The ``security`` object of the CLI's JSON Lines output."""
        out: dict[str, Any] = {
            "tag": self.name,
            "system_title": _hex(self.system_title),
            "security_control": self.security_control,
            "suite": self.suite,
            "authenticated": self.authenticated,
            "encrypted": self.encrypted,
            "key_set": None if self.security_control is None else ("broadcast" if self.broadcast else "unicast"),
            "invocation_counter": self.invocation_counter,
        }
        if self.transaction_id is not None:
            out["transaction_id"] = self.transaction_id.hex()
            out["recipient_system_title"] = _hex(self.recipient_system_title or None)
            out["date_time"] = _hex(self.date_time or None)
            out["other_information"] = _hex(self.other_information or None)
        if self.tag == 0xDD:
            out["key_info"] = _KEY_INFO_NAMES.get(self.key_info) if self.key_info else None
        if self.signature is not None:
            out["signature"] = self.signature.hex()
        if self.inner is not None:
            out["inner"] = self.inner.to_json()
        return out


def _hex(value: bytes | None) -> str | None:
    return None if value is None else value.hex()


def info_from_envelope(
    frame: bytes,
    env: Envelope,
    peer_title: bytes | None,
    key_set: KeySet | None = None,
    inner: SecurityInfo | None = None,
) -> SecurityInfo:
    """The SecurityInfo of a parsed frame."""
    title = frame[env.title : env.title + 8] if env.title_len == 8 else peer_title
    signing = env.kind is FrameKind.GENERAL_SIGNING
    general = signing or env.kind is FrameKind.GENERAL_CIPHERING
    part = Envelope.part
    return SecurityInfo(
        tag=env.tag,
        system_title=title,
        security_control=None if signing else env.sc,
        invocation_counter=None if signing else env.ic,
        key_set=key_set,
        transaction_id=part(frame, env.transaction, env.transaction_len) if general else None,
        recipient_system_title=part(frame, env.recipient, env.recipient_len) if general else None,
        date_time=part(frame, env.date_time, env.date_time_len) if general else None,
        other_information=part(frame, env.other, env.other_len) if general else None,
        key_info=env.key_info if env.kind is FrameKind.GENERAL_CIPHERING else None,
        signature=part(frame, env.signature, env.signature_len) if signing else None,
        inner=inner,
    )


def header_info(tag: int, title: bytes | None, sc: int, ic: int, key_set: KeySet | None) -> SecurityInfo:
    """The SecurityInfo of a service-specific or general-glo/ded frame (no
    general-ciphering header fields), built without the frozen dataclass's
    field-by-field ``__init__``: one per request and reply of an association."""
    info = object.__new__(SecurityInfo)
    info.__dict__.update(
        tag=tag, system_title=title, security_control=sc, invocation_counter=ic, key_set=key_set,
        transaction_id=None, recipient_system_title=None, date_time=None, other_information=None,
        key_info=None, signature=None, inner=None,
    )  # fmt: skip
    return info


@dataclass(frozen=True)
class Unprotected:
    """A frame that verified: the APDU inside and how it was protected."""

    plaintext: bytes
    info: SecurityInfo


def unprotected(plaintext: bytes, info: SecurityInfo) -> Unprotected:
    """``Unprotected(plaintext, info)`` without the frozen dataclass's ``__init__``."""
    out = object.__new__(Unprotected)
    out.__dict__.update(plaintext=plaintext, info=info)
    return out


@dataclass(eq=False)
class BatchUnprotected:
    """The outcome of a batch: ``plaintexts[i]`` is the APDU of frame i (None
    when it failed), ``errors[i]`` the exception of a failed frame (None when
    it verified); ``info(i)`` describes frame i's protection (parsed on
    demand, so a large batch pays nothing for it)."""

    plaintexts: list[bytes | None]
    errors: list[DlmsError | None]
    _describe: Callable[[int], SecurityInfo | None] = field(repr=False)

    def __len__(self) -> int:
        return len(self.plaintexts)

    def info(self, i: int) -> SecurityInfo | None:
        """The SecurityInfo of frame i, None when it did not parse."""
        return self._describe(i)

    @property
    def ok(self) -> int:
        """How many frames verified."""
        return sum(1 for e in self.errors if e is None)
