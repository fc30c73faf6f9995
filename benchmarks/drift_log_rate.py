"""Single-call logging rate (issue 8): ``log_retrieval_score`` against the classic seed.

The classic seed connected, ran ``CREATE TABLE IF NOT EXISTS``, inserted, committed and
closed on every call. ``log_retrieval_score`` now reuses one shared log per database (its
connection, pragmas and schema set up once per process), so a call is one INSERT and one
commit. Both write one row per call (one transaction each) to a SQLite file in a fresh
temporary directory. Target: >= 10x.

``measure()`` is what ``benchmarks/session_concurrency.py`` calls; ``main()`` prints it.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pytest_ragops.drift import log_retrieval_score
from pytest_ragops.drift.log import close_shared_logs


def _seed_log(db: str, query: str, top_score: float, session_id: str) -> None:
    """The classic seed's ``log_retrieval_score``, faithfully: everything per call."""
    conn = sqlite3.connect(db)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS retrieval_log "
        "(ts TEXT, query TEXT, top_score REAL, session_id TEXT)"
    )
    conn.execute(
        "INSERT INTO retrieval_log VALUES (?, ?, ?, ?)",
        (datetime.now(UTC).isoformat(), query, top_score, session_id),
    )
    conn.commit()
    conn.close()


def _rate(n: int, call: object) -> float:
    start = time.perf_counter()
    for i in range(n):
        call(f"how do I restore a backup {i}", (i % 100) / 100, f"s{i % 7}")  # type: ignore[operator]
    return n / (time.perf_counter() - start)


def measure(n: int = 2000) -> dict[str, float]:
    """Rows per second of both, and their ratio; each in its own new SQLite file."""
    with tempfile.TemporaryDirectory() as tmp:
        ours, seed = str(Path(tmp) / "ours.db"), str(Path(tmp) / "seed.db")
        # Warm-up (imports, first open) is outside the timing for both.
        log_retrieval_score("warm up", 0.5, "w", db=ours)
        _seed_log(seed, "warm up", 0.5, "w")
        ours_rate = _rate(n, lambda q, s, sid: log_retrieval_score(q, s, sid, db=ours))
        seed_rate = _rate(n, lambda q, s, sid: _seed_log(seed, q, s, sid))
        close_shared_logs()
    return {
        "log_retrieval_score_rows_per_s": ours_rate,
        "connect_per_call_rows_per_s": seed_rate,
        "ratio": ours_rate / seed_rate,
    }


def main() -> None:
    n = 2000
    result = measure(n)
    print(
        f"log_retrieval_score, {n} single-row calls: "
        f"{result['log_retrieval_score_rows_per_s']:,.0f} rows/s vs connect-per-call seed "
        f"{result['connect_per_call_rows_per_s']:,.0f} rows/s = {result['ratio']:.1f}x "
        "(target >= 10x)"
    )


if __name__ == "__main__":
    main()
