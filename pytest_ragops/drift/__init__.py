"""Query-drift detection: log each query's top retrieval score, spot drops, name the topics.

Importing this package is cheap: its names load on first access (the ``ragops`` pytest
plugin imports ``pytest_ragops.drift.pytest_plugin`` on every run, which imports this
package), and numpy, scipy, scikit-learn, SQLAlchemy and matplotlib load on first use.
The classic functions (``log_retrieval_score``, ``check_retrieval_drift``,
``identify_drift_topics``) and :class:`RetrievalLog` share one store (``drift.db`` by
default, or any SQLAlchemy URL).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_ragops.drift.log import (
        DEFAULT_DB,
        RetrievalLog,
        check_retrieval_drift,
        identify_drift_topics,
        log_retrieval_score,
    )
    from pytest_ragops.drift.schema import DriftCheck, DriftStatus, DriftTopic
    from pytest_ragops.drift.topics import (
        Embedder,
        SentenceTransformerEmbedder,
        TfidfEmbedder,
        make_embedder,
    )

__all__ = [
    "DEFAULT_DB",
    "DriftCheck",
    "DriftStatus",
    "DriftTopic",
    "Embedder",
    "RetrievalLog",
    "SentenceTransformerEmbedder",
    "TfidfEmbedder",
    "check_retrieval_drift",
    "identify_drift_topics",
    "log_retrieval_score",
    "make_embedder",
]

_LAZY = {
    "DEFAULT_DB": "log",
    "RetrievalLog": "log",
    "check_retrieval_drift": "log",
    "identify_drift_topics": "log",
    "log_retrieval_score": "log",
    "DriftCheck": "schema",
    "DriftStatus": "schema",
    "DriftTopic": "schema",
    "Embedder": "topics",
    "SentenceTransformerEmbedder": "topics",
    "TfidfEmbedder": "topics",
    "make_embedder": "topics",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'pytest_ragops.drift' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"pytest_ragops.drift.{module}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
