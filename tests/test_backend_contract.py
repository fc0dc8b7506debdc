"""The backend contract (two backends, one behaviour: README.md, Backends):
every ``Backend`` protocol of
``dlmsmesh._protocols`` is met by the pure backend and, when it is built, the
native one -- each member present, with the same parameter names, kinds and
defaults -- and the layer modules reach a backend only through the typed
attributes of ``dlmsmesh._backend.live``."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import types
from typing import Any

import pytest

import dlmsmesh._protocols
from dlmsmesh import _backend

from .helpers import BACKENDS

PROTOCOLS = sorted(
    m.name
    for m in pkgutil.iter_modules(dlmsmesh._protocols.__path__)
    if hasattr(importlib.import_module(f"dlmsmesh._protocols.{m.name}"), "Backend")
)


def members(protocol: type) -> dict[str, Any]:
    """The methods a protocol class declares (its own, not typing's)."""
    return {name: value for name, value in vars(protocol).items() if not name.startswith("_") and callable(value)}


def signature_of(fn: Any, *, method: bool) -> list[tuple[str, Any, Any]]:
    """(name, kind, default) of every parameter; ``self`` of a protocol method dropped."""
    params = list(inspect.signature(fn).parameters.values())
    if method:
        params = params[1:]
    return [(p.name, p.kind, p.default) for p in params]


def mismatches(protocol: type, module: types.ModuleType) -> list[str]:
    """What ``module`` lacks or declares differently, one line each."""
    found = []
    for name, member in members(protocol).items():
        impl = getattr(module, name, None)
        if impl is None or not callable(impl):
            found.append(f"{module.__name__} has no {name}")
            continue
        want = signature_of(member, method=True)
        have = signature_of(impl, method=False)
        if want != have:
            found.append(f"{module.__name__}.{name}{inspect.signature(impl)} is not {name}{inspect.signature(member)}")
    return found


single = pytest.mark.single_backend


@single
def test_every_layer_of_the_dispatch_has_a_protocol() -> None:
    assert set(PROTOCOLS) >= {"axdr", "apdu", "ber", "wrapper", "checksum", "iphc", "frag", "columns"}
    assert set(PROTOCOLS) <= set(_backend._LAYERS)


@single
@pytest.mark.parametrize("name", BACKENDS)
@pytest.mark.parametrize("layer", PROTOCOLS)
def test_backend_meets_the_protocol(layer: str, name: str) -> None:
    protocol = importlib.import_module(f"dlmsmesh._protocols.{layer}").Backend
    assert members(protocol), f"dlmsmesh._protocols.{layer}.Backend declares nothing"
    module = importlib.import_module(f"dlmsmesh._{name}.{layer}")
    assert mismatches(protocol, module) == []


@single
@pytest.mark.parametrize("name", BACKENDS)
def test_the_live_attributes_are_the_backend_modules(name: str) -> None:
    before = _backend.backend()
    _backend.set_backend(name)
    try:
        for layer in _backend._LAYERS:
            assert getattr(_backend.live, layer) is importlib.import_module(f"dlmsmesh._{name}.{layer}")
            assert _backend.live.modules[layer] is getattr(_backend.live, layer)
    finally:
        _backend.set_backend(before)


# -- the check itself: it must catch a missing function and a changed signature


class _Proto:
    def decode(self, data: Any, offset: int = 0, *, strict: bool = False) -> Any: ...

    def encode(self, value: Any) -> bytes: ...


def _module(**functions: Any) -> types.ModuleType:
    m = types.ModuleType("fake_backend")
    for k, v in functions.items():
        setattr(m, k, v)
    return m


def _decode(data: Any, offset: int = 0, *, strict: bool = False) -> Any:
    return None


def _encode(value: Any) -> bytes:
    return b""


@single
def test_the_check_passes_a_conforming_module() -> None:
    assert mismatches(_Proto, _module(decode=_decode, encode=_encode)) == []


@single
def test_the_check_finds_a_missing_function() -> None:
    assert mismatches(_Proto, _module(decode=_decode)) == ["fake_backend has no encode"]


@single
@pytest.mark.parametrize(
    "changed",
    [
        lambda data, offset=0: None,  # a keyword-only parameter dropped
        lambda data, offset=1, *, strict=False: None,  # another default
        lambda data, start=0, *, strict=False: None,  # a renamed parameter
        lambda data, offset=0, strict=False: None,  # keyword-only became positional
    ],
)
def test_the_check_finds_a_changed_signature(changed: Any) -> None:
    found = mismatches(_Proto, _module(decode=changed, encode=_encode))
    assert len(found) == 1 and found[0].startswith("fake_backend.decode(")


# -- the conftest mechanism: an unmarked test runs once per backend


def test_an_unmarked_test_runs_on_every_backend(request: pytest.FixtureRequest, live_backend: str) -> None:
    assert live_backend == request.node.callspec.params["live_backend"] == _backend.backend()


@single
def test_the_suite_doubles_unmarked_tests_only(request: pytest.FixtureRequest) -> None:
    items = request.session.items
    runs = [
        it.callspec.params.get("live_backend")
        for it in items
        if getattr(it, "originalname", None) == "test_an_unmarked_test_runs_on_every_backend"
        and hasattr(it, "callspec")
    ]
    if not runs:
        pytest.skip("run together with test_an_unmarked_test_runs_on_every_backend")
    assert sorted(runs) == sorted(BACKENDS)
    mine = [it for it in items if getattr(it, "originalname", None) == "test_the_suite_doubles_unmarked_tests_only"]
    assert len(mine) == 1  # marked single_backend: not doubled
