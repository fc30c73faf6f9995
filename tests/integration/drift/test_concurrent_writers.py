"""Several processes logging to one store at once lose no rows (issue 4)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.drift import RetrievalLog
from pytest_ragops.drift.store import TABLE

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


def test_four_sqlite_writers_lose_nothing(
    tmp_path: Path,
    concurrent_writers: Callable[[str, int, int], None],
    rollup_agrees: Callable[[Any], int],
) -> None:
    db = str(tmp_path / "drift.db")
    RetrievalLog(db).close()  # create the schema once, as a deployment would
    concurrent_writers(db, 4, 10_000)
    log = RetrievalLog(db)
    assert log.count() == 40_000
    conn = sqlite3.connect(db)
    distinct = conn.execute(f"SELECT COUNT(DISTINCT query) FROM {TABLE}").fetchone()[0]
    assert distinct == 40_000  # every row once: none lost, none written twice
    assert rollup_agrees(conn) >= 100  # the roll-up counted each row once too
    conn.close()


def test_sqlalchemy_url_writers_lose_nothing(
    tmp_path: Path,
    concurrent_writers: Callable[[str, int, int], None],
    rollup_agrees: Callable[[Any], int],
) -> None:
    db = f"sqlite:///{tmp_path / 'drift.db'}"
    RetrievalLog(db).close()
    concurrent_writers(db, 4, 2_000)
    with RetrievalLog(db) as log:
        assert log.count() == 8_000
    with sqlite3.connect(tmp_path / "drift.db") as conn:
        assert rollup_agrees(conn) >= 100


@pytest.mark.parametrize("kind", ["sqlite", "sqlalchemy"])
def test_schema_creation_is_safe_under_concurrent_first_use(
    tmp_path: Path, concurrent_writers: Callable[[str, int, int], None], kind: str
) -> None:
    # No schema yet: eight processes open the new file at the same moment (issue 8).
    path = tmp_path / "new.db"
    db = str(path) if kind == "sqlite" else f"sqlite:///{path}"
    concurrent_writers(db, 8, 60)
    with RetrievalLog(db) as log:
        assert log.count() == 480
