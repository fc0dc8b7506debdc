"""One frame through every layer: :func:`receive` and :func:`send`.

:func:`receive` takes one frame up the stack::

    6LoWPAN (mesh, fragments, IPHC) -> IPv6 -> UDP -> wrapper
        -> security (ciphered APDUs) -> ACSE APDU | xDLMS APDU | A-XDR Data

starting at any of those layers, and gives a frozen :class:`Received` with
one attribute per layer reached.  Every failure is a :class:`FrameError` (a
:class:`~dlmsmesh.errors.DecodeError`): ``layer`` names the layer that
refused the frame, ``offset`` is a byte offset in the frame given to
:func:`receive` (whatever layer it failed in), and ``partial`` is the
:class:`Received` of the layers decoded before the failure.  A frame whose
authentication failed never gives plaintext: its error is a
:class:`FrameAuthenticationError` (also an
:class:`~dlmsmesh.errors.AuthenticationError`) whose ``partial`` holds the
security header only.

:func:`send` is the reverse: protect, wrapper, IPv6/UDP, IPHC, fragments.

Both build on the layer modules (:mod:`~dlmsmesh.lowpan`,
:mod:`~dlmsmesh.ipv6`, :mod:`~dlmsmesh.wrapper`, :mod:`~dlmsmesh.security`,
:mod:`~dlmsmesh.acse`, :mod:`~dlmsmesh.apdu`, :mod:`~dlmsmesh.axdr`); the
batch twin of :func:`receive` is :func:`dlmsmesh.pipeline.decode_batch`.
The JSON form of :class:`Received` (:meth:`Received.to_json`, what
``dlmsmesh decode`` prints) is documented in docs/json.md.
"""

from __future__ import annotations

import dataclasses
import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, NoReturn, Union

from . import acse as _acse
from . import apdu as _apdu
from . import axdr, ipv6, lowpan, types, wrapper
from .acse_pdu import ACSE_TAGS
from .errors import AuthenticationError, DecodeError, DlmsError, EncodeError, ReplayError, SecurityError
from .ipv6 import IPv6Header, UDPHeader
from .lowpan import LowpanFrame
from .lowpan.frame import is_frag1, is_fragn
from .lowpan.mesh import is_mesh, parse_mesh
from .security import (
    CIPHERED_TAGS,
    Envelope,
    FrameKind,
    Keyring,
    MemoryCounterStore,
    SecurityContext,
    SecurityInfo,
    SecurityPolicy,
)
from .security import parse as parse_ciphered
from .security.info import info_from_envelope
from .security.tags import GENERAL_DED_CIPHERING, GENERAL_GLO_CIPHERING, SERVICE_TAGS
from .wrapper import WrapperHeader

__all__ = [
    "LAYERS",
    "AUTO_ORDER",
    "Layer",
    "Keys",
    "Security",
    "Received",
    "FrameError",
    "FrameSecurityError",
    "FrameAuthenticationError",
    "FrameReplayError",
    "NoKeysError",
    "receive",
    "send",
]

#: the layers :func:`receive` starts at, bottom first (``auto`` guesses)
LAYERS = ("auto", "lowpan", "ipv6", "udp", "wrapper", "apdu", "data")
Layer = Literal["auto", "lowpan", "ipv6", "udp", "wrapper", "apdu", "data"]

#: the order ``auto`` tries the layers in (see :func:`receive`)
AUTO_ORDER = ("wrapper", "ipv6", "lowpan", "apdu", "data")

# Any bytes parse a little way as a 6LoWPAN header (inline addresses take
# whatever comes), so for auto an error above the transport layers is the
# more plausible one when neither attempt decoded a layer.
_TRANSPORT = frozenset(("lowpan", "ipv6", "udp", "wrapper"))

#: an ACSE APDU of :mod:`dlmsmesh.acse`
AcsePdu = _acse.AcsePdu

