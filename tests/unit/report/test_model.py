from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from pytest_ragops.errors import RagopsError
from pytest_ragops.gates import evaluate_gates, parse_gate
from pytest_ragops.report.model import (
    REGRESSION_DELTA,
    REPORT_VERSION,
    build_report,
    compare_reports,
    finalize_report,
    load_report,
    stream_report,
    write_report,
    write_text_atomic,
)
from pytest_ragops.results import Record, ScoreDict

T1 = "tests/test_eval.py::test_a"
T2 = "tests/test_eval.py::test_b"


def _rec(
    case_id: str,
    faith: float | None,
    *,
    test_id: str = T1,
    relevancy: float | None = 0.75,
    variant: str | None = None,
    cost: float | None = 0.001,
    model: str | None = "claude-haiku-4-5",
    error: str | None = None,
) -> Record:
    scores = (
        {}
        if error
        else {
            "faithfulness": ScoreDict(value=faith, judge="offline:claim-overlap", error=None),
            "answer_relevancy": ScoreDict(
                value=relevancy, judge="offline:token-overlap", error=None
            ),
        }
    )
    return Record(
        test_id=test_id,
        question=f"question {case_id}?",
        answer="answer.",
        contexts=["ctx"],
        case_id=case_id,
        variant=variant,
        scores=scores,
        cost_usd=cost,
        model=model,
        latency_s=0.5,
        error=error,
    )


RECORDS = [
    _rec("c1", 1.0, variant="a"),
    _rec("c2", 0.5, variant="b", model="claude-sonnet-4-5"),
    _rec("c3", None, test_id=T2, cost=None, model=None),
    _rec("c4", None, test_id=T2, error="ValueError: boom", cost=None, model=None),
]


def _report(records: list[Record] | None = None, **kwargs: Any) -> dict[str, Any]:
    records = RECORDS if records is None else records
    gates = evaluate_gates(
        [parse_gate("faithfulness", 0.5, "cli"), parse_gate("latency_p95_s", 10, "cli")],
        records,
    )
    return build_report(records, gates, judge="offline", **kwargs)


# -- build_report --------------------------------------------------------------------------


def test_build_report_shape() -> None:
    report = _report(run={"corpus_version": "abc123"})
    assert report["version"] == REPORT_VERSION
    assert report["tool"]["name"] == "pytest-ragops"
    assert isinstance(report["tool"]["version"], str)
    assert report["created"].endswith("+00:00")
    assert report["judge"] == "offline"
    assert report["judges"] == ["offline:claim-overlap", "offline:token-overlap"]
    assert report["models"] == ["claude-haiku-4-5", "claude-sonnet-4-5"]
    assert report["run"] == {"corpus_version": "abc123"}
    assert report["summary"] == {
        "records": 4,
        "errors": 1,
        "gates": 2,
        "gates_failed": 1,  # faithfulness: 2 of 4 records have no score
        "passed": False,
    }
    assert report["metrics"]["faithfulness_mean"] == 0.75
    assert report["metrics"]["total_cost_usd"] is None
    assert report["metrics"]["error_rate"] == 0.25
    assert report["missing"] == {
        "faithfulness": 2,
        "answer_relevancy": 1,
        "cost_usd": 2,
    }
    # Intervals only for the quality metrics (cost and latency are gated on totals/percentiles).
    assert set(report["intervals"]) == {"faithfulness", "answer_relevancy"}
    assert report["intervals"]["answer_relevancy"] == [0.75, 0.75]
    assert list(report["variants"]) == ["a", "b"]
    assert report["variants"]["b"]["metrics"]["faithfulness_mean"] == 0.5
    assert list(report["tests"]) == [T1, T2]
    assert report["tests"][T1]["metrics"]["records"] == 2.0
    assert [g["key"] for g in report["gates"]] == ["faithfulness", "latency_p95_s"]
    assert [Record.from_dict(r) for r in report["records"]] == RECORDS
    assert report["baseline"] is None


def test_build_report_is_plain_json() -> None:
    report = _report()
    assert json.loads(json.dumps(report, allow_nan=False)) == report


def test_build_report_of_nothing() -> None:
    report = build_report([], [], judge="offline")
    assert report["summary"] == {
        "records": 0,
        "errors": 0,
        "gates": 0,
        "gates_failed": 0,
        "passed": True,
    }
    assert report["records"] == []
    assert report["judges"] == []
    assert report["metrics"]["pass_rate"] is None


