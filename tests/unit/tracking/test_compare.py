"""Winner rule, budget and the paired bootstrap (pure, on VariantRun objects)."""

from __future__ import annotations

import pytest

from pytest_ragops.errors import RagopsError
from pytest_ragops.tracking.compare import choose_winner, paired_bootstrap, parse_rule
from pytest_ragops.tracking.reader import VariantRun


def _run(name: str, faith: list[float], cost: float | None) -> VariantRun:
    metrics = {"faithfulness_mean": sum(faith) / len(faith)}
    if cost is not None:
        metrics["cost_per_query_usd"] = cost
    return VariantRun(
        run_id=f"id-{name}", name=name, metrics=metrics, params={}, tags={},
        cases={"case_id": [f"c{i}" for i in range(len(faith))], "faithfulness": list(faith)},
    )  # fmt: skip


def test_rules_parse() -> None:
    assert parse_rule("faithfulness_mean").maximize is True
    assert parse_rule("cost_per_query_usd").maximize is False
    rule = parse_rule("min:latency_p95_s")
    assert (rule.metric, rule.maximize, rule.case_metric) == ("latency_p95_s", False, "latency_s")
    assert parse_rule("max:faithfulness_mean").case_metric == "faithfulness"
    with pytest.raises(RagopsError, match=r"^--rule: expected max:METRIC"):
        parse_rule("best:faithfulness_mean")


def test_clear_winner_is_significant() -> None:
    runs = [
        _run("good", [1.0, 1.0, 0.9, 1.0, 1.0, 0.95, 1.0, 1.0], 0.002),
        _run("tips", [0.5, 0.6, 0.5, 0.7, 0.5, 0.6, 0.5, 0.5], 0.001),
        _run("wide", [0.8, 0.75, 0.9, 0.8, 0.85, 0.8, 0.75, 0.8], 0.003),
    ]
    d = choose_winner(runs, parse_rule("max:faithfulness_mean"))
    assert d.ranking == ["good", "wide", "tips"]
    assert d.significance is not None
    assert d.significance.pairs == 8
    assert d.significance.significant is True
    assert 0 < d.significance.ci_low <= d.significance.mean_difference <= d.significance.ci_high


def test_a_tie_is_not_significant() -> None:
    runs = [_run("a", [1.0, 0.5, 1.0, 0.5], 0.001), _run("b", [0.5, 1.0, 0.5, 1.0], 0.001)]
    d = choose_winner(runs, parse_rule("faithfulness_mean"))
    assert d.winner == "a"  # equal means: the name decides, and the test says it is no lead
    assert d.significance is not None
    assert d.significance.significant is False
    assert d.significance.ci_low < 0 < d.significance.ci_high


def test_budget_excludes_expensive_and_unknown_cost() -> None:
    runs = [_run("good", [1.0, 1.0], 0.002), _run("cheap", [0.5, 0.6], 0.0004),
            _run("unknown", [1.0, 1.0], None)]  # fmt: skip
    d = choose_winner(runs, parse_rule("faithfulness_mean"), budget=0.001)
    assert d.winner == "cheap"
    assert d.excluded == {
        "good": "cost_per_query_usd 0.002000 over budget 0.001",
        "unknown": "cost_per_query_usd unknown",
    }
    assert d.significance is None
    assert d.note == "only one run qualifies: nothing to test its lead against"
    none = choose_winner(runs, parse_rule("faithfulness_mean"), budget=0.0001)
    assert none.winner is None
    with pytest.raises(RagopsError, match="--budget: must be a non-negative number"):
        choose_winner(runs, parse_rule("faithfulness_mean"), budget=-1.0)


def test_bootstrap_is_seeded_and_constant_diffs_collapse() -> None:
    diffs = [0.1, 0.2, 0.0, 0.3, 0.1]
    assert paired_bootstrap(diffs) == paired_bootstrap(diffs)
    assert paired_bootstrap([0.25, 0.25, 0.25]) == (0.25, 0.25, 0.25)
