"""Shapes and validation for the retrieval log: rows in, JSON-ready dicts out.

Validation lives here, not in the stores, so every backend rejects the same bad input
with the same one-line :class:`~pytest_ragops.errors.RagopsError` before anything is written.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple, TypedDict

from pytest_ragops.errors import RagopsError

__all__ = [
    "BadValue",
    "DriftCheck",
    "DriftStatus",
    "DriftTopic",
    "LogRow",
    "Verdict",
    "parse_when",
    "to_epoch",
    "to_utc",
    "validate_row",
    "validate_rows",
]


class BadValue(RagopsError, ValueError):
    """A bad value passed to the Python API: ``except ValueError`` catches it too."""


DriftStatus = Literal["no_drift", "possible_drift", "drift", "insufficient_data"]


class LogRow(NamedTuple):
    """One validated log entry, as stored: epoch seconds (UTC), query, score, session."""

    ts: float
    query: str
    top_score: float
    session_id: str


class Verdict(TypedDict):
    """The statistical part of a check; every value is JSON-serialisable (NaN becomes ``None``)."""

    status: DriftStatus
    drifting: bool
    recent_avg_score: float | None
    baseline_avg_score: float | None
    delta: float | None
    delta_ci_low: float | None
    delta_ci_high: float | None
    delta_ci: list[float] | None
    confidence: float
    p_value: float | None
    test: str
    prob_recent_higher: float | None
    recent_count: int
    baseline_count: int
    min_samples: int
    min_drop: float
    alpha: float
    action: str


class DriftCheck(Verdict):
    """Result of a drift check: the verdict plus the periods compared."""

    window_days: float
    baseline_days: float
    recent_start: str
    recent_end: str
    baseline_start: str


class DriftTopic(TypedDict):
    """One cluster of low-scoring recent queries, ranked by how much it grew."""

    cluster_id: int
    rank: int
    count: int
    mean_score: float
    keywords: list[str]
    sample_queries: list[str]
    recent_share: float
    baseline_share: float
    share_lift: float


def to_utc(value: datetime, *, field: str = "ts") -> datetime:
    """Return ``value`` as an aware UTC datetime; naive values are taken as UTC."""
    if not isinstance(value, datetime):
        raise BadValue(f"expected a datetime, got {type(value).__name__} {value!r}", field=field)
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_epoch(value: datetime | None, *, field: str = "ts") -> float:
    """Epoch seconds of ``value`` (now when ``None``): the stored, index-friendly form."""
    if value is None:
        return datetime.now(UTC).timestamp()
    return to_utc(value, field=field).timestamp()


def parse_when(text: str, *, field: str = "--now") -> datetime:
    """Parse an ISO 8601 timestamp from the command line (naive means UTC)."""
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise BadValue(
            f"{text!r} is not an ISO 8601 timestamp (e.g. 2026-01-31T12:00:00+00:00)",
            field=field,
        ) from None
    return to_utc(parsed, field=field)


def _check_score(value: object, low: float, high: float, field: str) -> float:
    # Any real number (numpy.float32/float64 from a vector store included) becomes a plain
    # float; bools (Python's and numpy's) are not scores.
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise BadValue(f"top_score must be a number, got {type(value).__name__}", field=field)
    score = float(value)
    if math.isnan(score) or math.isinf(score):
        raise BadValue(f"top_score must be finite, got {score}", field=field)
    if not low <= score <= high:
        raise BadValue(
            f"top_score {score} is outside [{low}, {high}]; normalise scores to that range "
            "or pass score_range to RetrievalLog",
            field=field,
        )
    return score


def validate_row(
    query: object,
    top_score: object,
    session_id: object,
    ts: object = None,
    *,
    score_range: tuple[float, float] = (0.0, 1.0),
    where: str = "",
) -> LogRow:
    """Check one entry and return it in stored form; raise ``RagopsError`` naming the field."""
    prefix = f"{where}: " if where else ""
    if not isinstance(query, str):
        raise BadValue(
            f"query must be a string, got {type(query).__name__}", field=f"{prefix}query"
        )
    if not query.strip():
        raise BadValue("query is empty", field=f"{prefix}query")
    if not isinstance(session_id, str):
        raise BadValue(
            f"session_id must be a string, got {type(session_id).__name__}",
            field=f"{prefix}session_id",
        )
    score = _check_score(top_score, score_range[0], score_range[1], f"{prefix}top_score")
    if ts is not None and not isinstance(ts, datetime):
        raise BadValue(
            f"ts must be a datetime or None, got {type(ts).__name__}", field=f"{prefix}ts"
        )
    return LogRow(to_epoch(ts, field=f"{prefix}ts"), query, score, session_id)


def validate_rows(
    rows: Sequence[Mapping[str, Any] | Sequence[Any]],
    *,
    score_range: tuple[float, float] = (0.0, 1.0),
) -> list[LogRow]:
    """Validate a batch: mappings with ``query``/``top_score``/``session_id``/``ts`` keys,
    or tuples in that order. All rows are checked before any is written.
    """
    out: list[LogRow] = []
    for index, row in enumerate(rows):
        where = f"row {index}"
        if isinstance(row, Mapping):
            missing = [k for k in ("query", "top_score", "session_id") if k not in row]
            if missing:
                raise BadValue(f"missing key(s) {', '.join(missing)}", field=where)
            unknown = sorted(set(row) - {"query", "top_score", "session_id", "ts"})
            if unknown:
                raise BadValue(f"unknown key(s) {', '.join(map(str, unknown))}", field=where)
            args = (row["query"], row["top_score"], row["session_id"], row.get("ts"))
        elif isinstance(row, Sequence) and not isinstance(row, str | bytes):
            if len(row) not in (3, 4):
                raise BadValue(
                    f"expected (query, top_score, session_id[, ts]), got {len(row)} items",
                    field=where,
                )
            args = (row[0], row[1], row[2], row[3] if len(row) == 4 else None)
        else:
            raise BadValue(f"expected a mapping or a tuple, got {type(row).__name__}", field=where)
        out.append(validate_row(*args, score_range=score_range, where=where))
    return out
