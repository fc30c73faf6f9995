"""Prices of known models, to turn token usage into a cost when the pipeline gives none.

Unknown models have no price: their cost stays unknown (None) and fails cost gates,
because counting it as 0 would let an expensive change through.
"""

from __future__ import annotations

from typing import Any

__all__ = ["PRICES_PER_MTOK", "cost_from_usage", "usage_dict"]

_USAGE_FIELDS = (
    "input_tokens",
    "output_tokens",
    "cache_creation_input_tokens",
    "cache_read_input_tokens",
)


def usage_dict(usage: object) -> dict[str, Any] | None:
    """Usage as a plain dict: accepts a mapping or an SDK object such as anthropic's ``Usage``."""
    if usage is None:
        return None
    if isinstance(usage, dict):
        return dict(usage)
    found = {f: getattr(usage, f) for f in _USAGE_FIELDS if getattr(usage, f, None) is not None}
    if not found:
        raise TypeError(f"usage must be a mapping or have input_tokens, got {type(usage).__name__}")
    return found


#: USD per million (input, output) tokens, matched by longest model-name prefix.
PRICES_PER_MTOK: dict[str, tuple[float, float]] = {
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4-1": (15.0, 75.0),
    "claude-opus-4": (15.0, 75.0),
    "claude-sonnet-4-5": (3.0, 15.0),
    "claude-sonnet-4": (3.0, 15.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "claude-3-haiku": (0.25, 1.25),
}


def cost_from_usage(model: str | None, usage: dict[str, Any] | None) -> float | None:
    """USD cost of ``usage`` (``input_tokens``/``output_tokens``) on ``model``; None if unknown."""
    if not model or not usage:
        return None
    matches = [p for p in PRICES_PER_MTOK if model.startswith(p)]
    if not matches:
        return None
    price_in, price_out = PRICES_PER_MTOK[max(matches, key=len)]
    try:
        tokens_in = int(usage.get("input_tokens", 0) or 0)
        tokens_out = int(usage.get("output_tokens", 0) or 0)
    except (TypeError, ValueError):
        return None
    return (tokens_in * price_in + tokens_out * price_out) / 1_000_000
