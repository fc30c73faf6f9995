"""The judge budget wrapper, the cost forecast and the progress line."""

from __future__ import annotations

import asyncio
import io
from typing import Any

import pytest

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.judge.base import Sample, Score
from pytest_ragops.judge.budget import BudgetJudge, forecast_cost, parse_budget, prior_costs
from pytest_ragops.judge.messages import JudgeStats
from pytest_ragops.judge.progress import ProgressLine
from pytest_ragops.pricing import cost_from_usage

SAMPLE = Sample("Q?", "A.", ("c",))


class PaidJudge:
    name = "paid"

    def __init__(self, cost: float | None = 0.004, usage: dict[str, int] | None = None) -> None:
        self.cost = cost
        self.usage = usage or {"input_tokens": 1000, "output_tokens": 100}
        self.calls = 0

    async def ascore(self, sample: Sample, metrics: tuple[str, ...]) -> list[Score]:
        self.calls += 1
        await asyncio.sleep(0)
        return [Score(m, 0.9, "paid:x", cost_usd=self.cost, usage=self.usage) for m in metrics]

    async def aclose(self) -> None:
        return None


def test_budget_stops_new_calls_and_says_so() -> None:
    inner = PaidJudge()
    judge = BudgetJudge(inner, budget_usd=0.01)

    async def go() -> list[Score]:
        out: list[Score] = []
        for _ in range(5):
            out += await judge.ascore(SAMPLE, ("faithfulness",))
        return out

    scores = asyncio.run(go())
    assert inner.calls == 2  # a third 0.004 call would pass 0.01: it is never sent
    assert [s.value for s in scores] == [0.9, 0.9, None, None, None]
    assert scores[2].error == "budget exhausted ($0.0080 of $0.0100 spent)"
    info = judge.report_info()["budget"]
    assert info["stopped_run"] is True
    assert info["refused_calls"] == 3
    assert info["spent_usd"] == pytest.approx(0.008)
    assert info["message"].startswith("judge budget stopped the run: 3 scores not judged")


def test_concurrent_calls_reserve_their_expected_cost() -> None:
    inner = PaidJudge(cost=0.004)
    judge = BudgetJudge(inner, budget_usd=0.01)

    async def go() -> list[Score]:
        [first] = await judge.ascore(SAMPLE, ("faithfulness",))  # measures the mean cost
        rest = await asyncio.gather(*(judge.ascore(SAMPLE, ("faithfulness",)) for _ in range(8)))
        return [first, *(s for r in rest for s in r)]

    scores = asyncio.run(go())
    # 0.004 spent, + 0.004 reserved for the call in flight, + 0.004 for the next: over 0.01.
    assert inner.calls == 2
    assert sum(s.value is not None for s in scores) == 2


def test_concurrent_first_calls_probe_one_at_a_time_without_a_prior() -> None:
    inner = PaidJudge(cost=0.004)
    judge = BudgetJudge(inner, budget_usd=0.01)

    async def go() -> list[Score]:
        rest = await asyncio.gather(*(judge.ascore(SAMPLE, ("faithfulness",)) for _ in range(8)))
        return [s for r in rest for s in r]

    scores = asyncio.run(go())
    # Nothing measured yet: one probe, then the mean cost caps the rest (0.008 spent).
    assert inner.calls == 2
    assert sum(s.value is not None for s in scores) == 2
    assert judge.spent_usd <= 0.01


def test_a_prior_over_the_budget_refuses_the_first_call() -> None:
    inner = PaidJudge(cost=0.004)
    judge = BudgetJudge(inner, budget_usd=0.001, prior={"faithfulness": 0.004})
    scores = asyncio.run(judge.ascore(SAMPLE, ("faithfulness", "answer_relevancy")))
    assert inner.calls == 1  # answer_relevancy has no prior: one probe is allowed
    assert scores[0].error == "budget exhausted ($0.0000 of $0.0010 spent)"
    assert judge.report_info()["budget"]["stopped_run"] is True


