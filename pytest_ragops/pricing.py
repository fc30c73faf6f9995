"""Prices of known models, to turn token usage into a cost when the pipeline gives none.

Fail closed: a model is priced only by an exact id (a dated snapshot such as
``claude-haiku-4-5-20251001`` maps to its base id), never by prefix, so a future
``claude-opus-9`` is an unknown cost rather than last year's price. Usage lacking the
token fields a price needs is an unknown cost too, never 0. Anthropic's prompt-cache
writes and reads are priced; OpenAI-shaped usage (``prompt_tokens``/``completion_tokens``)
is read. Teams override or add prices in ``[tool.ragops.prices]``.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = [
    "PRICES",
    "Price",
    "UnknownCost",
    "base_model",
    "cost_from_usage",
    "explain_cost",
    "parse_prices",
    "usage_dict",
]

#: Fields read from an SDK usage object (anthropic's ``Usage``, OpenAI's ``CompletionUsage``).
_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
)
_DATED = re.compile(r"^(?P<base>.+)-(?P<date>20\d{6})$")

_PRICING_PAGE = "platform.claude.com/docs/en/about-claude/pricing (read 2026-12-01)"


@dataclass(frozen=True, slots=True)
class Price:
    """USD per million tokens of one model; ``source`` says where the figures came from."""

    input: float
    output: float
    #: 5-minute cache writes (``cache_creation_input_tokens``).
    cache_write: float
    #: Cache hits (``cache_read_input_tokens``).
    cache_read: float
    source: str = _PRICING_PAGE
    #: Above this many prompt tokens (input + cache), ``long`` applies to the whole call.
    long_threshold: int | None = None
    long: Price | None = None


def _std(inp: float, out: float, read: float | None = None, source: str = _PRICING_PAGE) -> Price:
    """The usual shape: cache writes at 1.25x input, reads at 0.1x unless stated."""
    return Price(inp, out, inp * 1.25, inp * 0.1 if read is None else read, source)


_MODEL_PAGES = "platform.claude.com model overview pages (read 2026-12-01)"

#: Every model id the installed anthropic SDK lists (anthropic 2.15 ``types.Model``), plus
#: the still-served 4.x ids. ``claude-mythos-preview`` has no published price: unknown.
PRICES: dict[str, Price] = {
    "claude-fable-5-2": Price(8.0, 40.0, 10.0, 0.2, "anthropic list price, 2026-11-09 release"),
    "claude-mythos-5-2": Price(8.0, 40.0, 10.0, 0.2, "priced as Fable 5.2 (shared pricing)"),
    "claude-fable-5-1": _std(10.0, 50.0, 0.25),
    "claude-mythos-5-1": _std(10.0, 50.0, 0.25),
    "claude-fable-5": _std(10.0, 50.0, 1.0),
    "claude-mythos-5": _std(10.0, 50.0, 1.0),
    "claude-opus-5-5": Price(4.0, 20.0, 5.0, 0.2, _MODEL_PAGES),
    "claude-opus-5": _std(5.0, 25.0),
    "claude-opus-4-8": _std(5.0, 25.0),
    "claude-opus-4-7": _std(5.0, 25.0),
    "claude-opus-4-6": _std(5.0, 25.0),
    "claude-opus-4-5": _std(5.0, 25.0),
    "claude-opus-4-1": _std(15.0, 75.0),
    "claude-opus-4": _std(15.0, 75.0),
    "claude-sonnet-5-5": Price(2.0, 10.0, 2.5, 0.2, _MODEL_PAGES),
    "claude-sonnet-5": Price(2.0, 10.0, 2.5, 0.2, _MODEL_PAGES),
    "claude-sonnet-4-6": _std(3.0, 15.0),
    "claude-sonnet-4-5": _std(3.0, 15.0),
    "claude-sonnet-4": _std(3.0, 15.0),
    "claude-haiku-5-5": Price(
        0.10,
        0.50,
        0.125,
        0.01,
        "anthropic list price (prompt <= 100k tokens)",
        long_threshold=100_000,
        long=Price(0.50, 2.50, 0.625, 0.05, "anthropic list price (prompt > 100k tokens)"),
    ),
    "claude-haiku-4-5": _std(1.0, 5.0),
    "claude-3-5-haiku": _std(0.8, 4.0),
    "claude-3-haiku": Price(0.25, 1.25, 0.30, 0.03),
}


class UnknownCost(Exception):
    """Why a cost could not be computed; its message is the gate's one-line reason."""


def base_model(model: str) -> str:
    """``claude-haiku-4-5-20251001`` → ``claude-haiku-4-5``; other ids unchanged."""
    m = _DATED.match(model)
    return m.group("base") if m else model


