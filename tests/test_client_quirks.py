"""dlmsmesh.client.quirks: the standard default, the gurux preset, and the
two helpers the client applies the quirks through."""

from __future__ import annotations

import dataclasses

import pytest

from dlmsmesh.client import Quirks
from dlmsmesh.client.quirks import PEER_PRESETS


def test_default_is_standard() -> None:
    q = Quirks()
    assert q == Quirks.for_peer("standard")
    assert not (q.unciphered_release or q.no_gbt or q.scaler_as_multiplier or q.invocation_counter_lenient)
    assert q.max_pdu_size is None
    assert q.pdu_size(1224) == 1224
    assert q.multiplier(-2) == 0.01 and q.multiplier(3) == 1000.0


def test_gurux_preset() -> None:
    q = Quirks.for_peer(" Gurux ")
    assert q.unciphered_release and q.no_gbt
    assert not q.scaler_as_multiplier and not q.invocation_counter_lenient and q.max_pdu_size is None
    assert q is PEER_PRESETS["gurux"]


def test_unknown_preset_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known presets: gurux, standard"):
        Quirks.for_peer("landis")


def test_frozen_and_presets_read_only() -> None:
    q = Quirks()
    with pytest.raises(dataclasses.FrozenInstanceError):
        q.no_gbt = True  # type: ignore[misc]
    with pytest.raises(TypeError):
        PEER_PRESETS["mine"] = q  # type: ignore[index]


def test_max_pdu_size_caps_the_negotiated_size() -> None:
    q = Quirks(max_pdu_size=512)
    assert q.pdu_size(1224) == 512
    assert q.pdu_size(256) == 256
    for bad in (63, 0x10000):
        with pytest.raises(ValueError):
            Quirks(max_pdu_size=bad)
    assert Quirks(max_pdu_size=64).pdu_size(65535) == 64


def test_scaler_as_multiplier() -> None:
    q = dataclasses.replace(Quirks.for_peer("gurux"), scaler_as_multiplier=True)
    assert q.multiplier(100) == 100.0
    assert q.unciphered_release  # the rest of the preset kept
