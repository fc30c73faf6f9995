"""Several processes logging to one store at once lose no rows (issue 4)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import time
from typing import TYPE_CHECKING

from pytest_ragops.drift import RetrievalLog
from pytest_ragops.drift.store import TABLE

if TYPE_CHECKING:
    from pathlib import Path

WORKER = """
import os, sys, time
from pytest_ragops.drift import RetrievalLog

db, worker, rows, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
log = RetrievalLog(db)
while not os.path.exists(go):  # start together, so the writers really contend
    time.sleep(0.005)
half = rows // 2
for i in range(half):  # one transaction per row, the usual serving-path call
    log.log(f"worker {worker} query {i}", (i % 100) / 100, f"w{worker}")
for start in range(half, rows, 250):  # and batches
    log.log_many([(f"worker {worker} query {i}", 0.5, f"w{worker}")
                  for i in range(start, min(start + 250, rows))])
log.close()
print("done", worker)
"""


def _run_writers(db: str, tmp_path: Path, processes: int, rows: int) -> None:
    RetrievalLog(db).close()  # create the schema once, as a deployment would
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, db, str(w), str(rows), str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(processes)
    ]
    time.sleep(0.5)
    go.touch()
    for w, proc in enumerate(procs):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err
        assert out.strip() == f"done {w}"


def test_four_sqlite_writers_lose_nothing(tmp_path: Path) -> None:
    db = str(tmp_path / "drift.db")
    _run_writers(db, tmp_path, processes=4, rows=10_000)
    log = RetrievalLog(db)
    assert log.count() == 40_000
    conn = sqlite3.connect(db)
    distinct = conn.execute(f"SELECT COUNT(DISTINCT query) FROM {TABLE}").fetchone()[0]
    conn.close()
    assert distinct == 40_000  # every row once: none lost, none written twice


def test_sqlalchemy_url_writers_lose_nothing(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'drift.db'}"
    _run_writers(db, tmp_path, processes=4, rows=2_000)
    assert RetrievalLog(db).count() == 8_000
