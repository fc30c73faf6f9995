"""Scoring: the judge protocol, the offline judge, and :func:`make_judge`.

Further judges (Anthropic, ragas, the cache wrapper) plug in here as their issues land.
"""

from __future__ import annotations

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.judge.base import QUALITY_METRICS, Sample, Score

# Branch h-llmjudge: base.Judge is now the async protocol (CONTRACT.md); this package name
# stays the sync one the current engine uses until the lead's engine rewrite replaces it.
from pytest_ragops.judge.base import SyncJudge as Judge
from pytest_ragops.judge.offline import OfflineJudge

__all__ = [
    "JUDGE_NAMES",
    "QUALITY_METRICS",
    "Judge",
    "OfflineJudge",
    "Sample",
    "Score",
    "make_judge",
]

#: Judge names :func:`make_judge` accepts today.
JUDGE_NAMES: tuple[str, ...] = ("auto", "offline")


def make_judge(name: str) -> Judge:
    """Return the judge called ``name`` (the ``--ragops-judge`` value).

    ``auto`` is the offline judge until the Anthropic judge lands; then it will pick
    Anthropic when ``ANTHROPIC_API_KEY`` is set.

    :raises RagopsUsageError: ``name`` is not a judge this version provides.
    """
    if name in ("auto", "offline"):
        return OfflineJudge()
    raise RagopsUsageError(
        f"unknown judge {name!r}; choose from {', '.join(JUDGE_NAMES)}", path="--ragops-judge"
    )
