"""Canary delivery: sticky routing, a statistical verdict, and a stepwise rollout.

:class:`CanaryRouter` sends a stable fraction of users to the canary ("green") and the rest
to the stable version ("blue"), using the same hash as the flags (``bucket("canary", id)``
by default), so a user stays on one side while the fraction only grows.
:class:`CanaryJudge` compares baseline and canary samples per metric with one-sided
Mann-Whitney tests around a tolerance band and returns ``promote``, ``rollback`` or
``inconclusive`` with reasons. :class:`ProgressiveRollout` walks 5 -> 25 -> 50 -> 100 %.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field, replace
from hashlib import sha256
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Final, Literal

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags.bucketing import ALL, NONE, digest_limit

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = [
    "DEFAULT_STEPS",
    "CanaryJudge",
    "CanaryRouter",
    "CanaryVerdict",
    "MetricResult",
    "MetricRule",
    "ProgressiveRollout",
]

Decision = Literal["promote", "rollback", "inconclusive"]
#: Canary fractions a progressive rollout steps through on each ``promote``.
DEFAULT_STEPS: Final = (0.05, 0.25, 0.5, 1.0)
_HEADER: Final = "x-user-id"
#: Metric names containing these words default to lower-is-better.
_LOWER_IS_BETTER: Final = ("latency", "cost")


def _check_fraction(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise RagopsError(f"{value!r} is outside 0-1; it is a fraction (0.05 = 5%)", field=name)
    return float(value)


class CanaryRouter:
    """Route a request or user id to ``"green"`` (canary) or ``"blue"`` (stable).

    A request is any object with a ``.headers`` mapping carrying ``X-User-ID`` (looked up
    case-insensitively). A request or id without a user id goes to blue: anonymous traffic
    cannot be kept sticky, so it stays on the stable version.

    :param canary_pct: fraction of users on the canary, in [0, 1].
    :param salt: the hash key, ``bucket(salt, user_id) < canary_pct`` means green; give each
        independent canary its own salt so the same users are not always first.
    """

    def __init__(self, canary_pct: float = 0.05, *, salt: str = "canary") -> None:
        self._prefix = f"{salt}:".encode()
        self.salt = salt
        self.canary_pct = canary_pct

    @property
    def canary_pct(self) -> float:
        """Current canary fraction; setting it is atomic and thread-safe."""
        return self._state[0]

    @canary_pct.setter
    def canary_pct(self, value: float) -> None:
        pct = _check_fraction(value, "canary_pct")
        # One tuple assignment, so a concurrent route() sees the old or the new pair.
        self._state = (pct, digest_limit(pct))

    def route(self, request_or_user_id: object) -> Literal["green", "blue"]:
        """Return ``"green"`` when the user is in the canary fraction, else ``"blue"``."""
        user_id = self.user_id_of(request_or_user_id)
        limit = self._state[1]
        if not user_id or limit is NONE:
            return "blue"
        if limit is ALL:
            return "green"
        return "green" if sha256(self._prefix + user_id.encode()).digest() < limit else "blue"

    @staticmethod
    def user_id_of(request_or_user_id: object) -> str:
        """Extract the user id: the object itself if a string, else its ``X-User-ID`` header."""
        if isinstance(request_or_user_id, str):
            return request_or_user_id
        headers: Any = getattr(request_or_user_id, "headers", None)
        if headers is None:
            raise RagopsError(
                f"cannot route a {type(request_or_user_id).__name__}: pass a user id or an "
                "object with .headers carrying X-User-ID",
                field="route",
            )
        value = headers.get("X-User-ID")
        if value is None:
            value = next((v for k, v in headers.items() if str(k).lower() == _HEADER), None)
        return "" if value is None else str(value)


@dataclass(frozen=True, slots=True)
class MetricRule:
    """How one metric is judged.

    :param higher_is_better: ``True`` for quality scores, ``False`` for latency or cost.
    :param tolerance: width of the band the canary may be worse by and still pass.
    :param relative: ``tolerance`` is a fraction of the baseline median (else absolute units).
    :param critical: a failing critical metric rolls back alone; so does one without data.
    """

    higher_is_better: bool = True
    tolerance: float = 0.05
    relative: bool = True
    critical: bool = False


@dataclass(frozen=True, slots=True)
class MetricResult:
    """The outcome for one metric: ``pass``, ``fail`` or ``nodata``/``inconclusive``."""

    metric: str
    outcome: Literal["pass", "fail", "inconclusive", "nodata"]
    baseline_median: float | None
    canary_median: float | None
    #: p-value of "canary worse than baseline beyond the band" (small: it is worse).
    p_worse: float | None
    #: p-value of "canary within the band or better" (small: it is not worse).
    p_noninferior: float | None
    critical: bool
    reason: str


@dataclass(frozen=True, slots=True)
class CanaryVerdict:
    """A decision with the per-metric results and the reasons behind it."""

    decision: Decision
    reasons: tuple[str, ...]
    metrics: tuple[MetricResult, ...] = field(default_factory=tuple)


class CanaryJudge:
    """Compare baseline and canary samples per metric and decide.

    For each metric the canary's values are shifted by the tolerance band in its favour and
    two one-sided Mann-Whitney U tests are run against the baseline: if the shifted canary
    is still significantly worse, the metric fails; if it is significantly better (the
    canary is non-inferior within the band), it passes; otherwise it is inconclusive.
    Decision: any critical failure, or more than ``max_failures`` failures -> ``rollback``;
    every metric passing -> ``promote``; anything else -> ``inconclusive``.

    :param rules: metric name -> :class:`MetricRule`; metrics not listed use ``default_rule``,
        turned to lower-is-better for names containing ``latency`` or ``cost`` (as the
        ragops gates treat them).
    :param alpha: significance level of each test.
    :param min_samples: fewer values than this on either side give ``nodata`` for the metric.
    """

    def __init__(
        self,
        rules: Mapping[str, MetricRule] | None = None,
        *,
        default_rule: MetricRule | None = None,
        alpha: float = 0.05,
        min_samples: int = 20,
        max_failures: int = 0,
    ) -> None:
        if not 0.0 < alpha < 1.0:
            raise RagopsError(f"alpha {alpha!r} must be strictly between 0 and 1", field="alpha")
        if min_samples < 2:
            raise RagopsError("min_samples must be at least 2", field="min_samples")
        self.rules = dict(rules or {})
        self.default_rule = default_rule or MetricRule()
        self.alpha = alpha
        self.min_samples = min_samples
        self.max_failures = max_failures

    def judge(
        self, baseline: Mapping[str, Sequence[float]], canary: Mapping[str, Sequence[float]]
    ) -> CanaryVerdict:
        """Return the verdict for samples keyed by metric name."""
        names = sorted(set(baseline) | set(canary) | set(self.rules))
        results = tuple(
            self._metric(name, baseline.get(name, ()), canary.get(name, ())) for name in names
        )
        if not results:
            return CanaryVerdict("inconclusive", ("no metrics to compare",), results)
        failed = [r for r in results if r.outcome == "fail"]
        critical = [r for r in failed if r.critical]
        missing_critical = [r for r in results if r.critical and r.outcome == "nodata"]
        reasons = tuple(r.reason for r in results if r.outcome != "pass")
        if critical or missing_critical:
            lead = (
                f"critical metric {', '.join(r.metric for r in critical + missing_critical)} "
                "failed or has no data"
            )
            return CanaryVerdict("rollback", (lead, *reasons), results)
        if len(failed) > self.max_failures:
            lead = f"{len(failed)} metric(s) failed (allowed: {self.max_failures})"
            return CanaryVerdict("rollback", (lead, *reasons), results)
        if all(r.outcome == "pass" for r in results):
            return CanaryVerdict("promote", tuple(r.reason for r in results), results)
        return CanaryVerdict("inconclusive", reasons, results)

    def _default_for(self, name: str) -> MetricRule:
        if any(word in name for word in _LOWER_IS_BETTER):
            return replace(self.default_rule, higher_is_better=False)
        return self.default_rule

    def _metric(self, name: str, base: Sequence[float], can: Sequence[float]) -> MetricResult:
        rule = self.rules.get(name) or self._default_for(name)
        base_vals = [float(v) for v in base if not math.isnan(float(v))]
        can_vals = [float(v) for v in can if not math.isnan(float(v))]
        if min(len(base_vals), len(can_vals)) < self.min_samples:
            return MetricResult(
                name, "nodata", None, None, None, None, rule.critical,
                f"{name}: not enough samples ({len(base_vals)} baseline, {len(can_vals)} "
                f"canary; need {self.min_samples} each)",
            )  # fmt: skip
        from statistics import median

        from scipy.stats import mannwhitneyu

        b_med, c_med = median(base_vals), median(can_vals)
        band = rule.tolerance * abs(b_med) if rule.relative else rule.tolerance
        # Shift the canary in its favour by the band: "worse" survives only beyond the band.
        shift = band if rule.higher_is_better else -band
        shifted = [v + shift for v in can_vals]
        worse, better = ("less", "greater") if rule.higher_is_better else ("greater", "less")
        p_worse = float(mannwhitneyu(shifted, base_vals, alternative=worse).pvalue)
        p_ok = float(mannwhitneyu(shifted, base_vals, alternative=better).pvalue)
        direction = "higher" if rule.higher_is_better else "lower"
        summary = (
            f"{name}: canary median {c_med:.4g} vs baseline {b_med:.4g} "
            f"({direction} is better, band {band:.3g})"
        )
        if p_worse < self.alpha:
            outcome: Literal["pass", "fail", "inconclusive"] = "fail"
            reason = f"{summary}: worse beyond the band (p={p_worse:.3g})"
        elif p_ok < self.alpha:
            outcome, reason = "pass", f"{summary}: within the band (p={p_ok:.3g})"
        else:
            outcome = "inconclusive"
            reason = f"{summary}: no significant difference either way (p={p_worse:.3g}/{p_ok:.3g})"
        return MetricResult(name, outcome, b_med, c_med, p_worse, p_ok, rule.critical, reason)


class ProgressiveRollout:
    """Step the canary fraction up on ``promote``, to 0 on ``rollback``, hold otherwise.

    Drives a :class:`CanaryRouter` when given one, so routing follows the decisions::

        rollout = ProgressiveRollout(router)
        while not rollout.finished:
            rollout.advance(judge.judge(baseline_metrics(), canary_metrics()).decision)
    """

    def __init__(
        self, router: CanaryRouter | None = None, steps: Sequence[float] = DEFAULT_STEPS
    ) -> None:
        values = [_check_fraction(s, "steps") for s in steps]
        if not values or any(b <= a for a, b in pairwise(values)):
            raise RagopsError("steps must be a non-empty increasing sequence", field="steps")
        self.steps = tuple(values)
        self.router = router
        self._lock = threading.Lock()
        self._index = 0
        self.rolled_back = False
        #: ``(decision, fraction after it)`` for every call to :meth:`advance`.
        self.history: list[tuple[str, float]] = []
        self._apply()

    @property
    def current_pct(self) -> float:
        """Canary fraction now: a step, or 0 after a rollback."""
        return 0.0 if self.rolled_back else self.steps[self._index]

    @property
    def finished(self) -> bool:
        """True once fully promoted (last step reached) or rolled back."""
        return self.rolled_back or self._index == len(self.steps) - 1

    def advance(self, decision: str) -> float:
        """Apply one verdict and return the new canary fraction."""
        if decision not in ("promote", "rollback", "inconclusive"):
            raise RagopsError(
                f"unknown decision {decision!r}; use promote, rollback or inconclusive",
                field="decision",
            )
        with self._lock:
            if not self.finished:
                if decision == "promote":
                    self._index += 1
                elif decision == "rollback":
                    self.rolled_back = True
            self._apply()
            self.history.append((decision, self.current_pct))
            return self.current_pct

    def _apply(self) -> None:
        if self.router is not None:
            self.router.canary_pct = self.current_pct
