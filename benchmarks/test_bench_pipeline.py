"""The pipeline workloads of ``workloads_pipeline.py`` (``suite="pipeline"``)
under pytest-benchmark.

    python -m pytest benchmarks/test_bench_pipeline.py --benchmark-enable   # measure
    python -m pytest benchmarks/test_bench_pipeline.py                      # each op runs once, checked

One op decodes 10,000 ciphered data-notifications with decode_batch (or
also builds every APDU object), or encodes 10,000 GET requests with
encode_batch, in one backend call; the peers decode the same frames one by
one.  Each test checks its result.
"""

from __future__ import annotations

from typing import Any

import pytest

import bench_pytest
import bench_support as B

SUITE = "pipeline"


@pytest.mark.parametrize(("workload", "impl"), bench_pytest.params(SUITE, slow=(B.GURUX,)))
def test_bench(benchmark: Any, workload: B.Workload, impl: str) -> None:
    bench_pytest.run(benchmark, workload, impl)
