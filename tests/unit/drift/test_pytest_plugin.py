from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.drift import RetrievalLog
from pytest_ragops.drift.simulate import simulate

if TYPE_CHECKING:
    from pathlib import Path

# Subprocess runs: numpy cannot be imported twice into one process, as an in-process run
# would after the outer session imported it.
PLUGIN = ("-p", "pytest_ragops.drift.pytest_plugin")
NOW = "datetime(2026, 3, 1, tzinfo=UTC)"


def _db(path: Path, *, shift: bool) -> Path:
    log = RetrievalLog(path)
    simulate(log, seed=0, shift_day=7 if shift else None, end=datetime(2026, 3, 1, tzinfo=UTC))
    log.close()
    return path


TEST_FILE = f"""
from datetime import UTC, datetime

import pytest

@pytest.mark.ragops_drift(now={NOW})
def test_no_drift(ragops_drift):
    result = ragops_drift.assert_no_drift()
    assert result["status"] in ("no_drift", "possible_drift", "insufficient_data")
"""


def test_fixture_fails_a_drifting_log_with_the_numbers(pytester: pytest.Pytester) -> None:
    db = _db(pytester.path / "drift.db", shift=True)
    pytester.makeini(f"[pytest]\nragops_drift_db = {db.name}\n")
    pytester.makepyfile(TEST_FILE)
    result = pytester.runpytest_subprocess(*PLUGIN)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*query drift: status drift: recent mean 0.51* (n=1400) vs baseline 0.69* (n=1400)*"]
    )


def test_fixture_passes_the_control(pytester: pytest.Pytester) -> None:
    db = _db(pytester.path / "control.db", shift=False)
    pytester.makepyfile(TEST_FILE)
    result = pytester.runpytest_subprocess(*PLUGIN, "-o", f"ragops_drift_db={db}")
    result.assert_outcomes(passed=1)


def test_marker_db_and_options_and_env(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = _db(pytester.path / "env.db", shift=True)
    few = pytester.path / "few.db"
    with RetrievalLog(few) as log:  # a fresh deployment: a few recent queries only
        log.log("q", 0.5, "s", datetime(2026, 2, 28, tzinfo=UTC))
    monkeypatch.setenv("RAGOPS_DRIFT_DB", str(db))
    pytester.makepyfile(
        f"""
        from datetime import UTC, datetime
        import pytest

        def test_env(ragops_drift):
            assert ragops_drift.check(now={NOW})["status"] == "drift"

        @pytest.mark.ragops_drift(db={str(few)!r}, now={NOW})
        def test_marker_db(ragops_drift):
            assert ragops_drift.check()["status"] == "insufficient_data"
            ragops_drift.assert_no_drift()  # insufficient data does not fail by default
            with pytest.raises(pytest.fail.Exception):
                ragops_drift.assert_no_drift(fail_on=("drift", "insufficient_data"))

        @pytest.mark.ragops_drift(now={NOW}, min_drop=0.5)
        def test_marker_options(ragops_drift):
            assert ragops_drift.check()["status"] == "no_drift"  # a 0.18 drop < min_drop
        """
    )
    result = pytester.runpytest_subprocess(*PLUGIN, "--strict-markers")
    result.assert_outcomes(passed=3)


def test_plugin_registers_the_marker(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_subprocess(*PLUGIN, "--markers")
    result.stdout.fnmatch_lines(["@pytest.mark.ragops_drift(db=None, **check_options):*"])


def test_missing_or_empty_database_fails_with_one_line(pytester: pytest.Pytester) -> None:
    # Issue 8: these passed before (a missing path made a new empty log: insufficient_data).
    RetrievalLog(pytester.path / "empty.db").close()
    old = pytester.path / "old.db"
    with RetrievalLog(old) as log:  # logged long ago, nothing recent: logging stopped
        log.log("q", 0.5, "s", datetime(2026, 2, 1, tzinfo=UTC))
    pytester.makepyfile(
        f"""
        from datetime import UTC, datetime
        import pytest

        @pytest.mark.ragops_drift(db="missing.db", now={NOW})
        def test_missing(ragops_drift):
            ragops_drift.assert_no_drift()

        @pytest.mark.ragops_drift(db="empty.db", now={NOW})
        def test_empty(ragops_drift):
            ragops_drift.assert_no_drift()

        @pytest.mark.ragops_drift(db="old.db", now={NOW})
        def test_stale(ragops_drift):
            ragops_drift.assert_no_drift()
        """
    )
    result = pytester.runpytest_subprocess(*PLUGIN, "-rf")
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(
        [
            "query drift: missing.db: the drift database does not exist",
            "query drift: empty.db: no query logged in the recent window "
            "(7 days to 2026-03-01T00:00:00+00:00); is the app still logging?",
            "query drift: old.db: no query logged in the recent window *",
        ]
    )
    assert not (pytester.path / "missing.db").exists()  # the check did not create it


def test_unknown_marker_keyword_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ragops_drift(window_day=7)
        def test_typo(ragops_drift):
            ragops_drift.assert_no_drift()
        """
    )
    result = pytester.runpytest_subprocess(*PLUGIN)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: ragops: *test_typo: ragops_drift marker: unknown keyword(s) window_day; use *"]
    )
    result.stdout.no_fnmatch_line("*passed*")
