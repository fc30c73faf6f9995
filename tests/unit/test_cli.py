"""The ``ragops`` command: parser, exit codes, one-line errors."""

from __future__ import annotations

import subprocess
import sys
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.cli import COMMANDS, main, main_parser

if TYPE_CHECKING:
    from pathlib import Path


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    for name in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_help(name: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([name, "--help"])
    assert exc.value.code == 0
    assert f"ragops {name}" in capsys.readouterr().out


def test_no_command_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main([])
    assert exc.value.code == 2
    assert "required" in capsys.readouterr().err


def test_parser_is_buildable_without_running() -> None:
    assert main_parser().prog == "ragops"


def test_cases_validate_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "golden.jsonl"
    good.write_text('{"id": "a", "question": "q?"}\n{"id": "b", "question": "r?"}\n')
    assert main(["cases", "validate", str(good)]) == 0
    assert capsys.readouterr().out == f"{good}: 2 cases OK\n"


def test_cases_validate_bad_file_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "golden.yaml"
    bad.write_text("cases:\n  - id: a\n    question: ok?\n  - id: a\n    question: again?\n")
    with pytest.raises(SystemExit) as exc:
        main(["cases", "validate", str(bad)])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err == f"ragops: error: {bad}: case 2: duplicate id 'a' (first used by case 1)\n"


def test_console_script_prints_one_line_no_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "golden.yaml"
    bad.write_text("- question: 3\n")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_ragops.cli", "cases", "validate", str(bad)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"ragops: error: {bad}: case 1: field 'question' must be a string, got int"
    ]
