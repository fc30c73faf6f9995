"""Judge self-consistency under ``--ragops-judge-repeats=N``: each metric's spread per case.

The engine scores every case N times (``Sample.repeat`` = 0..N-1, so each repeat is a real
call, never a cache hit of repeat 0) and hands the values here. A metric is flagged when, on
any case, its repeats span more than :data:`MAX_SPREAD` (0.2 on the [0, 1] scale: a judge
that moves a case from 0.7 to 0.9 between identical calls cannot hold a gate at 0.8).
Missing values (judge errors) are counted, never averaged in.
"""

from __future__ import annotations

import statistics
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["MAX_SPREAD", "repeat_spread"]

#: Largest max-min of one case's repeated scores before the metric is flagged.
MAX_SPREAD: Final = 0.2


def repeat_spread(
    values: Mapping[str, Mapping[str, Sequence[float | None]]], bound: float = MAX_SPREAD
) -> dict[str, dict[str, Any]]:
    """Per metric: mean per-case std-dev and range, the worst case, and whether it is flagged.

    :param values: ``{metric: {case_id: [value of repeat 0, repeat 1, ...]}}``.
    """
    out: dict[str, dict[str, Any]] = {}
    for metric, cases in sorted(values.items()):
        stds: list[float] = []
        ranges: list[tuple[float, str]] = []
        missing = 0
        for case, repeats in cases.items():
            got = [v for v in repeats if v is not None]
            missing += len(repeats) - len(got)
            if len(got) >= 2:
                stds.append(statistics.pstdev(got))
                ranges.append((max(got) - min(got), case))
        worst = max(ranges, default=None)
        out[metric] = {
            "cases": len(ranges),
            "mean_std": statistics.fmean(stds) if stds else None,
            "max_range": worst[0] if worst else None,
            "worst_case": worst[1] if worst else None,
            "missing_values": missing,
            "bound": bound,
            "flagged": bool(worst and worst[0] > bound),
        }
    return out
