"""Payload building: what a session logs, as plain JSON."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any

from pytest_ragops.tracking.options import TrackingOptions
from pytest_ragops.tracking.payload import (
    build_payload,
    case_table,
    case_table_json,
    judge_source,
    run_key,
)

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def test_judge_source_by_label_prefix() -> None:
    assert judge_source("offline:claim-overlap") == "CODE"
    assert judge_source("anthropic:claude-haiku-4-5:v1") == "LLM_JUDGE"
    assert judge_source("ragas:faithfulness") == "LLM_JUDGE"


def test_run_key_is_stable_and_content_addressed(
    report_factory: Callable[..., dict[str, Any]],
) -> None:
    report = report_factory({"a": [1.0, 0.5]})
    same = json.loads(json.dumps(report))
    assert run_key(report) == run_key(same)
    # Another process computes the same key (no hash() randomisation).
    code = "import json,sys; from pytest_ragops.tracking.payload import run_key; "
    code += "print(run_key(json.load(sys.stdin)))"
    out = subprocess.run(
        ["python", "-c", code], input=json.dumps(report), capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == run_key(report)
    same["created"] = "2000-01-01T00:00:00+00:00"
    assert run_key(same) != run_key(report)


def test_payload_has_a_run_per_variant_with_params_metrics_and_prompt(
    report_factory: Callable[..., dict[str, Any]], prompt_dir: Path, tmp_path: Path
) -> None:
    report = report_factory({"a": [1.0, 0.5], "b": [None, 0.25]}, cost={"a": 0.002, "b": None})
    options = TrackingOptions(uri="sqlite:///x.db", root=tmp_path, params={"concurrency": "4"})
    payload = build_payload(report, "# md\n", options)

    assert [v["name"] for v in payload["variants"]] == ["a", "b"]
    a, b = payload["variants"]
    assert a["params"]["prompt_name"] == "a"
    assert len(a["params"]["prompt_version"]) == 12
    assert len(a["params"]["prompt_hash"]) == 64
    assert a["prompt"]["system"] == "Answer from the context only."
    assert a["params"]["cases"] == 2
    assert a["params"]["concurrency"] == "4"
    assert a["params"]["judge_model"] == "claude-haiku-4-5"
    assert a["params"]["corpus_version"] == "abc123"
    assert a["params"]["metrics"] == "faithfulness,answer_relevancy"
    assert a["metrics"]["faithfulness_mean"] == 0.75
    assert a["metrics"]["cost_per_query_usd"] == 0.002
    assert a["metrics"]["judge_cost_usd"] == 0.0
    # Unknown cost stays missing, never 0; the missing score is not averaged in as 0.
    assert "cost_per_query_usd" not in b["metrics"]
    assert b["metrics"]["faithfulness_mean"] == 0.25
    assert a["tags"]["ragops.role"] == "variant"
    assert payload["session"]["tags"]["ragops.gates_passed"] == "true"
    assert payload["session"]["tags"]["ragops.run_key"] == run_key(report)
    assert payload["session"]["params"]["variants"] == "a,b"
    assert json.loads(payload["artifacts"]["report.json"]) == report
    assert payload["artifacts"]["report.md"] == "# md\n"
    assert set(payload["session"]["params"]) >= {"git_commit", "git_branch", "git_dirty"}
    json.dumps(payload, allow_nan=False)  # spoolable as is


def test_a_prompt_edited_since_the_run_is_not_registered(
    report_factory: Callable[..., dict[str, Any]], prompt_dir: Path, tmp_path: Path
) -> None:
    report = report_factory({"a": [1.0]})
    report["records"][0]["prompt"] = {"name": "a", "version": "000000000000", "hash": "x"}
    payload = build_payload(report, None, TrackingOptions(uri="x", root=tmp_path))
    assert payload["variants"][0]["prompt"] is None
    assert payload["notes"] == ["prompt a changed since the run (file " + _version(prompt_dir)
                                + ", records 000000000000)"]  # fmt: skip


def _version(prompt_dir: Path) -> str:
    from pytest_ragops.prompts import load_prompt

    return load_prompt(prompt_dir / "a.yaml").version


def test_case_table_columns_line_up(report_factory: Callable[..., dict[str, Any]]) -> None:
    report = report_factory({"a": [1.0, None]})
    table = case_table(report["records"])
    assert table["case_id"] == ["case-0", "case-1"]
    assert table["faithfulness"] == [1.0, None]
    assert table["faithfulness_judge"] == ["offline:claim-overlap"] * 2
    assert len({len(col) for col in table.values()}) == 1


def test_case_table_json_is_pandas_split_orientation() -> None:
    # test_upload reads it back with MlflowClient.load_table (pandas).
    text = case_table_json({"case_id": ["a", "b"], "score": [0.5, float("nan")], "x": [None, 1]})
    assert json.loads(text) == {
        "columns": ["case_id", "score", "x"], "data": [["a", 0.5, None], ["b", None, 1]],
    }  # fmt: skip


def test_judge_cost_comes_from_the_report_and_free_judges_log_zero(
    report_factory: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    report = report_factory({"a": [1.0, 0.5]})
    for i, rec in enumerate(report["records"]):
        rec["scores"]["answer_relevancy"]["cost_usd"] = 0.01 * (i + 1)
    report["variants"]["a"]["metrics"]["judge_cost_usd"] = 0.03
    report["variants"]["a"]["metrics"]["judge_cost_usd_answer_relevancy"] = 0.03
    free = report_factory({"b": [1.0]})
    options = TrackingOptions(uri="x", root=tmp_path)
    (a,) = build_payload(report, None, options)["variants"]
    assert a["metrics"]["judge_cost_usd"] == 0.03
    assert a["metrics"]["judge_cost_usd_answer_relevancy"] == 0.03
    (b,) = build_payload(free, None, options)["variants"]
    assert "judge_cost_usd" not in free["variants"]["b"]["metrics"]
    assert b["metrics"]["judge_cost_usd"] == 0.0


def test_records_without_variants_log_the_sessions_aggregates(
    report_factory: Callable[..., dict[str, Any]], tmp_path: Path, monkeypatch: Any
) -> None:
    import pytest_ragops.results as results

    report = report_factory({"a": [1.0, 0.5]})
    for rec in report["records"]:
        rec["variant"] = None
    report["variants"] = {}

    def no_recompute(*_a: Any, **_k: Any) -> Any:
        raise AssertionError("aggregates recomputed")

    monkeypatch.setattr(results, "aggregate", no_recompute)
    (only,) = build_payload(report, None, TrackingOptions(uri="x", root=tmp_path))["variants"]
    assert only["name"] == "default"
    assert only["metrics"]["faithfulness_mean"] == report["metrics"]["faithfulness_mean"]
