"""Shared by the pipeline tests: key material, frames at every layer, the
single-frame reference decoder (the public layer APIs one frame at a time:
lowpan.decode_frame, ipv6, wrapper.decode, SecurityContext/Keyring.unprotect,
apdu/acse.decode) and the per-frame summaries compared with a batch result."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from dlmsmesh import _status as S
from dlmsmesh import acse, apdu, ipv6, lowpan, wrapper
from dlmsmesh.errors import DecodeError, DlmsError, ReplayError, SecurityError
from dlmsmesh.lowpan.mesh import is_mesh, parse_mesh
from dlmsmesh.security import Keyring, MemoryCounterStore, SecurityContext
from dlmsmesh.security.tags import CIPHERED_TAGS, FrameKind

HEAD_END = bytes.fromhex("4D4D4D0000000001")
HEAD_END_IP = "2001:db8:ffff::10"
PAN = "2001:db8:1::/64"
CONTEXTS = {0: PAN}
HEAD_END_MAC = bytes.fromhex("0001")
AK = bytes(range(0xD0, 0xE0))
KEK = bytes(range(0x40, 0x50))


def meter_title(m: int) -> bytes:
    return b"MMM" + (0x00BC0000 + m).to_bytes(5, "big")


def meter_keys(m: int) -> tuple[bytes, bytes]:
    """(EK, BK) of meter m."""
    return bytes((m + k * 7) & 0xFF for k in range(16)), bytes((0xA0 + m + k) & 0xFF for k in range(16))


def meter_mac(m: int) -> bytes:
    return bytes.fromhex("00124b00") + m.to_bytes(4, "big")


def meter_ip(m: int) -> str:
    mac = meter_mac(m)
    iid = bytes((mac[0] ^ 2,)) + mac[1:]
    return str(ipv6.address(bytes.fromhex("20010db800010000") + iid))


def meter_context(m: int, first_counter: int = 1) -> SecurityContext:
    """Meter m's sending side (server role: its pushes and responses)."""
    ek, bk = meter_keys(m)
    return SecurityContext(
        meter_title(m), peer_system_title=HEAD_END, ek=ek, ak=AK, bk=bk, kek=KEK, role="server",
        counters=MemoryCounterStore(first_counter=first_counter),
    )  # fmt: skip


def head_end_context(m: int, *, window: int = 0, any_title: bool = False, store: Any = None) -> SecurityContext:
    """The head-end's receiving context for meter m."""
    ek, bk = meter_keys(m)
    return SecurityContext(
        HEAD_END, peer_system_title=None if any_title else meter_title(m), ek=ek, ak=AK, bk=bk, kek=KEK,
        counters=store if store is not None else MemoryCounterStore(), replay_window=window,
    )  # fmt: skip


def keyring(meters: int, **kw: Any) -> Keyring:
    return Keyring(head_end_context(m, **kw) for m in range(meters))


# --------------------------------------------------------------------------
# frames at every layer
# --------------------------------------------------------------------------


def wpdu(apdu_bytes: bytes, m: int = 0) -> bytes:
    return wrapper.encode(1, 0x66, apdu_bytes)


def lift(wp: bytes, layer: str, m: int, rng: random.Random | None = None) -> tuple[bytes, tuple[bytes, bytes]]:
    """The WPDU of meter m as a frame of ``layer``, and its link-layer pair."""
    ll = (meter_mac(m), HEAD_END_MAC)
    if layer == "wrapper":
        return wp, ll
    datagram = ipv6.build(meter_ip(m), HEAD_END_IP, wp, source_port=4059, destination_port=0xF0B0 if m % 2 else 4059)
    if layer == "udp":
        return datagram[40:], ll
    if layer == "ipv6":
        return datagram, ll
    r = rng.random() if rng is not None else 0.5
    if r < 0.15:
        return b"\x41" + datagram, ll  # uncompressed IPv6 dispatch
    frame = lowpan.compress_datagram(datagram, ll_src=ll[0], ll_dst=ll[1], contexts=CONTEXTS)
    if r < 0.3:
        return b"\x50\x07" + frame, ll  # BC0
    if r < 0.45:
        # mesh header: originator and final destination stand in for the MAC pair
        return bytes((0x80 | 0x10 | 5,)) + ll[0] + ll[1] + frame, (bytes.fromhex("7777"), bytes.fromhex("8888"))
    return frame, ll


# --------------------------------------------------------------------------
# the single-frame reference
# --------------------------------------------------------------------------


@dataclass
class Ref:
    """What the single-frame path makes of one frame."""

    error: tuple[str, str, int | None, str] | None
    apdu: Any = None
    plaintext: bytes | None = None


def error_tuple(err: DlmsError) -> tuple[str, str, int | None, str]:
    if isinstance(err, DecodeError):
        return ("DecodeError", err.layer, err.offset, err.reason)
    if isinstance(err, ReplayError):
        return ("ReplayError", "security", None, str(err))
    return (type(err).__name__, "security", getattr(err, "offset", None), str(err))


