"""The judge protocol: what every scorer (offline, Anthropic, ragas, cache) provides.

A judge turns one :class:`Sample` into :class:`Score` objects, one per metric it
knows. A score it could not produce is returned with ``value=None`` and ``error`` set,
never dropped and never replaced by a default: gates treat a missing score as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

__all__ = ["QUALITY_METRICS", "Judge", "Sample", "Score"]

#: Metrics a judge may produce; all in [0, 1], higher is better.
QUALITY_METRICS: tuple[str, ...] = (
    "faithfulness",
    "answer_relevancy",
    "context_precision",
    "context_recall",
)


@dataclass(frozen=True, slots=True)
class Sample:
    """One answered question, as a judge sees it."""

    question: str
    answer: str
    contexts: tuple[str, ...]
    #: Reference (golden) answer, when the case has one.
    reference: str | None = None
    #: Passages a correct retrieval should return, when the case lists them.
    reference_contexts: tuple[str, ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True)
class Score:
    """One metric's score for one sample, labelled with the judge that made it."""

    metric: str
    #: In [0, 1]; ``None`` when the judge could not score (see ``error``).
    value: float | None
    #: Who scored: ``offline:<method>``, ``anthropic:<model>``, ``ragas:<metric>``.
    judge: str
    #: Why there is no value (judge error, missing reference, ...).
    error: str | None = None
    rationale: str | None = None  # why this value (unsupported claims, rule that failed ...)


@runtime_checkable
class Judge(Protocol):
    """Anything that scores samples. Implementations must be thread-safe."""

    #: Short label of the judge family, e.g. ``offline`` or ``anthropic:claude-...``.
    name: str

    def score(self, sample: Sample, metrics: tuple[str, ...] = QUALITY_METRICS) -> list[Score]:
        """Return one :class:`Score` per requested metric, in the order asked."""
        ...
