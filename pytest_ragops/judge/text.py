"""Text helpers for the offline judge: tokens, light stemming, stopwords, claims.

Pure stdlib and deterministic. The offline metrics compare bags of *content terms*
(lowercased, stopwords dropped, suffixes lightly stripped), so two phrasings of one
fact ("backups are archived" / "archiving the backup") meet on the same terms, while
numbers stay verbatim so that "60 seconds" never supports "90 seconds".
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final, TypeVar

from pytest_ragops.judge.lexicon import NEGATING_VERBS, PHRASES, SYNONYMS

if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = [
    "NEGATING_WORDS",
    "NEGATIONS",
    "STOPWORDS",
    "content_terms",
    "is_abstention",
    "is_number",
    "is_referral",
    "sentences_of",
    "split_claims",
    "split_sentences",
    "stem",
    "term_of",
    "tokenize",
    "tokens_of",
]

# A plain or dotted number (9.6, 16.2.1), or a word starting with a letter (identifiers
# such as pg_basebackup or wal2json included, and model numbers such as DW-4620 kept
# whole). Normalisation happens on the whole text
# first, with the substitutions below, so that tokenizing is one C-level findall.
_TOKEN_RE = re.compile(r"\d+(?:\.\d+)*|[^\W\d_]\w*(?:-\d\w*|(?:\.[^\W\d_]\w*)*)")
# The same tokens on ASCII text (most text), 35% faster there: ASCII classes, the first
# character as one set (digits then take the number branch, letters the word branch),
# and possessive repeats, which change nothing here since every tail may match empty.
_ASCII_TOKEN_RE = re.compile(
    r"[a-zA-Z0-9](?:(?<=[a-zA-Z])\w*+(?:-\d\w*+|(?:\.[a-zA-Z]\w*+)*+)|\d*+(?:\.\d++)*+)",
    re.ASCII,
)
# Removed before tokenizing: thousands separators (1,000), the "v" of versions (v16),
# possessive "'s" and other apostrophes (don't -> dont). Each pattern starts with a
# literal so that the regex engine can skip ahead; one alternation was 10x slower.
_THOUSANDS_RE = re.compile(r",(?<=\d,)(?=\d{3}(?!\d))")
_VERSION_RE = re.compile(r"v(?<!\wv)(?=\d)")
_APOSTROPHE_RE = re.compile(r"'s\b|'")
_NUMBER_RE = re.compile(r"\d[\d.]*")
_STEM_LOCK = threading.Lock()


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Words that carry no content for overlap scoring (English function words).
STOPWORDS: frozenset[str] = _word_set(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    either else etc eg ie e.g i.e few for from further had has have having he her here hers herself
    him himself his how however i if in into is it its itself just let may me might more
    most must my myself of off on once only or other otherwise our ours ourselves out over
    own per same shall she should so some such than that the their theirs them themselves
    then there therefore these they this those through thus to too under until up upon us
    very via approximately roughly was we were what when where whether which while who
    whom whose why will with within would yes you your yours yourself yourselves
    """
)

#: The words of the negating verbs ("avoid", "hold back" -> "withhold", ...): negation
#: cues that, unlike "not", do not cancel a later "without" (they have an object).
NEGATING_WORDS: Final = frozenset(w for verb in NEGATING_VERBS for w in verb.split())

#: Words that flip a statement; tracked separately from content terms.
NEGATIONS: frozenset[str] = (
    _word_set(
        """
    not no never cannot cant dont doesnt didnt isnt arent wasnt werent wont wouldnt
    shouldnt couldnt hasnt havent hadnt nor neither none nothing without non except unless
    """
    )
    | NEGATING_WORDS
)

