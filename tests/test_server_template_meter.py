"""Meter.from_template: the views each client SAP gets, with and without an
AARQ (the pre-established client of group requests)."""

from __future__ import annotations

import pytest

from dlmsmesh.cosem import AssociationLN, MeterTemplate, default_meter
from dlmsmesh.server import PRE_ESTABLISHED_CLIENT, Meter

from .server_support import NOW, TITLE

pytestmark = pytest.mark.single_backend  # the object model only


def _template() -> MeterTemplate:
    return MeterTemplate(lambda: default_meter(TITLE, now=lambda: NOW).logical_devices[1])


def test_a_template_meter_gets_the_pre_established_view_it_is_given() -> None:
    title = b"MTR" + bytes(5)
    meter = Meter.from_template(
        _template(), title, associations={16: "0.0.40.0.1.255", 1: "0.0.40.0.2.255"},
        pre_established={PRE_ESTABLISHED_CLIENT: "0.0.40.0.2.255"},
    )  # fmt: skip
    view = meter.pre_established(PRE_ESTABLISHED_CLIENT, 1)
    assert isinstance(view, AssociationLN) and view is meter.association(1, 1)
    assert meter.pre_established(16, 1) is None


def test_without_it_no_client_talks_without_an_aarq() -> None:
    meter = Meter.from_template(_template(), b"MTR" + bytes(5), associations={16: "0.0.40.0.1.255"})
    assert meter.pre_established(PRE_ESTABLISHED_CLIENT, 1) is None


def test_a_view_the_template_lacks_is_refused() -> None:
    with pytest.raises(ValueError, match="no Association LN"):
        Meter.from_template(
            _template(), b"MTR" + bytes(5), associations={16: "0.0.40.0.1.255"},
            pre_established={PRE_ESTABLISHED_CLIENT: "0.0.40.0.9.255"},
        )  # fmt: skip
