"""One validating wrapper around every judge: what reaches a record is checked.

Whatever a judge returns (or raises), the engine gets exactly one :class:`Score` per
requested metric: a finite value in [0, 1], or ``value=None`` with an error that says
why. An exception, a NaN, a value out of range, a missing or unexpected metric never
becomes a number, and never one stand-in entry for the whole sample.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.judge.base import Judge, Sample, Score, SyncJudge

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["CheckedJudge", "check_scores"]


def _label(judge: object) -> str:
    name = getattr(judge, "name", None)
    return name if isinstance(name, str) and name else type(judge).__name__


def _error_scores(metrics: Sequence[str], judge: str, error: str) -> list[Score]:
    return [Score(metric=m, value=None, judge=judge, error=error) for m in metrics]


def _check_one(score: object, metric: str, judge: str) -> Score:
    if not isinstance(score, Score):
        return Score(metric, None, judge, error=f"judge returned {type(score).__name__}, not Score")
    value = score.value
    label = score.judge or judge
    if value is None:
        if score.error is None and score.applicable:
            return replace(score, judge=label, error="judge returned no value and no reason")
        return replace(score, judge=label)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return replace(score, value=None, judge=label, error=f"non-numeric score {value!r}")
    value = float(value)
    if not math.isfinite(value):
        return replace(score, value=None, judge=label, error=f"non-finite score {value!r}")
    if not 0.0 <= value <= 1.0:
        return replace(score, value=None, judge=label, error=f"score {value:g} outside [0, 1]")
    cost = score.cost_usd
    if cost is not None and (
        isinstance(cost, bool) or not isinstance(cost, int | float) or not math.isfinite(cost)
        or cost < 0
    ):  # fmt: skip
        return replace(score, value=None, judge=label, error=f"invalid judge cost {cost!r}")
    return replace(score, value=value, judge=label)


def check_scores(scores: object, metrics: Sequence[str], judge: str) -> list[Score]:
    """Exactly one checked score per metric in ``metrics``, in that order."""
    if not isinstance(scores, list | tuple):
        return _error_scores(metrics, judge, f"judge returned {type(scores).__name__}, not a list")
    by_metric: dict[str, object] = {}
    for s in scores:
        metric = getattr(s, "metric", None)
        if isinstance(metric, str) and metric not in by_metric:
            by_metric[metric] = s
    out: list[Score] = []
    for m in metrics:
        if m not in by_metric:
            out.append(Score(m, None, judge, error=f"judge {judge} returned no {m} score"))
        else:
            out.append(_check_one(by_metric[m], m, judge))
    return out


class CheckedJudge:
    """Adapts a sync or async judge to the async protocol and validates every result.

    ``run_sync`` runs a sync judge's ``score`` off the loop (the session's pool).
    """

    def __init__(
        self,
        judge: Judge | SyncJudge,
        run_sync: Callable[..., Any] | None = None,
    ) -> None:
        ascore = getattr(judge, "ascore", None)
        score = getattr(judge, "score", None)
        if ascore is not None and inspect.iscoroutinefunction(ascore):
            self._async = True
        elif callable(score):
            self._async = False
        else:
            raise RagopsUsageError(
                f"{type(judge).__name__} is not a judge: it needs async ascore(sample, metrics) "
                "or score(sample, metrics)",
                path="pytest_ragops_make_judge",
            )
        self.inner = judge
        self.name = _label(judge)
        self._run_sync = run_sync
        #: Sync judges are cheap and local: one call per sample for all metrics.
        self.scores_together = bool(getattr(judge, "scores_together", not self._async))

    async def ascore(self, sample: Sample, metrics: tuple[str, ...]) -> list[Score]:
        """Score ``sample``; never raises for a judge failure, never returns a bad value."""
        try:
            if self._async:
                raw: object = await self.inner.ascore(sample, metrics)  # type: ignore[union-attr]
            elif self._run_sync is not None:
                raw = await self._run_sync(self.inner.score, sample, metrics)  # type: ignore[union-attr]
            else:
                raw = self.inner.score(sample, metrics)  # type: ignore[union-attr]
        except Exception as exc:  # noqa: BLE001 - a judge failure is recorded per metric
            error = f"judge {self.name} failed: {exc.__class__.__name__}: {exc}"
            return _error_scores(metrics, self.name, error)
        return check_scores(raw, metrics, self.name)

    async def aclose(self) -> None:
        """Close the wrapped judge, if it has anything to close."""
        aclose = getattr(self.inner, "aclose", None)
        if aclose is not None:
            result = aclose()
            if inspect.isawaitable(result):
                await result
            return
        close = getattr(self.inner, "close", None)
        if callable(close):
            close()

    def report_info(self) -> dict[str, Any]:
        """What the wrapped judge (cache, budget) says about the run, for the report."""
        info = getattr(self.inner, "report_info", None)
        if callable(info):
            try:
                data = info()
            except Exception as exc:  # noqa: BLE001 - a report detail, never fatal
                return {"error": f"{exc.__class__.__name__}: {exc}"}
            return dict(data) if isinstance(data, dict) else {}
        return {}
