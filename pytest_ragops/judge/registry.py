"""The built-in judges by name, and what ``auto`` stands for: defined once, here.

``--ragops-judge``, ``[tool.ragops] judge`` and ``ragops judge agreement --judge`` all
resolve names through this table. ``JUDGES`` maps a name to a factory
``(JudgeSettings) -> Judge | SyncJudge``; the LLM judges come back wrapped: budget inside
(it sees only real calls), cache outside (a hit is free and is served even after the
budget is spent)::

    CachedJudge(BudgetJudge(AnthropicJudge(model)))

``auto`` is ``anthropic`` when ``ANTHROPIC_API_KEY`` is set, else ``offline``.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any, Final

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.pricing import cost_from_usage

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    from pytest_ragops.judge.base import Judge, SyncJudge
    from pytest_ragops.judge.options import JudgeSettings

__all__ = [
    "JUDGES",
    "JUDGE_NAMES",
    "build_judge",
    "describe_auto",
    "resolve_judge",
    "resolve_judge_name",
]

_KEY: Final = "ANTHROPIC_API_KEY"


def _api_key(name: str, env: Mapping[str, str]) -> str:
    key = env.get(_KEY, "").strip()
    if not key:
        raise RagopsUsageError(
            f"the {name} judge needs {_KEY}; set it, or use --ragops-judge=offline "
            "(or ragas-nonllm) to score without an API",
            path="--ragops-judge",
        )
    return key


def _model(settings: JudgeSettings) -> str:
    from pytest_ragops.judge.anthropic import DEFAULT_MODEL

    model = settings.judge_model or DEFAULT_MODEL
    if (
        settings.budget_usd is not None
        and cost_from_usage(model, {"input_tokens": 1, "output_tokens": 1}) is None
    ):
        raise RagopsUsageError(
            f"judge model {model!r} has no price, so a budget cannot be enforced; "
            "add it to the price table or drop --ragops-budget",
            path="--ragops-budget",
        )
    return model


def _wrap(judge: Judge, settings: JudgeSettings) -> Judge:
    from pytest_ragops.judge.budget import BudgetJudge
    from pytest_ragops.judge.cache import CachedJudge

    inner: Judge = judge
    if settings.budget_usd is not None:
        from pytest_ragops.judge.anthropic import ESTIMATED_USAGE
        from pytest_ragops.judge.budget import prior_costs

        # Both LLM judges call Claude; its typical tokens per call stand in until measured.
        model = getattr(judge, "model", None)
        prior = prior_costs(model, ESTIMATED_USAGE) if isinstance(model, str) else {}
        inner = BudgetJudge(inner, settings.budget_usd, prior)
    return CachedJudge(inner, settings.cache, settings.cache_dir)


def _offline(settings: JudgeSettings) -> SyncJudge:
    from pytest_ragops.judge.offline import OfflineJudge

    return OfflineJudge()


def _anthropic(settings: JudgeSettings, env: Mapping[str, str] | None = None) -> Judge:
    from pytest_ragops.judge.anthropic import AnthropicJudge

    env = os.environ if env is None else env
    key = _api_key("anthropic", env)
    return _wrap(AnthropicJudge(_model(settings), api_key=key), settings)


def _ragas(settings: JudgeSettings, env: Mapping[str, str] | None = None) -> Judge:
    from pytest_ragops.judge.ragas_adapter import RagasJudge

    env = os.environ if env is None else env
    key = _api_key("ragas", env)
    return _wrap(RagasJudge(_model(settings), api_key=key), settings)


def _ragas_nonllm(settings: JudgeSettings) -> Judge:
    from pytest_ragops.judge.ragas_adapter import RagasNonLLMJudge

    return RagasNonLLMJudge()


#: Built-in judge factories by ``--ragops-judge`` name (``auto`` resolves to one of them).
JUDGES: Final[dict[str, Callable[[JudgeSettings], Judge | SyncJudge]]] = {
    "offline": _offline,
    "anthropic": _anthropic,
    "ragas": _ragas,
    "ragas-nonllm": _ragas_nonllm,
}

#: Every value ``--ragops-judge`` accepts.
JUDGE_NAMES: Final[tuple[str, ...]] = ("auto", *JUDGES)


#: Kept for callers of the earlier name.
FACTORIES = JUDGES


def resolve_judge(name: str, env: Mapping[str, str] | None = None) -> tuple[str, str]:
    """The built-in judge ``name`` stands for, and a one-line reason for the report header."""
    env = os.environ if env is None else env
    if name == "auto":
        if env.get(_KEY, "").strip():
            return "anthropic", f"auto: anthropic ({_KEY} is set)"
        return "offline", f"auto: offline ({_KEY} is not set)"
    if name not in JUDGES:
        raise RagopsUsageError(
            f"unknown judge {name!r}; choose from {', '.join(JUDGE_NAMES)}", path="--ragops-judge"
        )
    return name, name


def resolve_judge_name(name: str, env: Mapping[str, str] | None = None) -> str:
    """Just the judge name ``name`` resolves to (``auto`` → anthropic or offline)."""
    if name != "auto" and name not in JUDGES:
        return name
    return resolve_judge(name, env)[0]


def describe_auto(name: str, env: Mapping[str, str] | None = None) -> str:
    """The judge and, for ``auto``, why it was chosen."""
    try:
        return resolve_judge(name, env)[1]
    except RagopsUsageError:
        return name


def build_judge(name: str | JudgeSettings, options: Any = None) -> Judge | SyncJudge:
    """The built-in judge ``name`` (after the plugin hook declined).

    ``options`` are the session's :class:`~pytest_ragops.judge.options.JudgeSettings`
    (defaults when None, for library and CLI use); they may also come alone, in place
    of the name, which they carry.

    :raises RagopsUsageError: unknown name, missing API key, bad judge option.
    """
    from pytest_ragops.judge.options import JudgeSettings

    if isinstance(name, JudgeSettings):
        name, options = name.judge, name
    resolved, _ = resolve_judge(name)
    settings = options if isinstance(options, JudgeSettings) else JudgeSettings(judge=name)
    return JUDGES[resolved](settings)
