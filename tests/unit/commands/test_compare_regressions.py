"""``ragops compare --fail-on-regression`` exits 1 on every kind of regression (issue 8)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.cli import main
from pytest_ragops.report.model import build_report, write_report
from pytest_ragops.results import Record

if TYPE_CHECKING:
    from pathlib import Path


def _rec(case: str, value: float | None, error: str | None = None) -> Record:
    return Record(
        test_id="t.py::test_eval",
        question=f"question {case}?",
        answer="" if error else "answer.",
        case_id=case,
        scores={}
        if error
        else {"faithfulness": {"value": value, "judge": "offline:x", "error": None}},
        cost_usd=0.0,
        latency_s=0.1,
        error=error,
    )


def _write(path: Path, records: list[Record]) -> Path:
    write_report(build_report(records, [], judge="offline"), path)
    return path


@pytest.mark.parametrize(
    ("current", "expected"),
    [
        ([_rec("a", 0.9), _rec("b", 0.9)], 0),  # identical: no regression
        ([_rec("a", 0.9), _rec("b", None, error="RuntimeError: boom")], 1),  # now errors
        ([_rec("a", 0.9), _rec("b", None)], 1),  # lost its score
        ([_rec("a", 0.9)], 1),  # vanished
        ([_rec("a", 0.9), _rec("b", 0.5)], 1),  # fell
    ],
)
def test_fail_on_regression(
    tmp_path: Path, current: list[Record], expected: int, capsys: Any
) -> None:
    base = _write(tmp_path / "base.json", [_rec("a", 0.9), _rec("b", 0.9)])
    cur = _write(tmp_path / "cur.json", current)
    assert main(["compare", str(base), str(cur), "--fail-on-regression"]) == expected
    out = capsys.readouterr().out
    assert f"{0 if expected == 0 else 1} cases regressed" in out


def test_cli_version(capsys: Any) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.startswith("ragops ")


def test_foreign_errors_are_one_line(tmp_path: Path, capsys: Any) -> None:
    """A directory where a report should be: exit 2 with one line, no traceback."""
    (tmp_path / "dir.json").mkdir()
    with pytest.raises(SystemExit) as info:
        main(["compare", str(tmp_path / "dir.json"), str(tmp_path / "dir.json")])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("ragops: error: ")
