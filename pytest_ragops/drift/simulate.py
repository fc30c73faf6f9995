"""Synthetic query traffic for demos and tests: a corpus-covered mix that shifts.

Queries come from template banks. Covered topics are those of the example corpus
(PostgreSQL operations); three uncovered topics (Kubernetes networking, billing and
invoices, GDPR data deletion) have their own vocabularies. Covered queries score around
0.7 (Beta(7, 3)), uncovered ones around 0.25 (Beta(2.5, 7.5)); the random generator is
seeded, so a seed always gives the same rows.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, NamedTuple, TypedDict

from pytest_ragops.drift.schema import LogRow, to_utc
from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from pytest_ragops.drift.log import RetrievalLog

__all__ = [
    "COVERED_TOPICS",
    "UNCOVERED_TOPICS",
    "SimulationSummary",
    "Topic",
    "generate",
    "simulate",
]

_FRAMES = (
    "how do I {}",
    "how can we {}",
    "what is the right way to {}",
    "can you explain how to {}",
    "{}",
    "is it possible to {}",
    "steps to {}",
    "I need to {}",
)
_VERBS = ("configure", "set up", "troubleshoot", "check", "fix", "automate", "review", "plan")
_JOINS = (
    "{verb} {a} and {b} for {anchor}",
    "{verb} {anchor} {a} with {b}",
    "{verb} the {a} {b} of {anchor}",
    "{verb} {a} in {anchor} {b}",
)


class Topic(NamedTuple):
    """A topic's vocabulary: every query names an anchor and two of its terms."""

    anchors: tuple[str, ...]
    terms: tuple[str, ...]


#: Topics the example corpus covers (PostgreSQL operations).
COVERED_TOPICS: dict[str, Topic] = {
    "backups": Topic(
        ("postgres backups", "pg_basebackup"),
        (
            "base backup",
            "restore",
            "pg_dump",
            "point in time recovery",
            "wal archive",
            "backup verification",
            "nightly schedule",
        ),
    ),
    "replication": Topic(
        ("streaming replication", "replicas"),
        (
            "standby",
            "replication lag",
            "failover",
            "promotion",
            "replication slot",
            "primary",
            "hot standby",
        ),
    ),
    "vacuum": Topic(
        ("autovacuum", "vacuum"),
        (
            "dead tuples",
            "table bloat",
            "wraparound",
            "freeze age",
            "cost limit",
            "vacuum full",
            "analyze",
        ),
    ),
    "indexing": Topic(
        ("postgres indexes", "indexing"),
        (
            "btree",
            "gin index",
            "unused indexes",
            "reindex",
            "index bloat",
            "create concurrently",
            "query plan",
        ),
    ),
    "pooling": Topic(
        ("pgbouncer", "connection pooling"),
        (
            "pool size",
            "max_connections",
            "transaction mode",
            "idle connections",
            "session mode",
            "too many connections",
            "pooler",
        ),
    ),
    "monitoring": Topic(
        ("postgres monitoring", "pg_stat_statements"),
        (
            "slow queries",
            "cache hit ratio",
            "disk usage alerts",
            "locks",
            "prometheus exporter",
            "long running queries",
            "dashboards",
        ),
    ),
    "upgrades": Topic(
        ("pg_upgrade", "postgres major upgrades"),
        (
            "version upgrade",
            "downtime",
            "extensions",
            "rollback plan",
            "upgrade testing",
            "link mode",
            "minor release",
        ),
    ),
}

#: Topics the example corpus does not cover: what simulated users drift toward.
UNCOVERED_TOPICS: dict[str, Topic] = {
    "kubernetes networking": Topic(
        ("kubernetes", "kubernetes cluster"),
        (
            "ingress controller",
            "pod networking",
            "network policy",
            "service load balancer",
            "coredns",
            "cni plugin",
            "nodeport",
        ),
    ),
    "billing and invoices": Topic(
        ("billing", "invoices"),
        (
            "invoice download",
            "refund",
            "credit card",
            "billing address",
            "subscription plan",
            "vat charges",
            "payment receipt",
        ),
    ),
    "gdpr data deletion": Topic(
        ("gdpr", "gdpr personal data"),
        (
            "erasure request",
            "data deletion",
            "right to be forgotten",
            "retention period",
            "data subject access",
            "anonymisation",
            "consent records",
        ),
    ),
}


