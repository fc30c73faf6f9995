from __future__ import annotations

import asyncio
import functools
import random
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import pytest

from pytest_ragops.cases import Case
from pytest_ragops.errors import RagopsError
from pytest_ragops.judge.base import QUALITY_METRICS, Sample, Score
from pytest_ragops.judge.offline import METHODS, OfflineJudge
from pytest_ragops.judge.validate import CheckedJudge
from pytest_ragops.results import Record
from pytest_ragops.runner import PipelineFailed, Ragops
from pytest_ragops.session import EvalSession

_SESSIONS: list[EvalSession] = []


@pytest.fixture(autouse=True)
def _close_sessions() -> Any:
    yield
    while _SESSIONS:
        _SESSIONS.pop().close()


def _make(judge: Any, concurrency: int, sink: list[Record], **kw: Any) -> Ragops:
    """A Ragops bound to a fresh eval session (closed after the test)."""
    session = EvalSession(concurrency)
    session.judge = CheckedJudge(judge, run_sync=session.in_pool)
    _SESSIONS.append(session)
    return Ragops(TEST_ID if "test_id" not in kw else kw.pop("test_id"), session, sink, **kw)


CONTEXT = (
    "pg_basebackup makes a physical base backup of a running cluster over the replication protocol."
)
ANSWER = "pg_basebackup makes a physical base backup of a running cluster."
QUESTION = "How does pg_basebackup take a base backup?"
TEST_ID = "tests/test_eval.py::test_rag"


def _cases(n: int) -> list[Case]:
    return [
        Case(id=f"c{i}", question=f"{QUESTION} ({i})", reference="pg_basebackup makes backups.")
        for i in range(n)
    ]


def _ragops(concurrency: int = 4) -> tuple[Ragops, list[Record]]:
    sink: list[Record] = []
    return _make(OfflineJudge(), concurrency, sink), sink


def _answer(case: Case, **extra: Any) -> dict[str, Any]:
    return {"answer": f"{ANSWER} [{case.id}]", "contexts": [CONTEXT], **extra}


def _delay(case: Case) -> float:
    """A small, seeded, per-case sleep, so calls finish out of order."""
    return random.Random(case.id).uniform(0.001, 0.02)


