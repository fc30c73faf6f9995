"""The judge budget (``--ragops-budget=USD``) and the cost forecast printed before a run.

:class:`BudgetJudge` wraps the paying judge (inside the cache, so cache hits stay free
and are served after the budget is spent). Before each call it adds the spend so far,
what the calls in flight are expected to cost and this call's expected cost (the mean
measured so far for its metric); a call that would go past the budget is not made and
its score is ``value=None`` with ``budget exhausted``, which fails its gate. Before a
metric is measured its expected cost is the judge's prior (its typical tokens per call,
priced); a metric with no prior sends one probe call at a time until one is measured, so
concurrent first calls cannot all slip under the cap. Expected costs are means, so the
spend can pass the budget by at most the deviation of the calls in flight.

A score that reports usage but no cost (a model missing from the price table) makes the
spend unknown; the wrapper then stops too, rather than pretending the call was free.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.judge.base import Sample, Score
from pytest_ragops.pricing import cost_from_usage

if TYPE_CHECKING:
    from collections.abc import Mapping

    from pytest_ragops.judge.base import Judge

__all__ = [
    "BudgetJudge",
    "CostForecast",
    "forecast_cost",
    "forecast_for_judge",
    "parse_budget",
    "prior_costs",
]


def parse_budget(raw: object, where: str = "--ragops-budget") -> float | None:
    """A budget in USD: finite and > 0, or None for no cap."""
    if raw is None or raw == "":
        return None
    try:
        value = float(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise RagopsUsageError(f"budget must be a number of USD, got {raw!r}", path=where) from None
    if isinstance(raw, bool) or not math.isfinite(value) or value <= 0:
        raise RagopsUsageError(f"budget must be a positive number of USD, got {raw!r}", path=where)
    return value


class BudgetJudge:
    """Stops making judge calls once the session's judge spend reaches ``budget_usd``."""

    scores_together = False

    def __init__(
        self, inner: Judge, budget_usd: float, prior: Mapping[str, float] | None = None
    ) -> None:
        """:param prior: expected cost per call by metric until one is measured."""
        self.inner = inner
        self.name = inner.name
        self.budget_usd = budget_usd
        self.spent_usd = 0.0
        self.refused = 0
        self.unknown_cost = False
        self._reserved = 0.0
        self._prior = dict(prior or {})
        self._mean_cost: dict[str, float] = {}
        self._priced_calls: dict[str, int] = {}
        #: Metric → the unmeasured probe call in flight (no prior, nothing measured yet).
        self._probes: dict[str, asyncio.Event] = {}

    def judge_label(self, metric: str) -> str:
        label = getattr(self.inner, "judge_label", None)
        return str(label(metric)) if callable(label) else self.inner.name

    @property
    def exhausted(self) -> bool:
        """True once the budget (or an unknown cost) stopped new calls."""
        return self.unknown_cost or self.refused > 0 or self.spent_usd >= self.budget_usd

    def _affordable(self, metric: str) -> bool:
        """Spend + calls in flight + this call's measured mean cost stays within the budget."""
        if self.unknown_cost or self.spent_usd >= self.budget_usd:
            return False
        return self.spent_usd + self._reserved + self._expected(metric) <= self.budget_usd

    def _expected(self, metric: str) -> float:
        """The measured mean cost of a call for ``metric``, else the prior, else 0."""
        return self._mean_cost.get(metric, self._prior.get(metric, 0.0))

    def _blind(self, metric: str) -> bool:
        """Nothing known of this metric's cost: neither measured nor a prior."""
        return metric not in self._mean_cost and metric not in self._prior

    async def ascore(self, sample: Sample, metrics: tuple[str, ...]) -> list[Score]:
        return [await self._one(sample, metric) for metric in metrics]

    async def _one(self, sample: Sample, metric: str) -> Score:
        while self._blind(metric) and (probe := self._probes.get(metric)) is not None:
            await probe.wait()  # let the probe measure what a call costs first
        probing = self._blind(metric)
        if probing:
            self._probes[metric] = asyncio.Event()
        try:
            return await self._affordable_call(sample, metric)
        finally:
            if probing:
                self._probes.pop(metric).set()

    async def _affordable_call(self, sample: Sample, metric: str) -> Score:
        if not self._affordable(metric):
            self.refused += 1
            why = (
                "judge cost unknown"
                if self.unknown_cost
                else f"${self.spent_usd:.4f} of ${self.budget_usd:.4f} spent"
            )
            return Score(metric, None, self.judge_label(metric), error=f"budget exhausted ({why})")
        reserve = self._expected(metric)
        self._reserved += reserve
        try:
            [score] = await self.inner.ascore(sample, (metric,))
        finally:
            self._reserved -= reserve
        if score.cost_usd is not None:
            self.spent_usd += score.cost_usd
            if not score.cached:
                n = self._priced_calls.get(metric, 0) + 1
                self._priced_calls[metric] = n
                mean = self._mean_cost.get(metric, 0.0)
                self._mean_cost[metric] = mean + (score.cost_usd - mean) / n
        elif score.usage:
            self.unknown_cost = True
        return score

    def report_info(self) -> dict[str, Any]:
        """Spend, cap and whether the budget stopped the run, merged with the inner info."""
        inner = getattr(self.inner, "report_info", None)
        info: dict[str, Any] = dict(inner()) if callable(inner) else {}
        stopped = self.refused > 0
        info["budget"] = {
            "budget_usd": self.budget_usd,
            "spent_usd": self.spent_usd,
            "refused_calls": self.refused,
            "stopped_run": stopped,
            "message": (
                f"judge budget stopped the run: {self.refused} scores not judged"
                f" (${self.spent_usd:.4f} of ${self.budget_usd:.4f} spent"
                + (", cost of a judge response unknown" if self.unknown_cost else "")
                + ")"
            )
            if stopped
            else None,
        }
        return info

    async def aclose(self) -> None:
        await self.inner.aclose()


