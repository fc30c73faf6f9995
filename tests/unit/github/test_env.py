"""The Actions environment: PR number, fork detection, outputs, summary."""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.errors import RagopsError
from pytest_ragops.github.env import ActionsEnv, current_commit

if TYPE_CHECKING:
    from pathlib import Path


def _env(tmp_path: Path, event: object, **extra: str) -> ActionsEnv:
    (tmp_path / "e.json").write_text(json.dumps(event))
    return ActionsEnv({"GITHUB_EVENT_PATH": str(tmp_path / "e.json"), **extra})


def test_pr_number_and_fork(tmp_path: Path) -> None:
    pr = {"number": 9, "head": {"repo": {"full_name": "someone/app"}}}
    env = _env(tmp_path, {"pull_request": pr}, GITHUB_REPOSITORY="acme/app")
    assert env.pr_number() == 9
    assert env.is_fork_pr()


@pytest.mark.parametrize(
    "event",
    [{"before": "x"}, {"pull_request": {"number": "9"}}, {"pull_request": {"number": True}}],
)
def test_no_pr_number(tmp_path: Path, event: object) -> None:
    assert _env(tmp_path, event).pr_number() is None


def test_bad_event_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "e.json").write_text("[1]")
    with pytest.raises(RagopsError) as exc:
        ActionsEnv({"GITHUB_EVENT_PATH": str(tmp_path / "e.json")}).event()
    assert str(exc.value) == f"{tmp_path / 'e.json'}: GITHUB_EVENT_PATH: expected a JSON object"


def test_outputs_single_and_multi_line(tmp_path: Path) -> None:
    out = tmp_path / "out"
    env = ActionsEnv({"GITHUB_OUTPUT": str(out), "GITHUB_STEP_SUMMARY": str(tmp_path / "s")})
    env.set_output("ran", "true")
    env.set_output("body", "a\nb")
    lines = out.read_text().splitlines()
    assert lines[0] == "ran=true"
    assert lines[1].startswith("body<<ragops_")
    assert lines[2:4] == ["a", "b"]
    assert lines[4] == lines[1].split("<<")[1]
    env.summary("hello")
    assert (tmp_path / "s").read_text() == "hello\n"


def test_api_url_and_run_url() -> None:
    env = ActionsEnv(
        {
            "GITHUB_API_URL": "https://ghe.example/api/v3/",
            "GITHUB_SERVER_URL": "https://ghe.example",
            "GITHUB_REPOSITORY": "acme/app",
            "GITHUB_RUN_ID": "12",
        }
    )
    assert env.api_url == "https://ghe.example/api/v3"
    assert env.run_url() == "https://ghe.example/acme/app/actions/runs/12"
    assert ActionsEnv({}).api_url == "https://api.github.com"


def test_current_commit(tmp_path: Path) -> None:
    assert current_commit(tmp_path, {"GITHUB_SHA": "abc"}) == "abc"
    assert current_commit(tmp_path, {}) is None  # not a git checkout
    git = ["git", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    ident = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, *ident, "commit", "-q", "--allow-empty", "-m", "x"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True)
    assert current_commit(tmp_path, {}) == head.stdout.strip()