class _InFlight:
    """Counts calls in flight and remembers the peak."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.now = 0
        self.peak = 0

    def enter(self) -> None:
        with self.lock:
            self.now += 1
            self.peak = max(self.peak, self.now)

    def leave(self) -> None:
        with self.lock:
            self.now -= 1


class _BrokenJudge:
    name = "broken"

    def score(self, sample: Sample, metrics: tuple[str, ...] = QUALITY_METRICS) -> list[Score]:
        raise RuntimeError("judge is down")


# -- record --------------------------------------------------------------------------------


def test_record_scores_and_keeps_the_record() -> None:
    ragops, sink = _ragops()
    scores = ragops.record(QUESTION, ANSWER, [CONTEXT], reference=ANSWER, case_id="c1")
    assert list(scores) == list(QUALITY_METRICS)
    assert scores["faithfulness"] == 1.0
    assert all(v is not None and 0.0 <= v <= 1.0 for v in scores.values())
    [rec] = sink
    assert (rec.test_id, rec.case_id, rec.question, rec.answer) == (
        TEST_ID, "c1", QUESTION, ANSWER,
    )  # fmt: skip
    assert rec.contexts == [CONTEXT]
    assert {m: s["judge"] for m, s in rec.scores.items()} == METHODS
    assert rec.latency_s is None  # record() does not time anything
    assert rec.cost_usd is None
    assert rec.error is None


def test_record_returns_none_for_unscorable_metrics() -> None:
    ragops, sink = _ragops()
    scores = ragops.record(QUESTION, ANSWER, [CONTEXT])  # no reference
    assert scores["context_recall"] is None
    assert sink[0].scores["context_recall"]["error"] == "needs a reference or reference_contexts"


def test_record_reference_contexts_are_used() -> None:
    ragops, _ = _ragops()
    scores = ragops.record(QUESTION, ANSWER, [CONTEXT], reference_contexts=[CONTEXT])
    assert scores["context_recall"] == 1.0
    assert scores["context_precision"] == 1.0


def test_record_accepts_any_iterable_of_contexts() -> None:
    ragops, sink = _ragops()
    ragops.record(QUESTION, ANSWER, (c for c in [CONTEXT, "other"]))  # type: ignore[arg-type]
    assert sink[0].contexts == [CONTEXT, "other"]
    assert sink[0].scores["faithfulness"]["value"] == 1.0


def test_record_cost_from_usage_and_model() -> None:
    ragops, sink = _ragops()
    usage = {"input_tokens": 1000, "output_tokens": 100}
    ragops.record(QUESTION, ANSWER, [CONTEXT], usage=usage, model="claude-haiku-4-5-20251001")
    assert sink[0].cost_usd == pytest.approx(1000 * 1.0 / 1e6 + 100 * 5.0 / 1e6)
    assert sink[0].usage == usage
    assert sink[0].usage is not usage  # a copy: later changes by the caller do not leak in
    assert sink[0].model == "claude-haiku-4-5-20251001"


def test_record_unknown_model_cost_stays_unknown() -> None:
    ragops, sink = _ragops()
    ragops.record(QUESTION, ANSWER, [CONTEXT], usage={"input_tokens": 10}, model="gpt-x")
    assert sink[0].cost_usd is None


def test_record_given_cost_and_latency_win() -> None:
    ragops, sink = _ragops()
    ragops.record(
        QUESTION, ANSWER, [CONTEXT], cost_usd=0, usage={"input_tokens": 10**6},
        model="claude-haiku-4-5", latency_s=0.25, variant="v1",
    )  # fmt: skip
    assert (sink[0].cost_usd, sink[0].latency_s, sink[0].variant) == (0.0, 0.25, "v1")
    assert isinstance(sink[0].cost_usd, float)


@pytest.mark.parametrize(
    ("answer", "contexts", "message"),
    [
        (None, [CONTEXT], "answer: answer must be a string, got NoneType"),
        (3, [CONTEXT], "answer: answer must be a string, got int"),
        (ANSWER, CONTEXT, "contexts: contexts must be a list of strings, got str"),
        (ANSWER, [CONTEXT, 1], "contexts: contexts must be a list of strings"),
    ],
)
def test_record_bad_input(answer: Any, contexts: Any, message: str) -> None:
    ragops, sink = _ragops()
    with pytest.raises(RagopsError) as info:
        ragops.record(QUESTION, answer, contexts)
    assert str(info.value) == message
    assert sink == []


def test_judge_failure_is_a_missing_score_not_an_exception() -> None:
    sink: list[Record] = []
    ragops = _make(_BrokenJudge(), 2, sink)
    scores = ragops.record(QUESTION, ANSWER, [CONTEXT])
    # Every metric gets its own error entry: never one stand-in for the whole sample.
    assert scores == dict.fromkeys(QUALITY_METRICS)
    for metric in QUALITY_METRICS:
        assert sink[0].scores[metric] == {
            "value": None,
            "judge": "broken",
            "error": "judge broken failed: RuntimeError: judge is down",
        }
    assert not sink[0].passed()


# -- evaluate: sync and async, order and concurrency ---------------------------------------


def test_evaluate_sync_keeps_case_order() -> None:
    ragops, sink = _ragops(concurrency=4)
    cases = _cases(12)

    def pipeline(case: Case) -> dict[str, Any]:
        time.sleep(_delay(case))
        return _answer(case)

    result = ragops.evaluate(pipeline, cases)
    assert [r.case_id for r in result.records] == [c.id for c in cases]
    assert [r.answer for r in result.records] == [f"{ANSWER} [{c.id}]" for c in cases]
    assert sink == result.records
    assert result.metrics["records"] == 12.0
    assert result.metrics["faithfulness_mean"] == 1.0
    assert result.metrics["error_rate"] == 0.0
    assert all(r.reference == "pg_basebackup makes backups." for r in result.records)


def test_evaluate_async_keeps_case_order() -> None:
    ragops, sink = _ragops(concurrency=4)
    cases = _cases(12)

    async def pipeline(case: Case) -> dict[str, Any]:
        await asyncio.sleep(_delay(case))
        return _answer(case)

    result = ragops.evaluate(pipeline, cases)
    assert [r.case_id for r in result.records] == [c.id for c in cases]
    assert sink == result.records
    assert result.metrics["faithfulness_mean"] == 1.0


@pytest.mark.parametrize("concurrency", [1, 3])
def test_sync_concurrency_bound(concurrency: int) -> None:
    ragops, _ = _ragops(concurrency=concurrency)
    counter = _InFlight()
    # The first `concurrency` calls wait for each other: this passes only if that many
    # really run at once, and the in-flight peak shows no more ever do.
    barrier = threading.Barrier(concurrency, timeout=10)
    started = 0

    def pipeline(case: Case) -> dict[str, Any]:
        nonlocal started
        counter.enter()
        try:
            with counter.lock:
                started += 1
                first_round = started <= concurrency
            if first_round:
                barrier.wait()
            time.sleep(_delay(case))
            return _answer(case)
        finally:
            counter.leave()

    result = ragops.evaluate(pipeline, _cases(10))
    assert result.errors == []
    assert counter.peak == concurrency
    assert counter.now == 0


@pytest.mark.parametrize("concurrency", [1, 3])
def test_async_concurrency_bound(concurrency: int) -> None:
    ragops, _ = _ragops(concurrency=concurrency)
    counter = _InFlight()
    started = 0
    ready = 0

    async def pipeline(case: Case) -> dict[str, Any]:
        nonlocal started, ready
        counter.enter()
        try:
            started += 1
            if started <= concurrency:
                ready += 1
                # The first round waits until all of it is in flight.
                for _ in range(1000):
                    if ready >= concurrency:
                        break
                    await asyncio.sleep(0.001)
            await asyncio.sleep(_delay(case))
            return _answer(case)
        finally:
            counter.leave()

    result = ragops.evaluate(pipeline, _cases(10))
    assert result.errors == []
    assert counter.peak == concurrency


def test_async_callable_object_is_awaited() -> None:
    class Pipeline:
        async def __call__(self, case: Case) -> dict[str, Any]:
            await asyncio.sleep(0)
            return _answer(case)

    ragops, _ = _ragops()
    result = ragops.evaluate(Pipeline(), _cases(3))
    assert [r.error for r in result.records] == [None, None, None]


def test_partial_of_async_function_is_awaited() -> None:
    async def pipeline(case: Case, suffix: str) -> dict[str, Any]:
        return {"answer": ANSWER + suffix, "contexts": [CONTEXT]}

    ragops, _ = _ragops()
    result = ragops.evaluate(functools.partial(pipeline, suffix="!"), _cases(2))
    assert [r.answer for r in result.records] == [ANSWER + "!"] * 2


def test_sync_pipeline_returning_a_coroutine_fails_clearly() -> None:
    async def inner(case: Case) -> dict[str, Any]:
        return _answer(case)

    ragops, sink = _ragops()
    with pytest.raises(PipelineFailed):
        ragops.evaluate(lambda case: inner(case), _cases(2))
    assert sink[0].error == (
        "RagopsError: a sync pipeline returned an awaitable; define it with async def"
    )


# -- variants ------------------------------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True])
def test_variants_call_pipeline_with_each_variant(is_async: bool) -> None:
    calls: list[tuple[str, str]] = []
    lock = threading.Lock()

    def answer(case: Case, variant: str) -> dict[str, Any]:
        with lock:
            calls.append((case.id, variant))
        # "bad" answers from nothing in the contexts: low faithfulness.
        text = (
            "Bananas are yellow fruit grown in tropical countries." if variant == "bad" else ANSWER
        )
        return {
            "answer": text,
            "contexts": [CONTEXT],
            "cost_usd": 0.01 if variant == "bad" else 0.02,
        }

    def sync_pipeline(case: Case, variant: str) -> dict[str, Any]:
        time.sleep(_delay(case))
        return answer(case, variant)

    async def async_pipeline(case: Case, variant: str) -> dict[str, Any]:
        await asyncio.sleep(_delay(case))
        return answer(case, variant)

    ragops, _ = _ragops(concurrency=3)
    cases = _cases(3)
    result = ragops.evaluate(async_pipeline if is_async else sync_pipeline, cases, ["good", "bad"])
    assert sorted(calls) == sorted((c.id, v) for c in cases for v in ("good", "bad"))
    assert [(r.case_id, r.variant) for r in result.records] == [
        (c.id, v) for c in cases for v in ("good", "bad")
    ]
    assert sorted(result.variants) == ["bad", "good"]
    assert result.variants["good"]["faithfulness_mean"] == 1.0
    assert result.variants["bad"]["faithfulness_mean"] == 0.0
    assert result.best_variant() == "good"
    assert result.best_variant("cost_per_query_usd") == "bad"


# -- failures ------------------------------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True])
def test_pipeline_exception_raises_after_keeping_every_record(is_async: bool) -> None:
    def answer(case: Case) -> dict[str, Any]:
        if case.id in ("c1", "c3"):
            raise ValueError(f"boom {case.id}")
        return _answer(case)

    async def async_pipeline(case: Case) -> dict[str, Any]:
        await asyncio.sleep(_delay(case))
        return answer(case)

    ragops, sink = _ragops(concurrency=2)
    with pytest.raises(PipelineFailed) as info:
        ragops.evaluate(async_pipeline if is_async else answer, _cases(5))
    assert str(info.value) == "2 of 5 pipeline calls failed; first: case 'c1': ValueError: boom c1"
    assert [r.case_id for r in sink] == ["c0", "c1", "c2", "c3", "c4"]
    assert [r.error for r in sink] == [
        None,
        "ValueError: boom c1",
        None,
        "ValueError: boom c3",
        None,
    ]
    failed = sink[1]
    assert (failed.answer, failed.scores, failed.cost_usd, failed.latency_s) == ("", {}, None, None)
    assert failed.question == f"{QUESTION} (1)"
    assert sink[0].scores["faithfulness"]["value"] == 1.0  # the others were scored
    assert isinstance(info.value, AssertionError)  # so pytest reports a plain failure


@pytest.mark.parametrize(
    ("output", "error"),
    [
        ({"contexts": [CONTEXT]}, "RagopsError: pipeline output needs 'answer' and 'contexts'"),
        ({"answer": ANSWER}, "RagopsError: pipeline output needs 'answer' and 'contexts'"),
        (None, "RagopsError: pipeline output needs 'answer' and 'contexts'"),
        ("just a string", "RagopsError: pipeline output needs 'answer' and 'contexts'"),
        ({"answer": 42, "contexts": []}, "RagopsError: answer: answer must be a string, got int"),
        (
            {"answer": ANSWER, "contexts": CONTEXT},
            "RagopsError: contexts: contexts must be a list of strings, got str",
        ),
        (
            {"answer": ANSWER, "contexts": 5},
            "RagopsError: contexts: contexts must be a list of strings, got int",
        ),
        (
            {"answer": ANSWER, "contexts": [], "latency_s": "slow"},
            "RagopsError: latency_s: must be a number, got str 'slow'",
        ),
    ],
)
@pytest.mark.parametrize("is_async", [False, True])
def test_malformed_output_is_an_error_record(output: object, error: str, is_async: bool) -> None:
    def sync_pipeline(case: Case) -> object:
        return output

    async def async_pipeline(case: Case) -> object:
        return output

    ragops, sink = _ragops()
    with pytest.raises(PipelineFailed):
        ragops.evaluate(async_pipeline if is_async else sync_pipeline, _cases(1))
    assert [r.error for r in sink] == [error]


def test_object_output_with_attributes() -> None:
    @dataclass
    class Output:
        answer: str
        contexts: list[str] = field(default_factory=lambda: [CONTEXT])
        usage: dict[str, int] = field(
            default_factory=lambda: {"input_tokens": 0, "output_tokens": 1_000_000}
        )
        model: str = "claude-sonnet-4-5"

    ragops, _ = _ragops()
    result = ragops.evaluate(lambda case: Output(ANSWER), _cases(1))
    assert result.records[0].cost_usd == pytest.approx(15.0)
    assert result.records[0].scores["faithfulness"]["value"] == 1.0


# -- latency and cost ----------------------------------------------------------------------


@pytest.mark.parametrize("is_async", [False, True])
def test_latency_measured_when_not_given(is_async: bool) -> None:
    def sync_pipeline(case: Case) -> dict[str, Any]:
        time.sleep(0.05)
        return _answer(case)

    async def async_pipeline(case: Case) -> dict[str, Any]:
        await asyncio.sleep(0.05)
        return _answer(case)

    ragops, _ = _ragops()
    result = ragops.evaluate(async_pipeline if is_async else sync_pipeline, _cases(2))
    for rec in result.records:
        assert rec.latency_s is not None
        assert 0.05 <= rec.latency_s < 5
    assert result.metrics["latency_p95_s"] is not None


def test_latency_given_by_pipeline_wins() -> None:
    ragops, _ = _ragops()
    result = ragops.evaluate(lambda case: _answer(case, latency_s=7), _cases(2))
    assert [r.latency_s for r in result.records] == [7.0, 7.0]


def test_cost_from_usage_and_model_when_not_given() -> None:
    usage = {"input_tokens": 2000, "output_tokens": 500}

    def pipeline(case: Case) -> dict[str, Any]:
        if case.id == "c0":
            return _answer(case, usage=usage, model="claude-3-5-haiku-20241022")
        if case.id == "c1":
            return _answer(case, usage=usage, model="claude-3-5-haiku", cost_usd=0.5)
        return _answer(case, usage=usage, model="some-local-llm")

    ragops, _ = _ragops()
    result = ragops.evaluate(pipeline, _cases(3))
    costs = [r.cost_usd for r in result.records]
    assert costs[0] == pytest.approx((2000 * 0.8 + 500 * 4.0) / 1e6)
    assert costs[1] == 0.5
    assert costs[2] is None  # unknown model: unknown, never 0
    assert result.metrics["total_cost_usd"] is None
    assert result.metrics["cost_per_query_usd"] is None


def test_no_cases_gives_an_empty_result() -> None:
    ragops, sink = _ragops()
    result = ragops.evaluate(lambda case: _answer(case), [])
    assert result.records == []
    assert sink == []
    assert result.metrics["records"] == 0.0


def test_records_append_to_the_shared_sink() -> None:
    ragops, sink = _ragops()
    ragops.record(QUESTION, ANSWER, [CONTEXT], case_id="manual")
    ragops.evaluate(lambda case: _answer(case), _cases(2))
    assert [r.case_id for r in sink] == ["manual", "c0", "c1"]
    assert ragops.records is sink


def test_async_pipeline_inside_a_running_event_loop() -> None:
    """An async test already runs a loop; evaluate() must still run the async pipeline."""
    import asyncio

    from pytest_ragops.cases import Case
    from pytest_ragops.judge.offline import OfflineJudge

    async def pipe(case: Case) -> dict[str, object]:
        await asyncio.sleep(0)
        return {"answer": "Paris is the capital.", "contexts": ["Paris is the capital."]}

    sink: list[Record] = []

    async def inside_loop() -> list[str | None]:
        ragops = _make(OfflineJudge(), 2, sink, test_id="t::x")
        result = ragops.evaluate(pipe, [Case(id="a", question="Capital?")])
        return [r.case_id for r in result.records]

    assert asyncio.run(inside_loop()) == ["a"]
    assert len(sink) == 1


# -- issue 8: one session loop, one limit, pools, values checked, lineage ------------------


class _SlowAsyncJudge:
    """An async judge that counts calls in flight into a shared counter."""

    name = "slow-async"

    def __init__(self, counter: _InFlight, delay: float = 0.005) -> None:
        self.counter = counter
        self.delay = delay
        self.loops: set[int] = set()

    async def ascore(self, sample: Sample, metrics: tuple[str, ...]) -> list[Score]:
        self.loops.add(id(asyncio.get_running_loop()))
        self.counter.enter()
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.counter.leave()
        return [Score(m, 0.5, self.name) for m in metrics]

    async def aclose(self) -> None:
        return None


def test_evaluate_calls_share_one_loop() -> None:
    """A module-level async client bound to the first call's loop works on the second."""
    ragops, _ = _ragops()
    state: dict[str, Any] = {}

    async def pipeline(case: Case) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        if "lock" not in state:
            state["lock"] = asyncio.Lock()  # bound to this loop on first use
            state["loop"] = loop
        async with state["lock"]:
            await asyncio.sleep(0)
        assert loop is state["loop"]
        return _answer(case)

    ragops.evaluate(pipeline, _cases(3))
    ragops.evaluate(pipeline, _cases(3))
    assert not state["loop"].is_closed()


