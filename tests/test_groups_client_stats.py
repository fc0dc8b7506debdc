"""The answer-time statistics of dlmsmesh.groups.stats: the one-sample
Kolmogorov-Smirnov p-value against known values (SciPy's kstwo.sf, computed
once and written here; checked against SciPy itself where it is installed),
the uniformity test on samples with a known answer, and the table."""

from __future__ import annotations

import random

import pytest

from dlmsmesh.groups.stats import distribution_table, histogram, kolmogorov_sf, ks_uniform

pytestmark = pytest.mark.single_backend

#: (n, d, P(D_n >= d)) from scipy.stats.kstwo.sf(d, n), SciPy 1.17
KNOWN = [
    (1, 0.75, 0.5),
    (10, 0.3, 0.27053557479999946),
    (100, 0.1, 0.2526927570063874),
    (100, 0.2, 0.0005551927327988775),
    (300, 0.05, 0.42744120502346905),
    (300, 0.08, 0.04064402562448788),
    (1000, 0.035, 0.1684847971373874),
    (1000, 0.08, 5.154189384789824e-06),
]


@pytest.mark.parametrize(("n", "d", "p"), KNOWN)
def test_the_ks_survival_function_matches_known_values(n: int, d: float, p: float) -> None:
    # exact where the matrix method runs; within 2e-3 (and 5% relative) on the series
    assert kolmogorov_sf(n, d) == pytest.approx(p, rel=5e-2 if n * d > 30 else 1e-5, abs=2e-3 if n * d > 30 else 1e-9)


def test_the_ks_survival_function_at_its_edges() -> None:
    assert kolmogorov_sf(50, 0.0) == 1.0 and kolmogorov_sf(50, 1.0) == 0.0
    assert kolmogorov_sf(10, 0.05) == 1.0  # below 1/(2n): every sample does worse
    with pytest.raises(ValueError):
        kolmogorov_sf(0, 0.1)
    # monotone in d
    ps = [kolmogorov_sf(200, d / 100) for d in range(1, 40)]
    assert all(a >= b for a, b in zip(ps, ps[1:]))


def test_against_scipy_where_installed() -> None:
    stats = pytest.importorskip("scipy.stats")
    rng = random.Random(5)
    for _ in range(40):
        n = rng.choice([3, 17, 60, 150, 400])
        d = rng.uniform(0.5 / n, 0.4)
        assert kolmogorov_sf(n, d) == pytest.approx(float(stats.kstwo.sf(d, n)), abs=2e-3)


def test_ks_uniform_accepts_uniform_samples_and_rejects_others() -> None:
    rng = random.Random(1)
    uniform = [rng.uniform(0, 30) for _ in range(300)]
    result = ks_uniform(uniform, 0, 30)
    assert result.n == 300 and result.pvalue > 0.01
    # the statistic of a sample is the largest gap between its ECDF and the line
    assert ks_uniform([0.5], 0, 1).statistic == pytest.approx(0.5)
    assert ks_uniform([0.25, 0.75], 0, 1).statistic == pytest.approx(0.25)
    squeezed = [x / 2 for x in uniform]  # all in the first half of the window
    assert ks_uniform(squeezed, 0, 30).pvalue < 1e-12
    late = [min(29.999, 30 * rng.random() ** 0.5) for _ in range(300)]  # denser towards the end
    assert ks_uniform(late, 0, 30).pvalue < 1e-6
    with pytest.raises(ValueError):
        ks_uniform([], 0, 1)
    with pytest.raises(ValueError):
        ks_uniform([1.0], 2, 1)


def test_histogram_and_table() -> None:
    assert histogram([0, 0.5, 1.0, 2.9, 2.999], 0, 3, 3) == [2, 1, 2]
    with pytest.raises(ValueError, match="outside"):
        histogram([3.0], 0, 3, 3)  # an answer at the window's end is outside it
    table = distribution_table([0.1, 0.2, 1.5, 2.5], 3.0, 3, bar=4)
    assert table.splitlines() == [
        "| answer time (s) | answers | share | distribution |",
        "|---|---:|---:|---|",
        "| 0 - 1 | 2 | 50.0% | #### |",
        "| 1 - 2 | 1 | 25.0% | ## |",
        "| 2 - 3 | 1 | 25.0% | ## |",
    ]