LinkLike = Union[bytes, bytearray, None]
Links = tuple[LinkLike, LinkLike]
ContextsLike = Union[lowpan.ContextTable, Mapping[int, Any], None]


# --------------------------------------------------------------------------
# errors
# --------------------------------------------------------------------------


class FrameError(DecodeError):
    """A frame that :func:`receive` could not take up the stack.

    ``layer`` is the layer that refused it, ``offset`` a byte offset in the
    frame given to :func:`receive` (for a datagram reassembled from
    fragments: in the reassembled datagram; for a failure inside a ciphered
    content that was itself inside a signed one: where the signed content
    starts), ``partial`` the layers decoded before the failure.
    """

    def __init__(self, message: str, *, layer: str, offset: int) -> None:
        super().__init__(message, layer=layer, offset=offset)
        # the partial Received is built on first use: auto makes and drops
        # several failed attempts per frame
        self._partial: Received | None = None
        self._start = "auto"
        self._parts: dict[str, Any] = {}

    @property
    def partial(self) -> Received:
        """The layers decoded before the failure."""
        if self._partial is None:
            self._partial = Received(layer=self._start, **self._parts)
        return self._partial

    @partial.setter
    def partial(self, value: Received) -> None:
        self._partial = value

    def _reached(self) -> int:
        parts = self._partial.__dict__ if self._partial is not None else self._parts
        return sum(1 for name in _LAYER_PARTS if parts.get(name) is not None) + (parts.get("top") is not None)

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (_rebuild, (type(self), self.reason, self.layer, self.offset, self.partial))


_LAYER_PARTS = ("lowpan", "ipv6", "udp", "wrapper", "security")


def _rebuild(cls: type[FrameError], reason: str, layer: str, offset: int, partial: Received) -> FrameError:
    exc = cls(reason, layer=layer, offset=offset)
    exc.partial = partial
    return exc


class FrameSecurityError(FrameError, SecurityError):
    """A ciphered APDU refused for its suite, keys, security control or policy
    (layer ``security``)."""


class FrameAuthenticationError(FrameSecurityError, AuthenticationError):
    """A ciphered APDU whose authentication tag or signature did not verify."""


class FrameReplayError(FrameSecurityError, ReplayError):
    """A ciphered APDU whose invocation counter does not move forward."""


class NoKeysError(FrameSecurityError):
    """A ciphered APDU and no keys or security context to open it with."""


def _frame_error(err: DlmsError, offset: int) -> FrameError:
    """``err`` as the FrameError of its class at ``offset`` of the frame."""
    if isinstance(err, FrameError):
        return err
    if isinstance(err, DecodeError):
        return FrameError(err.reason, layer=err.layer, offset=offset)
    cls: type[FrameError]
    if isinstance(err, AuthenticationError):
        cls = FrameAuthenticationError
    elif isinstance(err, ReplayError):
        cls = FrameReplayError
    else:
        cls = FrameSecurityError
    return cls(str(err), layer="security", offset=offset)


def _err_offset(err: DlmsError) -> int:
    # security errors that are not DecodeErrors carry an offset attribute too
    offset = getattr(err, "offset", 0)
    return offset if isinstance(offset, int) else 0


# --------------------------------------------------------------------------
# keys
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Keys:
    """Bare keys for reading captures: frames are verified and decrypted but
    invocation counters are neither checked nor recorded.

    ``system_title`` is the peer's title for frames that do not carry one.
    A receive-only :class:`~dlmsmesh.security.SecurityContext` is made per
    security suite and peer title on first use (and kept).
    """

    ek: bytes | None = None
    ak: bytes | None = None
    bk: bytes | None = None
    dk: bytes | None = None
    system_title: bytes | None = None
    _contexts: dict[tuple[int, bytes | None], SecurityContext] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __bool__(self) -> bool:
        return any(k is not None for k in (self.ek, self.ak, self.bk, self.dk))

    def context(self, suite: int, peer_title: bytes | None) -> SecurityContext:
        """The receive-only context for ``suite`` and the sender ``peer_title``."""
        ctx = self._contexts.get((suite, peer_title))
        if ctx is None:
            try:
                ctx = SecurityContext(
                    peer_system_title=peer_title, suite=suite, policy=SecurityPolicy.NONE,
                    counters=MemoryCounterStore(), ek=self.ek, ak=self.ak, bk=self.bk, dk=self.dk,
                )  # fmt: skip
            except EncodeError as err:
                raise DecodeError(
                    f"the keys given do not fit suite {suite}: {err}", layer="security", offset=0
                ) from None
            self._contexts[(suite, peer_title)] = ctx
        return ctx


