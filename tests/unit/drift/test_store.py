from __future__ import annotations

import math
import sqlite3
import threading
from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from pytest_ragops.drift import RetrievalLog
from pytest_ragops.drift.schema import LogRow
from pytest_ragops.drift.stats import PeriodStats
from pytest_ragops.drift.store import TABLE, SqlAlchemyStore, SqliteStore, open_store
from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

    from pytest_ragops.drift.store import LogStore


@pytest.fixture(params=["sqlite", "sqlalchemy"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[LogStore]:
    db = tmp_path / "drift.db"
    opened = open_store(str(db) if request.param == "sqlite" else f"sqlite:///{db}")
    expected = SqliteStore if request.param == "sqlite" else SqlAlchemyStore
    assert isinstance(opened, expected)
    yield opened
    opened.close()


def _rows() -> list[LogRow]:
    return [LogRow(float(t), f"q{t}", t / 10, f"s{t % 2}") for t in range(10)]


def test_ranges_are_half_open(store: LogStore) -> None:
    store.insert(_rows())
    assert store.count() == 10
    assert store.count(2.0, 5.0) == 3
    n, total = store.day_stats(2.0, 5.0)
    assert (n, round(total, 12)) == (3, 0.9)  # 0.2 + 0.3 + 0.4
    assert store.day_stats(50.0, 60.0) == (0, 0.0)
    assert store.count_below(0.0, 10.0, 0.35) == 4


def test_low_queries_are_newest_first_and_limited(store: LogStore) -> None:
    store.insert(_rows())
    assert store.low_queries(0.0, 10.0, 0.5, 3) == [("q4", 0.4), ("q3", 0.3), ("q2", 0.2)]


@pytest.mark.parametrize(
    ("bins", "score_range"), [(1000, (0.0, 1.0)), (7, (0.0, 1.0)), (50, (-1.0, 1.0))]
)
def test_period_stats_equal_the_in_memory_aggregates(
    store: LogStore, bins: int, score_range: tuple[float, float]
) -> None:
    # (1000, [0, 1]) is native SQLite's indexed path; the others are the GROUP BY.
    rng = np.random.default_rng(5)
    values = np.round(rng.beta(7, 3, 3000), 6)
    values[:3] = [0.0, 1.0, 0.5]  # both edges of the range and a bin edge
    store.insert([LogRow(float(i), "q", float(v), "s") for i, v in enumerate(values)])
    got = store.period_stats(100.0, 2500.0, bins, score_range)
    want = PeriodStats.from_scores(values[100:2500], bins=bins, score_range=score_range)
    assert got.counts == want.counts
    assert got.n == want.n == 2400
    assert got.total == pytest.approx(want.total, rel=1e-12)
    assert got.total_sq == pytest.approx(want.total_sq, rel=1e-12)
    assert got.mean == pytest.approx(float(values[100:2500].mean()), rel=1e-12)
    assert got.var == pytest.approx(float(values[100:2500].var(ddof=1)), rel=1e-9)
    empty = store.period_stats(5000.0, 6000.0, bins, score_range)
    assert empty.n == 0
    assert sum(empty.counts) == 0
    assert math.isnan(empty.mean)


def test_scores_outside_the_range_fail_the_check(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    with RetrievalLog(db, score_range=(-1.0, 1.0)) as wide:
        wide.log_many([("q", -0.5, "s"), ("q", 0.5, "s")])
    for location in (str(db), f"sqlite:///{db}"):
        with RetrievalLog(location) as log, pytest.raises(RagopsError) as info:
            log.check_drift(min_samples=2)
        assert "holds scores outside the score range [0, 1]" in str(info.value)
        assert str(info.value).startswith(location)


def test_delete_before_prunes(store: LogStore) -> None:
    store.insert(_rows())
    assert store.delete_before(4.0) == 4
    assert store.count() == 6


def test_sqlite_uses_wal(tmp_path: Path) -> None:
    store = SqliteStore(str(tmp_path / "d.db"))
    store.insert(_rows())
    store.close()
    conn = sqlite3.connect(tmp_path / "d.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def _exercise(log: RetrievalLog) -> None:
    """Every read a check, a plot, topics and the counters make."""
    log.check_drift(min_samples=2)
    log.check_drift(min_samples=2, test="ks", bins=20)
    log.daily_means()
    log.drift_topics(score_threshold=0.9)
    log.count()


def _fill(log: RetrievalLog) -> None:
    from datetime import UTC, datetime, timedelta

    now = datetime.now(UTC)
    log.log_many(
        [
            (f"query about topic {i % 7}", (i % 97) / 97, "s", now - timedelta(hours=i))
            for i in range(900)
        ]
    )


def test_every_native_sqlite_query_uses_an_index_on_time(tmp_path: Path) -> None:
    log = RetrievalLog(tmp_path / "d.db")
    _fill(log)
    store = log._store
    assert isinstance(store, SqliteStore)
    seen: list[tuple[str, tuple[Any, ...]]] = []
    select = store._select

    def record(sql: str, params: Any) -> list[Any]:
        seen.append((sql, tuple(params)))
        return select(sql, params)

    store._select = record  # type: ignore[method-assign]
    _exercise(log)
    assert len({sql for sql, _ in seen}) >= 6
    conn = sqlite3.connect(tmp_path / "d.db")
    for sql, params in seen:
        plan = [row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        reads = [step for step in plan if f" {TABLE} " in f" {step} "]
        assert reads, (sql, plan)
        for step in reads:
            assert step.startswith("SEARCH"), (sql, plan)  # never a SCAN of the table
            assert "INDEX" in step, (sql, plan)
        if not params:  # the range guard: MIN and MAX of the bin index, one probe each
            assert sql.startswith("SELECT (SELECT MIN("), sql
            continue
        # The period is a seek bound (not a filter) of at least one index search.
        assert any("ts>?" in step and "ts<?" in step for step in reads), (sql, plan)
    conn.close()
    log.close()


def test_every_sqlalchemy_query_uses_the_time_index(tmp_path: Path) -> None:
    import sqlalchemy as sa

    url = f"sqlite:///{tmp_path / 'd.db'}"
    log = RetrievalLog(url)
    _fill(log)
    store = log._store
    assert isinstance(store, SqlAlchemyStore)
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    sa.event.listen(store._engine, "before_cursor_execute", record)
    _exercise(log)
    sa.event.remove(store._engine, "before_cursor_execute", record)
    assert len(seen) >= 6
    conn = sqlite3.connect(tmp_path / "d.db")
    for sql, params in seen:
        plan = " | ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        assert f"USING COVERING INDEX ix_{TABLE}_ts_score (ts>? AND ts<?)" in plan or (
            f"USING INDEX ix_{TABLE}_ts_score (ts>? AND ts<?)" in plan  # topics read the query
        ), (sql, plan)
        assert f"SCAN {TABLE}" not in plan, (sql, plan)
    conn.close()
    log.close()


def test_close_closes_every_threads_connection(tmp_path: Path) -> None:
    # Issue 8: close() closed only the calling thread's connection. With WAL, SQLite removes
    # the -wal file when the last connection closes: the black-box proof all are closed.
    db = tmp_path / "d.db"
    log = RetrievalLog(db)
    done = threading.Event()
    logged = threading.Barrier(4)

    def worker(i: int) -> None:
        log.log(f"from thread {i}", 0.5, "s")
        logged.wait()
        done.wait(30)  # stay alive, so the thread's connection stays open

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    logged.wait()
    log.log("from the main thread", 0.5, "s")
    assert (tmp_path / "d.db-wal").exists()
    log.close()
    try:
        assert not (tmp_path / "d.db-wal").exists()
    finally:
        done.set()
        for t in threads:
            t.join()
    with RetrievalLog(db) as again:
        assert again.count() == 4


def test_bad_locations_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(RagopsError, match=r"nope/drift.db: the directory for the drift database"):
        open_store(str(tmp_path / "nope" / "drift.db"))
    with pytest.raises(RagopsError, match=r"^db: the database path is empty"):
        open_store("")
    with pytest.raises(RagopsError, match=r"^nosuchdb://x: cannot use this database URL"):
        open_store("nosuchdb://x")
    # A URL whose driver is not installed names the missing module, not a traceback.
    missing_driver = r"cannot use this database URL: No module named 'pg8000'"
    with pytest.raises(RagopsError, match=missing_driver):
        open_store("postgresql+pg8000://user@localhost/ragops")
    (tmp_path / "junk.db").write_bytes(b"this is not a database" * 100)
    with pytest.raises(RagopsError, match=r"junk.db: cannot open the drift database: file is not"):
        open_store(str(tmp_path / "junk.db"))


def test_create_false_never_makes_a_log(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    for location in (str(missing), f"sqlite:///{missing}"):
        with pytest.raises(RagopsError, match=r"missing.db: the drift database does not exist$"):
            open_store(location, create=False)
    assert not missing.exists()
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.close()
    for location in (str(other), f"sqlite:///{other}"):
        with pytest.raises(RagopsError, match=rf"holds no retrieval log \(no table {TABLE}\)"):
            open_store(location, create=False)
    open_store(tmp_path / "real.db").close()
    open_store(str(tmp_path / "real.db"), create=False).close()
