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
from pytest_ragops.drift.store import DAILY, TABLE, SqlAlchemyStore, SqliteStore, open_store
from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence
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
    rollup_reads = 0
    for sql, params in seen:
        plan = [row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params)]
        if f" {DAILY} " in f" {sql} ":  # whole days: a seek on the roll-up's (day, bin) key
            rollup_reads += 1
            assert f"SEARCH {DAILY} USING PRIMARY KEY (day>? AND day<?)" in plan, (sql, plan)
            continue
        reads = [step for step in plan if f" {TABLE} " in f" {step} "]
        assert reads, (sql, plan)
        for step in reads:
            assert step.startswith("SEARCH"), (sql, plan)  # never a SCAN of the table
            assert "INDEX" in step, (sql, plan)
        # The period is a seek bound (not a filter) of at least one index search.
        assert any("ts>?" in step and "ts<?" in step for step in reads), (sql, plan)
    assert rollup_reads == 2, seen  # the default check reads both periods' whole days there
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
    rollup_reads = 0
    for sql, params in seen:
        plan = " | ".join(row[-1] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))
        if f" {DAILY} " in f" {sql} ":
            rollup_reads += 1
            assert f"SEARCH {DAILY} USING PRIMARY KEY (day>? AND day<?)" in plan, (sql, plan)
            continue
        assert f"USING COVERING INDEX ix_{TABLE}_ts_score (ts>? AND ts<?)" in plan or (
            f"USING INDEX ix_{TABLE}_ts_score (ts>? AND ts<?)" in plan  # topics read the query
        ), (sql, plan)
        assert f"SCAN {TABLE}" not in plan, (sql, plan)
    assert rollup_reads == 2, seen
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


def _rollup_agrees(conn: Any) -> int:
    """Assert the daily roll-up equals the rows grouped by UTC day and bin; return its size."""
    want: dict[tuple[int, int], list[float]] = {}
    for ts, x in conn.execute(f"SELECT ts, top_score FROM {TABLE}").fetchall():
        k = -1 if x < 0 else 1001 if x > 1 else math.floor(x * 1000.0)
        cell = want.setdefault((math.floor(ts / 86400), k), [0, 0.0, 0.0])
        cell[0] += 1
        cell[1] += x
        cell[2] += x * x
    got = {
        (day, k): [n, total, total_sq]
        for day, k, n, total, total_sq in conn.execute(f"SELECT * FROM {DAILY}").fetchall()
    }
    assert got.keys() == want.keys()
    for key, (n, total, total_sq) in want.items():
        assert got[key][0] == n, key
        assert got[key][1] == pytest.approx(total, rel=1e-9, abs=1e-12), key
        assert got[key][2] == pytest.approx(total_sq, rel=1e-9, abs=1e-12), key
    return len(got)


