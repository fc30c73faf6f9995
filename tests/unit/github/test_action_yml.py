"""action.yml and the workflows: offline schema checks, zizmor, pinned uses, no ${{ }} in run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40}$")


def _steps(path: Path) -> list[dict[str, Any]]:
    data = yaml.safe_load(path.read_text())
    if path.name == "action.yml":
        steps: list[dict[str, Any]] = data["runs"]["steps"]
        return steps
    return [s for job in data["jobs"].values() for s in job.get("steps", [])]


def test_action_matches_the_github_actions_schema() -> None:
    done = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-actions", "action.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_matches_the_github_workflows_schema(path: Path) -> None:
    done = subprocess.run(
        [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows", str(path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_zizmor_finds_nothing() -> None:
    done = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--quiet", ".github/workflows", "action.yml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("path", [ROOT / "action.yml", *WORKFLOWS], ids=lambda p: p.name)
def test_every_uses_is_pinned_and_no_expression_is_in_a_run(path: Path) -> None:
    for step in _steps(path):
        uses = step.get("uses")
        if uses is not None and not uses.startswith("./"):
            assert PINNED.match(uses), f"{path.name}: {uses} is not pinned to a full commit SHA"
        assert "${{" not in step.get("run", ""), f"{path.name}: ${{{{ }}}} inside run: {step}"


def test_action_declares_the_documented_inputs_and_outputs() -> None:
    action = yaml.safe_load((ROOT / "action.yml").read_text())
    assert action["runs"]["using"] == "composite"
    assert {
        "paths",
        "extra-paths",
        "python-version",
        "install",
        "pytest-args",
        "thresholds",
        "mlflow-uri",
        "anthropic-api-key",
        "github-token",
        "comment",
        "force",
        "baseline",
        "shard",
    } <= set(action["inputs"])
    assert {"ran", "passed", "report-path", "markdown-path"} <= set(action["outputs"])