#: what :func:`receive` opens ciphered APDUs with
Security = Union[SecurityContext, Keyring, Keys, None]


# --------------------------------------------------------------------------
# the result
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Received:
    """One frame, decoded as far up the stack as it goes.

    ``layer`` is the layer decoding started at (what ``auto`` chose).  Each
    other attribute is None when the frame did not reach (or carry) that
    layer: ``lowpan`` (the 6LoWPAN dispatch walk), ``ipv6``, ``udp`` (with
    ``checksum_ok``: None when no IPv6 addresses were known), ``wrapper``,
    ``security`` (the header of the innermost ciphered APDU opened or
    refused), then exactly one of ``acse``, ``apdu`` and ``data`` for a frame
    that decoded whole: ``top`` names which (``data`` is a Python value, and
    None for null-data).  ``pending`` is True for a fragment that did not
    complete its datagram (nothing above ``lowpan`` then).  ``plaintext`` is
    the APDU (or ACSE APDU) bytes as decoded: after deciphering, the bytes
    the ciphered APDU carried.
    """

    layer: str
    lowpan: LowpanFrame | None = None
    pending: bool = False
    ipv6: IPv6Header | None = None
    udp: UDPHeader | None = None
    checksum_ok: bool | None = None
    wrapper: WrapperHeader | None = None
    security: SecurityInfo | None = None
    acse: AcsePdu | None = None
    apdu: _apdu.Apdu | None = None
    data: Any = None
    plaintext: bytes | None = None
    top: Literal["acse", "apdu", "data"] | None = None

    @property
    def layers(self) -> tuple[str, ...]:
        """The names of the layers reached, bottom first."""
        reached = tuple(n for n in _LAYER_PARTS if getattr(self, n) is not None)
        return reached if self.top is None else (*reached, self.top)

    def to_json(self) -> dict[str, Any]:
        """The JSON object ``dlmsmesh decode`` prints for the frame (docs/json.md):
        one key per layer reached, bottom first."""
        out: dict[str, Any] = {}
        if self.lowpan is not None:
            out["lowpan"] = self.lowpan.to_json()
        if self.pending:
            out["pending"] = True
        if self.ipv6 is not None:
            out["ipv6"] = self.ipv6.to_json()
        if self.udp is not None:
            out["udp"] = self.udp.to_json(self.checksum_ok)
        if self.wrapper is not None:
            out["wrapper"] = self.wrapper.to_json()
        if self.security is not None:
            out["security"] = self.security.to_json()
        if self.acse is not None:
            out["acse"] = _acse.to_json(self.acse)
        if self.apdu is not None:
            out["apdu"] = _apdu.to_json(self.apdu)
        if self.top == "data":
            out["data"] = types.to_json(self.data)
        return out


# --------------------------------------------------------------------------
# receive
# --------------------------------------------------------------------------

Where = Callable[[int], int]


def _same(offset: int) -> int:
    return offset


_TITLED_TAGS = (GENERAL_GLO_CIPHERING, GENERAL_DED_CIPHERING)
_RECEIVED_DEFAULTS = {f.name: f.default for f in dataclasses.fields(Received) if f.name != "layer"}


