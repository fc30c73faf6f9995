"""Records as columns: one pass over the records, then every scope is an index array.

A session aggregates the same records for the suite, each variant and each test. Reading
each record's scores once into numpy columns makes a scope's aggregates a few array
operations, and lets the intervals of every scope share one bootstrap
(:func:`pytest_ragops.bootstrap.intervals`). The rules are :func:`results.aggregate`'s:
a value the judge did not give is missing (never 0), a metric that does not apply is
counted apart, an unknown cost makes the cost totals None. Reading every number once is
also where the numbers are checked again: one that is not finite, a negative cost or
latency, or a score outside [0, 1] (put into a record past the checks made when it was
recorded) counts as missing and is named in :attr:`Columns.problems`, which fail the run.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ragops.bootstrap import CaseSums
    from pytest_ragops.results import Aggregates, MetricSummary, Record

__all__ = ["Columns"]

#: Non-finite record numbers named one per line; past this many, the rest are counted.
_SHOWN_PROBLEMS = 5


def _finite(value: object) -> float:
    """The value as a float, NaN when it is missing or not a finite number."""
    if value is None or isinstance(value, bool):
        return math.nan
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return math.nan
    return number if math.isfinite(number) else math.nan


def _floats(values: list[Any], np: Any) -> tuple[Any, Any]:
    """A float column (NaN for None and for anything not a finite number) and the rows
    whose value was there but not a finite number.

    Values were checked when the record was made; the fast path converts the list at
    once, the slow one (odd types) goes value by value.
    """
    if all(v is None or type(v) is float for v in values):
        out = np.asarray(values, dtype=float)  # None is NaN
    else:
        out = np.asarray([_finite(v) for v in values], dtype=float)
    out[~np.isfinite(out)] = np.nan
    missing = np.isnan(out)
    if int(np.count_nonzero(missing)) == sum(1 for v in values if v is None):
        return out, []  # every NaN is a None: nothing to name (a column of Nones is fast)
    return out, [int(i) for i in np.flatnonzero(missing) if values[i] is not None]


@dataclass(slots=True)
class _Metric:
    present: Any  # bool: the record has a score for the metric
    value: Any  # float, NaN: no value
    applies: Any  # bool
    judge_cost: Any  # float, NaN: no judge cost reported
    spread: Any  # float, NaN: not repeated


@dataclass(slots=True)
class _Pending:
    """A scope's per-metric values waiting for the shared bootstrap."""

    metric: str
    n: int
    values: Any
    cases: Any
    not_applicable: int
    sample: CaseSums | None
    constant: float | None
    spreads: Any = None


