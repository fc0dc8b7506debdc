"""Entry point of the atheris harnesses (tests/fuzz/atheris_*.py).

Imports nothing of dlmsmesh itself: the harness module and every dlmsmesh
module are imported inside ``atheris.instrument_imports`` so that only they
are instrumented for coverage (instrumenting everything loaded, numpy and
cryptography included, costs half a minute per start).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys


def run(path: str) -> None:
    """Fuzz ``one`` of the harness at ``path`` with libFuzzer's sys.argv flags."""
    import atheris

    name = "tests.fuzz." + os.path.splitext(os.path.basename(path))[0]
    with atheris.instrument_imports(include=["dlmsmesh", "tests.fuzz"]):
        import dlmsmesh

        for info in pkgutil.walk_packages(dlmsmesh.__path__, "dlmsmesh."):
            if info.name.endswith(("_build", "__main__")):
                continue
            try:
                importlib.import_module(info.name)
            except ImportError:  # an optional extra (numpy, rich) that is not installed
                pass
        harness = importlib.import_module(name)
    one = harness.one
    atheris.Setup(sys.argv, lambda data: one(bytes(data)))
    atheris.Fuzz()
