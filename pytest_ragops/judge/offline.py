"""The offline judge: deterministic, no-network scores from token overlap.

It is the default when no API key is set, so it must run anywhere, fast, and give
the same numbers every time. It cannot understand paraphrase or contradiction the
way an LLM judge does; ``docs/offline-judge.md`` states each method and its limits,
and every score is labelled ``offline:<method>`` so reports say what produced it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.judge.base import QUALITY_METRICS, Sample, Score
from pytest_ragops.judge.claims import analyse, check_claim, light_terms, windows_of
from pytest_ragops.judge.relevancy import relevancy
from pytest_ragops.judge.text import (
    NEGATIONS,
    is_abstention,
    is_referral,
    sentences_of,
    split_claims,
    tokens_of,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

__all__ = ["METHODS", "OfflineJudge"]

#: The ``judge`` label of each metric's score (context recall has two methods).
METHODS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "faithfulness": "offline:claim-rules",
        "answer_relevancy": "offline:question-coverage",
        "context_precision": "offline:ranked-overlap",
        "context_recall": "offline:claim-overlap",
    }
)
_RECALL_BY_CONTEXTS: Final = "offline:context-overlap"
_NEEDS_REFERENCE: Final = "needs a reference or reference_contexts"


@dataclass(frozen=True, slots=True)
class _Terms:
    """The comparable content of a claim, sentence window or passage."""

    terms: frozenset[str]
    numbers: frozenset[str]
    negated: bool

    @classmethod
    def of(cls, text: str) -> _Terms:
        # The faithfulness rules' light analysis (cached per sentence), numbers included.
        terms, numbers = light_terms(text)
        return cls(
            terms=terms | numbers,
            numbers=numbers,
            negated=not NEGATIONS.isdisjoint(tokens_of(text)),
        )


@dataclass(frozen=True, slots=True)
class _Context:
    """One retrieved passage: its whole terms and its sliding sentence windows."""

    whole: _Terms
    windows: tuple[_Terms, ...]


@dataclass(frozen=True, slots=True)
class _Claims:
    #: The factual claims' own text, in order (for the rules and the rationale).
    texts: tuple[str, ...]
    #: The text of the factual claims, without abstentions and filler.
    text: str
    abstained: bool


class OfflineJudge:
    """Scores samples by content-term overlap; see ``docs/offline-judge.md``.

    Holds only its frozen settings, so one instance is safe to share between threads.

    :param support: share of a claim's content terms that must occur in one context
        window for the claim to count as supported.
    :param match: overlap coefficient of two passages' terms above which a retrieved
        context counts as one of the ``reference_contexts``.
    :param window: number of consecutive context sentences a claim may draw on.
    """

    __slots__ = ("_match", "_support", "_window")

    #: Judge family label.
    name: str = "offline"

    def __init__(self, *, support: float = 0.5, match: float = 0.6, window: int = 3) -> None:
        for option, value in (("support", support), ("match", match)):
            if not 0.0 < value <= 1.0:
                raise RagopsUsageError(f"{option} must be in (0, 1], got {value!r}")
        if window < 1:
            raise RagopsUsageError(f"window must be at least 1 sentence, got {window!r}")
        self._support = support
        self._match = match
        self._window = window

    def __repr__(self) -> str:
        return f"OfflineJudge(support={self._support}, match={self._match}, window={self._window})"

    def score(self, sample: Sample, metrics: tuple[str, ...] = QUALITY_METRICS) -> list[Score]:
        """Return one :class:`Score` per requested metric, in the order asked.

        :raises RagopsUsageError: a metric the offline judge does not know.
        """
        unknown = [m for m in metrics if m not in METHODS]
        if unknown:
            raise RagopsUsageError(
                f"unknown metric {unknown[0]!r}; the offline judge scores "
                + ", ".join(QUALITY_METRICS)
            )
        run = _Run(self, sample)
        return [run.score(m) for m in metrics]

    # -- primitives shared by the metrics ------------------------------------------

    def _supported(self, claim: _Terms, windows: Iterable[_Terms]) -> bool:
        """Whether one window covers enough of the claim, with all its numbers."""
        need = self._support * len(claim.terms)
        for w in windows:
            if not claim.numbers <= w.numbers or (claim.negated and not w.negated):
                continue
            if len(claim.terms & w.terms) >= need:
                return True
        return False

    def _matches(self, a: _Terms, b: _Terms) -> bool:
        """Whether two passages overlap enough to be the same evidence."""
        smaller = min(len(a.terms), len(b.terms))
        return smaller > 0 and len(a.terms & b.terms) >= self._match * smaller


class _Run:
    """One ``score`` call: analyses each text at most once, shared by all metrics."""

    def __init__(self, judge: OfflineJudge, sample: Sample) -> None:
        self.judge = judge
        self.sample = sample
        self.reference = (sample.reference or "").strip()

    @cached_property
    def contexts(self) -> tuple[_Context, ...]:
        return tuple(_context(c, self.judge._window) for c in self.sample.contexts)

    @cached_property
    def answer(self) -> _Claims:
        return _claims(self.sample.answer)

    @cached_property
    def reference_factual(self) -> tuple[_Terms, ...]:
        return _claim_terms(self.reference)

    @cached_property
    def reference_contexts(self) -> tuple[_Terms, ...]:
        return tuple(
            _context(r, self.judge._window).whole
            for r in self.sample.reference_contexts
            if r.strip()
        )

    def all_windows(self) -> Iterable[_Terms]:
        return (w for c in self.contexts for w in c.windows)

    def score(self, metric: str) -> Score:
        value_or_error: float | str
        label = METHODS[metric]
        rationale: str | None = None
        if metric == "faithfulness":
            value_or_error, rationale = self.faithfulness()
        elif metric == "answer_relevancy":
            value_or_error = self.answer_relevancy()
        elif metric == "context_precision":
            value_or_error = self.context_precision()
        else:
            label, value_or_error = self.context_recall()
        if isinstance(value_or_error, str):
            # No reference to check against: the metric does not apply (not a 0, not a
            # judge failure); gates on it say how many cases lacked one.
            applicable = value_or_error != _NEEDS_REFERENCE
            return Score(metric, None, label, error=value_or_error, applicable=applicable)
        return Score(metric=metric, value=value_or_error, judge=label, rationale=rationale)

    def faithfulness(self) -> tuple[float | str, str | None]:
        if not self.sample.answer.strip():
            return "answer is empty", None
        claims = self.answer
        if not claims.texts:
            # An abstention asserts nothing, so it cannot be unfaithful (relevancy pays).
            if claims.abstained:
                return 1.0, "abstains: makes no claim"
            return (
                "answer has no checkable claim (a sentence with 2+ content words or a number)",
                None,
            )
        windows = [w for c in self.sample.contexts for w in windows_of(c, self.judge._window)]
        question = analyse(self.sample.question)
        quoted = [_flat(c) for c in self.sample.contexts]
        failed = []
        for text in claims.texts:
            flat = _flat(text)
            if len(flat) >= _QUOTE_CHARS and any(_quotes(flat, c) for c in quoted):
                continue  # a quote of a context says what the context says
            verdict = check_claim(analyse(text), windows, question, self.judge._support)
            if not verdict.supported:
                failed.append(f"{_quote(text)} ({verdict.rule}: {verdict.detail})")
        n = len(claims.texts)
        if not failed:
            return 1.0, f"all {n} claims supported"
        return (n - len(failed)) / n, f"{len(failed)} of {n} claims unsupported: " + "; ".join(
            failed
        )

    def answer_relevancy(self) -> float | str:
        """How far the answer's content meets what is asked; see :mod:`.relevancy`."""
        if not self.sample.answer.strip():
            return "answer is empty"
        value = relevancy(self.sample.question, self.answer.texts, self.sample.contexts)
        if value is None:
            return "question has no content words"
        # An answer that declines to answer addresses the question at best in part.
        return value * _ABSTAINED if self.answer.abstained else value

    def context_precision(self) -> float | str:
        ref_contexts = self.reference_contexts
        ref_claims = self.reference_factual
        if not ref_contexts and not ref_claims:
            return _NEEDS_REFERENCE if not self.reference else "reference has no checkable claim"
        hits = 0
        total = 0.0
        for rank, ctx in enumerate(self.contexts, start=1):
            relevant = any(self.judge._matches(ctx.whole, r) for r in ref_contexts) or any(
                self.judge._supported(c, ctx.windows) for c in ref_claims
            )
            if relevant:
                hits += 1
                total += hits / rank
        return total / hits if hits else 0.0

    def context_recall(self) -> tuple[str, float | str]:
        ref_claims = self.reference_factual
        if ref_claims:
            windows = tuple(self.all_windows())
            found = sum(self.judge._supported(c, windows) for c in ref_claims)
            return METHODS["context_recall"], found / len(ref_claims)
        ref_contexts = self.reference_contexts
        if ref_contexts:
            found = sum(
                any(self.judge._matches(c.whole, r) for c in self.contexts) for r in ref_contexts
            )
            return _RECALL_BY_CONTEXTS, found / len(ref_contexts)
        error = _NEEDS_REFERENCE if not self.reference else "reference has no checkable claim"
        return METHODS["context_recall"], error


