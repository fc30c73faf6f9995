"""The action's steps with temporary GITHUB_OUTPUT, GITHUB_STEP_SUMMARY and GITHUB_EVENT_PATH."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from pytest_ragops.github.action_steps import main

ZERO = "0" * 40


def _git(repo: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def _commit(repo: Path, files: dict[str, str], message: str) -> str:
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    _git(repo, "add", "-A")
    _git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message)
    return _git(repo, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    _commit(path, {"prompts/system.txt": "v1", "README.md": "hi"}, "base")
    monkeypatch.chdir(path)
    return path


def _env(tmp_path: Path, event_name: str, event: dict[str, Any], **inputs: str) -> dict[str, str]:
    (tmp_path / "event.json").write_text(json.dumps(event))
    return {
        "GITHUB_EVENT_NAME": event_name,
        "GITHUB_EVENT_PATH": str(tmp_path / "event.json"),
        "GITHUB_OUTPUT": str(tmp_path / "out.txt"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        "INPUT_PATHS": "prompts/**",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        **inputs,
    }


def _outputs(env: dict[str, str]) -> dict[str, str]:
    path = Path(env["GITHUB_OUTPUT"])
    lines = path.read_text().splitlines() if path.exists() else []
    return dict(line.split("=", 1) for line in lines if "=" in line)


def _summary(env: dict[str, str]) -> str:
    path = Path(env["GITHUB_STEP_SUMMARY"])
    return path.read_text() if path.exists() else ""


def _pr(base: str) -> dict[str, Any]:
    return {"pull_request": {"number": 1, "base": {"sha": base, "ref": "main"}}}


# -- detect ------------------------------------------------------------------------------
def test_pr_without_prompt_changes_is_skipped(repo: Path, tmp_path: Path) -> None:
    base = _git(repo, "rev-parse", "HEAD")
    _commit(repo, {"README.md": "changed"}, "docs")
    env = _env(tmp_path, "pull_request", _pr(base))
    assert main(["detect"], env) == 0
    assert _outputs(env)["ran"] == "false"
    assert _summary(env) == (
        f"**ragops:** no changed file matches prompts/** (1 files changed since {base[:12]}): "
        "evals skipped.\n"
    )


def test_pr_changing_a_prompt_runs(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = _git(repo, "rev-parse", "HEAD")
    _commit(repo, {"prompts/system.txt": "v2", "README.md": "x"}, "prompt")
    env = _env(tmp_path, "pull_request", _pr(base))
    assert main(["detect"], env) == 0
    assert _outputs(env) == {"ran": "true", "artifact-name": "ragops-report"}
    assert capsys.readouterr().out == (
        "ragops: 1 changed files match prompts/**: evals run\n  prompts/system.txt\n"
    )
    assert _summary(env) == ""


def test_extra_paths_and_shard_label(repo: Path, tmp_path: Path) -> None:
    base = _git(repo, "rev-parse", "HEAD")
    _commit(repo, {"golden/cases.yaml": "x"}, "cases")
    env = _env(
        tmp_path,
        "pull_request",
        _pr(base),
        INPUT_EXTRA_PATHS="golden/*.yaml\n*.prompt",
        INPUT_SHARD="2",
    )
    assert main(["detect"], env) == 0
    assert _outputs(env) == {"ran": "true", "artifact-name": "ragops-report-2"}


def test_force_runs_without_changes(repo: Path, tmp_path: Path) -> None:
    base = _git(repo, "rev-parse", "HEAD")
    env = _env(tmp_path, "pull_request", _pr(base), INPUT_FORCE="true")
    assert main(["detect"], env) == 0
    assert _outputs(env)["ran"] == "true"


def test_bad_force_value_is_one_error_line(
    repo: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path, "pull_request", _pr(ZERO), INPUT_FORCE="sometimes")
    assert main(["detect"], env) == 2
    assert capsys.readouterr().out == (
        "::error title=ragops::action input: INPUT_FORCE: must be true or false, got 'sometimes'\n"
    )


def test_shallow_checkout_fetches_the_base(repo: Path, tmp_path: Path) -> None:
    base = _git(repo, "rev-parse", "HEAD")
    _commit(repo, {"README.md": "only docs"}, "docs")
    _git(repo, "config", "uploadpack.allowAnySHA1InWant", "true")  # as GitHub allows
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", "--depth=1", f"file://{repo}", str(clone)], check=True)
    assert subprocess.run(["git", "-C", str(clone), "cat-file", "-e", base]).returncode != 0
    env = _env(tmp_path, "pull_request", _pr(base))
    import os

    os.chdir(clone)
    assert main(["detect"], env) == 0
    assert _outputs(env)["ran"] == "false"  # README only, decided after fetching the base
    _git(clone, "cat-file", "-e", f"{base}^{{commit}}")


def test_unreachable_base_runs_to_be_safe(repo: Path, tmp_path: Path) -> None:
    env = _env(tmp_path, "pull_request", _pr("f" * 40))
    assert main(["detect"], env) == 0
    assert _outputs(env)["ran"] == "true"


def test_push_is_diffed_against_before(repo: Path, tmp_path: Path) -> None:
    before = _git(repo, "rev-parse", "HEAD")
    _commit(repo, {"README.md": "x"}, "docs")
    env = _env(tmp_path, "push", {"before": before, "after": "HEAD"})
    assert main(["detect"], env) == 0
    assert _outputs(env)["ran"] == "false"


@pytest.mark.parametrize(
    ("event_name", "event"),
    [
        pytest.param("push", {"before": ZERO}, id="new-branch"),
        pytest.param("workflow_dispatch", {"inputs": {}}, id="dispatch"),
    ],
)
def test_events_without_a_base_run(
    repo: Path, tmp_path: Path, event_name: str, event: dict[str, Any]
) -> None:
    env = _env(tmp_path, event_name, event)
    assert main(["detect"], env) == 0
    assert _outputs(env)["ran"] == "true"


def test_unknown_step_is_usage(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["deploy"], {}) == 2
    assert "usage:" in capsys.readouterr().out


# -- run and verdict -----------------------------------------------------------------------
EVAL_TEST = """\
import pytest

