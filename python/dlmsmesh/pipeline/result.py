"""The outcome of :func:`dlmsmesh.pipeline.decode_batch`: per-frame status and
header fields read straight from the backend's record, and Python objects
built only when asked for, one frame at a time.

A frame that failed never shows its plaintext: ``plaintext``, ``body`` and
``apdu`` raise its error instead (its plaintext bytes were wiped anyway).
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from .. import _status as S
from .._common import pipeline_items as I
from .._common.pipeline_outcome import Outcome
from ..errors import DecodeError, DlmsError, SecurityError
from ..security.counters import replay_error
from ..security.envelope import error_for
from .deferred import ACSE_TAGS

if TYPE_CHECKING:
    from ..ipv6 import IPv6Header, UDPHeader
    from ..security._batch_access import BatchContext
    from ..security.info import SecurityInfo
    from ..wrapper import WrapperHeader
    from .push_columns import PushTable

__all__ = ["DecodedBatch"]

_UDP = struct.Struct(">HHHH")
_WRAPPER = struct.Struct(">HHHH")
_SECURITY_ERRORS = frozenset((S.PIPE_PLAIN, S.PIPE_NO_KEYS))
_DISPATCH = {0x41: "ipv6"}
# failures after the key was chosen: the security object still names it
_KEY_KNOWN = frozenset((S.SEC_AUTH, S.SEC_MISMATCH, S.PIPE_REPLAY))


class DecodedBatch:
    """Per-frame results of one batch, in input order.

    ``status[i]`` is 0 or a negative status code (:mod:`dlmsmesh._status`);
    :meth:`error` gives the exception the single-frame path raises for it,
    with the byte offset in the input frame.  Header accessors return None
    for layers a frame does not have (or did not reach).
    """

    def __init__(
        self,
        out: Outcome,
        *,
        layer: int,
        contexts: Sequence[BatchContext],
        secure: Any,
        apdu_codec: Any,
        load_program: Callable[[memoryview], Any] | None = None,
        check: Callable[[], None] | None = None,
    ) -> None:
        self._out = out
        self._layer = layer
        self._contexts = list(contexts)
        self._secure = secure
        self._codec = apdu_codec
        self._load = load_program
        self._check = check
        self._status: list[int] | None = None

    # ------------------------------------------------------------ statuses

    def __len__(self) -> int:
        return self._out.n

    def __repr__(self) -> str:
        return f"DecodedBatch({self._out.n} frames, {self.ok} ok)"

    @property
    def status(self) -> list[int]:
        """Every frame's status code (0: ok)."""
        if self._status is None:
            self._live()
            self._status = memoryview(self._out.words).cast("B").cast("i")[I.STATUS :: I.WORDS].tolist()
        return self._status

    @property
    def ok(self) -> int:
        """How many frames decoded."""
        return self.status.count(0)

    def ok_indices(self) -> list[int]:
        return [i for i, s in enumerate(self.status) if s == 0]

    def failed_indices(self) -> list[int]:
        return [i for i, s in enumerate(self.status) if s != 0]

    def layer(self, i: int) -> str:
        """Where frame i failed (``apdu`` for a frame that did not)."""
        return I.LAYER_NAMES[self._word(i, I.LAYER)]

    def error(self, i: int) -> DlmsError | None:
        """The exception of frame i (None when it decoded)."""
        code = self._status_of(i)
        if code == 0:
            return None
        err = self._out.errors.get(i)
        if err is not None:
            return err
        offset = self._word(i, I.ERR_OFFSET)
        layer = self._word(i, I.LAYER)
        if code == S.PIPE_REPLAY:
            last = self._word(i, I.REPLAY_LAST)
            return replay_error(self._word(i, I.IC), None if last == I.NONE else (last, 1))
        if layer == I.SECURITY_LAYER and code in _SECURITY_ERRORS:
            exc = SecurityError(S.MESSAGES[code])
            exc.offset = offset  # type: ignore[attr-defined]
            exc.code = code  # type: ignore[attr-defined]
            return exc
        if layer == I.SECURITY_LAYER:
            return error_for(code, offset)
        reason = S.MESSAGES.get(code, f"error {code}")
        if self._word(i, I.FLAGS) & I.F_IN_DATA:
            reason = f"in Data: {reason}"
        return DecodeError(reason, layer=I.LAYER_NAMES[layer], offset=offset)

    def raise_for(self, i: int) -> None:
        """Raise frame i's error, if it has one."""
        err = self.error(i)
        if err is not None:
            raise err

    # ------------------------------------------------------------ the APDU

    def apdu(self, i: int) -> Any:
        """Frame i's APDU object (xDLMS APDU, or ACSE PDU), built now."""
        self.raise_for(i)
        out = self._out
        obj = out.objects.get(i)
        if obj is not None:
            return obj
        n = self._word(i, I.PROGRAM_LEN)
        if n and self._load is not None:
            start = self._word(i, I.PROGRAM)
            return self._load(memoryview(out.program)[start : start + n])
        plaintext = bytes(out.plaintext(i))
        if plaintext and plaintext[0] in ACSE_TAGS:
            from .. import acse

            return acse.decode(plaintext)
        return self._codec.decode(plaintext)

    def apdus(self) -> Iterator[tuple[int, Any]]:
        """(index, APDU) of every frame that decoded, in order."""
        for i in self.ok_indices():
            yield i, self.apdu(i)

    def plaintext(self, i: int) -> bytes:
        """Frame i's APDU bytes (deciphered when it was ciphered)."""
        out = self._out
        if not 0 <= i < out.n:
            raise IndexError(f"frame {i} is not in this batch of {out.n}")
        self._live()
        if out.status(i):  # read for every frame of a batch: the error built only for a failed one
            self.raise_for(i)
        return bytes(out.plaintext(i))

    def plaintexts(self) -> list[bytes | None]:
        """Every frame's APDU bytes (deciphered when it was ciphered), None
        for a frame that failed: :meth:`plaintext` of the whole batch in one pass."""
        out = self._out
        self._live()
        plain = out.plaintext
        status = out.status
        return [None if status(i) else bytes(plain(i)) for i in range(out.n)]

    def body(self, i: int) -> memoryview | None:
        """The A-XDR body of frame i as a view: a data-notification's body, a
        get-response-normal's Data result; None for other APDUs."""
        self.raise_for(i)
        p = self._out.plaintext(i)
        n = len(p)
        if n >= 6 and p[0] == 0x0F:
            q = 5
            if p[q] == 0x09:
                q += 1
            q += 13 if p[q] == 12 else 1
            return p[q:]
        if n >= 5 and p[0] == 0xC4 and p[1] == 1 and p[3] == 0:
            return p[4:]
        return None

    def columns(
        self,
        layout: Any = None,
        *,
        unit: str = "s",
        numpy: bool | None = None,
        standard_sign: bool = True,
        backend: Any = None,
    ) -> PushTable:
        """The data-notifications of this batch whose bodies share ``layout``
        (None: the first one's) as typed columns, in one backend call: see
        :mod:`dlmsmesh.pipeline.push_columns`.  ``backend``: a backend's
        columns module (benchmarks run both in one process; default the live one)."""
        from .push_columns import push_columns

        self._live()
        return push_columns(
            self._out, self._contexts, layout, unit=unit, numpy=numpy, standard_sign=standard_sign, backend=backend
        )

    # ------------------------------------------------------------ headers

    def lowpan(self, i: int) -> dict[str, Any] | None:
        """The ``lowpan`` object of docs/json.md for frame i."""
        if self._layer != I.LOWPAN_LAYER or (self._reached(i) <= I.LOWPAN_LAYER):
            return None
        flags = self._word(i, I.FLAGS)
        word = self._word(i, I.LOWPAN)
        octet, info = word & 0xFF, word >> 8
        obj: dict[str, Any] = {
            "dispatch": "mesh" if flags & I.F_MESH else _DISPATCH.get(octet, "iphc"),
            "header_length": self._word(i, I.HEADER_LENGTH),
        }
        if info & 1:
            obj["sci"] = (info >> 8) & 15
        if info & 2:
            obj["dci"] = (info >> 12) & 15
        return obj

    def ipv6(self, i: int) -> IPv6Header | None:
        if self._layer > I.IPV6_LAYER or self._reached(i) <= I.IPV6_LAYER:
            return None
        from ..ipv6 import IPv6Header

        return IPv6Header.unpack(self._base(i)[:40])

    def udp(self, i: int) -> UDPHeader | None:
        if self._layer > I.UDP_LAYER or self._reached(i) <= I.UDP_LAYER:
            return None
        from ..ipv6 import UDPHeader

        u = self._word(i, I.UDP)
        return UDPHeader(*_UDP.unpack_from(self._base(i), u))

    def checksum_ok(self, i: int) -> bool | None:
        """Whether frame i's UDP checksum verified (None: not checked)."""
        flags = self._word(i, I.FLAGS)
        if not flags & I.F_CHECKSUM_CHECKED:
            return None
        return bool(flags & I.F_CHECKSUM_OK)

    def wrapper(self, i: int) -> WrapperHeader | None:
        if self._layer > I.WRAPPER_LAYER or self._reached(i) <= I.WRAPPER_LAYER:
            return None
        from ..wrapper import WrapperHeader

        version, source, destination, length = _WRAPPER.unpack_from(self._base(i), self._word(i, I.WRAPPER))
        return WrapperHeader(source, destination, length, version)

    def security(self, i: int) -> SecurityInfo | None:
        """How frame i's APDU was protected (None: not ciphered, or malformed)."""
        from ..security.info import info_from_envelope
        from ..security.tags import CIPHERED_TAGS, KeySet

        apdu = self._out.apdu_bytes(i)
        if not apdu or apdu[0] not in CIPHERED_TAGS:
            return None
        try:
            env = self._secure.parse(apdu)
        except DlmsError:
            return None
        code = self._status_of(i)
        peer = self._word(i, I.PEER)
        ctx = self._contexts[peer] if peer < len(self._contexts) else None
        opened = code == 0 or self._word(i, I.LAYER) == I.APDU_LAYER or code in _KEY_KNOWN
        key_set = KeySet(self._word(i, I.KEY_SET)) if opened and ctx is not None else None
        return info_from_envelope(apdu, env, ctx.peer_system_title if ctx else None, key_set)

    def to_json(self, i: int) -> dict[str, Any]:
        """Frame i as ``dlmsmesh decode`` prints it: one key per layer
        reached, then ``apdu``/``acse`` or ``error``."""
        out: dict[str, Any] = {}
        lowpan = self.lowpan(i)
        if lowpan is not None:
            out["lowpan"] = lowpan
        head = self.ipv6(i)
        if head is not None:
            out["ipv6"] = head.to_json()
        udp = self.udp(i)
        if udp is not None:
            out["udp"] = udp.to_json(self.checksum_ok(i))
        wrapper = self.wrapper(i)
        if wrapper is not None:
            out["wrapper"] = wrapper.to_json()
        info = self.security(i)
        if info is not None:
            out["security"] = info.to_json()
        err = self.error(i)
        if err is None:
            obj = self.apdu(i)
            from .. import acse

            if isinstance(obj, acse.AcsePdu):
                out["acse"] = acse.to_json(obj)
            else:
                from .. import apdu

                out["apdu"] = apdu.to_json(obj)
            return out
        layer = err.layer if isinstance(err, DecodeError) else "security"
        offset = getattr(err, "offset", self._word(i, I.ERR_OFFSET))
        message = err.reason if isinstance(err, DecodeError) else str(err)
        out["error"] = {"layer": layer, "offset": offset, "message": message}
        return out

    # ------------------------------------------------------------ plumbing

    def _live(self) -> None:
        if self._check is not None:
            self._check()

    def _word(self, i: int, f: int) -> int:
        if not 0 <= i < self._out.n:
            raise IndexError(f"frame {i} is not in this batch of {self._out.n}")
        self._live()
        return self._out.word(i, f)

    def _status_of(self, i: int) -> int:
        self._word(i, I.STATUS)
        return self._out.status(i)

    def _reached(self, i: int) -> int:
        """The first layer frame i did not get through (7: none failed)."""
        return self._word(i, I.LAYER) if self._status_of(i) else I.APDU_LAYER + 1

    def _base(self, i: int) -> memoryview:
        start = self._word(i, I.BASE)
        return memoryview(self._out.base(i))[start : start + self._word(i, I.BASE_LEN)]
