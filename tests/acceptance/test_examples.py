"""The example app's eval suite, run the way the README runs it, gates met and missed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path: Path, *args: str) -> tuple[int, str, dict[str, object]]:
    report = tmp_path / "report.json"
    cmd = [
        sys.executable, "-m", "pytest", "--ragops-eval", "examples", "-p", "no:cacheprovider",
        "--ragops-report", str(report), "--ragops-markdown", str(tmp_path / "report.md"), *args,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)
    data = json.loads(report.read_text()) if report.exists() else {}
    return proc.returncode, proc.stdout + proc.stderr, data


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_examples_pass_their_gates_and_fail_a_higher_one(
    tmp_path: Path, workers: list[str]
) -> None:
    code, out, report = _run(tmp_path, *workers)
    assert code == 0, out
    summary = report["summary"]
    assert isinstance(summary, dict)
    assert summary["passed"] is True
    assert summary["records"] == 149  # 37 cases x 3 variants + 37 + 1 recorded answer

    code, out, report = _run(tmp_path, *workers, "--ragops-threshold", "context_recall=0.99")
    assert code == 1, out
    assert "FAILED context_recall_mean: value 0.9497, bound >= 0.99" in out
    assert report["summary"]["passed"] is False  # type: ignore[index]
