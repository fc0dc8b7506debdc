"""The transport layers of ``dlmsmesh decode``: ``lowpan``, ``ipv6``, ``udp``
and ``wrapper``, each continuing up the stack, and the ``auto`` detection of
a bare wrapper, an IPv6 datagram or a 6LoWPAN frame.

:func:`transport_decoders` is given the command line's decoder table and
returns the new entries; the layer above the wrapper is looked up in that
table on every frame (``security`` when registered, else ``apdu``), so this
module knows only its own layers.  Per-run state (the IPHC context table and
the 6LoWPAN reassembler) lives in ``DecodeOptions.transport``.

Error offsets are byte offsets in the input line's frame: for an unfragmented
6LoWPAN frame the offset of a bad byte of its payload is mapped back into the
compressed frame; for a datagram reassembled from fragments it is the offset
in the reassembled (uncompressed) datagram.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from . import _status as S
from . import ipv6, lowpan, wrapper
from .errors import DecodeError
from .lowpan.frame import is_frag1, is_fragn
from .lowpan.mesh import is_mesh, parse_mesh

__all__ = ["TransportState", "transport_decoders"]

Decoder = Callable[[bytes, Any, "dict[str, Any]"], None]
Where = Callable[[int], int]


@dataclass
class TransportState:
    """What a decode run remembers between frames."""

    contexts: lowpan.ContextTable
    reassembler: lowpan.Reassembler


def state(opts: Any) -> TransportState:
    st: TransportState | None = opts.transport
    if st is None:
        st = TransportState(lowpan.ContextTable(opts.contexts), lowpan.Reassembler())
        opts.transport = st
    return st


def _same(offset: int) -> int:
    return offset


def _moved(error: DecodeError, offset: int) -> DecodeError:
    if type(error) is DecodeError:
        return DecodeError(error.reason, layer=error.layer, offset=offset)
    error.offset = offset
    return error


def transport_decoders(decoders: MutableMapping[str, Decoder]) -> dict[str, Decoder]:
    """The ``lowpan``, ``ipv6``, ``udp``, ``wrapper`` and ``auto`` decoders;
    ``decoders`` is the table they are added to (its ``auto`` entry at call
    time is the fallback of the new ``auto``)."""
    fallback = decoders["auto"]

    def above_wrapper(apdu: bytes, opts: Any, out: dict[str, Any], where: Where) -> None:
        decode = decoders.get("security") or decoders["apdu"]
        try:
            decode(apdu, opts, out)
        except DecodeError as e:
            raise _moved(e, where(wrapper.HEADER_LENGTH + e.offset)) from None

    def from_wrapper(payload: bytes, opts: Any, out: dict[str, Any], where: Where = _same) -> None:
        try:
            header, apdu = wrapper.decode(payload)
        except DecodeError as e:
            raise _moved(e, where(e.offset)) from None
        out["wrapper"] = header.to_json()
        above_wrapper(apdu, opts, out, where)

    def from_udp(segment: bytes, opts: Any, out: dict[str, Any], where: Where, head: ipv6.IPv6Header | None) -> None:
        src = head.source if head is not None else None
        dst = head.destination if head is not None else None
        try:
            udp, payload, ok = ipv6.parse_udp(segment, source=src, destination=dst)
        except DecodeError as e:
            raise _moved(e, where(e.offset)) from None
        out["udp"] = udp.to_json(ok)
        from_wrapper(payload, opts, out, lambda off: where(ipv6.UDP_HEADER_LENGTH + off))

    def from_ipv6(datagram: bytes, opts: Any, out: dict[str, Any], where: Where = _same) -> None:
        try:
            head = ipv6.IPv6Header.unpack(datagram)
            if head.payload_length != len(datagram) - ipv6.IPV6_HEADER_LENGTH:
                raise S.decode_error(S.IPV6_LENGTH, 4, "ipv6")
        except DecodeError as e:
            raise _moved(e, where(e.offset)) from None
        out["ipv6"] = head.to_json()
        if head.next_header == ipv6.NEXT_HEADER_UDP:
            body = datagram[ipv6.IPV6_HEADER_LENGTH :]
            from_udp(body, opts, out, lambda off: where(ipv6.IPV6_HEADER_LENGTH + off), head)

    def decode_lowpan(frame: bytes, opts: Any, out: dict[str, Any]) -> None:
        st = state(opts)
        lf = lowpan.decode_frame(
            frame, ll_src=opts.ll_src, ll_dst=opts.ll_dst, contexts=st.contexts, reassembler=st.reassembler
        )
        out["lowpan"] = lf.to_json()
        if lf.datagram is None:
            out["pending"] = True
            return
        from_ipv6(lf.datagram, opts, out, lf.frame_offset)

    def decode_ipv6(frame: bytes, opts: Any, out: dict[str, Any]) -> None:
        from_ipv6(frame, opts, out)

    def decode_udp(frame: bytes, opts: Any, out: dict[str, Any]) -> None:
        from_udp(frame, opts, out, _same, None)

    def decode_wrapper(frame: bytes, opts: Any, out: dict[str, Any]) -> None:
        from_wrapper(frame, opts, out)

    def decode_auto(frame: bytes, opts: Any, out: dict[str, Any]) -> None:
        # Candidates in order; the first that decodes the whole frame wins.
        # A fragment is tried only after the APDU/Data fallback unless its
        # datagram is already being reassembled, because feeding it changes
        # the reassembler (it then counts as decoded, even when pending).
        candidates: list[Decoder] = []
        if _looks_like_wrapper(frame):
            candidates.append(decode_wrapper)
        if _looks_like_ipv6(frame):
            candidates.append(decode_ipv6)
        lowpan_last = False
        if frame and lowpan.is_lowpan_dispatch(frame[0]):
            key = _fragment_key(frame, opts)
            lowpan_last = key is not None and not state(opts).reassembler.has_partial(*key)
            if not lowpan_last:
                candidates.append(decode_lowpan)
        candidates.append(fallback)
        if lowpan_last:
            candidates.append(decode_lowpan)
        best: tuple[int, DecodeError, dict[str, Any]] | None = None
        for decode in candidates:
            attempt: dict[str, Any] = {}
            try:
                decode(frame, opts, attempt)
            except DecodeError as e:
                if decode is decode_lowpan and "fragment" in attempt.get("lowpan", {}):
                    out.update(attempt)  # the fragment is in the reassembler now
                    raise
                if best is None or len(attempt) > best[0]:
                    best = (len(attempt), e, attempt)
                continue
            out.update(attempt)
            return
        assert best is not None
        out.update(best[2])
        raise best[1]

    return {
        "lowpan": decode_lowpan,
        "ipv6": decode_ipv6,
        "udp": decode_udp,
        "wrapper": decode_wrapper,
        "auto": decode_auto,
    }


def _looks_like_wrapper(frame: bytes) -> bool:
    n = len(frame)
    return n >= 8 and frame[0] == 0 and frame[1] == 1 and (frame[6] << 8 | frame[7]) == n - 8


def _looks_like_ipv6(frame: bytes) -> bool:
    n = len(frame)
    return n >= 40 and frame[0] >> 4 == 6 and (frame[4] << 8 | frame[5]) == n - 40


def _fragment_key(frame: bytes, opts: Any) -> tuple[bytes, bytes, int, int] | None:
    """The reassembly key of a fragment, or None when the frame is not one."""
    src = opts.ll_src or b""
    dst = opts.ll_dst or b""
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
