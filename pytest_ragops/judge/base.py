"""The judge protocol: what every scorer (offline, Anthropic, ragas, cache) provides.

A judge turns one :class:`Sample` into :class:`Score` objects, one per metric it
knows. A score it could not produce is returned with ``value=None`` and ``error`` set,
never dropped and never replaced by a default: gates treat a missing score as a failure.

Judges are async first (:class:`Judge`); cheap local judges may be sync
(:class:`SyncJudge`) and are adapted by the engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["QUALITY_METRICS", "Judge", "Sample", "Score", "SyncJudge"]

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
    #: The case's id, for error messages (a replay-mode cache miss names it).
    case_id: str | None = None
    #: Repeat index under ``--ragops-judge-repeats`` (part of cache keys).
    repeat: int = 0


@dataclass(frozen=True, slots=True)
class Score:
    """One metric's score for one sample, labelled with the judge that made it."""

    metric: str
    #: In [0, 1]; ``None`` when the judge could not score (see ``error``).
    value: float | None
    #: Who scored: ``offline:<method>``, ``anthropic:<model>:<prompt>``, ``ragas:<metric>``.
    judge: str
    #: Why there is no value (judge error, missing reference, ...).
    error: str | None = None
    #: Why this value (unsupported claims, the judge's reason, ...).
    rationale: str | None = None
    #: False: the metric does not apply to this sample (e.g. it needs a reference).
    applicable: bool = True
    #: What producing this score cost in USD (LLM judges); None for free judges.
    cost_usd: float | None = None
    #: Token usage of the judge call(s) behind this score.
    usage: Mapping[str, int] | None = None
    #: Served from the judge cache.
    cached: bool = False


@runtime_checkable
class Judge(Protocol):
    """An async scorer; the engine calls :meth:`ascore` once per (sample, metric)."""

    #: Short label of the judge family, e.g. ``anthropic:claude-...``.
    name: str

    async def ascore(self, sample: Sample, metrics: tuple[str, ...]) -> list[Score]:
        """Return one :class:`Score` per requested metric, in the order asked."""
        ...

    async def aclose(self) -> None:
        """Release clients and files; called once at session end on the session loop."""
        ...


@runtime_checkable
class SyncJudge(Protocol):
    """A sync scorer (e.g. the offline judge). Implementations must be thread-safe."""

    #: Short label of the judge family, e.g. ``offline``.
    name: str

    def score(self, sample: Sample, metrics: tuple[str, ...] = QUALITY_METRICS) -> list[Score]:
        """Return one :class:`Score` per requested metric, in the order asked."""
        ...
