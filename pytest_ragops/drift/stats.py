"""The drift verdict: the classic mean-drop rule, made honest with a test and an interval.

With a million logged queries even a 0.002 drop is "significant", and with ten queries a
0.2 drop is noise. So the verdict needs both an effect size (the classic rule: the recent
mean is more than ``min_drop`` below the baseline mean) and evidence (a one-sided
two-sample test, Mann-Whitney U by default, at level ``alpha``), given at least
``min_samples`` scores in each period:

=================  ====================  ============================  ===================
enough samples     drop > ``min_drop``   p < ``alpha`` (recent lower)  status
=================  ====================  ============================  ===================
no                 any                   any                           ``insufficient_data``
yes                yes                   yes                           ``drift``
yes                yes                   no                            ``possible_drift``
yes                no                    yes, and CI reaches the drop  ``possible_drift``
yes                otherwise                                           ``no_drift``
=================  ====================  ============================  ===================

"CI reaches the drop" means the lower end of the confidence interval of ``delta`` is below
``-min_drop``: the drop could still be material. ``drifting`` keeps the classic meaning
(``recent_avg < baseline_avg - min_drop``, no test) for code written against the classic
API; gate on ``status``.

The interval is Welch's normal approximation (``delta ± z·sqrt(s_r²/n_r + s_b²/n_b)``),
which is exact enough at the sample sizes the verdict accepts and costs nothing on 1M rows.
Means, variances and the interval use every score (the store computes them with SQL
aggregates); the rank test runs on a uniform subsample of at most ``TEST_SAMPLE_CAP`` scores
per period, which keeps a check over 1M rows under a second and changes no verdict: at
100,000 scores a 0.05 drop is dozens of standard errors away from zero.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Literal, NamedTuple, cast

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    from pytest_ragops.drift.schema import DriftStatus, Verdict

__all__ = [
    "TESTS",
    "TEST_SAMPLE_CAP",
    "ScoreSample",
    "compare_scores",
    "sample_of",
    "validate_params",
]

#: Two-sample tests ``compare_scores`` accepts.
TESTS = ("mannwhitney", "ks")
TestName = Literal["mannwhitney", "ks"]
#: Most scores per period the rank test sees (a uniform subsample beyond that).
TEST_SAMPLE_CAP = 100_000


class ScoreSample(NamedTuple):
    """One period's scores: exact count, mean and variance, plus values for the rank test."""

    n: int
    mean: float
    #: Sample variance (ddof=1); NaN below two scores.
    var: float
    #: Every score, or a uniform subsample of them when there are many.
    values: npt.NDArray[np.float64]


def sample_of(values: npt.NDArray[np.float64]) -> ScoreSample:
    """Summarise an in-memory array of scores."""
    import numpy as np

    n = int(values.size)
    mean = float(np.mean(values)) if n else math.nan
    var = float(np.var(values, ddof=1)) if n >= 2 else math.nan
    return ScoreSample(n, mean, var, values)


def _finite(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else float(value)


def validate_params(min_samples: int, min_drop: float, alpha: float, confidence: float) -> None:
    """Reject parameters that would make the verdict meaningless."""
    if isinstance(min_samples, bool) or not isinstance(min_samples, int) or min_samples < 2:
        raise RagopsError(f"must be an integer >= 2, got {min_samples!r}", field="min_samples")
    if not 0.0 <= min_drop < 1.0:
        raise RagopsError(f"must be in [0, 1), got {min_drop!r}", field="min_drop")
    if not 0.0 < alpha < 1.0:
        raise RagopsError(f"must be in (0, 1), got {alpha!r}", field="alpha")
    if not 0.0 < confidence < 1.0:
        raise RagopsError(f"must be in (0, 1), got {confidence!r}", field="confidence")


def _p_value(
    recent: npt.NDArray[np.float64], baseline: npt.NDArray[np.float64], test: TestName
) -> tuple[float, float | None]:
    """One-sided p-value for "recent scores are lower", and P(recent > baseline) for MWU."""
    from scipy import stats

    if test == "mannwhitney":
        res = stats.mannwhitneyu(recent, baseline, alternative="less", method="asymptotic")
        prob = float(res.statistic) / (len(recent) * len(baseline))
        return float(res.pvalue), prob
    # KS "greater": the recent CDF lies above the baseline CDF, i.e. recent scores are lower.
    res = stats.ks_2samp(recent, baseline, alternative="greater", method="asymp")
    return float(res.pvalue), None


def _action(status: DriftStatus, drop: float | None, n_r: int, n_b: int, min_samples: int) -> str:
    if status == "insufficient_data":
        return (
            f"Keep logging: need at least {min_samples} scores in each period "
            f"(recent {n_r}, baseline {n_b})."
        )
    if status == "drift":
        return (
            f"Retrieval scores dropped by {drop:.3f}: run `ragops drift topics` to see what users "
            "ask that the corpus does not cover, and index documents for the top topics."
        )
    if status == "possible_drift":
        return (
            "Scores may be dropping but the evidence is not conclusive: re-check after more "
            "queries are logged and review `ragops drift topics`."
        )
    return "No action needed."


def compare_scores(
    recent: ScoreSample | npt.NDArray[np.float64],
    baseline: ScoreSample | npt.NDArray[np.float64],
    *,
    min_samples: int = 30,
    min_drop: float = 0.05,
    alpha: float = 0.05,
    test: str = "mannwhitney",
    confidence: float = 0.95,
) -> Verdict:
    """Compare recent scores with baseline scores and return the verdict (see module doc)."""
    from statistics import NormalDist

    validate_params(min_samples, min_drop, alpha, confidence)
    if test not in TESTS:
        raise RagopsError(f"unknown test {test!r}; choose one of {', '.join(TESTS)}", field="test")
    r = recent if isinstance(recent, ScoreSample) else sample_of(recent)
    b = baseline if isinstance(baseline, ScoreSample) else sample_of(baseline)
    n_r, n_b = r.n, b.n
    recent_avg, baseline_avg = r.mean, b.mean
    delta = recent_avg - baseline_avg
    drifting = bool(n_r and n_b and delta < -min_drop)
    ci_low = ci_high = p_value = math.nan
    prob: float | None = None
    if n_r >= 2 and n_b >= 2:
        se = math.sqrt(max(r.var, 0.0) / n_r + max(b.var, 0.0) / n_b)
        z = NormalDist().inv_cdf(0.5 + confidence / 2)
        ci_low, ci_high = delta - z * se, delta + z * se
    status: DriftStatus
    if n_r < min_samples or n_b < min_samples:
        status = "insufficient_data"
    else:
        p_value, prob = _p_value(r.values, b.values, cast("TestName", test))
        significant = p_value < alpha
        if drifting and significant:
            status = "drift"
        elif drifting or (significant and ci_low < -min_drop):
            status = "possible_drift"
        else:
            status = "no_drift"
    return {
        "status": status,
        "drifting": drifting,
        "recent_avg_score": _finite(recent_avg),
        "baseline_avg_score": _finite(baseline_avg),
        "delta": _finite(delta),
        "delta_ci_low": _finite(ci_low),
        "delta_ci_high": _finite(ci_high),
        "delta_ci": None if math.isnan(ci_low) else [ci_low, ci_high],
        "confidence": confidence,
        "p_value": _finite(p_value),
        "test": test,
        "prob_recent_higher": prob,
        "recent_count": n_r,
        "baseline_count": n_b,
        "min_samples": min_samples,
        "min_drop": min_drop,
        "alpha": alpha,
        "action": _action(status, None if math.isnan(delta) else -delta, n_r, n_b, min_samples),
    }