class _Walk:
    """One receive: the options, and the layers reached so far."""

    def __init__(
        self,
        security: Security,
        links: Links | None,
        contexts: lowpan.ContextTable | None,
        reassembler: lowpan.Reassembler | None,
        replay_check: bool,
    ) -> None:
        self.security = security
        self.links = links
        self.contexts = contexts
        self.reassembler = reassembler
        self.replay_check = replay_check
        self.parts: dict[str, Any] = {}

    # -- the transport layers ------------------------------------------------

    def lowpan(self, frame: bytes) -> None:
        ll_src, ll_dst = self.links if self.links is not None else (None, None)
        try:
            lf = lowpan.decode_frame(
                frame, ll_src=ll_src, ll_dst=ll_dst, contexts=self.contexts, reassembler=self.reassembler
            )
        except DecodeError as e:
            raise _frame_error(e, e.offset) from None
        self.parts["lowpan"] = lf
        if lf.datagram is None:
            self.parts["pending"] = True
            return
        self.ipv6(lf.datagram, lf.frame_offset)

    def ipv6(self, datagram: bytes, where: Where = _same) -> None:
        try:
            dg = ipv6.parse(datagram)
        except DecodeError as e:
            if e.layer == "udp":  # the IPv6 header itself was fine
                self.parts["ipv6"] = IPv6Header.unpack(datagram)
            raise _frame_error(e, where(e.offset)) from None
        self.parts["ipv6"] = dg.ipv6
        if dg.udp is not None:
            self.parts["udp"] = dg.udp
            self.parts["checksum_ok"] = dg.checksum_ok
            at = dg.payload_offset
            self.wrapper(dg.payload, lambda off: where(at + off))

    def udp(self, segment: bytes) -> None:
        try:
            head, payload, ok = ipv6.parse_udp(segment)
        except DecodeError as e:
            raise _frame_error(e, e.offset) from None
        self.parts["udp"] = head
        self.parts["checksum_ok"] = ok
        self.wrapper(payload, lambda off: ipv6.UDP_HEADER_LENGTH + off)

    def wrapper(self, payload: bytes, where: Where = _same) -> None:
        try:
            header, body = wrapper.decode(payload)
        except DecodeError as e:
            raise _frame_error(e, where(e.offset)) from None
        self.parts["wrapper"] = header
        self.apdu(body, lambda off: where(wrapper.HEADER_LENGTH + off))

    # -- the application layers ----------------------------------------------

    def apdu(self, frame: bytes, where: Where = _same) -> None:
        """An ACSE APDU (BER), a ciphered APDU (then what it carries) or an
        xDLMS APDU (A-XDR), told apart by the first octet."""
        if frame and frame[0] in ACSE_TAGS:
            try:
                pdu = _acse.decode(frame)
            except DecodeError as e:
                raise _frame_error(e, where(e.offset)) from None
            self.parts["acse"] = self._open_user_information(frame, pdu, where)
            self.parts["plaintext"] = frame
            self.parts["top"] = "acse"
        elif frame and frame[0] in CIPHERED_TAGS:
            self._ciphered(frame, where)
        else:
            try:
                self.parts["apdu"] = _apdu.decode(frame)
            except DecodeError as e:
                raise _frame_error(e, where(e.offset)) from None
            self.parts["plaintext"] = frame
            self.parts["top"] = "apdu"

    def data(self, frame: bytes) -> None:
        try:
            self.parts["data"] = axdr.decode(frame)
        except DecodeError as e:
            raise _frame_error(e, e.offset) from None
        self.parts["top"] = "data"

    # -- security --------------------------------------------------------------

    def _peer_title(self) -> bytes | None:
        sec = self.security
        if isinstance(sec, Keys):
            return sec.system_title
        if isinstance(sec, SecurityContext):
            return sec.peer_system_title
        return None

    def _has_keys(self) -> bool:
        sec = self.security
        return bool(sec) if isinstance(sec, Keys) else sec is not None

    def _open(self, frame: bytes, env: Envelope, peer_title: bytes | None, where: Where) -> bytes:
        """Verify and decrypt one ciphered APDU; the plaintext."""
        self.parts["security"] = info_from_envelope(frame, env, peer_title)
        sec = self.security
        if sec is None or not self._has_keys():
            raise NoKeysError("ciphered APDU: no keys to verify and decrypt it", layer="security", offset=where(0))
        try:
            if isinstance(sec, Keys):
                suite = env.sc & 0x0F if env.kind is not FrameKind.GENERAL_SIGNING else 1
                if suite > 2:
                    raise FrameSecurityError(
                        f"unknown security suite {suite}", layer="security", offset=where(env.content)
                    )
                opened = sec.context(suite, peer_title).unprotect(frame, replay_check=False)
            else:
                opened = sec.unprotect(frame, replay_check=self.replay_check)
        except FrameError:
            raise
        except DlmsError as err:
            raise _frame_error(err, where(_err_offset(err))) from None
        self.parts["security"] = opened.info
        return opened.plaintext

    def _ciphered(self, frame: bytes, where: Where) -> None:
        sec = self.security
        if type(sec) is SecurityContext:
            at = _service_plain_at(frame)
            if at:
                # the common frames of an association (service-specific and
                # general-glo/ded, short lengths): the context opens them
                # straight away; a frame it refuses is described below as
                # any refused frame is, from its parsed header
                try:
                    opened = sec.unprotect(frame, replay_check=self.replay_check)
                except DlmsError as err:
                    self._refused(frame, err, where)
                self.parts["security"] = opened.info
                self.apdu(opened.plaintext, lambda off: where(at + off))
                return
        try:
            env = parse_ciphered(frame)
        except DecodeError as e:
            raise _frame_error(e, where(e.offset)) from None
        plaintext = self._open(frame, env, self._peer_title(), where)
        inner: Where
        if env.kind is FrameKind.GENERAL_SIGNING and env.content_len and frame[env.content] in CIPHERED_TAGS:
            # deciphered inside a signed APDU: no byte of the frame to point at
            content = env.content
            inner = lambda off: where(content)  # noqa: E731
        else:
            at = _plain_at(env)
            inner = lambda off: where(at + off)  # noqa: E731
        self.apdu(plaintext, inner)

    def _refused(self, frame: bytes, err: DlmsError, where: Where) -> NoReturn:
        """Raise for a frame the context refused, as :meth:`_open` does."""
        try:
            env = parse_ciphered(frame)
        except DecodeError as e:
            raise _frame_error(e, where(e.offset)) from None
        self.parts["security"] = info_from_envelope(frame, env, self._peer_title())
        if isinstance(err, FrameError):
            raise err
        raise _frame_error(err, where(_err_offset(err))) from None

    def _open_user_information(self, frame: bytes, pdu: AcsePdu, where: Where) -> AcsePdu:
        """An AARQ/AARE/RLRQ/RLRE whose user-information is a ciphered Initiate
        PDU: with keys, the PDU with it deciphered; without, the PDU as it is
        (its security header still goes to ``security``)."""
        ui = getattr(pdu, "user_information", None)
        if not isinstance(ui, _acse.CipheredUserInformation):
            return pdu
        raw = ui.to_bytes()
        at = max(frame.rfind(raw), 0)
        try:
            env = parse_ciphered(raw)
        except DecodeError as e:
            raise _frame_error(e, where(at + e.offset)) from None
        # the sender's title travels in the ACSE header
        configured = self._peer_title()
        title = getattr(pdu, "calling_ap_title", None) or getattr(pdu, "responding_ap_title", None) or configured
        if title is not None and len(title) != 8:
            title = configured
        if not self._has_keys():
            self.parts["security"] = info_from_envelope(raw, env, title)
            return pdu
        plaintext = self._open(raw, env, title, lambda off: where(at + off))
        try:
            decoded = _acse.decode_user_information(plaintext)
        except DecodeError as e:
            raise _frame_error(e, where(at + _plain_at(env) + e.offset)) from None
        return dataclasses.replace(pdu, user_information=decoded)  # type: ignore[type-var]

    def result(self, layer: str) -> Received:
        # built without the frozen dataclass's field-by-field __init__ (one
        # per request a server takes): the same object, every field set
        received = object.__new__(Received)
        received.__dict__.update(_RECEIVED_DEFAULTS, layer=layer, **self.parts)
        return received


