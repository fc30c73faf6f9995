from __future__ import annotations

import json

import pytest

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.gates import (
    Gate,
    GateResult,
    evaluate_gates,
    gate_keys,
    parse_gate,
    parse_gates,
    parse_threshold,
)
from pytest_ragops.judge.base import QUALITY_METRICS
from pytest_ragops.results import Record, ScoreDict

SRC = "pyproject.toml: thresholds"


def _rec(
    faith: float | None = 0.9,
    *,
    cost: float | None = 0.01,
    latency: float | None = 1.0,
    error: str | None = None,
) -> Record:
    scores = (
        {}
        if error
        else {"faithfulness": ScoreDict(value=faith, judge="offline:claim-overlap", error=None)}
    )
    return Record(
        test_id="t",
        question="q",
        answer="a",
        scores=scores,
        cost_usd=cost,
        latency_s=latency,
        error=error,
    )


def _one(key: str, bound: object, records: list[Record]) -> GateResult:
    [result] = evaluate_gates([parse_gate(key, bound, SRC)], records)
    return result


# -- keys and parsing --------------------------------------------------------------------


def test_gate_keys_sorted_and_complete() -> None:
    keys = gate_keys()
    assert keys == sorted(keys)
    for m in QUALITY_METRICS:
        assert m in keys
        for suffix in ("mean", "min", "p50", "p95", "max", "ci_low", "ci_high"):
            assert f"{m}_{suffix}" in keys
    for key in (
        "cost_usd", "total_cost_usd", "cost_per_query_usd", "cost_max_usd", "latency_s",
        "latency_mean_s", "latency_p50_s", "latency_p95_s", "latency_max_s", "pass_rate",
        "error_rate",
    ):  # fmt: skip
        assert key in keys


@pytest.mark.parametrize("key", gate_keys())
def test_every_key_parses(key: str) -> None:
    gate = parse_gate(key, 0.5, SRC)
    assert gate.key == key
    assert gate.bound == 0.5
    assert gate.op in (">=", "<=")
    assert gate.describe() == f"{gate.aggregate} {gate.op} 0.5"
    # Each gate's aggregate is one that aggregate() can produce.
    records = [_rec(0.9), _rec(0.8)]
    [result] = evaluate_gates([gate], records)
    assert result.gate is gate


@pytest.mark.parametrize("key", gate_keys())
def test_direction(key: str) -> None:
    gate = parse_gate(key, 0.5, SRC)
    lower_is_better = "cost" in key or "latency" in key or key == "error_rate"
    assert gate.op == ("<=" if lower_is_better else ">=")


@pytest.mark.parametrize(
    ("key", "aggregate", "metric"),
    [
        ("faithfulness", "faithfulness_mean", "faithfulness"),
        ("context_recall_p95", "context_recall_p95", "context_recall"),
        ("cost_usd", "cost_per_query_usd", "cost_usd"),
        ("total_cost_usd", "total_cost_usd", "cost_usd"),
        ("latency_s", "latency_mean_s", "latency_s"),
        ("latency_p95_s", "latency_p95_s", "latency_s"),
        ("pass_rate", "pass_rate", ""),
    ],
)
def test_key_maps_to_aggregate(key: str, aggregate: str, metric: str) -> None:
    gate = parse_gate(key, 0.1, SRC)
    assert (gate.aggregate, gate.metric) == (aggregate, metric)


@pytest.mark.parametrize(
    ("value", "bound"),
    [(0, 0.0), (1, 1.0), ("0.85", 0.85), (" 0.25", 0.25), (0.5, 0.5), ("1e-1", 0.1)],
)
def test_bounds_accepted(value: object, bound: float) -> None:
    assert parse_gate("faithfulness", value, SRC).bound == bound


