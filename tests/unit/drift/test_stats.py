from __future__ import annotations

import json

import numpy as np
import pytest

from pytest_ragops.drift.stats import compare_scores
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
