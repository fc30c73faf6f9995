"""The build/deploy jobs of ai-ci.yml: schema-valid, zizmor-clean, pinned, no secret in a run."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
WORKFLOW = ROOT / ".github" / "workflows" / "ai-ci.yml"
REMOTE = ROOT / "examples" / "deploy" / "remote.sh"
BIN = Path(sys.executable).parent


def _jobs() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(WORKFLOW.read_text())
    return {k: v for k, v in data["jobs"].items() if k in ("build", "deploy")}


@pytest.fixture
def workflow() -> Path:
    """The project's own pipeline, where the build and deploy stages live."""
    return WORKFLOW


def test_schema_and_zizmor_accept_the_jobs(workflow: Path) -> None:
    check = [str(BIN / "check-jsonschema"), "--builtin-schema", "vendor.github-workflows"]
    schema = subprocess.run(
        [*check, str(workflow)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert schema.returncode == 0, schema.stdout + schema.stderr
    audit = subprocess.run(
        [str(BIN / "zizmor"), "--offline", "--quiet", str(workflow.parent)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert audit.returncode == 0, audit.stdout + audit.stderr


def test_actions_are_pinned_and_runs_hold_no_expressions() -> None:
    jobs = _jobs()
    assert set(jobs) == {"build", "deploy"}
    for job in jobs.values():
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w.-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
            assert "${{" not in step.get("run", ""), step


def test_build_pushes_on_main_only_and_deploy_is_gated_by_production() -> None:
    build, deploy = _jobs()["build"], _jobs()["deploy"]
    assert build["permissions"] == {"contents": "read", "packages": "write"}
    assert "refs/heads/main" in build["if"]
    push = next(s for s in build["steps"] if "build-push-action" in s.get("uses", ""))
    assert push["with"]["push"] is True
    assert push["with"]["file"] == "examples/Dockerfile"
    assert deploy["environment"] == "production"
    assert deploy["needs"] == "build"
    assert build["needs"] == ["test", "prompt-eval"]
    step = deploy["steps"][0]
    secrets = {k for k, v in step["env"].items() if "secrets." in v}
    assert secrets == {"DEPLOY_HOST", "DEPLOY_USER", "DEPLOY_SSH_KEY", "DEPLOY_KNOWN_HOSTS"}
    assert "StrictHostKeyChecking=yes" in step["run"]
    assert not re.search(r"\becho\b|set -x", step["run"])  # nothing from env is printed


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["abc", "ghcr.io/o/r/ragapp:abc"],
        ["a" * 40, "ghcr.io/o/r/ragapp:" + "b" * 40],  # image of another commit
        ["a" * 40, "ghcr.io/o/r/ragapp:" + "a" * 40 + ";rm -rf /"],
        ["a" * 40 + "; id", "x"],
    ],
)
def test_remote_script_refuses_anything_but_a_commit_and_its_image(args: list[str]) -> None:
    done = subprocess.run(
        ["sh", str(REMOTE), *args], capture_output=True, text=True, check=False,
        env={"PATH": "/usr/bin:/bin", "RAGAPP_ROOT": "/nonexistent"},
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
