"""Drift at scale: check time over 1,000,000 logged rows, clustering time for 5,000 queries.

Targets (issue 4): check <= 1 s on SQLite; clustering <= 5 s. Prints measured figures;
run with ``.venv/bin/python benchmarks/drift_scale.py [--rows N] [--queries N]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from pytest_ragops.drift import RetrievalLog
from pytest_ragops.drift.simulate import generate

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _fill(log: RetrievalLog, rows: int) -> float:
    """Log ``rows`` simulated entries over 37 days (shift in the last 7) in 50k batches."""
    days = 37
    sim = generate(days=days, queries_per_day=rows // days + 1, shift_day=30, seed=1, end=NOW)
    sim = sim[:rows]
    start = time.perf_counter()
    for i in range(0, len(sim), 50_000):
        batch = [
            (r.query, r.top_score, r.session_id, datetime.fromtimestamp(r.ts, UTC))
            for r in sim[i : i + 50_000]
        ]
        log.log_many(batch)
    return time.perf_counter() - start


def _timed(fn: object, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=5_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        log = RetrievalLog(Path(tmp) / "drift.db")
        fill_s = _fill(log, args.rows)
        print(f"logged {log.count():,} rows in {fill_s:.1f} s ({log.count() / fill_s:,.0f} rows/s)")
        log.check_drift(now=NOW)  # warm-up: scipy import and page cache
        check_s, result = _timed(lambda: log.check_drift(now=NOW), repeat=5)
        assert isinstance(result, dict)
        print(
            f"check_drift over {result['recent_count'] + result['baseline_count']:,} rows: "
            f"{check_s:.3f} s median of 5 (target <= 1 s) -> status {result['status']}, "
            f"delta {result['delta']:.4f}"
        )
        log.drift_topics(limit=200, now=NOW)  # warm-up: scikit-learn import
        topics_s, topics = _timed(lambda: log.drift_topics(limit=args.queries, now=NOW), repeat=3)
        assert isinstance(topics, list)
        clustered = sum(t["count"] for t in topics)
        print(
            f"drift_topics clustering {clustered:,} queries: {topics_s:.2f} s median of 3 "
            f"(target <= 5 s) -> {len(topics)} topics, top: "
            + "; ".join(", ".join(t["keywords"][:3]) for t in topics[:3])
        )
        log.close()


if __name__ == "__main__":
    main()
