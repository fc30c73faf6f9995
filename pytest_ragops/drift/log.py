"""The retrieval log and the classic drift functions built on it.

Periods: the *recent window* is ``[now - window_days, now]``; the *baseline* is the
``baseline_days`` just before it, ``[now - window_days - baseline_days, now - window_days)``.
The two never overlap, so a shift in the recent window cannot dilute its own baseline
(the classic recipe compared against a baseline that included the recent days).
"""

from __future__ import annotations

import atexit
import math
import os
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pytest_ragops.drift.schema import BadValue, to_utc, validate_row, validate_rows
from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from types import TracebackType

    from pytest_ragops.drift.schema import DriftCheck, DriftTopic, LogRow
    from pytest_ragops.drift.store import LogStore
    from pytest_ragops.drift.topics import Embedder

__all__ = [
    "DEFAULT_DB",
    "RetrievalLog",
    "check_retrieval_drift",
    "close_shared_logs",
    "identify_drift_topics",
    "log_retrieval_score",
]

#: The default store: a SQLite file in the working directory.
DEFAULT_DB = "drift.db"
_DAY = 86400.0


def _positive(value: float, field: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        raise BadValue(f"must be a positive number of days, got {value!r}", field=field)
    if math.isinf(value):
        raise BadValue("must be finite", field=field)
    return float(value)


def _text_problem(text: str) -> str | None:
    # PostgreSQL refuses NUL where SQLite keeps it; a lone surrogate is not UTF-8 and made
    # either driver raise a raw UnicodeEncodeError. Reject both the same way everywhere.
    if "\x00" in text:
        return "contains a NUL character"
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            return "is not valid Unicode (lone surrogate)"
    return None


def _storable(rows: Sequence[LogRow], *, batch: bool) -> None:
    for index, row in enumerate(rows):
        for field, text in (("query", row.query), ("session_id", row.session_id)):
            problem = _text_problem(text)
            if problem is not None:
                where = f"row {index}: {field}" if batch else field
                raise BadValue(f"{field} {problem}", field=where)


class Periods:
    """The recent window and the baseline before it, as epoch seconds and ISO strings."""

    def __init__(self, window_days: float, baseline_days: float, now: datetime | None) -> None:
        self.window_days = _positive(window_days, "window_days")
        self.baseline_days = _positive(baseline_days, "baseline_days")
        self.now = to_utc(now, field="now") if now is not None else datetime.now(UTC)
        self.end = math.nextafter(self.now.timestamp(), math.inf)  # the window includes `now`
        self.recent_start = self.now.timestamp() - self.window_days * _DAY
        self.baseline_start = self.recent_start - self.baseline_days * _DAY

    def iso(self) -> dict[str, str]:
        def fmt(epoch: float) -> str:
            return datetime.fromtimestamp(epoch, self.now.tzinfo).isoformat()

        return {
            "recent_start": fmt(self.recent_start),
            "recent_end": self.now.isoformat(),
            "baseline_start": fmt(self.baseline_start),
        }


class RetrievalLog:
    """Log of each query's top retrieval score, with drift checks and topic mining on top.

    :param db: a SQLite file path (default ``drift.db``) or any SQLAlchemy URL
        (anything containing ``://``, e.g. ``postgresql+psycopg://user@host/db``).
    :param score_range: the valid range of ``top_score``; values outside it, NaN and
        infinities are rejected.
    :param create: create the database and its table when missing (the default); with
        ``False`` a missing database or table is a :class:`RagopsError`, so a check on a
        mistyped path fails instead of reporting on a new, empty log.
    """

    def __init__(
        self,
        db: str | os.PathLike[str] = DEFAULT_DB,
        *,
        score_range: tuple[float, float] = (0.0, 1.0),
        create: bool = True,
    ) -> None:
        from pytest_ragops.drift.store import open_store

        low, high = score_range
        if not (math.isfinite(low) and math.isfinite(high) and low < high):
            raise RagopsError(
                f"must be a finite (low, high) pair, got {score_range!r}", field="score_range"
            )
        self.score_range = (float(low), float(high))
        self._store: LogStore = open_store(db, create=create)
        #: Where the log lives (path or URL), for messages.
        self.location = self._store.location

    def __enter__(self) -> RetrievalLog:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close every connection this log opened, in every thread (safe to call again)."""
        self._store.close()

    def _wrap(self, exc: RagopsError) -> RagopsError:
        return type(exc)(exc.message, path=exc.path or self.location, field=exc.field)

    def log(
        self, query: str, top_score: float, session_id: str, ts: datetime | None = None
    ) -> None:
        """Record one query's best retrieval score (``ts`` defaults to now; naive = UTC)."""
        try:
            row = validate_row(query, top_score, session_id, ts, score_range=self.score_range)
            _storable([row], batch=False)
        except RagopsError as exc:
            raise self._wrap(exc) from None
        self._store.insert([row])

    def log_many(self, rows: Sequence[Mapping[str, Any] | Sequence[Any]]) -> int:
        """Record many entries in one transaction; all are validated first. Returns the count.

        Each row is a mapping with ``query``, ``top_score``, ``session_id`` and optional
        ``ts``, or a ``(query, top_score, session_id[, ts])`` tuple.
        """
        try:
            valid = validate_rows(rows, score_range=self.score_range)
            _storable(valid, batch=True)
        except RagopsError as exc:
            raise self._wrap(exc) from None
        self._store.insert(valid)
        return len(valid)

    def count(self) -> int:
        """Number of logged entries."""
        return self._store.count()

    def prune(self, older_than_days: float, now: datetime | None = None) -> int:
        """Delete entries older than ``older_than_days`` before ``now``; return how many.

        Keep at least ``window_days + baseline_days`` of history, or checks lose their baseline.
        """
        periods = Periods(older_than_days, older_than_days, now)
        return self._store.delete_before(periods.recent_start)

    def clear(self) -> int:
        """Delete every entry; return how many."""
        return self._store.delete_before(math.inf)

    def check_drift(
        self,
        window_days: float = 7,
        baseline_days: float = 30,
        now: datetime | None = None,
        *,
        min_samples: int = 30,
        min_drop: float = 0.05,
        alpha: float = 0.05,
        test: str = "mannwhitney",
        confidence: float = 0.95,
        bins: int = 1000,
    ) -> DriftCheck:
        """Compare the recent window's scores with the baseline's, inside the database.

        Returns the classic keys (``recent_avg_score``, ``baseline_avg_score``, ``delta`` =
        recent minus baseline, ``drifting``, ``action``) plus ``status``, ``p_value`` and the
        confidence interval of ``delta``; see :mod:`pytest_ragops.drift.stats` for the rule.
        ``bins`` is the histogram resolution over the score range (ties within a bin).
        """
        from pytest_ragops.drift.stats import compare_scores, validate_params

        validate_params(min_samples, min_drop, alpha, confidence)
        if isinstance(bins, bool) or not isinstance(bins, int) or not 2 <= bins <= 100_000:
            raise RagopsError(f"must be an integer in 2..100000, got {bins!r}", field="bins")
        p = Periods(window_days, baseline_days, now)
        s, rng = self._store, self.score_range
        recent = s.period_stats(p.recent_start, p.end, bins, rng)
        baseline = s.period_stats(p.baseline_start, p.recent_start, bins, rng)
        verdict = compare_scores(
            recent,
            baseline,
            min_samples=min_samples,
            min_drop=min_drop,
            alpha=alpha,
            test=test,
            confidence=confidence,
        )
        return cast(
            "DriftCheck",
            {**verdict, "window_days": p.window_days, "baseline_days": p.baseline_days, **p.iso()},
        )

    def drift_topics(
        self,
        n_clusters: int | None = None,
        score_threshold: float = 0.4,
        limit: int = 500,
        now: datetime | None = None,
        *,
        window_days: float = 7,
        baseline_days: float = 30,
        embedder: Embedder | str | None = None,
        n_keywords: int = 5,
        n_samples: int = 3,
        seed: int = 0,
    ) -> list[DriftTopic]:
        """Cluster the recent window's low-scoring queries into named topics.

        Takes up to ``limit`` of the most recent queries scoring below ``score_threshold``,
        clusters them (k by silhouette unless ``n_clusters``), and ranks clusters by
        ``share_lift``: the share of all recent queries that fall in the cluster minus the
        share of baseline queries that do. Topics that were always answered badly rank
        below topics users only started asking about.
        """
        from pytest_ragops.drift.topics import cluster_topics, make_embedder

        emb = make_embedder(embedder)  # a bad embedder fails even when there is nothing to cluster
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise RagopsError(f"must be a positive integer, got {limit!r}", field="limit")
        if not isinstance(score_threshold, int | float) or not (
            self.score_range[0] < score_threshold <= self.score_range[1]
        ):
            raise RagopsError(
                f"must be within the score range {self.score_range}, got {score_threshold!r}",
                field="score_threshold",
            )
        p = Periods(window_days, baseline_days, now)
        s = self._store
        return cluster_topics(
            s.low_queries(p.recent_start, p.end, score_threshold, limit),
            s.low_queries(p.baseline_start, p.recent_start, score_threshold, limit),
            recent_total=s.count(p.recent_start, p.end),
            recent_low_total=s.count_below(p.recent_start, p.end, score_threshold),
            baseline_total=s.count(p.baseline_start, p.recent_start),
            baseline_low_total=s.count_below(p.baseline_start, p.recent_start, score_threshold),
            n_clusters=n_clusters,
            embedder=emb,
            n_keywords=n_keywords,
            n_samples=n_samples,
            seed=seed,
        )

    def daily_means(
        self, window_days: float = 7, baseline_days: float = 30, now: datetime | None = None
    ) -> list[tuple[datetime, float, int]]:
        """``(day start, mean score, count)`` for each day with data, days aligned to ``now``.

        One ``COUNT``/``SUM`` per day over the time index: a plot of ten million rows reads
        a few dozen numbers. Day ``d`` is ``(now - (d+1) days, now - d days]``; the oldest
        day is cut at the baseline start.
        """
        p = Periods(window_days, baseline_days, now)
        now_ts = p.now.timestamp()
        n_days = math.ceil(p.window_days + p.baseline_days)
        out: list[tuple[datetime, float, int]] = []
        for d in range(n_days - 1, -1, -1):
            hi = math.nextafter(now_ts - d * _DAY, math.inf)
            lo = math.nextafter(now_ts - (d + 1) * _DAY, math.inf)
            n, total = self._store.day_stats(p.baseline_start if d == n_days - 1 else lo, hi)
            if n:
                out.append((p.now - timedelta(days=d + 1), total / n, n))
        return out


# The module functions keep one RetrievalLog per database and process, keyed by the
# resolved path or URL: the classic seed reopened the file, re-ran pragmas and DDL on every
# call. Closed at exit; a forked child opens its own (connections must not cross a fork).
_LOGS: dict[tuple[str, int], RetrievalLog] = {}
_LOCK = threading.Lock()


def _key(db: str | os.PathLike[str]) -> str:
    text = os.fspath(db)
    if "://" in text or not text:
        return text
    return str(Path(text).expanduser().resolve())


def _shared_log(db: str | os.PathLike[str]) -> RetrievalLog:
    key = (_key(db), os.getpid())
    log = _LOGS.get(key)
    if log is not None:
        return log
    with _LOCK:
        log = _LOGS.get(key)
        if log is None:
            log = _LOGS[key] = RetrievalLog(db)
        return log


@atexit.register
def close_shared_logs() -> None:
    """Close the logs the module functions opened (run at exit; safe to call any time)."""
    with _LOCK:
        mine = [k for k in _LOGS if k[1] == os.getpid()]
        logs = [_LOGS.pop(k) for k in mine]
    for log in logs:
        log.close()


def log_retrieval_score(
    query: str,
    top_score: float,
    session_id: str,
    ts: datetime | None = None,
    db: str | os.PathLike[str] = DEFAULT_DB,
) -> None:
    """Classic API: log one query's top retrieval score to ``db`` (one shared log per db)."""
    _shared_log(db).log(query, top_score, session_id, ts)


def check_retrieval_drift(
    window_days: float = 7,
    baseline_days: float = 30,
    db: str | os.PathLike[str] = DEFAULT_DB,
    now: datetime | None = None,
    **options: Any,
) -> DriftCheck:
    """Classic API: :meth:`RetrievalLog.check_drift` on ``db``."""
    return _shared_log(db).check_drift(window_days, baseline_days, now, **options)


def identify_drift_topics(
    n_clusters: int | None = None,
    score_threshold: float = 0.4,
    db: str | os.PathLike[str] = DEFAULT_DB,
    now: datetime | None = None,
    **options: Any,
) -> list[DriftTopic]:
    """Classic API: :meth:`RetrievalLog.drift_topics` on ``db``."""
    return _shared_log(db).drift_topics(n_clusters, score_threshold, now=now, **options)
