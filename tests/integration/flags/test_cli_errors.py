"""``ragops flags`` in a real process: bad input is one line on stderr and exit 2."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from pathlib import Path


def ragops(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest_ragops.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.fixture
def latin1_file(tmp_path: Path) -> Path:
    path = tmp_path / "flags.yaml"
    path.write_bytes(
        "beta: {description: 'd\u00e9j\u00e0 vu', rollout_pct: 0.2}\n".encode("latin-1")
    )
    return path


@pytest.mark.parametrize("action", ["check", "eval"])
def test_non_utf8_flag_file_is_one_line_and_exit_2(latin1_file: Path, action: str) -> None:
    args = (
        [str(latin1_file)]
        if action == "check"
        else ["beta", "--user", "u1", "--file", str(latin1_file)]
    )
    result = ragops("flags", action, *args)
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    assert result.stderr == (
        f"ragops: error: {latin1_file}: not UTF-8 text (byte 0xe9 at offset 22); "
        "save the flag file as UTF-8\n"
    )


def test_bad_rollout_argument_is_one_line_and_exit_2(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text("beta: {rollout_pct: 0.2}\n", encoding="utf-8")
    result = ragops(
        "flags", "eval", "beta", "--user", "u1", "--file", str(path), "--rollout-pct", "nan"
    )
    assert result.returncode == 2
    assert (
        result.stderr
        == "ragops: error: rollout_pct: nan is outside 0-1; rollout_pct is a fraction (0.2 = 20%)\n"
    )


def test_anonymous_user_is_reported_as_such(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text("beta: {rollout_pct: 0.9999}\n", encoding="utf-8")
    result = ragops("flags", "eval", "beta", "--user", "", "--file", str(path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("beta for '': off (reason: anonymous, bucket ")
