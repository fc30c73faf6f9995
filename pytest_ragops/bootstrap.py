"""Seeded BCa bootstrap intervals of a mean over cases, in bounded memory.

Resamples draw whole cases: a case's records (its variants, its repeats) move together
because they are not independent samples, and the statistic is the mean over all
records of the drawn cases, i.e. ``sum(case sums) / sum(case counts)`` of the drawn
cases. Each batch of resamples is a matrix of how often each case was drawn, and every
sample with the same number of cases (every metric of every scope) is resampled by one
matrix product with that batch: the draw and the product are shared, memory is bounded
by about ``BOOTSTRAP_BATCH_COUNTS`` counts whatever the number of cases, resamples or
samples (:func:`batch_size`).

The case sums are rounded to a binary grid fine enough that every product and partial
sum is exact in float64 (see :func:`_quantum`), so the distribution does not depend on
the order a BLAS library adds in: the same interval on every run and every machine.
"""

from __future__ import annotations

import math
from statistics import NormalDist
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "BOOTSTRAP_BATCH",
    "BOOTSTRAP_BATCH_COUNTS",
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "batch_size",
    "case_sums",
    "intervals",
]

#: Fixed so the same records always give the same interval.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240527
#: At most this many resamples drawn at once (fewer for many cases, see batch_size).
BOOTSTRAP_BATCH = 50
#: Counts (resamples x cases) held per batch: 131,072, about 1 MB per buffer, so 5,000
#: cases draw 26 resamples at a time instead of 50 (6 MB less at the report's peak).
BOOTSTRAP_BATCH_COUNTS = 1 << 17

_NORMAL = NormalDist()

#: One sample: per case (in first-seen order), the sum of its values and their count.
CaseSums = tuple["Sequence[float]", "Sequence[float]"]


def case_sums(values: Sequence[float], groups: Sequence[str] | None) -> CaseSums:
    """Per case (in first-seen order): the sum of its values and how many there are."""
    if groups is None:
        return [float(v) for v in values], [1.0] * len(values)
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for v, g in zip(values, groups, strict=True):
        sums[g] = sums.get(g, 0.0) + v
        counts[g] = counts.get(g, 0.0) + 1.0
    return list(sums.values()), list(counts.values())


def batch_size(n: int) -> int:
    """Resamples per batch for ``n`` cases: ``BOOTSTRAP_BATCH`` up to 2,621 cases, then
    fewer. The draws equal ``scipy.stats.bootstrap(..., batch=batch_size(n))``'s."""
    return max(1, min(BOOTSTRAP_BATCH, BOOTSTRAP_BATCH_COUNTS // max(n, 1)))


def _quantum(sums: Any, n: int, np: Any) -> float:
    """A power of two such that sums rounded to multiples of it add up exactly.

    A resample's total is at most ``n * max|sum|``; with the grid at ``2**-k`` that
    total needs ``log2(n * max|sum|) + k`` bits, kept within float64's 53. At 5,000
    cases of four [0, 1] scores the grid is 2**-38: far below any score's resolution.
    """
    top = float(np.max(np.abs(sums))) * n
    bits = 52 - max(0, math.ceil(math.log2(top + 1.0)))
    return float(2.0 ** -min(bits, 60))


def intervals(
    samples: Sequence[CaseSums], confidence: float = 0.95
) -> list[tuple[float, float] | None]:
    """The BCa interval of each sample (see the module docstring), else the percentile
    interval; None below two cases or when neither is finite.

    Each interval depends only on its own sample and the fixed seed, whichever other
    samples are passed with it. The jackknife behind the acceleration is in closed form
    (leave one case out of the sums), O(n) instead of O(n^2).
    """
    import numpy as np

    out: list[tuple[float, float] | None] = [None] * len(samples)
    by_n: dict[int, list[tuple[int, Any, Any]]] = {}
    for k, (sums, counts) in enumerate(samples):
        if len(sums) < 2:
            continue
        c = np.asarray(counts, dtype=float)
        s = np.asarray(sums, dtype=float)
        means = s / c
        if means.min() == means.max():
            out[k] = (float(means[0]), float(means[0]))
            continue
        q = _quantum(s, len(s), np)
        by_n.setdefault(len(s), []).append((k, np.round(s / q) * q, c))
    alpha = (1 - confidence) / 2
    for n, items in by_n.items():
        dists = _resample(n, items, np)
        for dist, (k, s, c) in zip(dists.T, items, strict=True):
            out[k] = _bca(dist, s, c, alpha, np)
    return out


def _resample(n: int, items: Sequence[tuple[int, Any, Any]], np: Any) -> Any:
    """``BOOTSTRAP_RESAMPLES x len(items)`` resampled means, one shared draw of cases."""
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    sums = np.stack([s for _, s, _ in items], axis=1)  # n x samples
    counts = np.stack([c for _, _, c in items], axis=1)
    equal = bool(np.all(counts == counts[0]))  # each sample: every case the same count
    out = np.empty((BOOTSTRAP_RESAMPLES, len(items)))
    batch = batch_size(n)
    for start in range(0, BOOTSTRAP_RESAMPLES, batch):
        size = min(batch, BOOTSTRAP_RESAMPLES - start)
        idx = rng.integers(0, n, (size, n))
        idx += np.arange(size)[:, None] * n
        drawn = np.bincount(idx.ravel(), minlength=size * n).reshape(size, n).astype(float)
        den = counts[0] * n if equal else drawn @ counts
        out[start : start + size] = (drawn @ sums) / den
    return out


def _bca(dist: Any, s: Any, c: Any, alpha: float, np: Any) -> tuple[float, float] | None:
    """BCa interval from a bootstrap distribution (Efron & Tibshirani 14.3, as scipy),
    else the percentile interval; None when neither is finite."""
    total_s, total_c = float(np.sum(s)), float(np.sum(c))
    theta = total_s / total_c
    below = int(np.count_nonzero(dist < theta) + np.count_nonzero(dist <= theta))
    n = float(len(s))
    jack = (total_s - s) / (total_c - c)
    u = (n - 1) * (jack.mean() - jack)
    spread = float(np.sum(u**2))
    ends: tuple[float, float] | None = None
    if 0 < below < 2 * len(dist) and spread > 0:
        z0 = _NORMAL.inv_cdf(below / (2 * len(dist)))
        a = (float(np.sum(u**3)) / n**3) / 6 / (spread / n**2) ** 1.5
        z = _NORMAL.inv_cdf(alpha)
        lo_arg, hi_arg = 1 - a * (z0 + z), 1 - a * (z0 - z)
        if lo_arg != 0 and hi_arg != 0:
            ends = (
                _NORMAL.cdf(z0 + (z0 + z) / lo_arg),
                _NORMAL.cdf(z0 + (z0 - z) / hi_arg),
            )
    for q in (ends, (alpha, 1 - alpha)):
        if q is not None and all(math.isfinite(x) for x in q):
            low, high = (float(x) for x in np.quantile(dist, q))
            if math.isfinite(low) and math.isfinite(high):
                return (low, high)
    return None
