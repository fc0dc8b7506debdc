"""Every benchmark workload, in the order the runners report them.

Both runners (``compare.py`` and the ``test_bench_*.py`` suites under
pytest-benchmark) take their inputs and callables from :data:`WORKLOADS`, so
they measure exactly the same thing.  A workload is a
:class:`bench_support.Workload`: a name, a ``setup()`` that builds its input
(deterministically, cached so both runners see the same bytes), and one
callable per implementation (``native``, ``pure`` and optionally the peers
``dlms-cosem`` and ``gurux-dlms``), each taking the input and returning a
result that ``check(input, result)`` verifies.  Each layer's workloads live in
``workloads_<layer>.py``; a new one is appended to its module's
``WORKLOADS`` (a new module is added here), and the runners need no change.
"""

from __future__ import annotations

from typing import Dict, List

import workloads_apdu
import workloads_axdr
import workloads_client
import workloads_columns
import workloads_database
import workloads_listener
import workloads_pipeline
import workloads_push
import workloads_registry
import workloads_security
import workloads_server
import workloads_transport
from bench_support import Workload

WORKLOADS: List[Workload] = [
    *workloads_axdr.WORKLOADS,
    *workloads_apdu.WORKLOADS,
    *workloads_columns.WORKLOADS,
    *workloads_security.WORKLOADS,
    *workloads_transport.WORKLOADS,
    *workloads_pipeline.WORKLOADS,
    *workloads_push.WORKLOADS,
    *workloads_server.WORKLOADS,
    *workloads_client.WORKLOADS,
    *workloads_registry.WORKLOADS,
    *workloads_listener.WORKLOADS,
    *workloads_database.WORKLOADS,
]

#: the headline workloads the library's speed is judged by (benchmarks/README.md),
#: by number; compare.py ends with one table of them
HEADLINE: Dict[int, List[str]] = {
    1: [workloads_pipeline.RECEIVE],
    2: [workloads_pipeline.SEND],
    3: [
        "profile-generic 1,000 rows: decode into columns",
        "profile-generic 1,000 rows: decode into columns (no numpy, array.array)",
    ],
    4: ["10,000 IPv6/UDP headers: IPHC compress", "10,000 IPHC frames: decompress"],
}
