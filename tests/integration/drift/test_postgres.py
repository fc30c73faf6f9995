"""The drift log on a real PostgreSQL server gives what the default SQLite store gives.

Each test gets a new database (``fresh_postgres_url``) on the session's throwaway server, so
row ids start at 1 on both backends and the checks' subsamples pick the same rows.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import re
import socket
import threading
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from pytest_ragops.drift import RetrievalLog, check_retrieval_drift, log_retrieval_score
from pytest_ragops.drift.simulate import simulate
from pytest_ragops.drift.store import TABLE, SqlAlchemyStore, SqliteStore, open_store
from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping
    from pathlib import Path

    from tests.integration.drift.conftest import PostgresServer

    Opener = Callable[[str | os.PathLike[str]], RetrievalLog]

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def open_log() -> Iterator[Opener]:
    """Open logs and close them at teardown, failed test or not: an engine left to the garbage
    collector makes psycopg warn about its open connection, and warnings are errors here."""
    opened: list[RetrievalLog] = []

    def open_one(db: str | os.PathLike[str]) -> RetrievalLog:
        opened.append(RetrievalLog(db))
        return opened[-1]

    yield open_one
    for log in opened:
        log.close()


def _dsn(url: str) -> str:
    """psycopg's form of one of our SQLAlchemy URLs."""
    return url.replace("postgresql+psycopg://", "postgresql://")


def _same_numbers(pg: Mapping[str, Any], lite: Mapping[str, Any]) -> None:
    assert pg.keys() == lite.keys()
    for key, value in lite.items():
        floats = isinstance(value, list) and all(isinstance(v, float) for v in value)
        if isinstance(value, float) or floats:
            assert pg[key] == pytest.approx(value, rel=1e-9, abs=1e-12), key
        else:
            assert pg[key] == value, key


def test_round_trip_matches_sqlite(
    open_log: Opener, fresh_postgres_url: str, tmp_path: Path
) -> None:
    logs = {"pg": open_log(fresh_postgres_url), "sqlite": open_log(tmp_path / "d.db")}
    for log in logs.values():
        summary = simulate(log, days=14, queries_per_day=150, shift_day=9, seed=7, end=NOW)
        assert summary["rows"] == 2100
        # Both write paths: single rows and a batch of mappings.
        log.log("how do I restore a pg_dump", 0.91, "live-1", NOW - timedelta(hours=2))
        log.log_many(
            [
                {
                    "query": "kubernetes ingress for billing",
                    "top_score": 0.05,
                    "session_id": "x",
                    "ts": NOW - timedelta(days=1),
                },
                {"query": "gdpr erasure", "top_score": 0.1, "session_id": "x", "ts": NOW},
            ]
        )
    pg, lite = logs["pg"], logs["sqlite"]
    assert pg.count() == lite.count() == 2103

    kwargs: dict[str, Any] = {"window_days": 5, "baseline_days": 9, "now": NOW}
    pg_check, lite_check = pg.check_drift(**kwargs), lite.check_drift(**kwargs)
    _same_numbers(pg_check, lite_check)
    assert pg_check["status"] == "drift"
    assert pg_check["recent_count"] == 5 * 150 + 3  # the window includes `now` itself
    # The KS test, a coarser histogram and another score range agree too: the same bins.
    _same_numbers(pg.check_drift(**kwargs, test="ks"), lite.check_drift(**kwargs, test="ks"))
    _same_numbers(pg.check_drift(**kwargs, bins=37), lite.check_drift(**kwargs, bins=37))
    stores = [open_store(fresh_postgres_url), open_store(str(tmp_path / "d.db"))]
    assert isinstance(stores[0], SqlAlchemyStore)
    assert isinstance(stores[1], SqliteStore)
    start, end = NOW.timestamp() - 9 * 86400, NOW.timestamp()
    wide = [s.period_stats(start, end, 64, (-1.0, 1.0)) for s in stores]
    native = stores[1].period_stats(start, end, 1000, (0.0, 1.0))  # the indexed path
    pg_native = stores[0].period_stats(start, end, 1000, (0.0, 1.0))
    for store in stores:
        store.close()
    assert wide[0].n == wide[1].n == 9 * 150 + 2  # [now - 9 days, now): not "at now"
    assert wide[0].counts == wide[1].counts
    assert pg_native.counts == native.counts
    assert pg_native.total == pytest.approx(native.total, rel=1e-12)
    for (d_pg, m_pg, n_pg), (d_lite, m_lite, n_lite) in zip(
        pg.daily_means(**kwargs), lite.daily_means(**kwargs), strict=True
    ):
        assert (d_pg, n_pg) == (d_lite, n_lite)
        assert m_pg == pytest.approx(m_lite, rel=1e-12)

    pg_topics = pg.drift_topics(score_threshold=0.4, **kwargs)
    lite_topics = lite.drift_topics(score_threshold=0.4, **kwargs)
    assert len(pg_topics) == len(lite_topics) >= 2
    for got, want in zip(pg_topics, lite_topics, strict=True):
        assert set(got["keywords"]) == set(want["keywords"])
        _same_numbers(got, want)
    named = {kw for topic in pg_topics for kw in topic["keywords"]}
    assert named & {"kubernetes", "billing", "gdpr", "invoices"}

    # The classic module functions take the URL too (and reuse one engine per URL).
    log_retrieval_score("classic api row", 0.2, "c", ts=NOW - timedelta(days=20), db=pg.location)
    assert pg.count() == 2104
    _same_numbers(check_retrieval_drift(db=pg.location, **kwargs), pg_check)

    assert pg.prune(12, now=NOW) == lite.prune(12, now=NOW) + 1  # + the classic-api row
    assert pg.count() == lite.count() == 12 * 150 + 3
    _same_numbers(pg.check_drift(**kwargs), lite.check_drift(**kwargs))
    assert pg.clear() == lite.clear() == 12 * 150 + 3
    assert pg.count() == 0
    empty = pg.check_drift(**kwargs)
    assert empty["status"] == "insufficient_data"
    assert empty["recent_count"] == 0
    assert pg.drift_topics(**kwargs) == []


