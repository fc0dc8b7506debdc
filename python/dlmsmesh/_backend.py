"""Which implementation of the hot-path functions is live: ``native`` (the C
core) or ``pure`` (the Python twins).

``DLMSMESH_BACKEND=pure|native`` chooses at import; unset, the default is
native, and if the C extension cannot be loaded the package warns once and
runs pure.  Any other value, or ``native`` asked for by name when the C core
cannot be loaded, makes every codec call raise :class:`BackendError`
(:func:`startup_error` says why; the command line prints it and exits 2).
``set_backend`` switches at run time (tests and benchmarks use it).
"""

from __future__ import annotations

import importlib
import os
import warnings
from types import ModuleType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._protocols import apdu as _apdu
    from ._protocols import axdr as _axdr
    from ._protocols import ber as _ber
    from ._protocols import checksum as _checksum
    from ._protocols import columns as _columns
    from ._protocols import frag as _frag
    from ._protocols import iphc as _iphc
    from ._protocols import pipeline as _pipeline
    from ._protocols import secure as _secure
    from ._protocols import wrapper as _wrapper

from .errors import DlmsError

NAMES = ("native", "pure")
_LAYERS = ("axdr", "apdu", "ber", "secure", "wrapper", "checksum", "iphc", "frag", "columns", "pipeline")


class _Live:
    """The live backend: one typed attribute per layer module (what the layer
    modules call: ``_backend.live.axdr.decode(...)``), set together by
    :func:`set_backend`, so a call costs one attribute lookup and mypy checks
    it against the layer's ``dlmsmesh._protocols`` contract."""

    name: str = "pure"
    modules: dict[str, ModuleType] = {}
    axdr: _axdr.Backend
    apdu: _apdu.Backend
    ber: _ber.Backend
    wrapper: _wrapper.Backend
    checksum: _checksum.Backend
    iphc: _iphc.Backend
    frag: _frag.Backend
    columns: _columns.Backend
    secure: _secure.Backend
    pipeline: _pipeline.Backend

    def __getattr__(self, layer: str) -> Any:
        # reached only for a layer attribute that set_backend never set: after a
        # refused DLMSMESH_BACKEND, every codec call raises the refusal
        refused = self.__dict__.get("modules")
        if isinstance(refused, _Refused) and layer in _LAYERS:
            raise refused.error
        raise AttributeError(layer)


live = _Live()


def native_available() -> bool:
    try:
        importlib.import_module("dlmsmesh._core")
    except ImportError:
        return False
    return True


def _load(name: str) -> dict[str, ModuleType]:
    return {layer: importlib.import_module(f"dlmsmesh._{name}.{layer}") for layer in _LAYERS}


def set_backend(name: str) -> None:
    """Make ``name`` (``native`` or ``pure``) the live backend."""
    if name not in NAMES:
        raise ValueError(f"backend must be one of {NAMES}, not {name!r}")
    modules = _load(name)
    live.name = name
    live.modules = modules
    # the modules meet the protocols structurally: tests/test_backend_contract.py
    # checks it, since importlib hands them over untyped
    for layer, mod in modules.items():
        setattr(live, layer, mod)


def backend() -> str:
    """The name of the live backend: ``native`` or ``pure``.

    Raises :class:`BackendError` when ``DLMSMESH_BACKEND`` was refused (no
    backend is live then: naming one would be wrong).
    """
    refused = live.__dict__.get("modules")
    if isinstance(refused, _Refused):
        raise refused.error
    return live.name


class BackendError(DlmsError, ImportError):
    """DLMSMESH_BACKEND names no backend, or names one that cannot be loaded."""


class _Refused(dict):  # type: ignore[type-arg]
    """The backend table after a refused DLMSMESH_BACKEND: every codec call
    raises the refusal (import itself succeeds, so the command line can say
    why in one line)."""

    def __init__(self, error: BackendError) -> None:
        super().__init__()
        self.error = error

    def __missing__(self, layer: str) -> ModuleType:
        raise self.error


def startup_error() -> BackendError | None:
    """Why the backend DLMSMESH_BACKEND asked for is not live (None when it is)."""
    modules = live.modules
    return modules.error if isinstance(modules, _Refused) else None


def _refuse(error: BackendError) -> None:
    live.modules = _Refused(error)
    for layer in _LAYERS:
        live.__dict__.pop(layer, None)


def _initial() -> None:
    raw = os.environ.get("DLMSMESH_BACKEND")
    wanted = (raw or "").strip().lower()
    if wanted and wanted not in NAMES:
        _refuse(BackendError(f"DLMSMESH_BACKEND must be one of {', '.join(NAMES)} (got {raw!r})"))
        return
    if wanted in ("", "native"):
        try:
            set_backend("native")
            return
        except ImportError as exc:
            if wanted:  # asked for by name: running pure instead would hide it
                _refuse(BackendError(f"DLMSMESH_BACKEND=native: the C core could not be loaded ({exc})"))
                return
            warnings.warn(
                f"dlmsmesh: the C core could not be loaded ({exc}); running the pure-Python backend",
                RuntimeWarning,
                stacklevel=3,
            )
    set_backend("pure")


_initial()
