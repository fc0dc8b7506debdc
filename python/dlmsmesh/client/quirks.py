"""Known deviations of peers from the standard, switched on per meter.

A head-end meets meters from many makers; some deviate in small, known
ways.  Rather than loosening the client for everyone, each meter's record
carries a :class:`Quirks` value that turns on exactly the tolerances that
meter needs.  The default, ``Quirks()``, is the standard behaviour.
:meth:`Quirks.for_peer` gives the presets of peers met in testing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = ["Quirks", "PEER_PRESETS", "MIN_PDU_SIZE", "MAX_PDU_SIZE"]

#: the smallest max-receive-pdu-size worth negotiating: under it a PDU
#: carries little beyond headers (this library's server refuses less)
MIN_PDU_SIZE = 64
#: the largest a Unsigned16 max-receive-pdu-size can say
MAX_PDU_SIZE = 0xFFFF


@dataclass(frozen=True)
class Quirks:
    """The deviations a peer needs tolerated; every field off means standard.

    ``unciphered_release``
        The peer releases with a plain RLRQ/RLRE, without the ciphered
        user-information a ciphered association calls for (gurux-dlms sends
        its RLRQ unciphered even in a ciphered association).  The client
        then sends a plain RLRQ and accepts a plain RLRE.
    ``no_gbt``
        Never use general-block-transfer with the peer, even when its
        conformance block offers it; long messages go as service-specific
        data blocks (gurux-dlms 1.0.203 fails after the first GBT block).
    ``scaler_as_multiplier``
        The peer's scaler_unit carries the multiplier itself (e.g. 100)
        rather than the power of ten (2): the client multiplies by the
        scaler as sent (see :meth:`multiplier`).
    ``max_pdu_size``
        A ceiling on the PDU size the client sends to the peer, for a meter
        that announces a larger server-max-receive-pdu-size than it accepts;
        ``None`` trusts the negotiated size (see :meth:`pdu_size`).
    ``invocation_counter_lenient``
        Accept a response whose invocation counter does not exceed the last
        one from this peer (a meter that restarts its counter per
        association).  This turns replay protection off for that meter:
        for test benches and broken firmware only.
    """

    unciphered_release: bool = False
    no_gbt: bool = False
    scaler_as_multiplier: bool = False
    max_pdu_size: int | None = None
    invocation_counter_lenient: bool = False

    def __post_init__(self) -> None:
        if self.max_pdu_size is not None and not MIN_PDU_SIZE <= self.max_pdu_size <= MAX_PDU_SIZE:
            raise ValueError(f"max_pdu_size is {MIN_PDU_SIZE}..{MAX_PDU_SIZE}, not {self.max_pdu_size}")

    @classmethod
    def for_peer(cls, name: str) -> Quirks:
        """The preset for a named peer implementation (case-insensitive):
        one of :data:`PEER_PRESETS`; ``ValueError`` for another name."""
        try:
            return PEER_PRESETS[name.strip().lower()]
        except KeyError:
            known = ", ".join(sorted(PEER_PRESETS))
            raise ValueError(f"no quirks preset for the peer {name!r}; known presets: {known}") from None

    def pdu_size(self, negotiated: int) -> int:
        """The PDU size to send with, given the one negotiated in the AARE."""
        return negotiated if self.max_pdu_size is None else min(negotiated, self.max_pdu_size)

    def multiplier(self, scaler: int) -> float:
        """The factor a register value with this scaler is multiplied by."""
        return float(scaler) if self.scaler_as_multiplier else 10.0**scaler


#: presets by peer name: "standard" is every quirk off; "gurux" is a meter
#: built with gurux-dlms (Python, 1.0.x), as the interop tests found it
PEER_PRESETS: Mapping[str, Quirks] = MappingProxyType(
    {
        "standard": Quirks(),
        "gurux": Quirks(unciphered_release=True, no_gbt=True),
    }
)
