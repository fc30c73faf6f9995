"""Hook specifications other plugins implement (added through ``pytest_addhooks``).

Kept in their own module, as pytest-xdist keeps ``newhooks.py``, so that a plugin that
supplies a judge or consumes the final report depends on these names only and never
on the engine's internals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_ragops.judge.base import Judge, SyncJudge
    from pytest_ragops.settings import Settings

__all__ = ["pytest_ragops_make_judge", "pytest_ragops_session_finish"]


@pytest.hookspec(firstresult=True)
def pytest_ragops_make_judge(settings: Settings) -> Judge | SyncJudge | None:
    """Supply the session's judge, or return None to leave the choice to others.

    Called once per process at configure time, before any test runs. The first
    non-None result wins; without one, the built-in judge named by
    ``settings.judge`` is used. Raise :class:`pytest_ragops.RagopsUsageError` for a
    missing key or a bad option: pytest reports it as a usage error (exit 4).
    """


@pytest.hookspec
def pytest_ragops_session_finish(report: dict[str, Any], exitstatus: int) -> None:
    """The eval session's final report, once per run, on the controller only.

    Called after the JSON and Markdown reports are written and the verdict includes
    pytest's own outcome (``report["summary"]["passed"]``). Tracking and PR comments
    hang here. An implementation that raises is reported in one warning line and
    fails the run (exit 1); the other implementations still run.
    """
