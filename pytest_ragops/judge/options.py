"""The LLM-judge options and their merge into one frozen :class:`JudgeSettings`.

``add_judge_options(group)`` adds the pytest options; ``judge_settings(values, table, root)``
merges them (command line wins) with ``[tool.ragops]`` keys of the same name without the
``--ragops-`` prefix (``judge_model``, ``cache``, ``cache_dir``, ``judge_repeats``,
``metrics``, ``budget``) and the defaults. Every bad value is a :class:`RagopsUsageError`
naming the option or key, which pytest turns into a usage error (exit 4).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, cast

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.judge.base import QUALITY_METRICS

if TYPE_CHECKING:
    from collections.abc import Mapping

    import pytest

    from pytest_ragops.judge.cache import CacheMode

__all__ = [
    "PYPROJECT_KEYS",
    "JudgeSettings",
    "add_judge_options",
    "judge_settings",
    "parse_metrics",
]

#: ``[tool.ragops]`` keys read here (the settings module adds them to its known keys).
PYPROJECT_KEYS: Final = frozenset(
    {"judge_model", "cache", "cache_dir", "judge_repeats", "metrics", "budget"}
)
#: Most repeats accepted: a bound on accidental spend (each repeat is a real call).
MAX_REPEATS: Final = 20


@dataclass(frozen=True, slots=True)
class JudgeSettings:
    """Everything a judge factory needs, merged once."""

    #: ``--ragops-judge`` as given (``auto`` resolved by the registry).
    judge: str = "auto"
    #: Judge model id; None = the judge's default.
    judge_model: str | None = None
    cache: CacheMode = "on"
    cache_dir: Path = Path(".ragops/cache")
    judge_repeats: int = 1
    metrics: tuple[str, ...] = QUALITY_METRICS
    budget_usd: float | None = None


def add_judge_options(group: pytest.OptionGroup) -> None:
    """Add the judge options to the ``ragops`` option group."""
    group.addoption(
        "--ragops-judge-model",
        default=None,
        metavar="NAME",
        help="Judge model for the anthropic and ragas judges (default: claude-haiku-4-5)",
    )
    group.addoption(
        "--ragops-cache",
        default=None,
        metavar="on|off|replay",
        help="Judge-call cache. replay serves only cached scores and fails a miss instead of "
        "calling the API (default: on)",
    )
    group.addoption(
        "--ragops-cache-dir",
        default=None,
        metavar="PATH",
        help="Where the judge cache lives (default: .ragops/cache under the rootdir)",
    )
    group.addoption(
        "--ragops-judge-repeats",
        default=None,
        metavar="N",
        help="Score each case N times with real calls and report each metric's spread (default: 1)",
    )
    group.addoption(
        "--ragops-metrics",
        default=None,
        metavar="LIST",
        help="Quality metrics to judge, comma-separated (default: all four)",
    )
    group.addoption(
        "--ragops-budget",
        default=None,
        metavar="USD",
        help="Cap on judge spend per session; past it no new judge call is made (default: none)",
    )


def parse_metrics(raw: object, where: str) -> tuple[str, ...]:
    """A comma-separated string or a list of metric names, validated and de-duplicated."""
    if isinstance(raw, str):
        items = [part.strip() for part in raw.split(",")]
    elif isinstance(raw, list | tuple) and all(isinstance(p, str) for p in raw):
        items = [str(p).strip() for p in raw]
    else:
        raise RagopsUsageError(
            f"metrics must be a comma-separated string or a list of names, got {raw!r}",
            path=where,
        )
    if not items or any(not item for item in items):
        raise RagopsUsageError(f"empty metric name in {raw!r}", path=where)
    unknown = [item for item in items if item not in QUALITY_METRICS]
    if unknown:
        raise RagopsUsageError(
            f"unknown metric {unknown[0]!r}; choose from {', '.join(QUALITY_METRICS)}",
            path=where,
        )
    return tuple(dict.fromkeys(items))


def _pick(values: Mapping[str, Any], table: Mapping[str, Any], key: str) -> tuple[Any, str]:
    """The value and the name to blame: the option if given, else the pyproject key."""
    option = "--ragops-" + key.replace("_", "-")
    given = values.get("ragops_" + key)
    if given is not None:
        return given, option
    return table.get(key), f"[tool.ragops] {key}"


def judge_settings(
    option_values: Mapping[str, Any], pyproject_table: Mapping[str, Any], root: Path
) -> JudgeSettings:
    """Merge ``option_values`` (``vars(config.option)``), ``[tool.ragops]`` and defaults.

    :param root: the directory relative paths resolve against (the pyproject's directory,
        or the rootdir for command-line paths).
    """
    # Imported here, not at module level: pytest imports this module for its options on
    # every run, evals on or off, and must not pay for the cache and budget code then.
    from pytest_ragops.judge.budget import parse_budget
    from pytest_ragops.judge.cache import CACHE_MODES

    defaults = JudgeSettings()

    judge, _ = _pick(option_values, pyproject_table, "judge")
    model, where = _pick(option_values, pyproject_table, "judge_model")
    if model is not None and (not isinstance(model, str) or not model.strip()):
        raise RagopsUsageError(f"judge model must be a model id, got {model!r}", path=where)

    cache, where = _pick(option_values, pyproject_table, "cache")
    if cache is None:
        cache = defaults.cache
    if cache not in CACHE_MODES:
        raise RagopsUsageError(
            f"unknown cache mode {cache!r}; choose from {', '.join(CACHE_MODES)}", path=where
        )

    cache_dir, where = _pick(option_values, pyproject_table, "cache_dir")
    if cache_dir is None:
        cache_dir = defaults.cache_dir
    if not isinstance(cache_dir, str | Path) or not str(cache_dir).strip():
        raise RagopsUsageError(f"cache dir must be a path, got {cache_dir!r}", path=where)
    cache_path = Path(cache_dir).expanduser()
    if not cache_path.is_absolute():
        cache_path = root / cache_path

    repeats_raw, where = _pick(option_values, pyproject_table, "judge_repeats")
    repeats = defaults.judge_repeats
    if repeats_raw is not None:
        try:
            if isinstance(repeats_raw, bool | float):
                raise ValueError
            repeats = int(repeats_raw)
        except (TypeError, ValueError):
            raise RagopsUsageError(
                f"repeats must be a whole number, got {repeats_raw!r}", path=where
            ) from None
        if not 1 <= repeats <= MAX_REPEATS:
            raise RagopsUsageError(
                f"repeats must be between 1 and {MAX_REPEATS}, got {repeats}", path=where
            )

    metrics_raw, where = _pick(option_values, pyproject_table, "metrics")
    metrics = defaults.metrics if metrics_raw is None else parse_metrics(metrics_raw, where)

    budget_raw, where = _pick(option_values, pyproject_table, "budget")
    budget = parse_budget(budget_raw, where)

    return JudgeSettings(
        judge=str(judge) if judge is not None else defaults.judge,
        judge_model=model.strip() if isinstance(model, str) else None,
        cache=cast("CacheMode", cache),
        cache_dir=cache_path,
        judge_repeats=repeats,
        metrics=metrics,
        budget_usd=budget,
    )
