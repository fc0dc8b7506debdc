"""The security context of one association: titles, suite, keys, policy and
invocation counters, and every way of protecting and unprotecting an APDU.

Keys are kept privately and reach the backend (``dlmsmesh._native.secure``
or ``dlmsmesh._pure.secure``, whichever is live at the call) as key objects
built once per key; they never appear in ``repr``, log records or exception
messages, and the context refuses to be pickled.

One class, five rooms: key material (:mod:`._keys`), the send side
(:mod:`._send`), the receive side (:mod:`._receive`), the receive side's
fast road for an association's glo- frames (:mod:`._fast`) and HLS-GMAC
(:mod:`._hls_gmac`).  What the batch pipeline uses of it is named in
:mod:`._batch_access`.
"""

from __future__ import annotations

from ._fast import FastSide
from ._hls_gmac import HlsGmac
from ._keys import DEFAULT_POLICY
from ._receive import ReceiveSide, unprotect_frames
from ._send import SendSide

__all__ = ["SecurityContext", "DEFAULT_POLICY", "unprotect_frames"]


class SecurityContext(SendSide, ReceiveSide, FastSide, HlsGmac):
    """Keys, titles and counters of one association (or one peer).

    ``system_title`` is ours (the IV of what we send; None for a context that
    only receives), ``peer_system_title`` the peer's (the IV of frames that
    do not carry it; None until known, and then any title a frame carries is
    used).  Keys: ``ek`` global unicast encryption key, ``bk`` broadcast key,
    ``dk`` dedicated key, ``ak`` authentication key, ``kek`` master key (key
    wrap); all ``suite.key_size`` bytes, but ``ak=b""`` is an empty AK (the GB
    smart-metering profile: authenticated frames with ``SC`` alone before the
    header fields and APDU in the AAD), unlike ``ak=None`` (no AK: authenticated
    frames refused).  ``policy`` says what we apply when
    sending and what we require when receiving (by ``role``).  ``counters``
    keeps invocation counters (default: in memory; use a
    :class:`~dlmsmesh.security.SqliteCounterStore` for long-lived keys).
    ``replay_window`` admits counters up to that far below the highest one
    (0: strict).  ``signing_key``/``peer_signing_key``: ECDSA keys for
    general-signing and HLS mechanism 7 (suites 1 and 2).
    ``general_ciphering_aad`` (:class:`GeneralCipheringAad`) and
    ``general_signing_range`` (:class:`GeneralSigningRange`) name peer quirks
    of Gurux Java/.NET; the defaults are the standard's.
    """