def opens_at_once(frame: bytes) -> bool:
    """Whether ``frame`` is a ciphered APDU a
    :class:`~dlmsmesh.security.SecurityContext` opens on its own, as
    :func:`receive` would (a service-specific or general-glo/ded frame with
    well-formed short lengths): then ``context.unprotect(frame)`` followed by
    :func:`receive` of its plaintext gives what :func:`receive` of the frame
    gives."""
    return _service_plain_at(frame) != 0


def _service_plain_at(frame: bytes) -> int:
    """Where plaintext byte 0 sits in a service-specific or general-glo/ded
    ciphered APDU whose length fields are well formed and fit it; 0 for any
    other frame (which takes the full parse)."""
    n = len(frame)
    if n < 7:
        return 0
    tag = frame[0]
    if tag in _TITLED_TAGS:
        if n < 16 or frame[1] != 8:
            return 0
        p = 10
    elif tag in SERVICE_TAGS:
        p = 1
    else:
        return 0
    first = frame[p]
    if first < 0x80:
        length, p = first, p + 1
    elif first == 0x81 and n > p + 1:
        length, p = frame[p + 1], p + 2
    elif first == 0x82 and n > p + 2:
        length, p = frame[p + 1] << 8 | frame[p + 2], p + 3
    else:
        return 0
    return p + 5 if p + length == n and length >= 5 else 0