def test_build_report_with_baseline() -> None:
    base = _report([_rec("c1", 1.0), _rec("c2", 0.5)])
    report = _report([_rec("c1", 0.5), _rec("c2", 0.5)], baseline=base, baseline_path="b.json")
    assert report["baseline"]["path"] == "b.json"
    assert report["baseline"]["created"] == base["created"]
    assert report["baseline"]["deltas"]["faithfulness_mean"] == -0.25
    assert [r["case_id"] for r in report["baseline"]["regressed"]] == ["c1"]


# -- compare_reports -----------------------------------------------------------------------


def test_compare_deltas() -> None:
    base = {"metrics": {"faithfulness_mean": 0.5, "total_cost_usd": None, "gone": 1.0}}
    current = {
        "metrics": {
            "faithfulness_mean": 0.75,
            "total_cost_usd": 0.25,
            "latency_p95_s": None,
            "new_metric": 2.0,
        }
    }
    out = compare_reports(base, current, "base.json")
    assert out["deltas"] == {
        "faithfulness_mean": 0.25,
        "total_cost_usd": None,  # unknown on one side: no delta, not a made-up one
        "latency_p95_s": None,
        "new_metric": None,
    }
    assert out["path"] == "base.json"
    assert out["created"] is None
    assert out["regressed"] == []


def _scored(case_id: str, variant: str | None = None, **values: float | None) -> dict[str, Any]:
    return {
        "test_id": T1,
        "case_id": case_id,
        "variant": variant,
        "question": f"q {case_id}",
        "scores": {m: {"value": v, "judge": "j", "error": None} for m, v in values.items()},
    }


def test_compare_regressed_cases() -> None:
    base = {
        "metrics": {},
        "records": [
            _scored("drop", faithfulness=1.0, answer_relevancy=0.5),
            _scored("exact", faithfulness=0.75),
            _scored("small", faithfulness=0.75),
            _scored("lost", faithfulness=0.5),
            _scored("better", faithfulness=0.25),
            _scored("was-none", faithfulness=None),
            _scored("v", "A", faithfulness=1.0),
            _scored("v", "B", faithfulness=0.0),
        ],
    }
    current = {
        "metrics": {},
        "records": [
            _scored("drop", faithfulness=0.5, answer_relevancy=0.5),
            _scored("exact", faithfulness=0.75 - REGRESSION_DELTA),
            _scored("small", faithfulness=0.71875),  # fell by 0.03125 < 0.05
            _scored("lost", faithfulness=None),
            _scored("better", faithfulness=0.5),
            _scored("was-none", faithfulness=0.0),
            _scored("new-case", faithfulness=0.0),
            _scored("v", "A", faithfulness=1.0),
            _scored("v", "B", faithfulness=0.0),
            _scored("v", "C", faithfulness=0.0),
        ],
    }
    out = compare_reports(base, current)
    regressed = {r["case_id"]: r for r in out["regressed"]}
    assert list(regressed) == ["drop", "exact", "lost"]
    assert regressed["drop"] == {
        "test_id": T1,
        "case_id": "drop",
        "variant": None,
        "question": "q drop",
        "deltas": {"faithfulness": -0.5},
        "reason": "scores fell",
    }
    assert regressed["exact"]["deltas"]["faithfulness"] == pytest.approx(-REGRESSION_DELTA)
    assert regressed["lost"]["deltas"] == {"faithfulness": None}


def test_compare_matches_by_test_case_and_variant() -> None:
    base = {"records": [_scored("c", "A", faithfulness=1.0)]}
    moved = _scored("c", "A", faithfulness=0.0)
    moved["test_id"] = T2
    other_variant = _scored("c", "B", faithfulness=0.0)
    # Another test's or variant's record is not this case: the case itself vanished.
    (vanished,) = compare_reports(base, {"records": [moved, other_variant]})["regressed"]
    assert vanished["reason"] == "missing from this run"
    same = _scored("c", "A", faithfulness=0.0)
    assert len(compare_reports(base, {"records": [same]})["regressed"]) == 1


def test_identical_runs_show_no_regression() -> None:
    records = [_scored("a", faithfulness=0.9), _scored("b", faithfulness=None)]
    assert compare_reports({"records": records}, {"records": records})["regressed"] == []


def test_a_case_that_now_errors_is_a_regression() -> None:
    base = {"records": [_scored("a", faithfulness=0.9)]}
    broken = {**_scored("a"), "error": "TimeoutError: upstream", "answer": ""}
    (reg,) = compare_reports(base, {"records": [broken]})["regressed"]
    assert reg["reason"] == "now fails: TimeoutError: upstream"


