"""Scoring: the judge protocol, the built-in judges and :func:`make_judge`.

Judges are named once, in :mod:`pytest_ragops.judge.registry`; another plugin can
supply its own through the ``pytest_ragops_make_judge`` hook.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pytest_ragops.judge.base import QUALITY_METRICS, Judge, Sample, Score, SyncJudge

if TYPE_CHECKING:
    from pytest_ragops.judge.offline import OfflineJudge
    from pytest_ragops.judge.registry import JUDGE_NAMES, resolve_judge_name
    from pytest_ragops.settings import Settings

# Loaded on first use: pytest imports ``pytest_ragops.judge.options`` (and so this
# package) for its options on every run, and the offline judge's rules cost a stemmer.
_LAZY = {
    "OfflineJudge": "pytest_ragops.judge.offline",
    "JUDGE_NAMES": "pytest_ragops.judge.registry",
    "resolve_judge_name": "pytest_ragops.judge.registry",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_ragops.judge' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "JUDGE_NAMES",
    "QUALITY_METRICS",
    "Judge",
    "OfflineJudge",
    "Sample",
    "Score",
    "SyncJudge",
    "make_judge",
    "resolve_judge_name",
]


def make_judge(settings: Settings | str, hook: Any = None) -> Judge | SyncJudge:
    """The session's judge: a plugin's (``pytest_ragops_make_judge``), else a built-in one.

    ``settings`` may also be a plain judge name, for library and CLI use.

    :raises RagopsUsageError: unknown name, missing API key, bad judge option.
    """
    from pytest_ragops.judge.registry import build_judge

    if isinstance(settings, str):
        return build_judge(settings)
    if hook is not None:
        supplied = hook.pytest_ragops_make_judge(settings=settings)
        if supplied is not None:
            return supplied  # type: ignore[no-any-return]
    return build_judge(settings.judge, settings.judge_options)
