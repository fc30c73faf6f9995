"""Topic mining over low-scoring queries: embed, cluster, name, rank.

Embedding is pluggable (any object with ``fit_transform(texts)`` returning a 2-D array or
sparse matrix); the default is offline TF-IDF, so this works with no model download.
Clusters come from scikit-learn's KMeans on L2-normalised vectors (Euclidean distance then
orders points as cosine similarity does), with k chosen by silhouette on a subsample when
not given. Each cluster is named by class-based TF-IDF (c-TF-IDF, as in BERTopic): the words
frequent in that cluster and rare in the others.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt

    from pytest_ragops.drift.schema import DriftTopic

__all__ = [
    "Embedder",
    "SentenceTransformerEmbedder",
    "TfidfEmbedder",
    "choose_k",
    "cluster_topics",
    "distinct_rows",
    "keywords_by_cluster",
    "make_embedder",
]

_MAX_K = 10
_SILHOUETTE_SAMPLE = 1000


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into vectors: one row per text (dense array or scipy sparse matrix)."""

    def fit_transform(self, texts: Sequence[str]) -> Any: ...


class TfidfEmbedder:
    """Offline default: word unigram+bigram TF-IDF, English stop words removed."""

    def __init__(self, *, max_features: int = 20000) -> None:
        self.max_features = max_features

    def fit_transform(self, texts: Sequence[str]) -> Any:
        from sklearn.feature_extraction.text import TfidfVectorizer

        try:
            return TfidfVectorizer(
                stop_words="english",
                ngram_range=(1, 2),
                sublinear_tf=True,
                max_features=self.max_features,
            ).fit_transform(list(texts))
        except ValueError:  # only stop words: keep them rather than fail
            return TfidfVectorizer(token_pattern=r"(?u)\b\w+\b").fit_transform(list(texts))


class SentenceTransformerEmbedder:
    """Dense sentence embeddings; needs the optional ``sentence-transformers`` package."""

    def __init__(self, model: str = "all-MiniLM-L6-v2") -> None:
        import importlib

        try:
            module = importlib.import_module("sentence_transformers")
        except ImportError:
            raise RagopsError(
                "sentence-transformers is not installed; `pip install sentence-transformers` "
                "or use the default TF-IDF embedder",
                field="embedder",
            ) from None
        self._model = module.SentenceTransformer(model)

    def fit_transform(self, texts: Sequence[str]) -> Any:
        return self._model.encode(list(texts), normalize_embeddings=True)


def make_embedder(spec: Embedder | str | None) -> Embedder:
    """``None``/``"tfidf"`` → TF-IDF; ``"sentence-transformers[:model]"``; or an Embedder."""
    if spec is None or spec == "tfidf":
        return TfidfEmbedder()
    if isinstance(spec, str):
        name, _, model = spec.partition(":")
        if name == "sentence-transformers":
            return SentenceTransformerEmbedder(model or "all-MiniLM-L6-v2")
        raise RagopsError(
            f"unknown embedder {spec!r}; use 'tfidf' or 'sentence-transformers[:MODEL]'",
            field="embedder",
        )
    if isinstance(spec, Embedder):
        return spec
    raise RagopsError(
        f"an embedder needs a fit_transform(texts) method, got {type(spec).__name__}",
        field="embedder",
    )


def distinct_rows(x: Any) -> int:
    """How many different vectors ``x`` holds (KMeans cannot find more clusters than that)."""
    import numpy as np
    import scipy.sparse as sp

    if sp.issparse(x):
        csr = sp.csr_matrix(x, copy=True)
        csr.sort_indices()
        keys = {
            (
                csr.indices[csr.indptr[i] : csr.indptr[i + 1]].tobytes(),
                np.round(csr.data[csr.indptr[i] : csr.indptr[i + 1]], 9).tobytes(),
            )
            for i in range(csr.shape[0])
        }
        return len(keys)
    return int(np.unique(np.round(np.asarray(x, dtype=np.float64), 9), axis=0).shape[0])


def choose_k(x: Any, seed: int) -> int:
    """Pick k in 2..10 with the best silhouette, fitting on a subsample to stay fast."""
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = int(x.shape[0])
    rng = np.random.default_rng(seed)
    sample = x[np.sort(rng.choice(n, size=min(n, _SILHOUETTE_SAMPLE), replace=False))]
    n_unique = distinct_rows(sample)
    k_max = min(_MAX_K, n_unique, sample.shape[0] - 1)
    if k_max < 2:
        return max(1, min(distinct_rows(x), n))
    best_k, best = 2, -math.inf
    for k in range(2, k_max + 1):
        labels = KMeans(n_clusters=k, n_init=2, max_iter=100, random_state=seed).fit_predict(sample)
        if len(set(labels.tolist())) < 2:
            continue
        score = float(silhouette_score(sample, labels))
        if score > best + 1e-9:
            best_k, best = k, score
    return best_k