# Abbreviations whose full stop does not end a sentence.
_ABBREVIATIONS = _word_set("e.g i.e etc vs approx fig cf al incl resp dr mr mrs ms")
# A sentence ends at . ! ? (followed by space) or at a line break; bullets and headings
# become their own sentences.
# Sentence ends: . ! ? before whitespace, or a line break. The pattern starts with a
# character set so that the regex engine can skip ahead (lookbehinds were 10x slower).
_SENTENCE_END_RE = re.compile(r"([.!?\n])(?:(?<=\n)|\s)\s*")
_ORDINAL_RE = re.compile(r"\d+\.")  # "1." opening a numbered list item
_LIST_MARK_RE = re.compile(r"^(?:[#>*+\-]+|\d+[.)])\s+")
# Clause boundaries inside a sentence; a split is kept only when both sides are claims.
# The separators are ``\s*[;:]\s+``, ``,?\s+(?:and|but|while|whereas|although)\s+`` and
# ``,\s+(?:so|because)\s+``. Written as their first character, a set, then each rest
# behind a lookbehind on that character: the same matches in the same order of
# preference, but the regex engine skips ahead to the next candidate (3x faster).
_CLAUSE_RE = re.compile(
    r"([\s;:,](?:(?<=[;:])\s+|(?<=\s)\s*[;:]\s+"
    r"|(?<=,)\s+(?:and(?! a half\b)|but|while|whereas|although)\s+"
    r"|(?<=\s)\s*(?:and(?! a half\b)|but|while|whereas|although)\s+"
    r"|(?<=,)\s+(?:so|because)\s+))",
    re.IGNORECASE,
)
# A one-word reply opening an answer ("No, ...", "Neither: ..."): it answers the
# question rather than stating a fact, so its negation must not flip the claim.
_REPLY_RE = re.compile(
    r"^(?:yes|no|neither|both|correct|right|true|false|indeed)\s*[,:;.!\u2014-]\s*",
    re.IGNORECASE,
)

# Abstention is recognised by its structure, not by a list of sentences: a *source* (the
# speaker, or the material: context, documents, manual pages, leaflet sections, ...)
# followed, within a few words, by a negated verb of stating, knowing or finding ("the
# manual sections I was given don't list", "I couldn't find anything about"), or a
# statement that no information / mention / details exist. Matched on the normalised
# tokens (lower case, apostrophes dropped: "don't" -> "dont"), as one search.
_SOURCE = (
    r"(?:i|im|we|context|contexts|documents?|documentation|docs|sources?|passages?|excerpts?"
    r"|sections?|pages?|manuals?|leaflets?|texts?|materials?|information|snippets?"
    r"|extracts?|articles?|guides?|handbooks?)"
)
_NEG = (
    r"(?:(?:do|does|did|can|could|would|is|are|was|were|am|have|has) not|dont|doesnt|didnt"
    r"|cant|cannot|couldnt|wouldnt|isnt|arent|wasnt|werent|havent|hasnt|never"
    r"|(?:am|is|are|was|were)?\s?(?:unable|not able) to|fail(?:s|ed)? to|make no|makes no)"
)
_STATE = (
    r"(?:say|said|stat|mention|cover|contain|includ|list|giv|gave|provid|specif|explain"
    r"|describ|discuss|detail|address|answer|tell|know|find|found|see|show|indicat|defin"
    r"|document|offer|determin|confirm|refer|have|has|had|seem|appear|go into|talk|help"
    r"|locat|spot|identif|verif|clarif|touch|recommend|advis|suggest)\w*"
)
_NOTHING = r"(?:information|mention|details?|guidance|indication|explanation|specifics)"
_ABSTENTION_RE = re.compile(
    "|".join(
        (
            rf"\b{_SOURCE}\b(?: \w+){{0,6}}? {_NEG} (?:\w+ ){{0,2}}?{_STATE}",
            r"\b(?:i am|im) (?:not sure|unsure|not certain|sorry)\b",
            rf"\b(?:no|not enough|insufficient|not any|nothing|lack of|lacks?)"
            rf"(?: \w+){{0,2}}? {_NOTHING}\b",
            rf"\b(?:nothing|no mention|none) (?:\w+ ){{0,3}}?(?:in|from|of|about) (?:the |these |"
            rf"this |my |any )?(?:\w+ )?{_SOURCE}\b",
            r"\b(?:not|isnt|arent|wasnt|werent) (?:\w+ )?(?:mentioned|covered|specified|provided"
            r"|found|stated|described|given|discussed|addressed|listed|included|documented|explained|shown)"
            rf" (?:in|by|anywhere in) (?:the |these |this |any )?(?:\w+ ){{0,2}}?{_SOURCE}\b",
            r"\b(?:is not|are not|was not|were not|isnt|arent|wasnt|werent) (?:mentioned"
            r"|specified|documented|discussed|addressed)\b",
            r"\bno answer\b",
            r"\bi (?:do not|dont) know\b",
        )
    )
)


