"""Pick the winning variant among logged runs, and say whether its lead is significant.

The rule is an aggregate to maximise or minimise (default: the highest faithfulness
mean), optionally under a cost-per-query budget. A run without a value for the rule's
metric, or with an unknown cost under a budget, is excluded with its reason: it never
wins by default. Significance is a paired bootstrap over the case ids both runs share:
the interval of the mean per-case difference, winner minus runner-up.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ragops.tracking.reader import VariantRun

__all__ = ["Decision", "Rule", "choose_winner", "paired_bootstrap", "parse_rule"]

DEFAULT_RULE = "max:faithfulness_mean"
COST_METRIC = "cost_per_query_usd"
BOOTSTRAP_RESAMPLES = 5000
BOOTSTRAP_SEED = 20240527
CONFIDENCE = 0.95


@dataclass(frozen=True, slots=True)
class Rule:
    """Which aggregate decides, and in which direction."""

    metric: str
    maximize: bool

    @property
    def case_metric(self) -> str:
        """The per-case column behind the aggregate (``faithfulness_mean`` → ``faithfulness``)."""
        if self.metric in ("cost_per_query_usd", "total_cost_usd"):
            return "cost_usd"
        if self.metric.startswith("latency_"):
            return "latency_s"
        for suffix in ("_mean", "_p50", "_p95", "_min", "_max"):
            if self.metric.endswith(suffix):
                return self.metric.removesuffix(suffix)
        return self.metric

    def describe(self) -> str:
        return f"{'highest' if self.maximize else 'lowest'} {self.metric}"


def parse_rule(text: str) -> Rule:
    """``max:METRIC``, ``min:METRIC`` or a bare ``METRIC`` (cost/latency: min, else max)."""
    direction, sep, metric = text.strip().partition(":")
    if not sep:
        metric, direction = direction, ""
    if direction not in ("", "max", "min") or not metric:
        raise RagopsError(f"expected max:METRIC, min:METRIC or METRIC, got {text!r}", path="--rule")
    if not direction:
        lower = any(w in metric for w in ("cost", "latency", "error_rate"))
        direction = "min" if lower else "max"
    return Rule(metric=metric, maximize=direction == "max")


@dataclass(frozen=True, slots=True)
class Significance:
    """The paired bootstrap of winner minus runner-up over shared cases."""

    metric: str
    pairs: int
    mean_difference: float
    ci_low: float
    ci_high: float
    confidence: float
    significant: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "pairs": self.pairs,
            "mean_difference": self.mean_difference,
            "ci": [self.ci_low, self.ci_high],
            "confidence": self.confidence,
            "significant": self.significant,
        }


@dataclass(slots=True)
class Decision:
    """The outcome of a comparison."""

    rule: Rule
    budget: float | None
    #: Candidates in rank order (best first).
    ranking: list[str] = field(default_factory=list)
    #: Variant → why it could not win.
    excluded: dict[str, str] = field(default_factory=dict)
    significance: Significance | None = None
    #: Why significance could not be computed, when it could not.
    note: str | None = None

    @property
    def winner(self) -> str | None:
        return self.ranking[0] if self.ranking else None

    @property
    def runner_up(self) -> str | None:
        return self.ranking[1] if len(self.ranking) > 1 else None


def paired_bootstrap(diffs: Sequence[float]) -> tuple[float, float, float]:
    """Mean of paired differences and its seeded percentile-bootstrap interval (scipy)."""
    mean = math.fsum(diffs) / len(diffs)
    if len(diffs) < 2 or min(diffs) == max(diffs):
        return mean, mean, mean  # no spread: the interval is the value itself
    import numpy as np
    from scipy.stats import bootstrap

    res = bootstrap(
        (np.asarray(diffs, dtype=float),),
        np.mean,
        n_resamples=BOOTSTRAP_RESAMPLES,
        confidence_level=CONFIDENCE,
        method="percentile",
        rng=np.random.default_rng(BOOTSTRAP_SEED),
        vectorized=True,
    )
    return mean, float(res.confidence_interval.low), float(res.confidence_interval.high)


def _per_case(run: VariantRun, metric: str) -> dict[str, float]:
    """Per-case values, averaged over the records of a case (several tests may score it)."""
    from pytest_ragops.tracking.reader import iter_case_values

    sums: dict[str, list[float]] = {}
    for case_id, value in iter_case_values(run, metric):
        sums.setdefault(case_id, []).append(value)
    return {c: math.fsum(v) / len(v) for c, v in sums.items()}


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def choose_winner(runs: Sequence[VariantRun], rule: Rule, budget: float | None = None) -> Decision:
    """Rank the runs by ``rule`` within ``budget`` and test the winner's lead."""
    if budget is not None and (not math.isfinite(budget) or budget < 0):
        raise RagopsError(f"must be a non-negative number, got {budget!r}", path="--budget")
    decision = Decision(rule=rule, budget=budget)
    candidates: list[tuple[float, str]] = []
    for run in runs:
        value = _number(run.metrics.get(rule.metric))
        if value is None:
            decision.excluded[run.name] = f"no {rule.metric}"
            continue
        if budget is not None:
            cost = _number(run.metrics.get(COST_METRIC))
            if cost is None:
                decision.excluded[run.name] = f"{COST_METRIC} unknown"
                continue
            if cost > budget:
                decision.excluded[run.name] = f"{COST_METRIC} {cost:.6f} over budget {budget:g}"
                continue
        candidates.append((value, run.name))
    candidates.sort(key=lambda t: ((-t[0] if rule.maximize else t[0]), t[1]))
    decision.ranking = [name for _, name in candidates]
    if decision.winner is None:
        decision.note = "no run qualifies"
        return decision
    if decision.runner_up is None:
        decision.note = "only one run qualifies: nothing to test its lead against"
        return decision
    by_name = {r.name: r for r in runs}
    a = _per_case(by_name[decision.winner], rule.case_metric)
    b = _per_case(by_name[decision.runner_up], rule.case_metric)
    shared = sorted(set(a) & set(b))
    if len(shared) < 2:
        decision.note = f"{len(shared)} shared case ids with per-case {rule.case_metric}: too few"
        return decision
    sign = 1.0 if rule.maximize else -1.0
    diffs = [sign * (a[c] - b[c]) for c in shared]
    mean, low, high = paired_bootstrap(diffs)
    decision.significance = Significance(
        metric=rule.case_metric,
        pairs=len(shared),
        mean_difference=mean,
        ci_low=low,
        ci_high=high,
        confidence=CONFIDENCE,
        significant=low > 0.0,
    )
    return decision
