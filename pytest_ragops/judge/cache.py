"""A disk cache of judge scores, shared safely by xdist workers and later runs.

Key: sha256 over the judge label of the metric (model + prompt version, e.g.
``anthropic:claude-haiku-4-5:p8fb4c4d9``), the metric, the sample's inputs (question,
answer, contexts, reference, reference contexts) and the repeat index. Editing a prompt
changes the label, so stale scores are never served; a new repeat index is a new key, so
``--ragops-judge-repeats`` makes real calls.

Storage is one SQLite file in WAL mode: readers never block, writers from several
processes queue on SQLite's lock (``busy_timeout``), and every write is one short
transaction. Only real scores are stored — an error is never cached, so a flaky call is
retried next run instead of failing forever.

Modes: ``on`` (read, call on a miss, store), ``off`` (pass through, no file), ``replay``
(read only: a miss is ``value=None`` with an error naming the case, and no call is made).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.judge.base import Sample, Score

if TYPE_CHECKING:
    from pytest_ragops.judge.base import Judge

__all__ = ["CACHE_MODES", "CacheMode", "CacheStore", "CachedJudge", "cache_key"]

CacheMode = Literal["on", "off", "replay"]
CACHE_MODES: Final[tuple[str, ...]] = ("on", "off", "replay")
DB_NAME: Final = "judge.sqlite3"
_SCHEMA_VERSION: Final = 1
_TOUCH_EVERY_S: Final = 3600.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS scores (
    key TEXT PRIMARY KEY,
    judge TEXT NOT NULL,
    metric TEXT NOT NULL,
    score TEXT NOT NULL,
    input_tokens INTEGER,
    output_tokens INTEGER,
    created REAL NOT NULL,
    used REAL NOT NULL
)
"""


def cache_key(label: str, metric: str, sample: Sample) -> str:
    """The stable key of one (judge label, metric, inputs, repeat); never Python's ``hash()``."""
    payload = {
        "v": _SCHEMA_VERSION,
        "judge": label,
        "metric": metric,
        "question": sample.question,
        "answer": sample.answer,
        "contexts": list(sample.contexts),
        "reference": sample.reference,
        "reference_contexts": list(sample.reference_contexts),
        "repeat": sample.repeat,
    }
    blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(blob.encode()).hexdigest()


def _score_to_json(score: Score) -> str:
    return json.dumps(
        {
            "metric": score.metric,
            "value": score.value,
            "judge": score.judge,
            "rationale": score.rationale,
            "applicable": score.applicable,
            "usage": dict(score.usage) if score.usage else None,
        },
        sort_keys=True,
    )


def _score_from_json(text: str) -> Score:
    data = json.loads(text)
    return Score(
        metric=data["metric"],
        value=data["value"],
        judge=data["judge"],
        rationale=data["rationale"],
        applicable=data["applicable"],
        # Served from disk: this run paid nothing for it.
        cost_usd=0.0,
        usage=None,
        cached=True,
    )