def _query(rng: random.Random, topic: Topic) -> str:
    a, b = rng.sample(topic.terms, 2)
    body = rng.choice(_JOINS).format(
        verb=rng.choice(_VERBS), a=a, b=b, anchor=rng.choice(topic.anchors)
    )
    return rng.choice(_FRAMES).format(body)


class SimulationSummary(TypedDict):
    """What :func:`simulate` wrote."""

    rows: int
    days: int
    start: str
    end: str
    shift_day: int | None
    shift_fraction: float
    seed: int
    uncovered_topics: list[str]


def _check(days: int, queries_per_day: int, shift_day: int | None, fraction: float) -> None:
    if isinstance(days, bool) or not isinstance(days, int) or days < 2:
        raise RagopsError(f"must be an integer >= 2, got {days!r}", field="days")
    if not isinstance(queries_per_day, int) or queries_per_day < 1:
        raise RagopsError(
            f"must be a positive integer, got {queries_per_day!r}", field="queries_per_day"
        )
    if shift_day is not None and not (isinstance(shift_day, int) and 1 <= shift_day < days):
        raise RagopsError(f"must be a day in 1..{days - 1}, got {shift_day!r}", field="shift_day")
    if not 0.0 <= fraction <= 1.0:
        raise RagopsError(f"must be in [0, 1], got {fraction!r}", field="shift_fraction")


def generate(
    *,
    days: int = 14,
    queries_per_day: int = 200,
    shift_day: int | None = 7,
    shift_fraction: float = 0.4,
    seed: int = 0,
    end: datetime | None = None,
) -> list[LogRow]:
    """Rows for ``days`` days ending at ``end`` (default now). From day ``shift_day``
    (0 = the first day) on, each query is off-corpus with probability ``shift_fraction``;
    ``shift_day=None`` is the control with no shift.
    """
    _check(days, queries_per_day, shift_day, shift_fraction)
    rng = random.Random(seed)
    stop = to_utc(end, field="end") if end is not None else datetime.now(UTC)
    start = stop - timedelta(days=days)
    covered = list(COVERED_TOPICS.values())
    uncovered = list(UNCOVERED_TOPICS.values())
    rows: list[LogRow] = []
    for day in range(days):
        shifted = shift_day is not None and day >= shift_day
        day_start = start + timedelta(days=day)
        for i in range(queries_per_day):
            # Keep the last microsecond off-limits so rows stay inside [start, end).
            when = day_start + timedelta(seconds=rng.uniform(0, 86399.999))
            if shifted and rng.random() < shift_fraction:
                query = _query(rng, rng.choice(uncovered))
                score = rng.betavariate(2.5, 7.5)
            else:
                query = _query(rng, rng.choice(covered))
                score = rng.betavariate(7.0, 3.0)
            session = f"sim-{seed}-{day}-{i // 5}"
            rows.append(LogRow(when.timestamp(), query, round(score, 6), session))
    rows.sort(key=lambda r: r.ts)
    return rows


def simulate(
    log: RetrievalLog,
    *,
    days: int = 14,
    queries_per_day: int = 200,
    shift_day: int | None = 7,
    shift_fraction: float = 0.4,
    seed: int = 0,
    end: datetime | None = None,
) -> SimulationSummary:
    """Write :func:`generate`'s rows to ``log`` in one transaction and say what was written."""
    stop = to_utc(end, field="end") if end is not None else datetime.now(UTC)
    rows = generate(
        days=days,
        queries_per_day=queries_per_day,
        shift_day=shift_day,
        shift_fraction=shift_fraction,
        seed=seed,
        end=stop,
    )
    log.log_many(
        [(r.query, r.top_score, r.session_id, datetime.fromtimestamp(r.ts, UTC)) for r in rows]
    )
    return {
        "rows": len(rows),
        "days": days,
        "start": (stop - timedelta(days=days)).isoformat(),
        "end": stop.isoformat(),
        "shift_day": shift_day,
        "shift_fraction": shift_fraction if shift_day is not None else 0.0,
        "seed": seed,
        "uncovered_topics": sorted(UNCOVERED_TOPICS) if shift_day is not None else [],
    }
