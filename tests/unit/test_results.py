from __future__ import annotations

import json
import math
import random
from typing import Any

import numpy as np
import pytest

from pytest_ragops.results import (
    PASS_SCORE,
    EvalResult,
    Record,
    ScoreDict,
    aggregate,
    bootstrap_ci,
    metrics_present,
    summarize,
)


def _score(value: float | None, judge: str = "offline:claim-overlap") -> ScoreDict:
    error = None if value is not None else "judge could not score"
    return ScoreDict(value=value, judge=judge, error=error)


def _rec(
    faith: float | None = 0.9,
    *,
    relevancy: float | None = 0.8,
    cost: float | None = 0.001,
    latency: float | None = 0.5,
    variant: str | None = None,
    error: str | None = None,
    case_id: str | None = "c1",
) -> Record:
    scores = {} if error else {"faithfulness": _score(faith), "answer_relevancy": _score(relevancy)}
    return Record(
        test_id="tests/test_eval.py::test_x",
        question="q?",
        answer="" if error else "a.",
        contexts=["ctx"],
        case_id=case_id,
        variant=variant,
        scores=scores,
        cost_usd=cost,
        latency_s=latency,
        error=error,
    )


FULL_RECORD = Record(
    test_id="tests/test_eval.py::test_rag[p1]",
    question="How do I back up?\nwith | pipes",
    answer="Use pg_basebackup ✅ @team <b>",
    contexts=["first passage", "second passage", ""],
    reference="pg_basebackup",
    case_id="backup-1",
    variant="concise",
    scores={
        "faithfulness": ScoreDict(value=1.0, judge="offline:claim-overlap", error=None),
        "context_recall": ScoreDict(value=None, judge="offline:claim-overlap", error="no ref"),
        "custom_metric": ScoreDict(value=0.0, judge="custom:x", error=None),
    },
    cost_usd=0.000123,
    usage={"input_tokens": 120, "output_tokens": 30, "extra": {"cache": [1, 2]}},
    model="claude-haiku-4-5",
    latency_s=1.25,
    error=None,
)


@pytest.mark.parametrize(
    "record",
    [
        pytest.param(FULL_RECORD, id="full"),
        pytest.param(Record(test_id="t", question="q", answer=""), id="defaults"),
        pytest.param(_rec(error="ValueError: boom", cost=None, latency=None), id="error"),
        pytest.param(_rec(None, relevancy=None, cost=0.0, latency=0.0), id="none-and-zero"),
    ],
)
def test_record_round_trip_loses_nothing(record: Record) -> None:
    data = record.to_dict()
    assert Record.from_dict(data) == record
    # The same through JSON, as xdist and report.json carry it.
    wire = json.loads(json.dumps(data))
    assert wire == data
    assert Record.from_dict(wire) == record
    assert Record.from_dict(wire).to_dict() == data


def test_to_dict_has_only_builtins_and_is_a_copy() -> None:
    data = FULL_RECORD.to_dict()
    data["contexts"].append("x")
    data["scores"]["faithfulness"]["value"] = 0.0
    assert FULL_RECORD.contexts == ["first passage", "second passage", ""]
    assert FULL_RECORD.scores["faithfulness"]["value"] == 1.0
    assert set(data) == {
        "test_id", "case_id", "variant", "question", "answer", "contexts", "reference",
        "scores", "cost_usd", "usage", "model", "latency_s", "error", "cost_error",
        "prompt", "ordinal",
    }  # fmt: skip


def test_from_dict_tolerates_absent_optional_fields() -> None:
    rec = Record.from_dict({"test_id": "t", "question": "q", "answer": "a", "scores": None})
    assert rec == Record(test_id="t", question="q", answer="a")


