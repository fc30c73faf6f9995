"""``ragops comment`` with the real PyGithub client against a local GitHub REST server."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.cli import main
from pytest_ragops.report.markdown import MARKER

if TYPE_CHECKING:
    from pathlib import Path

    from tests.integration.github.conftest import FakeGitHub

HEAD = "a" * 40
BODY = f"{MARKER}\n### ✅ ragops: all 1 gates passed · 2 records · judge `offline`\n\nok\n"


@pytest.fixture
def actions_env(
    tmp_path: Path, github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> dict[str, Path]:
    """The variables a pull_request run sets, with the API at the fake server."""
    event = tmp_path / "event.json"
    event.write_text(
        json.dumps(
            {
                "number": 7,
                "pull_request": {
                    "number": 7,
                    "head": {"sha": HEAD, "repo": {"full_name": "fork/app"}},
                    "base": {"sha": "b" * 40, "ref": "main"},
                },
            }
        )
    )
    files = {"output": tmp_path / "out.txt", "summary": tmp_path / "summary.md"}
    for name, value in {
        "GITHUB_API_URL": github.api_url,
        "GITHUB_REPOSITORY": github.repo,
        "GITHUB_TOKEN": "bot-token",
        "GITHUB_EVENT_NAME": "pull_request",
        "GITHUB_EVENT_PATH": str(event),
        "GITHUB_OUTPUT": str(files["output"]),
        "GITHUB_STEP_SUMMARY": str(files["summary"]),
        "GITHUB_SERVER_URL": "https://github.example",
        "GITHUB_RUN_ID": "42",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".ragops").mkdir()
    (tmp_path / ".ragops" / "report.md").write_text(BODY)
    return files


def _outputs(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_first_run_creates_second_updates_the_same_comment(
    github: FakeGitHub, actions_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["comment"]) == 0
    first = capsys.readouterr().out
    assert first.startswith("ragops comment: created https://github.example/acme/app/pull/7#")
    assert _outputs(actions_env["output"])["comment"] == "created"

    (actions_env["output"]).unlink()
    new_body = BODY.replace("all 1 gates passed", "1 of 1 gates failed")
    (actions_env["output"].parent / ".ragops" / "report.md").write_text(new_body)
    assert main(["comment"]) == 0
    assert capsys.readouterr().out.startswith("ragops comment: updated ")
    assert _outputs(actions_env["output"])["comment"] == "updated"

    comments = github.comments[7]
    assert len(comments) == 1
    assert comments[0]["user"]["login"] == "github-actions[bot]"
    assert comments[0]["body"] == new_body  # a failed verdict is posted too
    assert len(github.requests("POST", r"/comments$")) == 1
    assert len(github.requests("PATCH", r"/issues/comments/\d+$")) == 1


def test_a_humans_marker_comment_is_left_alone(
    github: FakeGitHub, actions_env: dict[str, Path]
) -> None:
    human = github.add_comment(7, f"{MARKER}\nquoting the bot: looks wrong", "alice")
    assert main(["comment"]) == 0
    assert human["body"] == f"{MARKER}\nquoting the bot: looks wrong"
    assert [c["user"]["login"] for c in github.comments[7]] == ["alice", "github-actions[bot]"]


def test_the_tokens_own_user_is_the_author(
    github: FakeGitHub, actions_env: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    mine = github.add_comment(7, f"{MARKER}\nold report", "alice")
    bots = github.add_comment(7, f"{MARKER}\nthe bot's report", "github-actions[bot]")
    monkeypatch.setenv("GITHUB_TOKEN", "pat-token")  # a personal token acting as alice
    assert main(["comment"]) == 0
    assert mine["body"] == BODY
    assert bots["body"] == f"{MARKER}\nthe bot's report"
    assert github.requests("GET", r"/api/v3/user$")


def test_our_comment_is_found_past_the_first_pages(
    github: FakeGitHub, actions_env: dict[str, Path]
) -> None:
    for i in range(230):
        github.add_comment(7, f"review comment {i}", "bob")
    ours = github.add_comment(7, f"{MARKER}\nprevious report", "github-actions[bot]")
    assert main(["comment"]) == 0
    assert ours["body"] == BODY
    assert len(github.comments[7]) == 231
    pages = github.requests("GET", r"/issues/7/comments")
    assert any("page=3" in p[1] for p in pages)


def _long_body(rows: int) -> str:
    lines = [
        MARKER,
        "### ❌ ragops: 1 of 2 gates failed · 900 records · judge `offline`",
        "",
        "| | gate | scope | value | bound | note |",
        "|---|---|---|---|---|---|",
        "| ❌ | `faithfulness_mean` | suite | 0.7000 | ≥ 0.8 | 0.7 is below 0.8 |",
        "| ✅ | `latency_p95_s` | suite | 1.0000 | ≤ 2 | |",
        "",
        "<details><summary>900 worst cases</summary>",
        "",
        "| case | answer |",
        "|---|---|",
    ]
    lines += [f"| case-{i:04d} | {'an answer that goes on ' * 3} |" for i in range(rows)]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def test_a_422_for_size_trims_and_keeps_verdict_gates_and_marker(
    github: FakeGitHub, actions_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    github.max_body = 10_000  # a stricter server: the body is under 60,000 but still refused
    body = _long_body(300)
    assert 20_000 < len(body) < 60_000
    (actions_env["output"].parent / ".ragops" / "report.md").write_text(body)
    assert main(["comment"]) == 0
    posted = github.comments[7][0]["body"]
    assert len(posted) <= 10_000
    assert posted.split("\n")[0] == MARKER
    assert "1 of 2 gates failed" in posted
    assert "| ❌ | `faithfulness_mean` | suite | 0.7000 | ≥ 0.8 | 0.7 is below 0.8 |" in posted
    assert "| ✅ | `latency_p95_s` |" in posted
    assert posted.count("<details>") == posted.count("</details>")
    assert "the full report is in the artifacts of [this run]" in posted
    assert "https://github.example/acme/app/actions/runs/42" in posted
    assert len(github.requests("POST", r"/comments$")) == 2  # refused once, then trimmed
    assert "trimmed to" in capsys.readouterr().out


def test_a_body_over_the_limit_is_trimmed_before_posting(
    github: FakeGitHub, actions_env: dict[str, Path]
) -> None:
    body = _long_body(1200)
    assert len(body) > 65_536
    (actions_env["output"].parent / ".ragops" / "report.md").write_text(body)
    assert main(["comment"]) == 0
    posted = github.comments[7][0]["body"]
    assert 50_000 < len(posted) <= 60_000
    assert len(github.requests("POST", r"/comments$")) == 1


def test_fork_pr_403_defers_to_a_file_and_the_summary(
    github: FakeGitHub, actions_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    github.readonly.add("bot-token")
    assert main(["comment"]) == 0
    out = capsys.readouterr().out
    assert out.count("\n") == 1
    assert "read-only token (fork PR?)" in out
    deferred = actions_env["output"].parent / ".ragops" / "pr-comment"
    assert (deferred / "body.md").read_text() == BODY
    assert (deferred / "pr-number").read_text() == "7\n"
    assert (deferred / "head-sha").read_text() == f"{HEAD}\n"
    assert BODY in actions_env["summary"].read_text()
    assert _outputs(actions_env["output"])["comment"] == "deferred"
    assert 7 not in github.comments


def test_workflow_run_follow_up_posts_the_deferred_body(
    github: FakeGitHub,
    actions_env: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The second workflow of the fork pattern: privileged token, PR number from the artifact."""
    github.readonly.add("bot-token")
    assert main(["comment"]) == 0  # the pull_request run, read-only
    deferred = actions_env["output"].parent / ".ragops" / "pr-comment"
    github.readonly.clear()
    github.pulls[7] = {"head": {"sha": HEAD}}
    event = actions_env["output"].parent / "workflow_run.json"
    event.write_text(json.dumps({"workflow_run": {"head_sha": HEAD, "pull_requests": []}}))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "workflow_run")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    pr = (deferred / "pr-number").read_text().strip()
    sha = (deferred / "head-sha").read_text().strip()
    args = ["comment", "--body-file", str(deferred / "body.md"), "--pr", pr, "--head-sha", sha]
    assert main(args) == 0
    assert github.comments[7][0]["body"] == BODY

    # A PR number that does not belong to the run's commit is refused, one line, exit 2.
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        main([*args[:-1], "c" * 40])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        f"ragops: error: --head-sha: PR #7 head is {HEAD[:12]}, not {'c' * 12}: refusing to "
        "comment (a newer push, or a PR number that does not belong to this run)\n"
    )


def test_push_event_has_no_pr_and_exits_0(
    github: FakeGitHub,
    actions_env: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    event = actions_env["output"].parent / "push.json"
    event.write_text(json.dumps({"before": "b" * 40, "after": HEAD}))
    monkeypatch.setenv("GITHUB_EVENT_NAME", "push")
    monkeypatch.setenv("GITHUB_EVENT_PATH", str(event))
    assert main(["comment"]) == 0
    assert capsys.readouterr().out == (
        "ragops comment: no pull request for this push event: nothing to comment on\n"
    )
    assert github.log == []


def test_missing_body_is_exit_2_naming_the_file(
    github: FakeGitHub, actions_env: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["comment", "--body-file", "nope.md"])
    assert exc.value.code == 2
    assert (
        capsys.readouterr().err
        == "ragops: error: nope.md: body file not found (did the eval run?)\n"
    )


def test_bad_token_is_one_line(
    github: FakeGitHub,
    actions_env: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("GITHUB_TOKEN", "wrong")
    with pytest.raises(SystemExit) as exc:
        main(["comment"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "HTTP 401: Bad credentials" in err