def test_a_metric_that_disappeared_is_lost() -> None:
    base = {"records": [_scored("a", faithfulness=0.9, answer_relevancy=0.8)]}
    (reg,) = compare_reports(base, {"records": [_scored("a", faithfulness=0.9)]})["regressed"]
    assert reg["deltas"] == {"answer_relevancy": None}


def test_records_without_case_ids_match_by_question_and_order() -> None:
    def rec(q: str, v: float, n: int) -> dict[str, Any]:
        return {**_scored("x", faithfulness=v), "case_id": None, "question": q, "ordinal": n}

    base = {"records": [rec("same q", 0.9, 0), rec("same q", 0.2, 1)]}
    current = {"records": [rec("same q", 0.9, 0), rec("same q", 0.2, 1)]}
    assert compare_reports(base, current)["regressed"] == []
    worse = {"records": [rec("same q", 0.9, 0), rec("same q", 0.0, 1)]}
    (reg,) = compare_reports(base, worse)["regressed"]
    assert reg["deltas"]["faithfulness"] == pytest.approx(-0.2)


# -- write_report --------------------------------------------------------------------------


def test_write_report_sorted_valid_json_and_loadable(tmp_path: Path) -> None:
    report = _report()
    path = tmp_path / "deep" / "dir" / "report.json"
    write_report(report, path)
    text = path.read_text(encoding="utf-8")
    assert json.loads(text) == json.loads(json.dumps(report))
    assert list(json.loads(text)) == sorted(report)
    # The summary reads as before (indented); each record is one line.
    assert '\n  "metrics": {\n    "' in text
    lines = text.splitlines()
    assert sum(line.startswith('    {"answer":') for line in lines) == len(report["records"])
    assert load_report(path) == report
    assert os.listdir(path.parent) == ["report.json"]  # no temporary file left behind


def test_write_report_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text("old", encoding="utf-8")
    before = path.stat().st_ino
    write_report({"version": REPORT_VERSION}, path)
    assert json.loads(path.read_text(encoding="utf-8")) == {"version": REPORT_VERSION}
    assert path.stat().st_ino != before  # a new file renamed into place, not rewritten in place


def test_write_report_refuses_nan_and_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "report.json"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(ValueError, match="Out of range float values"):
        write_report({"metrics": {"x": float("nan")}}, path)
    assert path.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["report.json"]


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic("new \ud800 text", path)  # a lone surrogate fails mid-write
    assert path.read_text(encoding="utf-8") == "old"
    assert os.listdir(tmp_path) == ["report.md"]


def test_write_text_atomic(tmp_path: Path) -> None:
    path = tmp_path / "a" / "report.md"
    write_text_atomic("# hi ✅\n", path)
    assert path.read_text(encoding="utf-8") == "# hi ✅\n"


# -- load_report errors --------------------------------------------------------------------


def _load_error(path: Path) -> str:
    with pytest.raises(RagopsError) as info:
        load_report(path)
    message = str(info.value)
    assert "\n" not in message
    return message


def _write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "base.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def test_load_missing(tmp_path: Path) -> None:
    path = tmp_path / "none.json"
    assert _load_error(path) == f"{path}: report not found"


def test_load_bad_json(tmp_path: Path) -> None:
    path = tmp_path / "base.json"
    path.write_text('{"version": 1,\n  "metrics": }', encoding="utf-8")
    assert _load_error(path) == f"{path}: invalid JSON at line 2: Expecting value"


def test_load_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "base.json"
    path.write_bytes(b'{"version": "\xff"}')
    assert _load_error(path) == f"{path}: cannot read report (UnicodeDecodeError)"
    assert _load_error(tmp_path) == f"{tmp_path}: cannot read report (IsADirectoryError)"