# Retrieved passages and references recur across cases, variants and repeats; the
# analysis is a pure function of the text, so it is cached (lru_cache is thread-safe).
@lru_cache(maxsize=4096)
def _context(text: str, window: int) -> _Context:
    # The faithfulness rules' light windows (cached) are the same sentence windows with
    # the same terms and numbers, so they are reused rather than rebuilt.
    sentences = sentences_of(text)
    negated = [not NEGATIONS.isdisjoint(tokens_of(s)) for s in sentences]
    size = min(window, len(negated))
    windows = tuple(
        _Terms(
            terms=w.terms | w.numbers if w.numbers else w.terms,
            numbers=w.numbers,
            negated=any(negated[i : i + size]),
        )
        for i, w in enumerate(windows_of(text, window))
    )
    # Each sentence once (the windows overlap); light_terms is cached per sentence.
    light = [light_terms(s) for s in sentences]
    numbers = frozenset().union(*(n for _, n in light))
    whole = _Terms(
        terms=frozenset().union(numbers, *(t for t, _ in light)),
        numbers=numbers,
        negated=any(negated),
    )
    return _Context(whole=whole, windows=windows)


@lru_cache(maxsize=4096)
def _claims(text: str) -> _Claims:
    factual: list[str] = []
    abstained = False
    for claim in split_claims(text):
        if is_abstention(claim):
            abstained = True
        else:
            factual.append(claim)
    if abstained:
        # "Please ask your pharmacist" after an abstention only says where to look.
        factual = [c for c in factual if not is_referral(c)]
    return _Claims(
        texts=tuple(factual),
        text="\n".join(factual),
        abstained=abstained,
    )