def test_value_reads_scores_cost_and_latency() -> None:
    rec = _rec(0.7, cost=0.002, latency=1.5)
    assert rec.value("faithfulness") == 0.7
    assert rec.value("cost_usd") == 0.002
    assert rec.value("latency_s") == 1.5
    assert rec.value("context_recall") is None


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(_rec(0.9, relevancy=0.8), True, id="all-high"),
        pytest.param(_rec(PASS_SCORE, relevancy=PASS_SCORE), True, id="boundary"),
        pytest.param(_rec(0.9, relevancy=0.49), False, id="one-low"),
        pytest.param(_rec(0.9, relevancy=None), False, id="missing-score"),
        pytest.param(_rec(error="boom"), False, id="error"),
        pytest.param(Record(test_id="t", question="q", answer="a"), False, id="no-scores"),
    ],
)
def test_passed(record: Record, expected: bool) -> None:
    assert record.passed() is expected


# -- percentiles and summaries ---------------------------------------------------------


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20, 101])
def test_percentiles_match_numpy(n: int) -> None:
    rng = random.Random(n)
    values = [rng.random() for _ in range(n)]
    records = [_rec(v) for v in values]
    s = summarize("faithfulness", records)
    assert s.p50 == pytest.approx(float(np.percentile(values, 50)), abs=1e-12)
    assert s.p95 == pytest.approx(float(np.percentile(values, 95)), abs=1e-12)
    assert s.mean == pytest.approx(float(np.mean(values)), abs=1e-12)
    assert s.minimum == min(values)
    assert s.maximum == max(values)
    assert s.total == pytest.approx(sum(values))
    assert (s.n, s.missing) == (n, 0)


def test_summary_counts_missing_and_ignores_them() -> None:
    records = [_rec(0.2), _rec(None), _rec(0.4), _rec(error="boom")]
    s = summarize("faithfulness", records)
    assert (s.n, s.missing) == (4, 2)
    assert s.mean == pytest.approx(0.3)
    assert s.minimum == 0.2


def test_summary_of_no_values_is_all_none() -> None:
    s = summarize("faithfulness", [_rec(None), _rec(None)])
    assert (s.n, s.missing) == (2, 2)
    assert (s.mean, s.ci_low, s.minimum, s.p50, s.p95, s.maximum, s.total) == (None,) * 7


def test_metrics_present_orders_quality_first_then_extra() -> None:
    rec = Record(
        test_id="t",
        question="q",
        answer="a",
        scores={
            "zeta": _score(0.1),
            "context_recall": _score(0.2),
            "faithfulness": _score(0.3),
            "alpha": _score(0.4),
        },
    )
    assert metrics_present([rec]) == [
        "faithfulness", "context_recall", "alpha", "zeta", "cost_usd", "latency_s",
    ]  # fmt: skip


# -- aggregates --------------------------------------------------------------------------


def test_aggregate_names_and_values() -> None:
    records = [
        _rec(1.0, relevancy=0.5, cost=0.001, latency=1.0, case_id="c1"),
        _rec(0.5, relevancy=0.25, cost=0.003, latency=3.0, case_id="c2"),
        _rec(0.0, relevancy=1.0, cost=0.002, latency=2.0, case_id="c3"),
        _rec(0.75, relevancy=0.75, cost=0.002, latency=6.0, case_id="c4"),
    ]
    out, summaries = aggregate(records)
    faith = [1.0, 0.5, 0.0, 0.75]
    assert out["faithfulness_mean"] == pytest.approx(np.mean(faith))
    assert out["faithfulness_min"] == 0.0
    assert out["faithfulness_max"] == 1.0
    assert out["faithfulness_p50"] == pytest.approx(np.percentile(faith, 50))
    assert out["faithfulness_p95"] == pytest.approx(np.percentile(faith, 95))
    assert out["answer_relevancy_mean"] == pytest.approx(0.625)
    assert out["total_cost_usd"] == pytest.approx(0.008)
    assert out["cost_per_query_usd"] == pytest.approx(0.002)
    assert out["cost_max_usd"] == pytest.approx(0.003)
    assert out["latency_mean_s"] == pytest.approx(3.0)
    assert out["latency_p50_s"] == pytest.approx(2.5)
    assert out["latency_p95_s"] == pytest.approx(np.percentile([1, 3, 2, 6], 95))
    assert out["latency_max_s"] == 6.0
    assert out["records"] == 4.0
    assert out["pass_rate"] == 0.5  # the first and the last have every score >= 0.5
    assert out["error_rate"] == 0.0
    low, high = out["faithfulness_ci_low"], out["faithfulness_ci_high"]
    assert low is not None
    assert high is not None
    assert low <= float(np.mean(faith)) <= high
    assert set(summaries) == {"faithfulness", "answer_relevancy", "cost_usd", "latency_s"}


