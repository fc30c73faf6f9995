"""A/B reports: who got which arm of a flag, and whether the arms' metrics differ.

Each metric is compared with a two-sided Mann-Whitney U test (eval scores are bounded and
rarely normal) and the difference of means gets a Welch 95% confidence interval. scipy is
imported only when a report is computed. Each metric is tested on its own at ``alpha``; with
many metrics, expect some false positives (no multiple-comparison correction is applied).
"""

from __future__ import annotations

import math
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
    """Sample size, mean and standard deviation of one metric in one arm."""

    n: int
    mean: float | None
    stdev: float | None


@dataclass(frozen=True, slots=True)
class MetricComparison:
    """Treatment vs control for one metric."""

    metric: str
    control: ArmStats
    treatment: ArmStats
    #: treatment mean - control mean.
    diff: float | None
    ci95: tuple[float, float] | None
    #: Two-sided Mann-Whitney U p-value.
    p_value: float | None
    significant: bool


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
        lines.append(f"two-sided Mann-Whitney U per metric, alpha={self.alpha:g}")
        return "\n".join(lines)


def _f(value: float | None, spec: str = ".3f") -> str:
    return "n/a" if value is None else format(value, spec)


def _stats(values: Sequence[float]) -> ArmStats:
    import statistics

    n = len(values)
    mean = statistics.fmean(values) if n else None
    return ArmStats(n, mean, statistics.stdev(values) if n > 1 else None)


def ab_report(
    control: Mapping[str, Sequence[float]],
    treatment: Mapping[str, Sequence[float]],
    *,
    alpha: float = 0.05,
    names: tuple[str, str] = (CONTROL, "treatment"),
) -> ABReport:
    """Compare per-user metric values of two arms (metric name -> values per arm)."""
    if not 0.0 < alpha < 1.0:
        raise RagopsError(f"alpha {alpha!r} must be strictly between 0 and 1", field="alpha")
    from scipy import stats

    rows = []
    for metric in sorted(set(control) | set(treatment)):
        a = [float(v) for v in control.get(metric, ()) if not math.isnan(float(v))]
        b = [float(v) for v in treatment.get(metric, ()) if not math.isnan(float(v))]
        sa, sb = _stats(a), _stats(b)
        if sa.n < 2 or sb.n < 2 or sa.mean is None or sb.mean is None:
            rows.append(MetricComparison(metric, sa, sb, None, None, None, False))
            continue
        diff = sb.mean - sa.mean
        ci = _welch_ci(a, b, diff, stats)
        p: float | None = None
        if len(set(a) | set(b)) > 1:  # all-equal samples have no rank information
            p = float(stats.mannwhitneyu(b, a, alternative="two-sided").pvalue)
        rows.append(MetricComparison(metric, sa, sb, diff, ci, p, p is not None and p < alpha))
    return ABReport(names[0], names[1], alpha, tuple(rows))


def _welch_ci(
    a: Sequence[float], b: Sequence[float], diff: float, stats: Any
) -> tuple[float, float] | None:
    import statistics

    va, vb = statistics.variance(a) / len(a), statistics.variance(b) / len(b)
    se = math.sqrt(va + vb)
    if se == 0.0:
        return (diff, diff)
    dof = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    t = float(stats.t.ppf(0.975, dof))
    return (diff - t * se, diff + t * se)
