"""Drift at scale on a real PostgreSQL server (issue 13): bulk-loaded with COPY, checked in
the database, every query on the time index.

The bulk test loads ``$RAGOPS_DRIFT_PG_ROWS`` rows (default 1,000,000, which keeps it near
a minute on a 2-core CI machine); ``benchmarks/drift_scale.py`` loads and checks 10M.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import psycopg
import pytest
import sqlalchemy as sa

from pytest_ragops.drift import RetrievalLog
from pytest_ragops.drift.store import DAILY, TABLE, SqlAlchemyStore

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

NOW = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)  # mid-day: whole days and partial days
ROWS = int(os.environ.get("RAGOPS_DRIFT_PG_ROWS", "1000000"))


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture
def log(fresh_postgres_url: str) -> Iterator[RetrievalLog]:
    opened = RetrievalLog(fresh_postgres_url)  # creates the schema COPY loads into
    yield opened
    opened.close()


def test_every_query_uses_the_time_index(
    log: RetrievalLog, fresh_postgres_url: str, bulk_copy: Callable[..., None]
) -> None:
    # A year of history, checked over the last 37 days: a plan that ignored the time index
    # would read the whole year (a sequential scan) and EXPLAIN would say so.
    bulk_copy(_dsn(fresh_postgres_url), 200_000, NOW.timestamp(), days=365)
    store = log._store
    assert isinstance(store, SqlAlchemyStore)
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, params))

    sa.event.listen(store._engine, "before_cursor_execute", record)
    log.check_drift(now=NOW)
    log.check_drift(now=NOW, test="ks", bins=50)
    log.daily_means(now=NOW)
    log.drift_topics(now=NOW, score_threshold=0.3, limit=100)
    sa.event.remove(store._engine, "before_cursor_execute", record)
    assert len(seen) >= 40  # two checks, ~37 days, topics' reads
    rollup_reads = 0
    with store._engine.connect() as conn:
        for statement, params in seen:
            plan = "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", params))
            assert "Seq Scan" not in plan, (statement, plan)
            if f" {DAILY} " in f" {statement} ":  # whole days: the roll-up's (day, bin) key
                rollup_reads += 1
                assert f"{DAILY}_pkey" in plan, (statement, plan)
                assert "Index Cond: ((day >=" in plan, (statement, plan)
            else:
                assert f"ix_{TABLE}_ts_score" in plan, (statement, plan)
    assert rollup_reads == 2  # the default check reads both periods' whole days there


def test_bulk_loaded_log_is_checked_inside_the_database(
    log: RetrievalLog, fresh_postgres_url: str, bulk_copy: Callable[..., None]
) -> None:
    dsn = _dsn(fresh_postgres_url)
    bulk_copy(dsn, ROWS, NOW.timestamp())
    result = log.check_drift(now=NOW)
    assert result["recent_count"] + result["baseline_count"] == ROWS
    assert result["status"] == "drift"
    assert result["p_value"] is not None
    assert result["p_value"] < 1e-12
    start, recent = NOW.timestamp() - 37 * 86400, NOW.timestamp() - 7 * 86400
    with psycopg.connect(dsn) as conn:
        sql = f"SELECT COUNT(*), AVG(top_score) FROM {TABLE} WHERE ts >= %s AND ts < %s"
        want = [conn.execute(sql, bounds).fetchone() for bounds in ((recent, 2e9), (start, recent))]
        # COPY fired the roll-up's statement trigger: every row counted once.
        assert conn.execute(f"SELECT SUM(n) FROM {DAILY}").fetchone() == (ROWS,)
    assert want[0] is not None
    assert want[1] is not None
    assert result["recent_count"] == want[0][0]
    assert result["recent_avg_score"] == pytest.approx(want[0][1], rel=1e-9)
    assert result["baseline_avg_score"] == pytest.approx(want[1][1], rel=1e-9)
    days = log.daily_means(now=NOW)
    assert len(days) == 37
    assert sum(n for _, _, n in days) == ROWS
