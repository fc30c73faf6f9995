"""The validating wrapper: whatever a judge does, each metric gets a checked score."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.judge.base import Sample, Score
from pytest_ragops.judge.validate import CheckedJudge

SAMPLE = Sample("q?", "a.", ("ctx",))
METRICS = ("faithfulness", "answer_relevancy")


class _Sync:
    name = "sync-test"

    def __init__(self, result: Any) -> None:
        self.result = result

    def score(self, sample: Sample, metrics: tuple[str, ...] = ()) -> Any:
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


class _Async:
    name = "async-test"
    closed = False

    async def ascore(self, sample: Sample, metrics: tuple[str, ...]) -> list[Score]:
        return [Score(m, 0.5, "async-test") for m in metrics]

    async def aclose(self) -> None:
        self.closed = True


def _run(judge: Any, metrics: tuple[str, ...] = METRICS) -> list[Score]:
    return asyncio.run(CheckedJudge(judge).ascore(SAMPLE, metrics))


def test_an_exception_fails_every_metric() -> None:
    scores = _run(_Sync(RuntimeError("boom")))
    assert [s.metric for s in scores] == list(METRICS)
    assert all(s.value is None and s.error and "boom" in s.error for s in scores)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -0.1, 1.5, True, "0.9"])
def test_bad_values_never_become_a_number(bad: Any) -> None:
    (score,) = _run(_Sync([Score("faithfulness", bad, "x")]), ("faithfulness",))
    assert score.value is None
    assert score.error


def test_a_missing_metric_is_an_error_for_that_metric_only() -> None:
    scores = _run(_Sync([Score("faithfulness", 0.8, "x")]))
    assert scores[0].value == 0.8
    assert scores[1].value is None
    assert "no answer_relevancy" in (scores[1].error or "")


def test_not_a_list_fails_all() -> None:
    scores = _run(_Sync(None))
    assert all(s.value is None for s in scores)


def test_value_none_without_reason_gets_one() -> None:
    (score,) = _run(_Sync([Score("faithfulness", None, "x")]), ("faithfulness",))
    assert score.error == "judge returned no value and no reason"


def test_not_applicable_is_kept() -> None:
    raw = [Score("context_recall", None, "x", error="no reference", applicable=False)]
    (score,) = _run(_Sync(raw), ("context_recall",))
    assert score.applicable is False
    assert score.value is None


def test_negative_judge_cost_is_refused() -> None:
    (score,) = _run(_Sync([Score("faithfulness", 0.8, "x", cost_usd=-1.0)]), ("faithfulness",))
    assert score.value is None
    assert "cost" in (score.error or "")


def test_async_judge_and_close() -> None:
    inner = _Async()
    checked = CheckedJudge(inner)
    assert not checked.scores_together
    scores = asyncio.run(checked.ascore(SAMPLE, METRICS))
    assert [s.value for s in scores] == [0.5, 0.5]
    asyncio.run(checked.aclose())
    assert inner.closed


def test_sync_judges_score_together() -> None:
    assert CheckedJudge(_Sync([])).scores_together


def test_not_a_judge_is_a_usage_error() -> None:
    with pytest.raises(RagopsUsageError, match="not a judge"):
        CheckedJudge(object())  # type: ignore[arg-type]