def test_cost_totals_are_none_when_any_cost_is_unknown() -> None:
    out, summaries = aggregate([_rec(cost=0.01), _rec(cost=None), _rec(cost=0.02)])
    assert out["total_cost_usd"] is None
    assert out["cost_per_query_usd"] is None
    assert out["cost_max_usd"] is None
    assert summaries["cost_usd"].missing == 1


def test_zero_cost_is_known() -> None:
    out, _ = aggregate([_rec(cost=0.0), _rec(cost=0.0)])
    assert out["total_cost_usd"] == 0.0
    assert out["cost_per_query_usd"] == 0.0


def test_judge_cost_is_reported_in_total_and_per_metric() -> None:
    a, b = _rec(), _rec()
    a.scores["faithfulness"]["cost_usd"] = 0.003
    b.scores["faithfulness"]["cost_usd"] = 0.001
    b.scores["answer_relevancy"]["cost_usd"] = 0.0005
    out, _ = aggregate([a, b])
    assert out["judge_cost_usd"] == pytest.approx(0.0045)
    assert out["judge_cost_usd_faithfulness"] == pytest.approx(0.004)
    assert out["judge_cost_usd_answer_relevancy"] == pytest.approx(0.0005)
    assert out["total_cost_usd"] == pytest.approx(0.002)  # the app's cost stays apart


def test_no_judge_cost_means_no_judge_cost_aggregates() -> None:
    out, _ = aggregate([_rec(), _rec()])
    assert not [k for k in out if k.startswith("judge_cost")]


def test_error_and_pass_rates() -> None:
    records = [_rec(0.9), _rec(0.1), _rec(error="boom", cost=None, latency=None), _rec(None)]
    out, _ = aggregate(records)
    assert out["pass_rate"] == 0.25
    assert out["error_rate"] == 0.25
    # The failed record has no latency; the present ones are still summarised.
    assert out["latency_mean_s"] == 0.5


def test_aggregate_of_no_records() -> None:
    out, _ = aggregate([])
    assert out["records"] == 0.0
    assert out["pass_rate"] is None
    assert out["error_rate"] is None
    assert out["total_cost_usd"] is None
    assert out["latency_mean_s"] is None
    assert "faithfulness_mean" not in out


# -- bootstrap ---------------------------------------------------------------------------


def test_bootstrap_ci_is_deterministic_and_contains_the_mean() -> None:
    rng = random.Random(7)
    values = [rng.random() for _ in range(30)]
    first = bootstrap_ci(values)
    assert first is not None
    assert first == bootstrap_ci(list(values))
    assert first == bootstrap_ci(tuple(values))
    low, high = first
    mean = math.fsum(values) / len(values)
    assert low < mean < high
    assert 0.0 <= low < high <= 1.0


def test_bootstrap_ci_narrows_with_lower_confidence() -> None:
    values = [0.1, 0.4, 0.5, 0.9, 0.3, 0.8]
    wide = bootstrap_ci(values, 0.99)
    narrow = bootstrap_ci(values, 0.5)
    assert wide is not None
    assert narrow is not None
    assert wide[0] <= narrow[0] <= narrow[1] <= wide[1]


@pytest.mark.parametrize("values", [[], [0.5]])
def test_bootstrap_ci_needs_two_values(values: list[float]) -> None:
    assert bootstrap_ci(values) is None


@pytest.mark.parametrize("value", [0.0, 0.7, 1.0])
def test_bootstrap_ci_of_identical_values_has_zero_width(value: float) -> None:
    assert bootstrap_ci([value] * 5) == (value, value)


def test_bootstrap_ci_two_values() -> None:
    ci = bootstrap_ci([0.0, 1.0])
    assert ci is not None
    assert 0.0 <= ci[0] <= 0.5 <= ci[1] <= 1.0


# -- EvalResult --------------------------------------------------------------------------


