"""The Anthropic judge through the real ``anthropic`` client against the loopback Messages API."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.judge.anthropic import DEFAULT_MODEL, AnthropicJudge
from pytest_ragops.judge.anthropic_prompts import PROMPT_VERSIONS
from pytest_ragops.judge.base import Sample
from pytest_ragops.judge.messages import RetryPolicy
from pytest_ragops.pricing import cost_from_usage

if TYPE_CHECKING:
    from types import ModuleType

    from tests.integration.judge.messages_server import MessagesServer

CONTEXTS = (
    "PostgreSQL runs a checkpoint every checkpoint_timeout, which defaults to 5 minutes.",
    "The WAL is flushed to disk before the data pages it describes.",
    "Autovacuum workers remove dead tuples left behind by updates and deletes.",
)
QUESTION = "What is the default checkpoint_timeout in PostgreSQL?"
GROUNDED = Sample(
    QUESTION,
    "PostgreSQL checkpoint_timeout defaults to 5 minutes. A checkpoint runs every "
    "checkpoint_timeout.",
    CONTEXTS,
    reference="The checkpoint_timeout defaults to 5 minutes.",
    case_id="grounded",
)
HALLUCINATED = Sample(
    QUESTION,
    "PostgreSQL checkpoint_timeout defaults to 5 minutes. Oracle replicas mirror "
    "every commit through Kafka brokers.",
    CONTEXTS,
    reference="The checkpoint_timeout defaults to 5 minutes.",
    case_id="hallucinated",
)


class Waits:
    """Records the back-off waits the judge asks for, without sleeping them."""

    def __init__(self) -> None:
        self.seen: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seen.append(seconds)


def judge_for(server: MessagesServer, waits: Waits | None = None, **policy: Any) -> AnthropicJudge:
    return AnthropicJudge(
        api_key="test-key",
        base_url=server.url,
        policy=RetryPolicy(**policy),
        sleep=waits,
    )


async def score(judge: AnthropicJudge, sample: Sample, *metrics: str) -> list[Any]:
    try:
        return await judge.ascore(sample, metrics)
    finally:
        await judge.aclose()


def test_grounded_answer_outscores_hallucinated(messages_server: MessagesServer) -> None:
    async def run() -> tuple[list[Any], list[Any]]:
        judge = judge_for(messages_server)
        try:
            return await judge.ascore(GROUNDED, ("faithfulness",)), await judge.ascore(
                HALLUCINATED, ("faithfulness",)
            )
        finally:
            await judge.aclose()

    [good], [bad] = asyncio.run(run())
    assert good.value == 1.0
    assert bad.value == 0.5
    assert "Kafka" in bad.rationale
    assert bad.rationale.startswith("1 of 2 claims unsupported")
    assert good.judge == f"anthropic:{DEFAULT_MODEL}:{PROMPT_VERSIONS['faithfulness']}"
    # Two calls (claims, verdicts) per score, each paid: cost is the priced sum of their usage.
    assert good.usage["input_tokens"] > 0
    assert good.cost_usd == pytest.approx(cost_from_usage(DEFAULT_MODEL, dict(good.usage)))


def test_request_shape_has_no_sampling_params_or_tool_choice(
    messages_server: MessagesServer,
) -> None:
    [rel] = asyncio.run(score(judge_for(messages_server), GROUNDED, "answer_relevancy"))
    assert rel.value is not None
    [body] = messages_server.requests
    assert sorted(body) == ["max_tokens", "messages", "model", "output_config", "system"]
    assert body["model"] == DEFAULT_MODEL
    assert body["output_config"]["format"]["type"] == "json_schema"
    assert body["output_config"]["format"]["schema"]["additionalProperties"] is False


def test_all_four_metrics_and_reference_rules(messages_server: MessagesServer) -> None:
    no_ref = Sample(QUESTION, GROUNDED.answer, CONTEXTS)
    scores = asyncio.run(
        score(
            judge_for(messages_server),
            no_ref,
            "answer_relevancy",
            "context_precision",
            "context_recall",
        )
    )
    rel, prec, recall = scores
    assert rel.value == 1.0
    # The first context is the one useful for the answer: average precision at rank 1.
    assert prec.value == 1.0
    assert "useful for the answer: 1 of 3" in prec.rationale
    assert (recall.value, recall.applicable, recall.error) == (None, False, "no reference")
    assert len(messages_server.requests) == 2  # no call for the inapplicable metric


def test_context_precision_penalises_a_useful_passage_ranked_low(
    messages_server: MessagesServer,
) -> None:
    reordered = Sample(QUESTION, GROUNDED.answer, CONTEXTS[::-1], reference=GROUNDED.reference)
    [prec] = asyncio.run(score(judge_for(messages_server), reordered, "context_precision"))
    assert prec.value == pytest.approx(1 / 3)


@pytest.mark.parametrize(
    ("fault", "expected_wait"),
    [
        ({"kind": "status", "status": 429, "headers": {"retry-after": "7"}}, 7.0),
        ({"kind": "status", "status": 429, "headers": {"retry-after-ms": "1500"}}, 1.5),
        # A server asking for ten minutes is capped at the documented maximum.
        ({"kind": "status", "status": 529, "headers": {"retry-after": "600"}}, 30.0),
    ],
)
def test_retry_after_is_honoured_and_capped(
    messages_server: MessagesServer,
    server_module: ModuleType,
    fault: dict[str, Any],
    expected_wait: float,
) -> None:
    messages_server.script(server_module.Fault(**fault))
    waits = Waits()
    [rel] = asyncio.run(score(judge_for(messages_server, waits), GROUNDED, "answer_relevancy"))
    assert rel.value == 1.0
    assert waits.seen == [expected_wait]
    assert len(messages_server.requests) == 2  # the SDK did not retry on its own


def test_5xx_backs_off_then_gives_up_with_an_error(
    messages_server: MessagesServer, server_module: ModuleType
) -> None:
    fault = server_module.Fault("status", status=500)
    messages_server.script(*[fault] * 3)
    waits = Waits()
    judge = judge_for(messages_server, waits, max_attempts=3, base_delay_s=0.5)
    [rel] = asyncio.run(score(judge, GROUNDED, "answer_relevancy"))
    assert rel.value is None
    assert rel.error == "judge API error 500: injected 500 (gave up after 3 attempts)"
    assert len(waits.seen) == 2
    assert 0.25 <= waits.seen[0] <= 0.5
    assert 0.5 <= waits.seen[1] <= 1.0
    assert judge.stats.retries == 2


def test_client_error_is_not_retried(messages_server: MessagesServer) -> None:
    judge = AnthropicJudge("claude-haiku-4-5", api_key="k", base_url=messages_server.url + "/nope")
    [rel] = asyncio.run(score(judge, GROUNDED, "answer_relevancy"))
    assert rel.value is None
    assert rel.error is not None
    assert rel.error.startswith("judge API error 404")
    assert judge.stats.calls == 1


def test_timeout_is_retried(messages_server: MessagesServer, server_module: ModuleType) -> None:
    messages_server.script(server_module.Fault("delay", delay_s=1.5))
    waits = Waits()
    judge = judge_for(messages_server, waits, timeout_s=0.5)
    [rel] = asyncio.run(score(judge, GROUNDED, "answer_relevancy"))
    assert rel.value == 1.0
    assert len(waits.seen) == 1
    assert judge.stats.retries == 1


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("malformed", "malformed judgement"),
        ("refusal", "judge refused to answer"),
        ("max_tokens", "judgement truncated at max_tokens=4096"),  # 1024, doubled twice
    ],
)
def test_bad_judgement_is_retried_then_an_error(
    messages_server: MessagesServer, server_module: ModuleType, kind: str, reason: str
) -> None:
    # Once: the retry succeeds and the paid-for failed attempt is still in the cost.
    messages_server.script(server_module.Fault(kind))
    [ok] = asyncio.run(score(judge_for(messages_server), GROUNDED, "faithfulness"))
    assert ok.value == 1.0
    assert len(messages_server.requests) == 3
    # Every time: no score, the reason, and never a number.
    messages_server.script(*[server_module.Fault(kind)] * 3)
    [bad] = asyncio.run(score(judge_for(messages_server), GROUNDED, "faithfulness"))
    assert bad.value is None
    assert bad.error.startswith(reason)
    assert bad.error.endswith("(after 3 judgements)")
    assert bad.cost_usd is not None
    assert bad.cost_usd > 0


def test_truncation_retry_doubles_the_token_allowance(
    messages_server: MessagesServer, server_module: ModuleType
) -> None:
    messages_server.script(server_module.Fault("max_tokens"))
    asyncio.run(score(judge_for(messages_server), GROUNDED, "answer_relevancy"))
    assert [r["max_tokens"] for r in messages_server.requests] == [512, 1024]


def test_verdict_count_mismatch_is_inconsistent(
    messages_server: MessagesServer, server_module: ModuleType
) -> None:
    # The claims call passes; each verdicts call drops one verdict.
    messages_server.script(server_module.Fault("none"), *[server_module.Fault("wrong_count")] * 3)
    [bad] = asyncio.run(score(judge_for(messages_server), GROUNDED, "faithfulness"))
    assert bad.value is None
    assert bad.error.startswith("inconsistent judgement: expected one verdict per claim 1..2")


def test_peak_in_flight_never_exceeds_the_engine_limit(
    server_module: ModuleType,
) -> None:
    """One semaphore slot per ascore call, as the engine does; retries stay inside the slot."""
    limit = 4

    async def run(server: MessagesServer) -> list[Any]:
        judge = judge_for(server, Waits())
        slots = asyncio.Semaphore(limit)

        async def one(sample: Sample, metric: str) -> Any:
            async with slots:
                [s] = await judge.ascore(sample, (metric,))
                return s

        try:
            jobs = [
                one(Sample(QUESTION, f"{GROUNDED.answer} Case {n}.", CONTEXTS), metric)
                for n in range(12)
                for metric in ("faithfulness", "answer_relevancy")
            ]
            return await asyncio.gather(*jobs)
        finally:
            await judge.aclose()

    with server_module.MessagesServer(latency_s=0.05) as server:
        server.script(
            *[server_module.Fault("status", status=429, headers={"retry-after": "0"})] * 6,
            *[server_module.Fault("status", status=529)] * 4,
        )
        scores = asyncio.run(run(server))
        assert all(s.value is not None for s in scores)
        assert 2 <= server.peak_in_flight <= limit
        assert len(server.requests) == 12 * 3 + 10
