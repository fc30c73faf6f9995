"""Claims and passages as the offline faithfulness rules see them, and those rules.

A text is analysed once into :class:`Passage` objects (one per sentence or claim): its
content terms in order, the quantities among them (digits or number words with their
unit, in one base unit per dimension), the rare terms (identifiers, names), and its
clauses with their polarity. :func:`check_claim` then decides whether one claim is
supported by the contexts and, when it is not, which rule failed. Each rule and its
known failure modes are documented in ``docs/offline-judge.md``.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Final, NamedTuple

from pytest_ragops.judge.lexicon import (
    ANTONYMS,
    COMMON_VERBS,
    FILLER,
    NUMBER_WORDS,
    ROMAN_AFTER,
    ROMAN_NUMERALS,
    SCALE_WORDS,
    UNITS,
)
from pytest_ragops.judge.text import (
    NEGATING_WORDS,
    NEGATIONS,
    STOPWORDS,
    TERMS,
    WordTable,
    sentences_of,
    stem,
    term_of,
    tokenize,
    tokens_of,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "FullWindow",
    "Passage",
    "Quantity",
    "Verdict",
    "Window",
    "analyse",
    "check_claim",
    "full",
    "light_terms",
    "windows_of",
]


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number with its unit, in the dimension's base unit (``dim`` "" = no unit)."""

    value: float
    dim: str
    text: str

    def same(self, other: Quantity) -> bool:
        if self.dim == "version" or other.dim == "version":
            return self.text == other.text
        if self.dim != other.dim and self.dim and other.dim:
            return False
        return abs(self.value - other.value) <= 1e-9 * max(1.0, abs(self.value))

    def comparable(self, other: Quantity) -> bool:
        """Whether ``other`` could stand where ``self`` stands (a rival number)."""
        return self.dim == other.dim or not self.dim or not other.dim


Item = str | Quantity


@dataclass(frozen=True, slots=True)
class Clause:
    """A stretch of a sentence between commas and conjunctions: polarity's scope."""

    text: str
    terms: frozenset[str]
    negated: bool
    #: Terms after the clause's first negation cue: what the negation is about.
    scope: frozenset[str]
    #: Stems of the words in the antonym list (stopwords included: above, more, ...).
    marks: frozenset[str]


@dataclass(frozen=True, slots=True)
class Passage:
    """One analysed sentence or claim."""

    text: str
    items: tuple[Item, ...]
    terms: frozenset[str]
    quantities: tuple[Quantity, ...]
    rare: frozenset[str]
    clauses: tuple[Clause, ...]


@dataclass(frozen=True, slots=True)
class Window:
    """Consecutive sentences of one context: what one claim may draw on.

    Built cheaply (content terms and number tokens only) so that every window can be
    ranked; :func:`full` analyses the few windows a claim is actually checked against.
    """

    texts: tuple[str, ...]
    #: Content terms, without number words and units (close to the full analysis').
    terms: frozenset[str]
    numbers: frozenset[str]
    #: Each sentence's content terms: ties between windows go to the best-aligned one.
    parts: tuple[frozenset[str], ...] = ()


