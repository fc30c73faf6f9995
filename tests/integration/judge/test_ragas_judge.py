"""The ragas judges: collections metrics on Claude (loopback server), non-LLM metrics offline."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.judge.base import QUALITY_METRICS, Sample
from pytest_ragops.judge.ragas_adapter import RagasJudge, RagasNonLLMJudge

if TYPE_CHECKING:
    from tests.integration.judge.messages_server import MessagesServer

CONTEXTS = (
    "PostgreSQL runs a checkpoint every checkpoint_timeout, which defaults to 5 minutes.",
    "Autovacuum workers remove dead tuples left behind by updates and deletes.",
)
QUESTION = "What is the default checkpoint_timeout in PostgreSQL?"
REFERENCE = "The checkpoint_timeout defaults to 5 minutes."
GROUNDED = Sample(
    QUESTION,
    "PostgreSQL checkpoint_timeout defaults to 5 minutes.",
    CONTEXTS,
    reference=REFERENCE,
    reference_contexts=(CONTEXTS[0],),
)
HALLUCINATED = Sample(
    QUESTION,
    "PostgreSQL checkpoint_timeout defaults to 5 minutes. Oracle replicas mirror every commit "
    "through Kafka brokers.",
    CONTEXTS,
)


@pytest.fixture(autouse=True)
def _no_ragas_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAGAS_DO_NOT_TRACK", "true")


def test_ragas_on_claude_orders_grounded_above_hallucinated(
    messages_server: MessagesServer,
) -> None:
    async def run() -> tuple[list[Any], list[Any]]:
        judge = RagasJudge("claude-haiku-4-5", api_key="k", base_url=messages_server.url)
        try:
            return await judge.ascore(GROUNDED), await judge.ascore(HALLUCINATED)
        finally:
            await judge.aclose()

    good, bad = asyncio.run(run())
    by = {s.metric: s for s in good}
    assert [s.metric for s in good] == list(QUALITY_METRICS)
    assert by["faithfulness"].value == 1.0
    assert {s.metric: s.value for s in bad}["faithfulness"] == 0.5
    assert by["context_recall"].value == 1.0
    assert by["context_precision"].value == pytest.approx(1.0)
    assert 0.0 < by["answer_relevancy"].value <= 1.0
    assert by["answer_relevancy"].judge.startswith("ragas:answer_relevancy+lexical:")
    # No reference: recall is not applicable (not 0, not a failure) and costs no call.
    recall = {s.metric: s for s in bad}["context_recall"]
    assert (recall.value, recall.applicable, recall.error) == (None, False, "no reference")
    assert all(s.cost_usd is not None and s.cost_usd > 0 for s in good)
    # ragas' own request shape goes through our caller: nothing anthropic 2.x rejects.
    assert messages_server.requests
    for body in messages_server.requests:
        assert not {"temperature", "top_p", "tool_choice", "tools"} & set(body)


def test_nonllm_judge_runs_offline_and_needs_reference_contexts() -> None:
    judge = RagasNonLLMJudge()
    good = asyncio.run(judge.ascore(GROUNDED))
    by = {s.metric: s for s in good}
    assert by["context_recall"].value == 1.0
    assert by["context_precision"].value == pytest.approx(1.0)
    assert by["context_precision"].judge.startswith("ragas:context_precision:nonllm")
    assert by["faithfulness"].judge.startswith("offline:")
    off_topic = Sample(QUESTION, "x", (CONTEXTS[1],), reference_contexts=(CONTEXTS[0],))
    recall = {s.metric: s for s in asyncio.run(judge.ascore(off_topic))}["context_recall"]
    assert recall.value is not None
    assert recall.value < 0.5
    [na] = asyncio.run(judge.ascore(HALLUCINATED, ("context_recall",)))
    assert (na.value, na.applicable, na.error) == (None, False, "no reference_contexts")
