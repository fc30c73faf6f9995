"""The built-in judges by name, and what ``auto`` stands for: defined once, here.

``--ragops-judge``, ``[tool.ragops] judge`` and ``ragops judge agreement --judge`` all
resolve names through this table, so a judge added here is selectable everywhere.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsUsageError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pytest_ragops.judge.base import Judge, SyncJudge

__all__ = ["JUDGE_NAMES", "build_judge", "describe_auto", "resolve_judge_name"]


def _offline(_options: Any) -> SyncJudge:
    from pytest_ragops.judge.offline import OfflineJudge

    return OfflineJudge()


#: Name → factory(options) building the judge; options are the session's settings.
FACTORIES: Mapping[str, Callable[[Any], Judge | SyncJudge]] = {
    "offline": _offline,
}

#: Every value ``--ragops-judge`` accepts.
JUDGE_NAMES: tuple[str, ...] = ("auto", *FACTORIES)


def resolve_judge_name(name: str, env: Mapping[str, str] | None = None) -> str:
    """The concrete judge ``name`` stands for: ``auto`` is anthropic with a key, else offline."""
    if name != "auto":
        return name
    env = os.environ if env is None else env
    if env.get("ANTHROPIC_API_KEY") and "anthropic" in FACTORIES:
        return "anthropic"
    return "offline"


def describe_auto(name: str, env: Mapping[str, str] | None = None) -> str:
    """One phrase for the report header: what was chosen and why."""
    resolved = resolve_judge_name(name, env)
    if name != "auto":
        return resolved
    env = os.environ if env is None else env
    if resolved == "anthropic":
        return "anthropic (auto: ANTHROPIC_API_KEY is set)"
    if "anthropic" not in FACTORIES:
        return "offline (auto: no LLM judge in this release)"
    why = "ANTHROPIC_API_KEY is not set" if not env.get("ANTHROPIC_API_KEY") else "no key"
    return f"offline (auto: {why})"


def build_judge(name: str, options: Any = None) -> Judge | SyncJudge:
    """Build the built-in judge ``name`` (after resolving ``auto``).

    :raises RagopsUsageError: unknown name, or the factory's own usage errors.
    """
    resolved = resolve_judge_name(name)
    factory = FACTORIES.get(resolved)
    if factory is None:
        raise RagopsUsageError(
            f"unknown judge {name!r}; choose from {', '.join(JUDGE_NAMES)}",
            path="--ragops-judge",
        )
    return factory(options)
