from __future__ import annotations

from typing import Any

from pytest_ragops.gates import evaluate_gates, parse_gate
from pytest_ragops.report.model import build_report
from pytest_ragops.report.terminal import render_gates, render_table
from pytest_ragops.results import Record, ScoreDict


def _rec(
    case_id: str,
    faith: float | None,
    *,
    variant: str | None = None,
    cost: float | None = 0.001,
    latency: float | None = 1.0,
    error: str | None = None,
) -> Record:
    scores = (
        {}
        if error
        else {"faithfulness": ScoreDict(value=faith, judge="offline:claim-overlap", error=None)}
    )
    return Record(
        test_id="tests/test_eval.py::test_rag",
        question="q?",
        answer="a.",
        case_id=case_id,
        variant=variant,
        scores=scores,
        cost_usd=cost,
        latency_s=latency,
        error=error,
    )


def _report(records: list[Record], baseline: dict[str, Any] | None = None) -> dict[str, Any]:
    return build_report(records, [], judge="offline", baseline=baseline)


def _columns(line: str) -> list[str]:
    return line.split()


def test_table_rows_and_alignment() -> None:
    lines = render_table(_report([_rec("c1", 1.0, latency=1.0), _rec("c2", 0.5, latency=3.0)]))
    header, faith, cost, latency, footer = lines
    assert _columns(header) == ["metric", "mean", "95%", "CI", "min", "p50", "p95", "missing"]
    assert _columns(faith)[0] == "faithfulness"
    assert _columns(faith)[1] == "0.750"
    assert _columns(faith)[3:] == ["0.500", "0.750", "0.975", "0"]
    assert _columns(cost) == ["cost_usd/query", "0.00100", "-", "-", "-", "-", "0"]
    assert _columns(latency) == ["latency_s", "2.000", "-", "-", "2.000", "2.900", "0"]
    # Columns line up: each value starts where its header does.
    for row in (faith, cost, latency):
        assert row[header.index("missing")] != " "
        assert row[header.index("mean")] != " "
    assert all(line == line.rstrip() for line in lines)
    assert footer == "2 records, 0 pipeline errors; judge offline (offline:claim-overlap)"


def test_confidence_interval_column() -> None:
    lines = render_table(_report([_rec("c1", 0.5), _rec("c2", 0.5)]))
    assert "0.500-0.500" in lines[1]


def test_unknown_cost_and_missing_counts() -> None:
    records = [
        _rec("c1", 1.0),
        _rec("c2", None, cost=None),
        _rec("c3", None, error="boom", cost=None),
    ]
    lines = render_table(_report(records))
    faith = _columns(lines[1])
    assert faith[0] == "faithfulness"
    assert faith[-1] == "2"  # missing
    assert _columns(lines[2]) == ["cost_usd/query", "unknown", "-", "-", "-", "-", "2"]
    assert lines[-1] == "3 records, 1 pipeline errors; judge offline (offline:claim-overlap)"


def test_no_records() -> None:
    lines = render_table(build_report([], [], judge="offline"))
    assert [_columns(line)[0] for line in lines[:-1]] == ["metric", "cost_usd/query", "latency_s"]
    assert _columns(lines[1])[1] == "unknown"
    assert _columns(lines[2])[1] == "-"
    assert lines[-1] == "0 records, 0 pipeline errors; judge offline (no scores)"


def test_delta_column_only_with_a_baseline() -> None:
    base = _report([_rec("c1", 1.0, latency=2.0)])
    lines = render_table(_report([_rec("c1", 0.5, latency=1.0)], baseline=base))
    assert lines[0].split()[-1] == "delta"
    assert _columns(lines[1])[-1] == "-0.500"
    assert _columns(lines[2])[-1] == "0.00000"
    assert _columns(lines[3])[-1] == "-1.000"
    assert "delta" not in render_table(base)[0]


def test_variant_lines() -> None:
    records = [_rec("c1", 1.0, variant="b"), _rec("c1", 0.25, variant="a")]
    lines = render_table(_report(records))
    assert lines[-2:] == ["variant a: faithfulness=0.250", "variant b: faithfulness=1.000"]


def test_render_gates_lines() -> None:
    records = [_rec("c1", 0.5, cost=0.25), _rec("c2", 1.0, cost=None)]
    gates = [
        parse_gate("faithfulness_min", 0.5, "cli"),
        parse_gate("latency_p95_s", 0.5, "cli"),
        parse_gate("cost_usd", 1, "cli"),
    ]
    results = [g.to_dict() for g in evaluate_gates(gates, records)]
    results += [g.to_dict() for g in evaluate_gates(gates[:1], records, scope="t.py::test_x")]
    assert render_gates(results) == [
        "PASSED faithfulness_min: value 0.5000, bound >= 0.5",
        "FAILED latency_p95_s: value 1.0000, bound <= 0.5 (1 is above 0.5)",
        "FAILED cost_per_query_usd: value -, bound <= 1 (1 of 2 records have no cost)",
        "PASSED faithfulness_min [t.py::test_x]: value 0.5000, bound >= 0.5",
    ]


def test_render_no_gates() -> None:
    assert render_gates([]) == []
