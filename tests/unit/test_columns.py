"""Columns: the same aggregates as record by record, every scope from one pass."""

from __future__ import annotations

import math
import random
from dataclasses import replace

import pytest

from pytest_ragops.columns import Columns
from pytest_ragops.results import (
    Record,
    ScoreDict,
    aggregate,
    aggregate_scopes,
    metrics_present,
    summarize,
)

METRICS = ("faithfulness", "answer_relevancy", "context_recall", "house_style")


def _records(seed: int = 1, cases: int = 60) -> list[Record]:
    """Variants, repeats of a case in two tests, errors, judge errors, no reference,
    unknown cost, judge costs and spreads: every path the aggregates take."""
    rng = random.Random(seed)
    out: list[Record] = []
    for c in range(cases):
        for v in ("a", "b", "c"):
            scores: dict[str, ScoreDict] = {}
            for m in METRICS:
                if m == "house_style" and c % 4:
                    continue  # a custom metric only some records have
                value: float | None = round(rng.random(), 3)
                score = ScoreDict(value=value, judge="offline:test", error=None)
                if m == "context_recall" and c % 5 == 0:
                    score = ScoreDict(value=None, judge="offline:test", error=None)
                    score["applicable"] = False
                elif rng.random() < 0.05:
                    score = ScoreDict(value=None, judge="offline:test", error="judge timed out")
                if rng.random() < 0.3:
                    score["cost_usd"] = round(rng.random() / 1000, 6)
                if m == "faithfulness" and c % 7 == 0:
                    score["spread"] = round(rng.random() / 2, 3)
                scores[m] = score
            error = "pipeline failed" if rng.random() < 0.04 else None
            out.append(
                Record(
                    test_id=f"tests/test_eval.py::test_{c % 3}",
                    question=f"q{c}?",
                    answer="" if error else "a.",
                    case_id=None if c % 9 == 0 else f"case-{c}",
                    variant=v,
                    scores={} if error else scores,
                    cost_usd=None if c == 13 else round(rng.random() / 100, 5),
                    latency_s=None if error else round(rng.uniform(0.1, 2.0), 3),
                    error=error,
                )
            )
    return out


def test_summaries_equal_the_record_by_record_computation() -> None:
    records = _records()
    _, summaries = aggregate(records)
    for metric in metrics_present(records):
        got = replace(summaries[metric], spread_mean=None, spread_max=None)  # summarize has none
        assert got == summarize(metric, records, intervals=metric in METRICS)


def test_named_aggregates_follow_the_records() -> None:
    records = _records()
    named, _ = aggregate(records)
    n = len(records)
    assert named["records"] == n
    assert named["pass_rate"] == sum(r.passed() for r in records) / n
    assert named["error_rate"] == sum(r.error is not None for r in records) / n
    assert named["total_cost_usd"] is None  # one unknown cost: no partial total
    costs = [c for r in records if (c := r.judge_cost()) is not None]
    assert named["judge_cost_usd"] == pytest.approx(math.fsum(costs), rel=1e-12)
    per_metric = {
        m: math.fsum(
            s.get("cost_usd") or 0.0 for r in records if (s := r.scores.get(m)) is not None
        )
        for m in METRICS
    }
    for m, spend in per_metric.items():
        assert named[f"judge_cost_usd_{m}"] == pytest.approx(spend, rel=1e-12)
    known = [r for r in records if r.cost_usd is not None]
    named_known, _ = aggregate(known)
    assert named_known["total_cost_usd"] == math.fsum(r.cost_usd or 0.0 for r in known)


def test_every_scope_equals_its_own_aggregate() -> None:
    """Shared columns and one shared bootstrap change no scope's figures, intervals included."""
    records = _records(seed=4)
    scopes = aggregate_scopes(records)
    assert scopes.suite == aggregate(records)
    for v, got in scopes.variants.items():
        assert got == aggregate([r for r in records if r.variant == v])
    for t, got in scopes.tests.items():
        assert got == aggregate([r for r in records if r.test_id == t])
    assert scopes.problems == ()


def test_known_test_aggregates_are_reused() -> None:
    records = _records()
    test = records[0].test_id
    marker: tuple[dict[str, float | None], dict[str, object]] = ({"records": -1.0}, {})
    scopes = aggregate_scopes(records, {test: marker})  # type: ignore[dict-item]
    assert scopes.tests[test] is marker


def test_spreads_are_summarised_per_metric() -> None:
    records = _records()
    _, summaries = aggregate(records)
    spreads = [
        float(s.get("spread") or 0.0)
        for r in records
        if (s := r.scores.get("faithfulness")) and "spread" in s
    ]
    assert summaries["faithfulness"].spread_max == max(spreads)
    assert summaries["faithfulness"].spread_mean == pytest.approx(sum(spreads) / len(spreads))
    assert summaries["answer_relevancy"].spread_max is None


def test_a_number_that_is_not_finite_is_missing_and_named() -> None:
    records = _records(cases=10)
    records[2].latency_s = math.nan  # records built by hand skip the checks
    records[4].scores["faithfulness"]["value"] = math.inf
    records[5].scores["answer_relevancy"]["repeats"] = [0.5, math.nan]
    columns = Columns(records)
    assert len(columns.problems) == 3
    assert columns.problems[0].startswith(
        "record 3 of tests/test_eval.py::test_0 (q:q0?, variant c): latency_s is nan,"
    )
    assert "scores.faithfulness.value is inf" in columns.problems[1]
    assert "scores.answer_relevancy.repeats" in columns.problems[2]
    _, summaries = aggregate(records)
    clean = [r for i, r in enumerate(records) if i != 2]
    assert summaries["latency_s"].missing == aggregate(clean)[1]["latency_s"].missing + 1
    assert aggregate_scopes(records).problems == tuple(columns.problems)


def test_many_bad_numbers_are_counted_past_five() -> None:
    records = _records(cases=10)
    for r in records:
        r.latency_s = math.nan
    problems = Columns(records).problems
    assert len(problems) == 6
    assert problems[-1] == f"{len(records) - 5} more record numbers are not finite or out of range"


def test_no_records() -> None:
    named, summaries = Columns([]).scopes([None])[0]
    assert named["records"] == 0.0
    assert named["pass_rate"] is None
    assert named["total_cost_usd"] is None
    assert set(summaries) == {"cost_usd", "latency_s"}


def test_numbers_out_of_range_are_missing_and_named() -> None:
    records = _records(cases=10)
    records[0].latency_s = -1.0
    records[1].cost_usd = -0.5
    records[2].scores["faithfulness"]["value"] = 1.5
    columns = Columns(records)
    assert [p.split(": ", 1)[1] for p in columns.problems] == [
        "cost_usd is -0.5, below 0",
        "latency_s is -1.0, below 0",
        "scores.faithfulness.value is 1.5, above 1",
    ]
    assert sorted(columns.flagged) == [
        (0, "latency_s"),
        (1, "cost_usd"),
        (2, "scores.faithfulness.value"),
    ]
    named, summaries = aggregate(records)
    assert summaries["latency_s"].minimum is not None
    assert summaries["latency_s"].minimum >= 0
    assert named["total_cost_usd"] is None  # a refused cost is an unknown cost
    assert summaries["faithfulness"].maximum is not None
    assert summaries["faithfulness"].maximum <= 1.0
