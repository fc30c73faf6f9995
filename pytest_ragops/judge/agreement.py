"""Agreement of a judge with human labels: AUC, accuracy, Cohen's κ and Spearman ρ.

Pure functions over (label, score) pairs, so the CLI (``ragops judge agreement``) only
scores and prints. Every figure comes with a seeded percentile-bootstrap interval from
:func:`scipy.stats.bootstrap`, so two runs print the same numbers.

A label is *positive* when it is at least 0.5; a score is a positive verdict when it is
at least the gate threshold. A score the judge could not produce (``value=None``) fails
closed: it counts as a wrong verdict for accuracy and κ, is left out of AUC and ρ (which
need a value), and is listed as an error.
"""

from __future__ import annotations

import math
import warnings
from collections import defaultdict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import numpy as np
    from numpy.typing import NDArray

    from pytest_ragops.judge.base import Score
    from pytest_ragops.judge.labels import LabelledItem

__all__ = ["DEFAULT_THRESHOLDS", "STATISTICS", "Pair", "agreement", "pairs_of", "summarize"]

#: Per-sample verdict thresholds used when ``--threshold`` is not given; documented
#: in docs/offline-judge.md (chosen on the tune split only). Faithfulness 1.0 is the
#: labels' own definition (one unsupported claim makes an answer unfaithful); 0.8 let a
#: five-claim answer with one wrong claim pass.
DEFAULT_THRESHOLDS: Final[Mapping[str, float]] = {
    "faithfulness": 1.0,
    "answer_relevancy": 0.35,
    "context_precision": 0.5,
    "context_recall": 0.5,
}
#: The statistics reported for each metric, in print order.
STATISTICS: Final = ("auc", "accuracy", "kappa", "spearman")
_RESAMPLES: Final = 2000
_CONFIDENCE: Final = 0.95


@dataclass(frozen=True, slots=True)
class Pair:
    """One item's human label and the judge's score for one metric."""

    item_id: str
    kind: str
    split: str
    label: float
    score: float | None
    error: str | None = None
    rationale: str | None = None


def pairs_of(
    items: Sequence[LabelledItem], scores: Sequence[Sequence[Score]]
) -> dict[str, list[Pair]]:
    """Pair each item's labels with the judge's scores, by metric."""
    by_metric: dict[str, list[Pair]] = defaultdict(list)
    for item, item_scores in zip(items, scores, strict=True):
        got = {s.metric: s for s in item_scores}
        for metric, label in item.labels.items():
            score = got.get(metric)
            value = None if score is None else score.value
            error = "judge returned no score" if score is None else score.error
            if value is not None and not (math.isfinite(value) and 0.0 <= value <= 1.0):
                value, error = None, f"score {value!r} is not in [0, 1]"
            by_metric[metric].append(
                Pair(
                    item_id=item.id,
                    kind=item.kind,
                    split=item.split,
                    label=label,
                    score=value,
                    error=error if value is None else None,
                    rationale=getattr(score, "rationale", None),
                )
            )
    return dict(by_metric)


def agreement(pairs: Sequence[Pair], threshold: float, *, seed: int = 0) -> dict[str, Any]:
    """AUC, accuracy, κ and ρ of ``pairs`` at ``threshold``, each ``{value, low, high}``."""
    import numpy as np

    scored = [p for p in pairs if p.score is not None]
    labels = np.array([p.label >= 0.5 for p in pairs], dtype=float)
    # Fail closed: a missing score is the wrong verdict.
    verdicts = np.array(
        [(p.score >= threshold) if p.score is not None else (p.label < 0.5) for p in pairs],
        dtype=float,
    )
    s_labels = np.array([p.label for p in scored], dtype=float)
    s_scores = np.array([p.score for p in scored], dtype=float)
    result: dict[str, Any] = {
        "n": len(pairs),
        "errors": len(pairs) - len(scored),
        "positives": int(labels.sum()),
        "threshold": threshold,
    }
    result["auc"] = _interval(_auc, (s_labels >= 0.5).astype(float), s_scores, seed)
    result["accuracy"] = _interval(_accuracy, labels, verdicts, seed)
    result["kappa"] = _interval(_kappa, labels, verdicts, seed)
    result["spearman"] = _interval(_spearman, s_labels, s_scores, seed)
    return result


