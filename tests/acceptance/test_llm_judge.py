"""The Claude judge end to end: ``pytest --ragops-eval --ragops-judge=anthropic`` with the real
``anthropic`` client against the loopback Messages API (``ANTHROPIC_BASE_URL``): the report's
judge header, judge cost in total and per metric, the cache across runs, replay and the budget."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.integration.judge.conftest import load_server_module

if TYPE_CHECKING:
    from collections.abc import Iterator

    from tests.integration.judge.messages_server import MessagesServer

pytest_plugins = ["pytester"]

CASES = """\
cases:
  - id: checkpoint
    question: What is the default checkpoint_timeout in PostgreSQL?
    reference: The checkpoint_timeout defaults to 5 minutes.
  - id: wal
    question: When is the WAL flushed?
    reference: The WAL is flushed to disk before the data pages it describes.
"""

EVAL = """\
import pytest
from pytest_ragops import load_cases

DOCS = {
    "checkpoint": "PostgreSQL checkpoint_timeout defaults to 5 minutes.",
    "wal": "The WAL is flushed to disk before the data pages it describes.",
}

def grounded(case):
    return {"answer": DOCS[case.id], "contexts": [DOCS[case.id]], "cost_usd": 0.001}

@pytest.mark.ragops_eval
def test_suite(ragops):
    ragops.evaluate(grounded, load_cases("cases.yaml"))
"""

METRICS = "faithfulness,answer_relevancy"


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[MessagesServer]:
    with load_server_module().MessagesServer() as srv:
        monkeypatch.setenv("ANTHROPIC_API_KEY", "test-key")
        monkeypatch.setenv("ANTHROPIC_BASE_URL", srv.url)
        yield srv


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", cases=CASES)
    pytester.makepyfile(test_eval=EVAL)
    return pytester


def _run(p: pytest.Pytester, *args: str) -> tuple[pytest.RunResult, dict[str, Any]]:
    result = p.runpytest_subprocess(
        "--ragops-eval", "--ragops-metrics", METRICS, "-p", "no:cacheprovider", *args
    )
    report: dict[str, Any] = json.loads((p.path / ".ragops" / "report.json").read_text())
    return result, report


def test_auto_picks_claude_and_reports_its_cost_per_metric(
    project: pytest.Pytester, server: MessagesServer
) -> None:
    result, report = _run(
        project, "--ragops-judge", "auto", "--ragops-threshold", "faithfulness=0.5"
    )
    assert result.ret == 0, result.stdout.str()
    assert report["judge"] == "auto: anthropic (ANTHROPIC_API_KEY is set)"
    assert report["run"]["judge_option"] == "auto"
    metrics = report["metrics"]
    per_metric = [
        metrics["judge_cost_usd_faithfulness"],
        metrics["judge_cost_usd_answer_relevancy"],
    ]
    assert all(cost > 0 for cost in per_metric)
    assert metrics["judge_cost_usd"] == pytest.approx(sum(per_metric))
    assert metrics["total_cost_usd"] == pytest.approx(0.002)  # the app's cost, apart
    assert report["judge_info"]["cache"]["misses"] == 4
    markdown = (project.path / ".ragops" / "report.md").read_text()
    assert "Judge cost $" in markdown
    assert "faithfulness $" in markdown


def test_second_run_is_served_by_the_cache_and_replay_makes_no_call(
    project: pytest.Pytester, server: MessagesServer
) -> None:
    first, cold = _run(project, "--ragops-judge", "anthropic")
    assert first.ret == 0, first.stdout.str()
    calls = len(server.requests)
    assert calls == 2 * 2 + 2  # faithfulness: claims, then verdicts; relevancy: one call
    second, warm = _run(project, "--ragops-judge", "anthropic", "--ragops-cache", "replay")
    assert second.ret == 0, second.stdout.str()
    assert len(server.requests) == calls
    assert warm["judge_info"]["cache"]["hits"] == 4
    scores = [{m: s["value"] for m, s in r["scores"].items()} for r in cold["records"]]
    assert [{m: s["value"] for m, s in r["scores"].items()} for r in warm["records"]] == scores


def test_replay_miss_names_the_case_and_fails(
    project: pytest.Pytester, server: MessagesServer
) -> None:
    result, report = _run(
        project, "--ragops-judge", "anthropic", "--ragops-cache", "replay",
        "--ragops-threshold", "faithfulness=0.5",
    )  # fmt: skip
    assert result.ret == 1
    assert not server.requests
    for record in report["records"]:
        for score in record["scores"].values():
            assert score["value"] is None
            assert "replay" in score["error"]
            assert record["case_id"] in score["error"], score["error"]


def test_budget_stops_judging_and_the_gates_fail(
    project: pytest.Pytester, server: MessagesServer
) -> None:
    result, report = _run(
        project, "--ragops-judge", "anthropic", "--ragops-budget", "0.000001",
        "--ragops-threshold", "faithfulness=0.5",
    )  # fmt: skip
    assert result.ret == 1
    budget = report["judge_info"]["budget"]
    assert budget["stopped_run"] is True
    assert not report["summary"]["passed"]
    missing = [r for r in report["records"] if r["scores"]["faithfulness"]["value"] is None]
    assert missing, "the budget should leave scores unjudged"
    assert "budget" in (project.path / ".ragops" / "report.md").read_text()
