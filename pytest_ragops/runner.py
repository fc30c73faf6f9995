"""The ``ragops`` fixture's engine: run a pipeline over cases concurrently and score it.

Async pipelines share one event loop, bounded by a semaphore; sync ones run on a thread
pool. Results keep the cases' order. A pipeline failure becomes a record with ``error``
set (so nothing already scored is lost), and :meth:`Ragops.evaluate` then fails the test.
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from pytest_ragops.errors import RagopsError
from pytest_ragops.judge.base import Sample
from pytest_ragops.judge.base import SyncJudge as Judge
from pytest_ragops.pricing import cost_from_usage, usage_dict
from pytest_ragops.results import EvalResult, Record, ScoreDict

if TYPE_CHECKING:
    from pytest_ragops.cases import Case
    from pytest_ragops.judge.base import Score

__all__ = ["PipelineFailed", "Ragops"]

Pipeline = Callable[..., Any]
_T = TypeVar("_T")


def _run_coroutine_sync(make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
    """``asyncio.run`` that also works when called from inside a running event loop.

    An async test (pytest-asyncio, anyio) already runs a loop in this thread, where
    ``asyncio.run`` refuses to start; the pipeline then gets a loop of its own in a thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(make())
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()


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


class Ragops:
    """The object behind the ``ragops`` fixture, bound to one test."""

    def __init__(self, test_id: str, judge: Judge, concurrency: int, sink: list[Record]) -> None:
        self.test_id = test_id
        self.judge = judge
        self.concurrency = concurrency
        #: Every record this test produced, in order; shared with the plugin.
        self.records = sink

    # -- scoring -----------------------------------------------------------------
    def _score(self, sample: Sample) -> dict[str, ScoreDict]:
        try:
            scores: list[Score] = self.judge.score(sample)
        except Exception as exc:  # noqa: BLE001 - a judge failure is recorded, never fatal or a pass
            message = f"judge {self.judge.name} failed: {exc.__class__.__name__}: {exc}"
            return {"faithfulness": ScoreDict(value=None, judge=self.judge.name, error=message)}
        return {s.metric: ScoreDict(value=s.value, judge=s.judge, error=s.error) for s in scores}

    def record(
        self,
        question: str,
        answer: str,
        contexts: Sequence[str],
        reference: str | None = None,
        case_id: str | None = None,
        variant: str | None = None,
        cost_usd: float | None = None,
        usage: object = None,
        model: str | None = None,
        latency_s: float | None = None,
        *,
        reference_contexts: Sequence[str] = (),
    ) -> dict[str, float | None]:
        """Score one answer, keep the record, and return ``{metric: value}``."""
        rec = self._build(
            question, answer, contexts, reference, reference_contexts, case_id, variant,
            cost_usd, usage, model, latency_s,
        )  # fmt: skip
        self.records.append(rec)
        return {k: v["value"] for k, v in rec.scores.items()}

    def _build(
        self,
        question: str,
        answer: str,
        contexts: Sequence[str],
        reference: str | None,
        reference_contexts: Sequence[str],
        case_id: str | None,
        variant: str | None,
        cost_usd: float | None,
        usage: object,
        model: str | None,
        latency_s: float | None,
    ) -> Record:
        if not isinstance(answer, str):
            raise RagopsError(
                f"answer must be a string, got {type(answer).__name__}", field="answer"
            )
        if isinstance(contexts, str):
            raise RagopsError("contexts must be a list of strings, got str", field="contexts")
        contexts = list(contexts)  # read an iterator once, not once per check
        if not all(isinstance(c, str) for c in contexts):
            raise RagopsError("contexts must be a list of strings", field="contexts")
        try:
            usage_data = usage_dict(usage)
        except TypeError as exc:
            raise RagopsError(str(exc), field="usage") from None
        if cost_usd is None:
            cost_usd = cost_from_usage(model, usage_data)
        sample = Sample(question, answer, tuple(contexts), reference, tuple(reference_contexts))
        return Record(
            test_id=self.test_id,
            question=question,
            answer=answer,
            contexts=list(contexts),
            reference=reference,
            case_id=case_id,
            variant=variant,
            scores=self._score(sample),
            cost_usd=None if cost_usd is None else float(cost_usd),
            usage=usage_data,
            model=model,
            latency_s=latency_s,
        )

    # -- evaluation --------------------------------------------------------------
    def evaluate(
        self,
        pipeline: Pipeline,
        cases: Sequence[Case],
        variants: Sequence[str] | None = None,
    ) -> EvalResult:
        """Run ``pipeline`` over every case (and variant), score the answers, aggregate.

        ``pipeline(case)`` — or ``pipeline(case, variant)`` with variants — returns a
        mapping or object with ``answer`` and ``contexts`` and optionally ``cost_usd``,
        ``usage``, ``model``, ``latency_s``. It may be sync or async.

        :raises PipelineFailed: after recording everything, when any call raised.
        """
        if variants is not None and not variants:
            raise RagopsError(
                "variants is empty; pass None to run without variants", field="variants"
            )
        jobs: list[tuple[Case, str | None]] = [
            (c, v) for c in cases for v in (variants if variants else [None])
        ]
        if _is_async(pipeline):
            records = _run_coroutine_sync(
                lambda: self._run_async(pipeline, jobs, variants is not None)
            )
        else:
            with ThreadPoolExecutor(max_workers=min(self.concurrency, max(1, len(jobs)))) as pool:
                records = list(
                    pool.map(lambda j: self._run_one(pipeline, j, variants is not None), jobs)
                )
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

    def _run_one(
        self, pipeline: Pipeline, job: tuple[Case, str | None], pass_variant: bool
    ) -> Record:
        case, variant = job
        start = time.perf_counter()
        try:
            output = pipeline(case, variant) if pass_variant else pipeline(case)
            if inspect.isawaitable(output):
                if inspect.iscoroutine(output):
                    output.close()  # else it warns "never awaited" when collected
                raise RagopsError("a sync pipeline returned an awaitable; define it with async def")
        except Exception as exc:  # noqa: BLE001 - any pipeline failure is recorded, not lost
            return self._failed(case, variant, exc)
        return self._finish(case, variant, output, time.perf_counter() - start)

    async def _run_async(
        self, pipeline: Pipeline, jobs: list[tuple[Case, str | None]], pass_variant: bool
    ) -> list[Record]:
        sem = asyncio.Semaphore(self.concurrency)

        async def one(job: tuple[Case, str | None]) -> Record:
            case, variant = job
            async with sem:
                start = time.perf_counter()
                try:
                    call: Awaitable[Any] = (
                        pipeline(case, variant) if pass_variant else pipeline(case)
                    )
                    output = await call
                except Exception as exc:  # noqa: BLE001 - recorded, not lost
                    return self._failed(case, variant, exc)
                elapsed = time.perf_counter() - start
            return await asyncio.to_thread(self._finish, case, variant, output, elapsed)

        return list(await asyncio.gather(*(one(j) for j in jobs)))

    def _failed(self, case: Case, variant: str | None, exc: Exception) -> Record:
        return Record(
            test_id=self.test_id,
            question=case.question,
            answer="",
            reference=case.reference,
            case_id=case.id,
            variant=variant,
            error=f"{exc.__class__.__name__}: {exc}",
        )

    def _finish(self, case: Case, variant: str | None, output: object, elapsed: float) -> Record:
        try:
            answer = _field(output, "answer")
            contexts = _field(output, "contexts")
            if answer is None or contexts is None:
                raise RagopsError("pipeline output needs 'answer' and 'contexts'")
            latency = _field(output, "latency_s")
            return self._build(
                case.question, answer, contexts, case.reference, case.reference_contexts,
                case.id, variant, _field(output, "cost_usd"), _field(output, "usage"),
                _field(output, "model"), elapsed if latency is None else float(latency),
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - a malformed output is a failed case
            return self._failed(case, variant, exc)
