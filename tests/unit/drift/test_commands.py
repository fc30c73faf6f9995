"""``ragops drift check --fail-on-drift`` fails closed (issue 8)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.cli import main
from pytest_ragops.drift import RetrievalLog

if TYPE_CHECKING:
    from pathlib import Path

NOW = ["--now", "2026-03-01T00:00:00+00:00"]


def test_fail_on_drift_fails_on_a_missing_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "typo.db"
    assert main(["drift", "check", "--db", str(db), *NOW, "--fail-on-drift"]) == 1
    assert capsys.readouterr().err == (
        f"ragops: drift check failed: {db}: the drift database does not exist\n"
    )
    assert not db.exists()  # the check did not create an empty log
    with pytest.raises(SystemExit) as info:  # without the gate it is bad input
        main(["drift", "check", "--db", str(db), *NOW])
    assert info.value.code == 2
    assert capsys.readouterr().err == f"ragops: error: {db}: the drift database does not exist\n"


def test_fail_on_drift_fails_on_a_log_with_no_recent_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.db"
    RetrievalLog(empty).close()
    assert main(["drift", "check", "--db", str(empty), *NOW, "--fail-on-drift"]) == 1
    captured = capsys.readouterr()
    assert "status: insufficient_data" in captured.out
    assert captured.err == (
        f"ragops: drift check failed: {empty}: no query logged in the recent window (7 days); "
        "is the app still logging?\n"
    )
    assert main(["drift", "check", "--db", str(empty), *NOW]) == 0  # a report, not a gate
    capsys.readouterr()
    few = tmp_path / "few.db"
    with RetrievalLog(few) as log:  # a fresh deployment: insufficient data, not a failure
        log.log("q", 0.5, "s", datetime(2026, 2, 28, tzinfo=UTC))
    assert main(["drift", "check", "--db", str(few), *NOW, "--fail-on-drift"]) == 0


def test_a_file_that_is_not_a_log_fails_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    other = tmp_path / "app.db"
    sqlite3.connect(other).execute("CREATE TABLE users (id)").connection.close()
    assert main(["drift", "check", "--db", str(other), *NOW, "--fail-on-drift"]) == 1
    assert "holds no retrieval log (no table ragops_retrieval_log)" in capsys.readouterr().err