def _days_of_rows(n: int = 4000, seed: int = 3) -> tuple[list[LogRow], np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ts = 1_700_000_000 + rng.uniform(0, 9 * 86400, n)
    ts[:4] = [1_700_006_400.0, 1_700_092_800.0, 1_700_179_200.0, 1_700_179_200.0 - 1e-6]
    scores = np.round(rng.beta(5, 3, n), 4)
    scores[:6] = [0.0, 1.0, 0.5, 0.001, 0.999, 0.0005]  # range edges and bin edges
    rows = [LogRow(float(t), "q", float(x), "s") for t, x in zip(ts, scores, strict=True)]
    return rows, ts, scores


def test_period_stats_from_the_rollup_equal_the_rows(store: LogStore, tmp_path: Path) -> None:
    # Periods over whole UTC days (the roll-up) plus partial days at the edges (the rows),
    # with scores on midnights, a hair before one, and on bin edges.
    rows, ts, scores = _days_of_rows()
    store.insert(rows)
    with sqlite3.connect(tmp_path / "drift.db") as conn:
        assert _rollup_agrees(conn) > 2000
    for start, end in [
        (1_700_000_000.0 + 3600.5, 1_700_000_000.0 + 7.3 * 86400),  # mid-day to mid-day
        (1_700_006_400.0, 1_700_179_200.0),  # midnight to midnight: no raw rows at all
        (1_700_010_000.0, 1_700_050_000.0),  # within one day: rows only
        (1_700_006_400.0 - 1e-6, 1_700_179_200.0 + 1e-6),
    ]:
        got = store.period_stats(start, end, 1000, (0.0, 1.0))
        inside = scores[(ts >= start) & (ts < end)]
        want = PeriodStats.from_scores(inside)
        assert got.counts == want.counts, (start, end)
        assert got.n == want.n == inside.size
        assert got.total == pytest.approx(want.total, rel=1e-12)
        assert got.var == pytest.approx(float(inside.var(ddof=1)), rel=1e-9)


def test_rollup_follows_prune_clear_and_refuses_updates(store: LogStore, tmp_path: Path) -> None:
    rows, ts, _ = _days_of_rows(1500)
    store.insert(rows)
    cutoff = 1_700_000_000.0 + 4.4 * 86400  # mid-day: part of a day's roll-up goes
    assert store.delete_before(cutoff) == int((ts < cutoff).sum())
    store.insert(rows[:200])  # re-log some (old days come back)
    with sqlite3.connect(tmp_path / "drift.db") as conn:
        assert _rollup_agrees(conn) > 0
        with pytest.raises(sqlite3.DatabaseError, match="append-only"):
            conn.execute(f"UPDATE {TABLE} SET top_score = 0.1")
    remaining = store.count()
    assert remaining == 1500 - int((ts < cutoff).sum()) + 200
    assert store.delete_before(math.inf) == remaining  # clear
    with sqlite3.connect(tmp_path / "drift.db") as conn:
        assert _rollup_agrees(conn) == 0
        assert conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone() == (0,)


def _old_schema_log(db: Path, rows: Sequence[LogRow]) -> None:
    """A log exactly as the previous version wrote it: the table and its two indexes."""
    conn = sqlite3.connect(db)
    conn.execute(
        f"CREATE TABLE {TABLE} (id INTEGER PRIMARY KEY, ts REAL NOT NULL, "
        "query TEXT NOT NULL, top_score REAL NOT NULL, session_id TEXT NOT NULL)"
    )
    conn.execute(f"CREATE INDEX ix_{TABLE}_ts_score ON {TABLE} (ts, top_score)")
    conn.execute(
        f"CREATE INDEX ix_{TABLE}_bin ON {TABLE} (CAST(top_score * 1000 AS INTEGER), ts, top_score)"
    )
    conn.executemany(
        f"INSERT INTO {TABLE} (ts, query, top_score, session_id) VALUES (?, ?, ?, ?)", rows
    )
    conn.commit()
    conn.close()


@pytest.mark.parametrize("how", ["sqlite", "sqlalchemy", "read-only command"])
def test_a_log_from_the_previous_version_is_upgraded(tmp_path: Path, how: str) -> None:
    rows, ts, scores = _days_of_rows(2000)
    db = tmp_path / "old.db"
    _old_schema_log(db, rows)
    location = f"sqlite:///{db}" if how == "sqlalchemy" else str(db)
    store = open_store(location, create=how != "read-only command")
    start, end = 1_700_000_000.0 + 5000.0, 1_700_000_000.0 + 8.5 * 86400
    got = store.period_stats(start, end, 1000, (0.0, 1.0))
    assert got.counts == PeriodStats.from_scores(scores[(ts >= start) & (ts < end)]).counts
    store.insert(rows[:10])  # the triggers are live
    store.close()
    with sqlite3.connect(db) as conn:
        assert _rollup_agrees(conn) > 0
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert f"ix_{TABLE}_bin" not in indexes  # the old histogram index is dropped
        assert f"ix_{TABLE}_ts_score" in indexes


def test_an_upgrade_that_cannot_run_is_one_line_and_changes_nothing(tmp_path: Path) -> None:
    rows, _, _ = _days_of_rows(50)
    db = tmp_path / "old.db"
    _old_schema_log(db, rows)
    with sqlite3.connect(db) as conn:  # a user's own trigger holds the name the upgrade needs
        conn.execute(
            f"CREATE TRIGGER {TABLE}_rollup_insert AFTER INSERT ON {TABLE} BEGIN SELECT 1; END"
        )
    for location in (str(db), f"sqlite:///{db}"):
        with pytest.raises(RagopsError) as info:
            open_store(location, create=False)
        message = str(info.value)
        assert "\n" not in message
        assert message.startswith(f"{location}: cannot upgrade the log to the daily roll-up")
        assert "already exists" in message
    with sqlite3.connect(db) as conn:
        assert conn.execute(f"SELECT COUNT(*) FROM {TABLE}").fetchone() == (50,)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert DAILY not in tables  # rolled back whole
