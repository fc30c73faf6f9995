from __future__ import annotations

import json
import math
import re
import threading
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import numpy as np
import pytest

from pytest_ragops.drift import (
    RetrievalLog,
    check_retrieval_drift,
    identify_drift_topics,
    log_retrieval_score,
)
from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from pathlib import Path

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
CLASSIC_KEYS = {"recent_avg_score", "baseline_avg_score", "delta", "drifting", "action"}


@pytest.fixture(params=["sqlite", "sqlalchemy"])
def db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    path = tmp_path / "drift.db"
    return str(path) if request.param == "sqlite" else f"sqlite:///{path}"


def _fill(log: RetrievalLog, day: int, score: float, n: int = 40) -> None:
    when = NOW - timedelta(days=day, hours=1)
    log.log_many([(f"query {i}", score, "s", when) for i in range(n)])


def test_classic_functions_round_trip(db: str) -> None:
    for day, score in [(1, 0.5), (2, 0.5), (10, 0.8), (20, 0.8)]:
        for i in range(20):
            when = NOW - timedelta(days=day, minutes=i)
            log_retrieval_score(f"q{i}", score, f"s{i}", ts=when, db=db)
    result = check_retrieval_drift(db=db, now=NOW)
    assert set(result) >= CLASSIC_KEYS
    assert result["recent_avg_score"] == pytest.approx(0.5)
    assert result["baseline_avg_score"] == pytest.approx(0.8)
    assert result["delta"] == pytest.approx(-0.3)
    assert result["drifting"] is True
    assert result["status"] == "drift"
    assert result["recent_count"] == 40
    assert result["baseline_count"] == 40
    json.dumps(result, allow_nan=False)
    topics = identify_drift_topics(db=db, now=NOW, score_threshold=0.6)
    assert sum(t["count"] for t in topics) == 40


def test_periods_do_not_overlap_and_include_now(tmp_path: Path) -> None:
    log = RetrievalLog(tmp_path / "d.db")
    log.log_many(
        [
            ("at now", 0.1, "s", NOW),
            ("just inside the window", 0.2, "s", NOW - timedelta(days=7) + timedelta(seconds=1)),
            ("at the window start", 0.3, "s", NOW - timedelta(days=7)),
            ("just before the window", 0.4, "s", NOW - timedelta(days=7, seconds=1)),
            ("baseline start", 0.5, "s", NOW - timedelta(days=37)),
            ("before the baseline", 0.6, "s", NOW - timedelta(days=37, seconds=1)),
            ("after now", 0.7, "s", NOW + timedelta(seconds=1)),
        ]
    )
    result = log.check_drift(now=NOW, min_samples=2)
    assert result["recent_count"] == 3  # 0.1, 0.2, 0.3
    assert result["recent_avg_score"] == pytest.approx(0.2)
    assert result["baseline_count"] == 2  # 0.4, 0.5
    assert result["baseline_avg_score"] == pytest.approx(0.45)
    assert result["recent_start"] == "2026-02-22T12:00:00+00:00"
    assert result["baseline_start"] == "2026-01-23T12:00:00+00:00"
    assert result["recent_end"] == "2026-03-01T12:00:00+00:00"


def test_naive_now_and_ts_are_utc(tmp_path: Path) -> None:
    log = RetrievalLog(tmp_path / "d.db")
    log.log("q", 0.5, "s", ts=datetime(2026, 3, 1, 11, 0))
    assert log.check_drift(now=datetime(2026, 3, 1, 11, 0))["recent_count"] == 1
    assert log.check_drift(now=datetime(2026, 3, 1, 10, 59))["recent_count"] == 0


def test_default_ts_is_now(tmp_path: Path) -> None:
    log = RetrievalLog(tmp_path / "d.db")
    log.log("q", 0.5, "s")
    assert log.check_drift(window_days=1)["recent_avg_score"] == 0.5


def test_insufficient_data_and_no_drift(db: str) -> None:
    log = RetrievalLog(db)
    assert log.check_drift(now=NOW)["status"] == "insufficient_data"
    _fill(log, 1, 0.7)
    _fill(log, 10, 0.7)
    result = log.check_drift(now=NOW)
    assert result["status"] == "no_drift"
    assert result["drifting"] is False
    assert log.check_drift(now=NOW, min_samples=100)["status"] == "insufficient_data"


def test_prune_and_clear(db: str) -> None:
    log = RetrievalLog(db)
    for day in (1, 5, 40, 100):
        _fill(log, day, 0.5, n=3)
    assert log.count() == 12
    assert log.prune(30, now=NOW) == 6
    assert log.count() == 6
    assert log.clear() == 6
    assert log.count() == 0


def test_log_many_is_all_or_nothing_and_names_the_row(tmp_path: Path) -> None:
    log = RetrievalLog(tmp_path / "d.db")
    with pytest.raises(RagopsError) as info:
        log.log_many([("ok", 0.5, "s"), ("bad", math.nan, "s")])
    assert str(info.value) == (
        f"{tmp_path / 'd.db'}: row 1: top_score: top_score must be finite, got nan"
    )
    assert log.count() == 0
    assert log.log_many([]) == 0


