"""answer_relevancy for the offline judge: does the answer's content meet what is asked?

Words shared with the question are weak evidence: an off-topic answer repeats the
question's subject ("Levothyroxine is taken once a day ...") while stating something
else. So every term is weighted by how *specific* it is within this sample's contexts
(an inverse sentence frequency): the subject, named in most sentences, weighs little;
what the question asks about ("miss a dose", "soft water") weighs much. Two views are
combined, each a weighted share in [0, 1]:

* **coverage**: the share of the question's weight that the answer's claims cover;
* **anchored**: the share of the answer's own new content (terms beyond the question's)
  found in the context sentences the question points at (its best weighted matches).

A paraphrase that avoids the question's words scores by the second; an echo that
repeats them while saying something else fails both. See ``docs/offline-judge.md``.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from functools import lru_cache
from itertools import chain
from typing import TYPE_CHECKING, Final

from pytest_ragops.judge.claims import light_terms
from pytest_ragops.judge.lexicon import FILLER, NUMBER_WORDS
from pytest_ragops.judge.text import sentences_of, stem, tokens_of

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["relevancy"]

#: Context sentences whose weighted match with the question reaches this share of the
#: best one's are where the question points.
_ANCHOR_SHARE: Final = 0.75

# A wh-question asks for something its own words do not say; a yes/no question may be
# answered by restating it.
_WH_RE = re.compile(r"^\W*(?:what|which|how|when|where|why|who|whom|whose)\b", re.IGNORECASE)
_NUMBER_Q_RE = re.compile(
    r"\bhow (?:many|much|long|often|large|big|fast|high|low|old|soon|far)\b"
    r"|\bwhat (?:is|are) the (?:default|maximum|minimum|limit)|\bdefaults? (?:of|value)"
    r"|\bwhich port\b|\bwhat (?:temperature|size|value|number|dose|age|time)\b|\bwhen\b",
    re.IGNORECASE,
)
_NUMBER_FOCUS: Final = "\x00number"
_NUMBER_WORDS: Final = frozenset(NUMBER_WORDS) - {"one"}


@lru_cache(maxsize=1)
def _filler() -> frozenset[str]:
    """The filler words, stemmed (on first use: the stemmer loads lazily)."""
    return frozenset(stem(w) for w in FILLER)


def _sentence_terms(context: str) -> list[frozenset[str]]:
    """Each sentence's content terms (number words and units aside)."""
    return [light_terms(s)[0] for s in sentences_of(context)]


@lru_cache(maxsize=1024)
def _corpus(
    contexts: tuple[str, ...],
) -> tuple[list[frozenset[str]], Counter[str], frozenset[str]]:
    """The distinct context sentences' terms, each term's sentence count, and all terms."""
    sentences = list(dict.fromkeys(s for c in contexts for s in _sentence_terms(c)))
    df: Counter[str] = Counter(chain.from_iterable(sentences))
    return sentences, df, frozenset(df)


def _terms(text: str) -> frozenset[str]:
    """Content terms of ``text`` without filler, number words and units."""
    return light_terms(text)[0] - _filler()


def _has_number(text: str) -> bool:
    return bool(light_terms(text)[1]) or not _NUMBER_WORDS.isdisjoint(tokens_of(text))


def relevancy(question: str, claims: Sequence[str], contexts: Sequence[str]) -> float | None:
    """The relevancy of the answer's factual ``claims`` to ``question``, in [0, 1].

    ``None`` when the question has no content terms. No claims (an abstention) is 0.
    """
    q_terms = _terms(question)
    if not q_terms:
        return None
    if not claims:
        return 0.0
    sentences, df, seen = _corpus(tuple(contexts))
    n = len(sentences)

    def weight(term: str) -> float:
        # A term in no context sentence is weighed as one in a single sentence: it is
        # the user's wording, which grounded answers need not repeat.
        return math.log((n + 1.0) / (max(df[term], 1) + 0.5)) + 0.1

    wh = bool(_WH_RE.search(question))
    wants_number = bool(_NUMBER_Q_RE.search(question))
    answer: set[str] = set()
    has_number = False
    each: list[set[str]] = []
    for claim in claims:
        said = _drop_echoed_lead_in(claim, q_terms, wh)
        terms = set(_terms(said))
        number = _has_number(said)
        if wh and terms <= q_terms and not number:
            continue  # an echo of the question says nothing
        answer |= terms
        each.append(terms)
        has_number = has_number or number
    if not answer and not has_number:
        return 0.0
    q_weights = {t: weight(t) for t in q_terms}
    if wants_number:
        q_weights[_NUMBER_FOCUS] = math.fsum(q_weights.values()) / len(q_weights)
    covered = {t for t in q_terms if _covered(t, answer)}
    if has_number and wants_number:
        covered.add(_NUMBER_FOCUS)
    coverage = math.fsum(q_weights[t] for t in covered) / math.fsum(q_weights.values())
    anchored, anchor = _anchored(answer - q_terms, q_weights, sentences, seen, weight)
    # Padding with claims that touch neither the question nor where it points costs up
    # to a quarter.
    on_topic = sum(1 for terms in each if terms & (q_terms | anchor)) if each else 1
    padding = 0.75 + 0.25 * on_topic / max(1, len(each))
    return max(coverage, anchored) * padding


def _anchored(
    new: set[str],
    q_weights: dict[str, float],
    sentences: list[frozenset[str]],
    seen: frozenset[str],
    weight: Callable[[str], float],
) -> tuple[float, frozenset[str]]:
    """The weighted share of the answer's new terms in the sentences the question
    points at; terms found in no context sentence are left out (they cannot tell)."""
    if not sentences:
        return 0.0, frozenset()
    # A frozenset, not the keys view: a view intersected with a set builds a new set in
    # Python's slow path. The sums are math.fsum, exact whatever the order.
    asked = frozenset(q_weights)
    matches = [
        math.fsum(map(q_weights.__getitem__, s & asked)) if not s.isdisjoint(asked) else 0.0
        for s in sentences
    ]
    best = max(matches)
    if best <= 0.0:
        return 0.0, frozenset()
    anchor = frozenset().union(
        *(s for s, m in zip(sentences, matches, strict=True) if m >= _ANCHOR_SHARE * best)
    )
    if not new:
        return 0.0, anchor
    known = (new & seen) or new
    weights = {t: weight(t) for t in known}  # each weight once
    total = math.fsum(weights.values())
    found = math.fsum(map(weights.__getitem__, known & anchor))
    return (found / total if total else 0.0), anchor


def _drop_echoed_lead_in(claim: str, q_terms: frozenset[str], wh: bool) -> str:
    """``claim`` without a lead-in ("To watch X on Y, ...") that only repeats the question."""
    head, sep, rest = claim.partition(", ")
    if not sep or not rest.strip() or not wh:
        return claim
    terms = _terms(head)
    if _has_number(head):
        return claim  # a number is an answer, not an echo
    if terms and terms <= q_terms and len(terms) >= 0.5 * len(q_terms):
        return rest
    return claim


def _covered(term: str, answer: set[str]) -> bool:
    """A question term is covered by the same answer term, or inside an identifier
    (4+ letters: "backup" in ``pg_basebackup``)."""
    if term in answer:
        return True
    return len(term) >= 4 and any(term in a for a in answer if len(a) > len(term))
