"""Query-drift detection: log each query's top retrieval score, spot drops, name the topics.

Importing this package is cheap: numpy, scipy, scikit-learn, SQLAlchemy and matplotlib load
on first use. The classic functions (``log_retrieval_score``, ``check_retrieval_drift``,
``identify_drift_topics``) and :class:`RetrievalLog` share one store (``drift.db`` by default,
or any SQLAlchemy URL).
"""

from __future__ import annotations

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
