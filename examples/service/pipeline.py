"""The request path's RAG pipeline: the ragapp building blocks on a given index.

The service holds its index in an :class:`~pytest_ragops.flags.IndexSwapper`, so the
pipeline takes the index a request picked up instead of ragapp's process-wide one, and
answers offline (extractive), which keeps the service key-free and deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from ragapp.app import select_contexts
from ragapp.generator import ExtractiveGenerator
from ragapp.retrieval import terms

if TYPE_CHECKING:
    from ragapp.retrieval import BM25Index, Hit

    from pytest_ragops.prompts import Prompt

__all__ = ["Answer", "answer", "rerank"]

#: Candidates the reranker sees, as a multiple of the variant's top_k.
RERANK_POOL = 3


@dataclass(frozen=True, slots=True)
class Answer:
    """What one question produced."""

    answer: str
    contexts: list[str]
    sources: list[str]
    #: The top BM25 hit normalised to [0, 1]: the drift log's value.
    retrieval_score: float
    #: USD the generation cost (0.0 offline; ``None`` = unknown, which fails cost gates).
    cost_usd: float | None


@lru_cache(maxsize=8192)
def _chunk_terms(title: str, text: str) -> frozenset[str]:
    """A passage's index terms, tokenised once per passage rather than per request."""
    return frozenset(terms(f"{title} {text}"))


def rerank(question: str, hits: list[Hit]) -> list[Hit]:
    """Order hits by the share of the question's distinct terms each covers, then BM25.

    BM25 can rank a passage that repeats one rare word above one that answers every part
    of the question; coverage first favours the latter.
    """
    wanted = set(terms(question))
    if not wanted:
        return hits

    def key(hit: Hit) -> tuple[float, float, str]:
        have = _chunk_terms(hit.chunk.title, hit.chunk.text)
        return (-len(wanted & have) / len(wanted), -hit.score, hit.chunk.id)

    return sorted(hits, key=key)


def answer(index: BM25Index, question: str, prompt: Prompt, *, use_reranker: bool) -> Answer:
    """Retrieve (and maybe rerank), select contexts and answer extractively."""
    top_k = int(prompt.params["top_k"])
    if use_reranker:
        hits = rerank(question, index.search(question, top_k * RERANK_POOL))[:top_k]
    else:
        hits = index.search(question, top_k)
    contexts = select_contexts([h.chunk.text for h in hits], int(prompt.params["context_budget"]))
    generation = ExtractiveGenerator(index.idf).generate(
        question, contexts, str(prompt.params["style"])
    )
    best = max((h.score for h in hits), default=0.0)
    return Answer(
        answer=generation.answer,
        contexts=contexts,
        sources=[h.chunk.id for h in hits[: len(contexts)]],
        retrieval_score=index.normalised(question, best) if hits else 0.0,
        cost_usd=generation.cost_usd,
    )