# Every alternative of _ABSTENTION_RE contains one of these: a text without any is no
# abstention, which saves most sentences the normalisation and the search.
_ABSTENTION_CUES: Final = frozenset(
    [
        "not",
        "no",
        "never",
        "dont",
        "doesnt",
        "didnt",
        "cant",
        "cannot",
        "couldnt",
        "wouldnt",
        "isnt",
        "arent",
        "wasnt",
        "werent",
        "havent",
        "hasnt",
        "unable",
        "nothing",
        "none",
        "lack",
        "lacks",
        "insufficient",
        "sorry",
        "unsure",
        "fail",
        "fails",
        "failed",
    ]
)

#: A sentence that refers the user elsewhere ("Please ask your pharmacist."): no claim
#: when the answer abstains, since it only says where an answer might be found.
_REFERRAL_RE = re.compile(
    r"^\W*(?:please\s+|you (?:may|might|could|should) (?:want to\s+)?|i (?:would|\w+d)"
    r" (?:recommend|suggest)\s+|try\s+|it (?:may|might|would|could) be (?:worth|best|wise)"
    r"\s+(?:to\s+)?|i(?:['\u2019]d| would)\s+(?:recommend\s+|suggest\s+)?)?"
    r"(?:ask|consult|contact|check with|speak (?:to|with)|talk (?:to|with)|see|refer to"
    r"|call|check)"
    # "... should be able to tell you", "... would know", "... would be the best place to
    # ask", "... would have that information": someone else answers.
    r"|\b(?:should|may|might|would|will|can|could) (?:be able to |probably )?(?:(?:tell you"
    r"|confirm|advise|clarify|let you know)\b|(?:help|know|answer|have (?:that|this|the"
    r"|more) (?:information|details?))\W*$)"
    r"|\b(?:best|right) (?:place|person|people|team) to (?:ask|contact|check)\b",
    re.IGNORECASE,
)


def is_referral(text: str) -> bool:
    """Whether ``text`` only refers the user elsewhere ("Please ask your pharmacist.")."""
    return _REFERRAL_RE.search(text) is not None


def is_number(token: str) -> bool:
    """Whether a token (from :func:`tokenize`) is a number, which must match verbatim."""
    return token < ":"  # tokens start with a letter or a digit, and digits sort first


def tokenize(text: str) -> list[str]:
    """Split ``text`` into lowercased word and number tokens.

    Apostrophes are dropped (``don't`` -> ``dont``, ``PostgreSQL's`` -> ``postgresql``),
    thousands separators removed (``1,000`` -> ``1000``), and ``v16`` read as ``16``.
    The shipped phrase equivalences are applied first ("no less than" -> "at least",
    "a quarter of" -> "25 percent of"): a negation inside an idiom is not one.
    """
    text = text.lower()
    if "v" in text:  # the version pattern starts with one (a short clause often has none)
        text = _VERSION_RE.sub("", text)
    if _has_phrase_hint(text):
        if " than" in text:
            text = _BOUND_RE.sub(r"\1at most", text)
        text = _PHRASE_RE.sub(_phrase, text)
    if "," in text:
        text = _THOUSANDS_RE.sub("", text)
    if "\u2019" in text:
        text = text.replace("\u2019", "'")
    if "'" in text:
        text = _APOSTROPHE_RE.sub("", text)
    return (_ASCII_TOKEN_RE if text.isascii() else _TOKEN_RE).findall(text)


def _has_phrase_hint(text: str) -> bool:
    # A plain loop: any() over a generator, or one regex search, costs more than the
    # substring tests.
    for hint in _PHRASE_HINTS:  # noqa: SIM110
        if hint in text:
            return True
    return False


# One alternation over the shipped phrases; a cheap pre-check keeps the common case fast.
# Every shipped phrase contains one of these uncommon words, so most texts skip the phrase
# search (tests/unit/judge/test_rules.py checks that every phrase is applied).
_PHRASE_HINTS: Final = (
    "than",
    "quarter",
    "half",
    "twice",
    "thrice",
    "exceed",
    "back",
    "charge",
    "cost",
    "other",
)
# A negated comparison is an upper bound, not a negation: "should not take more than 6"
# says "take at most 6", whatever verb stands between.
_BOUND_RE = re.compile(
    r"\b(?:not|never|cannot|\w+n[\u2019']t)\s+((?:\w+\s+){0,2}?)(?:more|longer|later) than\b"
)
_PHRASE_RE = re.compile(
    r"\b(?:" + "|".join(re.escape(p) for p in sorted(PHRASES, key=len, reverse=True)) + r")\b"
)