def test_tz_aware_timestamps_are_preserved(
    open_log: Opener, fresh_postgres_url: str, tmp_path: Path
) -> None:
    with psycopg.connect(_dsn(fresh_postgres_url)) as conn:
        row = conn.execute("SHOW TimeZone").fetchone()
    assert row is not None
    assert row[0] != "UTC"  # the server's own zone must not leak into the log
    stamps = [
        datetime(2026, 2, 28, 23, 59, 59, 999_999, tzinfo=UTC),
        datetime(2026, 3, 1, 5, 29, 30, 123_456, tzinfo=timezone(timedelta(hours=5, minutes=30))),
        datetime(2026, 2, 28, 16, 0, 0, 1, tzinfo=timezone(timedelta(hours=-8))),
        datetime(2026, 3, 2, 1, 45, tzinfo=ZoneInfo("Pacific/Chatham")),  # = NOW, in +13:45
        datetime(2026, 2, 27, 12, 0),  # naive is UTC
        datetime(1969, 7, 20, 20, 17, 40, tzinfo=UTC),  # before the epoch
        datetime(2100, 1, 1, tzinfo=UTC),
    ]
    logs = [open_log(fresh_postgres_url), open_log(tmp_path / "d.db")]
    for log in logs:
        for i, when in enumerate(stamps):
            log.log(f"q{i}", 0.5, "s", when)
    expected = sorted((w if w.tzinfo else w.replace(tzinfo=UTC)).timestamp() for w in stamps)
    with psycopg.connect(_dsn(fresh_postgres_url)) as conn:
        ts = [r[0] for r in conn.execute(f"SELECT ts FROM {TABLE} ORDER BY ts").fetchall()]
    assert ts == expected  # exact: float8 keeps every microsecond
    back = [datetime.fromtimestamp(t, UTC) for t in ts]
    assert back[0] == stamps[5]
    assert back[-1] == stamps[-1]
    assert stamps[1] in back  # the same instant, to the microsecond
    # Window edges fall where SQLite puts them, with `now` in any zone.
    for now in (NOW, NOW.astimezone(ZoneInfo("America/Los_Angeles"))):
        results = [log.check_drift(1, 2, now, min_samples=2) for log in logs]
        assert results[0]["recent_count"] == results[1]["recent_count"] == 4  # includes NOW
        assert results[0]["baseline_count"] == results[1]["baseline_count"] == 1
        assert results[0]["recent_end"] == results[1]["recent_end"] == "2026-03-01T12:00:00+00:00"
        assert [d for d, _, _ in logs[0].daily_means(1, 2, now)] == [
            d for d, _, _ in logs[1].daily_means(1, 2, now)
        ]