def _plain_at(env: Envelope) -> int:
    """Where plaintext byte 0 sits in the ciphered APDU (GCM is a stream
    cipher: byte i of the plaintext is byte i of the ciphertext, after the
    security control and invocation counter; general-signing: the content)."""
    return env.content + (0 if env.kind is FrameKind.GENERAL_SIGNING else 5)


def _looks_like_wrapper(frame: bytes) -> bool:
    n = len(frame)
    return n >= 8 and frame[0] == 0 and frame[1] == 1 and (frame[6] << 8 | frame[7]) == n - 8


def _looks_like_ipv6(frame: bytes) -> bool:
    n = len(frame)
    return n >= 40 and frame[0] >> 4 == 6 and (frame[4] << 8 | frame[5]) == n - 40


def _fragment_key(frame: bytes, links: Links | None) -> tuple[bytes, bytes, int, int] | None:
    """The reassembly key of a fragment, or None when the frame is not one."""
    src = bytes((links[0] if links is not None else None) or b"")
    dst = bytes((links[1] if links is not None else None) or b"")
    p = 0
    try:
        if is_mesh(frame[0]):
            mesh, p = parse_mesh(frame, 0)
            src, dst = mesh.originator, mesh.final_destination
    except DecodeError:
        return None
    if p < len(frame) and frame[p] == 0x50:
        p += 2
    if len(frame) - p < 4 or not (is_frag1(frame[p]) or is_fragn(frame[p])):
        return None
    return src, dst, (frame[p] & 7) << 8 | frame[p + 1], frame[p + 2] << 8 | frame[p + 3]


def _plausibility(err: FrameError, order: int) -> tuple[int, int, int, int, int]:
    """How plausible a failed attempt is (higher is more): the layers it
    decoded; whether it got past the first octet; whether it failed above
    the transport layers; how far into the frame; then the earlier attempt."""
    reached = err._reached()
    past_first = 1 if reached or err.offset > 0 else 0
    return reached, past_first, 0 if err.layer in _TRANSPORT else 1, err.offset, -order


