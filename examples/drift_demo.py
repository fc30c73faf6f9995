"""Query drift on the example app, with real retrieval scores.

Fourteen days of simulated traffic (``pytest_ragops.drift.simulate.generate``): questions
about the corpus's PostgreSQL topics, and from day 7 on a growing share about three topics
the corpus does not cover. Unlike ``ragops drift simulate``, whose scores come from fixed
distributions, each query here is scored by the example app's own BM25 retriever (the top
hit, normalised to [0, 1]), as a production app would log it. Then the drift check and
the under-covered topics, as ``ragops drift check`` and ``ragops drift topics`` show them.

Run from the repository root: ``python examples/drift_demo.py [--db drift.db] [--seed N]``.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ragapp.app import get_index

from pytest_ragops.drift import RetrievalLog
from pytest_ragops.drift.simulate import generate

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ragapp.retrieval import BM25Index


def retrieval_score(index: BM25Index, question: str) -> float:
    """The score the app would log: its best hit, normalised to [0, 1] (0 with no hit)."""
    hits = index.search(question, 1)
    return index.normalised(question, hits[0].score) if hits else 0.0


def run(
    db: str, *, seed: int = 0, shift: bool = True, now: datetime | None = None
) -> dict[str, Any]:
    """Log the traffic with real scores, then check drift and name the topics."""
    index = get_index()
    end = now or datetime.now(UTC)
    rows = generate(
        days=14, queries_per_day=150, shift_day=7 if shift else None, seed=seed, end=end
    )
    with RetrievalLog(db) as log:
        log.log_many(
            [
                (
                    r.query,
                    retrieval_score(index, r.query),
                    r.session_id,
                    datetime.fromtimestamp(r.ts, UTC),
                )
                for r in rows
            ]
        )
        check = log.check_drift(now=end)
        topics = log.drift_topics(now=end) if check["status"] == "drift" else []
    return {"rows": len(rows), "check": check, "topics": topics}


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--db", help="Retrieval log to write (default: a temporary file)")
    parser.add_argument("--seed", type=int, default=0, help="Simulation seed (default: 0)")
    parser.add_argument("--no-shift", action="store_true", help="Control run: no drift")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or str(Path(tmp) / "drift.db")
        out = run(db, seed=args.seed, shift=not args.no_shift)
    check = out["check"]
    print(f"logged {out['rows']} queries scored by the example app's BM25 retriever")
    print(
        f"status: {check['status']}  recent {check['recent_avg_score']:.3f} vs baseline "
        f"{check['baseline_avg_score']:.3f} (delta {check['delta']:+.3f}, p={check['p_value']:.2g})"
    )
    print(f"action: {check['action']}")
    for rank, topic in enumerate(out["topics"][:5], start=1):
        print(
            f"{rank}. {', '.join(topic['keywords'][:5])}: {topic['count']} queries, "
            f"mean score {topic['mean_score']:.3f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