def test_keepalive_http_client_across_calls(httpserver: Any) -> None:
    """An ``httpx.AsyncClient`` made at module level keeps its connections across calls."""
    httpx = pytest.importorskip("httpx")
    httpserver.expect_request("/answer").respond_with_json({"answer": ANSWER})
    client = httpx.AsyncClient()
    ragops, _ = _ragops()

    async def pipeline(case: Case) -> dict[str, Any]:
        data = (await client.get(httpserver.url_for("/answer"))).json()
        return {"answer": data["answer"], "contexts": [CONTEXT]}

    try:
        for _ in range(2):
            result = ragops.evaluate(pipeline, _cases(2))
            assert len(result.records) == 2
    finally:
        ragops.session.run(client.aclose)


@pytest.mark.parametrize("is_async", [False, True])
def test_one_limit_for_pipelines_and_judge_across_threads(is_async: bool) -> None:
    """Two tests' evaluate() at once, pipeline and judge calls: never above the limit."""
    counter = _InFlight()
    judge = _SlowAsyncJudge(counter)
    sink: list[Record] = []
    ragops = _make(judge, 3, sink)

    def sync_pipeline(case: Case) -> dict[str, Any]:
        counter.enter()
        try:
            time.sleep(0.005)
        finally:
            counter.leave()
        return _answer(case)

    async def async_pipeline(case: Case) -> dict[str, Any]:
        counter.enter()
        try:
            await asyncio.sleep(0.005)
        finally:
            counter.leave()
        return _answer(case)

    pipeline = async_pipeline if is_async else sync_pipeline
    threads = [
        threading.Thread(target=ragops.evaluate, args=(pipeline, _cases(10))) for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counter.peak <= 3
    assert ragops.session.limit.peak == 3
    assert len(sink) == 20
    assert len(judge.loops) == 1  # judges always run on the session loop


def test_sync_pipeline_and_sync_judge_run_on_the_session_pool() -> None:
    names: set[str] = set()

    class NamingJudge:
        name = "naming"

        def score(self, sample: Sample, metrics: tuple[str, ...] = QUALITY_METRICS) -> list[Score]:
            names.add(threading.current_thread().name)
            return [Score(m, 0.5, self.name) for m in metrics]

    def pipeline(case: Case) -> dict[str, Any]:
        names.add(threading.current_thread().name)
        return _answer(case)

    ragops = _make(NamingJudge(), 2, [])
    ragops.evaluate(pipeline, _cases(6))
    assert names
    assert all(n.startswith("ragops") for n in names), names


def test_aevaluate_runs_the_pipeline_on_the_callers_loop() -> None:
    counter = _InFlight()
    judge = _SlowAsyncJudge(counter)
    ragops = _make(judge, 4, [])
    seen: set[int] = set()

    async def pipeline(case: Case) -> dict[str, Any]:
        seen.add(id(asyncio.get_running_loop()))
        return _answer(case)

    async def test_body() -> tuple[int, Any]:
        result = await ragops.aevaluate(pipeline, _cases(5))
        return id(asyncio.get_running_loop()), result

    caller_loop, result = asyncio.run(test_body())
    assert seen == {caller_loop}
    assert caller_loop not in judge.loops  # the judge stayed on the session loop
    assert len(result.records) == 5


@pytest.mark.parametrize(
    ("field_name", "value", "message"),
    [
        ("cost_usd", float("nan"), "cost_usd: must be a finite number"),
        ("cost_usd", -0.01, "cost_usd: must be >= 0"),
        ("cost_usd", True, "cost_usd: must be a number"),
        ("latency_s", float("inf"), "latency_s: must be a finite number"),
        ("latency_s", -1.0, "latency_s: must be >= 0"),
        ("usage", {"input_tokens": float("nan"), "output_tokens": 1}, "usage.input_tokens"),
        ("usage", {"input_tokens": -3, "output_tokens": 1}, "usage.input_tokens"),
    ],
)
def test_record_rejects_bad_numbers(field_name: str, value: Any, message: str) -> None:
    ragops, sink = _ragops()
    with pytest.raises(ValueError, match=message):  # a RagopsError is a ValueError
        ragops.record(QUESTION, ANSWER, [CONTEXT], model="claude-haiku-4-5", **{field_name: value})
    assert sink == []


def test_pipeline_nan_cost_is_a_failed_case() -> None:
    ragops, sink = _ragops()
    with pytest.raises(PipelineFailed, match="cost_usd: must be a finite number"):
        ragops.evaluate(lambda case: _answer(case, cost_usd=float("nan")), _cases(2))
    assert all(r.error and "finite" in r.error for r in sink)


def test_numpy_numbers_are_accepted() -> None:
    np = pytest.importorskip("numpy")
    ragops, sink = _ragops()
    ragops.record(QUESTION, ANSWER, [CONTEXT], cost_usd=np.float32(0.5), latency_s=np.float64(1))
    assert sink[0].cost_usd == pytest.approx(0.5)
    assert isinstance(sink[0].latency_s, float)


def test_unknown_model_cost_says_which_model() -> None:
    ragops, sink = _ragops()
    usage = {"input_tokens": 5, "output_tokens": 5}
    ragops.record(QUESTION, ANSWER, [CONTEXT], usage=usage, model="claude-opus-9")
    assert sink[0].cost_usd is None
    assert "claude-opus-9" in (sink[0].cost_error or "")


def test_prompt_variants_carry_lineage(tmp_path: Any) -> None:
    from pytest_ragops.prompts import load_prompt

    (tmp_path / "short.yaml").write_text("template: '{question}'\n", encoding="utf-8")
    prompt = load_prompt(tmp_path / "short.yaml")
    ragops, _ = _ragops()
    seen: list[Any] = []

    def pipeline(case: Case, variant: Any) -> dict[str, Any]:
        seen.append(variant)
        return _answer(case)

    result = ragops.evaluate(pipeline, _cases(2), variants=[prompt, "named"])
    assert prompt in seen  # the pipeline receives the Prompt object itself
    by_variant = {r.variant: r for r in result.records}
    assert by_variant["short"].prompt == {
        "name": "short",
        "version": prompt.version,
        "hash": prompt.sha256,
    }
    assert len(prompt.sha256) == 64
    assert prompt.sha256.startswith(prompt.version)
    assert by_variant["named"].prompt is None


def test_bad_variant_is_refused_before_any_call() -> None:
    ragops, sink = _ragops()
    with pytest.raises(RagopsError, match="a name or a Prompt"):
        ragops.evaluate(lambda case, v: _answer(case), _cases(1), variants=[42])
    assert sink == []


def test_repeats_keep_each_value_and_the_spread() -> None:
    values = iter([0.2, 0.6, 0.4, 0.4])

    class Wobbly:
        name = "wobbly"

        async def ascore(self, sample: Sample, metrics: tuple[str, ...]) -> list[Score]:
            return [Score(m, next(values), self.name) for m in metrics]

        async def aclose(self) -> None:
            return None

    sink: list[Record] = []
    ragops = _make(Wobbly(), 1, sink, metrics=("faithfulness",), repeats=2)
    ragops.record(QUESTION, ANSWER, [CONTEXT])
    ragops.record(QUESTION, ANSWER, [CONTEXT])
    first, second = (r.scores["faithfulness"] for r in sink)
    assert first["value"] == pytest.approx(0.4)
    assert first.get("spread") == pytest.approx(0.4)
    assert first.get("repeats") == [0.2, 0.6]
    assert second.get("spread") == pytest.approx(0.0)
    # Records without a case id get an ordinal, so baselines can tell them apart.
    assert [r.ordinal for r in sink] == [0, 1]