def _walk_one(layer: str, frame: bytes, walk: _Walk) -> Received:
    try:
        if layer == "lowpan":
            walk.lowpan(frame)
        elif layer == "ipv6":
            walk.ipv6(frame)
        elif layer == "udp":
            walk.udp(frame)
        elif layer == "wrapper":
            walk.wrapper(frame)
        elif layer == "apdu":
            walk.apdu(frame)
        else:
            walk.data(frame)
    except FrameError as err:
        err._start, err._parts, err._partial = layer, walk.parts, None
        raise
    return walk.result(layer)


def receive(
    frame: bytes | bytearray | memoryview,
    layer: Layer = "auto",
    *,
    security: Security = None,
    links: Links | None = None,
    contexts: ContextsLike = None,
    reassembler: lowpan.Reassembler | None = None,
    replay_check: bool = True,
) -> Received:
    """Decode one frame from ``layer`` up; see :class:`Received`.

    ``security`` opens ciphered APDUs: a
    :class:`~dlmsmesh.security.SecurityContext` or
    :class:`~dlmsmesh.security.Keyring` (counters checked and recorded
    unless ``replay_check`` is False), or :class:`Keys` (captures: counters
    ignored).  ``links`` is the (source, destination) link-layer address
    pair the 6LoWPAN frame came with (2 or 8 bytes each; a mesh header
    overrides it): IPHC takes elided interface identifiers from it.
    ``contexts`` is the IPHC context table, ``reassembler`` the
    :class:`~dlmsmesh.lowpan.Reassembler` fragments go to (without one a
    fragment never completes).

    ``layer="auto"`` tries, in the order of :data:`AUTO_ORDER`: ``wrapper``
    (only when the frame starts 00 01 and its length field matches),
    ``ipv6`` (version 6 and a matching payload length), ``lowpan`` (a
    6LoWPAN dispatch octet; a fragment of a datagram not yet under way is
    tried last, as feeding it changes the reassembler), ``apdu`` (ACSE,
    ciphered or xDLMS), ``data`` (a bare A-XDR value).  The first that
    decodes the whole frame wins.  When none does, the error raised is the
    most plausible one: of the attempt that decoded the most layers, then
    that got past the first octet, then that failed above the transport
    layers (in security, acse, apdu or data rather than lowpan, ipv6, udp or
    wrapper), then that got furthest into the frame, then the earliest
    tried.  A fragment that went
    into the reassembler is reported as it is (its error, or pending).

    Raises :class:`FrameError` (with ``partial``), or one of its security
    subclasses, for any frame that does not decode; ValueError for bad
    arguments.
    """
    data = bytes(frame)
    if layer not in LAYERS:
        raise ValueError(f"layer must be one of {', '.join(LAYERS)}; got {layer!r}")
    table = None if contexts is None else lowpan.ContextTable.of(contexts)

    def walk() -> _Walk:
        return _Walk(security, links, table, reassembler, replay_check)

    if layer != "auto":
        return _walk_one(layer, data, walk())

    candidates: list[str] = []
    if _looks_like_wrapper(data):
        candidates.append("wrapper")
    if _looks_like_ipv6(data):
        candidates.append("ipv6")
    lowpan_last = False
    if data and lowpan.is_lowpan_dispatch(data[0]):
        key = _fragment_key(data, links)
        lowpan_last = key is not None and (reassembler is None or not reassembler.has_partial(*key))
        if not lowpan_last:
            candidates.append("lowpan")
    candidates += ["apdu", "data"]
    if lowpan_last:
        candidates.append("lowpan")
    best: tuple[tuple[int, int, int, int, int], FrameError] | None = None
    for order, name in enumerate(candidates):
        try:
            return _walk_one(name, data, walk())
        except FrameError as err:
            frag = err._parts.get("lowpan")
            if name == "lowpan" and frag is not None and frag.fragment is not None:
                raise  # the fragment is in the reassembler now
            score = _plausibility(err, order)
            if best is None or score > best[0]:
                best = (score, err)
    assert best is not None
    raise best[1]


