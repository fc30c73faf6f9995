"""The RAG app: retrieve with BM25, then answer extractively or with Claude.

``answer(case, variant)`` is the pipeline the eval tests hand to ``ragops.evaluate``.
The variant (a prompt file in the repository's ``prompts/``) sets how many chunks are
retrieved, how much context is kept and how the answer is phrased.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

from pytest_ragops.errors import RagopsError
from pytest_ragops.pricing import cost_from_usage
from pytest_ragops.prompts import Prompt, load_prompt
from ragapp.chunking import load_corpus
from ragapp.generator import (
    DEFAULT_MODEL,
    STYLES,
    AnthropicGenerator,
    ExtractiveGenerator,
    Generation,
    estimate_usage,
    split_sentences,
)
from ragapp.ingest import load_index
from ragapp.retrieval import BM25Index

__all__ = [
    "CORPUS_DIR",
    "PROMPTS_DIR",
    "answer",
    "get_index",
    "load_variant",
    "select_contexts",
]

#: examples/corpus
CORPUS_DIR: Final = Path(__file__).resolve().parent.parent / "corpus"
#: The repository's top-level prompts/ directory.
PROMPTS_DIR: Final = Path(__file__).resolve().parent.parent.parent / "prompts"
_GENERATORS: Final = ("auto", "offline", "anthropic")


def load_variant(name: str) -> Prompt:
    """Load ``prompts/<name>.yaml`` (``$RAGAPP_PROMPTS_DIR`` overrides the directory).

    :raises RagopsError: the file is invalid or its params do not suit this app.
    """
    directory = Path(os.environ.get("RAGAPP_PROMPTS_DIR") or PROMPTS_DIR)
    prompt = load_prompt(directory / f"{name}.yaml")
    _check_params(prompt)
    return prompt


def _check_params(prompt: Prompt) -> None:
    where = str(prompt.path)
    for key in ("top_k", "context_budget", "max_tokens"):
        value = prompt.params.get(key)
        if key == "max_tokens" and value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise RagopsError(
                f"must be a positive integer, got {value!r}", path=where, field=f"params.{key}"
            )
    style = prompt.params.get("style")
    if style not in STYLES:
        raise RagopsError(
            f"must be one of {', '.join(STYLES)}, got {style!r}", path=where, field="params.style"
        )
    model = prompt.params.get("model", DEFAULT_MODEL)
    if not isinstance(model, str) or not model:
        raise RagopsError("must be a model name", path=where, field="params.model")
    if not isinstance(prompt.params.get("tips", False), bool):
        raise RagopsError("must be true or false", path=where, field="params.tips")


@lru_cache(maxsize=4)
def _index_from(source: str) -> BM25Index:
    path = Path(source)
    chunks = load_index(path) if path.suffix == ".json" else load_corpus(path)
    return BM25Index(chunks)


def get_index() -> BM25Index:
    """The BM25 index: from ``$RAGAPP_INDEX`` (an ingest JSON) or ``examples/corpus``."""
    return _index_from(os.environ.get("RAGAPP_INDEX") or str(CORPUS_DIR))


def select_contexts(texts: list[str], budget: int) -> list[str]:
    """Keep the best-first passages that fit in ``budget`` characters.

    Passages are whole paragraphs; only the first is ever cut (at a sentence boundary)
    when it alone exceeds the budget, so every variant gets at least one passage.
    """
    kept: list[str] = []
    used = 0
    for text in texts:
        if used + len(text) <= budget:
            kept.append(text)
            used += len(text)
            continue
        if not kept:
            head: list[str] = []
            for sentence in split_sentences(text):
                if sum(len(s) + 1 for s in head) + len(sentence) > budget:
                    break
                head.append(sentence)
            kept.append(" ".join(head) if head else text[:budget])
        break
    return kept


def _question(case: Any) -> str:
    if isinstance(case, str):
        return case
    if isinstance(case, dict):
        return str(case["question"])
    return str(case.question)


def _use_claude() -> bool:
    mode = os.environ.get("RAGAPP_GENERATOR", "auto")
    if mode not in _GENERATORS:
        raise RagopsError(
            f"must be one of {', '.join(_GENERATORS)}, got {mode!r}", path="$RAGAPP_GENERATOR"
        )
    if mode == "auto":
        return bool(os.environ.get("ANTHROPIC_API_KEY"))
    return mode == "anthropic"


def answer(case: Any, variant: str | Prompt | None = "baseline") -> dict[str, Any]:
    """Answer one case (a Case, a mapping with ``question``, or a str) with a variant.

    Returns ``answer``, ``contexts``, ``cost_usd``, ``model``, ``usage`` and
    ``retrieval_score`` (the top hit's BM25 score normalised to [0, 1], for drift logs),
    plus ``sources`` (chunk ids) and ``prompt_version``.
    """
    use_claude = _use_claude()
    prompt = variant if isinstance(variant, Prompt) else load_variant(variant or "baseline")
    if isinstance(variant, Prompt):
        _check_params(prompt)
    question = _question(case)
    index = get_index()
    hits = index.search(question, int(prompt.params["top_k"]))
    contexts = select_contexts([h.chunk.text for h in hits], int(prompt.params["context_budget"]))
    generation: Generation
    if use_claude:
        generator = AnthropicGenerator(
            model=str(prompt.params.get("model", DEFAULT_MODEL)),
            max_tokens=int(prompt.params.get("max_tokens", 512)),
        )
        generation = generator.generate(question, contexts, prompt)
    else:
        offline = ExtractiveGenerator(index.idf).generate(
            question, contexts, str(prompt.params["style"]), tips=bool(prompt.params.get("tips"))
        )
        # Priced on the variant's model, so the lab compares cost offline; None if unknown.
        usage = estimate_usage(prompt, question, contexts, offline.answer)
        model = str(prompt.params.get("model", DEFAULT_MODEL))
        generation = Generation(
            answer=offline.answer,
            model=offline.model,
            usage=usage,
            cost_usd=cost_from_usage(model, dict(usage)),
        )
    return {
        "answer": generation.answer,
        "contexts": contexts,
        "cost_usd": generation.cost_usd,
        "model": generation.model,
        "usage": generation.usage,
        "retrieval_score": index.normalised(question, hits[0].score) if hits else 0.0,
        "sources": [h.chunk.id for h in hits[: len(contexts)]],
        "prompt_version": prompt.version,
    }
