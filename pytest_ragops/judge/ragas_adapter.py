"""The ragas judges: ragas 0.4.3 metrics on Claude (``ragas``) or with no LLM (``ragas-nonllm``).

``ragas`` scores the four metric names with ``ragas.metrics.collections``:
``Faithfulness``, ``AnswerRelevancy``, ``ContextPrecisionWithReference`` (or
``…WithoutReference``, judged against the answer, when the case has no reference) and
``ContextRecall`` (not applicable without a reference).

Why not ``ragas.llms.llm_factory(provider="anthropic")``: with anthropic 2.x it is broken.
It always sends ``temperature`` and ``top_p`` (anthropic 2.x has no sampling parameters and
rejects them), and it goes through instructor, which forces ``tool_choice`` to its
extraction tool (the newest Claude models reject forced tool use). Instead
:class:`ClaudeRagasLLM` implements ragas' own ``InstructorBaseRagasLLM`` interface
(``agenerate(prompt, response_model)``) on our :class:`MessagesCaller`: one plain
``messages.create`` with ``output_config`` = the response model's JSON schema, strict
pydantic validation, bounded retries, and usage/cost counted per call.

``AnswerRelevancy`` compares the question with questions Claude generates from the answer
by embedding cosine; Anthropic has no embeddings API, so :class:`LexicalEmbedding` (a
hashed bag of words) stands in and the label says so (``+lexical``).

``ragas-nonllm`` needs no key and no network: ``context_recall`` and ``context_precision``
by ragas' ``NonLLMContextRecall`` / ``NonLLMContextPrecisionWithReference`` (string
similarity via rapidfuzz against the case's ``reference_contexts``; not applicable without
them), ``faithfulness`` and ``answer_relevancy`` by the offline judge (labelled ``offline:*``).
ragas itself is imported on first use (it takes seconds).
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import warnings
from importlib.metadata import version
from typing import TYPE_CHECKING, Any, Final

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

    from pydantic import BaseModel

__all__ = ["ClaudeRagasLLM", "LexicalEmbedding", "RagasJudge", "RagasNonLLMJudge"]

_DIM: Final = 512
_WORD: Final = re.compile(r"[a-z0-9_]+")
_MAX_TOKENS: Final = 2048


def _ragas_version() -> str:
    try:
        return version("ragas")
    except Exception:  # noqa: BLE001 - metadata missing means "unknown", not a crash
        return "unknown"


_RAGAS_READY = False


def _no_telemetry() -> None:
    """ragas posts usage analytics to its vendor unless told not to; a CI eval must not.

    Set only when a ragas judge is used, and an explicit user choice is kept.
    """
    os.environ.setdefault("RAGAS_DO_NOT_TRACK", "true")
    global _RAGAS_READY
    if _RAGAS_READY:
        return
    _RAGAS_READY = True
    # ragas' log formatter reads its user-id file without closing it (ragas 0.4.3,
    # _analytics.get_userid), a ResourceWarning at an arbitrary later point. The function
    # is lru_cached: call it once here, with that one warning silenced.
    from ragas._analytics import get_userid

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        get_userid()


def _llm_base() -> type:
    _no_telemetry()
    from ragas.llms.base import InstructorBaseRagasLLM

    return InstructorBaseRagasLLM


def _embedding_base() -> type:
    _no_telemetry()
    from ragas.embeddings.base import BaseRagasEmbedding

    return BaseRagasEmbedding


def ClaudeRagasLLM(caller: MessagesCaller, tally: Tally) -> Any:
    """A ragas LLM on our Messages caller (see the module doc for why not ``llm_factory``).

    Built per ``ascore`` call with that call's :class:`Tally`, so concurrent scores never
    mix their usage. The class is made on first use because ragas loads lazily.
    """
    base = _llm_base()

    class _ClaudeRagasLLM(base):  # type: ignore[misc, valid-type]
        def generate(self, prompt: str, response_model: type[BaseModel]) -> BaseModel:
            raise RuntimeError("ClaudeRagasLLM is async only; ragas collections call agenerate")

        async def agenerate(self, prompt: str, response_model: type[BaseModel]) -> BaseModel:
            return await caller.structured(
                system=None,
                prompt=prompt,
                schema=response_model,
                max_tokens=_MAX_TOKENS,
                tally=tally,
            )

    return _ClaudeRagasLLM()


def _lexical_vector(text: str) -> list[float]:
    vec = [0.0] * _DIM
    for word in _WORD.findall(text.lower()):
        # blake2b, not hash(): the same text must embed the same in every process.
        slot = int.from_bytes(hashlib.blake2b(word.encode(), digest_size=4).digest(), "big")
        vec[slot % _DIM] += 1.0
    return vec


def LexicalEmbedding() -> Any:
    """A ragas embedding that is a hashed bag of words: deterministic, local, no API."""
    base = _embedding_base()

    class _LexicalEmbedding(base):  # type: ignore[misc, valid-type]
        def embed_text(self, text: str, **kwargs: Any) -> list[float]:
            return _lexical_vector(text)

        async def aembed_text(self, text: str, **kwargs: Any) -> list[float]:
            return _lexical_vector(text)

    return _LexicalEmbedding()


def _value(metric: str, label: str, raw: object, tally: Tally | None) -> Score:
    cost = tally.cost_usd if tally and tally.calls else None
    usage = dict(tally.usage) if tally and tally.calls else None
    value = getattr(raw, "value", raw)
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        return Score(
            metric,
            None,
            label,
            error=f"ragas returned no score ({value!r})",
            cost_usd=cost,
            usage=usage,
        )
    if not 0.0 <= float(value) <= 1.0:
        # Cosine of lexical vectors can drift a hair past 1 by rounding.
        if -1e-9 <= float(value) <= 1.0 + 1e-9:
            value = min(1.0, max(0.0, float(value)))
        else:
            return Score(metric, None, label, error=f"ragas score {value!r} outside [0, 1]")
    return Score(metric, float(value), label, cost_usd=cost, usage=usage)


class RagasJudge:
    """ragas collections metrics on Claude; one engine slot per ``ascore`` (ragas' own
    steps inside a metric run one after another, so no parallel calls happen inside)."""

    scores_together = False

    def __init__(
        self,
        model: str,
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        policy: RetryPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        self.model = model
        self.name = f"ragas:{model}"
        self.policy = policy or RetryPolicy()
        self.stats = JudgeStats()
        self._ragas = _ragas_version()
        extra = {} if sleep is None else {"sleep": sleep}
        self._caller = MessagesCaller(
            model,
            lambda: make_client(api_key, base_url, self.policy.timeout_s),
            self.policy,
            self.stats,
            **extra,
        )

    def judge_label(self, metric: str) -> str:
        """``ragas:<metric>`` plus model and ragas version (ragas versions its prompts)."""
        suffix = "+lexical" if metric == "answer_relevancy" else ""
        return f"ragas:{metric}{suffix}:{self.model}:ragas-{self._ragas}"

    def report_info(self) -> dict[str, Any]:
        return {"judge": {"name": self.name, "model": self.model, **self.stats.as_dict()}}

    async def aclose(self) -> None:
        await self._caller.aclose()

    async def ascore(
        self, sample: Sample, metrics: tuple[str, ...] = QUALITY_METRICS
    ) -> list[Score]:
        return [await self._score(sample, metric) for metric in metrics]

    async def _score(self, sample: Sample, metric: str) -> Score:
        _no_telemetry()
        from ragas.metrics import collections as rc

        label = self.judge_label(metric) if metric in QUALITY_METRICS else self.name
        if metric not in QUALITY_METRICS:
            return Score(metric, None, label, error=f"unknown metric {metric!r}")
        if metric == "context_recall" and not sample.reference:
            return Score(metric, None, label, error="no reference", applicable=False)
        if not sample.contexts:
            return Score(metric, None, label, error="no contexts retrieved")
        tally = Tally(self.model)
        llm = ClaudeRagasLLM(self._caller, tally)
        contexts = list(sample.contexts)
        try:
            if metric == "faithfulness":
                raw = await rc.Faithfulness(llm=llm).ascore(
                    user_input=sample.question, response=sample.answer, retrieved_contexts=contexts
                )
            elif metric == "answer_relevancy":
                raw = await rc.AnswerRelevancy(llm=llm, embeddings=LexicalEmbedding()).ascore(
                    user_input=sample.question, response=sample.answer
                )
            elif metric == "context_precision" and sample.reference:
                raw = await rc.ContextPrecisionWithReference(llm=llm).ascore(
                    user_input=sample.question,
                    reference=sample.reference,
                    retrieved_contexts=contexts,
                )
            elif metric == "context_precision":
                raw = await rc.ContextPrecisionWithoutReference(llm=llm).ascore(
                    user_input=sample.question, response=sample.answer, retrieved_contexts=contexts
                )
            else:
                raw = await rc.ContextRecall(llm=llm).ascore(
                    user_input=sample.question,
                    retrieved_contexts=contexts,
                    reference=sample.reference or "",
                )
        except JudgementError as exc:
            return Score(
                metric,
                None,
                label,
                error=str(exc),
                cost_usd=tally.cost_usd,
                usage=dict(tally.usage) or None,
            )
        except ValueError as exc:  # ragas' own input checks
            return Score(metric, None, label, error=f"ragas: {exc}")
        return _value(metric, label, raw, tally)


class RagasNonLLMJudge:
    """ragas' string-similarity context metrics plus the offline judge: no key, no network."""

    scores_together = True
    name = "ragas-nonllm"

    def __init__(self) -> None:
        from pytest_ragops.judge.offline import OfflineJudge

        self._offline = OfflineJudge()
        self._metrics: dict[str, Any] = {}

    def judge_label(self, metric: str) -> str:
        return f"ragas:{metric}:nonllm:ragas-{_ragas_version()}"

    def _metric(self, metric: str) -> Any:
        if metric not in self._metrics:
            _no_telemetry()
            # Not in ragas.metrics.collections in 0.4.3; importing them from ragas.metrics
            # warns (DeprecationWarning pointing at collections, where they do not exist).
            if metric == "context_recall":
                from ragas.metrics._context_recall import NonLLMContextRecall

                self._metrics[metric] = NonLLMContextRecall()
            else:
                from ragas.metrics._context_precision import NonLLMContextPrecisionWithReference

                self._metrics[metric] = NonLLMContextPrecisionWithReference()
        return self._metrics[metric]

    async def ascore(
        self, sample: Sample, metrics: tuple[str, ...] = QUALITY_METRICS
    ) -> list[Score]:
        scores: list[Score] = []
        for metric in metrics:
            if metric in ("faithfulness", "answer_relevancy"):
                scores.extend(self._offline.score(sample, (metric,)))
                continue
            label = self.judge_label(metric)
            if metric not in QUALITY_METRICS:
                scores.append(Score(metric, None, label, error=f"unknown metric {metric!r}"))
            elif not sample.reference_contexts:
                scores.append(
                    Score(metric, None, label, error="no reference_contexts", applicable=False)
                )
            elif not sample.contexts:
                scores.append(Score(metric, None, label, error="no contexts retrieved"))
            else:
                _no_telemetry()
                from ragas.dataset_schema import SingleTurnSample

                turn = SingleTurnSample(
                    retrieved_contexts=list(sample.contexts),
                    reference_contexts=list(sample.reference_contexts),
                )
                raw = await self._metric(metric).single_turn_ascore(turn)
                scores.append(_value(metric, label, raw, None))
        return scores

    async def aclose(self) -> None:
        return None
