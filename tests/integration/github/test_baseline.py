"""``baseline: auto`` with the real PyGithub client against a local GitHub REST server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.github.action_steps import main
from pytest_ragops.report.model import build_report
from pytest_ragops.results import Record

if TYPE_CHECKING:
    from tests.integration.github.conftest import FakeGitHub


def _report_bytes(value: float) -> bytes:
    record = Record(
        test_id="t.py::test_eval",
        question="q?",
        answer="a.",
        case_id="c1",
        scores={"faithfulness": {"value": value, "judge": "offline:x", "error": None}},
        cost_usd=0.0,
        latency_s=0.1,
    )
    return json.dumps(build_report([record], [], judge="offline")).encode()


@pytest.fixture
def env(tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps({"pull_request": {"number": 3, "base": {"ref": "main", "sha": "b" * 40}}})
    )
    return {
        "GITHUB_API_URL": github.api_url,
        "GITHUB_REPOSITORY": github.repo,
        "GITHUB_TOKEN": "bot-token",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_WORKFLOW_REF": "acme/app/.github/workflows/ai-ci.yml@refs/pull/3/merge",
        "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "INPUT_BASELINE": "auto",
    }


def _outputs(env: dict[str, str]) -> dict[str, str]:
    text = Path(env["GITHUB_OUTPUT"]).read_text()
    return dict(line.split("=", 1) for line in text.splitlines())


def test_latest_artifact_of_the_base_branch_is_downloaded(
    github: FakeGitHub, env: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = github.zip_of({"report.json": _report_bytes(0.1), "report.md": b"x"})
    new = github.zip_of({"report.json": _report_bytes(0.9), "report.md": b"x"})
    github.add_run("main", "1" * 40, "ai-ci.yml", {"ragops-report": old})
    github.add_run("feature", "2" * 40, "ai-ci.yml", {"ragops-report": old})
    github.add_run("main", "3" * 40, "other.yml", {"ragops-report": old})
    newest = github.add_run("main", "4" * 40, "ai-ci.yml", {"ragops-report": new})
    github.add_run("main", "5" * 40, "ai-ci.yml", {"coverage": b"not ours"})  # newest, no report

    assert main(["baseline"], env) == 0
    path = _outputs(env)["value"]
    assert path == ".ragops/baseline/report.json"
    data: Any = json.loads((tmp_path / path).read_text())
    assert data["records"][0]["scores"]["faithfulness"]["value"] == 0.9
    line = f"ragops baseline: ragops-report of run {newest} on main (444444444444)"
    assert capsys.readouterr().out.strip() == line
    assert "baseline: ragops-report of run" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()
    # Same workflow, base branch, successful runs only; the blob host never saw the token.
    listing = github.requests("GET", r"/actions/workflows/ai-ci.yml/runs")
    assert "branch=main" in listing[0][1]
    assert "status=success" in listing[0][1]
    blob = github.requests("GET", r"^/blob/")
    assert len(blob) == 1
    assert "Authorization" not in blob[0][2]


def test_no_artifact_says_so_and_runs_without_deltas(
    github: FakeGitHub, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    github.add_run("main", "1" * 40, "ai-ci.yml", {"coverage": b"x"})
    assert main(["baseline"], env) == 0
    assert _outputs(env)["value"] == ""
    out = capsys.readouterr().out
    assert (
        "no 'ragops-report' artifact in the last 10 successful runs of workflow ai-ci.yml on main"
        in out
    )
    assert "running without deltas" in Path(env["GITHUB_STEP_SUMMARY"]).read_text()


def test_a_broken_artifact_warns_and_runs_without_deltas(
    github: FakeGitHub, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    github.add_run("main", "1" * 40, "ai-ci.yml", {"ragops-report": b"not a zip"})
    assert main(["baseline"], env) == 0
    assert _outputs(env)["value"] == ""
    out = capsys.readouterr().out
    assert (
        "::warning title=ragops baseline::ragops-report: the artifact is not a zip archive" in out
    )


def test_missing_actions_read_permission_is_no_baseline(
    github: FakeGitHub, env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    env["GITHUB_WORKFLOW_REF"] = "acme/app/.github/workflows/unknown.yml@refs/heads/main"
    assert main(["baseline"], env) == 0  # 404 for the workflow: no deltas, not a failure
    assert _outputs(env)["value"] == ""
    assert "baseline: not available" in capsys.readouterr().out


def test_path_and_mlflow_baselines_pass_through(
    env: dict[str, str], tmp_path: Path, github: FakeGitHub
) -> None:
    (tmp_path / "base.json").write_bytes(_report_bytes(0.5))
    env["INPUT_BASELINE"] = "base.json"
    assert main(["baseline"], env) == 0
    assert _outputs(env)["value"] == "base.json"
    env["INPUT_BASELINE"] = "mlflow:runs:/abc123"
    assert main(["baseline"], env) == 0
    assert _outputs(env)["value"] == "mlflow:runs:/abc123"
    assert github.log == []


def test_a_missing_baseline_path_is_exit_2(
    env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    env["INPUT_BASELINE"] = "nope.json"
    assert main(["baseline"], env) == 2
    assert capsys.readouterr().out == (
        "::error title=ragops::nope.json: baseline: baseline report not found\n"
    )
