"""What every workload module shares: the implementation names, whether each
is available here, and :class:`Workload` (one benchmarked operation).

The workload modules (``workloads_<layer>.py``) import this module and one
another, never ``workloads.py``, so each imports on its own;
``workloads.py`` gathers their ``WORKLOADS`` into the one list both runners
(``compare.py``, the ``test_bench_*.py`` suites) measure.
"""

from __future__ import annotations

import contextlib
import importlib
from dataclasses import dataclass, field
from typing import Any, Callable, ContextManager, Dict, List, Tuple

import dlmsmesh

NATIVE = "native"
PURE = "pure"
DLMS_COSEM = "dlms-cosem"
GURUX = "gurux-dlms"
IMPLEMENTATIONS = (NATIVE, PURE, GURUX, DLMS_COSEM)

# --------------------------------------------------------------------------
# implementations
# --------------------------------------------------------------------------


def backend(impl: str, layer: str) -> Any:
    """The backend module ``dlmsmesh._<impl>.<layer>`` (``impl`` native or pure):
    the workloads call the backends directly, so both run in one process
    without the global backend switch."""
    return importlib.import_module(f"dlmsmesh._{impl}.{layer}")


def native_axdr() -> Any:
    return backend(NATIVE, "axdr")


def pure_axdr() -> Any:
    return backend(PURE, "axdr")


def native_apdu() -> Any:
    return backend(NATIVE, "apdu")


def pure_apdu() -> Any:
    return backend(PURE, "apdu")


def native_available() -> bool:
    if not dlmsmesh.native_available():
        return False
    try:
        native_axdr()
        native_apdu()
    except ImportError:
        return False
    return True


def dlms_cosem_version() -> str | None:
    """The installed dlms-cosem version, or None when it cannot be imported."""
    try:
        importlib.import_module("dlms_cosem.dlms_data")
    except Exception:  # noqa: BLE001 - any import failure means "no baseline"
        return None
    try:
        from importlib.metadata import version

        return version("dlms-cosem")
    except Exception:  # noqa: BLE001
        return "unknown"


def gurux_version() -> str | None:
    """The installed gurux-dlms version, or None when it cannot be imported."""
    try:
        importlib.import_module("gurux_dlms")
    except Exception:  # noqa: BLE001 - any import failure means "no baseline"
        return None
    try:
        from importlib.metadata import version

        return version("gurux-dlms")
    except Exception:  # noqa: BLE001
        return "unknown"


def available(impl: str) -> bool:
    if impl == NATIVE:
        return native_available()
    if impl == PURE:
        return True
    if impl == DLMS_COSEM:
        return dlms_cosem_version() is not None
    if impl == GURUX:
        return gurux_version() is not None
    return False


# --------------------------------------------------------------------------
# workload definition
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Workload:
    """One benchmarked operation.

    ``ops`` maps an implementation name to ``fn(input) -> result``.  Each
    implementation's factory is resolved lazily (``ops`` values are factories
    returning the callable), so a missing optional implementation only skips
    its own cell.  ``targets`` maps a ratio name (``"native/pure"``,
    ``"pure/dlms-cosem"``) to the minimum required by the issue.  ``check``
    verifies a result; ``checks`` overrides it per implementation.
    """

    name: str
    description: str
    setup: Callable[[], Any]
    ops: Dict[str, Callable[[], Callable[[Any], Any]]]
    check: Callable[[Any, Any], None]
    targets: Dict[str, float] = field(default_factory=dict)
    #: per-implementation checks where the result has another shape (peer libraries)
    checks: Dict[str, Callable[[Any, Any], None]] = field(default_factory=dict)
    #: the layer measured; ``test_bench_<suite>.py`` runs it under pytest-benchmark
    suite: str = "axdr"
    #: the state of the process the workload is measured in (entered around
    #: all its rounds and checks by both runners), e.g. numpy made unimportable
    environment: Callable[[], ContextManager[Any]] = contextlib.nullcontext
    #: an issue's absolute target: (items per op, the least items/s the
    #: native backend must reach); compare.py checks it as ``native/rate``
    rate_target: Tuple[int, float] | None = None
    #: the op's own timing of what it measures (seconds, of its last call),
    #: for an op that must also build per-op state that is not the workload
    #: (a new database file, a keyring's replay table): compare.py then
    #: times the rounds with it instead of the calls' wall time
    op_timer: Callable[[], float] | None = None

    def verify(self, impl: str, inp: Any, result: Any) -> None:
        """Raise AssertionError unless ``result`` is right for ``inp``."""
        self.checks.get(impl, self.check)(inp, result)

    def op(self, impl: str) -> Callable[[Any], Any]:
        return self.ops[impl]()

    def implementations(self) -> List[str]:
        return [i for i in IMPLEMENTATIONS if i in self.ops]


@dataclass(frozen=True)
class ReferencedWorkload(Workload):
    """A workload also compared with a physical reference rate: compare.py
    divides the native rate (ops/s x ``items_per_op``) by ``reference(cached)``
    and checks the quotient against ``reference_target``."""

    items_per_op: int = 1
    reference: Callable[[float | None], Dict[str, Any]] | None = None
    reference_target: float | None = None