def test_prior_costs_price_typical_tokens() -> None:
    model = "claude-haiku-4-5"
    prior = prior_costs(model, {"faithfulness": (1000, 100), "x": (0, 0)})
    expected = cost_from_usage(model, {"input_tokens": 1000, "output_tokens": 100})
    assert prior["faithfulness"] == pytest.approx(expected)
    assert prior_costs("no-such-model", {"faithfulness": (1000, 100)}) == {}


def test_unknown_cost_stops_the_budget_fail_closed() -> None:
    judge = BudgetJudge(PaidJudge(cost=None), budget_usd=1.0)
    first = asyncio.run(judge.ascore(SAMPLE, ("faithfulness",)))
    second = asyncio.run(judge.ascore(SAMPLE, ("faithfulness",)))
    assert first[0].value == 0.9
    assert second[0].error == "budget exhausted (judge cost unknown)"
    assert "cost of a judge response unknown" in judge.report_info()["budget"]["message"]


def test_budget_not_reached_reports_no_stop() -> None:
    judge = BudgetJudge(PaidJudge(), budget_usd=5.0)
    asyncio.run(judge.ascore(SAMPLE, ("faithfulness",)))
    assert judge.report_info()["budget"]["stopped_run"] is False
    assert judge.report_info()["budget"]["message"] is None


@pytest.mark.parametrize("raw", ["x", "0", "-1", "nan", "inf", True])
def test_bad_budget_is_a_usage_error(raw: Any) -> None:
    with pytest.raises(RagopsUsageError, match="--ragops-budget"):
        parse_budget(raw)


def test_parse_budget_accepts_numbers() -> None:
    assert parse_budget("2.5") == 2.5
    assert parse_budget(None) is None


def test_forecast_uses_measured_tokens_and_flags_the_budget() -> None:
    fc = forecast_cost(
        cases=200,
        metrics=("faithfulness", "answer_relevancy"),
        repeats=2,
        model="claude-haiku-4-5",
        measured={"faithfulness": (2000.0, 500.0)},
        estimated={"answer_relevancy": (500, 80), "faithfulness": (1, 1)},
        budget_usd=1.0,
    )
    per_case = cost_from_usage("claude-haiku-4-5", {"input_tokens": 2000, "output_tokens": 500})
    per_case_rel = cost_from_usage("claude-haiku-4-5", {"input_tokens": 500, "output_tokens": 80})
    assert per_case is not None
    assert per_case_rel is not None
    assert fc.calls == 800
    assert fc.cost_usd == pytest.approx(400 * (per_case + per_case_rel))
    assert fc.basis == {"faithfulness": "measured", "answer_relevancy": "estimated"}
    assert fc.exceeds_budget
    assert "exceeds --ragops-budget=$1.0000" in fc.message()


def test_forecast_with_unpriced_model_is_unknown_and_exceeds() -> None:
    fc = forecast_cost(
        cases=1,
        metrics=("faithfulness",),
        repeats=1,
        model="claude-future-9",
        measured={},
        estimated={"faithfulness": (10, 10)},
        budget_usd=1.0,
    )
    assert fc.cost_usd is None
    assert fc.exceeds_budget
    assert "unknown" in fc.message()


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_line_on_a_tty_only() -> None:
    stats = JudgeStats(in_flight=3, retries=2, cost_usd=0.125)
    tty = Tty()
    line = ProgressLine(tty, total=10, counters=stats, min_interval_s=0)
    line.case_done(4)
    assert line.render() == (
        "ragops: cases 4/10 · judge calls in flight 3 · retries 2 · judge spend $0.1250"
    )
    assert tty.getvalue() == "\r" + line.render()
    line.close()
    assert tty.getvalue().endswith("\r")
    pipe = io.StringIO()
    quiet = ProgressLine(pipe, total=10, counters=stats, min_interval_s=0)
    quiet.case_done(10)
    quiet.close()
    assert pipe.getvalue() == ""


def test_progress_line_throttles() -> None:
    now = [0.0]
    tty = Tty()
    line = ProgressLine(tty, total=3, min_interval_s=1.0, clock=lambda: now[0])
    line.case_done()
    line.case_done()
    assert tty.getvalue().count("\r") == 1
    now[0] = 2.0
    line.case_done()
    assert tty.getvalue().endswith("ragops: cases 3/3")
