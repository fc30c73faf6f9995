"""The drift verdict from per-period aggregates: count, sums and a fixed-bin histogram.

A check never loads scores. The database returns, for each period, ``COUNT``, ``SUM``, the
sum of squares and the count of scores in each of ``bins`` equal-width bins of the score
range (1,000 by default); everything here is computed from those numbers, so memory and
Python time are independent of the number of logged rows.

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
(``recent_avg < baseline_avg - min_drop``, no test) for code written against the classic API.

Exactness: counts, means, variances and the interval (Welch's normal approximation,
``delta ± z·sqrt(s_r²/n_r + s_b²/n_b)``) are exact up to floating-point summation. The rank
tests are exact *for the binned scores*: Mann-Whitney U counts a pair of scores in the same
bin as a tie (half a win), with the usual tie correction of the variance over bins, and KS
evaluates both CDFs at the bin edges. Against the same test on the raw scores, only pairs
within one bin (width 0.001 of the range) can differ; the measured p-value tolerance is in
``docs/drift.md`` and ``tests/unit/drift/test_stats.py``.
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
    "DEFAULT_BINS",
    "TESTS",
    "PeriodStats",
    "bin_index",
    "compare_scores",
    "ks_greater",
    "mann_whitney_less",
    "validate_params",
]

#: Two-sample tests ``compare_scores`` accepts.
TESTS = ("mannwhitney", "ks")
TestName = Literal["mannwhitney", "ks"]
#: Bins of the score range the database counts scores into.
DEFAULT_BINS = 1000


class PeriodStats(NamedTuple):
    """One period's aggregates, as the database returns them."""

    n: int
    #: Sum of the scores.
    total: float
    #: Sum of the squared scores.
    total_sq: float
    #: Scores per bin, lowest bin first (length = number of bins).
    counts: tuple[int, ...]

    @property
    def mean(self) -> float:
        return self.total / self.n if self.n else math.nan

    @property
    def var(self) -> float:
        """Sample variance (ddof=1) from the two sums; NaN below two scores."""
        if self.n < 2:
            return math.nan
        # Scores live in a bounded range, so sum(x²) - sum(x)²/n loses at most a couple of
        # digits to cancellation (checked against numpy in the tests).
        return max(self.total_sq - self.total * self.total / self.n, 0.0) / (self.n - 1)

    @classmethod
    def from_scores(
        cls,
        values: npt.ArrayLike,
        *,
        bins: int = DEFAULT_BINS,
        score_range: tuple[float, float] = (0.0, 1.0),
    ) -> PeriodStats:
        """Aggregate an in-memory array exactly as the stores aggregate rows."""
        import numpy as np

        arr = np.asarray(values, dtype=np.float64).ravel()
        idx = bin_index(arr, bins, score_range)
        if idx.size and (idx.min() < 0 or idx.max() >= bins):
            raise RagopsError(f"scores outside the score range {score_range}", field="scores")
        counts = np.bincount(idx, minlength=bins) if idx.size else np.zeros(bins, np.int64)
        return cls(
            int(arr.size),
            math.fsum(arr.tolist()),
            math.fsum((arr * arr).tolist()),
            tuple(int(c) for c in counts),
        )


def bin_index(
    values: npt.NDArray[np.float64], bins: int, score_range: tuple[float, float]
) -> npt.NDArray[np.int64]:
    """The bin of each score: ``floor((x - low) * bins / (high - low))``, ``high`` in the top bin.

    The stores compute the same expression in SQL, so in-memory and database histograms agree.
    """
    import numpy as np

    low, high = score_range
    idx = np.floor((values - low) * (bins / (high - low))).astype(np.int64)
    return np.where(idx == bins, bins - 1, idx)


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


def mann_whitney_less(recent: tuple[int, ...], baseline: tuple[int, ...]) -> tuple[float, float]:
    """One-sided Mann-Whitney U on binned counts: (p for "recent is lower", U / (n_r·n_b)).

    The same normal approximation, continuity and tie correction as
    ``scipy.stats.mannwhitneyu(recent, baseline, alternative="less", method="asymptotic")``
    applied to the bins' values (each bin is one tie group).
    """
    from scipy.special import ndtr

    n1, n2 = sum(recent), sum(baseline)
    below = 0  # baseline scores in lower bins
    u1 = 0.0
    ties = 0.0
    for r, b in zip(recent, baseline, strict=True):
        u1 += r * (below + 0.5 * b)
        below += b
        t = r + b
        ties += float(t) ** 3 - t
    n = n1 + n2
    u2 = n1 * n2 - u1
    var = n1 * n2 / 12 * ((n + 1) - ties / (n * (n - 1)))
    if var <= 0:  # every score in one bin: no evidence either way
        return 1.0, u1 / (n1 * n2)
    z = (u2 - n1 * n2 / 2 - 0.5) / math.sqrt(var)
    return float(ndtr(-z)), u1 / (n1 * n2)


def ks_greater(recent: tuple[int, ...], baseline: tuple[int, ...]) -> float:
    """One-sided two-sample KS p-value for "recent CDF above baseline" (recent lower).

    The statistic is evaluated at the bin edges; the p-value is scipy's asymptotic one
    (Hodges' approximation, as ``ks_2samp(..., alternative="greater", method="asymp")``).
    """
    n1, n2 = sum(recent), sum(baseline)
    cr = cb = 0
    d = 0.0
    for r, b in zip(recent, baseline, strict=True):
        cr += r
        cb += b
        d = max(d, cr / n1 - cb / n2)
    m, n = sorted((float(n1), float(n2)), reverse=True)
    z = math.sqrt(m * n / (m + n)) * d
    expt = -2 * z**2 - 2 * z * (m + 2 * n) / math.sqrt(m * n * (m + n)) / 3.0
    return min(max(math.exp(expt), 0.0), 1.0)


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
    recent: PeriodStats | npt.ArrayLike,
    baseline: PeriodStats | npt.ArrayLike,
    *,
    min_samples: int = 30,
    min_drop: float = 0.05,
    alpha: float = 0.05,
    test: str = "mannwhitney",
    confidence: float = 0.95,
) -> Verdict:
    """Compare recent with baseline aggregates (or score arrays) and return the verdict."""
    from statistics import NormalDist

    validate_params(min_samples, min_drop, alpha, confidence)
    if test not in TESTS:
        raise RagopsError(f"unknown test {test!r}; choose one of {', '.join(TESTS)}", field="test")
    r = recent if isinstance(recent, PeriodStats) else PeriodStats.from_scores(recent)
    b = baseline if isinstance(baseline, PeriodStats) else PeriodStats.from_scores(baseline)
    if len(r.counts) != len(b.counts):
        raise RagopsError("the two periods were binned differently", field="bins")
    n_r, n_b = r.n, b.n
    recent_avg, baseline_avg = r.mean, b.mean
    delta = recent_avg - baseline_avg
    drifting = bool(n_r and n_b and delta < -min_drop)
    ci_low = ci_high = p_value = math.nan
    prob: float | None = None
    if n_r >= 2 and n_b >= 2:
        se = math.sqrt(r.var / n_r + b.var / n_b)
        z = NormalDist().inv_cdf(0.5 + confidence / 2)
        ci_low, ci_high = delta - z * se, delta + z * se
    status: DriftStatus
    if n_r < min_samples or n_b < min_samples:
        status = "insufficient_data"
    else:
        if cast("TestName", test) == "mannwhitney":
            p_value, prob = mann_whitney_less(r.counts, b.counts)
        else:
            p_value = ks_greater(r.counts, b.counts)
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
