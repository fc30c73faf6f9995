"""A/B reports: who got which arm of a flag, and whether the arms' metrics differ.

Each metric is compared with a two-sided Mann-Whitney U test (eval scores are bounded and
rarely normal) and the difference of means gets a Welch 95% confidence interval; 0/1
metrics get Fisher's exact test and a Newcombe interval instead. Missing values are counted
and tested, never dropped. scipy is imported only when a report is computed. Each metric
is tested on its own at ``alpha``; with many metrics, expect some false positives (no
multiple-comparison correction is applied).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from pytest_ragops.flags.store import FeatureFlags

__all__ = ["ABReport", "ArmStats", "MetricComparison", "ab_report", "assign_arms"]

#: Arm name of users the flag is off for.
CONTROL = "control"


def assign_arms(flags: FeatureFlags, flag: str, user_ids: Iterable[str]) -> dict[str, list[str]]:
    """Group users by arm: their variant (``"on"`` without variants) or ``"control"`` if off."""
    arms: dict[str, list[str]] = {}
    for user in user_ids:
        arms.setdefault(flags.variant(flag, user) or CONTROL, []).append(user)
    return dict(sorted(arms.items()))


@dataclass(frozen=True, slots=True)
class ArmStats:
    """Sample size, mean and standard deviation of one metric in one arm.

    ``n`` counts the finite values the statistics use; ``missing`` the ``None``, NaN and
    infinite ones, which are reported (and tested, see :func:`ab_report`), never dropped.
    """

    n: int
    mean: float | None
    stdev: float | None
    missing: int = 0


@dataclass(frozen=True, slots=True)
class MetricComparison:
    """Treatment vs control for one metric."""

    metric: str
    control: ArmStats
    treatment: ArmStats
    #: treatment mean - control mean.
    diff: float | None
    ci95: tuple[float, float] | None
    #: Two-sided p-value of the test named in ``test``.
    p_value: float | None
    #: The values differ (``p_value < alpha``) or the arms lose samples at different rates.
    significant: bool
    #: ``mann-whitney`` (continuous) or ``fisher-exact`` (0/1 values).
    test: str = "mann-whitney"
    #: Two-sided Fisher exact p-value of "both arms have the same share of missing samples";
    #: ``None`` when neither arm has a missing sample.
    missing_p_value: float | None = None
    #: One line on anything the numbers alone do not say (missing samples, no variation).
    note: str = ""


@dataclass(frozen=True, slots=True)
class ABReport:
    """The comparison of two arms over every metric they share."""

    control: str
    treatment: str
    alpha: float
    metrics: tuple[MetricComparison, ...]

    def render(self) -> str:
        """Plain-text table, one metric per row, for terminals and logs."""
        wa, wb = max(8, len(self.control) + 2), max(8, len(self.treatment) + 2)
        head = (
            f"{'metric':<20} {'n ' + self.control:>{wa}} {'mean':>8} "
            f"{'n ' + self.treatment:>{wb}} {'mean':>8} {'diff':>8} {'95% CI':>18} {'p':>9}  sig"
        )
        lines = [head, "-" * len(head)]
        for m in self.metrics:
            ci = f"[{m.ci95[0]:+.3f}, {m.ci95[1]:+.3f}]" if m.ci95 else "n/a"
            lines.append(
                f"{m.metric:<20} {m.control.n:>{wa}} {_f(m.control.mean):>8} "
                f"{m.treatment.n:>{wb}} {_f(m.treatment.mean):>8} {_f(m.diff, '+.3f'):>8} "
                f"{ci:>18} {_f(m.p_value, '.3g'):>9}  {'yes' if m.significant else 'no'}"
            )
        lines.extend(f"note: {m.metric}: {m.note}" for m in self.metrics if m.note)
        if all(m.test == "mann-whitney" for m in self.metrics):
            lines.append(f"two-sided Mann-Whitney U per metric, alpha={self.alpha:g}")
        else:
            lines.append(
                "two-sided per metric: Mann-Whitney U; 0/1 metrics: Fisher exact, Newcombe CI; "
                f"alpha={self.alpha:g}"
            )
        return "\n".join(lines)


def _f(value: float | None, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def _stats(values: Sequence[float], missing: int = 0) -> ArmStats:
    import statistics

    n = len(values)
    mean = statistics.fmean(values) if n else None
    return ArmStats(n, mean, statistics.stdev(values) if n > 1 else None, missing)


def _split(metric: str, arm: str, values: Sequence[float | None]) -> tuple[list[float], int]:
    """Return the finite values and how many were ``None``, NaN or infinite."""
    finite: list[float] = []
    missing = 0
    for i, value in enumerate(values):
        if value is None:
            missing += 1
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise RagopsError(
                f"value {i} is {value!r}, not a number (use 1.0/0.0 for success, None if missing)",
                field=f"{arm} metric {metric!r}",
            )
        number = float(value)
        if math.isfinite(number):
            finite.append(number)
        else:
            missing += 1
    return finite, missing


def ab_report(
    control: Mapping[str, Sequence[float | None]],
    treatment: Mapping[str, Sequence[float | None]],
    *,
    alpha: float = 0.05,
    names: tuple[str, str] = (CONTROL, "treatment"),
) -> ABReport:
    """Compare per-user metric values of two arms (metric name -> values per arm).

    Continuous values: two-sided Mann-Whitney U and a Welch 95% interval of the difference
    of means. 0/1 values (success, error): two-sided Fisher exact test and Newcombe's
    hybrid-score interval, which stays honest at rates of 0 or 1 (the Welch interval
    collapses to a point there). ``None``, NaN and infinite values are missing: counted
    per arm, and a Fisher exact test on the missing shares makes the row significant when
    one arm loses samples more often than the other.
    """
    if isinstance(alpha, bool) or not isinstance(alpha, int | float) or not 0.0 < alpha < 1.0:
        raise RagopsError(f"alpha {alpha!r} must be strictly between 0 and 1", field="alpha")
    from scipy import stats

    rows = []
    for metric in sorted(set(control) | set(treatment)):
        a, a_missing = _split(metric, names[0], control.get(metric, ()))
        b, b_missing = _split(metric, names[1], treatment.get(metric, ()))
        sa, sb = _stats(a, a_missing), _stats(b, b_missing)
        notes: list[str] = []
        missing_p: float | None = None
        if a_missing or b_missing:
            table = [[len(a), a_missing], [len(b), b_missing]]
            missing_p = float(stats.fisher_exact(table).pvalue)
            notes.append(
                f"missing {a_missing} of {len(a) + a_missing} in {names[0]}, {b_missing} of "
                f"{len(b) + b_missing} in {names[1]} (Fisher exact p={missing_p:.3g})"
            )
        missing_differs = missing_p is not None and missing_p < alpha
        binary = bool(a or b) and all(v in (0.0, 1.0) for v in a + b)
        test = "fisher-exact" if binary else "mann-whitney"
        if sa.n < 2 or sb.n < 2 or sa.mean is None or sb.mean is None:
            notes.append("fewer than 2 values in an arm: no test")
            rows.append(MetricComparison(
                metric, sa, sb, None, None, None, missing_differs, test, missing_p,
                "; ".join(notes),
            ))  # fmt: skip
            continue
        diff = sb.mean - sa.mean
        p: float | None = None
        if binary:
            xa, xb = round(sum(a)), round(sum(b))
            p = float(stats.fisher_exact([[xa, sa.n - xa], [xb, sb.n - xb]]).pvalue)
            ci: tuple[float, float] | None = _newcombe_ci(xa, sa.n, xb, sb.n, stats)
        else:
            ci = _welch_ci(a, b, diff, stats)
            if ci is None:
                notes.append("no variation in either arm: no interval")
            if len(set(a) | set(b)) > 1:  # all-equal samples have no rank information
                p = float(stats.mannwhitneyu(b, a, alternative="two-sided").pvalue)
        significant = (p is not None and p < alpha) or missing_differs
        rows.append(
            MetricComparison(
                metric, sa, sb, diff, ci, p, significant, test, missing_p, "; ".join(notes)
            )
        )
    return ABReport(names[0], names[1], alpha, tuple(rows))


def _newcombe_ci(xa: int, na: int, xb: int, nb: int, stats: Any) -> tuple[float, float]:
    """Newcombe's hybrid score 95% interval of ``pb - pa`` from the arms' Wilson intervals."""
    pa, pb = xa / na, xb / nb
    la, ua = stats.binomtest(xa, na).proportion_ci(0.95, method="wilson")
    lb, ub = stats.binomtest(xb, nb).proportion_ci(0.95, method="wilson")
    diff = pb - pa
    low = diff - math.sqrt((pb - lb) ** 2 + (ua - pa) ** 2)
    high = diff + math.sqrt((ub - pb) ** 2 + (pa - la) ** 2)
    return (max(-1.0, low), min(1.0, high))


def _welch_ci(
    a: Sequence[float], b: Sequence[float], diff: float, stats: Any
) -> tuple[float, float] | None:
    import statistics

    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0.0:
        return None  # a zero-width interval would claim certainty that two samples lack
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = float(stats.t.ppf(0.975, dof))
    return (diff - t * se, diff + t * se)
