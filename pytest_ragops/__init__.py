"""pytest-ragops: eval tests, quality gates and ops helpers for RAG and LLM apps.

The public names load lazily (as pluggy does for ``__version__``) so that importing the
package, which pytest does for every run once the plugin is installed, costs nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_ragops import hooks
    from pytest_ragops.cases import Case, load_cases
    from pytest_ragops.drift import (
        RetrievalLog,
        check_retrieval_drift,
        identify_drift_topics,
        log_retrieval_score,
    )
    from pytest_ragops.errors import RagopsError, RagopsUsageError, RagopsWarning
    from pytest_ragops.flags import (
        CanaryJudge,
        CanaryRouter,
        FeatureFlags,
        IndexSwapper,
        bucket,
        is_enabled,
    )
    from pytest_ragops.judge.base import Judge, Sample, Score, SyncJudge
    from pytest_ragops.prompts import Prompt, load_prompt, load_prompts
    from pytest_ragops.results import EvalResult, Record
    from pytest_ragops.runner import PipelineFailed, Ragops

__all__ = [
    "CanaryJudge",
    "CanaryRouter",
    "Case",
    "EvalResult",
    "FeatureFlags",
    "IndexSwapper",
    "Judge",
    "PipelineFailed",
    "Prompt",
    "Ragops",
    "RagopsError",
    "RagopsUsageError",
    "RagopsWarning",
    "Record",
    "RetrievalLog",
    "Sample",
    "Score",
    "SyncJudge",
    "__version__",
    "bucket",
    "check_retrieval_drift",
    "hooks",
    "identify_drift_topics",
    "is_enabled",
    "load_cases",
    "load_prompt",
    "load_prompts",
    "log_retrieval_score",
]

_LAZY = {
    "Case": "pytest_ragops.cases",
    "load_cases": "pytest_ragops.cases",
    "RagopsError": "pytest_ragops.errors",
    "RagopsUsageError": "pytest_ragops.errors",
    "RagopsWarning": "pytest_ragops.errors",
    "EvalResult": "pytest_ragops.results",
    "Record": "pytest_ragops.results",
    "Prompt": "pytest_ragops.prompts",
    "Judge": "pytest_ragops.judge.base",
    "Sample": "pytest_ragops.judge.base",
    "Score": "pytest_ragops.judge.base",
    "SyncJudge": "pytest_ragops.judge.base",
    "Ragops": "pytest_ragops.runner",
    "PipelineFailed": "pytest_ragops.runner",
    "load_prompt": "pytest_ragops.prompts",
    "load_prompts": "pytest_ragops.prompts",
    "RetrievalLog": "pytest_ragops.drift",
    "check_retrieval_drift": "pytest_ragops.drift",
    "identify_drift_topics": "pytest_ragops.drift",
    "log_retrieval_score": "pytest_ragops.drift",
    "CanaryJudge": "pytest_ragops.flags",
    "CanaryRouter": "pytest_ragops.flags",
    "FeatureFlags": "pytest_ragops.flags",
    "IndexSwapper": "pytest_ragops.flags",
    "bucket": "pytest_ragops.flags",
    "is_enabled": "pytest_ragops.flags",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("pytest-ragops")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0+unknown"
    if name == "hooks":
        return importlib.import_module("pytest_ragops.hooks")
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_ragops' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
