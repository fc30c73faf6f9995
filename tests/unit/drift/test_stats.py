from __future__ import annotations

import itertools
import json
import math
from datetime import UTC, datetime
from statistics import NormalDist

import numpy as np
import pytest
from scipy import stats

from pytest_ragops.drift.simulate import generate
from pytest_ragops.drift.stats import PeriodStats, compare_scores, ks_greater, mann_whitney_less
from pytest_ragops.errors import RagopsError


def _scores(mean: float, n: int, seed: int, sd: float = 0.1) -> np.ndarray:
    return np.clip(np.random.default_rng(seed).normal(mean, sd, n), 0.0, 1.0)


def test_big_significant_drop_is_drift() -> None:
    result = compare_scores(_scores(0.55, 500, 1), _scores(0.70, 500, 2))
    assert result["status"] == "drift"
    assert result["drifting"] is True
    assert result["p_value"] is not None
    assert result["p_value"] < 1e-10
    low, high = result["delta_ci"]  # type: ignore[misc]
    assert low < result["delta"] < high < -0.05  # type: ignore[operator]
    assert "ragops drift topics" in str(result["action"])
    json.dumps(result)


def test_big_drop_on_few_samples_is_only_possible_drift() -> None:
    recent = np.array([0.9, 0.2, 0.8, 0.1, 0.7, 0.3, 0.6, 0.5, 0.2, 0.9])
    baseline = np.array([0.2, 0.9, 0.3, 0.8, 0.4, 0.95, 0.5, 0.6, 0.8, 0.7])
    result = compare_scores(recent, baseline, min_samples=10)
    assert result["delta"] is not None
    assert result["delta"] < -0.05
    assert result["drifting"] is True  # the classic rule alone would alarm
    assert result["p_value"] is not None
    assert result["p_value"] > 0.05
    assert result["status"] == "possible_drift"


def test_tiny_drop_on_huge_samples_is_not_drift() -> None:
    # 0.01 lower on 200k scores each: overwhelmingly "significant", but not material.
    result = compare_scores(_scores(0.69, 200_000, 3), _scores(0.70, 200_000, 4))
    assert result["p_value"] is not None
    assert result["p_value"] < 1e-6
    assert result["status"] == "no_drift"
    assert result["drifting"] is False


def test_significant_small_drop_with_wide_interval_is_possible_drift() -> None:
    # Recent scores rank below most baseline scores (significant), the mean drop is only 0.04,
    # but the baseline is so spread that the interval reaches well past -0.05.
    recent = np.linspace(0.64, 0.68, 40)
    baseline = np.array([0.9] * 30 + [0.1] * 10)
    result = compare_scores(recent, baseline)
    assert result["delta"] == pytest.approx(-0.04)
    assert result["p_value"] is not None
    assert result["p_value"] < 0.05
    assert result["delta_ci_low"] is not None
    assert result["delta_ci_low"] < -0.05
    assert result["drifting"] is False
    assert result["status"] == "possible_drift"
    assert result["prob_recent_higher"] == pytest.approx(0.25)


def test_no_change_is_no_drift_and_ks_agrees() -> None:
    for test in ("mannwhitney", "ks"):
        result = compare_scores(_scores(0.7, 1000, 9), _scores(0.7, 1000, 10), test=test)
        assert result["status"] == "no_drift"
        assert result["test"] == test
        assert result["action"] == "No action needed."


