from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pytest

from pytest_ragops.drift.topics import (
    Embedder,
    TfidfEmbedder,
    cluster_topics,
    keywords_by_cluster,
    make_embedder,
)
from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ragops.drift.schema import DriftTopic

KUBE = [f"kubernetes ingress pod networking question {i}" for i in range(20)]
BILL = [f"billing invoice refund request {i}" for i in range(20)]
OLD = [f"vacuum autovacuum bloat tuning {i}" for i in range(20)]


def _run(
    recent: list[tuple[str, float]], baseline: list[tuple[str, float]], **options: Any
) -> list[DriftTopic]:
    """Cluster with totals saying a quarter of all queries scored low in each period."""
    return cluster_topics(
        recent,
        baseline,
        recent_total=len(recent) * 4,
        recent_low_total=len(recent),
        baseline_total=len(baseline) * 4 if baseline else 100,
        baseline_low_total=len(baseline),
        **options,
    )


def test_new_topics_outrank_a_topic_that_was_always_low() -> None:
    recent = [(q, 0.2) for q in KUBE + BILL + OLD]
    baseline = [(q, 0.2) for q in OLD]
    topics = _run(recent, baseline, n_clusters=3)
    assert [t["rank"] for t in topics] == [1, 2, 3]
    assert {t["keywords"][0] for t in topics[:2]} <= {
        "kubernetes",
        "ingress",
        "pod",
        "networking",
        "billing",
        "invoice",
        "refund",
        "request",
    }
    last = topics[-1]
    assert {"vacuum", "autovacuum", "bloat", "tuning"} & set(last["keywords"])
    assert last["baseline_share"] > 0
    assert topics[0]["baseline_share"] == 0
    assert last["share_lift"] < topics[1]["share_lift"]
    assert all(t["count"] == 20 and t["mean_score"] == pytest.approx(0.2) for t in topics)
    assert len(topics[0]["sample_queries"]) == 3


def test_k_is_chosen_by_silhouette() -> None:
    recent = [(q, 0.1) for q in KUBE + BILL + OLD]
    topics = _run(recent, [])
    assert len(topics) == 3
    assert sorted(t["count"] for t in topics) == [20, 20, 20]


def test_tiny_inputs() -> None:
    assert _run([], []) == []
    one = _run([("kubernetes ingress", 0.1)], [])
    assert len(one) == 1
    assert one[0]["sample_queries"] == ["kubernetes ingress"]
    # More clusters asked for than distinct queries: capped, no sklearn warning.
    dup = _run([("same query", 0.1)] * 5, [], n_clusters=4)
    assert len(dup) == 1
    assert dup[0]["count"] == 5


def test_keywords_by_cluster_prefers_distinctive_words() -> None:
    names = keywords_by_cluster(
        ["gdpr erasure data", "gdpr deletion data", "invoice data", "invoice refund data"],
        [0, 0, 1, 1],
        2,
    )
    assert names[0][0] == "gdpr"
    assert names[1][0] == "invoice"
    assert "data" not in names[0][:1]


class _Fixed:
    """A custom embedder: two fixed directions, to show the protocol is all that's needed."""

    def fit_transform(self, texts: Sequence[str]) -> Any:
        return np.array([[1.0, 0.0] if "kubernetes" in t else [0.0, 1.0] for t in texts])


def test_pluggable_embedder() -> None:
    assert isinstance(_Fixed(), Embedder)
    recent = [(q, 0.1) for q in KUBE + BILL]
    topics = _run(recent, [], embedder=_Fixed())
    assert sorted(t["count"] for t in topics) == [20, 20]


def test_make_embedder() -> None:
    assert isinstance(make_embedder(None), TfidfEmbedder)
    assert isinstance(make_embedder("tfidf"), TfidfEmbedder)
    custom = _Fixed()
    assert make_embedder(custom) is custom
    with pytest.raises(RagopsError, match=r"^embedder: sentence-transformers is not installed"):
        make_embedder("sentence-transformers")
    with pytest.raises(RagopsError, match=r"^embedder: unknown embedder 'bert'"):
        make_embedder("bert")
    with pytest.raises(RagopsError, match=r"^embedder: an embedder needs a fit_transform"):
        make_embedder(42)  # type: ignore[arg-type]


def test_stop_word_only_queries_still_cluster() -> None:
    assert TfidfEmbedder().fit_transform(["how do I", "what is it"]).shape[0] == 2


def test_bad_n_clusters() -> None:
    with pytest.raises(RagopsError, match=r"^n_clusters: must be a positive integer or None"):
        _run([("q", 0.1)], [], n_clusters=0)
