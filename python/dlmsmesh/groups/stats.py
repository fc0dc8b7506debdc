"""The numbers a group request's answer times are judged by: the one-sample
Kolmogorov-Smirnov test of uniformity over the response window, and the
distribution of answer times across it as a table.

The KS p-value is computed here (no SciPy at run time): exactly for the
statistics that matter (Marsaglia, Tsang and Wang, "Evaluating
Kolmogorov's distribution", J. Stat. Softw. 8(18), 2003), and by the
asymptotic Kolmogorov series beyond, where p is far below any test level.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = ["KsResult", "ks_uniform", "kolmogorov_sf", "histogram", "distribution_table"]

#: the largest matrix the exact method builds (2k - 1, k = ceil(n * d)), a
#: bound on its cost (a few ms); beyond it n > 30 and the corrected series is
#: within 2e-3 of the exact value
_EXACT_MAX_ORDER = 61


@dataclass(frozen=True)
class KsResult:
    """``statistic`` D = sup |F_n(x) - x/window|, ``pvalue`` P(D_n >= D) under uniformity."""

    n: int
    statistic: float
    pvalue: float


def _matmul(a: list[list[float]], b: list[list[float]]) -> list[list[float]]:
    columns = list(zip(*b))
    return [[sum(x * y for x, y in zip(row, col)) for col in columns] for row in a]


def _cdf_exact(n: int, d: float) -> float:
    """P(D_n < d) by Marsaglia-Tsang-Wang: the (k, k) entry of H**n, times n!/n**n."""
    k = int(n * d) + 1
    m = 2 * k - 1
    h = k - n * d
    H = [[1.0 if i - j + 1 >= 0 else 0.0 for j in range(m)] for i in range(m)]
    for i in range(m):
        H[i][0] -= h ** (i + 1)
        H[m - 1][i] -= h ** (m - i)
    if 2 * h - 1 > 0:
        H[m - 1][0] += (2 * h - 1) ** m
    for i in range(m):
        for j in range(m):
            if i - j + 1 > 0:
                H[i][j] /= math.factorial(i - j + 1)
    # H**n by squaring, each product rescaled to keep within float range
    result: list[list[float]] | None = None
    exponent = 0
    base, base_exp = H, 0
    power = n
    while power:
        if power & 1:
            if result is None:
                result, exponent = [row[:] for row in base], base_exp
            else:
                result, exponent = _matmul(result, base), exponent + base_exp
                exponent += _rescale(result)
        power >>= 1
        if power:
            base, base_exp = _matmul(base, base), 2 * base_exp
            base_exp += _rescale(base)
    assert result is not None
    s = result[k - 1][k - 1]
    log_s = math.log(s) if s > 0 else -math.inf
    log_s += exponent * math.log(2.0) + math.lgamma(n + 1) - n * math.log(n)
    return min(1.0, max(0.0, math.exp(log_s)))


def _rescale(matrix: list[list[float]]) -> int:
    """Divide by a power of two that brings the largest entry near 1; the exponent."""
    largest = max(abs(x) for row in matrix for x in row)
    if largest == 0 or 2.0**-300 < largest < 2.0**300:
        return 0
    shift = math.frexp(largest)[1]
    scale = 2.0**-shift
    for row in matrix:
        for j in range(len(row)):
            row[j] *= scale
    return shift


def kolmogorov_sf(n: int, d: float) -> float:
    """P(D_n >= d): the two-sided one-sample KS survival function."""
    if n < 1:
        raise ValueError("a KS test needs at least one sample")
    if d <= 0:
        return 1.0
    if d >= 1:
        return 0.0
    if d <= 1 / (2 * n):
        return 1.0  # D_n >= 1/(2n) always
    if 2 * (int(n * d) + 1) - 1 <= _EXACT_MAX_ORDER:
        return max(0.0, 1.0 - _cdf_exact(n, d))
    # the Kolmogorov series with Stephens' small-sample correction
    lam = (math.sqrt(n) + 0.12 + 0.11 / math.sqrt(n)) * d
    total = 0.0
    for j in range(1, 101):
        term = 2 * (-1) ** (j - 1) * math.exp(-2 * j * j * lam * lam)
        total += term
        if abs(term) < 1e-16:
            break
    return min(1.0, max(0.0, total))


def ks_uniform(samples: Iterable[float], low: float, high: float) -> KsResult:
    """Whether ``samples`` look uniform on [low, high): the KS statistic and p-value."""
    if not high > low:
        raise ValueError("the interval is empty")
    xs = sorted((x - low) / (high - low) for x in samples)
    n = len(xs)
    if n == 0:
        raise ValueError("a KS test needs at least one sample")
    d = 0.0
    for i, x in enumerate(xs):
        u = min(1.0, max(0.0, x))
        d = max(d, (i + 1) / n - u, u - i / n)
    return KsResult(n, d, kolmogorov_sf(n, d))


def histogram(samples: Iterable[float], low: float, high: float, bins: int) -> list[int]:
    """Counts of ``samples`` in ``bins`` equal slices of [low, high); a sample
    outside the interval is an error (an answer outside its window)."""
    if bins < 1 or not high > low:
        raise ValueError("at least one bin over a non-empty interval")
    counts = [0] * bins
    width = (high - low) / bins
    for x in samples:
        if not low <= x < high:
            raise ValueError(f"{x} lies outside [{low}, {high})")
        counts[min(bins - 1, int((x - low) / width))] += 1
    return counts


def distribution_table(samples: Sequence[float], window: float, bins: int, *, bar: int = 40) -> str:
    """A Markdown table of the answer times across a window: one row per
    slice (seconds from the request), its count, share, and a bar."""
    counts = histogram(samples, 0.0, window, bins)
    total = len(samples)
    width = window / bins
    peak = max(counts) or 1
    lines = ["| answer time (s) | answers | share | distribution |", "|---|---:|---:|---|"]
    for i, count in enumerate(counts):
        share = count / total if total else 0.0
        lines.append(
            f"| {i * width:g} - {(i + 1) * width:g} | {count} | {share:.1%} | {'#' * round(bar * count / peak)} |"
        )
    return "\n".join(lines)
