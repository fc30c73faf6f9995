"""The Anthropic judge: Claude scores the four quality metrics with structured verdicts.

* ``faithfulness``: Claude lists the answer's claims, then checks each against the
  contexts; the score is the share supported, the unsupported claims are the rationale.
* ``answer_relevancy``: how fully the answer addresses the question (fully 1.0, mostly
  0.75, partly 0.5, barely 0.25, not at all 0; an evasive answer scores 0).
* ``context_precision``: each retrieved passage judged useful or not for the target
  answer (the reference if the case has one, else the answer); the score is the average
  precision over the ranks, so useful passages ranked low cost more.
* ``context_recall``: the reference answer's statements, each found in the contexts or
  not; the score is the share found. Needs a reference: without one it is not applicable.

Every request goes through :class:`~pytest_ragops.judge.messages.MessagesCaller` (bounded
retries, strict validation, usage and cost per response). A judgement that never
validates is a score with ``value=None`` and the reason — never a number.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from pytest_ragops.judge.anthropic_prompts import (
    PROMPT_VERSIONS,
    SYSTEM,
    Claims,
    ClaimVerdicts,
    ContextVerdicts,
    ReferenceVerdicts,
    Relevance,
    render,
)
from pytest_ragops.judge.base import QUALITY_METRICS, Sample, Score
from pytest_ragops.judge.messages import (
    JudgementError,
    JudgeStats,
    MessagesCaller,
    RetryPolicy,
    Tally,
    make_client,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

__all__ = ["DEFAULT_MODEL", "ESTIMATED_USAGE", "NEEDS_REFERENCE", "AnthropicJudge"]

#: Current, not deprecated in the installed SDK (anthropic 2.15's DEPRECATED_MODELS lists
#: only opus-4-5 and mythos-preview), listed in its ModelParam literals, in the price table,
#: and cheap enough to judge every case of a suite. ``--ragops-judge-model`` overrides.
DEFAULT_MODEL: Final = "claude-haiku-4-5"

#: Metrics that cannot be judged without a reference answer.
NEEDS_REFERENCE: Final = frozenset({"context_recall"})

#: Tokens per ``ascore`` call for a typical case (3 contexts of ~120 words), measured against
#: these prompts; the budget forecast uses them until the cache has measured usage.
ESTIMATED_USAGE: Final[dict[str, tuple[int, int]]] = {
    "faithfulness": (1500, 400),
    "answer_relevancy": (500, 80),
    "context_precision": (900, 200),
    "context_recall": (1000, 250),
}

_RELEVANCE: Final = {"fully": 1.0, "mostly": 0.75, "partly": 0.5, "barely": 0.25, "not_at_all": 0.0}


def _numbered(items: tuple[str, ...] | list[str]) -> list[dict[str, Any]]:
    return [{"index": n, "text": text} for n, text in enumerate(items, start=1)]


def _indices(found: list[int], expected: int, what: str) -> str | None:
    if sorted(found) != list(range(1, expected + 1)):
        return f"expected one verdict per {what} 1..{expected}, got indices {sorted(found)}"
    return None


def average_precision(useful: list[bool]) -> float:
    """Mean of precision@k over the ranks k holding a useful passage (0 when none is)."""
    hits = 0
    total = 0.0
    for rank, good in enumerate(useful, start=1):
        if good:
            hits += 1
            total += hits / rank
    return total / hits if hits else 0.0


class AnthropicJudge:
    """Scores with Claude via ``AsyncAnthropic`` (imported on first use).

    :param model: the judge model id.
    :param api_key: passed to the client; ``None`` lets the SDK read ``ANTHROPIC_API_KEY``.
    :param base_url: the API root; ``None`` lets the SDK read ``ANTHROPIC_BASE_URL``.
    :param sleep: the wait between retries (tests inject a recorder).
    """

    scores_together = False

    def __init__(
        self,
        model: str = DEFAULT_MODEL,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.model = model
        self.name = f"anthropic:{model}"
        self.policy = policy or RetryPolicy()
        self.stats = JudgeStats()
        extra = {} if sleep is None else {"sleep": sleep}
        self._caller = MessagesCaller(
            model,
            lambda: make_client(api_key, base_url, self.policy.timeout_s),
            self.policy,
            self.stats,
            **extra,
        )

    def judge_label(self, metric: str) -> str:
        """The label of ``metric``'s scores: model and prompt version (also the cache key)."""
        return f"{self.name}:{PROMPT_VERSIONS[metric]}"

    def report_info(self) -> dict[str, Any]:
        """Calls, retries, tokens and spend so far, for the report."""
        return {"judge": {"name": self.name, "model": self.model, **self.stats.as_dict()}}

    async def aclose(self) -> None:
        await self._caller.aclose()

    async def ascore(
        self, sample: Sample, metrics: tuple[str, ...] = QUALITY_METRICS
    ) -> list[Score]:
        """Score ``metrics`` one after another (one engine slot; no parallel calls inside)."""
        return [await self._score(sample, metric) for metric in metrics]

    async def _score(self, sample: Sample, metric: str) -> Score:
        label = self.judge_label(metric) if metric in PROMPT_VERSIONS else self.name
        if metric not in PROMPT_VERSIONS:
            return Score(metric, None, label, error=f"unknown metric {metric!r}")
        if metric in NEEDS_REFERENCE and not sample.reference:
            return Score(metric, None, label, error="no reference", applicable=False)
        tally = Tally(self.model)
        try:
            value, rationale, applicable = await getattr(self, f"_{metric}")(sample, tally)
        except JudgementError as exc:
            return Score(
                metric,
                None,
                label,
                error=str(exc),
                cost_usd=tally.cost_usd,
                usage=dict(tally.usage) or None,
            )
        return Score(
            metric,
            value,
            label,
            error=rationale if value is None else None,
            rationale=rationale,
            applicable=applicable,
            cost_usd=tally.cost_usd if tally.calls else None,
            usage=dict(tally.usage) if tally.calls else None,
        )

    async def _faithfulness(self, sample: Sample, tally: Tally) -> tuple[float | None, str, bool]:
        claims = await self._caller.structured(
            system=SYSTEM,
            prompt=render(
                "faithfulness.claims", {"question": sample.question, "answer": sample.answer}
            ),
            schema=Claims,
            max_tokens=1024,
            tally=tally,
        )
        found = [c.strip() for c in claims.claims if c.strip()]
        if not found:
            return None, "answer makes no factual claims", False
        if not sample.contexts:
            return 0.0, f"no contexts retrieved: none of {len(found)} claims supported", True

        def check(v: ClaimVerdicts) -> str | None:
            return _indices([x.index for x in v.verdicts], len(found), "claim")

        verdicts = await self._caller.structured(
            system=SYSTEM,
            prompt=render(
                "faithfulness.verify",
                {"contexts": _numbered(sample.contexts), "claims": _numbered(found)},
            ),
            schema=ClaimVerdicts,
            max_tokens=2048,
            tally=tally,
            check=check,
        )
        unsupported = [
            f"{found[v.index - 1]!r} ({v.reason})" for v in verdicts.verdicts if not v.supported
        ]
        value = 1.0 - len(unsupported) / len(found)
        if not unsupported:
            return value, f"all {len(found)} claims supported", True
        return (
            value,
            f"{len(unsupported)} of {len(found)} claims unsupported: " + "; ".join(unsupported),
            True,
        )

    async def _answer_relevancy(
        self, sample: Sample, tally: Tally
    ) -> tuple[float | None, str, bool]:
        verdict = await self._caller.structured(
            system=SYSTEM,
            prompt=render(
                "answer_relevancy", {"question": sample.question, "answer": sample.answer}
            ),
            schema=Relevance,
            max_tokens=512,
            tally=tally,
        )
        if verdict.noncommittal:
            return 0.0, f"noncommittal: {verdict.reason}", True
        return _RELEVANCE[verdict.addresses], f"{verdict.addresses}: {verdict.reason}", True

    async def _context_precision(
        self, sample: Sample, tally: Tally
    ) -> tuple[float | None, str, bool]:
        if not sample.contexts:
            return None, "no contexts retrieved", True
        target = sample.reference or sample.answer
        count = len(sample.contexts)

        def check(v: ContextVerdicts) -> str | None:
            return _indices([x.index for x in v.verdicts], count, "context")

        verdicts = await self._caller.structured(
            system=SYSTEM,
            prompt=render(
                "context_precision",
                {
                    "question": sample.question,
                    "target_answer": target,
                    "contexts": _numbered(sample.contexts),
                },
            ),
            schema=ContextVerdicts,
            max_tokens=256 + 128 * count,
            tally=tally,
            check=check,
        )
        useful = [v.useful for v in sorted(verdicts.verdicts, key=lambda v: v.index)]
        ranks = [str(n) for n, good in enumerate(useful, start=1) if good]
        against = "reference" if sample.reference else "answer"
        return (
            average_precision(useful),
            (f"useful for the {against}: {', '.join(ranks) or 'none'} of {count} contexts"),
            True,
        )

    async def _context_recall(self, sample: Sample, tally: Tally) -> tuple[float | None, str, bool]:
        if not sample.contexts:
            return 0.0, "no contexts retrieved", True

        def check(v: ReferenceVerdicts) -> str | None:
            return None if v.statements else "the reference yielded no statements"

        verdicts = await self._caller.structured(
            system=SYSTEM,
            prompt=render(
                "context_recall",
                {
                    "question": sample.question,
                    "reference_answer": sample.reference,
                    "contexts": _numbered(sample.contexts),
                },
            ),
            schema=ReferenceVerdicts,
            max_tokens=2048,
            tally=tally,
            check=check,
        )
        missing = [f"{s.statement!r}" for s in verdicts.statements if not s.attributed]
        total = len(verdicts.statements)
        value = 1.0 - len(missing) / total
        if not missing:
            return value, f"all {total} reference statements found in the contexts", True
        return (
            value,
            f"{len(missing)} of {total} reference statements missing: " + "; ".join(missing),
            True,
        )
