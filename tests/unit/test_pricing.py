"""Prices: exact model ids, cache tokens, OpenAI-shaped usage, unknown is never 0."""

from __future__ import annotations

import math
import typing
from typing import Any

import pytest

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.pricing import (
    PRICES,
    UnknownCost,
    base_model,
    cost_from_usage,
    explain_cost,
    parse_prices,
    usage_dict,
)

MTOK = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}


@pytest.mark.parametrize("model", sorted(PRICES))
def test_every_listed_model_is_priced(model: str) -> None:
    price = PRICES[model]
    assert 0 < price.input < price.output
    assert price.source
    # 100k tokens: within every model's first price band.
    assert cost_from_usage(model, {"input_tokens": 10**5, "output_tokens": 0}) == pytest.approx(
        price.input / 10
    )
    assert cost_from_usage(model, {"input_tokens": 0, "output_tokens": 10**5}) == pytest.approx(
        price.output / 10
    )


def test_the_sdk_models_are_covered() -> None:
    """Every model id the installed anthropic SDK lists is priced (or documented unpriced)."""
    from anthropic.types import Model

    literal = typing.get_args(Model)[0]
    unpriced = {"claude-mythos-preview"}  # no published price: an unknown cost, on purpose
    missing = [
        m for m in typing.get_args(literal) if base_model(m) not in PRICES and m not in unpriced
    ]
    assert missing == []


@pytest.mark.parametrize(
    ("model", "in_plus_out"),
    [
        ("claude-opus-4-5-20251101", 30.0),
        ("claude-haiku-4-5-20251001", 6.0),
        ("claude-sonnet-4", 18.0),
        ("claude-opus-4", 90.0),
    ],
)
def test_dated_ids_map_to_their_base(model: str, in_plus_out: float) -> None:
    assert cost_from_usage(model, MTOK) == pytest.approx(in_plus_out)


@pytest.mark.parametrize(
    "model",
    ["claude-opus-9", "claude-opus-4-5-preview", "claude-haiku-4", "gpt-4o", "CLAUDE-HAIKU-4-5"],
)
def test_no_prefix_matching(model: str) -> None:
    with pytest.raises(UnknownCost, match="no price for model"):
        explain_cost(model, MTOK)
    assert cost_from_usage(model, MTOK) is None


def test_cache_tokens_are_priced() -> None:
    usage = {
        "input_tokens": 1000,
        "output_tokens": 100,
        "cache_creation_input_tokens": 2000,
        "cache_read_input_tokens": 10_000,
    }
    p = PRICES["claude-sonnet-4-5"]
    expected = (
        1000 * p.input + 100 * p.output + 2000 * p.cache_write + 10_000 * p.cache_read
    ) / 1e6
    assert cost_from_usage("claude-sonnet-4-5", usage) == pytest.approx(expected)
    plain = cost_from_usage("claude-sonnet-4-5", {"input_tokens": 1000, "output_tokens": 100})
    assert plain is not None
    assert expected > plain


def test_openai_shaped_usage_is_read() -> None:
    usage = {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000, "total_tokens": 2_000_000}
    assert cost_from_usage("claude-haiku-4-5", usage) == pytest.approx(6.0)


def test_long_prompt_band() -> None:
    short = cost_from_usage("claude-haiku-5-5", {"input_tokens": 100_000, "output_tokens": 0})
    long = cost_from_usage("claude-haiku-5-5", {"input_tokens": 100_001, "output_tokens": 0})
    assert short == pytest.approx(0.01)
    assert long == pytest.approx(100_001 * 0.5 / 1e6)


@pytest.mark.parametrize(
    ("model", "usage", "why"),
    [
        (None, MTOK, "no model"),
        ("claude-haiku-4-5", None, "no usage"),
        ("claude-haiku-4-5", {}, "no usage"),
        ("claude-haiku-4-5", {"input_tokens": 10}, "lacks output_tokens"),
        ("claude-haiku-4-5", {"output_tokens": 10}, "lacks input_tokens"),
        ("claude-haiku-4-5", {"cache_read_input_tokens": 500}, "lacks"),
        ("claude-haiku-4-5", {"input_tokens": "many", "output_tokens": 1}, "not a number"),
        ("claude-haiku-4-5", {"input_tokens": math.nan, "output_tokens": 1}, "whole number"),
        ("claude-haiku-4-5", {"input_tokens": -5, "output_tokens": 1}, "whole number"),
        ("claude-haiku-4-5", {"input_tokens": True, "output_tokens": 1}, "not a number"),
    ],
)
def test_unknown_cost_says_why(model: str | None, usage: dict[str, Any] | None, why: str) -> None:
    with pytest.raises(UnknownCost, match=why):
        explain_cost(model, usage)
    assert cost_from_usage(model, usage) is None


def test_zero_tokens_cost_zero() -> None:
    assert cost_from_usage("claude-haiku-4-5", {"input_tokens": 0, "output_tokens": 0}) == 0.0


def test_usage_from_sdk_objects() -> None:
    from anthropic.types import Usage

    usage = usage_dict(Usage(input_tokens=10, output_tokens=5, cache_read_input_tokens=3))
    assert usage is not None
    assert usage["input_tokens"] == 10
    assert usage["cache_read_input_tokens"] == 3

    class OpenAIUsage:
        prompt_tokens = 7
        completion_tokens = 2

    assert usage_dict(OpenAIUsage()) == {"prompt_tokens": 7, "completion_tokens": 2}
    with pytest.raises(TypeError, match="usage must be"):
        usage_dict(object())


def test_price_overrides() -> None:
    table = parse_prices({"my-model": {"input": 1, "output": 2}}, "pyproject.toml")
    assert cost_from_usage("my-model", MTOK, table) == pytest.approx(3.0)
    assert table["my-model"].source.startswith("pyproject.toml")
    assert "claude-haiku-4-5" in table


@pytest.mark.parametrize(
    ("table", "field"),
    [
        ([], "prices"),
        ({"m": 1}, "prices.m"),
        ({"m": {"input": 1}}, "prices.m"),
        ({"m": {"input": -1, "output": 1}}, "prices.m.input"),
        ({"m": {"input": math.nan, "output": 1}}, "prices.m.input"),
        ({"m": {"input": True, "output": 1}}, "prices.m.input"),
        ({"m": {"input": 1, "output": 1, "bogus": 1}}, "prices.m"),
    ],
)
def test_bad_price_tables(table: object, field: str) -> None:
    with pytest.raises(RagopsUsageError) as info:
        parse_prices(table, "pyproject.toml")
    assert info.value.field == field
