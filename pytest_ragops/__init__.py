"""pytest-ragops: eval tests, quality gates and ops helpers for RAG and LLM apps.

The public names load lazily (as pluggy does for ``__version__``) so that importing the
package, which pytest does for every run once the plugin is installed, costs nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_ragops.cases import Case, load_cases
    from pytest_ragops.errors import RagopsError, RagopsUsageError, RagopsWarning
    from pytest_ragops.results import EvalResult, Record

__all__ = [
    "Case",
    "EvalResult",
    "RagopsError",
    "RagopsUsageError",
    "RagopsWarning",
    "Record",
    "__version__",
    "load_cases",
]

_LAZY = {
    "Case": "pytest_ragops.cases",
    "load_cases": "pytest_ragops.cases",
    "RagopsError": "pytest_ragops.errors",
    "RagopsUsageError": "pytest_ragops.errors",
    "RagopsWarning": "pytest_ragops.errors",
    "EvalResult": "pytest_ragops.results",
    "Record": "pytest_ragops.results",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("pytest-ragops")
        except PackageNotFoundError:  # running from a source tree that is not installed
            return "0+unknown"
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_ragops' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(__all__)
