"""MLflow tracking: a run per eval session and variant, traces with assessments, spool and sync.

Nothing here imports mlflow at import time; the upload and the readers import it on first
use, so ``--ragops-mlflow=off`` (or evals switched off) never pays for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_ragops.tracking.baseline import load_mlflow_baseline
    from pytest_ragops.tracking.options import TrackingOptions
    from pytest_ragops.tracking.session import LogResult, log_session

__all__ = ["LogResult", "TrackingOptions", "load_mlflow_baseline", "log_session"]

_LAZY = {
    "LogResult": "pytest_ragops.tracking.session",
    "log_session": "pytest_ragops.tracking.session",
    "TrackingOptions": "pytest_ragops.tracking.options",
    "load_mlflow_baseline": "pytest_ragops.tracking.baseline",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