class CacheStore:
    """The SQLite file; one connection per process, serialised by a lock within it."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / DB_NAME
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(
                self.path, timeout=60.0, isolation_level=None, check_same_thread=False
            )
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=60000")
            self._db.execute(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise RagopsUsageError(
                f"cannot open the judge cache: {exc}", path=str(self.path)
            ) from None
        self._lock = threading.Lock()

    def get(self, key: str) -> Score | None:
        with self._lock:
            row = self._db.execute(
                "SELECT score, used FROM scores WHERE key = ?", (key,)
            ).fetchone()
            if row is None:
                return None
            now = time.time()
            # ``used`` only feeds ``prune --older-than DAYS``: an hour's precision is enough,
            # and skipping the write keeps a warm run read-only (no writer lock between workers).
            if now - row[1] > _TOUCH_EVERY_S:
                self._db.execute("UPDATE scores SET used = ? WHERE key = ?", (now, key))
        return _score_from_json(row[0])

    def put(self, key: str, score: Score) -> None:
        usage = score.usage or {}
        now = time.time()
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    key,
                    score.judge,
                    score.metric,
                    _score_to_json(score),
                    usage.get("input_tokens"),
                    usage.get("output_tokens"),
                    now,
                    now,
                ),
            )

    def stats(self) -> dict[str, Any]:
        """Entries per judge label and metric, with mean tokens per entry and file size."""
        with self._lock:
            rows = self._db.execute(
                "SELECT judge, metric, COUNT(*), AVG(input_tokens), AVG(output_tokens),"
                " MIN(created), MAX(used) FROM scores GROUP BY judge, metric ORDER BY judge, metric"
            ).fetchall()
        groups = [
            {
                "judge": judge,
                "metric": metric,
                "entries": count,
                "mean_input_tokens": avg_in,
                "mean_output_tokens": avg_out,
                "oldest": oldest,
                "last_used": last,
            }
            for judge, metric, count, avg_in, avg_out, oldest, last in rows
        ]
        size = sum(p.stat().st_size for p in self.path.parent.glob(DB_NAME + "*"))
        return {
            "path": str(self.path),
            "entries": sum(g["entries"] for g in groups),
            "bytes": size,
            "groups": groups,
        }

    def measured_usage(self, judge_prefix: str) -> dict[str, tuple[float, float]]:
        """Mean (input, output) tokens per score by metric, for labels starting ``judge_prefix``."""
        with self._lock:
            rows = self._db.execute(
                "SELECT metric, AVG(input_tokens), AVG(output_tokens) FROM scores"
                " WHERE judge LIKE ? ESCAPE '\\' AND input_tokens IS NOT NULL GROUP BY metric",
                (_like_prefix(judge_prefix),),
            ).fetchall()
        return {metric: (float(a), float(b)) for metric, a, b in rows}

    def prune(self, *, older_than_s: float | None = None, judge_prefix: str | None = None) -> int:
        """Delete entries unused for ``older_than_s`` and/or of judges ``judge_prefix*``."""
        clauses: list[str] = []
        params: list[Any] = []
        if older_than_s is not None:
            clauses.append("used < ?")
            params.append(time.time() - older_than_s)
        if judge_prefix is not None:
            clauses.append("judge LIKE ? ESCAPE '\\'")
            params.append(_like_prefix(judge_prefix))
        where = " WHERE " + " AND ".join(clauses) if clauses else ""
        with self._lock:
            deleted = self._db.execute("DELETE FROM scores" + where, params).rowcount
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return int(deleted)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _case_name(sample: Sample) -> str:
    if sample.case_id:
        return f"case {sample.case_id!r}"
    question = sample.question if len(sample.question) <= 60 else sample.question[:57] + "..."
    return f"question {question!r}"


class CachedJudge:
    """Wraps an async judge with the disk cache; counts hits and misses for the report.

    The inner judge's ``judge_label(metric)`` names the cache entry (model + prompt
    version); a judge without one is keyed by its ``name``.
    """

    scores_together = False

    def __init__(self, inner: Judge, mode: CacheMode, directory: Path) -> None:
        if mode not in CACHE_MODES:
            raise RagopsUsageError(
                f"unknown cache mode {mode!r}; choose from {', '.join(CACHE_MODES)}",
                path="--ragops-cache",
            )
        self.inner = inner
        self.name = inner.name
        self.mode: CacheMode = mode
        self.directory = directory
        self.hits = 0
        self.misses = 0
        self.stores = 0
        self._store = CacheStore(directory) if mode != "off" else None

    def judge_label(self, metric: str) -> str:
        label = getattr(self.inner, "judge_label", None)
        return str(label(metric)) if callable(label) else self.inner.name

    @property
    def store(self) -> CacheStore | None:
        return self._store

    async def ascore(self, sample: Sample, metrics: tuple[str, ...]) -> list[Score]:
        return [await self._one(sample, metric) for metric in metrics]

    async def _one(self, sample: Sample, metric: str) -> Score:
        if self._store is None:
            [score] = await self.inner.ascore(sample, (metric,))
            return score
        key = cache_key(self.judge_label(metric), metric, sample)
        hit = self._store.get(key)
        if hit is not None:
            self.hits += 1
            return hit
        self.misses += 1
        if self.mode == "replay":
            return Score(
                metric,
                None,
                self.judge_label(metric),
                error=f"cache miss in replay mode for {_case_name(sample)} (no judge call made)",
            )
        [score] = await self.inner.ascore(sample, (metric,))
        # Only real verdicts are kept: an error must be retried next run, not replayed.
        if score.error is None and score.value is not None:
            self._store.put(key, score)
            self.stores += 1
        return score

    def report_info(self) -> dict[str, Any]:
        """Hits, misses and where the cache lives, merged with the inner judge's info."""
        inner = getattr(self.inner, "report_info", None)
        info: dict[str, Any] = dict(inner()) if callable(inner) else {}
        info["cache"] = {
            "mode": self.mode,
            "path": str(self._store.path) if self._store else None,
            "hits": self.hits,
            "misses": self.misses,
            "stored": self.stores,
        }
        return info

    async def aclose(self) -> None:
        try:
            await self.inner.aclose()
        finally:
            if self._store is not None:
                self._store.close()
                self._store = None


def replace_repeat(sample: Sample, repeat: int) -> Sample:
    """``sample`` with another repeat index (the engine's ``--ragops-judge-repeats`` loop)."""
    return replace(sample, repeat=repeat)
