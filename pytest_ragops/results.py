"""Eval records and their aggregates.

A :class:`Record` is one scored answer. Records cross process boundaries (xdist workers
to the controller) and land in ``report.json``, so each has a ``to_dict``/``from_dict``
pair that round-trips exactly. :func:`aggregate` turns records into the named aggregates
that gates, reports and ``EvalResult.metrics`` use; missing scores are counted, never
filled in, so a gate over them can fail closed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from pytest_ragops.judge.base import QUALITY_METRICS

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

__all__ = [
    "PASS_SCORE",
    "EvalResult",
    "MetricSummary",
    "Record",
    "ScoreDict",
    "aggregate",
    "bootstrap_ci",
    "summarize",
]

#: A record "passes" when each of its quality scores is at least this.
PASS_SCORE = 0.5
#: Bootstrap settings: fixed so the same records always give the same interval.
BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20240527


class ScoreDict(TypedDict):
    """One metric's score in a record, as stored in JSON."""

    value: float | None
    judge: str
    error: str | None


@dataclass(slots=True)
class Record:
    """One answered, scored question."""

    #: pytest node id of the test that produced it.
    test_id: str
    question: str
    answer: str
    contexts: list[str] = field(default_factory=list)
    reference: str | None = None
    case_id: str | None = None
    variant: str | None = None
    #: Metric name → score; a quality metric the judge could not score has ``value`` None.
    scores: dict[str, ScoreDict] = field(default_factory=dict)
    #: ``None`` means the cost is unknown, which fails cost gates (never counted as 0).
    cost_usd: float | None = None
    usage: dict[str, Any] | None = None
    model: str | None = None
    latency_s: float | None = None
    #: Why the pipeline produced no answer, when it failed.
    error: str | None = None

    def value(self, metric: str) -> float | None:
        """The record's value for ``metric`` (quality score, ``cost_usd`` or ``latency_s``)."""
        if metric == "cost_usd":
            return self.cost_usd
        if metric == "latency_s":
            return self.latency_s
        score = self.scores.get(metric)
        return None if score is None else score["value"]

    def passed(self) -> bool:
        """True when the pipeline answered and every quality score is at least PASS_SCORE."""
        if self.error is not None or not self.scores:
            return False
        return all(
            s["value"] is not None and s["value"] >= PASS_SCORE for s in self.scores.values()
        )

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form (only builtins), for xdist and report.json."""
        return {
            "test_id": self.test_id,
            "case_id": self.case_id,
            "variant": self.variant,
            "question": self.question,
            "answer": self.answer,
            "contexts": list(self.contexts),
            "reference": self.reference,
            "scores": {k: dict(v) for k, v in self.scores.items()},
            "cost_usd": self.cost_usd,
            "usage": self.usage,
            "model": self.model,
            "latency_s": self.latency_s,
            "error": self.error,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        """Inverse of :meth:`to_dict`."""
        scores: dict[str, ScoreDict] = {
            str(k): ScoreDict(
                value=v.get("value"), judge=str(v.get("judge", "")), error=v.get("error")
            )
            for k, v in dict(data.get("scores") or {}).items()
        }
        return cls(
            test_id=str(data["test_id"]),
            case_id=data.get("case_id"),
            variant=data.get("variant"),
            question=str(data["question"]),
            answer=str(data["answer"]),
            contexts=[str(c) for c in data.get("contexts") or []],
            reference=data.get("reference"),
            scores=scores,
            cost_usd=data.get("cost_usd"),
            usage=data.get("usage"),
            model=data.get("model"),
            latency_s=data.get("latency_s"),
            error=data.get("error"),
        )


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """One metric over a set of records."""

    metric: str
    n: int
    #: Records with no value for the metric (judge error, unknown cost, pipeline failure).
    missing: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    minimum: float | None
    p50: float | None
    p95: float | None
    maximum: float | None
    total: float | None


def _percentile(sorted_values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (numpy's default), without importing numpy."""
    if len(sorted_values) == 1:
        return sorted_values[0]
    pos = (len(sorted_values) - 1) * q
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


def bootstrap_ci(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float] | None:
    """Seeded percentile-bootstrap interval for the mean (scipy), or None below 2 values.

    Identical values give a zero-width interval; the seed is fixed so a report is
    reproducible from its records.
    """
    if len(values) < 2:
        return None
    if min(values) == max(values):
        return (values[0], values[0])
    import numpy as np
    from scipy.stats import bootstrap

    res = bootstrap(
        (np.asarray(values, dtype=float),),
        np.mean,
        n_resamples=BOOTSTRAP_RESAMPLES,
        confidence_level=confidence,
        method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
        vectorized=True,
    )
    return (float(res.confidence_interval.low), float(res.confidence_interval.high))