@lru_cache(maxsize=4096)
def _claim_terms(text: str) -> tuple[_Terms, ...]:
    """The terms of each factual claim of ``text``. Only a reference's claims are compared
    by terms (an answer's go through the rules), so they are not part of :func:`_claims`."""
    return tuple(_Terms.of(c) for c in _claims(text).texts)


#: The factor on answer_relevancy when the answer abstains as well as claims something.
_ABSTAINED: Final = 0.5
#: A claim this long found word for word in a context is supported without the rules.
_QUOTE_CHARS: Final = 20


@lru_cache(maxsize=4096)
def _flat(text: str) -> str:
    """``text`` lower-cased with single spaces and no end punctuation, for quote lookup."""
    return " ".join(text.lower().split()).strip(" .!?;:,")


def _quotes(claim: str, context: str) -> bool:
    """Whether ``context`` states ``claim`` word for word, outside a negation: "eat raw
    eggs during pregnancy" is in "do not eat raw eggs during pregnancy" but is not what
    it says, so a quote after a negation cue in its clause goes through the rules."""
    start = context.find(claim)
    while start >= 0:
        lead = _CLAUSE_END_RE.split(context[:start])[-1]
        if not lead or NEGATIONS.isdisjoint(tokens_of(lead)):
            return True
        start = context.find(claim, start + 1)
    return False


#: What ends the clause a quote stands in, looking back from the quote.
_CLAUSE_END_RE: Final = re.compile(r"[.;:!?]\s|,\s")


def _quote(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "\u2026")
