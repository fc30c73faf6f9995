"""Scoring: the judge protocol, the built-in judges and :func:`make_judge`.

Judges are named once, in :mod:`pytest_ragops.judge.registry`; another plugin can
supply its own through the ``pytest_ragops_make_judge`` hook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_ragops.judge.base import QUALITY_METRICS, Judge, Sample, Score, SyncJudge
from pytest_ragops.judge.offline import OfflineJudge
from pytest_ragops.judge.registry import JUDGE_NAMES, build_judge, resolve_judge_name

if TYPE_CHECKING:
    from pytest_ragops.settings import Settings

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
    if isinstance(settings, str):
        return build_judge(settings)
    if hook is not None:
        supplied = hook.pytest_ragops_make_judge(settings=settings)
        if supplied is not None:
            return supplied  # type: ignore[no-any-return]
    return build_judge(settings.judge, settings)