def keywords_by_cluster(
    texts: Sequence[str], labels: Sequence[int], n_keywords: int
) -> dict[int, list[str]]:
    """c-TF-IDF: per-cluster term frequency times ``log(1 + A / f_t)``.

    ``A`` is the mean number of words per cluster and ``f_t`` the term's count over all
    clusters, so a word shared by every cluster ranks low.
    """
    import numpy as np
    from sklearn.feature_extraction.text import CountVectorizer

    ids = sorted(set(labels))
    docs = [" ".join(t for t, lab in zip(texts, labels, strict=True) if lab == c) for c in ids]
    try:
        vec = CountVectorizer(stop_words="english")
        counts = vec.fit_transform(docs).toarray().astype(np.float64)
    except ValueError:  # nothing but stop words
        return {c: [] for c in ids}
    words = vec.get_feature_names_out()
    per_class = counts.sum(axis=1, keepdims=True)
    tf = counts / np.maximum(per_class, 1.0)
    idf = np.log1p(per_class.mean() / np.maximum(counts.sum(axis=0), 1.0))
    weights = tf * idf
    out: dict[int, list[str]] = {}
    for row, c in enumerate(ids):
        order = np.lexsort((words, -weights[row]))  # by weight, then alphabetically
        out[c] = [str(words[i]) for i in order[:n_keywords] if weights[row, i] > 0]
    return out


def _share(count: int, sample: int, low_total: int, total: int) -> float:
    # Scale the sample's fraction up to all low-scoring queries, then to all queries.
    if sample == 0 or total == 0:
        return 0.0
    return (count / sample) * (low_total / total)


def cluster_topics(
    recent: Sequence[tuple[str, float]],
    baseline: Sequence[tuple[str, float]],
    *,
    recent_total: int,
    recent_low_total: int,
    baseline_total: int,
    baseline_low_total: int,
    n_clusters: int | None = None,
    embedder: Embedder | str | None = None,
    n_keywords: int = 5,
    n_samples: int = 3,
    seed: int = 0,
) -> list[DriftTopic]:
    """Cluster ``recent`` low-scoring ``(query, score)`` pairs and rank the clusters.

    Baseline low-scoring queries are assigned to the nearest recent cluster when they fall
    within its radius (the farthest member's distance), giving each cluster a baseline share;
    ``share_lift`` = recent share - baseline share orders the result.
    """
    import numpy as np
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import normalize

    if n_clusters is not None and (
        isinstance(n_clusters, bool) or not isinstance(n_clusters, int) or n_clusters < 1
    ):
        raise RagopsError(
            f"must be a positive integer or None, got {n_clusters!r}", field="n_clusters"
        )
    if not recent:
        return []
    emb = make_embedder(embedder)
    texts = [q for q, _ in recent] + [q for q, _ in baseline]
    x = normalize(emb.fit_transform(texts))
    n_r = len(recent)
    xr, xb = x[:n_r], x[n_r:]
    k = min(n_clusters, distinct_rows(xr)) if n_clusters is not None else choose_k(xr, seed)
    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(xr)
    labels: npt.NDArray[np.int64] = km.labels_
    dist_r = km.transform(xr)
    own = dist_r[np.arange(n_r), labels]
    radius = np.array([own[labels == c].max() if np.any(labels == c) else 0.0 for c in range(k)])
    base_counts = np.zeros(k, dtype=np.int64)
    if len(baseline):
        dist_b = km.transform(xb)
        nearest = dist_b.argmin(axis=1)
        inside = dist_b[np.arange(len(baseline)), nearest] <= radius[nearest] + 1e-9
        base_counts = np.bincount(nearest[inside], minlength=k)
    recent_texts = texts[:n_r]
    names = keywords_by_cluster(recent_texts, labels.tolist(), n_keywords)
    scores = np.array([s for _, s in recent])
    topics: list[DriftTopic] = []
    for c in sorted(set(labels.tolist())):
        members = np.flatnonzero(labels == c)
        samples: list[str] = []
        for i in members[np.argsort(own[members], kind="stable")]:
            if recent_texts[i] not in samples:
                samples.append(recent_texts[i])
            if len(samples) == n_samples:
                break
        r_share = _share(len(members), n_r, recent_low_total, recent_total)
        b_share = _share(int(base_counts[c]), len(baseline), baseline_low_total, baseline_total)
        topics.append(
            {
                "cluster_id": int(c),
                "rank": 0,
                "count": len(members),
                "mean_score": round(float(scores[members].mean()), 6),
                "keywords": names.get(c, []),
                "sample_queries": samples,
                "recent_share": round(r_share, 6),
                "baseline_share": round(b_share, 6),
                "share_lift": round(r_share - b_share, 6),
            }
        )
    topics.sort(key=lambda t: (-t["share_lift"], -t["count"], t["cluster_id"]))
    for rank, topic in enumerate(topics, start=1):
        topic["rank"] = rank
    return topics