def _phrase(match: re.Match[str]) -> str:
    return PHRASES[match.group(0)]


@lru_cache(maxsize=16384)
def tokens_of(text: str) -> tuple[str, ...]:
    """:func:`tokenize` with ``%`` read as "percent", cached: every analysis of one
    sentence (windows, clauses, claims, context terms) shares one tokenization."""
    if "%" in text:
        text = text.replace("%", " percent ")
    return tuple(tokenize(text))


def stem(word: str) -> str:
    """The Snowball (Porter 2) English stem of ``word``, after the shipped synonym list.

    A registry stemmer rather than a hand-written one: its behaviour is documented and
    the same everywhere. Identifiers and numbers (``max_connections``, ``9.6``,
    ``recovery.signal``) are left as they are.
    """
    stemmed = _stem(SYNONYMS.get(word, word))
    return _stem_synonyms().get(stemmed, stemmed)


@lru_cache(maxsize=1)
def _stem_synonyms() -> dict[str, str]:
    """The synonym list on stems, so that every inflection of a listed word maps too
    ("aborts", "aborted" -> "cancel")."""
    out: dict[str, str] = {}
    for word, canonical in SYNONYMS.items():
        a, b = _stem(word), _stem(canonical)
        if a != b:
            out[a] = b
    return out


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    if len(word) <= 3 or not word.isalpha():
        return word
    # A Snowball stemmer keeps its working string on the instance: not thread-safe, and
    # the judge runs on a thread pool. The lock is taken only on a cache miss.
    with _STEM_LOCK:
        return _stemmer().stemWord(word)  # type: ignore[no-any-return]


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    """Snowball's English stemmer, built on first use (its import loads 30 languages)."""
    import snowballstemmer

    return snowballstemmer.stemmer("english")


_V = TypeVar("_V")


class WordTable(dict[str, _V]):
    """``function(word)`` for every word looked up, computed on first use.

    Read once per token of every text, as ``map(table.__getitem__, tokens)``: a dict
    read from C costs about half an ``lru_cache`` call. Thread-safe: setting an item and
    clearing are atomic, and a word computed by two threads at once gets the same value.
    Emptied when it holds ``limit`` words, so that it stays bounded like an lru_cache.
    """

    __slots__ = ("_function", "_limit")

    def __init__(self, function: Callable[[str], _V], limit: int = 65536) -> None:
        super().__init__()
        self._function = function
        self._limit = limit

    def __missing__(self, word: str) -> _V:
        if len(self) >= self._limit:
            self.clear()
        value = self[word] = self._function(word)
        return value


def content_terms(tokens: list[str]) -> list[str]:
    """The content terms of ``tokens``: no stopwords, negations or single letters, stemmed."""
    return [term for term in map(term_of, tokens) if term]


@lru_cache(maxsize=65536)  # thread-safe in CPython; called once per token
def term_of(token: str) -> str:
    """The content term of one token (stemmed), or ``""`` when the token carries no content."""
    if (len(token) == 1 and not token.isdigit()) or token in STOPWORDS or token in NEGATIONS:
        return ""
    return stem(token)


