"""``ragops compare``: deltas, regressions, Markdown, exit codes."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.cli import main
from pytest_ragops.gates import evaluate_gates
from pytest_ragops.report.model import build_report, write_report
from pytest_ragops.results import Record

if TYPE_CHECKING:
    from pathlib import Path


def _report(faithfulness: dict[str, float]) -> dict[str, Any]:
    records = [
        Record(
            test_id="t.py::test_eval",
            question=f"question {case}?",
            answer="answer.",
            case_id=case,
            scores={
                "faithfulness": {"value": value, "judge": "offline:claim-overlap", "error": None}
            },
            cost_usd=0.0,
            latency_s=0.1,
        )
        for case, value in faithfulness.items()
    ]
    return build_report(records, evaluate_gates([], records), judge="offline")


@pytest.fixture
def reports(tmp_path: Path) -> tuple[Path, Path]:
    base, cur = tmp_path / "base.json", tmp_path / "cur.json"
    write_report(_report({"a": 1.0, "b": 1.0}), base)
    write_report(_report({"a": 1.0, "b": 0.5}), cur)
    return base, cur


def test_compare_prints_deltas_and_regressions(
    reports: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    base, cur = reports
    assert main(["compare", str(base), str(cur)]) == 0
    out = capsys.readouterr().out
    assert "faithfulness_mean: 0.7500 (-0.2500)" in out
    assert "1 cases regressed" in out
    assert "  b [-]: faithfulness -0.500" in out


def test_compare_fail_on_regression_exits_1(reports: tuple[Path, Path]) -> None:
    base, cur = reports
    assert main(["compare", str(base), str(cur), "--fail-on-regression"]) == 1
    assert main(["compare", str(base), str(base), "--fail-on-regression"]) == 0


def test_compare_json_and_markdown(
    reports: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, cur = reports
    md = tmp_path / "out" / "comment.md"
    assert main(["compare", str(base), str(cur), "--json", "--markdown", str(md)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [r["case_id"] for r in data["regressed"]] == ["b"]
    body = md.read_text()
    assert "Δ vs baseline" in body
    assert "▼ -0.250" in body


def test_compare_bad_report_is_exit_2(
    reports: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base, _ = reports
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"version": 99}))
    with pytest.raises(SystemExit) as exc:
        main(["compare", str(base), str(bad)])
    assert exc.value.code == 2
    assert capsys.readouterr().err == (
        f"ragops: error: {bad}: version: unsupported report version 99 "
        "(this pytest-ragops reads 1)\n"
    )
