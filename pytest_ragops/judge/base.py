"""The judge protocol: what every scorer (offline, Anthropic, ragas, cache) provides.

A judge turns one :class:`Sample` into :class:`Score` objects, one per metric asked
for. The protocol is async first (:class:`Judge`): LLM judges spend their time waiting
on the network, and one event loop per session can keep many calls in flight. Cheap
local judges may stay synchronous (:class:`SyncJudge`); the eval session adapts them
onto its thread pool. A score a judge could not produce is returned with
``value=None`` and ``error`` set, never dropped and never replaced by a default: gates
treat a missing score as a failure.
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
    #: The golden case's id, so a judge's errors (a cache miss in replay) can name it.
    case_id: str | None = None
    #: Which repeat this is (``--ragops-judge-repeats``); part of cache keys.
    repeat: int = 0


@dataclass(frozen=True, slots=True)
class Score:
    """One metric's score for one sample, labelled with the judge that made it."""

    metric: str
    #: In [0, 1]; ``None`` when the judge could not score (see ``error``).
    value: float | None
    #: Who scored: ``offline:<method>``, ``anthropic:<model>:<prompt version>``, ``ragas:<metric>``.
    judge: str
    #: Why there is no value (judge error, missing reference, budget, ...).
    error: str | None = None
    #: Why this value: unsupported claims, the rule that failed, the judge's reasoning.
    rationale: str | None = None
    #: False when the metric does not apply to the sample (it needs a reference the case
    #: lacks): recorded as not applicable, neither a failure of the judge nor a 0.
    applicable: bool = True
    #: What producing this score cost in USD (LLM judges); None for free judges.
    cost_usd: float | None = None
    #: Token usage of the judge call(s) behind this score.
    usage: Mapping[str, int] | None = None
    #: Served from the judge cache rather than a new call.
    cached: bool = False


@runtime_checkable
class Judge(Protocol):
    """An async judge. Built once per session, closed with :meth:`aclose` at its end.

    The session calls :meth:`ascore` once per (sample, metric) and holds one slot of
    the session-wide concurrency limit for the call, so an implementation must make
    its remote calls one after another inside a call (retries included). A judge with
    ``scores_together = True`` is called once per sample with all metrics instead.
    """

    #: Short label of the judge family, e.g. ``offline`` or ``anthropic:claude-...``.
    name: str

    async def ascore(self, sample: Sample, metrics: tuple[str, ...]) -> list[Score]:
        """Return one :class:`Score` per requested metric, in the order asked."""
        ...

    async def aclose(self) -> None:
        """Release clients and connections; called once, on the session's loop."""
        ...


@runtime_checkable
class SyncJudge(Protocol):
    """A synchronous judge (the offline one); the session runs it on its thread pool.

    Implementations must be thread-safe.
    """

    name: str

    def score(self, sample: Sample, metrics: tuple[str, ...] = QUALITY_METRICS) -> list[Score]:
        """Return one :class:`Score` per requested metric, in the order asked."""
        ...
