"""Drift at scale (issue 13): the check runs inside the database, in constant memory.

Prints, in one run:

1. the check over 1M rows on SQLite against the seed's two ``AVG`` queries over the same
   rows and periods (median of 5 each; target <= 1.2x);
2. the peak memory of a check over 1M and over 10M rows (each measured in a fresh process:
   peak RSS, and the Python heap peak by tracemalloc; target: 10M within 1.2x of 1M);
3. the check over 10M rows on a real PostgreSQL server (started here, loaded with ``COPY``,
   which fires the roll-up's trigger) against the two ``AVG`` queries on the same table
   (median of 5; target <= 1.5x).

The seed's queries read the same rows of the same periods through the ``(ts, top_score)``
index; ``now`` is mid-day, so the check reads the cut days from the rows.

Run: ``.venv/bin/python benchmarks/drift_scale.py [--rows 1000000] [--big-rows 10000000]``;
``--topics`` also times topic clustering (issue 4's figure).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_ragops.drift import RetrievalLog
from pytest_ragops.drift.store import DAILY, TABLE

# Mid-day, so every period boundary cuts a UTC day: the check reads those partial days
# from the rows (about two days' worth) and the whole days from the roll-up.
NOW = datetime(2026, 3, 1, 13, 37, tzinfo=UTC)
ROOT = Path(__file__).resolve().parent.parent
_SEED_AVG = f"SELECT AVG(top_score) FROM {TABLE} WHERE ts >= ? AND ts < ?"


def _pg_helpers() -> Any:
    """The drift integration tests' PostgreSQL server and COPY loader (one implementation)."""
    path = ROOT / "tests" / "integration" / "drift" / "conftest.py"
    spec = importlib.util.spec_from_file_location("drift_pg_conftest", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _fill_sqlite(path: Path, rows: int) -> None:
    """Create the log (schema and indexes as RetrievalLog makes them) and load ``rows``."""
    RetrievalLog(path).close()
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    # Bulk load: drop the index, the roll-up and its triggers, insert, and let RetrievalLog
    # rebuild them (a sorted index build and one GROUP BY backfill, the upgrade path a log
    # from the previous version takes, are far faster than row-by-row maintenance).
    for kind, name in conn.execute(
        "SELECT type, name FROM sqlite_master WHERE type IN ('index', 'trigger') "
        "AND sql IS NOT NULL AND tbl_name = ?",
        (TABLE,),
    ).fetchall():
        conn.execute(f"DROP {kind.upper()} {name}")
    conn.execute(f"DROP TABLE {DAILY}")
    helpers = _pg_helpers()
    for ts, scores in helpers.synthetic_scores(rows, NOW.timestamp()):
        conn.executemany(
            f"INSERT INTO {TABLE} (ts, query, top_score, session_id) VALUES (?, ?, ?, ?)",
            (
                (t, "bulk query", s, "bulk")
                for t, s in zip(ts.tolist(), scores.tolist(), strict=True)
            ),
        )
        conn.commit()
    conn.close()
    RetrievalLog(path).close()  # recreates the index and the roll-up (backfilled)
    conn = sqlite3.connect(path)
    conn.execute("ANALYZE")
    conn.commit()
    conn.close()


def _median(fn: Callable[[], object], repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _bounds() -> tuple[float, float, float]:
    end = NOW.timestamp()
    return end - 37 * 86400.0, end - 7 * 86400.0, end + 1e-6


_PEAK = """
import json, resource, sys, tracemalloc
from datetime import datetime
import scipy.special, sqlalchemy  # imported before the baseline: not the check's memory
from pytest_ragops.drift import RetrievalLog
log = RetrievalLog(sys.argv[1], create=False)
now = datetime.fromisoformat(sys.argv[2])
log.check_drift(now=now)  # warm: page cache, lazy imports
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
tracemalloc.start()
result = log.check_drift(now=now)
heap = tracemalloc.get_traced_memory()[1]
tracemalloc.stop()
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"rss_kb": peak, "rss_before_kb": before, "heap": heap,
                  "rows": result["recent_count"] + result["baseline_count"]}))
"""


def _peak(db: str) -> dict[str, int]:
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, db, NOW.isoformat()],
        capture_output=True,
        text=True,
        check=True,
    )
    peak: dict[str, int] = json.loads(done.stdout)
    return peak


