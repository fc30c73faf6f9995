"""PNG chart of the daily mean retrieval score against the baseline band.

The band is the baseline mean ± ``min_drop``: a recent day below it is a day the classic
rule would call drifting. Uses matplotlib's Agg canvas directly (no pyplot, no display,
no global backend switch), imported only when a plot is drawn.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from datetime import datetime

    from pytest_ragops.drift.log import RetrievalLog

__all__ = ["plot_drift"]


def plot_drift(
    log: RetrievalLog,
    output: str | os.PathLike[str],
    *,
    window_days: float = 7,
    baseline_days: float = 30,
    now: datetime | None = None,
    min_drop: float = 0.05,
) -> str:
    """Write the chart to ``output`` (PNG) and return its path."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from pytest_ragops.drift.log import Periods

    days = log.daily_means(window_days, baseline_days, now)
    if not days:
        raise RagopsError(
            "no logged queries in the recent window or the baseline; nothing to plot",
            path=log.location,
        )
    check = log.check_drift(window_days, baseline_days, now, min_samples=2, min_drop=min_drop)
    periods = Periods(window_days, baseline_days, now)
    recent_start = periods.now.timestamp() - periods.window_days * 86400.0
    fig = Figure(figsize=(9, 4), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot()
    xs = [d.timestamp() / 86400.0 + 0.5 for d, _, _ in days]  # matplotlib date numbers
    ax.plot(xs, [m for _, m, _ in days], marker="o", color="tab:blue", label="daily mean score")
    baseline = check["baseline_avg_score"]
    if baseline is not None:
        ax.axhline(baseline, color="tab:green", linestyle="--", label="baseline mean")
        ax.axhspan(
            baseline - min_drop,
            baseline + min_drop,
            color="tab:green",
            alpha=0.15,
            label=f"baseline ± {min_drop:g}",
        )
    ax.axvline(
        recent_start / 86400.0,
        color="tab:red",
        linestyle=":",
        label="recent window starts",
    )
    ax.xaxis_date(tz="UTC")
    fig.autofmt_xdate()
    ax.set_ylabel("top retrieval score")
    ax.set_title(f"Retrieval score drift: {check['status']}")
    ax.legend(loc="lower left", fontsize="small")
    fig.tight_layout()
    path = os.fspath(output)
    try:
        fig.savefig(path, format="png")
    except OSError as exc:
        raise RagopsError(f"cannot write the plot: {exc.strerror}", path=path) from exc
    return path
