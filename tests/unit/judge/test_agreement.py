"""Agreement statistics: checked against scipy's own implementations and by hand."""

from __future__ import annotations

import math

import pytest
from scipy import stats

from pytest_ragops.judge.agreement import Pair, agreement, summarize


def pairs(labels: list[float], scores: list[float | None], kind: str = "k") -> list[Pair]:
    return [
        Pair(f"i{n}", kind, "tune" if n % 3 else "test", lab, sc, None if sc is not None else "x")
        for n, (lab, sc) in enumerate(zip(labels, scores, strict=True))
    ]


LABELS = [1.0, 1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0]
SCORES: list[float | None] = [0.9, 0.8, 0.4, 0.3, 0.6, 1.0, 0.0, 0.7, 0.2, 0.5]


def test_auc_is_mann_whitney_u_over_pairs() -> None:
    result = agreement(pairs(LABELS, SCORES), 0.5)
    pos = [s for s, lab in zip(SCORES, LABELS, strict=True) if lab and s is not None]
    neg = [s for s, lab in zip(SCORES, LABELS, strict=True) if not lab and s is not None]
    u = stats.mannwhitneyu(pos, neg).statistic
    assert result["auc"]["value"] == pytest.approx(u / (len(pos) * len(neg)))


def test_spearman_matches_scipy() -> None:
    result = agreement(pairs(LABELS, SCORES), 0.5)
    assert result["spearman"]["value"] == pytest.approx(stats.spearmanr(LABELS, SCORES).statistic)


def test_accuracy_and_kappa_by_hand() -> None:
    result = agreement(pairs(LABELS, SCORES), 0.5)
    verdicts = [s is not None and s >= 0.5 for s in SCORES]
    agree = sum(v == bool(lab) for v, lab in zip(verdicts, LABELS, strict=True)) / len(LABELS)
    p_l, p_v = sum(LABELS) / 10, sum(verdicts) / 10
    expected = p_l * p_v + (1 - p_l) * (1 - p_v)
    assert result["accuracy"]["value"] == pytest.approx(agree)
    assert result["kappa"]["value"] == pytest.approx((agree - expected) / (1 - expected))


def test_intervals_are_seeded_and_contain_the_value() -> None:
    first = agreement(pairs(LABELS, SCORES), 0.5, seed=3)
    assert first == agreement(pairs(LABELS, SCORES), 0.5, seed=3)
    for name in ("auc", "accuracy", "kappa", "spearman"):
        stat = first[name]
        assert stat["low"] <= stat["value"] <= stat["high"], name


def test_a_missing_score_is_a_wrong_verdict_not_a_pass() -> None:
    scores: list[float | None] = [1.0, None, 0.0, 0.0]
    result = agreement(pairs([1.0, 1.0, 0.0, 0.0], scores), 0.5)
    assert result["errors"] == 1
    assert result["accuracy"]["value"] == 0.75
    assert result["auc"]["value"] == 1.0  # over the scored items only


def test_undefined_statistics_are_none() -> None:
    result = agreement(pairs([1.0, 1.0], [0.2, 0.9]), 0.5)  # one class only
    assert result["auc"] == {"value": None, "low": None, "high": None}
    assert not math.isnan(result["accuracy"]["value"])


def test_summary_has_splits_and_kinds() -> None:
    by_metric = {"faithfulness": pairs(LABELS, SCORES, kind="negated")}
    summary = summarize(by_metric, {"faithfulness": 0.5}, ("all", "tune", "test"))
    assert set(summary["splits"]) == {"all", "tune", "test"}
    assert summary["splits"]["test"]["faithfulness"]["n"] == 4
    kind = summary["kinds"]["negated"]["faithfulness"]
    assert (kind["n"], kind["correct"]) == (10, 7)  # 0.4, 0.6 and 0.5 are wrong at 0.5
