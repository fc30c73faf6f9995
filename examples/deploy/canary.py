"""Per-colour samples from nginx's access log, for the canary verdict.

nginx logs every request as one JSON line (see :mod:`deploy.nginx`): the colour it was
routed to, its status, upstream time and the service's ``X-Retrieval-Score``. Reading
the log measures what users actually got, including failures the service never saw
(refused connections are 502s here).
"""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING, Final

from pytest_ragops.flags import CanaryJudge, MetricRule

if TYPE_CHECKING:
    from pathlib import Path

__all__ = ["METRICS", "Samples", "make_judge", "read_samples"]

METRICS: Final = ("error_rate", "latency_s", "retrieval_score")
Samples = dict[str, dict[str, list[float]]]


def read_samples(access_log: Path, since: float, until: float | None = None) -> Samples:
    """``{colour: {metric: values}}`` for requests logged in ``[since, until)`` (epoch s).

    ``error_rate`` holds 1.0 per failed request (5xx) and 0.0 per other; latency and
    retrieval score only come from answered requests.
    """
    out: Samples = {}
    try:
        lines = access_log.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return out
    for line in lines:
        try:
            entry = json.loads(line)
            t = float(entry["t"])
            status = int(entry["status"])
        except (ValueError, KeyError, TypeError):
            continue
        if t < since or (until is not None and t >= until):
            continue
        metrics = out.setdefault(str(entry.get("color", "")), {m: [] for m in METRICS})
        metrics["error_rate"].append(1.0 if status >= 500 else 0.0)
        if status != 200:
            continue
        rt = _last_number(str(entry.get("rt", "")))
        if rt is not None:
            metrics["latency_s"].append(rt)
        score = _last_number(str(entry.get("score", "")))
        if score is not None:
            metrics["retrieval_score"].append(score)
    return out


def _last_number(text: str) -> float | None:
    """nginx lists one value per upstream tried ("0.004, 0.002"); the last one answered."""
    part = text.replace(":", ",").split(",")[-1].strip()
    try:
        value = float(part)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def make_judge(
    *,
    error_tolerance: float = 0.02,
    latency_tolerance: float = 0.5,
    score_tolerance: float = 0.05,
    min_samples: int = 100,
) -> CanaryJudge:
    """The deploy's verdict: errors critical (absolute band), latency relative, score absolute."""
    return CanaryJudge(
        {
            "error_rate": MetricRule(
                higher_is_better=False, tolerance=error_tolerance, relative=False, critical=True
            ),
            "latency_s": MetricRule(higher_is_better=False, tolerance=latency_tolerance),
            "retrieval_score": MetricRule(tolerance=score_tolerance, relative=False),
        },
        min_samples=min_samples,
    )