@dataclass(frozen=True, slots=True)
class FullWindow:
    """A window's full analysis: its sentences, items in order and content terms."""

    sentences: tuple[Passage, ...]
    items: tuple[Item, ...]
    terms: frozenset[str]


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether one claim is supported; if not, the rule that failed and why."""

    supported: bool
    rule: str | None = None
    detail: str | None = None


# -- analysis --------------------------------------------------------------------------


@lru_cache(maxsize=1)
def _filler() -> frozenset[str]:
    """The filler words, stemmed (built on first use: the stemmer loads lazily)."""
    return frozenset(stem(w) for w in FILLER)


@lru_cache(maxsize=1)
def _common_verbs() -> frozenset[str]:
    """The common verbs, stemmed (built on first use: the stemmer loads lazily)."""
    return frozenset(stem(w) for w in COMMON_VERBS)


@lru_cache(maxsize=1)
def _antonyms() -> dict[str, frozenset[str]]:
    """Stem -> the stems of its antonyms (built on first use: the stemmer loads lazily)."""
    out: dict[str, set[str]] = {}
    for a, b in ANTONYMS:
        out.setdefault(stem(a), set()).add(stem(b))
        out.setdefault(stem(b), set()).add(stem(a))
    return {k: frozenset(v) for k, v in out.items()}


# Polarity's scope: clauses joined by a semicolon, colon or conjunction. A split is kept
# only when both sides have 2+ content terms, so "roles and tablespaces" stays whole.
# The separators are ``[;:]\s+``, ``,\s+(?:so\s+|because\s+|and\s+|(?=not\s))``,
# ``,?\s+(?:but|while|whereas|although|which|that|then)\s+`` and a bare "and" before a
# verb. Written as their first character, a set, then each rest behind a lookbehind on
# that character: the same matches in the same order of preference, but the regex
# engine skips ahead to the next candidate (2x faster).
_POLARITY_SPLIT_RE = re.compile(
    r"[\s;:,](?:(?<=[;:])\s+|(?<=,)\s+(?:so\s+|because\s+|and\s+|(?=not\s))"
    r"|(?<=,)\s+(?:but|while|whereas|although|which|that|then)\s+"
    r"|(?<=\s)\s*(?:but|while|whereas|although|which|that|then)\s+"
    r"|(?<=\s)\s*and\s+(?=\w+\s+(?:is|are|was|were|must|can|may|do|does)\b))",
    re.IGNORECASE,
)
_SINGLE_LETTER_UNITS: Final = frozenset(("b", "s", "h", "c", "f"))


@lru_cache(maxsize=8192)
def analyse(text: str) -> Passage:
    """Analyse one sentence or claim (pure and cached: texts recur across samples)."""
    clauses: list[Clause] = []
    items: list[Item] = []
    quantities: list[Quantity] = []
    for piece, tokens in _pieces(text):
        plain = list(map(_PLAIN_TERMS.__getitem__, tokens))
        if None not in plain:
            # Words only (most clauses): no quantity and no negation to read in context,
            # so the items are the content terms, in order, with no per-token loop.
            words = list(filter(None, plain))
            items.extend(words)
            terms = frozenset(words)
            negated = False
            scope: frozenset[str] = frozenset()
        else:
            clause_items, negations = _items(tokens, plain)
            items.extend(clause_items)
            quantities.extend(i for i in clause_items if isinstance(i, Quantity))
            terms = frozenset(t for t in clause_items if isinstance(t, str))
            negated = _negated(tokens)
            scope = _scope(tokens) if negations else frozenset()
        marks = frozenset(map(_MARKS.__getitem__, tokens))
        if "" in marks:
            marks -= _EMPTY
        clauses.append(Clause(piece.strip(), terms, negated, scope, marks))
    return Passage(
        text=text,
        items=tuple(items),
        terms=frozenset().union(*(c.terms for c in clauses)),
        quantities=tuple(quantities),
        rare=_rare(text),
        clauses=tuple(clauses),
    )


def _plain_term(token: str) -> str | None:
    """The content term of a plain word (``""`` for none), or ``None`` for a token that
    :func:`_items` must read in context: a number, number word, Roman numeral or
    negation. Tabled per word, so that most clauses need no per-token Python loop."""
    if token[0].isdigit() or token in NUMBER_WORDS or token in ROMAN_NUMERALS or token in NEGATIONS:
        return None
    return term_of(token)


_PLAIN_TERMS: Final = WordTable(_plain_term)


def _scope(tokens: list[str]) -> frozenset[str]:
    """What the clause's negations are about: the first few content terms after each
    cue ("cannot be lived in following ..." is about living, not the event)."""
    scope: set[str] = set()
    for k, tok in enumerate(tokens):
        if tok not in NEGATIONS:
            continue
        taken = 0
        # "without" negates its object only ("without a reservation as long as they
        # are folded" is about the reservation).
        limit = 2 if tok == "without" else _SCOPE_TERMS
        for t in tokens[k + 1 :]:
            if t in NEGATIONS:
                break
            term = term_of(t)
            if term:
                scope.add(term)
                taken += 1
                if taken == limit:
                    break
    return frozenset(scope)


_SCOPE_TERMS: Final = 3


def _negated(tokens: list[str]) -> bool:
    """Whether a clause is negated: an odd number of cues, where two cues cancel only
    when they are close ("cannot run without X" = needs X); two far apart are one
    negation repeated ("never block ... never block")."""
    # "neither A nor B" is one negation, not two that cancel.
    cues = [
        k
        for k, t in enumerate(tokens)
        if t in NEGATIONS and not (t == "nor" and "neither" in tokens[:k])
    ]
    negated = False
    k = 0
    while k < len(cues):
        if k + 1 < len(cues) and (
            cues[k + 1] - cues[k] <= _CANCEL_DISTANCE
            # "staff cannot issue held items ... without a signed form": a condition,
            # however far from its negation, makes one requirement, not two negations
            # (a negating verb before it does not: "SKIP LOCKED ... without waiting").
            or (tokens[cues[k + 1]] == "without" and tokens[cues[k]] not in NEGATING_WORDS)
        ):
            k += 2
            continue
        negated = True
        k += 1
    return negated


_CANCEL_DISTANCE: Final = 4


def _mark(token: str) -> str:
    """The stem of ``token`` when it is in the antonym list, else ``""``."""
    stemmed = stem(token)
    return stemmed if stemmed in _antonyms() else ""


_MARKS: Final = WordTable(_mark)


def _rare(text: str) -> frozenset[str]:
    """Rare terms, from the original casing: identifiers (``_`` or ``.`` inside, or a
    digit: ``pg_squeeze``, ``recovery.signal``, ``wal2json``), names with two capitals
    (``PgBouncer``, ``TLS``) and capitalised words that do not open a sentence."""
    rare: list[str] = []
    words = text.split()
    entries = list(map(_RARE_WORDS.__getitem__, words))
    # Only the words that are not plain lower-case words (few) are visited; a word opens
    # a sentence when it is the first or follows one ending in a stop (never a plain one).
    for i in itertools.compress(range(len(words)), entries):
        entry, prev = entries[i], entries[i - 1] if i else None
        if entry is not None:
            opening = i == 0 or (prev is not None and prev.stop)
            rare.extend(entry.opening if opening else entry.inside)
    return frozenset(rare)


class _RareWord(NamedTuple):
    """A word that is not a plain lower-case word: its rare terms, and whether it ends
    in a stop (. ! ? : ;), so that the next word opens a sentence."""

    opening: tuple[str, ...]
    inside: tuple[str, ...]
    stop: bool


def _rare_entry(word: str) -> _RareWord | None:
    """``None`` for a plain lower-case word (most words), which is never rare."""
    if word.islower() and word.isalpha():
        return None
    return _RareWord(_rare_word(word, True), _rare_word(word, False), word[-1] in ".!?:;")


_RARE_WORDS: Final = WordTable(_rare_entry)


@lru_cache(maxsize=65536)
def _rare_word(word: str, opening: bool) -> tuple[str, ...]:
    core = word.strip("()[]{}\"'`,;:!?.\u201c\u201d\u2018\u2019")
    if not core or not core[0].isalpha():
        return ()
    upper = sum(ch.isupper() for ch in core)
    if (
        "_" in core
        or "." in core
        or any(ch.isdigit() for ch in core)
        or upper >= 2
        or (upper == 1 and core[0].isupper() and not opening and len(core) > 2)
    ):
        return tuple(
            term_of(t)
            for t in tokenize(core)
            if term_of(t) and not t[0].isdigit() and t not in _NOT_LIGHT_TERMS
        )
    return ()


def _pieces(text: str) -> list[tuple[str, list[str]]]:
    """``text`` cut at clause boundaries (with each piece's tokens), merging any side
    with fewer than 2 content terms into its neighbour.

    A bare "and" also separates two clauses when both sides have 3+ content terms
    ("readers never block writers and writers never block readers"), so that each
    clause keeps its own negation; "bleach and ammonia" stays whole.
    """
    merged: list[tuple[str, list[str], int]] = []
    for piece in _POLARITY_SPLIT_RE.split(text):
        if not piece.strip():
            continue
        for part, tokens, n in _and_parts(piece):
            if merged and (merged[-1][2] < 2 or n < 2):
                last = merged[-1]
                merged[-1] = (f"{last[0]} {part}", last[1] + tokens, last[2] + n)
            else:
                merged.append((part, tokens, n))
    return [(piece, tokens) for piece, tokens, _ in merged]


# "an hour and a half" is one quantity, not two clauses.
_AND_RE = re.compile(r"\s+and\s+(?!a half\b)", re.IGNORECASE)


def _and_parts(piece: str) -> list[tuple[str, list[str], int]]:
    parts: list[tuple[str, list[str], int]] = []
    for part in _AND_RE.split(piece) if " and " in piece else (piece,):
        tokens = list(tokens_of(part))
        # The tokens with a content term (term_of gives none for a negation).
        terms = list(map(TERMS.__getitem__, tokens))
        n = len(terms) - terms.count("")
        if parts and (parts[-1][2] < 3 or n < 3):
            last = parts[-1]
            parts[-1] = (f"{last[0]} and {part}", [*last[1], "and", *tokens], last[2] + n)
        else:
            parts.append((part, tokens, n))
    return parts


def _items(tokens: list[str], plain: list[str | None] | None = None) -> tuple[list[Item], int]:
    """Content terms and quantities of ``tokens`` in order, and the count of negations.

    ``plain`` is each token's :data:`_PLAIN_TERMS` entry, when the caller has it.
    """
    if plain is None:
        plain = list(map(_PLAIN_TERMS.__getitem__, tokens))
    items: list[Item] = []
    negations = 0
    i, n = 0, len(tokens)
    while i < n:
        term = plain[i]
        if term is not None:
            # A plain word (most tokens): its content term, if any, as the branches
            # below would find it, without their tests.
            if term:
                items.append(term)
            i += 1
            continue
        tok = tokens[i]
        if tok[0].isdigit():
            value: float | None = None if tok.count(".") > 1 else float(tok)
            i += 1
            if value is None:
                items.append(Quantity(0.0, "version", tok))
                continue
            text = tok
        elif tok in NUMBER_WORDS and (tok != "one" or _unit_at(tokens, i + 1)[0][0]):
            value, text = 0.0, tok
            while i < n and (tokens[i] in NUMBER_WORDS or tokens[i] in SCALE_WORDS):
                word = tokens[i]
                if word in SCALE_WORDS:
                    value = max(value, 1.0) * SCALE_WORDS[word]
                else:
                    value += NUMBER_WORDS[word]
                i += 1
        elif tok in ROMAN_NUMERALS and i > 0 and tokens[i - 1] in ROMAN_AFTER:
            items.append(Quantity(float(ROMAN_NUMERALS[tok]), "", tok))
            i += 1
            continue
        else:
            if tok in NEGATIONS:
                negations += 1
            else:
                term = term_of(tok)
                if term:
                    items.append(term)
            i += 1
            continue
        while i < n and tokens[i] in SCALE_WORDS:
            value *= SCALE_WORDS[tokens[i]]
            i += 1
        (dim, factor), skipped, used = _unit_at(tokens, i)
        items.append(Quantity(value * factor, dim, text))
        if skipped:
            term = term_of(skipped)
            if term:
                items.append(term)
        i += used
    return items, negations


def _unit_at(tokens: list[str], i: int) -> tuple[tuple[str, float], str, int]:
    """The unit at ``tokens[i]`` (or one word later: "50 flight hours"), the word
    skipped, and how many tokens the unit took; ``("", 1.0)`` when there is none."""
    if i >= len(tokens):
        return ("", 1.0), "", 0
    tok = tokens[i]
    if tok == "inch" and i + 1 < len(tokens) and tokens[i + 1].startswith("pound"):
        return UNITS["inch-pounds"], "", 2
    if tok in UNITS:
        return UNITS[tok], "", 1
    nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
    if (
        tok.isalpha()
        and tok not in STOPWORDS
        and tok not in NEGATIONS
        and nxt in UNITS
        and nxt not in _SINGLE_LETTER_UNITS
    ):
        return UNITS[nxt], tok, 2
    return ("", 1.0), "", 0


def windows_of(text: str, size: int) -> tuple[Window, ...]:
    """Sliding windows of ``size`` consecutive sentences of one context."""
    return _windows(text, size)


@lru_cache(maxsize=4096)
def _windows(text: str, size: int) -> tuple[Window, ...]:
    sentences = sentences_of(text)
    light = [light_terms(s) for s in sentences]
    terms = [t for t, _ in light]
    numbers = [n for _, n in light]
    width = min(size, len(sentences))
    out = []
    for start in range(len(sentences) - width + 1 if width else 0):
        end = start + width
        parts = tuple(terms[start:end])
        out.append(
            Window(
                sentences[start:end],
                frozenset().union(*parts),
                frozenset().union(*numbers[start:end]),
                parts,
            )
        )
    return tuple(out)


_NOT_LIGHT_TERMS: Final = frozenset(UNITS) | frozenset(NUMBER_WORDS) | frozenset(SCALE_WORDS)


_EMPTY: Final = frozenset(("",))


def _light_term(token: str) -> str:
    """The content term of a token, ``""`` for numbers, number words and units."""
    if token in _NOT_LIGHT_TERMS or token[0].isdigit():
        return ""
    return term_of(token)


_LIGHT_TERMS: Final = WordTable(_light_term)
_NO_NUMBERS: Final[frozenset[str]] = frozenset()


@lru_cache(maxsize=16384)
def light_terms(sentence: str) -> tuple[frozenset[str], frozenset[str]]:
    """A sentence's content terms without number words and units, and its numbers."""
    tokens = tokens_of(sentence)
    terms = frozenset(map(_LIGHT_TERMS.__getitem__, tokens))
    terms = terms - _EMPTY if "" in terms else terms
    # Digits sort before letters: the smallest token tells whether there is a number.
    if not tokens or min(tokens) >= ":":
        return terms, _NO_NUMBERS
    return terms, frozenset(t for t in tokens if t < ":")


@lru_cache(maxsize=4096)
def full(window: Window) -> FullWindow:
    """The full analysis of ``window`` (cached: a window is checked by many claims)."""
    sentences = tuple(analyse(t) for t in window.texts)
    items = tuple(itertools.chain.from_iterable(s.items for s in sentences))
    return FullWindow(sentences, items, frozenset().union(*(s.terms for s in sentences)))


# -- the rules -------------------------------------------------------------------------


def check_claim(
    claim: Passage, windows: Sequence[Window], question: Passage, support: float
) -> Verdict:
    """Whether ``claim`` is supported by its best-supporting window(s).

    The windows with the highest overlap are tried; the claim is supported when one of
    them passes every rule, else the best window's first failing rule is reported.
    """
    if not windows:
        return Verdict(False, "no-context", "no context was retrieved")
    overlaps = [_overlap(claim, w) for w in windows]
    top = max(overlaps)
    tier = [w for o, w in zip(overlaps, windows, strict=True) if o == top]
    if not top:
        # Sharing nothing with any window, the claim meets every window alike: one tells.
        tier = tier[:1]
    elif len(tier) > 1:
        aligned = [_aligned(claim, w) for w in tier]
        most = max(aligned)
        tier = [w for a, w in zip(aligned, tier, strict=True) if a == most]
    first: Verdict | None = None
    for window in tier:
        verdict = _check(claim, window, question, support)
        if verdict.supported:
            return verdict
        first = first or verdict
    assert first is not None
    return first


def _aligned(claim: Passage, window: Window) -> int:
    """How many claim terms the window's best-matching single sentence has."""
    return max((len(claim.terms & p) for p in window.parts), default=0)


def _overlap(claim: Passage, window: Window) -> float:
    shared = claim.terms & window.terms
    numbers = sum(q.text in window.numbers for q in claim.quantities)
    return len(shared) + len(shared & claim.rare) + numbers


def _aligned_sentence(claim: Passage, window: FullWindow) -> Passage:
    """The window's sentence sharing most of the claim's terms (the first on a tie): what
    the alignment rules compare the claim with, term by term."""
    return max(window.sentences, key=lambda s: len(claim.terms & s.terms))


def _repeats_a_clause(claim: Passage, sentence: Passage) -> bool:
    """Whether the claim repeats 70 %+ of one clause of ``sentence`` (3 terms at least):
    it reused that clause's words, so a term it swapped is a substitution, not a
    rewording."""
    return any(
        len(claim.terms & c.terms) >= max(3.0, _VERBATIM * len(c.terms)) for c in sentence.clauses
    )


def _check(claim: Passage, light: Window, question: Passage, support: float) -> Verdict:
    window = full(light)
    present = [i for i in window.items if isinstance(i, Quantity)]
    # A number the user gave ("I'm 23", "my income was $16,000") needs no support.
    asked = [q for q in claim.quantities if any(q.same(a) for a in question.quantities)]
    for q in claim.quantities:
        if not any(q.same(w) for w in present) and q not in asked:
            return Verdict(False, "number", f"{q.text} is not in the context")
    for index, item in enumerate(claim.items):
        if (
            isinstance(item, Quantity)
            and item not in asked
            and not _is_count_word(item)
            and not _bound(claim.items, index, window.items)
        ):
            return Verdict(
                False, "number-binding", f"{item.text} belongs to other terms in the context"
            )
    missing_rare = sorted(claim.rare - window.terms - question.terms)
    if missing_rare:
        return Verdict(
            False, "rare-term", f"{missing_rare[0]!r} is in neither context nor question"
        )
    # The question's own words need no support (the user said them); filler says nothing.
    # Numbers count as content: by now every one of them is in the window.
    checkable = claim.terms - _filler()
    if checkable:
        found = len(checkable & (window.terms | question.terms)) + len(claim.quantities)
        covered = found / (len(checkable) + len(claim.quantities))
        if covered < support:
            return Verdict(
                False, "coverage", f"only {covered:.0%} of its terms are in one context window"
            )
    polarity = _polarity(claim, window)
    if polarity is not None:
        return Verdict(False, "polarity", polarity)
    swapped = (
        _substitution(claim, window)
        or _slot_substitution(claim, window, question)
        or _attachment(claim, window, question)
    )
    if swapped is not None:
        return Verdict(False, "wrong-entity", swapped)
    reversed_ = _role_swap(claim, window) or _order_swap(claim, window)
    if reversed_ is not None:
        return Verdict(False, "role-swap", reversed_)
    general = _overgeneral(claim, window, question)
    if general is not None:
        return Verdict(False, "overgeneral", general)
    novel = _novel_phrase(claim, window, question)
    if novel is not None:
        return Verdict(False, "novel-phrase", novel)
    return Verdict(True)


def _novel_phrase(claim: Passage, window: FullWindow, question: Passage) -> str | None:
    """A noun phrase of the claim, a determiner then two content terms, that neither the
    window nor the question has: an invented entity ("approval from the finance
    department" where the context names HR), whatever its casing. A reworded single
    word passes (coverage weighs it), and so does a new verb phrase ("goes back")."""
    return _novel_in(claim.text, window.terms | question.terms | _filler())


def _novel_in(text: str, known: frozenset[str]) -> str | None:
    tokens = tokens_of(text)
    for k in range(len(tokens) - 2):
        if tokens[k] not in _DETERMINERS:
            continue
        a, b = term_of(tokens[k + 1]), term_of(tokens[k + 2])
        if (
            a
            and b
            and a not in known
            and b not in known
            and not tokens[k + 1][0].isdigit()
            and not tokens[k + 2][0].isdigit()
            and tokens[k + 1] not in _NOT_LIGHT_TERMS
            and tokens[k + 2] not in _NOT_LIGHT_TERMS
        ):
            return f"{tokens[k + 1]!r} {tokens[k + 2]!r} is in neither context nor question"
    return None


_DETERMINERS: Final = frozenset(
    [
        "the",
        "a",
        "an",
        "this",
        "that",
        "these",
        "those",
        "its",
        "their",
        "our",
        "your",
        "his",
        "her",
        "each",
        "every",
        "another",
    ]
)


def _attachment(claim: Passage, window: FullWindow, question: Passage) -> str | None:
    """A rare term of the claim stated with what the window says of another rare term.

    For each identifier or name ``r`` of the claim, the window clause sharing most of
    the claim's other (non-question) terms must mention ``r``; it fails when a clause
    about another rare term shares 2+ more of them than any clause mentioning ``r``:
    "remote_apply waits until the standby has flushed" where the context says that of
    ``on`` and "remote_apply waits until ... replayed".
    """
    if not claim.rare:
        return None
    clauses = [(c, s.rare) for s in window.sentences for c in s.clauses]
    for r in sorted(claim.rare & window.terms):
        others = claim.terms - question.terms - {r}
        if len(others) < 2:
            continue
        with_r = 0
        rival = 0
        rival_name = ""
        for clause, rare in clauses:
            shared = len(others & clause.terms)
            if r in clause.terms:
                with_r = max(with_r, shared)
            else:
                names = sorted((clause.terms & rare) - claim.terms)
                if names and shared > rival:
                    rival, rival_name = shared, names[0]
        if with_r and rival >= with_r + 2:
            return f"{r!r} is said with what the context says of {rival_name!r}"
    return None


#: Words that give a relation a direction: "A instead of B" is not "B instead of A".
_DIRECTIONAL: Final = frozenset(
    [
        "instead",
        "rather",
        "than",
        "to",
        "from",
        "into",
        "onto",
        "over",
        "before",
        "after",
        "by",
        "replaces",
        "replaced",
        "precedes",
        "follows",
        "outranks",
        "overrides",
    ]
)
_ROLE_SPAN: Final = 6


def _role_swap(claim: Passage, window: FullWindow) -> str | None:
    """Two terms of the claim around a directional word in the opposite order in the
    window ("md5 instead of scram-sha-256" against "scram-sha-256 instead of md5", "A
    replicates to B" against "B replicates to A"), with no sentence in the claim's order.

    Antonyms between them (larger/smaller) make the reversed order a paraphrase, so a
    differing antonym mark skips the rule.
    """
    mine = _directed_pairs(claim.text)
    if not mine:
        return None
    theirs: set[tuple[str, str, str]] = set()
    marks: set[str] = set()
    for sentence in window.sentences:
        theirs |= _directed_pairs(sentence.text)
        for c in sentence.clauses:
            marks |= c.marks
    claim_marks = {m for c in claim.clauses for m in c.marks}
    if claim_marks != marks & (claim_marks | _opposites(claim_marks)):
        return None
    for a, conn, b in sorted(mine):
        if (b, conn, a) in theirs and (a, conn, b) not in theirs:
            return f"{a!r} {conn} {b!r} where the context says {b!r} {conn} {a!r}"
    return None


def _order_swap(claim: Passage, window: FullWindow) -> str | None:
    """Two terms of the claim that exchanged places with each other in the aligned
    sentence: each stands where the sentence has the other, between the same
    neighbours ("the primary reports its snapshot to the standby" against "the standby
    reports its snapshot to the primary"). Antonyms (larger/smaller) reorder a relation
    without changing it, so a differing antonym skips the rule.
    """
    sentence = _aligned_sentence(claim, window)
    claim_marks = frozenset().union(*(c.marks for c in claim.clauses))
    if claim_marks != frozenset().union(*(c.marks for c in sentence.clauses)) & (
        claim_marks | _opposites(set(claim_marks))
    ):
        return None  # an antonym swapped too: "A is larger than B" = "B is smaller than A"
    mine = ["^", *(i for i in claim.items if isinstance(i, str)), "$"]
    theirs = ["^", *(i for i in sentence.items if isinstance(i, str)), "$"]
    at_mine = _first_positions(mine)
    at_theirs = _first_positions(theirs)
    shared = sorted(set(at_mine) & set(at_theirs) - {"^", "$"}, key=at_mine.__getitem__)
    verbs = _common_verbs()
    for i, a in enumerate(shared):
        if a in verbs:
            continue
        for b in shared[i + 1 :]:
            if b in verbs or at_theirs[a] - at_theirs[b] < 2 or at_mine[b] - at_mine[a] < 2:
                continue  # same order, or two modifiers side by side ("usual adult dose")
            if _same_slot(mine, at_mine[a], theirs, at_theirs[b]) and _same_slot(
                mine, at_mine[b], theirs, at_theirs[a]
            ):
                return f"{a!r} and {b!r} swap places"
    return None


def _same_slot(mine: list[str], k: int, theirs: list[str], j: int) -> bool:
    """Whether position ``k`` of ``mine`` and ``j`` of ``theirs`` share a neighbour."""
    return mine[k - 1] == theirs[j - 1] or mine[k + 1] == theirs[j + 1]


def _first_positions(terms: list[str]) -> dict[str, int]:
    """Each term with the position of its first use."""
    first: dict[str, int] = {}
    for k, t in enumerate(terms):
        first.setdefault(t, k)
    return first


def _opposites(marks: set[str]) -> set[str]:
    antonyms = _antonyms()
    return {o for m in marks for o in antonyms.get(m, ())}


@lru_cache(maxsize=16384)
def _directed_pairs(text: str) -> frozenset[tuple[str, str, str]]:
    """(left term, directional word, right term) within a short span, content terms only."""
    tokens = tokens_of(text)
    if _DIRECTIONAL.isdisjoint(tokens):
        return frozenset()
    terms = [term_of(t) if not t[0].isdigit() else "" for t in tokens]
    out: set[tuple[str, str, str]] = set()
    for k, tok in enumerate(tokens):
        if tok not in _DIRECTIONAL:
            continue
        lefts = [t for t in terms[max(0, k - _ROLE_SPAN // 2) : k] if t]
        rights = [t for t in terms[k + 1 : k + 1 + _ROLE_SPAN // 2] if t]
        for a in lefts[-2:]:
            for b in rights[:2]:
                if a != b:
                    out.add((a, tok, b))
    return frozenset(out)


def _is_count_word(q: Quantity) -> bool:
    """A small count in words with no unit ("one of the two transactions"): the number
    rule checks it, but its neighbours are too loose to bind ("two" recurs in prose)."""
    return not q.dim and q.text in NUMBER_WORDS and q.value <= 12


def _sides(items: Sequence[Item], index: int) -> tuple[list[str], list[str]]:
    """Terms left and right of the quantity at ``index``, up to the next quantity."""
    left: list[str] = []
    for item in reversed(items[:index]):
        if isinstance(item, Quantity) or len(left) >= 12:
            break
        left.append(item)
    right: list[str] = []
    for item in items[index + 1 :]:
        if isinstance(item, Quantity) or len(right) >= 12:
            break
        right.append(item)
    return left, right


def _affinity(claim_side: list[str], window_side: list[str]) -> float:
    """How strongly the window's terms near a number are the claim's terms near it."""
    where = {t: d for d, t in reversed(list(enumerate(window_side, start=1)))}
    return sum(1.0 / (dc + where[t]) for dc, t in enumerate(claim_side, start=1) if t in where)


def _bound(claim_items: Sequence[Item], index: int, window_items: Sequence[Item]) -> bool:
    """Whether the window ties the claim's number to the claim's terms.

    Of all the window's comparable numbers, the one whose neighbouring terms best match
    the claim number's neighbours must be an equal one; a tie passes. Catches a number
    moved to another subject ("max_wal_size is 80MB" against "min_wal_size, 80MB").
    """
    q = claim_items[index]
    assert isinstance(q, Quantity)
    left, right = _sides(claim_items, index)
    good = rival = 0.0
    for j, item in enumerate(window_items):
        if not isinstance(item, Quantity) or not q.comparable(item):
            continue
        w_left, w_right = _sides(window_items, j)
        score = _affinity(left, w_left) + _affinity(right, w_right)
        if q.same(item):
            # The equal number may be read in either orientation: a reworded sentence
            # may put it first ("After 1 second the server aborts ..." against "...
            # aborts one after 1 second"); rivals keep the sentence's own order.
            flipped = _affinity(left, w_right) + _affinity(right, w_left)
            good = max(good, score, flipped)
        else:
            rival = max(rival, score)
    return rival <= good + 1e-9


def _polarity(claim: Passage, window: FullWindow) -> str | None:
    """A disagreement in negation or antonyms between the claim and the window.

    Each clause of the claim is compared with the window clause it matches best (a
    tie passes when one of the tied clauses agrees). And a negated window clause whose
    terms a positive claim clause all repeats ("Alcohol is never reimbursed" against
    "Alcohol is always reimbursed when ...") is a disagreement too.
    """
    clauses = [c for s in window.sentences for c in s.clauses]
    for mine in claim.clauses:
        if not mine.terms:
            continue
        best = max(len(mine.terms & c.terms) for c in clauses)
        if best == 0:
            continue
        tied = [c for c in clauses if len(mine.terms & c.terms) == best]
        if all(_flipped(mine, c) for c in tied):
            return f"polarity differs from {_short(tied[0].text)}"
        for theirs in clauses:
            if (
                theirs.negated
                and not mine.negated
                and len(theirs.terms) >= 2
                and theirs.terms <= mine.terms
                and _flipped(mine, theirs)
            ):
                return f"polarity differs from {_short(theirs.text)}"
    return None


def _flipped(mine: Clause, theirs: Clause) -> bool:
    # A negation counts only when the other clause shares a term in its scope: in "Use
    # SKIP LOCKED" against "SKIP LOCKED lets workers ... without waiting", it does not.
    mine_negated = mine.negated and bool(mine.scope & theirs.terms)
    theirs_negated = theirs.negated and bool(theirs.scope & mine.terms)
    flipped = mine_negated != theirs_negated
    antonyms = _antonyms()
    for mark in mine.marks - theirs.marks:
        opposite = antonyms[mark]
        if opposite & theirs.marks and not opposite & mine.marks:
            return not flipped
    return flipped


def _short(text: str, limit: int = 60) -> str:
    text = " ".join(text.split())
    return repr(text if len(text) <= limit else text[: limit - 1] + "\u2026")


def _substitution(claim: Passage, window: FullWindow) -> str | None:
    """A claim term standing where the best-matching sentence has another term.

    Fires when the sentence matching the claim best lacks at most two of its terms, and
    the claim pairs one of them with a neighbour exactly as another place of the window
    does, while the sentence pairs that neighbour with a different term: "transaction
    mode is the default" against "session mode, the default" with "transaction mode"
    described next to it. The answer reused the context's phrase for another entity.
    """
    sentence = _aligned_sentence(claim, window)
    missing = claim.terms - sentence.terms
    if not missing or len(missing) > 2:
        return None
    c_terms = [i for i in claim.items if isinstance(i, str)]
    s_terms = [i for i in sentence.items if isinstance(i, str)]
    elsewhere = {
        pair
        for other in window.sentences
        if other is not sentence
        for pair in _pairs([i for i in other.items if isinstance(i, str)])
    }
    # In text order, never set order: the rival named must not depend on the hash seed.
    s_pairs = list(dict.fromkeys(itertools.pairwise(s_terms)))
    for left, right in dict.fromkeys(itertools.pairwise(c_terms)):
        for m, x, side in ((left, right, 0), (right, left, 1)):
            if m not in missing or x not in sentence.terms or (left, right) not in elsewhere:
                continue
            for pair in s_pairs:
                e = pair[side]
                if pair[1 - side] == x and e != m and e not in claim.terms:
                    return f"{m!r} where the context says {e!r}"
    return None


def _slot_substitution(claim: Passage, window: FullWindow, question: Passage) -> str | None:
    """A claim term standing in the slot where the aligned sentence has another one.

    The sentence of the window sharing most of the claim's terms is its alignment. A
    claim term ``m`` that the sentence lacks (and the question does not name) replaces
    the sentence's term ``e`` when they stand between the same neighbours. Paraphrase
    replaces words too, so this fires only when the rest of the claim is the sentence's
    own words and ``m`` has both of ``e``'s neighbours ("never give ibuprofen to cats"
    against "never give paracetamol to cats"), or when ``m`` looks like an entity, a
    name or identifier or a spelling close to ``e`` ("female cat" against "male cat"),
    and shares one neighbour ("the Plus plan" against "with Premier only").
    """
    sentence = _aligned_sentence(claim, window)
    shared = len(claim.terms & sentence.terms)
    if shared < 2:
        return None
    missing = claim.terms - sentence.terms - question.terms
    if not missing:
        return None
    # The claim repeats the sentence but for one term: the answer reused it verbatim.
    verbatim = len(claim.terms - sentence.terms) == 1 and shared >= max(
        3.0, _VERBATIM * len(sentence.terms)
    )
    if not verbatim and len(claim.terms - sentence.terms) == 1:
        # A claim may repeat one clause of a long sentence ("... and latex tubes even
        # faster" answered as "butyl tubes even faster"): verbatim against that clause.
        verbatim = _repeats_a_clause(claim, sentence)
    mine = ["^", *(i for i in claim.items if isinstance(i, str)), "$"]
    theirs = ["^", *(i for i in sentence.items if isinstance(i, str)), "$"]
    for k in range(1, len(mine) - 1):
        m = mine[k]
        if m not in missing or m in _filler():
            continue  # filler ("an important topic") names no entity
        entity = m in claim.rare or (m not in window.terms and _close_to_any(m, sentence))
        if not (entity or (verbatim and m not in _common_verbs())):
            continue
        for j in range(1, len(theirs) - 1):
            e = theirs[j]
            if e in claim.terms or e[0].isdigit():
                continue
            same_left = theirs[j - 1] == mine[k - 1]
            same_right = theirs[j + 1] == mine[k + 1]
            # Verbatim but for one term, one shared neighbour places it: "belong in the
            # blue cart, not the green cart" against "belong in the garbage, not ...".
            near = theirs[max(0, j - 3) : j + 4]
            if (
                verbatim
                and (
                    (same_left and same_right)
                    # one shared neighbour, the other side near too (or the claim's end)
                    or (same_left and (mine[k + 1] == "$" or mine[k + 1] in near))
                    or (same_right and (mine[k - 1] == "^" or mine[k - 1] in near))
                )
                and m not in _common_verbs()
            ):
                return f"{m!r} where the context says {e!r}"
            if (
                entity
                and ((same_left and mine[k - 1] != "^") or (same_right and mine[k + 1] != "$"))
                and (m in claim.rare or _close(m, e))
            ):
                return f"{m!r} where the context says {e!r}"
    return _phrase_substitution(claim, sentence, mine, theirs, missing)


def _phrase_substitution(
    claim: Passage,
    sentence: Passage,
    mine: list[str],
    theirs: list[str],
    missing: frozenset[str],
) -> str | None:
    """Two adjacent claim terms, the only two the aligned sentence lacks, standing
    between the very neighbours of one sentence term: "students at a county high school"
    against "students enrolled at a county college". The rest must repeat a clause of
    the sentence (70 %+ of its terms), as for a one-term substitution."""
    if len(claim.terms - sentence.terms) != 2 or len(missing) != 2:
        return None
    if not _repeats_a_clause(claim, sentence):
        return None
    verbs = _common_verbs()
    for k in range(1, len(mine) - 2):
        pair = mine[k : k + 2]
        if not missing.issuperset(pair) or not verbs.isdisjoint(pair) or mine[k - 1] == "^":
            continue
        for j in range(1, len(theirs) - 1):
            e = theirs[j]
            if e in claim.terms or e[0].isdigit() or e in verbs:
                continue
            if theirs[j - 1] == mine[k - 1] and theirs[j + 1] == mine[k + 2]:
                return f"{' '.join(map(repr, pair))} where the context says {e!r}"
    return None


def _close_to_any(m: str, sentence: Passage) -> bool:
    return any(_close(m, t) for t in sentence.terms)


_VERBATIM: Final = 0.7


def _close(a: str, b: str) -> bool:
    """Spellings sharing most of the shorter one (male/female, inlet/outlet), neither
    a prefix of the other (rolls back / rollback are one word)."""
    short, long_ = sorted((a, b), key=len)
    if long_.startswith(short):
        return False
    need = max(3, -(-3 * len(short) // 5))
    return any(short[i : i + need] in long_ for i in range(len(short) - need + 1))


def _pairs(terms: list[str]) -> set[tuple[str, str]]:
    return set(itertools.pairwise(terms))


#: Words that make a claim universal; the aligned sentence must be as general.
_UNIVERSAL: Final = frozenset(("all", "every", "always", "both"))


def _overgeneral(claim: Passage, window: FullWindow, question: Passage) -> str | None:
    """A universal word ("all", "every", "always", "both") that neither the question nor
    the claim's aligned sentence has: "recommended for all kittens" where the context
    says "for kittens that will go outdoors", "on both Rapid and Ultra" where it says
    "on Rapid chargers only". A claim's overstatement of a qualified fact."""
    tokens = tokens_of(claim.text)
    # "at all" is emphasis, not generality.
    mine = {t for k, t in enumerate(tokens) if t in _UNIVERSAL and tokens[k - 1 : k] != ("at",)}
    if not mine or not mine.isdisjoint(tokens_of(question.text)):
        return None
    sentence = _aligned_sentence(claim, window)
    if _UNIVERSAL.isdisjoint(tokens_of(sentence.text)):
        return f"{sorted(mine)[0]!r}: the context is not that general"
    return None