def summarize(metric: str, records: Sequence[Record]) -> MetricSummary:
    """Summarise ``metric`` over ``records``; missing values are counted, not imputed."""
    values = [v for r in records if (v := r.value(metric)) is not None]
    missing = len(records) - len(values)
    if not values:
        return MetricSummary(metric, len(records), missing, *([None] * 8))
    ordered = sorted(values)
    ci = bootstrap_ci(values)
    return MetricSummary(
        metric=metric,
        n=len(records),
        missing=missing,
        mean=math.fsum(values) / len(values),
        ci_low=None if ci is None else ci[0],
        ci_high=None if ci is None else ci[1],
        minimum=ordered[0],
        p50=_percentile(ordered, 0.5),
        p95=_percentile(ordered, 0.95),
        maximum=ordered[-1],
        total=math.fsum(values),
    )


def metrics_present(records: Iterable[Record]) -> list[str]:
    """Metric names found in ``records``: quality metrics first (canonical order), then the rest."""
    found: set[str] = set()
    for r in records:
        found.update(r.scores)
    ordered = [m for m in QUALITY_METRICS if m in found]
    ordered += sorted(found - set(QUALITY_METRICS))
    return [*ordered, "cost_usd", "latency_s"]


def aggregate(
    records: Sequence[Record],
) -> tuple[dict[str, float | None], dict[str, MetricSummary]]:
    """Named aggregates over ``records`` plus the per-metric summaries behind them.

    Names: ``<metric>_mean|_min|_p50|_p95|_max|_ci_low|_ci_high`` for quality metrics;
    ``total_cost_usd``, ``cost_per_query_usd``, ``cost_max_usd``; ``latency_mean_s``,
    ``latency_p50_s``, ``latency_p95_s``, ``latency_max_s``; ``pass_rate``, ``error_rate``
    and ``records``. An aggregate over a metric with any missing value is still
    computed over the values present; :mod:`pytest_ragops.gates` fails gates on it.
    Cost totals are None when any cost is unknown: a partial sum would understate it.
    """
    out: dict[str, float | None] = {}
    summaries: dict[str, MetricSummary] = {}
    for metric in metrics_present(records):
        s = summarize(metric, records)
        summaries[metric] = s
        if metric == "cost_usd":
            known = s.missing == 0 and s.total is not None
            out["total_cost_usd"] = s.total if known else None
            out["cost_per_query_usd"] = s.mean if known else None
            out["cost_max_usd"] = s.maximum if known else None
        elif metric == "latency_s":
            out["latency_mean_s"] = s.mean
            out["latency_p50_s"] = s.p50
            out["latency_p95_s"] = s.p95
            out["latency_max_s"] = s.maximum
        else:
            out[f"{metric}_mean"] = s.mean
            out[f"{metric}_min"] = s.minimum
            out[f"{metric}_p50"] = s.p50
            out[f"{metric}_p95"] = s.p95
            out[f"{metric}_max"] = s.maximum
            out[f"{metric}_ci_low"] = s.ci_low
            out[f"{metric}_ci_high"] = s.ci_high
    n = len(records)
    out["records"] = float(n)
    out["pass_rate"] = sum(r.passed() for r in records) / n if n else None
    out["error_rate"] = sum(r.error is not None for r in records) / n if n else None
    return out, summaries


@dataclass(slots=True)
class EvalResult:
    """What ``ragops.evaluate`` returns: the records and their aggregates."""

    records: list[Record]
    #: Aggregate name → value over all records of this call (see :func:`aggregate`).
    metrics: dict[str, float | None]
    summaries: dict[str, MetricSummary]
    #: Variant name → its aggregates (empty without variants).
    variants: dict[str, dict[str, float | None]] = field(default_factory=dict)

    @classmethod
    def from_records(cls, records: list[Record]) -> EvalResult:
        """Aggregate ``records`` overall and per variant."""
        metrics, summaries = aggregate(records)
        names = sorted({r.variant for r in records if r.variant is not None})
        variants = {v: aggregate([r for r in records if r.variant == v])[0] for v in names}
        return cls(records=records, metrics=metrics, summaries=summaries, variants=variants)

    @property
    def errors(self) -> list[Record]:
        """Records whose pipeline call failed."""
        return [r for r in self.records if r.error is not None]

    def best_variant(self, aggregate_name: str = "faithfulness_mean") -> str | None:
        """The variant best by ``aggregate_name``: highest, lowest for cost/latency/error rate.

        Variants with no value for it are never picked; ties go to the first name in sort order.
        """
        lower_is_better = any(w in aggregate_name for w in ("cost", "latency", "error_rate"))
        scored = [(v, m.get(aggregate_name)) for v, m in self.variants.items()]
        candidates = [(v, x) for v, x in scored if x is not None]
        if not candidates:
            return None
        key = (lambda t: (t[1], t[0])) if lower_is_better else (lambda t: (-t[1], t[0]))
        return min(candidates, key=key)[0]
