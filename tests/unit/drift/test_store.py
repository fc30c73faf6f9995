from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.drift.schema import LogRow
from pytest_ragops.drift.store import TABLE, SqlAlchemyStore, SqliteStore, open_store
from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_ragops.drift.store import LogStore


@pytest.fixture(params=["sqlite", "sqlalchemy"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LogStore:
    db = tmp_path / "drift.db"
    opened = open_store(str(db) if request.param == "sqlite" else f"sqlite:///{db}")
    expected = SqliteStore if request.param == "sqlite" else SqlAlchemyStore
    assert isinstance(opened, expected)
    return opened


def _rows() -> list[LogRow]:
    return [LogRow(float(t), f"q{t}", t / 10, f"s{t % 2}") for t in range(10)]


def test_ranges_are_half_open(store: LogStore) -> None:
    store.insert(_rows())
    assert store.count() == 10
    assert store.count(2.0, 5.0) == 3
    assert store.scores(2.0, 5.0).tolist() == [0.2, 0.3, 0.4]
    ts, scores = store.points(7.0, 100.0)
    assert ts.tolist() == [7.0, 8.0, 9.0]
    assert scores.tolist() == [0.7, 0.8, 0.9]
    assert store.count_below(0.0, 10.0, 0.35) == 4


def test_low_queries_are_newest_first_and_limited(store: LogStore) -> None:
    store.insert(_rows())
    assert store.low_queries(0.0, 10.0, 0.5, 3) == [("q4", 0.4), ("q3", 0.3), ("q2", 0.2)]


def test_summary_is_exact_and_subsamples_for_the_test(store: LogStore) -> None:
    store.insert([LogRow(float(i), "q", (i % 10) / 10, "s") for i in range(1000)])
    full = store.summary(0.0, 1000.0, cap=10_000)
    assert full.n == 1000
    assert full.values.size == 1000
    assert full.mean == pytest.approx(0.45)
    assert full.var == pytest.approx(float(full.values.var(ddof=1)))
    capped = store.summary(0.0, 1000.0, cap=100)
    assert capped.n == 1000
    assert capped.mean == pytest.approx(0.45)
    assert 90 <= capped.values.size <= 100
    empty = store.summary(5000.0, 6000.0, cap=100)
    assert empty.n == 0
    assert empty.values.size == 0


def test_delete_before_prunes(store: LogStore) -> None:
    store.insert(_rows())
    assert store.delete_before(4.0) == 4
    assert store.count() == 6
    store.close()


def test_sqlite_uses_wal_and_a_time_index(tmp_path: Path) -> None:
    SqliteStore(str(tmp_path / "d.db")).insert(_rows())
    conn = sqlite3.connect(tmp_path / "d.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    plan = conn.execute(
        f"EXPLAIN QUERY PLAN SELECT top_score FROM {TABLE} WHERE ts >= 1"
    ).fetchall()
    assert "COVERING INDEX" in plan[0][-1]
    conn.close()


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