def usage_dict(usage: object) -> dict[str, Any] | None:
    """Usage as a plain dict: a mapping or an SDK object (anthropic ``Usage``, OpenAI's)."""
    if usage is None:
        return None
    if isinstance(usage, dict):
        return dict(usage)
    dump = getattr(usage, "model_dump", None)
    found = {f: getattr(usage, f) for f in _USAGE_FIELDS if getattr(usage, f, None) is not None}
    if not found and callable(dump):
        data = dump()
        if isinstance(data, dict):
            found = {k: v for k, v in data.items() if k in _USAGE_FIELDS and v is not None}
    if not found:
        raise TypeError(
            "usage must be a mapping or have input_tokens/output_tokens "
            f"(or prompt_tokens/completion_tokens), got {type(usage).__name__}"
        )
    return found


def _tokens(usage: Mapping[str, Any], key: str) -> int | None:
    value = usage.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise UnknownCost(f"usage.{key} is not a number ({value!r})")
    if not math.isfinite(value) or value < 0 or value != int(value):
        raise UnknownCost(f"usage.{key} must be a whole number >= 0, got {value!r}")
    return int(value)


def explain_cost(
    model: str | None,
    usage: Mapping[str, Any] | None,
    prices: Mapping[str, Price] | None = None,
) -> float:
    """USD cost of ``usage`` on ``model``.

    :raises UnknownCost: no model, no usage, a usage without the token counts the price
        needs, or a model with no exact price (the message names it).
    """
    if not model:
        raise UnknownCost("no model named, so no price")
    if not usage:
        raise UnknownCost(f"no usage reported for {model}")
    table = PRICES if prices is None else prices
    price = table.get(model) or table.get(base_model(model))
    if price is None:
        raise UnknownCost(f"no price for model {model!r} (add it to [tool.ragops.prices])")
    inp = _tokens(usage, "input_tokens")
    out = _tokens(usage, "output_tokens")
    cache_w = _tokens(usage, "cache_creation_input_tokens") or 0
    cache_r = _tokens(usage, "cache_read_input_tokens") or 0
    if inp is None and out is None:  # OpenAI shape: prompt_tokens include cached ones
        inp = _tokens(usage, "prompt_tokens")
        out = _tokens(usage, "completion_tokens")
    if inp is None or out is None:
        missing = "input_tokens" if inp is None else "output_tokens"
        raise UnknownCost(f"usage for {model} lacks {missing}")
    long_call = price.long_threshold is not None and inp + cache_w + cache_r > price.long_threshold
    if price.long is not None and long_call:
        price = price.long
    total = inp * price.input + out * price.output
    total += cache_w * price.cache_write + cache_r * price.cache_read
    return total / 1_000_000


def cost_from_usage(
    model: str | None,
    usage: Mapping[str, Any] | None,
    prices: Mapping[str, Price] | None = None,
) -> float | None:
    """:func:`explain_cost`, or None when the cost is unknown."""
    try:
        return explain_cost(model, usage, prices)
    except UnknownCost:
        return None


def parse_prices(table: object, source: str) -> dict[str, Price]:
    """``[tool.ragops.prices]``: ``model = {input = 3.0, output = 15.0}`` (+ cache prices).

    Returns the full table (built-ins overridden key by key).

    :raises RagopsUsageError: a price that is not a finite number >= 0, or unknown keys.
    """
    from pytest_ragops.errors import RagopsUsageError

    if not isinstance(table, dict):
        raise RagopsUsageError(
            "must be a table of model = {input, output}", path=source, field="prices"
        )
    out = dict(PRICES)
    for model, spec in table.items():
        where = f"prices.{model}"
        if not isinstance(spec, dict):
            raise RagopsUsageError("must be a table {input, output}", path=source, field=where)
        unknown = sorted(set(spec) - {"input", "output", "cache_write", "cache_read"})
        if unknown:
            raise RagopsUsageError(f"unknown key {unknown[0]!r}", path=source, field=where)
        values: dict[str, float] = {}
        for key in ("input", "output", "cache_write", "cache_read"):
            if key not in spec:
                continue
            v = spec[key]
            bad = isinstance(v, bool) or not isinstance(v, int | float)
            if bad or not math.isfinite(v) or v < 0:
                raise RagopsUsageError(
                    f"must be a finite number >= 0 (USD per million tokens), got {v!r}",
                    path=source,
                    field=f"{where}.{key}",
                )
            values[key] = float(v)
        if "input" not in values or "output" not in values:
            raise RagopsUsageError("needs both input and output", path=source, field=where)
        out[str(model)] = Price(
            values["input"],
            values["output"],
            values.get("cache_write", values["input"] * 1.25),
            values.get("cache_read", values["input"] * 0.1),
            source=f"{source} [tool.ragops.prices]",
        )
    return out