GOOD: dict[str, Any] = {
    "version": REPORT_VERSION,
    "metrics": {"faithfulness_mean": 0.5, "total_cost_usd": None, "records": 2},
    "records": [_scored("c", faithfulness=0.5)],
}


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param([1, 2], "expected a JSON object", id="list"),
        pytest.param(
            {**GOOD, "version": 2},
            "version: unsupported report version 2 (this pytest-ragops reads 1)",
            id="newer",
        ),
        pytest.param(
            {"metrics": {}, "records": []},
            "version: unsupported report version None (this pytest-ragops reads 1)",
            id="no-version",
        ),
        pytest.param(
            {**GOOD, "version": "1"},
            "version: unsupported report version '1' (this pytest-ragops reads 1)",
            id="str-version",
        ),
        pytest.param({**GOOD, "metrics": []}, "metrics: must be a JSON dict", id="metrics-list"),
        pytest.param(
            {k: v for k, v in GOOD.items() if k != "records"},
            "records: must be a JSON list",
            id="no-records",
        ),
        pytest.param(
            {**GOOD, "metrics": {"faithfulness_mean": "0.5"}},
            "metrics.faithfulness_mean: must be a number or null",
            id="metric-str",
        ),
        pytest.param(
            {**GOOD, "metrics": {"pass_rate": True}},
            "metrics.pass_rate: must be a number or null",
            id="metric-bool",
        ),
        pytest.param(
            {**GOOD, "records": [_scored("c"), "x"]},
            "records[2]: must be an object with 'scores'",
            id="record-str",
        ),
        pytest.param(
            {**GOOD, "records": [{"case_id": "c", "scores": []}]},
            "records[1]: must be an object with 'scores'",
            id="scores-list",
        ),
        pytest.param(
            {**GOOD, "records": [{"scores": {"faithfulness": 0.5}}]},
            "records[1].scores.faithfulness: must be an object whose 'value' is a number or null",
            id="score-number",
        ),
        pytest.param(
            {**GOOD, "records": [{"scores": {"faithfulness": {"value": "high"}}}]},
            "records[1].scores.faithfulness: must be an object whose 'value' is a number or null",
            id="score-str",
        ),
    ],
)
def test_load_wrong_shapes(tmp_path: Path, data: object, expected: str) -> None:
    path = _write(tmp_path, data)
    assert _load_error(path) == f"{path}: {expected}"


def test_load_good_and_compare_with_it(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD)
    base = load_report(str(path))
    assert base == GOOD
    current = _report([_rec("c", 0.25)])
    assert compare_reports(base, current)["deltas"]["faithfulness_mean"] == -0.25


class _Writes:
    """A binary sink that keeps each write."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self.sizes.append(len(data))
        self.parts.append(data)
        return len(data)

    def text(self) -> str:
        return b"".join(self.parts).decode()


def test_stream_report_never_encodes_the_records_at_once() -> None:
    records = [_rec(f"c{i}", 0.5) for i in range(50)]
    for r in records:
        r.contexts = ["x" * 2000]
    report = _report(records)
    sink = _Writes()
    stream_report(report, sink)  # type: ignore[arg-type]
    whole = json.dumps(report)
    assert json.loads(sink.text()) == json.loads(whole)
    one_record = len(json.dumps(report["records"][0]))
    # No piece holds more than one record: the text of all 50 never exists at once.
    assert max(sink.sizes) < 2 * one_record < len(whole) // 10


def test_streamed_report_matches_the_schema_and_loads(tmp_path: Path) -> None:
    import jsonschema

    from pytest_ragops.report.model import __file__ as model_file

    report = finalize_report(_report(), exitstatus=0, outcomes={"passed": 1})
    path = tmp_path / "report.json"
    write_report(report, path)
    schema = json.loads((Path(model_file).parent.parent / "report.schema.json").read_text())
    jsonschema.validate(json.loads(path.read_text()), schema)
    assert load_report(path) == json.loads(json.dumps(report))


def test_stream_report_of_empty_records_and_empty_report() -> None:
    for report in ({}, {"records": [], "version": 1}):
        sink = _Writes()
        stream_report(report, sink)  # type: ignore[arg-type]
        assert json.loads(sink.text()) == report


def test_streamed_report_holds_one_record_per_line(tmp_path: Path) -> None:
    records = [_rec(f"c{i}", 0.1 * i) for i in range(5)]
    records[2].contexts = ["line one\nline two ✅", '"quoted"']
    report = _report(records)
    path = tmp_path / "report.json"
    write_report(report, path)
    lines = path.read_text(encoding="utf-8").splitlines()
    record_lines = [ln.strip().rstrip(",") for ln in lines if ln.startswith('    {"answer"')]
    assert [json.loads(ln) for ln in record_lines] == json.loads(json.dumps(report["records"]))


def test_streamed_report_falls_back_for_types_orjson_refuses(tmp_path: Path) -> None:
    class Tokens(float):
        pass

    report = _report([_rec("a", 0.5)])
    report["records"][0]["usage"] = {"input_tokens": Tokens(12.0)}
    path = tmp_path / "report.json"
    write_report(report, path)
    assert load_report(path)["records"][0]["usage"] == {"input_tokens": 12.0}