def test_cost_and_latency_bounds_may_exceed_one() -> None:
    assert parse_gate("total_cost_usd", 12.5, SRC).bound == 12.5
    assert parse_gate("latency_p95_s", "30", SRC).bound == 30.0


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("faithfulness", 1.01, "bound must be in [0, 1], got 1.01"),
        ("pass_rate", 2, "bound must be in [0, 1], got 2"),
        ("faithfulness", -0.1, "bound must be a finite number >= 0, got -0.1"),
        ("cost_usd", "-1", "bound must be a finite number >= 0, got '-1'"),
        ("faithfulness", float("nan"), "bound must be a finite number >= 0, got nan"),
        ("latency_s", "nan", "bound must be a finite number >= 0, got 'nan'"),
        ("latency_s", float("inf"), "bound must be a finite number >= 0, got inf"),
        ("cost_usd", "-inf", "bound must be a finite number >= 0, got '-inf'"),
        ("faithfulness", True, "bound must be a number, got True"),
        ("cost_usd", False, "bound must be a number, got False"),
        ("faithfulness", "high", "bound must be a number, got 'high'"),
        ("faithfulness", "", "bound must be a number, got ''"),
        ("faithfulness", None, "bound must be a number, got None"),
        ("faithfulness", [0.5], "bound must be a number, got [0.5]"),
    ],
)
def test_bad_bounds_rejected(key: str, value: object, message: str) -> None:
    with pytest.raises(RagopsUsageError) as info:
        parse_gate(key, value, SRC)
    assert str(info.value) == f"{SRC}: {key}: {message}"


@pytest.mark.parametrize("key", ["faithfullness", "latency_p99_s", "accuracy", "cost", ""])
def test_unknown_key_names_it(key: str) -> None:
    with pytest.raises(RagopsUsageError) as info:
        parse_gate(key, 0.5, SRC)
    err = info.value
    assert err.path == SRC
    assert err.field == key
    assert err.message.startswith(f"unknown gate metric {key!r}; ")
    assert "\n" not in str(err)


def test_unknown_key_suggests_close_keys() -> None:
    with pytest.raises(RagopsUsageError) as info:
        parse_gate("latency_p99_s", 1, SRC)
    assert str(info.value) == (
        f"{SRC}: latency_p99_s: unknown gate metric 'latency_p99_s'; "
        "did you mean latency_mean_s, latency_p50_s, latency_p95_s, latency_max_s?"
    )
    with pytest.raises(RagopsUsageError, match="known: faithfulness, answer_relevancy"):
        parse_gate("accuracy", 1, SRC)


def test_parse_threshold() -> None:
    gate = parse_threshold(" faithfulness = 0.85 ")
    assert (gate.key, gate.bound, gate.op) == ("faithfulness", 0.85, ">=")
    assert parse_threshold("cost_per_query_usd=0.01").op == "<="


@pytest.mark.parametrize("text", ["faithfulness", "=0.5", "faithfulness=", "  =  "])
def test_parse_threshold_needs_metric_and_value(text: str) -> None:
    with pytest.raises(RagopsUsageError) as info:
        parse_threshold(text)
    assert str(info.value) == f"--ragops-threshold: expected METRIC=VALUE, got {text!r}"


def test_parse_threshold_bad_value_names_option() -> None:
    with pytest.raises(RagopsUsageError) as info:
        parse_threshold("faithfulness=0.8=1", source="-o x")
    assert str(info.value) == "-o x: faithfulness: bound must be a number, got '0.8=1'"


def test_parse_gates_mapping() -> None:
    gates = parse_gates({"faithfulness": 0.8, "latency_p95_s": 2}, SRC)
    assert [(g.key, g.bound) for g in gates] == [("faithfulness", 0.8), ("latency_p95_s", 2.0)]
    with pytest.raises(RagopsUsageError, match="unknown gate metric 'nope'"):
        parse_gates({"faithfulness": 0.8, "nope": 1}, SRC)


# -- evaluation --------------------------------------------------------------------------


def test_no_gates_no_results() -> None:
    assert evaluate_gates([], [_rec()]) == []


@pytest.mark.parametrize("key", gate_keys())
def test_no_gate_passes_on_no_records(key: str) -> None:
    result = _one(key, 0.5, [])
    assert result.passed is False
    assert result.reason == "no records were scored"


@pytest.mark.parametrize(
    "key",
    [k for k in gate_keys() if any(k.startswith(m) for m in QUALITY_METRICS)],
)
def test_quality_gate_fails_on_a_missing_score(key: str) -> None:
    # Every present score is perfect, yet one missing score fails the gate.
    result = _one(key, 0.0, [_rec(1.0), _rec(None), _rec(1.0)])
    if key.startswith("faithfulness"):
        assert result.reason == "1 of 3 records have no faithfulness score"
    else:  # a metric no record has at all
        assert result.value is None
    assert result.passed is False


