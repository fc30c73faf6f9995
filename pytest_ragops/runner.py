"""The ``ragops`` fixture's engine: run a pipeline over cases concurrently and score it.

Everything runs through the process's :class:`~pytest_ragops.session.EvalSession`:
``evaluate()`` on the session's long-lived loop, ``aevaluate()`` on the test's own
loop, judges always on the session's loop, and every pipeline and judge call holds a
slot of the one session-wide limit. Results keep the cases' order. A pipeline failure
becomes a record with ``error`` set (nothing already scored is lost), and the call
then fails the test with :class:`PipelineFailed`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import math
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError
from pytest_ragops.judge.base import QUALITY_METRICS, Sample, Score
from pytest_ragops.pricing import UnknownCost, explain_cost, usage_dict
from pytest_ragops.results import (
    EvalResult,
    Record,
    ScoreDict,
    check_number,
    check_usage,
    score_dict,
)

if TYPE_CHECKING:
    from pytest_ragops.cases import Case
    from pytest_ragops.pricing import Price
    from pytest_ragops.session import EvalSession

__all__ = ["PipelineFailed", "Ragops"]

Pipeline = Callable[..., Any]
Variant = Any  # a name (str) or a pytest_ragops.prompts.Prompt


class PipelineFailed(AssertionError):
    """Some pipeline calls raised; their records are kept with ``error`` set."""


def _field(output: object, name: str) -> Any:
    if isinstance(output, Mapping):
        return output.get(name)
    return getattr(output, name, None)


def _is_async(pipeline: Pipeline) -> bool:
    """An ``async def`` function, or an object whose ``__call__`` is one."""
    return inspect.iscoroutinefunction(pipeline) or inspect.iscoroutinefunction(
        type(pipeline).__call__
    )


def _variant_name(variant: Variant) -> tuple[str | None, dict[str, str] | None]:
    if variant is None:
        return None, None
    if isinstance(variant, str):
        return variant, None
    lineage = getattr(variant, "lineage", None)
    name = getattr(variant, "name", None)
    if callable(lineage) and isinstance(name, str):
        return name, lineage()
    raise RagopsError(
        f"a variant must be a name or a Prompt, got {type(variant).__name__}", field="variants"
    )


def _combine_repeats(metric: str, runs: list[Score]) -> ScoreDict:
    """One score from N repeats: their mean, with each value and the spread kept.

    Fail closed: if any repeat has no value, the metric has none either.
    """
    first = runs[0]
    if len(runs) == 1:
        return score_dict(first)
    values = [s.value for s in runs]
    out = score_dict(first)
    out["repeats"] = values
    costs = [s.cost_usd for s in runs if s.cost_usd is not None]
    if costs:
        out["cost_usd"] = math.fsum(costs)
    if not first.applicable:
        return out
    failed = next(((i, s) for i, s in enumerate(runs) if s.value is None), None)
    if failed is not None:
        i, s = failed
        out["value"] = None
        out["error"] = f"repeat {i + 1} of {len(runs)}: {s.error or 'no value'}"
        out["spread"] = None
        return out
    present = [v for v in values if v is not None]
    out["value"] = math.fsum(present) / len(present)
    out["spread"] = max(present) - min(present)
    return out


class Ragops:
    """The object behind the ``ragops`` fixture, bound to one test."""

    def __init__(
        self,
        test_id: str,
        session: EvalSession,
        sink: list[Record],
        *,
        metrics: Sequence[str] = QUALITY_METRICS,
        repeats: int = 1,
        prices: Mapping[str, Price] | None = None,
        budget_usd: float | None = None,
    ) -> None:
        self.test_id = test_id
        self.session = session
        self.metrics = tuple(metrics)
        self.repeats = repeats
        self.prices = prices
        self.budget_usd = budget_usd
        #: Every record this test produced, in order; shared with the plugin.
        self.records = sink
        self._ordinals: dict[str, int] = {}

    @property
    def concurrency(self) -> int:
        """Calls in flight allowed for this process (shared by every test)."""
        return self.session.concurrency

    # -- scoring -----------------------------------------------------------------
    async def _judge_call(self, sample: Sample, metrics: tuple[str, ...]) -> list[Score]:
        judge = self.session.judge
        assert judge is not None
        async with self.session.limit:
            return await judge.ascore(sample, metrics)

    async def _ascore(self, sample: Sample) -> dict[str, ScoreDict]:
        """Score on the session loop: one call per metric (or one for all) per repeat."""
        judge = self.session.judge
        assert judge is not None
        groups = [self.metrics] if judge.scores_together else [(m,) for m in self.metrics]
        calls = [
            self._judge_call(dataclasses.replace(sample, repeat=r), group)
            for r in range(self.repeats)
            for group in groups
        ]
        results = await self.session.on_session_loop(_gather(calls))
        by_metric: dict[str, list[Score]] = {m: [] for m in self.metrics}
        for scores in results:
            for s in scores:
                by_metric[s.metric].append(s)
        return {m: _combine_repeats(m, runs) for m, runs in by_metric.items()}

    def _ordinal(self, case_id: str | None, question: str, variant: str | None) -> int:
        if case_id is not None:
            return 0
        key = f"{variant}\x00{question}"
        n = self._ordinals.get(key, 0)
        self._ordinals[key] = n + 1
        return n

    def _prepare(
        self,
        question: str,
        answer: object,
        contexts: object,
        reference: str | None,
        reference_contexts: Sequence[str],
        case_id: str | None,
        variant: Variant,
        cost_usd: object,
        usage: object,
        model: str | None,
        latency_s: object,
    ) -> tuple[Record, Sample]:
        """Check every value and build the unscored record and the judge's sample."""
        if not isinstance(answer, str):
            raise RagopsError(
                f"answer must be a string, got {type(answer).__name__}", field="answer"
            )
        if isinstance(contexts, str) or not hasattr(contexts, "__iter__"):
            raise RagopsError(
                f"contexts must be a list of strings, got {type(contexts).__name__}",
                field="contexts",
            )
        context_list = list(contexts)  # read an iterator once
        if not all(isinstance(c, str) for c in context_list):
            raise RagopsError("contexts must be a list of strings", field="contexts")
        try:
            usage_data = usage_dict(usage)
        except TypeError as exc:
            raise RagopsError(str(exc), field="usage") from None
        check_usage(usage_data)
        cost = check_number(cost_usd, "cost_usd")
        latency = check_number(latency_s, "latency_s")
        cost_error = None
        if cost is None:
            try:
                cost = explain_cost(model, usage_data, self.prices)
            except UnknownCost as exc:
                cost_error = str(exc)
        name, lineage = _variant_name(variant)
        record = Record(
            test_id=self.test_id,
            question=question,
            answer=answer,
            contexts=context_list,
            reference=reference,
            case_id=case_id,
            variant=name,
            cost_usd=cost,
            cost_error=cost_error,
            usage=usage_data,
            model=model,
            latency_s=latency,
            prompt=lineage,
            ordinal=self._ordinal(case_id, question, name),
        )
        sample = Sample(
            question, answer, tuple(context_list), reference, tuple(reference_contexts), case_id
        )
        return record, sample

    def record(
        self,
        question: str,
        answer: str,
        contexts: Sequence[str],
        reference: str | None = None,
        case_id: str | None = None,
        variant: Variant = None,
        cost_usd: float | None = None,
        usage: object = None,
        model: str | None = None,
        latency_s: float | None = None,
        *,
        reference_contexts: Sequence[str] = (),
    ) -> dict[str, float | None]:
        """Score one answer, keep the record, and return ``{metric: value}``.

        :raises RagopsError: (a ``ValueError``) for a bad value: NaN, negative cost, ...
        """
        rec, sample = self._prepare(
            question, answer, contexts, reference, reference_contexts, case_id, variant,
            cost_usd, usage, model, latency_s,
        )  # fmt: skip
        rec.scores = self.session.run(lambda: self._ascore(sample))
        self.records.append(rec)
        return {k: v["value"] for k, v in rec.scores.items()}

    async def arecord(
        self,
        question: str,
        answer: str,
        contexts: Sequence[str],
        reference: str | None = None,
        case_id: str | None = None,
        variant: Variant = None,
        cost_usd: float | None = None,
        usage: object = None,
        model: str | None = None,
        latency_s: float | None = None,
        *,
        reference_contexts: Sequence[str] = (),
    ) -> dict[str, float | None]:
        """:meth:`record` from an async test, without blocking its loop."""
        rec, sample = self._prepare(
            question, answer, contexts, reference, reference_contexts, case_id, variant,
            cost_usd, usage, model, latency_s,
        )  # fmt: skip
        rec.scores = await self._ascore(sample)
        self.records.append(rec)
        return {k: v["value"] for k, v in rec.scores.items()}

    # -- evaluation --------------------------------------------------------------
    def _jobs(
        self, cases: Sequence[Case], variants: Sequence[Variant] | None
    ) -> list[tuple[Case, Variant]]:
        if variants is not None and not variants:
            raise RagopsError(
                "variants is empty; pass None to run without variants", field="variants"
            )
        for v in variants or ():
            _variant_name(v)  # a bad variant is a usage mistake: fail before any call
        return [(c, v) for c in cases for v in (variants if variants else [None])]

    def evaluate(
        self,
        pipeline: Pipeline,
        cases: Sequence[Case],
        variants: Sequence[Variant] | None = None,
    ) -> EvalResult:
        """Run ``pipeline`` over every case (and variant), score the answers, aggregate.

        ``pipeline(case)`` — or ``pipeline(case, variant)`` with variants, each a name
        or a :class:`~pytest_ragops.prompts.Prompt` — returns a mapping or object with
        ``answer`` and ``contexts`` and optionally ``cost_usd``, ``usage``, ``model``,
        ``latency_s``. It may be sync or async; async pipelines run on the session's
        loop, shared by every call of the session.

        :raises PipelineFailed: after recording everything, when any call raised.
        """
        jobs = self._jobs(cases, variants)
        records = self.session.run(lambda: self._run(pipeline, jobs, variants is not None))
        return self._result(records)

    async def aevaluate(
        self,
        pipeline: Pipeline,
        cases: Sequence[Case],
        variants: Sequence[Variant] | None = None,
    ) -> EvalResult:
        """:meth:`evaluate` from an async test: the pipeline runs on the test's own loop."""
        jobs = self._jobs(cases, variants)
        records = await self._run(pipeline, jobs, variants is not None)
        return self._result(records)

    def _result(self, records: list[Record]) -> EvalResult:
        self.records.extend(records)
        result = EvalResult.from_records(records)
        failed = result.errors
        if failed:
            first = failed[0]
            raise PipelineFailed(
                f"{len(failed)} of {len(records)} pipeline calls failed; "
                f"first: case {first.case_id!r}: {first.error}"
            )
        return result

    async def _run(
        self, pipeline: Pipeline, jobs: list[tuple[Case, Variant]], pass_variant: bool
    ) -> list[Record]:
        run_one = self._one_async if _is_async(pipeline) else self._one_sync
        self._forecast(len(jobs))
        progress = self._progress(len(jobs))

        async def tracked(job: tuple[Case, Variant]) -> Record:
            record = await run_one(pipeline, job, pass_variant)
            if progress is not None:
                progress.case_done()
            return record

        try:
            return list(await asyncio.gather(*(tracked(j) for j in jobs)))
        finally:
            if progress is not None:
                progress.close()

    def _inner_judge(self) -> object:
        judge = self.session.judge
        return None if judge is None else judge.inner

    def _forecast(self, cases: int) -> None:
        """Say before the run when the judge's budget will not cover it."""
        if self.budget_usd is None:
            return
        from pytest_ragops.judge.budget import forecast_for_judge

        forecast = forecast_for_judge(
            self._inner_judge(), cases=cases, metrics=self.metrics, repeats=self.repeats
        )
        if forecast is not None and forecast.exceeds_budget:
            print(f"ragops: {forecast.message()}", file=sys.stderr)

    def _progress(self, total: int) -> Any:
        """A one-line progress display on a terminal (never in captured or CI output)."""
        stream = sys.__stderr__
        if total < 20 or stream is None or not stream.isatty():
            return None
        from pytest_ragops.judge.progress import ProgressLine, judge_counters

        return ProgressLine(stream, total=total, counters=judge_counters(self._inner_judge()))

    async def _one_async(
        self, pipeline: Pipeline, job: tuple[Case, Variant], pass_variant: bool
    ) -> Record:
        case, variant = job
        async with self.session.limit:
            start = time.perf_counter()
            try:
                output = await (pipeline(case, variant) if pass_variant else pipeline(case))
            except Exception as exc:  # noqa: BLE001 - recorded, not lost
                return self._failed(case, variant, exc)
            elapsed = time.perf_counter() - start
        return await self._finish(case, variant, output, elapsed)

    async def _one_sync(
        self, pipeline: Pipeline, job: tuple[Case, Variant], pass_variant: bool
    ) -> Record:
        case, variant = job

        def call() -> tuple[object, float]:
            start = time.perf_counter()
            output = pipeline(case, variant) if pass_variant else pipeline(case)
            if inspect.isawaitable(output):
                if inspect.iscoroutine(output):
                    output.close()  # else it warns "never awaited" when collected
                raise RagopsError("a sync pipeline returned an awaitable; define it with async def")
            return output, time.perf_counter() - start

        async with self.session.limit:
            try:
                output, elapsed = await self.session.in_pool(call)
            except Exception as exc:  # noqa: BLE001 - any pipeline failure is recorded
                return self._failed(case, variant, exc)
        return await self._finish(case, variant, output, elapsed)

    def _failed(self, case: Case, variant: Variant, exc: Exception) -> Record:
        name, lineage = _variant_name(variant)
        return Record(
            test_id=self.test_id,
            question=case.question,
            answer="",
            reference=case.reference,
            case_id=case.id,
            variant=name,
            prompt=lineage,
            error=f"{exc.__class__.__name__}: {exc}",
        )

    async def _finish(self, case: Case, variant: Variant, output: object, elapsed: float) -> Record:
        try:
            answer = _field(output, "answer")
            contexts = _field(output, "contexts")
            if answer is None or contexts is None:
                raise RagopsError("pipeline output needs 'answer' and 'contexts'")
            latency = _field(output, "latency_s")
            rec, sample = self._prepare(
                case.question, answer, contexts, case.reference, case.reference_contexts,
                case.id, variant, _field(output, "cost_usd"), _field(output, "usage"),
                _field(output, "model"), elapsed if latency is None else latency,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - a malformed output is a failed case
            return self._failed(case, variant, exc)
        rec.scores = await self._ascore(sample)
        return rec


async def _gather(calls: list[Any]) -> list[list[Score]]:
    return list(await asyncio.gather(*calls))