def summarize(
    by_metric: Mapping[str, Sequence[Pair]],
    thresholds: Mapping[str, float],
    splits: Sequence[str],
    *,
    seed: int = 0,
) -> dict[str, Any]:
    """Per split and metric: :func:`agreement`; per kind and metric: accuracy and mean score."""
    per_split: dict[str, dict[str, Any]] = {}
    for split in splits:
        per_split[split] = {}
        for metric, pairs in by_metric.items():
            chosen = [p for p in pairs if split == "all" or p.split == split]
            if chosen:
                per_split[split][metric] = agreement(chosen, thresholds[metric], seed=seed)
    kinds: dict[str, dict[str, Any]] = defaultdict(dict)
    chosen_splits = set(splits)
    for metric, pairs in by_metric.items():
        grouped: dict[str, list[Pair]] = defaultdict(list)
        for p in pairs:
            if "all" in chosen_splits or p.split in chosen_splits:
                grouped[p.kind].append(p)
        for kind, group in grouped.items():
            correct = sum(_correct(p, thresholds[metric]) for p in group)
            values = [p.score for p in group if p.score is not None]
            kinds[kind][metric] = {
                "n": len(group),
                "correct": correct,
                "accuracy": correct / len(group),
                "mean_score": sum(values) / len(values) if values else None,
                "mean_label": sum(p.label for p in group) / len(group),
            }
    errors = [
        {"id": p.item_id, "metric": metric, "error": p.error}
        for metric, pairs in by_metric.items()
        for p in pairs
        if p.score is None
    ]
    return {"splits": per_split, "kinds": dict(sorted(kinds.items())), "errors": errors}


def _correct(pair: Pair, threshold: float) -> bool:
    return pair.score is not None and (pair.score >= threshold) == (pair.label >= 0.5)


def _interval(stat: Any, a: NDArray[np.float64], b: NDArray[np.float64], seed: int) -> Any:
    """``{value, low, high}`` of ``stat(a, b)`` with a paired, seeded bootstrap interval.

    ``value`` is ``None`` when the statistic is undefined (one class only, constant
    scores); resamples where it is undefined are left out of the interval.
    """
    import numpy as np
    from scipy import stats

    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        value = float(stat(a, b, axis=-1)) if len(a) else math.nan
        if math.isnan(value) or len(a) < 2:
            return {"value": None if math.isnan(value) else value, "low": None, "high": None}
        res = stats.bootstrap(
            (a, b),
            stat,
            paired=True,
            vectorized=True,
            n_resamples=_RESAMPLES,
            method="percentile",
            rng=np.random.default_rng(seed),
        )
        dist = np.asarray(res.bootstrap_distribution, dtype=float)
        dist = dist[~np.isnan(dist)]
    if not len(dist):
        return {"value": value, "low": None, "high": None}
    tail = (1 - _CONFIDENCE) / 2 * 100
    low, high = np.percentile(dist, [tail, 100 - tail])
    return {"value": value, "low": float(low), "high": float(high)}


# Vectorised statistics: each takes arrays whose last axis is the sample (scipy's
# bootstrap passes a batch of resamples at once) and returns NaN where undefined.


def _auc(labels: NDArray[np.float64], scores: NDArray[np.float64], axis: int = -1) -> Any:
    """Area under the ROC curve = Mann-Whitney U / (n₊ · n₋), ties counted half."""
    from scipy.stats import rankdata

    ranks = rankdata(scores, axis=axis)
    n_pos = labels.sum(axis=axis)
    n_neg = labels.shape[axis] - n_pos
    u = (ranks * labels).sum(axis=axis) - n_pos * (n_pos + 1) / 2
    return u / (n_pos * n_neg)


def _accuracy(labels: NDArray[np.float64], verdicts: NDArray[np.float64], axis: int = -1) -> Any:
    return (labels == verdicts).mean(axis=axis)


def _kappa(labels: NDArray[np.float64], verdicts: NDArray[np.float64], axis: int = -1) -> Any:
    """Cohen's κ of two binary raters: (p_o − p_e) / (1 − p_e)."""
    observed = (labels == verdicts).mean(axis=axis)
    p_label, p_verdict = labels.mean(axis=axis), verdicts.mean(axis=axis)
    expected = p_label * p_verdict + (1 - p_label) * (1 - p_verdict)
    return (observed - expected) / (1 - expected)


def _spearman(labels: NDArray[np.float64], scores: NDArray[np.float64], axis: int = -1) -> Any:
    """Spearman's ρ: Pearson's r of the ranks (ties get their mean rank)."""
    import numpy as np
    from scipy.stats import rankdata

    ra = rankdata(labels, axis=axis)
    rb = rankdata(scores, axis=axis)
    ra = ra - ra.mean(axis=axis, keepdims=True)
    rb = rb - rb.mean(axis=axis, keepdims=True)
    return (ra * rb).sum(axis=axis) / np.sqrt((ra * ra).sum(axis=axis) * (rb * rb).sum(axis=axis))