class Columns:
    """The records' aggregate inputs as numpy arrays, in record order."""

    def __init__(self, records: Sequence[Record]) -> None:
        import numpy as np

        from pytest_ragops.results import PASS_SCORE, metrics_present

        self.np = np
        self.n = len(records)
        ordered = metrics_present(records)[:-2]  # the quality metrics; cost, latency apart
        self.metric_names = ordered
        codes: dict[str, int] = {}
        case = [codes.setdefault(r.case_key(), len(codes)) for r in records]
        self.case = np.asarray(case, dtype=np.int64)
        #: One line per record number that is not finite or out of range (a negative
        #: cost or latency, a score outside [0, 1]): the run fails on each.
        self.problems: list[str] = []
        #: (record index, field) of each of those numbers, e.g. ``(3, "scores.f.value")``.
        self.flagged: list[tuple[int, str]] = []
        self.cost = self._column(records, "cost_usd", [r.cost_usd for r in records])
        self.latency = self._column(records, "latency_s", [r.latency_s for r in records])
        self.error = np.asarray([r.error is not None for r in records], dtype=bool)
        self.metrics: dict[str, _Metric] = {}
        # A record passes with no pipeline error, some score, and every applicable score
        # at least PASS_SCORE (Record.passed, computed over the columns).
        has_scores = np.zeros(self.n, dtype=bool)
        scores_pass = np.ones(self.n, dtype=bool)
        for m in ordered:
            scores = [r.scores.get(m) for r in records]
            col = _Metric(
                present=np.asarray([s is not None for s in scores], dtype=bool),
                value=self._column(
                    records,
                    f"scores.{m}.value",
                    [None if s is None else s["value"] for s in scores],
                    upper=1.0,
                ),
                applies=np.asarray(
                    [s is None or s.get("applicable", True) is not False for s in scores],
                    dtype=bool,
                ),
                judge_cost=self._column(
                    records,
                    f"scores.{m}.cost_usd",
                    [None if s is None else s.get("cost_usd") for s in scores],
                ),
                spread=self._column(
                    records,
                    f"scores.{m}.spread",
                    [None if s is None else s.get("spread") for s in scores],
                ),
            )
            for i, s in enumerate(scores):
                repeats = None if s is None else s.get("repeats")
                if isinstance(repeats, list) and not all(
                    x is None or math.isfinite(_finite(x)) for x in repeats
                ):
                    self._problem(records, i, f"scores.{m}.repeats", "holds a non-finite number")
            self.metrics[m] = col
            has_scores |= col.present
            with np.errstate(invalid="ignore"):
                scores_pass &= ~col.present | ~col.applies | (col.value >= PASS_SCORE)
        self.passed = ~self.error & has_scores & scores_pass
        # A record's judge cost: the sum over its scores that report one (NaN: none does).
        if self.metrics:
            spend = np.stack([c.judge_cost for c in self.metrics.values()])
            none = np.isnan(spend).all(axis=0)
            self.judge_cost = np.where(none, np.nan, np.nansum(spend, axis=0))
        else:
            self.judge_cost = np.full(self.n, np.nan)
        if len(self.problems) > _SHOWN_PROBLEMS:
            more = len(self.problems) - _SHOWN_PROBLEMS
            del self.problems[_SHOWN_PROBLEMS:]
            self.problems.append(f"{more} more record numbers are not finite or out of range")

    def _column(
        self, records: Sequence[Record], name: str, values: list[Any], upper: float | None = None
    ) -> Any:
        """A float column of ``values``; a value that is there but not a number in
        [0, upper] is named in :attr:`problems` and counted as missing."""
        np = self.np
        column, bad = _floats(values, np)
        for i in bad:
            self._problem(records, i, name, f"is {values[i]!r}, not a finite number")
        with np.errstate(invalid="ignore"):
            low = np.flatnonzero(column < 0)
            high = np.flatnonzero(column > upper) if upper is not None else low[:0]
        for i in low:
            self._problem(records, int(i), name, f"is {values[i]!r}, below 0")
        for i in high:
            self._problem(records, int(i), name, f"is {values[i]!r}, above {upper:g}")
        column[low] = np.nan
        column[high] = np.nan
        return column

    def _problem(self, records: Sequence[Record], i: int, name: str, why: str) -> None:
        r = records[i]
        self.flagged.append((i, name))
        self.problems.append(
            f"record {i + 1} of {r.test_id} ({r.case_key()}, variant {r.variant}): {name} {why}"
        )

    def scopes(self, groups: Sequence[Sequence[int] | None]) -> list[Aggregates]:
        """:func:`results.aggregate` of each scope (record indices; None: every record),
        all intervals from one shared bootstrap.

        Each scope is summarised at once and only its bootstrap samples (one sum and
        count per case) wait for the shared draw, so memory stays at the columns.
        """
        from dataclasses import replace

        from pytest_ragops.bootstrap import intervals

        np = self.np
        summarised: list[tuple[dict[str, float | None], dict[str, MetricSummary]]] = []
        samples: list[CaseSums] = []
        waiting: list[tuple[int, str]] = []  # (scope, metric) of each sample
        for k, group in enumerate(groups):
            idx = np.arange(self.n) if group is None else np.asarray(group, dtype=np.int64)
            summaries: dict[str, MetricSummary] = {}
            for p in self._pending(idx):
                ci = None if p.constant is None else (p.constant, p.constant)
                summaries[p.metric] = self._summary(p, ci)
                if p.sample is not None:
                    samples.append(p.sample)
                    waiting.append((k, p.metric))
            summarised.append((self._named(idx, len(idx), summaries), summaries))
        for (k, metric), ci in zip(waiting, intervals(samples), strict=True):
            named, summaries = summarised[k]
            summaries[metric] = replace(
                summaries[metric],
                ci_low=None if ci is None else ci[0],
                ci_high=None if ci is None else ci[1],
            )
            named[f"{metric}_ci_low"] = summaries[metric].ci_low  # quality metrics only
            named[f"{metric}_ci_high"] = summaries[metric].ci_high
        return summarised

    def _pending(self, idx: Any) -> list[_Pending]:
        np = self.np
        cases = self.case[idx]
        out: list[_Pending] = []
        for m in self.metric_names:
            col = self.metrics[m]
            if not col.present[idx].any():
                continue
            applies = col.applies[idx]
            value = col.value[idx]
            keep = applies & ~np.isnan(value)
            p = self._values(m, len(idx), value[keep], cases[keep], int((~applies).sum()))
            spreads = col.spread[idx]
            p.spreads = spreads[~np.isnan(spreads)]
            out.append(p)
        for m, column in (("cost_usd", self.cost), ("latency_s", self.latency)):
            value = column[idx]
            keep = ~np.isnan(value)
            out.append(
                _Pending(m, len(idx), value[keep], cases[keep], 0, sample=None, constant=None)
            )
        return out

    def _values(self, metric: str, n: int, values: Any, cases: Any, na: int) -> _Pending:
        """A quality metric's values in a scope and, from two cases on, its bootstrap sample."""
        np = self.np
        pending = _Pending(metric, n, values, cases, na, sample=None, constant=None)
        if len(values) == 0:
            return pending
        _, first, inverse = np.unique(cases, return_index=True, return_inverse=True)
        if len(first) < 2:
            return pending
        if values.min() == values.max():
            pending.constant = float(values[0])
            return pending
        rank = np.empty(len(first), dtype=np.int64)
        rank[np.argsort(first, kind="stable")] = np.arange(len(first))
        local = rank[inverse]  # case index in first-seen order, as the bootstrap expects
        sums = np.bincount(local, weights=values, minlength=len(first))
        counts = np.bincount(local, minlength=len(first)).astype(float)
        pending.sample = (sums, counts)
        return pending

    def _summary(self, p: _Pending, ci: tuple[float, float] | None) -> MetricSummary:
        from pytest_ragops.results import MetricSummary, _percentile

        np = self.np
        values = p.values
        missing = p.n - p.not_applicable - len(values)
        if len(values) == 0:
            return MetricSummary(
                p.metric, p.n, missing, mean=None, ci_low=None, ci_high=None, minimum=None,
                p50=None, p95=None, maximum=None, total=None,
                not_applicable=p.not_applicable, cases=0,
            )  # fmt: skip
        ordered = np.sort(values)
        total = math.fsum(values.tolist())
        spreads = [] if p.spreads is None else p.spreads.tolist()
        return MetricSummary(
            metric=p.metric,
            n=p.n,
            missing=missing,
            mean=total / len(values),
            ci_low=None if ci is None else ci[0],
            ci_high=None if ci is None else ci[1],
            minimum=float(ordered[0]),
            p50=float(_percentile(ordered, 0.5)),
            p95=float(_percentile(ordered, 0.95)),
            maximum=float(ordered[-1]),
            total=total,
            not_applicable=p.not_applicable,
            cases=len(np.unique(p.cases)),
            spread_mean=sum(spreads) / len(spreads) if spreads else None,
            spread_max=max(spreads) if spreads else None,
        )

    def _named(
        self, idx: Any, n: int, summaries: dict[str, MetricSummary]
    ) -> dict[str, float | None]:
        """The named aggregates (see :func:`results.aggregate`) from a scope's summaries."""
        np = self.np
        out: dict[str, float | None] = {}
        for metric, s in summaries.items():
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
        judge = self.judge_cost[idx]
        judge = judge[~np.isnan(judge)]
        if len(judge):
            out["judge_cost_usd"] = math.fsum(judge.tolist())
            for m in sorted(self.metrics):
                spend = self.metrics[m].judge_cost[idx]
                spend = spend[~np.isnan(spend)]
                if len(spend):
                    out[f"judge_cost_usd_{m}"] = math.fsum(spend.tolist())
        out["records"] = float(n)
        out["pass_rate"] = int(self.passed[idx].sum()) / n if n else None
        out["error_rate"] = int(self.error[idx].sum()) / n if n else None
        return out
