"""``ragops report merge``: shards gated once equal an unsharded run; mismatches refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_ragops.cli import main
from pytest_ragops.engine import build_final_report, gate_suite, write_reports
from pytest_ragops.gates import parse_threshold
from pytest_ragops.results import Record
from pytest_ragops.settings import Settings

THRESHOLDS = (
    "faithfulness=0.6",
    "faithfulness_ci_low=0.3",
    "answer_relevancy_min=0.2",
    "latency_p95_s=0.9",
    "cost_per_query_usd=0.01",
    "pass_rate=0.5",
)


def _records(test: str, n: int, offset: int) -> list[Record]:
    out = []
    for i in range(n):
        v = ((i * 37 + offset * 11) % 100) / 100
        out.append(
            Record(
                test_id=test,
                question=f"{test} question {i}?",
                answer="answer.",
                case_id=f"{test[-1]}{i}",
                scores={
                    "faithfulness": {"value": v, "judge": "offline:x", "error": None},
                    "answer_relevancy": {"value": 1 - v / 2, "judge": "offline:y", "error": None},
                },
                cost_usd=0.001 * (i % 3),
                latency_s=0.1 + (i % 7) / 10,
            )
        )
    return out


TESTS = {
    "tests/test_a.py::test_a": _records("tests/test_a.py::test_a", 7, 1),
    "tests/test_b.py::test_b": _records("tests/test_b.py::test_b", 5, 2),
    "tests/test_c.py::test_c": _records("tests/test_c.py::test_c", 9, 3),
}
MARKER_GATE = {
    "key": "faithfulness",
    "aggregate": "faithfulness_mean",
    "op": ">=",
    "bound": 0.1,
    "scope": "tests/test_b.py::test_b",
    "value": 0.5,
    "passed": True,
    "reason": None,
}


def _run(tmp_path: Path, name: str, tests: list[str], commit: str = "c0ffee") -> Path:
    settings = Settings(
        thresholds=tuple(parse_threshold(t) for t in THRESHOLDS),
        report=tmp_path / name / "report.json",
        markdown=tmp_path / name / "report.md",
        root=tmp_path,
    )
    test_gates = [MARKER_GATE] if "tests/test_b.py::test_b" in tests else []
    records, aggregates, suite = gate_suite(settings, {t: TESTS[t] for t in tests})
    outcomes = {"passed": len(tests)}
    report = build_final_report(
        settings, records, aggregates, suite, test_gates, None, {"commit": commit},
        judge_info=None, exitstatus=0, outcomes=outcomes, lost_workers=[],
    )  # fmt: skip
    assert write_reports(settings, report) == []
    return settings.report


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_merged_gates_equal_an_unsharded_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = _load(_run(tmp_path, "whole", list(TESTS)))
    s1 = _run(tmp_path, "s1", ["tests/test_c.py::test_c", "tests/test_a.py::test_a"])
    s2 = _run(tmp_path, "s2", ["tests/test_b.py::test_b"])
    out, md = tmp_path / "merged.json", tmp_path / "merged.md"
    status = main(["report", "merge", str(s1), str(s2), "--out", str(out), "--markdown", str(md)])
    merged = _load(out)
    assert merged["gates"] == whole["gates"]  # same values, bounds, verdicts, test gates
    assert merged["metrics"] == whole["metrics"]
    assert merged["intervals"] == whole["intervals"]
    assert merged["summary"] == whole["summary"]
    assert status == (0 if whole["summary"]["passed"] else 1)
    assert [s["records"] for s in merged["run"]["shards"]] == [16, 5]
    assert md.read_text().startswith("<!-- pytest-ragops report -->\n### ")
    assert (
        capsys.readouterr()
        .out.splitlines()[-1]
        .startswith("ragops report merge: 2 shards, 21 records, ")
    )


def test_a_failed_gate_over_all_records_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s1 = _run(tmp_path, "s1", ["tests/test_a.py::test_a"])
    s2 = _run(tmp_path, "s2", ["tests/test_b.py::test_b", "tests/test_c.py::test_c"])
    out = tmp_path / "m.json"
    args = ["report", "merge", str(s1), str(s2), "--out", str(out), "--markdown", str(out) + ".md"]
    assert main([*args, "--threshold", "faithfulness=0.99"]) == 1
    gate = next(g for g in _load(out)["gates"] if g["key"] == "faithfulness")
    assert gate["passed"] is False
    assert gate["bound"] == 0.99
    assert "FAILED faithfulness_mean" in capsys.readouterr().out


def test_thresholds_come_from_pyproject(tmp_path: Path) -> None:
    s1 = _run(tmp_path, "s1", ["tests/test_a.py::test_a"])
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text("[tool.ragops.thresholds]\nlatency_max_s = 5\n")
    out = tmp_path / "m.json"
    args = ["report", "merge", str(s1), "--pyproject", str(pyproject), "--out", str(out)]
    assert main([*args, "--markdown", str(tmp_path / "m.md")]) == 0
    assert [g["key"] for g in _load(out)["gates"] if g["scope"] == "suite"] == ["latency_max_s"]


def test_a_failed_shard_verdict_fails_the_merge(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s1 = _run(tmp_path, "s1", ["tests/test_a.py::test_a"])
    s2 = _run(tmp_path, "s2", ["tests/test_c.py::test_c"])
    data = _load(s2)
    data["summary"]["passed"] = False
    data["run"]["pytest_outcomes"] = {"passed": 3, "failed": 1}  # a plain test failed there
    s2.write_text(json.dumps(data))
    args = ["report", "merge", str(s1), str(s2), "--out", str(tmp_path / "m.json")]
    assert (
        main([*args, "--markdown", str(tmp_path / "m.md"), "--threshold", "latency_max_s=9"]) == 1
    )
    assert f"FAILED shard {s2}: 1 failed" in capsys.readouterr().out


def _refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exc:
        main(["report", "merge", *args])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    return err


def test_shards_of_different_commits_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s1 = _run(tmp_path, "s1", ["tests/test_a.py::test_a"], commit="aaa")
    s2 = _run(tmp_path, "s2", ["tests/test_b.py::test_b"], commit="bbb")
    err = _refused([str(s1), str(s2), "--out", str(tmp_path / "m.json")], capsys)
    assert err == (
        f"ragops: error: {s2}: run.commit: commit 'bbb' differs from 'aaa' of {s1}: shards of "
        "different commits cannot be gated together\n"
    )
    assert not (tmp_path / "m.json").exists()


def test_another_schema_version_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s1 = _run(tmp_path, "s1", ["tests/test_a.py::test_a"])
    s2 = _run(tmp_path, "s2", ["tests/test_b.py::test_b"])
    data = _load(s2)
    data["version"] = 2
    s2.write_text(json.dumps(data))
    err = _refused([str(s1), str(s2)], capsys)
    assert err.startswith(f"ragops: error: {s2}: version: unsupported report version 2")


def test_one_test_in_two_shards_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s1 = _run(tmp_path, "s1", ["tests/test_a.py::test_a"])
    s2 = _run(tmp_path, "s2", ["tests/test_a.py::test_a", "tests/test_b.py::test_b"])
    err = _refused([str(s1), str(s2)], capsys)
    assert err == (
        f"ragops: error: {s2}: records: test tests/test_a.py::test_a also ran in {s1}: "
        "shards must split the tests\n"
    )


def test_shards_with_different_suite_gates_need_explicit_thresholds(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    s1 = _run(tmp_path, "s1", ["tests/test_a.py::test_a"])
    s2 = _run(tmp_path, "s2", ["tests/test_b.py::test_b"])
    data = _load(s2)
    data["gates"] = [g for g in data["gates"] if g["key"] != "pass_rate"]
    s2.write_text(json.dumps(data))
    err = _refused([str(s1), str(s2)], capsys)
    assert err.startswith(f"ragops: error: {s2}: gates: suite gates ")
    assert err.endswith("pass --threshold or --pyproject\n")


def test_a_missing_shard_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    err = _refused([str(tmp_path / "nope.json")], capsys)
    assert err == f"ragops: error: {tmp_path / 'nope.json'}: report not found\n"
