"""Judge options merged into JudgeSettings, and the judge registry."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.judge.base import QUALITY_METRICS
from pytest_ragops.judge.cache import CachedJudge
from pytest_ragops.judge.options import JudgeSettings, add_judge_options, judge_settings
from pytest_ragops.judge.registry import JUDGE_NAMES, JUDGES, build_judge, resolve_judge

ROOT = Path("/project")


def test_defaults() -> None:
    s = judge_settings({}, {}, ROOT)
    assert s == JudgeSettings(cache_dir=ROOT / ".ragops/cache")
    assert s.metrics == QUALITY_METRICS


def test_command_line_wins_over_pyproject() -> None:
    s = judge_settings(
        {
            "ragops_metrics": "faithfulness, context_recall",
            "ragops_cache": "replay",
            "ragops_judge_repeats": "3",
            "ragops_budget": "0.5",
            "ragops_judge_model": "m-1",
        },
        {
            "metrics": ["answer_relevancy"],
            "cache": "off",
            "cache_dir": "c",
            "judge_repeats": 2,
            "budget": 9,
            "judge_model": "m-2",
        },
        ROOT,
    )
    assert s.metrics == ("faithfulness", "context_recall")
    assert (s.cache, s.judge_repeats, s.budget_usd, s.judge_model) == ("replay", 3, 0.5, "m-1")
    assert s.cache_dir == ROOT / "c"


def test_pyproject_values() -> None:
    s = judge_settings({}, {"metrics": "faithfulness,faithfulness", "judge_repeats": 5}, ROOT)
    assert s.metrics == ("faithfulness",)
    assert s.judge_repeats == 5


@pytest.mark.parametrize(
    ("values", "table", "message"),
    [
        (
            {"ragops_metrics": "faithfulness,bogus"},
            {},
            "--ragops-metrics: unknown metric 'bogus'; choose from faithfulness, answer_relevancy",
        ),
        ({}, {"metrics": "faithfulness,,"}, "[tool.ragops] metrics: empty metric name"),
        ({}, {"metrics": 3}, "[tool.ragops] metrics: metrics must be"),
        ({"ragops_cache": "maybe"}, {}, "--ragops-cache: unknown cache mode 'maybe'"),
        ({}, {"judge_repeats": 0}, "[tool.ragops] judge_repeats: repeats must be between 1 and 20"),
        ({"ragops_judge_repeats": "two"}, {}, "--ragops-judge-repeats: repeats must be a whole"),
        ({}, {"judge_repeats": 1.5}, "[tool.ragops] judge_repeats: repeats must be a whole"),
        ({}, {"budget": -1}, "[tool.ragops] budget: budget must be a positive"),
        ({}, {"judge_model": ""}, "[tool.ragops] judge_model: judge model must be a model id"),
        ({}, {"cache_dir": 5}, "[tool.ragops] cache_dir: cache dir must be a path"),
    ],
)
def test_bad_values_name_the_option_or_key(
    values: dict[str, Any], table: dict[str, Any], message: str
) -> None:
    with pytest.raises(RagopsUsageError) as info:
        judge_settings(values, table, ROOT)
    assert str(info.value).startswith(message)


def test_options_register_in_a_pytest_group(pytester: pytest.Pytester) -> None:
    # The plugin itself adds them to its `ragops` group.
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*--ragops-judge-model=NAME*", "*--ragops-budget=USD*"])
    assert add_judge_options is not None


def test_auto_resolves_by_api_key() -> None:
    assert resolve_judge("auto", {"ANTHROPIC_API_KEY": "k"}) == (
        "anthropic",
        "auto: anthropic (ANTHROPIC_API_KEY is set)",
    )
    assert resolve_judge("auto", {}) == ("offline", "auto: offline (ANTHROPIC_API_KEY is not set)")
    assert resolve_judge("ragas", {}) == ("ragas", "ragas")
    with pytest.raises(RagopsUsageError, match="unknown judge 'gpt'; choose from auto, offline"):
        resolve_judge("gpt", {})
    assert set(JUDGE_NAMES) == {"auto", *JUDGES}
    assert {"offline", "anthropic", "ragas", "ragas-nonllm"} <= set(JUDGES)


@pytest.mark.parametrize("name", ["anthropic", "ragas"])
def test_llm_judges_need_an_api_key(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    with pytest.raises(RagopsUsageError, match=f"the {name} judge needs ANTHROPIC_API_KEY"):
        JUDGES[name](JudgeSettings(judge=name))


def test_anthropic_factory_wraps_budget_and_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    judge = build_judge(JudgeSettings(judge="auto", budget_usd=1.0, cache_dir=tmp_path))
    assert isinstance(judge, CachedJudge)
    info = judge.report_info()
    assert set(info) == {"judge", "budget", "cache"}
    assert judge.judge_label("faithfulness").startswith("anthropic:claude-haiku-4-5:p")
    with pytest.raises(RagopsUsageError, match="has no price, so a budget cannot be enforced"):
        build_judge(JudgeSettings(judge="anthropic", judge_model="claude-future-9", budget_usd=1.0))


def test_offline_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY", raising=False)
    judge = build_judge(JudgeSettings())
    assert judge.name == "offline"


def test_forecast_and_counters_through_the_wrappers(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from pytest_ragops.judge.anthropic import ESTIMATED_USAGE, AnthropicJudge
    from pytest_ragops.judge.budget import forecast_for_judge
    from pytest_ragops.judge.progress import judge_counters
    from pytest_ragops.pricing import cost_from_usage

    monkeypatch.setenv("ANTHROPIC_API_KEY", "k")
    judge = build_judge(JudgeSettings(judge="anthropic", budget_usd=0.01, cache_dir=tmp_path))
    fc = forecast_for_judge(judge, cases=10, metrics=("faithfulness",), repeats=1)
    assert fc is not None
    tokens_in, tokens_out = ESTIMATED_USAGE["faithfulness"]
    one = cost_from_usage(
        "claude-haiku-4-5", {"input_tokens": tokens_in, "output_tokens": tokens_out}
    )
    assert one is not None
    assert fc.cost_usd == pytest.approx(10 * one)
    assert fc.basis == {"faithfulness": "estimated"}
    assert fc.exceeds_budget
    counters = judge_counters(judge)
    assert isinstance(judge, CachedJudge)
    inner = getattr(judge.inner, "inner", None)
    assert isinstance(inner, AnthropicJudge)
    assert counters is inner.stats
    no_budget = build_judge(JudgeSettings(judge="anthropic", cache_dir=tmp_path))
    assert forecast_for_judge(no_budget, cases=1, metrics=("faithfulness",), repeats=1) is None
    assert judge_counters(build_judge(JudgeSettings(judge="offline"))) is None