#: :func:`term_of` per token, for the loops that read every token of a text.
TERMS: Final = WordTable(term_of)


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences; line breaks and list items also end one.

    A full stop after a known abbreviation (``e.g.``) or inside a number (``9.6``)
    does not end a sentence. Markdown list and heading marks are removed.
    """
    parts = _SENTENCE_END_RE.split(text.strip())
    pieces, ends = parts[0::2], [*parts[1::2], ""]
    sentences: list[str] = []
    pending = ""
    for i, (piece, end) in enumerate(zip(pieces, ends, strict=True)):
        if end != "\n":
            piece += end
        pending = f"{pending} {piece}" if pending else piece
        if not pending:
            continue
        if end == "." and _continues(pending, piece):
            continue
        # "?" and "!" end a sentence only before a capital, so operators such as @? do not.
        if end in ("!", "?") and not pieces[i + 1].lstrip("\"'([").startswith(_CAPITALS):
            continue
        sentences.append(pending)
        pending = ""
    if pending:
        sentences.append(pending)
    cleaned = [(_LIST_MARK_RE.sub("", s) if s[0] in _LIST_STARTS else s).strip() for s in sentences]
    return [s for s in cleaned if s]


@lru_cache(maxsize=4096)
def sentences_of(text: str) -> tuple[str, ...]:
    """:func:`split_sentences`, cached: every metric reads the same contexts."""
    return tuple(split_sentences(text))


_LIST_STARTS = frozenset("#>*+-0123456789")
_CAPITALS = tuple("ABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _continues(pending: str, piece: str) -> bool:
    """Whether the full stop ending ``piece`` is an abbreviation's or a list number's."""
    last = piece[piece.rfind(" ") + 1 :].lower().lstrip("([{\"'").rstrip(".")
    return last in _ABBREVIATIONS or (len(pending) < 6 and bool(_ORDINAL_RE.fullmatch(pending)))


class _Clause:
    """A stretch of a sentence with what the splitting rules need to know about it."""

    __slots__ = ("abstains", "n_terms", "terms", "text")

    def __init__(self, text: str) -> None:
        #: Each token's content term, ``""`` for none (counted in C, not filtered).
        self.terms = list(map(TERMS.__getitem__, tokens_of(text)))
        self.text = text
        self.n_terms = len(self.terms) - self.terms.count("")
        self.abstains = is_abstention(text)

    @property
    def has_number(self) -> bool:
        # Computed when asked: most clauses are claims by their term count alone.
        return any(t[:1].isdigit() for t in self.terms)

    def extend(self, sep: str, other: _Clause) -> None:
        self.text = f"{self.text}{sep}{other.text}"
        self.terms += other.terms
        self.n_terms += other.n_terms
        self.abstains = self.abstains or other.abstains

    def is_claim(self, min_terms: int) -> bool:
        return self.abstains or self.n_terms >= min_terms or self.has_number


def split_claims(text: str, min_terms: int = 2, clause_terms: int = 3) -> list[str]:
    """Split ``text`` into claims: sentences, then clauses joined by ``;``/``and``/``but``.

    A sentence is a claim when it has at least ``min_terms`` content terms or a number;
    others (``Sure!``, ``Here is how:``) are dropped. A clause is split off only when both
    parts have ``clause_terms`` content terms, so "primary and standby servers" stays
    whole, or when one part is an abstention ("I don't know, but it is 5433" yields
    the abstention and the claim). Abstentions are returned as claims of their own:
    callers tell them apart with :func:`is_abstention`.
    """
    claims: list[str] = []
    for sentence in split_sentences(text):
        # With a capturing group, split() alternates clause, separator, clause, ...
        pieces = _CLAUSE_RE.split(_REPLY_RE.sub("", sentence))
        merged = [_Clause(pieces[0])]
        for sep, part in zip(pieces[1::2], pieces[2::2], strict=True):
            left, right = merged[-1], _Clause(part)
            if _splits(left, right, clause_terms):
                merged.append(right)
            else:
                left.extend(sep, right)
        claims.extend(m.text.strip() for m in merged if m.is_claim(min_terms))
    return claims


def _splits(left: _Clause, right: _Clause, clause_terms: int) -> bool:
    if left.text.count("(") > left.text.count(")"):
        return False  # never split inside parentheses
    if left.abstains or right.abstains:
        return True
    return left.n_terms >= clause_terms and right.n_terms >= clause_terms


@lru_cache(maxsize=16384)
def is_abstention(text: str) -> bool:
    """Whether ``text`` declines to answer ("I don't know", "the context does not say").

    Every abstention pattern holds a negation or a word such as "unable" or "sorry":
    a text without one is no abstention, which saves most texts the search (cached:
    claim splitting and claim sorting ask about the same clauses).
    """
    if _ABSTENTION_CUES.isdisjoint(tokens_of(text)):
        return False
    stripped = _NUMBER_RE.sub(" ", text)
    # Without a number or "%" to strip, the text's cached tokens are the stripped text's.
    tokens = tokens_of(text) if stripped == text and "%" not in text else tokenize(stripped)
    return _ABSTENTION_RE.search(" ".join(tokens)) is not None