def test_quality_gate_fails_on_a_pipeline_error() -> None:
    result = _one("faithfulness", 0.0, [_rec(1.0), _rec(error="boom")])
    assert (result.passed, result.reason) == (
        False,
        "1 of 2 records have no faithfulness score (1 pipeline calls failed)",
    )


@pytest.mark.parametrize(
    "key", ["cost_usd", "total_cost_usd", "cost_per_query_usd", "cost_max_usd"]
)
def test_cost_gate_fails_on_unknown_cost(key: str) -> None:
    result = _one(key, 1000, [_rec(cost=0.0), _rec(cost=None)])
    assert result.passed is False
    assert result.value is None
    assert result.reason == "1 of 2 records have no cost"


def test_latency_gate_fails_on_missing_latency() -> None:
    result = _one("latency_p95_s", 1000, [_rec(latency=0.1), _rec(latency=None)])
    assert result.passed is False
    assert result.reason == "1 of 2 records have no latency_s score"


@pytest.mark.parametrize(
    ("key", "bound", "passed", "reason"),
    [
        ("faithfulness", 0.75, True, None),  # mean == bound passes
        ("faithfulness", 0.7, True, None),
        ("faithfulness", 0.8, False, "0.75 is below 0.8"),
        ("faithfulness_min", 0.5, True, None),
        ("faithfulness_min", 0.625, False, "0.5 is below 0.625"),
        ("faithfulness_max", 1.0, True, None),
        ("cost_usd", 0.25, True, None),  # per query == bound passes
        ("cost_usd", 0.125, False, "0.25 is above 0.125"),
        ("total_cost_usd", 1.0, True, None),
        ("total_cost_usd", 0.5, False, "1 is above 0.5"),
        ("cost_max_usd", 0.5, True, None),
        ("latency_s", 2.0, True, None),
        ("latency_s", 1.5, False, "2 is above 1.5"),
        ("latency_max_s", 4.0, True, None),
        ("latency_max_s", 3.0, False, "4 is above 3"),
        ("pass_rate", 1.0, True, None),
        ("error_rate", 0.0, True, None),
    ],
)
def test_bounds_and_boundaries(key: str, bound: float, passed: bool, reason: str | None) -> None:
    records = [
        _rec(0.5, cost=0.25, latency=1.0),
        _rec(1.0, cost=0.5, latency=4.0),
        _rec(0.75, cost=0.125, latency=1.0),
        _rec(0.75, cost=0.125, latency=2.0),
    ]
    result = _one(key, bound, records)
    assert (result.passed, result.reason) == (passed, reason)
    assert result.value is not None


def test_rates_count_errors() -> None:
    records = [_rec(0.9), _rec(0.2), _rec(error="boom", cost=None, latency=None), _rec(0.9)]
    assert _one("pass_rate", 0.5, records).passed is True
    assert _one("pass_rate", 0.75, records).reason == "0.5 is below 0.75"
    assert _one("error_rate", 0.25, records).passed is True
    assert _one("error_rate", 0.2, records).reason == "0.25 is above 0.2"


def test_scope_and_to_dict() -> None:
    gate = parse_gate("faithfulness", 0.8, SRC)
    [result] = evaluate_gates([gate], [_rec(0.5)], scope="tests/test_x.py::test_y")
    data = result.to_dict()
    assert data == {
        "key": "faithfulness",
        "aggregate": "faithfulness_mean",
        "op": ">=",
        "bound": 0.8,
        "scope": "tests/test_x.py::test_y",
        "value": 0.5,
        "passed": False,
        "reason": "0.5 is below 0.8",
        "note": None,
    }
    assert json.loads(json.dumps(data)) == data


def test_results_keep_gate_order() -> None:
    gates = [parse_gate(k, 1.0, SRC) for k in ("latency_s", "faithfulness", "cost_usd")]
    results = evaluate_gates(gates, [_rec()])
    assert [r.gate.key for r in results] == ["latency_s", "faithfulness", "cost_usd"]
    assert [r.scope for r in results] == ["suite"] * 3


def test_gate_is_frozen() -> None:
    gate = Gate(key="k", aggregate="a", metric="m", op=">=", bound=0.5)
    with pytest.raises(AttributeError):
        gate.bound = 0.1  # type: ignore[misc]