def _variant_result(per_variant: dict[str, dict[str, Any]]) -> EvalResult:
    records = [
        _rec(spec["faith"], cost=spec["cost"], variant=name, case_id=f"{name}-{i}")
        for name, spec in per_variant.items()
        for i in range(2)
    ]
    return EvalResult.from_records(records)


def test_from_records_aggregates_overall_and_per_variant() -> None:
    result = _variant_result(
        {"b": {"faith": 0.5, "cost": 0.002}, "a": {"faith": 1.0, "cost": 0.004}}
    )
    assert list(result.variants) == ["a", "b"]
    assert result.variants["a"]["faithfulness_mean"] == 1.0
    assert result.variants["b"]["cost_per_query_usd"] == pytest.approx(0.002)
    assert result.metrics["faithfulness_mean"] == pytest.approx(0.75)
    assert result.metrics["records"] == 4.0
    assert result.errors == []


def test_no_variants_means_empty_variant_map() -> None:
    result = EvalResult.from_records([_rec(), _rec(error="x")])
    assert result.variants == {}
    assert result.best_variant() is None
    assert [r.error for r in result.errors] == ["x"]


def test_best_variant_highest_quality_lowest_cost() -> None:
    result = _variant_result(
        {
            "cheap": {"faith": 0.6, "cost": 0.001},
            "good": {"faith": 0.9, "cost": 0.005},
            "mid": {"faith": 0.7, "cost": 0.002},
        }
    )
    assert result.best_variant() == "good"
    assert result.best_variant("faithfulness_mean") == "good"
    assert result.best_variant("cost_per_query_usd") == "cheap"
    assert result.best_variant("total_cost_usd") == "cheap"


def test_best_variant_lowest_latency_and_error_rate() -> None:
    records = [
        _rec(0.9, variant="slow", latency=3.0),
        _rec(0.9, variant="fast", latency=0.5),
        _rec(0.9, variant="fast", error="boom", latency=None),
    ]
    result = EvalResult.from_records(records)
    assert result.best_variant("latency_p95_s") == "fast"
    assert result.best_variant("error_rate") == "slow"
    assert result.best_variant("pass_rate") == "slow"


def test_best_variant_ignores_none_and_breaks_ties_by_name() -> None:
    result = _variant_result(
        {
            "zz": {"faith": 0.8, "cost": 0.002},
            "unknown-cost": {"faith": 0.8, "cost": None},
            "aa": {"faith": 0.8, "cost": 0.002},
        }
    )
    assert result.best_variant("faithfulness_mean") == "aa"
    assert result.best_variant("cost_per_query_usd") == "aa"
    assert result.best_variant("no_such_aggregate") is None


def test_best_variant_none_when_no_variant_has_a_value() -> None:
    result = _variant_result({"a": {"faith": None, "cost": None}})
    assert result.best_variant() is None
    assert result.best_variant("cost_per_query_usd") is None


# -- issue 8: intervals by case, values checked, not-applicable metrics -----------------


def test_interval_resamples_cases_not_records() -> None:
    """Variants of a case move together: one case scored by 4 variants is one sample."""
    one_case = [
        _rec(v, case_id="only", variant=f"v{i}") for i, v in enumerate([0.1, 0.9, 0.5, 0.7])
    ]
    _, summaries = aggregate(one_case)
    assert summaries["faithfulness"].cases == 1
    assert summaries["faithfulness"].ci_low is None  # one case: no interval

    rng = random.Random(7)
    recs = [
        _rec(rng.random(), case_id=f"c{c}", variant=f"v{v}") for c in range(20) for v in range(3)
    ]
    by_case = bootstrap_ci(
        [r.value("faithfulness") or 0.0 for r in recs], groups=[r.case_key() for r in recs]
    )
    naive = bootstrap_ci([r.value("faithfulness") or 0.0 for r in recs])
    assert by_case is not None
    assert naive is not None
    # Same seed, same data: the case-level interval is reproducible.
    assert by_case == bootstrap_ci(
        [r.value("faithfulness") or 0.0 for r in recs], groups=[r.case_key() for r in recs]
    )


