"""Answer generators: extractive offline, or Claude through the Anthropic Messages API.

The extractive generator needs no network and no key, so the example's eval suite runs
anywhere; it copies the retrieved sentences that best match the question, which makes
its answers faithful by construction and its relevancy depend on the answer style. A
variant whose prompt invites practical tips (``tips: true``) gets one appended sentence
the passages do not support, as an LLM adding its own knowledge would: the faithfulness
judge must catch it. Offline answers report estimated token usage (about four characters
a token) so that variants differ in cost as they would on the variant's model.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from pytest_ragops.pricing import cost_from_usage
from ragapp.retrieval import terms

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from pytest_ragops.prompts import Prompt

__all__ = [
    "DEFAULT_MODEL",
    "OFFLINE_MODEL",
    "STYLES",
    "TIPS",
    "AnthropicGenerator",
    "ExtractiveGenerator",
    "Generation",
    "estimate_usage",
    "format_context",
    "split_sentences",
]

#: The ``model`` label of extractive answers.
OFFLINE_MODEL: Final = "offline:extractive"
#: Claude model used when a variant's params name none.
DEFAULT_MODEL: Final = "claude-haiku-4-5"
#: Answer styles of the extractive generator.
STYLES: Final = ("extractive-short", "extractive-full", "quote")
#: What an answer says when retrieval found nothing.
NOT_FOUND: Final = "I could not find information about this in the PostgreSQL operations notes."

#: Advice an over-helpful model adds from "its own experience": plausible, unsupported by
#: the notes (numbers and terms that no passage has), so a faithfulness judge must flag it.
TIPS: Final = (
    "Tip: most teams schedule this review for Friday evenings, when traffic drops by 43 percent.",
    "Tip: in our experience a Kubernetes operator automates this for clusters above 17 nodes.",
    "Tip: cloud vendors usually recommend revisiting this quarterly, about every 91 days.",
    "Tip: production teams typically budget 29 minutes of downtime a month for this chore.",
    "Tip: benchmark it first with pgbench on staging hardware, allowing 3 warm-up hours.",
)

# A sentence ends at . ! or ? followed by space, but not after "..." (elided SQL).
_SENTENCE_RE = re.compile(r"(?<=[^.][.!?])\s+")
_FULL_MAX_SENTENCES: Final = 3
_RANK_DECAY: Final = 0.5


def split_sentences(text: str) -> list[str]:
    """Split a paragraph into sentences."""
    return [s.strip() for s in _SENTENCE_RE.split(text.strip()) if s.strip()]


def format_context(contexts: Sequence[str]) -> str:
    """Number the passages so the model (and a reader of the prompt) can cite them."""
    return "\n\n".join(f"[{n}] {text}" for n, text in enumerate(contexts, start=1))


@dataclass(frozen=True, slots=True)
class Generation:
    """An answer with what it cost."""

    answer: str
    model: str
    #: ``input_tokens``/``output_tokens``; None for the offline generator.
    usage: dict[str, int] | None
    #: USD; 0.0 offline, None when the model's price is unknown (fail closed).
    cost_usd: float | None


class ExtractiveGenerator:
    """Answers with the retrieved sentences that share the most rare words with the question.

    :param idf: weight of an index term; rarer terms decide which sentence wins.
    """

    def __init__(self, idf: Callable[[str], float]) -> None:
        self._idf = idf

    def _sentence_score(self, question_terms: frozenset[str], sentence: str) -> float:
        return sum(self._idf(t) for t in question_terms & set(terms(sentence)))

    def generate(
        self, question: str, contexts: Sequence[str], style: str, *, tips: bool = False
    ) -> Generation:
        """Build the answer from ``contexts`` (best first) in the given ``style``.

        With ``tips`` one unsupported piece of advice follows the answer (chosen by a
        SHA-256 of the question, so the same question always gets the same tip).
        """
        if style not in STYLES:
            raise ValueError(f"unknown answer style {style!r}; use one of {', '.join(STYLES)}")
        q = frozenset(terms(question))
        # (score, -rank, -position) sorts best first and breaks ties toward earlier text.
        ranked: list[tuple[float, int, int, str]] = []
        for rank, context in enumerate(contexts):
            for pos, sentence in enumerate(split_sentences(context)):
                # Trust retrieval: a sentence from a lower-ranked passage needs more overlap.
                score = self._sentence_score(q, sentence) / (1.0 + _RANK_DECAY * rank)
                if score > 0.0:
                    ranked.append((score, rank, pos, sentence))
        if not ranked:
            return Generation(answer=NOT_FOUND, model=OFFLINE_MODEL, usage=None, cost_usd=0.0)
        ranked.sort(key=lambda r: (-r[0], r[1], r[2]))
        best = ranked[0]
        if style == "extractive-short":
            text = best[3]
        elif style == "quote":
            text = contexts[best[1]].strip()
        else:
            keep = [r for r in ranked[:_FULL_MAX_SENTENCES] if r[0] >= 0.5 * best[0]]
            keep.sort(key=lambda r: (r[1], r[2]))
            text = " ".join(r[3] for r in keep)
        if tips:
            pick = int(hashlib.sha256(question.encode("utf-8")).hexdigest(), 16) % len(TIPS)
            text = f"{text} {TIPS[pick]}"
        return Generation(answer=text, model=OFFLINE_MODEL, usage=None, cost_usd=0.0)


def estimate_usage(
    prompt: Prompt, question: str, contexts: Sequence[str], answer: str
) -> dict[str, int]:
    """Token counts the variant would use on an LLM: about four characters a token.

    Counts the system prompt and the rendered template (so more context costs more) as
    input and the answer as output; good enough to rank variants by cost offline.
    """
    sent = prompt.system + "\n" + prompt.render(question, format_context(contexts))
    return {
        "input_tokens": math.ceil(len(sent) / 4),
        "output_tokens": math.ceil(len(answer) / 4),
    }


class AnthropicGenerator:
    """Answers with Claude via the real ``anthropic`` client (imported on first use).

    The base URL comes from ``ANTHROPIC_BASE_URL`` (tests point it at a local server).
    anthropic 2.x's ``messages.create`` takes no sampling parameters, so only model,
    max_tokens, system and messages are sent.
    """

    def __init__(self, model: str = DEFAULT_MODEL, max_tokens: int = 512) -> None:
        self.model = model
        self.max_tokens = max_tokens

    def generate(self, question: str, contexts: Sequence[str], prompt: Prompt) -> Generation:
        """Render ``prompt`` with the question and numbered contexts, and ask Claude."""
        import anthropic

        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": self.max_tokens,
            "messages": [
                {"role": "user", "content": prompt.render(question, format_context(contexts))}
            ],
        }
        if prompt.system:
            kwargs["system"] = prompt.system
        with anthropic.Anthropic(base_url=os.environ.get("ANTHROPIC_BASE_URL")) as client:
            message = client.messages.create(**kwargs)
        text = "".join(b.text for b in message.content if b.type == "text").strip()
        usage = {
            "input_tokens": int(message.usage.input_tokens),
            "output_tokens": int(message.usage.output_tokens),
        }
        model = str(message.model or self.model)
        return Generation(
            answer=text, model=model, usage=usage, cost_usd=cost_from_usage(model, dict(usage))
        )