def _sqlite_part(tmp: Path, rows: int, big_rows: int) -> None:
    small = tmp / "1m.db"
    _fill_sqlite(small, rows)
    log = RetrievalLog(small)
    start, recent, end = _bounds()
    conn = sqlite3.connect(small)

    def seed_avgs() -> None:
        conn.execute(_SEED_AVG, (recent, end)).fetchone()
        conn.execute(_SEED_AVG, (start, recent)).fetchone()

    result = log.check_drift(now=NOW)  # warm-up: scipy import and page cache
    seed_avgs()
    check_s, seed_s = _median(lambda: log.check_drift(now=NOW)), _median(seed_avgs)
    print(
        f"SQLite, {rows:,} rows: check_drift {check_s * 1000:.1f} ms vs the seed's two AVG "
        f"queries {seed_s * 1000:.1f} ms (median of 5) = {check_s / seed_s:.2f}x "
        f"(target <= 1.2x); status {result['status']}, delta {result['delta']:+.4f}, "
        f"p {result['p_value']:.3g}"
    )
    conn.close()
    log.close()
    big = tmp / "10m.db"
    _fill_sqlite(big, big_rows)
    p_small, p_big = _peak(str(small)), _peak(str(big))
    print(
        f"peak memory of a check: {p_small['rows']:,} rows {p_small['rss_kb'] / 1024:.1f} MB RSS "
        f"(Python heap {p_small['heap'] / 1024:.0f} KB); {p_big['rows']:,} rows "
        f"{p_big['rss_kb'] / 1024:.1f} MB RSS (Python heap {p_big['heap'] / 1024:.0f} KB) = "
        f"{p_big['rss_kb'] / p_small['rss_kb']:.2f}x RSS, "
        f"{p_big['heap'] / p_small['heap']:.2f}x heap (target <= 1.2x)"
    )
    big.unlink()


def _postgres_part(big_rows: int) -> None:
    import psycopg

    helpers = _pg_helpers()
    root = Path(tempfile.mkdtemp(prefix="ragops-pg-bench-"))
    as_user: list[str] = []
    import os
    import pwd
    import shutil

    if os.geteuid() == 0:
        owner = pwd.getpwnam(helpers.PG_USER)
        os.chown(root, owner.pw_uid, owner.pw_gid)
        as_user = [str(shutil.which("runuser")), "-u", helpers.PG_USER, "--"]
    server = helpers.PostgresServer(helpers._bin_dir(), root, as_user)
    try:
        server.init()
        server.start()
        url = server.new_database("bench")
        RetrievalLog(url).close()
        dsn = server.admin_dsn("bench")
        started = time.perf_counter()
        helpers.copy_rows(dsn, big_rows, NOW.timestamp())
        load_s = time.perf_counter() - started
        log = RetrievalLog(url)
        start, recent, end = _bounds()
        with psycopg.connect(dsn) as conn:

            def seed_avgs() -> None:
                sql = _SEED_AVG.replace("?", "%s")
                conn.execute(sql, (recent, end)).fetchone()
                conn.execute(sql, (start, recent)).fetchone()

            result = log.check_drift(now=NOW)
            seed_avgs()
            check_s, seed_s = _median(lambda: log.check_drift(now=NOW)), _median(seed_avgs)
        log.close()
        print(
            f"PostgreSQL, {big_rows:,} rows (COPY in {load_s:.0f} s): check_drift "
            f"{check_s * 1000:.0f} ms vs the two AVG queries {seed_s * 1000:.0f} ms "
            f"(median of 5) = {check_s / seed_s:.2f}x (target <= 1.5x); "
            f"status {result['status']}, n {result['recent_count'] + result['baseline_count']:,}"
        )
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _topics_part(tmp: Path, queries: int) -> None:
    from pytest_ragops.drift.simulate import simulate

    log = RetrievalLog(tmp / "topics.db")
    simulate(log, days=37, queries_per_day=queries // 7, shift_day=30, seed=1, end=NOW)
    log.drift_topics(limit=200, now=NOW)  # warm-up: scikit-learn import
    topics_s = _median(lambda: log.drift_topics(limit=queries, now=NOW), repeat=3)
    print(f"drift_topics clustering up to {queries:,} queries: {topics_s:.2f} s (target <= 5 s)")
    log.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-rows", type=int, default=10_000_000)
    parser.add_argument("--skip-postgres", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    parser.add_argument("--topics", type=int, default=0, metavar="N")
    args = parser.parse_args()
    # A SIGTERM (a timeout) unwinds normally, so the PostgreSQL server and files are removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            _sqlite_part(Path(tmp), args.rows, args.big_rows)
        if not args.skip_postgres:
            _postgres_part(args.big_rows)
        if args.topics:
            _topics_part(Path(tmp), args.topics)


if __name__ == "__main__":
    main()
