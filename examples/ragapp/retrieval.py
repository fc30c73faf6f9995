"""BM25 retrieval in pure Python: deterministic ranking plus a [0, 1] retrieval score.

The normalised score of the top hit is what the app logs for drift detection: a
question whose words the corpus does not know scores near 0, one that a chunk covers
word for word scores near 1.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

    from ragapp.chunking import Chunk

__all__ = ["BM25Index", "Hit", "terms"]

_TOKEN_RE = re.compile(r"[a-z0-9_]+")
_STOPWORD_TEXT = """
    a about after all also an and any are as at be because been before being between both
    but by can could did do does doing during each for from had has have how i if in into
    is it its itself just may me more most my no not of on once only or other our out over
    own same should so some such than that the their them then there these they this those
    through to too under until up very was we were what when where which while who whom
    why will with would you your
"""
_STOPWORDS = frozenset(_STOPWORD_TEXT.split())
_SUFFIXES = (
    ("ies", "y"),
    ("sses", "ss"),
    ("xes", "x"),
    ("ches", "ch"),
    ("shes", "sh"),
    ("ing", ""),
    ("ed", ""),
    ("s", ""),
)


def _stem(word: str) -> str:
    """Fold plurals, -ing/-ed forms and a final -e so that "replicas" meets "replica"."""
    if len(word) <= 4 or not word.isalpha():
        return word
    for suffix, repl in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            if suffix == "s" and word.endswith(("ss", "us", "is")):
                break
            word = word[: -len(suffix)] + repl
            break
    return word[:-1] if len(word) > 4 and word.endswith("e") else word


def terms(text: str) -> list[str]:
    """Index terms of ``text``: lowercased words without stopwords, lightly stemmed.

    An identifier such as ``max_wal_size`` yields itself and its parts, so both
    "max_wal_size" and "maximum WAL size" find it.
    """
    out: list[str] = []
    for token in _TOKEN_RE.findall(text.lower()):
        token = token.strip("_")
        if not token or token in _STOPWORDS:
            continue
        out.append(_stem(token))
        if "_" in token:
            out.extend(_stem(p) for p in token.split("_") if p and p not in _STOPWORDS)
    return out


@dataclass(frozen=True, slots=True)
class Hit:
    """One retrieved chunk with its raw BM25 score."""

    chunk: Chunk
    score: float


class BM25Index:
    """Okapi BM25 over chunks (title and text), with Lucene's always-positive idf.

    :param k1: term-frequency saturation.
    :param b: length normalisation.
    """

    def __init__(self, chunks: Sequence[Chunk], *, k1: float = 1.2, b: float = 0.75) -> None:
        if not chunks:
            raise ValueError("cannot build a BM25 index over zero chunks")
        self.chunks = tuple(chunks)
        self.k1 = k1
        self.b = b
        self._tf = [Counter(terms(f"{c.title} {c.text}")) for c in self.chunks]
        self._len = [sum(tf.values()) for tf in self._tf]
        self._avg = sum(self._len) / len(self._len)
        df: Counter[str] = Counter()
        for tf in self._tf:
            df.update(tf.keys())
        n = len(self.chunks)
        self._idf = {t: math.log(1.0 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}
        # A term the corpus never uses gets the idf of a term in no chunk (the maximum).
        self._unknown_idf = math.log(1.0 + (n + 0.5) / 0.5)

    def idf(self, term: str) -> float:
        """Inverse document frequency of an index term (see :func:`terms`)."""
        return self._idf.get(term, self._unknown_idf)

    def _score(self, i: int, query: Iterable[str]) -> float:
        tf = self._tf[i]
        norm = self.k1 * (1.0 - self.b + self.b * self._len[i] / self._avg)
        total = 0.0
        for t in query:
            f = tf.get(t, 0)
            if f:
                total += self._idf[t] * f * (self.k1 + 1.0) / (f + norm)
        return total

    def search(self, question: str, top_k: int) -> list[Hit]:
        """The ``top_k`` best chunks for ``question``, best first (ties by chunk id)."""
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
        query = sorted(set(terms(question)))
        scored = [(self._score(i, query), c.id, i) for i, c in enumerate(self.chunks)]
        scored = [s for s in scored if s[0] > 0.0]
        scored.sort(key=lambda s: (-s[0], s[1]))
        return [Hit(chunk=self.chunks[i], score=score) for score, _, i in scored[:top_k]]

    def normalised(self, question: str, score: float) -> float:
        """Map a raw score for ``question`` to [0, 1].

        The reference is the score of an average-length chunk that contains every
        query term once (which is the sum of the terms' idf); longer matches are capped
        at 1. Unknown words count at full idf, so off-corpus questions score low.
        """
        query = set(terms(question))
        ideal = sum(self.idf(t) for t in query)
        if ideal <= 0.0:
            return 0.0
        return round(min(1.0, max(0.0, score / ideal)), 6)