BAD_ROWS: list[tuple[tuple[Any, ...], str]] = [
    (("q", math.nan, "s"), r"row 1: top_score: top_score must be finite"),
    (("q", 1.5, "s"), r"row 1: top_score: top_score 1.5 is outside \[0.0, 1.0\]"),
    (("q", True, "s"), r"row 1: top_score: top_score must be a number, got bool"),
    (("   ", 0.5, "s"), r"row 1: query: query is empty"),
    (("q", 0.5, 7), r"row 1: session_id: session_id must be a string, got int"),
    (("q", 0.5, "s", "2026-03-01"), r"row 1: ts: ts must be a datetime or None, got str"),
    (("nul\x00byte", 0.5, "s"), r"row 1: query: query contains a NUL character"),
    (("q", 0.5, "sess\x00"), r"row 1: session_id: session_id contains a NUL character"),
    (("\ud800 lone surrogate", 0.5, "s"), r"row 1: query: query is not valid Unicode"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_ROWS)
def test_bad_rows_are_rejected_and_nothing_is_written(
    open_log: Opener, postgres_url: str, bad: tuple[Any, ...], message: str
) -> None:
    log = open_log(postgres_url)
    before = log.count()
    with pytest.raises(RagopsError, match=f"^{re.escape(postgres_url)}: {message}"):
        log.log_many([("a good row first", 0.5, "s"), bad])
    with pytest.raises(RagopsError, match=message.replace("row 1: ", "")):
        log.log(*bad)
    assert log.count() == before


def test_a_batch_the_database_refuses_is_rolled_back_whole(
    open_log: Opener, fresh_postgres_url: str
) -> None:
    log = open_log(fresh_postgres_url)
    with psycopg.connect(_dsn(fresh_postgres_url), autocommit=True) as conn:
        conn.execute(f"ALTER TABLE {TABLE} ADD CONSTRAINT no_poison CHECK (query <> 'poison')")
    rows = [(f"fine {i}", 0.5, "s") for i in range(500)] + [("poison", 0.5, "s")]
    with pytest.raises(RagopsError) as caught:
        log.log_many(rows)
    text = str(caught.value)
    assert "drift database error" in text
    assert 'violates check constraint "no_poison"' in text
    assert "\n" not in text  # one line: not SQLAlchemy's SQL and 501 parameter sets
    assert "fine 499" not in text
    assert log.count() == 0
    log.log_many(rows[:-1])
    assert log.count() == 500


def test_unreachable_or_missing_databases_are_one_line_errors(
    postgres_server: PostgresServer,
) -> None:
    missing = postgres_server.url("no_such_db")
    with pytest.raises(RagopsError, match=r"cannot open the drift database: .*no_such_db"):
        RetrievalLog(missing)
    closed = f"postgresql+psycopg://postgres@127.0.0.1:{_closed_port()}/ragops"
    with pytest.raises(RagopsError) as caught:
        RetrievalLog(closed)
    assert str(caught.value).startswith(f"{closed}: cannot open the drift database: ")
    assert "Connection refused" in str(caught.value)
    assert "\n" not in str(caught.value)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


def test_a_server_restart_costs_no_row(
    open_log: Opener, postgres_server: PostgresServer, fresh_postgres_url: str
) -> None:
    log = open_log(fresh_postgres_url)
    log.log("before the restart", 0.5, "s")  # leaves a pooled connection behind
    postgres_server.restart()
    log.log("after the restart", 0.5, "s")  # the stale connection is replaced, not used
    assert log.count() == 2


def _child_logs(log: RetrievalLog) -> None:
    log.log_many([(f"child {i}", 0.25, "child") for i in range(100)])


def test_a_forked_child_does_not_share_the_parents_connections(
    open_log: Opener, fresh_postgres_url: str
) -> None:
    log = open_log(fresh_postgres_url)
    log.log("parent before", 0.5, "parent")  # the pool now holds a live connection
    child = multiprocessing.get_context("fork").Process(target=_child_logs, args=(log,))
    child.start()
    child.join(timeout=60)
    assert child.exitcode == 0
    log.log("parent after", 0.5, "parent")  # would fail had the child used our socket
    assert log.count() == 102


def test_four_writers_on_a_new_database_lose_nothing(
    open_log: Opener,
    fresh_postgres_url: str,
    concurrent_writers: Callable[[str, int, int], None],
    rollup_agrees: Callable[[Any], int],
) -> None:
    # No schema yet: the four workers race its creation as well as the writes.
    concurrent_writers(fresh_postgres_url, 4, 2_000)
    log = open_log(fresh_postgres_url)
    assert log.count() == 8_000
    with psycopg.connect(_dsn(fresh_postgres_url)) as conn:
        row = conn.execute(
            f"SELECT COUNT(DISTINCT query), COUNT(DISTINCT session_id) FROM {TABLE}"
        ).fetchone()
        assert row == (8_000, 4)  # every row once: none lost, none written twice
        assert rollup_agrees(conn) >= 100  # and the roll-up counted each once (no deadlock)


def test_rollup_follows_writers_prune_and_clear(
    open_log: Opener,
    fresh_postgres_url: str,
    concurrent_writers: Callable[[str, int, int], None],
    rollup_agrees: Callable[[Any], int],
) -> None:
    # Batches over many days and bins, a prune while four writers log, then a clear.
    log = open_log(fresh_postgres_url)
    now = datetime(2026, 3, 1, 13, 37, tzinfo=UTC)
    simulate(log, days=12, queries_per_day=150, shift_day=8, seed=4, end=now)
    dsn = _dsn(fresh_postgres_url)
    pruned: list[int] = []
    pruner = threading.Thread(target=lambda: pruned.append(_prune(fresh_postgres_url, now)))
    pruner.start()  # its own log and connection, racing the writer processes
    concurrent_writers(fresh_postgres_url, 4, 400)
    pruner.join(120)
    assert pruned
    assert pruned[0] > 0
    with psycopg.connect(dsn) as conn:
        assert rollup_agrees(conn) > 1000
        with pytest.raises(psycopg.errors.RaiseException, match="append-only"):
            conn.execute(f"UPDATE {TABLE} SET top_score = 0.1")
    result = log.check_drift(now=now, window_days=4, baseline_days=7)
    assert result["status"] == "drift"
    remaining = log.count()
    assert log.clear() == remaining
    with psycopg.connect(dsn) as conn:
        assert rollup_agrees(conn) == 0


def _prune(url: str, now: datetime) -> int:
    with RetrievalLog(url) as log:
        return log.prune(10.4, now=now)  # mid-day: part of a day's roll-up goes


def test_a_log_from_the_previous_version_is_upgraded(
    open_log: Opener,
    fresh_postgres_url: str,
    rollup_agrees: Callable[[Any], int],
    tmp_path: Path,
) -> None:
    dsn = _dsn(fresh_postgres_url)
    with psycopg.connect(dsn) as conn:  # the table and index exactly as the old version made
        conn.execute(
            f"CREATE TABLE {TABLE} (id BIGSERIAL PRIMARY KEY, ts DOUBLE PRECISION NOT NULL, "
            "query TEXT NOT NULL, top_score DOUBLE PRECISION NOT NULL, session_id TEXT NOT NULL)"
        )
        conn.execute(f"CREATE INDEX ix_{TABLE}_ts_score ON {TABLE} (ts, top_score)")
        conn.execute(
            f"INSERT INTO {TABLE} (ts, query, top_score, session_id) "
            "SELECT 1772000000 + i * 97.3, 'q', (i % 1001) / 1000.0, 's' "
            "FROM generate_series(1, 5000) AS i"
        )
    log = open_log(fresh_postgres_url)
    log.log("after the upgrade", 0.25, "s")
    with psycopg.connect(dsn) as conn:
        assert rollup_agrees(conn) > 1000
    now = datetime.fromtimestamp(1772000000 + 5000 * 97.3, UTC)
    lite = open_log(tmp_path / "same.db")
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(f"SELECT query, top_score, session_id, ts FROM {TABLE}").fetchall()
    lite.log_many([(q, s, sid, datetime.fromtimestamp(t, UTC)) for q, s, sid, t in rows])
    for window in (1, 2.5):
        _same_numbers(log.check_drift(window, 2, now=now), lite.check_drift(window, 2, now=now))