# --------------------------------------------------------------------------
# send
# --------------------------------------------------------------------------

Sendable = Union[bytes, bytearray, memoryview, _apdu.Apdu, AcsePdu]


def _encode_pdu(pdu: Sendable) -> bytes:
    if isinstance(pdu, (bytes, bytearray, memoryview)):
        return bytes(pdu)
    if isinstance(pdu, _apdu.Apdu):
        return _apdu.encode(pdu)
    if isinstance(pdu, _acse.AcsePdu):
        return _acse.encode(pdu)
    raise TypeError(f"send takes APDU bytes, an apdu.Apdu or an acse PDU, not {type(pdu).__name__}")


def send(
    pdu: Sendable,
    *,
    security: SecurityContext | None = None,
    general: bool = False,
    dedicated: bool = False,
    broadcast: bool = False,
    wports: tuple[int, int] | None = None,
    source: str | ipaddress.IPv6Address | None = None,
    destination: str | ipaddress.IPv6Address | None = None,
    source_port: int = ipv6.DLMS_PORT,
    destination_port: int = ipv6.DLMS_PORT,
    hop_limit: int = 64,
    links: Links | None = None,
    contexts: ContextsLike = None,
    elide_checksum: bool = False,
    mtu: int | None = None,
    tag: int = 0,
) -> bytes | list[bytes]:
    """Take one APDU down the stack: the reverse of :func:`receive`.

    ``pdu`` is an :class:`~dlmsmesh.apdu.Apdu`, an ACSE PDU or APDU bytes.
    With ``security`` it is protected first
    (:meth:`~dlmsmesh.security.SecurityContext.protect` with ``general``,
    ``dedicated``, ``broadcast``); with ``wports`` = (source wPort,
    destination wPort) it goes into a wrapper PDU; with ``source`` and
    ``destination`` (IPv6 addresses, needs ``wports``) into an IPv6/UDP
    datagram; with ``links`` (the link-layer source and destination) that
    datagram is IPHC-compressed against them (and ``contexts``).  With
    ``mtu`` (needs ``links``) the result is the list of 6LoWPAN frames, one
    when the datagram fits, else FRAG1 + FRAGN with datagram ``tag``.

    Returns the bytes of the lowest layer asked for (a list with ``mtu``).
    Raises EncodeError (a ValueError) for a PDU or arguments that cannot be
    sent as asked.
    """
    out = _encode_pdu(pdu)
    if security is not None:
        if out[:1] and out[0] in ACSE_TAGS:
            raise EncodeError("an ACSE APDU is not protected whole: cipher its user-information instead")
        out = security.protect(out, general=general, dedicated=dedicated, broadcast=broadcast)
    if wports is None:
        if source is not None or destination is not None or links is not None or mtu is not None:
            raise EncodeError("IPv6/UDP and 6LoWPAN need wports=(source wPort, destination wPort)")
        return out
    out = wrapper.encode(wports[0], wports[1], out)
    if source is None or destination is None:
        if links is not None or mtu is not None:
            raise EncodeError("6LoWPAN needs the IPv6 source and destination")
        if (source is None) != (destination is None):
            raise EncodeError("give both the IPv6 source and destination, or neither")
        return out
    out = ipv6.build(
        source, destination, out, source_port=source_port, destination_port=destination_port, hop_limit=hop_limit
    )
    if links is None:
        if mtu is not None:
            raise EncodeError("fragments need links=(link-layer source, destination)")
        return out
    ll_src, ll_dst = links
    if mtu is not None:
        return lowpan.fragment(
            out, mtu=mtu, tag=tag, ll_src=ll_src, ll_dst=ll_dst, contexts=contexts, elide_checksum=elide_checksum
        )
    return lowpan.compress_datagram(out, ll_src=ll_src, ll_dst=ll_dst, contexts=contexts, elide_checksum=elide_checksum)