def _pipe(cls: str, layer: str, offset: int, code: int) -> Ref:
    return Ref((cls, layer, offset, S.MESSAGES[code]))


def _dispatch_offset(frame: bytes) -> int:
    p = 0
    if frame and is_mesh(frame[0]):
        _, p = parse_mesh(frame, 0)
    if p < len(frame) and frame[p] == 0x50:
        p += 2
    return p


def reference(
    frame: bytes,
    *,
    layer: str,
    security: SecurityContext | Keyring | None,
    replay: bool = True,
    allow_plain: bool = False,
    verify_checksum: bool = True,
    ll: tuple[bytes, bytes] | None = None,
    contexts: Any = None,
) -> Ref:
    """Decode one frame with the public single-frame APIs and the pipeline's
    documented rules (fragments, non-UDP next headers, bad checksums and
    unciphered APDUs under a security source are errors)."""
    base = bytes(frame)
    hl = un = 0

    def where(d: int) -> int:
        return d if d < un else d - un + hl

    if layer == "lowpan":
        try:
            p = _dispatch_offset(base)
            if p < len(base) and base[p] & 0xF8 in (0xC0, 0xE0):
                return _pipe("DecodeError", "lowpan", p, S.PIPE_FRAGMENT)
            lf = lowpan.decode_frame(
                base, ll_src=ll[0] if ll else None, ll_dst=ll[1] if ll else None, contexts=contexts
            )
        except DecodeError as e:
            return Ref(error_tuple(e))
        assert lf.datagram is not None
        hl = lf.header_length
        un = 0 if base[p] == 0x41 else (48 if base[p] & 0x04 else 40)
        base = lf.datagram
    if layer in ("lowpan", "ipv6"):
        try:
            head = ipv6.IPv6Header.unpack(base)
        except DecodeError as e:
            return Ref(("DecodeError", e.layer, where(e.offset), e.reason))
        if head.payload_length != len(base) - 40:
            return _pipe("DecodeError", "ipv6", where(4), S.IPV6_LENGTH)
        if head.next_header != 17:
            return _pipe("DecodeError", "ipv6", where(6), S.PIPE_NOT_UDP)
        try:
            _, _, ok = ipv6.parse_udp(base[40:], source=head.source, destination=head.destination, base=40)
        except DecodeError as e:
            return Ref(("DecodeError", e.layer, where(e.offset), e.reason))
        if not ok and verify_checksum:
            return _pipe("DecodeError", "udp", where(46), S.PIPE_CHECKSUM)
        w = 48
    elif layer == "udp":
        try:
            ipv6.parse_udp(base)
        except DecodeError as e:
            return Ref(("DecodeError", e.layer, e.offset, e.reason))
        w = 8
    else:
        w = 0
    if layer != "apdu":
        try:
            wrapper.decode(base[w:])
        except DecodeError as e:
            return Ref(("DecodeError", e.layer, where(w + e.offset), e.reason))
        a = w + 8
    else:
        a = 0
    data = base[a:]
    if data and data[0] in CIPHERED_TAGS:
        if security is None:
            return _pipe("SecurityError", "security", where(a), S.PIPE_NO_KEYS)
        try:
            opened = security.unprotect(data, replay_check=replay)
        except ReplayError as e:
            return Ref(error_tuple(e))
        except DecodeError as e:
            return Ref(("DecodeError", e.layer, where(a + e.offset), e.reason))
        except SecurityError as e:
            return Ref((type(e).__name__, "security", where(a + getattr(e, "offset", 0)), str(e)))
        plaintext = opened.plaintext
        env = _secure().parse(data)
        at = a + env.content + (0 if env.kind is FrameKind.GENERAL_SIGNING else 5)
    else:
        if security is not None and not allow_plain:
            return _pipe("SecurityError", "security", where(a), S.PIPE_PLAIN)
        plaintext = data
        at = a
    try:
        obj = (
            acse.decode(plaintext) if plaintext and plaintext[0] in (0x60, 0x61, 0x62, 0x63) else apdu.decode(plaintext)
        )
    except DecodeError as e:
        return Ref(("DecodeError", e.layer, where(at + e.offset), e.reason), plaintext=None)
    return Ref(None, obj, plaintext)


def _secure() -> Any:
    from dlmsmesh import _backend

    return _backend.live.secure


def summary(result: Any, i: int) -> Ref:
    """The batch result of frame i in the reference's terms."""
    err = result.error(i)
    if err is not None:
        return Ref(error_tuple(err))
    return Ref(None, result.apdu(i), result.plaintext(i))


def same(a: Ref, b: Ref) -> bool:
    """Equal outcomes: errors equal, or equal APDUs of the same class."""
    if a.error != b.error:
        return False
    if a.error is not None:
        return True
    return type(a.apdu) is type(b.apdu) and a.apdu == b.apdu and a.plaintext == b.plaintext