@dataclass(frozen=True, slots=True)
class CostForecast:
    """What a run's judge calls should cost, and whether that exceeds the budget."""

    calls: int
    cost_usd: float | None
    budget_usd: float | None
    #: ``measured`` (from the cache's recorded usage) or ``estimated`` per metric.
    basis: Mapping[str, str]

    @property
    def exceeds_budget(self) -> bool:
        return self.budget_usd is not None and (
            self.cost_usd is None or self.cost_usd > self.budget_usd
        )

    def message(self) -> str:
        """One line for the terminal before the run."""
        cost = "unknown (unpriced model)" if self.cost_usd is None else f"${self.cost_usd:.4f}"
        bases = ", ".join(f"{m} {b}" for m, b in sorted(self.basis.items()))
        line = f"ragops: judge cost forecast {cost} for {self.calls} scores ({bases} tokens)"
        if self.exceeds_budget:
            line += f" exceeds --ragops-budget=${self.budget_usd:.4f}; scoring stops at the budget"
        return line


def forecast_cost(
    *,
    cases: int,
    metrics: tuple[str, ...],
    repeats: int,
    model: str,
    measured: Mapping[str, tuple[float, float]],
    estimated: Mapping[str, tuple[int, int]],
    budget_usd: float | None = None,
    cached: int = 0,
) -> CostForecast:
    """cases × repeats × metrics scores, each at its measured (else estimated) tokens × price.

    :param measured: mean (input, output) tokens per score by metric, from the cache.
    :param estimated: the judge's own per-metric estimate, used where nothing was measured.
    :param cached: scores expected from the cache (subtracted from the count).
    """
    total = 0.0
    known = True
    basis: dict[str, str] = {}
    per_metric = max(0, cases * repeats)
    calls = max(0, per_metric * len(metrics) - cached)
    for metric in metrics:
        if metric in measured:
            tokens_in, tokens_out = measured[metric]
            basis[metric] = "measured"
        else:
            tokens_in, tokens_out = estimated.get(metric, (0, 0))
            basis[metric] = "estimated"
        cost = cost_from_usage(
            model, {"input_tokens": round(tokens_in), "output_tokens": round(tokens_out)}
        )
        if cost is None:
            known = False
        else:
            total += cost
    share = calls / (per_metric * len(metrics)) if per_metric and metrics else 0.0
    return CostForecast(
        calls=calls,
        cost_usd=total * per_metric * share if known else None,
        budget_usd=budget_usd,
        basis=basis,
    )


def prior_costs(model: str, estimated: Mapping[str, tuple[int, int]]) -> dict[str, float]:
    """Expected cost per call by metric from typical (input, output) tokens, where priced."""
    out: dict[str, float] = {}
    for metric, (tokens_in, tokens_out) in estimated.items():
        cost = cost_from_usage(model, {"input_tokens": tokens_in, "output_tokens": tokens_out})
        if cost is not None:
            out[metric] = cost
    return out


def _layers(judge: object) -> list[object]:
    """``judge`` and every judge it wraps (``.inner`` chain), outermost first."""
    found = [judge]
    while (inner := getattr(found[-1], "inner", None)) is not None and len(found) < 10:
        found.append(inner)
    return found


def forecast_for_judge(
    judge: object, *, cases: int, metrics: tuple[str, ...], repeats: int
) -> CostForecast | None:
    """The forecast for a judge built by the registry; None unless it has a budget.

    Tokens per score come from the cache's recorded usage for the current judge labels
    (model + prompt version) where present, else the judge's ``ESTIMATED_USAGE``.
    """
    from pytest_ragops.judge.anthropic import ESTIMATED_USAGE
    from pytest_ragops.judge.cache import CachedJudge

    layers = _layers(judge)
    budget = next((j for j in layers if isinstance(j, BudgetJudge)), None)
    model = getattr(layers[-1], "model", None)
    if budget is None or not isinstance(model, str):
        return None
    measured: dict[str, tuple[float, float]] = {}
    for layer in layers:
        if isinstance(layer, CachedJudge) and layer.store is not None:
            for metric in metrics:
                got = layer.store.measured_usage(layer.judge_label(metric))
                if metric in got:
                    measured[metric] = got[metric]
    return forecast_cost(
        cases=cases,
        metrics=metrics,
        repeats=repeats,
        model=model,
        measured=measured,
        estimated=ESTIMATED_USAGE,
        budget_usd=budget.budget_usd,
    )
