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
import numbers
import threading
import warnings
from dataclasses import dataclass, field, replace
from hashlib import sha256
from itertools import pairwise
from typing import TYPE_CHECKING, Any, Final, Literal

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags.bucketing import ALL, NONE, digest_limit, user_key

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
Outcome = Literal["pass", "fail", "inconclusive"]
Kind = Literal["auto", "continuous", "discrete", "proportion"]
_KINDS: Final = ("auto", "continuous", "discrete", "proportion")
#: Canary fractions a progressive rollout steps through on each ``promote``.
DEFAULT_STEPS: Final = (0.05, 0.25, 0.5, 1.0)
_HEADER: Final = "x-user-id"
#: Metric names containing these words default to lower-is-better (error: error rates).
_LOWER_IS_BETTER: Final = ("latency", "cost", "error")


def _check_fraction(value: float, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0.0 <= value <= 1.0:
        raise RagopsError(f"{value!r} is outside 0-1; it is a fraction (0.05 = 5%)", field=name)
    return float(value)


class CanaryRouter:
    """Route a request or user id to ``"green"`` (canary) or ``"blue"`` (stable).

    A request is any object with a ``.headers`` mapping carrying ``X-User-ID`` (looked up
    case-insensitively). A request or id without a user id (``None``, ``""``) goes to blue:
    anonymous traffic cannot be kept sticky, so it stays on the stable version. An ``int``
    id routes as its decimal string.

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
        """Extract the user id: the object itself if a string or int, else its ``X-User-ID``.

        ``None`` and ``""`` are anonymous (routed blue); an ``int`` is its decimal string, as
        in the flags (``bucketing.user_key``); a ``bool`` is an error, not a user.
        """
        if request_or_user_id is None or isinstance(request_or_user_id, str | int):
            return user_key(request_or_user_id)
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

    :param higher_is_better: ``True`` for quality scores and success rates, ``False`` for
        latency, cost and error rates.
    :param tolerance: width of the band the canary may be worse by and still pass. For a
        0/1 metric it is always absolute, in rate units (0.05 = 5 percentage points).
    :param relative: ``tolerance`` is a fraction of the baseline median (mean for discrete
        metrics) instead of absolute units; ignored for 0/1 metrics.
    :param critical: a failing critical metric rolls back alone; so does one without data.
    :param kind: ``"auto"`` (default: 0/1 values -> ``"proportion"``, heavily tied values ->
        ``"discrete"``, else ``"continuous"``), or one of those three to force the test.
    """

    higher_is_better: bool = True
    tolerance: float = 0.05
    relative: bool = True
    critical: bool = False
    kind: Kind = "auto"

    def __post_init__(self) -> None:
        for name in ("higher_is_better", "relative", "critical"):
            if not isinstance(getattr(self, name), bool):
                raise RagopsError(f"must be true or false, got {getattr(self, name)!r}", field=name)
        tol = self.tolerance
        if isinstance(tol, bool) or not isinstance(tol, int | float) or not 0.0 <= tol < math.inf:
            raise RagopsError(f"{tol!r} must be a finite number >= 0", field="tolerance")
        if self.kind not in _KINDS:
            raise RagopsError(f"unknown kind {self.kind!r}; use {', '.join(_KINDS)}", field="kind")


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
    #: ``proportion``, ``discrete`` or ``continuous`` (how the metric was tested).
    kind: str = "continuous"
    #: The test behind the p-values (``farrington-manning``, ``welch-t``, ``mann-whitney``).
    test: str = ""
    #: Means of the values the test saw (for a 0/1 metric: the success rates).
    baseline_mean: float | None = None
    canary_mean: float | None = None
    #: Samples that were ``None``, NaN or infinite: counted as the worst outcome on the
    #: canary side, left out (so never helping the canary) on the baseline side.
    baseline_missing: int = 0
    canary_missing: int = 0


@dataclass(frozen=True, slots=True)
class CanaryVerdict:
    """A decision with the per-metric results and the reasons behind it."""

    decision: Decision
    reasons: tuple[str, ...]
    metrics: tuple[MetricResult, ...] = field(default_factory=tuple)

    @property
    def summary(self) -> str:
        """The verdict in one line: the decision, then why (the lead reason and details)."""
        return f"{self.decision}: " + "; ".join(self.reasons or ("no reason given",))


class CanaryJudge:
    """Compare baseline and canary samples per metric and decide.

    Each metric gets a one-sided non-inferiority test around its tolerance band, chosen for
    its values (``MetricRule.kind``):

    - 0/1 metrics (success, error): the Farrington-Manning score test on the difference of
      proportions, margin ``tolerance`` (absolute). Rank tests are unfit here: with only two
      values, shifting the canary by the band breaks every tie in its favour.
    - discrete metrics (few distinct values, e.g. ratings): a one-sided Welch t test on the
      means, the canary shifted by the band;
    - continuous metrics: one-sided Mann-Whitney U tests, the canary shifted by the band.

    If the canary is significantly worse beyond the band, the metric fails; if it is
    significantly non-inferior, it passes; otherwise it is inconclusive. Missing canary
    samples (``None``, NaN, inf) count as the worst outcome (a failure for 0/1 metrics);
    missing baseline samples are left out. Neither is silently dropped: the counts are in
    the result and its reason.
    Decision: any critical failure, or more than ``max_failures`` failures -> ``rollback``;
    every metric passing -> ``promote``; anything else -> ``inconclusive``.

    :param rules: metric name -> :class:`MetricRule`; metrics not listed use ``default_rule``,
        turned to lower-is-better for names containing ``latency``, ``cost`` or ``error``.
    :param alpha: significance level of each test.
    :param min_samples: fewer values than this on either side give ``nodata`` for the metric
        (missing canary values count as values: they are failures, not absences).
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
        if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 < alpha < 1.0:
            raise RagopsError(f"alpha {alpha!r} must be strictly between 0 and 1", field="alpha")
        if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 2:
            raise RagopsError("min_samples must be an integer of at least 2", field="min_samples")
        if isinstance(max_failures, bool) or not isinstance(max_failures, int) or max_failures < 0:
            raise RagopsError("max_failures must be an integer >= 0", field="max_failures")
        for name, rule in (rules or {}).items():
            if not isinstance(rule, MetricRule):
                raise RagopsError(f"expected a MetricRule, got {type(rule).__name__}", field=name)
        self.rules = dict(rules or {})
        self.default_rule = default_rule or MetricRule()
        self.alpha = float(alpha)
        self.min_samples = min_samples
        self.max_failures = max_failures

    def judge(
        self,
        baseline: Mapping[str, Sequence[float | None]],
        canary: Mapping[str, Sequence[float | None]],
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
        if any(word in name.lower() for word in _LOWER_IS_BETTER):
            return replace(self.default_rule, higher_is_better=False)
        return self.default_rule

    def _metric(
        self, name: str, base: Sequence[float | None], can: Sequence[float | None]
    ) -> MetricResult:
        rule = self.rules.get(name) or self._default_for(name)
        base_vals, base_missing = _split(name, "baseline", base)
        can_vals, can_missing = _split(name, "canary", can)
        n_can = len(can_vals) + can_missing
        missing_note = _missing_note(base_missing, can_missing)
        if min(len(base_vals), n_can) < self.min_samples:
            return MetricResult(
                name, "nodata", None, None, None, None, rule.critical,
                f"{name}: not enough samples ({len(base_vals)} baseline, {n_can} "
                f"canary; need {self.min_samples} each){missing_note}",
                baseline_missing=base_missing, canary_missing=can_missing,
            )  # fmt: skip
        kind = rule.kind if rule.kind != "auto" else _guess_kind(base_vals + can_vals)
        if kind == "proportion":
            if any(v not in (0.0, 1.0) for v in base_vals + can_vals):
                raise RagopsError(
                    "a proportion metric takes 0/1 values only", field=f"metric {name!r}"
                )
            return self._proportion(name, rule, base_vals, can_vals, base_missing, can_missing)
        return self._shifted(name, rule, kind, base_vals, can_vals, base_missing, can_missing)

    def _decide(self, p_worse: float, p_ok: float) -> tuple[Outcome, str]:
        if p_worse < self.alpha:
            return "fail", f"worse beyond the band (p={p_worse:.3g})"
        if p_ok < self.alpha:
            return "pass", f"within the band (p={p_ok:.3g})"
        return "inconclusive", f"no significant difference either way (p={p_worse:.3g}/{p_ok:.3g})"

    def _proportion(
        self,
        name: str,
        rule: MetricRule,
        base_vals: list[float],
        can_vals: list[float],
        base_missing: int,
        can_missing: int,
    ) -> MetricResult:
        # Test "good" outcomes: 1s when higher is better, 0s (no error) when lower is.
        good = 1.0 if rule.higher_is_better else 0.0
        n_b, n_c = len(base_vals), len(can_vals) + can_missing
        x_b = sum(v == good for v in base_vals)
        x_c = sum(v == good for v in can_vals)  # a missing canary sample is never good
        margin = rule.tolerance
        b_rate, c_rate = sum(base_vals) / n_b, sum(can_vals) / n_c  # rates of 1s
        direction = "higher" if rule.higher_is_better else "lower"
        summary = (
            f"{name}: canary {c_rate:.1%} of {n_c} vs baseline {b_rate:.1%} of {n_b} "
            f"({direction} is better), "
            f"Farrington-Manning non-inferiority, margin {margin * 100:g} pts"
            f"{_missing_note(base_missing, can_missing)}"
        )
        p_ok = farrington_manning(x_c, n_c, x_b, n_b, margin)
        outcome: Outcome
        if p_ok is None:
            outcome, why = "inconclusive", "no variation in either arm and a zero margin"
            p_worse = None
        else:
            p_worse = 1.0 - p_ok
            outcome, why = self._decide(p_worse, p_ok)
        return MetricResult(
            name, outcome, _median(base_vals), _median(can_vals), p_worse, p_ok, rule.critical,
            f"{summary}: {why}", "proportion", "farrington-manning", b_rate, c_rate,
            base_missing, can_missing,
        )  # fmt: skip

    def _shifted(
        self,
        name: str,
        rule: MetricRule,
        kind: str,
        base_vals: list[float],
        can_vals: list[float],
        base_missing: int,
        can_missing: int,
    ) -> MetricResult:
        from statistics import fmean, median

        import numpy as np
        from scipy.stats import mannwhitneyu, ttest_ind

        b_med = median(base_vals)
        b_mean = fmean(base_vals)
        c_med = median(can_vals) if can_vals else None
        c_mean = fmean(can_vals) if can_vals else None
        centre = b_mean if kind == "discrete" else b_med
        band = rule.tolerance * abs(centre) if rule.relative else rule.tolerance
        # Shift the canary in its favour by the band: "worse" survives only beyond the band.
        shift = band if rule.higher_is_better else -band
        worse, better = ("less", "greater") if rule.higher_is_better else ("greater", "less")
        if kind == "discrete":
            # A missing canary sample is the worst value seen in either arm.
            pool = base_vals + can_vals
            worst = min(pool) if rule.higher_is_better else max(pool)
            shifted = np.array(can_vals + [worst] * can_missing) + shift
            test = "welch-t"
            label = f"Welch t on means {_g(c_mean)} vs {_g(b_mean)}"
        else:
            # Ranks only: a missing canary sample ranks below (above) every real value.
            worst = -math.inf if rule.higher_is_better else math.inf
            shifted = np.array(can_vals + [worst] * can_missing) + shift
            test = "mann-whitney"
            label = "Mann-Whitney"
        direction = "higher" if rule.higher_is_better else "lower"
        summary = (
            f"{name}: canary median {_g(c_med)} vs baseline {_g(b_med)} "
            f"({direction} is better, band {band:.3g}; {label})"
            f"{_missing_note(base_missing, can_missing)}"
        )
        base_arr = np.array(base_vals)
        outcome: Outcome
        p_worse: float | None
        p_ok: float | None
        if kind == "discrete" and np.ptp(shifted) == 0.0 and np.ptp(base_arr) == 0.0:
            # No variation at all: the means are exact, compare them directly.
            p_worse = p_ok = None
            gap = (shifted[0] - base_arr[0]) * (1 if rule.higher_is_better else -1)
            if gap < 0:
                outcome, why = "fail", "worse beyond the band (no variation in either arm)"
            elif gap > 0:
                outcome, why = "pass", "within the band (no variation in either arm)"
            else:
                outcome, why = "inconclusive", "exactly on the band edge (no variation)"
        else:
            with warnings.catch_warnings():
                # Near-constant samples: scipy warns about precision; the p-values stand.
                warnings.simplefilter("ignore", RuntimeWarning)
                if kind == "discrete":
                    p_worse = float(
                        ttest_ind(shifted, base_arr, equal_var=False, alternative=worse).pvalue
                    )
                    p_ok = float(
                        ttest_ind(shifted, base_arr, equal_var=False, alternative=better).pvalue
                    )
                else:
                    p_worse = float(mannwhitneyu(shifted, base_arr, alternative=worse).pvalue)
                    p_ok = float(mannwhitneyu(shifted, base_arr, alternative=better).pvalue)
            if math.isnan(p_worse) or math.isnan(p_ok):
                outcome, why = "inconclusive", "the test gave no p-value"
                p_worse = p_ok = None
            else:
                outcome, why = self._decide(p_worse, p_ok)
        if base_missing or can_missing:
            outcome, why = self._completeness(rule, outcome, why, base_vals, can_vals,
                                              base_missing, can_missing)  # fmt: skip
        return MetricResult(
            name, outcome, b_med, c_med, p_worse, p_ok, rule.critical, f"{summary}: {why}",
            kind, test, b_mean, c_mean, base_missing, can_missing,
        )  # fmt: skip

    def _completeness(
        self,
        rule: MetricRule,
        outcome: Outcome,
        why: str,
        base_vals: list[float],
        can_vals: list[float],
        base_missing: int,
        can_missing: int,
    ) -> tuple[Outcome, str]:
        """Combine the value test with a non-inferiority test on the share of present samples.

        Ranking missing samples last is not enough: with the band in its favour, a canary
        that loses 10% of its answers can still look non-inferior on the rest. So the rate
        of present samples must itself be non-inferior (Farrington-Manning, margin
        ``tolerance`` as an absolute rate); the metric passes only when both tests pass.
        """
        n_b, n_c = len(base_vals) + base_missing, len(can_vals) + can_missing
        p_ok = farrington_manning(len(can_vals), n_c, len(base_vals), n_b, rule.tolerance)
        label = (
            f"present {len(can_vals) / n_c:.1%} vs {len(base_vals) / n_b:.1%} "
            f"(Farrington-Manning, margin {rule.tolerance * 100:g} pts)"
        )
        if p_ok is None:
            present: Outcome = "inconclusive"
            present_why = f"{label}: no variation and a zero margin"
        else:
            present, present_why = self._decide(1.0 - p_ok, p_ok)
            present_why = f"{label}: {present_why}"
        if "fail" in (outcome, present):
            combined: Outcome = "fail"
        elif outcome == present == "pass":
            combined = "pass"
        else:
            combined = "inconclusive"
        return combined, f"{why}; {present_why}"


def farrington_manning(x_c: int, n_c: int, x_b: int, n_b: int, margin: float) -> float | None:
    """One-sided p-value of H0 ``p_c - p_b <= -margin`` (Farrington & Manning, 1990).

    The score statistic ``z = (p_c - p_b + margin) / se`` takes its standard error from the
    maximum-likelihood rates restricted to the null boundary ``p_c = p_b - margin`` (found
    with scipy's bounded scalar minimiser on the binomial log-likelihood), which keeps the
    test honest at rates of 0 or 1 where the Wald error is 0. Small p: the canary is
    non-inferior. Returns ``None`` when the restricted error is 0 (no variation, margin 0).
    """
    from scipy.optimize import minimize_scalar
    from scipy.special import xlogy
    from scipy.stats import norm

    if not 0.0 <= margin < 1.0:
        raise RagopsError(f"{margin!r} must be in [0, 1) for a proportion", field="tolerance")

    def nll(p_b: float) -> float:
        p_c = p_b - margin
        return -float(
            xlogy(x_c, p_c)
            + xlogy(n_c - x_c, 1 - p_c)
            + xlogy(x_b, p_b)
            + xlogy(n_b - x_b, 1 - p_b)
        )

    lo, hi = margin, 1.0  # p_b in [margin, 1] keeps p_c = p_b - margin in [0, 1 - margin]
    if hi - lo > 0:
        best = minimize_scalar(nll, bounds=(lo, hi), method="bounded", options={"xatol": 1e-12})
        p_b = min((float(best.x), lo, hi), key=nll)  # the optimum may sit on a bound
    else:
        p_b = lo
    p_c = p_b - margin
    se = math.sqrt(max(p_c * (1 - p_c) / n_c + p_b * (1 - p_b) / n_b, 0.0))
    if se == 0.0:
        return None
    z = (x_c / n_c - x_b / n_b + margin) / se
    return float(norm.sf(z))


def _split(name: str, side: str, values: Sequence[float | None]) -> tuple[list[float], int]:
    """Return the finite values and the number of missing ones (None, NaN, inf)."""
    if isinstance(values, str | bytes) or not hasattr(values, "__iter__"):
        raise RagopsError(f"expected a sequence of numbers, got {type(values).__name__}",
                          field=f"{side} metric {name!r}")  # fmt: skip
    finite: list[float] = []
    missing = 0
    for i, value in enumerate(values):
        if value is None:
            missing += 1
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise RagopsError(
                f"sample {i} is {value!r}, not a number (use 1.0/0.0 for success, None if missing)",
                field=f"{side} metric {name!r}",
            )
        number = float(value)
        if math.isfinite(number):
            finite.append(number)
        else:
            missing += 1
    return finite, missing


def _guess_kind(values: list[float]) -> Kind:
    if all(v in (0.0, 1.0) for v in values):
        return "proportion"
    if len(set(values)) <= len(values) // 2:
        return "discrete"
    return "continuous"


def _missing_note(base_missing: int, can_missing: int) -> str:
    parts = []
    if can_missing:
        parts.append(f"{can_missing} missing canary sample(s) counted as worst")
    if base_missing:
        parts.append(f"{base_missing} missing baseline sample(s) left out")
    return f" [{'; '.join(parts)}]" if parts else ""


def _median(values: list[float]) -> float | None:
    from statistics import median

    return median(values) if values else None


def _g(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


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