def test_bad_inputs_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "d.db"
    with pytest.raises(RagopsError, match=r"d.db: query: query is empty$"):
        log_retrieval_score("", 0.5, "s", db=path)
    with pytest.raises(RagopsError, match=r"top_score: top_score 2.0 is outside \[0.0, 1.0\]"):
        log_retrieval_score("q", 2.0, "s", db=path)
    with pytest.raises(RagopsError, match=r"^window_days: must be a positive number of days"):
        check_retrieval_drift(window_days=0, db=path)
    with pytest.raises(RagopsError, match=r"^baseline_days: must be a positive number of days"):
        check_retrieval_drift(baseline_days=-1, db=path)
    with pytest.raises(RagopsError, match=r"^now: expected a datetime, got str"):
        check_retrieval_drift(db=path, now="2026-01-01")  # type: ignore[arg-type]
    with pytest.raises(RagopsError, match=r"^score_threshold: must be within the score range"):
        identify_drift_topics(score_threshold=1.5, db=path)
    with pytest.raises(RagopsError, match=r"^limit: must be a positive integer, got 0"):
        RetrievalLog(path).drift_topics(limit=0)
    with pytest.raises(RagopsError, match=r"^score_range: must be a finite \(low, high\) pair"):
        RetrievalLog(path, score_range=(1.0, 0.0))


def test_custom_score_range(tmp_path: Path) -> None:
    log = RetrievalLog(tmp_path / "d.db", score_range=(-1.0, 1.0))
    log.log("q", -0.25, "s")
    assert log.count() == 1


def test_daily_means_are_aligned_to_now(tmp_path: Path) -> None:
    with RetrievalLog(tmp_path / "d.db") as log:
        _fill(log, 0, 0.4, n=2)
        _fill(log, 3, 0.8, n=4)
        days = log.daily_means(now=NOW)
    assert [(start, round(mean, 6), n) for start, mean, n in days] == [
        (NOW - timedelta(days=4), 0.8, 4),
        (NOW - timedelta(days=1), 0.4, 2),
    ]


@pytest.mark.parametrize(
    "score", [np.float32(0.25), np.float64(0.75), np.float16(0.5), np.int64(1)]
)
def test_numpy_scores_are_accepted_as_floats(tmp_path: Path, score: object) -> None:
    # Issue 8: a vector store hands back numpy scalars; np.float32 was rejected.
    log = RetrievalLog(tmp_path / "d.db")
    log.log("q", score, "s", NOW)  # type: ignore[arg-type]
    log.log_many([("q", score, "s", NOW)])
    result = log.check_drift(now=NOW, min_samples=2)
    assert result["recent_avg_score"] == pytest.approx(float(score))  # type: ignore[arg-type]
    log.close()


@pytest.mark.parametrize(
    ("score", "message"),
    [
        (np.float32("nan"), "top_score must be finite, got nan"),
        (np.float64("inf"), "top_score must be finite, got inf"),
        (np.float64(1.5), r"top_score 1.5 is outside \[0.0, 1.0\]; normalise scores .*"),
        (np.bool_(True), "top_score must be a number, got bool"),
        (True, "top_score must be a number, got bool"),
        ("0.5", "top_score must be a number, got str"),
    ],
)
def test_bad_scores_are_one_line_value_errors(tmp_path: Path, score: object, message: str) -> None:
    db = tmp_path / "d.db"
    with pytest.raises(ValueError, match=rf"^{re.escape(str(db))}: top_score: {message}$"):
        log_retrieval_score("q", score, "s", db=db)  # type: ignore[arg-type]
    with pytest.raises(RagopsError, match=rf"row 0: top_score: {message}$"):
        RetrievalLog(db).log_many([("q", score, "s")])
    with pytest.raises(ValueError, match="window_days: must be a positive number"):
        check_retrieval_drift(window_days=-1, db=db)


def test_module_functions_share_one_log_per_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Issue 8: every call reopened the file and re-ran its pragmas and DDL.
    from pytest_ragops.drift import log as log_module

    monkeypatch.chdir(tmp_path)
    opened: list[object] = []
    real_init = RetrievalLog.__init__

    def counting_init(self: RetrievalLog, *args: object, **kwargs: object) -> None:
        opened.append(args)
        real_init(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(RetrievalLog, "__init__", counting_init)
    spellings: list[str | Path] = [
        "drift.db",
        "./drift.db",
        tmp_path / "drift.db",
        str(tmp_path / "x" / ".." / "drift.db"),
    ]
    (tmp_path / "x").mkdir()

    def log_some(i: int) -> None:
        for j in range(25):
            log_retrieval_score(f"q{i}-{j}", 0.5, "s", NOW, db=spellings[(i + j) % 4])

    threads = [threading.Thread(target=log_some, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(opened) == 1  # one log for every spelling of the path, from every thread
    assert check_retrieval_drift(db="drift.db", now=NOW, min_samples=2)["recent_count"] == 200
    assert len(opened) == 1
    log_module.close_shared_logs()
    assert not (tmp_path / "drift.db-wal").exists()  # closed: every connection, every thread
    log_retrieval_score("after close", 0.5, "s", NOW, db="drift.db")  # reopens on demand
    assert len(opened) == 2
    log_module.close_shared_logs()


def test_shared_logs_are_closed_at_exit(tmp_path: Path) -> None:
    import subprocess
    import sys

    db = tmp_path / "d.db"
    code = (
        "from pytest_ragops.drift import log_retrieval_score\n"
        f"log_retrieval_score('q', 0.5, 's', db={str(db)!r})\n"
    )
    subprocess.run([sys.executable, "-W", "error", "-c", code], check=True, timeout=120)
    assert db.exists()
    assert not (tmp_path / "d.db-wal").exists()  # the atexit hook closed the connection