def test_too_few_scores_is_insufficient_data() -> None:
    result = compare_scores(_scores(0.2, 5, 11), _scores(0.8, 500, 12))
    assert result["status"] == "insufficient_data"
    assert result["p_value"] is None
    assert "need at least 30 scores in each period (recent 5, baseline 500)" in str(
        result["action"]
    )
    empty = compare_scores(np.array([]), np.array([]))
    assert empty["recent_avg_score"] is None
    assert empty["delta_ci"] is None
    assert empty["drifting"] is False
    json.dumps(empty, allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_samples": 1}, "min_samples: must be an integer >= 2"),
        ({"min_drop": 1.5}, "min_drop: must be in [0, 1)"),
        ({"alpha": 0.0}, "alpha: must be in (0, 1)"),
        ({"confidence": 1.0}, "confidence: must be in (0, 1)"),
        ({"test": "t"}, "test: unknown test 't'; choose one of mannwhitney, ks"),
    ],
)
def test_bad_parameters_are_rejected(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(RagopsError) as info:
        compare_scores(np.ones(50), np.ones(50), **kwargs)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


def _midpoints(counts: tuple[int, ...]) -> np.ndarray:
    bins = len(counts)
    return np.repeat((np.arange(bins) + 0.5) / bins, counts)


def test_binned_tests_are_scipy_on_the_binned_scores() -> None:
    # Exactness of the method: on the bins' values the formulas are scipy's, to rounding.
    rng = np.random.default_rng(21)
    for n_r, n_b, shift in [(40, 60, 0.1), (500, 3000, 0.0), (2000, 2000, 0.02)]:
        r = PeriodStats.from_scores(np.clip(rng.normal(0.6 - shift, 0.15, n_r), 0, 1))
        b = PeriodStats.from_scores(np.clip(rng.normal(0.6, 0.15, n_b), 0, 1))
        xr, xb = _midpoints(r.counts), _midpoints(b.counts)
        want = stats.mannwhitneyu(xr, xb, alternative="less", method="asymptotic")
        p, prob = mann_whitney_less(r.counts, b.counts)
        assert p == pytest.approx(want.pvalue, rel=1e-9)
        assert prob == pytest.approx(want.statistic / (n_r * n_b), rel=1e-12)
        ks = stats.ks_2samp(xr, xb, alternative="greater", method="asymp")
        assert ks_greater(r.counts, b.counts) == pytest.approx(ks.pvalue, rel=1e-9)


#: Measured tolerance of the binned p-values against the same test on the raw scores, over
#: the simulations below (and documented in docs/drift.md): Mann-Whitney differs by at most
#: 0.0025 absolute and 9% relative; KS, whose statistic is read at bin edges, by at most
#: 0.05 absolute and a factor of 2.2. The bounds leave a little room above those maxima.
TOLERANCE = {"mannwhitney": (0.005, 0.1), "ks": (0.06, 0.85)}


def _row_level_verdict(recent: np.ndarray, baseline: np.ndarray, test: str) -> tuple[str, float]:
    """The removed row-level computation: every score in memory, scipy on the raw rows."""
    if test == "mannwhitney":
        p = stats.mannwhitneyu(recent, baseline, alternative="less", method="asymptotic").pvalue
    else:
        p = stats.ks_2samp(recent, baseline, alternative="greater", method="asymp").pvalue
    delta = recent.mean() - baseline.mean()
    se = math.sqrt(recent.var(ddof=1) / recent.size + baseline.var(ddof=1) / baseline.size)
    ci_low = delta - NormalDist().inv_cdf(0.975) * se
    drifting, significant = delta < -0.05, p < 0.05
    if drifting and significant:
        return "drift", float(p)
    if drifting or (significant and ci_low < -0.05):
        return "possible_drift", float(p)
    return "no_drift", float(p)


@pytest.mark.parametrize("test", ["mannwhitney", "ks"])
def test_simulations_keep_their_status_and_p_within_tolerance(test: str) -> None:
    abs_tol, log_tol = TOLERANCE[test]
    statuses: set[str] = set()
    now = datetime(2026, 3, 1, tzinfo=UTC)
    for seed, shift, fraction in itertools.product(range(4), (7, 12, None), (0.4, 0.1, 0.03)):
        rows = generate(shift_day=shift, shift_fraction=fraction, seed=seed, end=now)
        ts = np.array([r.ts for r in rows])
        scores = np.array([r.top_score for r in rows])
        for window in (7, 5, 3):
            start = now.timestamp() - window * 86400
            recent, baseline = scores[ts >= start], scores[ts < start]
            want_status, want_p = _row_level_verdict(recent, baseline, test)
            got = compare_scores(recent, baseline, test=test)
            assert got["status"] == want_status, (seed, shift, fraction, window)
            p = got["p_value"]
            assert p is not None
            assert abs(p - want_p) <= abs_tol
            assert abs(math.log(max(p, 1e-300)) - math.log(max(want_p, 1e-300))) <= log_tol
            statuses.add(want_status)
    assert statuses == {"drift", "possible_drift", "no_drift"}  # every branch was compared
