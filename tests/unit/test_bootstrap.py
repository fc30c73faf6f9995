"""The shared-draw BCa bootstrap: scipy's answer, exact sums, the same on every run."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys

import numpy as np
import pytest
from scipy import stats

from pytest_ragops import bootstrap
from pytest_ragops.bootstrap import (
    BOOTSTRAP_BATCH,
    BOOTSTRAP_BATCH_COUNTS,
    BOOTSTRAP_RESAMPLES,
    BOOTSTRAP_SEED,
    batch_size,
    case_sums,
    intervals,
)


def _cases(seed: int, n: int, per_case: tuple[int, ...] = (1,)) -> tuple[list[float], list[str]]:
    rng = random.Random(seed)
    values: list[float] = []
    groups: list[str] = []
    for c in range(n):
        for _ in range(rng.choice(per_case)):
            values.append(min(1.0, max(0.0, rng.gauss(0.7, 0.2))))
            groups.append(f"case-{c}")
    return values, groups


def _scipy_bca(sums: list[float], counts: list[float]) -> tuple[float, float]:
    """scipy.stats.bootstrap of the same statistic, drawing the same case indices."""

    def ratio(s: np.ndarray, c: np.ndarray, axis: int = -1) -> np.ndarray:
        return np.asarray(np.sum(s, axis=axis) / np.sum(c, axis=axis))

    res = stats.bootstrap(
        (np.asarray(sums), np.asarray(counts)),
        ratio,
        paired=True,
        vectorized=True,
        n_resamples=BOOTSTRAP_RESAMPLES,
        batch=batch_size(len(sums)),
        method="BCa",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
    )
    return float(res.confidence_interval.low), float(res.confidence_interval.high)


@pytest.mark.parametrize(
    ("n", "per_case"), [(30, (1,)), (200, (1, 2, 3)), (1000, (4,)), (5000, (1, 4))]
)
def test_matches_scipy_bca(n: int, per_case: tuple[int, ...]) -> None:
    values, groups = _cases(n, n, per_case)
    sums, counts = case_sums(values, groups)
    (ours,) = intervals([(sums, counts)])
    assert ours is not None
    # The case sums are rounded to a grid of 2**-38 or finer: equal far beyond a report's digits.
    assert ours == pytest.approx(_scipy_bca(list(sums), list(counts)), abs=1e-9)


def test_batches_hold_a_bounded_number_of_counts() -> None:
    assert batch_size(200) == BOOTSTRAP_BATCH
    assert batch_size(5000) == 26
    assert batch_size(10**7) == 1
    for n in (1, 2621, 2622, 5000, 20000, 10**6):
        assert batch_size(n) * n <= max(BOOTSTRAP_BATCH_COUNTS, n)


def test_an_interval_does_not_depend_on_the_samples_beside_it() -> None:
    samples = [case_sums(*_cases(seed, 300, (1, 2))) for seed in range(4)]
    samples.append(case_sums(*_cases(9, 120)))  # another number of cases: its own draw
    together = intervals(samples)
    alone = [intervals([s])[0] for s in samples]
    assert together == alone
    assert len(set(together)) == len(together)


def test_resampled_sums_are_exact_whatever_the_adding_order() -> None:
    """The matrix product adds in BLAS's order; on the grid every order gives one answer."""
    values, groups = _cases(3, 500, (1, 2, 4))
    s, c = (np.asarray(x, dtype=float) for x in case_sums(values, groups))
    q = bootstrap._quantum(s, len(s), np)
    grid = np.round(s / q) * q
    rng = np.random.default_rng(BOOTSTRAP_SEED)
    idx = rng.integers(0, len(s), (BOOTSTRAP_BATCH, len(s)))
    by_gather = np.take(grid, idx).sum(axis=-1)  # pairwise summation
    by_loop = [sum(float(grid[i]) for i in row) for row in idx]  # left to right
    dist = bootstrap._resample(len(s), [(0, grid, c)], np)[:BOOTSTRAP_BATCH, 0]
    den = np.take(c, idx).sum(axis=-1)
    assert (by_gather / den).tolist() == dist.tolist()
    assert (np.asarray(by_loop) / den).tolist() == dist.tolist()


_CHILD = """
import json, random, sys
from pytest_ragops.bootstrap import case_sums, intervals
rng = random.Random(5)
values = [rng.random() for _ in range(3000)]
groups = [f"c{i // 3}" for i in range(3000)]
print(json.dumps(intervals([case_sums(values, groups), case_sums(values[:700], None)])))
"""


def test_the_same_interval_in_every_process() -> None:
    """Other hash seeds and BLAS thread counts: the same interval to the last bit."""
    seen = []
    for hash_seed, threads in (("0", "1"), ("1", "2"), ("12345", "2")):
        env = {
            **os.environ,
            "PYTHONHASHSEED": hash_seed,
            "OPENBLAS_NUM_THREADS": threads,
            "OMP_NUM_THREADS": threads,
        }
        out = subprocess.run(
            [sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True
        )
        seen.append(json.loads(out.stdout))
    assert seen[0] == seen[1] == seen[2]
    assert all(ci is not None for ci in seen[0])


def test_degenerate_samples() -> None:
    assert intervals([([0.5], [1.0])]) == [None]  # one case
    assert intervals([([0.5, 1.5], [1.0, 3.0])]) == [(0.5, 0.5)]  # every case mean 0.5
    low, high = intervals([([0.0, 1.0], [1.0, 1.0])])[0] or (None, None)
    assert low is not None
    assert high is not None
    assert 0.0 <= low <= 0.5 <= high <= 1.0


def test_memory_is_one_batch_of_counts() -> None:
    """Peak traced memory at 20,000 cases stays near one batch, not every resample."""
    import tracemalloc

    values, groups = _cases(1, 20_000)
    sample = case_sums(values, groups)
    tracemalloc.start()
    try:
        intervals([sample, sample, sample])
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    one_batch = BOOTSTRAP_BATCH * 20_000 * 8
    # Indices, counts and their float copy: a few batches, never 2,000 resamples' worth.
    assert peak < 5 * one_batch < BOOTSTRAP_RESAMPLES * 20_000 * 8 / 5