DOC = "Paris is the capital of France."

@pytest.mark.ragops_eval
def test_capital(ragops):
    ragops.record("What is the capital of France?", DOC, [DOC], case_id="capital",
                  cost_usd=0.002, latency_s=0.1)
"""


#: Only this plugin: the dev environment's other pytest plugins (langsmith, ...) cost seconds.
FAST = "-p no:cacheprovider -p pytest_ragops.plugin"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    (path / "pyproject.toml").write_text("[tool.ragops.thresholds]\nfaithfulness = 0.5\n")
    (path / "test_eval.py").write_text(EVAL_TEST)
    monkeypatch.chdir(path)
    return path


def test_run_passes_sets_outputs_and_summary(project: Path, tmp_path: Path) -> None:
    env = _env(tmp_path, "workflow_dispatch", {}, INPUT_PYTEST_ARGS=f"{FAST} -q")
    assert main(["run"], env) == 0
    out = _outputs(env)
    assert out == {
        "passed": "true",
        "exit-code": "0",
        "report-path": ".ragops/report.json",
        "markdown-path": ".ragops/report.md",
    }
    body = (project / ".ragops/report.md").read_text()
    assert body.startswith("<!-- pytest-ragops report -->\n### ✅ ragops: all 1 gates passed")
    assert body in _summary(env)


def test_a_failed_gate_is_passed_false_and_still_exits_0(project: Path, tmp_path: Path) -> None:
    env = _env(
        tmp_path,
        "workflow_dispatch",
        {},
        INPUT_THRESHOLDS="cost_per_query_usd=0.001, latency_p95_s=5",
        INPUT_PYTEST_ARGS=f"{FAST} -q",
    )
    assert main(["run"], env) == 0
    out = _outputs(env)
    assert out["passed"] == "false"
    assert out["exit-code"] == "1"
    assert out["report-path"] == ".ragops/report.json"
    report = json.loads((project / ".ragops/report.json").read_text())
    assert {g["key"]: g["passed"] for g in report["gates"]} == {
        "faithfulness": True,
        "cost_per_query_usd": False,
        "latency_p95_s": True,
    }
    # The verdict step fails the job afterwards, once the comment is out.
    verdict = {"RAN": "true", "PASSED": out["passed"], "EXIT_CODE": out["exit-code"]}
    assert main(["verdict"], verdict) == 1


def test_a_shard_is_not_failed_by_suite_gates_over_its_subset(
    project: Path, tmp_path: Path
) -> None:
    """The report records pytest's outcomes, so a shard whose tests all passed is fine:
    ``ragops report merge`` gates the suite once over every shard's records."""
    env = _env(
        tmp_path,
        "workflow_dispatch",
        {},
        INPUT_THRESHOLDS="cost_per_query_usd=0.001, latency_p95_s=5",
        INPUT_PYTEST_ARGS=f"{FAST} -q",
        INPUT_SHARD="a",
    )
    assert main(["run"], env) == 0
    out = _outputs(env)
    assert out["exit-code"] == "1"
    assert out["passed"] == "true"
    report = json.loads((project / ".ragops/shard-a/report.json").read_text())
    assert report["run"]["pytest_outcomes"] == {"passed": 1}


def test_a_run_without_report_posts_a_failure_not_a_stale_report(
    project: Path, tmp_path: Path
) -> None:
    stale = project / ".ragops/report.md"
    stale.parent.mkdir()
    stale.write_text("<!-- pytest-ragops report -->\n### ✅ ragops: all gates passed (old)\n")
    env = _env(
        tmp_path,
        "workflow_dispatch",
        {},
        INPUT_PYTEST_ARGS=f"{FAST} --ragops-threshold=bogus=1",
    )
    assert main(["run"], env) == 0
    out = _outputs(env)
    assert out["passed"] == "false"
    assert out["exit-code"] == "4"  # pytest's usage error
    assert out["report-path"] == ""
    body = stale.read_text()
    assert "### ❌ ragops: the eval run produced no report (pytest exit status 4)" in body
    assert "old" not in body


def test_bad_threshold_input_is_one_error_line(
    project: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    env = _env(tmp_path, "workflow_dispatch", {}, INPUT_THRESHOLDS="faithfulness")
    assert main(["run"], env) == 2
    assert capsys.readouterr().out == (
        "::error title=ragops::action input: thresholds: "
        "expected METRIC=VALUE, got 'faithfulness'\n"
    )


@pytest.mark.parametrize(
    ("env", "status"),
    [
        pytest.param({"RAN": "false"}, 0, id="skipped"),
        pytest.param({"RAN": "true", "PASSED": "true"}, 0, id="passed"),
        pytest.param({"RAN": "true", "PASSED": ""}, 1, id="run-step-crashed"),
    ],
)
def test_verdict(env: dict[str, str], status: int) -> None:
    assert main(["verdict"], env) == status