@pytest.mark.parametrize("bad", [math.nan, math.inf, -1.0, True, "0.5"])
def test_from_dict_refuses_bad_numbers(bad: Any) -> None:
    from pytest_ragops.errors import RagopsError

    data = FULL_RECORD.to_dict()
    data["latency_s"] = bad
    with pytest.raises(RagopsError):
        Record.from_dict(data)
    data = FULL_RECORD.to_dict()
    data["scores"]["faithfulness"]["value"] = bad
    with pytest.raises(ValueError, match="value"):  # RagopsError is a ValueError
        Record.from_dict(data)


def test_not_applicable_is_neither_missing_nor_zero() -> None:
    na = ScoreDict(value=None, judge="offline:x", error="no reference")
    na["applicable"] = False
    recs = [_rec(0.9, case_id="a"), _rec(0.8, case_id="b")]
    recs[1].scores["context_recall"] = na
    recs[0].scores["context_recall"] = ScoreDict(value=0.6, judge="offline:x", error=None)
    out, summaries = aggregate(recs)
    assert summaries["context_recall"].missing == 0
    assert summaries["context_recall"].not_applicable == 1
    assert out["context_recall_mean"] == pytest.approx(0.6)
    assert recs[1].passed()  # a metric that does not apply does not fail the record


# -- issue 15: records cross to the controller as one JSON payload ----------------------


def test_encoded_records_decode_to_the_same_records() -> None:
    from pytest_ragops.results import decode_records, encode_records

    records = [FULL_RECORD, _rec(None), _rec(error="boom")]
    payload = encode_records(records)
    assert isinstance(payload, bytes)
    assert [Record.from_dict(d) for d in decode_records(payload)] == records


def test_encoding_falls_back_for_types_orjson_refuses() -> None:
    from pytest_ragops.results import decode_records, encode_records

    class Seconds(float):  # orjson serialises int and str subclasses, not float ones
        pass

    rec = _rec()
    rec.latency_s = Seconds(0.25)
    (data,) = decode_records(encode_records([rec]))
    assert data["latency_s"] == 0.25


def test_a_payload_that_is_not_a_list_is_refused() -> None:
    from pytest_ragops.errors import RagopsError
    from pytest_ragops.results import decode_records

    with pytest.raises(RagopsError, match="JSON array"):
        decode_records(b'{"records": []}')


def test_refused_numbers_are_sent_as_missing() -> None:
    from pytest_ragops.results import decode_records, encode_records

    records = [_rec(0.9), _rec(0.8)]
    records[1].latency_s = math.nan
    records[1].scores["faithfulness"]["value"] = 7.0
    sent = decode_records(
        encode_records(records, [(1, "latency_s"), (1, "scores.faithfulness.value")])
    )
    assert sent[1]["latency_s"] is None
    assert sent[1]["scores"]["faithfulness"]["value"] is None
    assert sent[0] == json.loads(json.dumps(records[0].to_dict()))
    assert records[1].scores["faithfulness"]["value"] == 7.0  # the record itself untouched


def test_from_dict_unchecked_keeps_a_refused_record() -> None:
    from pytest_ragops.errors import RagopsError

    data = FULL_RECORD.to_dict()
    data["latency_s"] = -2.0
    data["scores"]["faithfulness"]["value"] = 3.0
    with pytest.raises(RagopsError):
        Record.from_dict(data)
    kept = Record.from_dict(data, check=False)
    assert kept.latency_s == -2.0
    assert kept.value("faithfulness") == 3.0


def test_record_chunks_keep_order_and_blank_the_right_record() -> None:
    from pytest_ragops.results import decode_records, encode_record_chunks

    records = [_rec(0.5 + i / 100) for i in range(7)]
    records[5].latency_s = math.nan
    chunks = encode_record_chunks(records, [(5, "latency_s")], size=3)
    assert len(chunks) == 3  # 3 + 3 + 1
    sent = [d for chunk in chunks for d in decode_records(chunk)]
    assert [d["scores"]["faithfulness"]["value"] for d in sent] == [
        r.scores["faithfulness"]["value"] for r in records
    ]
    assert [d["latency_s"] is None for d in sent] == [i == 5 for i in range(7)]
    assert encode_record_chunks([], size=3) == []
