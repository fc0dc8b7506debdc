"""dlmsmesh.cosem re-exports the names a COSEM model is written with, as the
very objects the lower layers define (one class each, not copies)."""

from __future__ import annotations

import dlmsmesh.apdu_model
import dlmsmesh.cosem
import dlmsmesh.types


def test_obis_and_descriptors_are_the_lower_layers_classes() -> None:
    assert dlmsmesh.cosem.Obis is dlmsmesh.types.Obis
    assert dlmsmesh.cosem.AttributeDescriptor is dlmsmesh.apdu_model.AttributeDescriptor
    assert dlmsmesh.cosem.MethodDescriptor is dlmsmesh.apdu_model.MethodDescriptor
    assert dlmsmesh.cosem.CaptureObject is dlmsmesh.apdu_model.CaptureObject
    assert dlmsmesh.cosem.SelectiveAccess is dlmsmesh.apdu_model.SelectiveAccess


def test_every_public_name_is_exported_and_exists() -> None:
    names = set(dlmsmesh.cosem.__all__)
    assert len(names) == len(dlmsmesh.cosem.__all__)
    for name in names:
        assert getattr(dlmsmesh.cosem, name) is not None
    for name in ("Obis", "AttributeDescriptor", "MethodDescriptor", "CaptureObject", "SelectiveAccess"):
        assert name in names


def test_a_re_exported_obis_builds_descriptors_the_codec_accepts() -> None:
    from dlmsmesh.cosem import AttributeDescriptor, Obis

    descriptor = AttributeDescriptor(8, Obis("0.0.1.0.0.255"), 2)
    assert isinstance(descriptor.instance_id, dlmsmesh.types.Obis)
    assert bytes(descriptor.instance_id) == bytes([0, 0, 1, 0, 0, 255])
