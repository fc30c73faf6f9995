from __future__ import annotations

from typing import Any

import pytest

from pytest_ragops.pricing import PRICES_PER_MTOK, cost_from_usage

MTOK = {"input_tokens": 1_000_000, "output_tokens": 1_000_000}


@pytest.mark.parametrize("model", sorted(PRICES_PER_MTOK))
def test_every_listed_model_is_priced(model: str) -> None:
    price_in, price_out = PRICES_PER_MTOK[model]
    assert 0 < price_in < price_out
    assert cost_from_usage(model, {"input_tokens": 1_000_000}) == pytest.approx(price_in)
    assert cost_from_usage(model, {"output_tokens": 1_000_000}) == pytest.approx(price_out)
    assert cost_from_usage(model, MTOK) == pytest.approx(price_in + price_out)


@pytest.mark.parametrize(
    ("model", "per_mtok_in_plus_out"),
    [
        ("claude-opus-4-5-20251101", 30.0),  # not the cheaper-looking "claude-opus-4" price
        ("claude-opus-4-1-20250805", 90.0),
        ("claude-opus-4-20250514", 90.0),
        ("claude-sonnet-4-5", 18.0),
        ("claude-sonnet-4-20250514", 18.0),
        ("claude-3-7-sonnet-latest", 18.0),
        ("claude-haiku-4-5-20251001", 6.0),
        ("claude-3-5-haiku-20241022", 4.8),
        ("claude-3-haiku-20240307", 1.5),
    ],
)
def test_longest_prefix_wins(model: str, per_mtok_in_plus_out: float) -> None:
    assert cost_from_usage(model, MTOK) == pytest.approx(per_mtok_in_plus_out)


def test_small_usage() -> None:
    cost = cost_from_usage("claude-sonnet-4-5", {"input_tokens": 1234, "output_tokens": 56})
    assert cost == pytest.approx((1234 * 3.0 + 56 * 15.0) / 1e6)


@pytest.mark.parametrize(
    "usage",
    [
        {"input_tokens": 0, "output_tokens": 0},
        {"input_tokens": None, "output_tokens": None},
        {"cache_read_input_tokens": 500},  # keys other than input/output are not priced
    ],
)
def test_zero_tokens_cost_zero(usage: dict[str, Any]) -> None:
    assert cost_from_usage("claude-haiku-4-5", usage) == 0.0


def test_numeric_strings_count() -> None:
    cost = cost_from_usage("claude-haiku-4-5", {"input_tokens": "1000000", "output_tokens": "0"})
    assert cost == pytest.approx(1.0)


@pytest.mark.parametrize(
    ("model", "usage"),
    [
        (None, MTOK),
        ("", MTOK),
        ("claude-haiku-4-5", None),
        ("claude-haiku-4-5", {}),
        ("gpt-4o", MTOK),  # unknown models have no price: unknown, never 0
        ("my-claude-haiku-4-5", MTOK),  # prefix match only
        ("CLAUDE-HAIKU-4-5", MTOK),
        ("claude-haiku-4-5", {"input_tokens": "many"}),
        ("claude-haiku-4-5", {"input_tokens": [1]}),
        ("claude-haiku-4-5", {"output_tokens": {"n": 1}}),
    ],
)
def test_unknown_cost_is_none(model: str | None, usage: dict[str, Any] | None) -> None:
    assert cost_from_usage(model, usage) is None
