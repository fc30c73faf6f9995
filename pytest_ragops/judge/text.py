"""Text helpers for the offline judge: tokens, light stemming, stopwords, claims.

Pure stdlib and deterministic. The offline metrics compare bags of *content terms*
(lowercased, stopwords dropped, suffixes lightly stripped), so two phrasings of one
fact ("backups are archived" / "archiving the backup") meet on the same terms, while
numbers stay verbatim so that "60 seconds" never supports "90 seconds".
"""

from __future__ import annotations

import re
from functools import lru_cache

__all__ = [
    "NEGATIONS",
    "STOPWORDS",
    "content_terms",
    "is_abstention",
    "is_number",
    "split_claims",
    "split_sentences",
    "stem",
    "tokenize",
]

# A plain or dotted number (9.6, 16.2.1), or a word starting with a letter (identifiers
# such as pg_basebackup or wal2json included). Normalisation happens on the whole text
# first, with the substitutions below, so that tokenizing is one C-level findall.
_TOKEN_RE = re.compile(r"\d+(?:\.\d+)*|[^\W\d_]\w*")
_THOUSANDS_RE = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_VERSION_RE = re.compile(r"\bv(?=\d)")
_POSSESSIVE_RE = re.compile(r"['\u2019]s\b|['\u2019]")
_NUMBER_RE = re.compile(r"\d[\d.]*")


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


#: Words that carry no content for overlap scoring (English function words).
STOPWORDS: frozenset[str] = _word_set(
    """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can could did do does doing down during each
    either else etc eg ie few for from further had has have having he her here hers herself
    him himself his how however i if in into is it its itself just let may me might more
    most must my myself of off on once only or other otherwise our ours ourselves out over
    own per same shall she should so some such than that the their theirs them themselves
    then there therefore these they this those through thus to too under until up upon us
    very via was we were what when where whether which while who whom whose why will with
    within would yes you your yours yourself yourselves
    """
)

#: Words that flip a statement; tracked separately from content terms.
NEGATIONS: frozenset[str] = _word_set(
    """
    not no never cannot cant dont doesnt didnt isnt arent wasnt werent wont wouldnt
    shouldnt couldnt hasnt havent hadnt nor neither none nothing
    """
)

# Abbreviations whose full stop does not end a sentence.
_ABBREVIATIONS = _word_set("e.g i.e etc vs approx fig cf al incl resp dr mr mrs ms")
# A sentence ends at . ! ? (followed by space) or at a line break; bullets and headings
# become their own sentences.
_SENTENCE_END_RE = re.compile(r"(?<=[.!?])\s+|\s*\n+\s*")
_ORDINAL_RE = re.compile(r"\d+\.")  # "1." opening a numbered list item
_LIST_MARK_RE = re.compile(r"^(?:[#>*+\-]+|\d+[.)])\s+")
# Clause boundaries inside a sentence; a split is kept only when both sides are claims.
_CLAUSE_RE = re.compile(r"(\s*;\s*|,?\s+(?:and|but|while|whereas|although)\s+)", re.IGNORECASE)

_ABSTENTION_RES = tuple(
    re.compile(p)
    for p in (
        r"\bi (?:do not|dont) know\b",
        r"\b(?:i am|im) (?:not sure|unsure|not certain)\b",
        r"\b(?:cannot|cant|can not|unable to|not able to) (?:answer|help|find|determine|tell)\b",
        r"\b(?:could not|couldnt|did not|didnt) find\b",
        r"\b(?:no|not enough|insufficient) (?:relevant )?information\b",
        r"\b(?:context|contexts|document|documents|sources?) (?:does|do|did) not "
        r"(?:mention|contain|say|cover|include|provide|specify|answer)",
        r"\bnot (?:mentioned|covered|specified|provided|found) in the "
        r"(?:context|documents?|sources?)",
        r"\bi have no (?:information|knowledge|data)\b",
        r"\bno answer\b",
    )
)


def is_number(token: str) -> bool:
    """Whether a token (from :func:`tokenize`) is a number, which must match verbatim."""
    return token[0].isdigit()


def tokenize(text: str) -> list[str]:
    """Split ``text`` into lowercased word and number tokens.

    Apostrophes are dropped (``don't`` -> ``dont``, ``PostgreSQL's`` -> ``postgresql``),
    thousands separators removed (``1,000`` -> ``1000``), and ``v16`` read as ``16``.
    """
    text = _POSSESSIVE_RE.sub(_drop_apostrophe, text.lower())
    return _TOKEN_RE.findall(_VERSION_RE.sub("", _THOUSANDS_RE.sub("", text)))


def _drop_apostrophe(match: re.Match[str]) -> str:
    return ""


@lru_cache(maxsize=65536)  # thread-safe in CPython; stemming is the hot path
def stem(word: str) -> str:
    """Strip common English suffixes so that inflections of one word meet.

    Deliberately light (plural, -ing, -ed, -ly, -ation, final -e): it must be
    predictable, not linguistically perfect. Non-alphabetic words (identifiers such as
    ``max_connections``) are left as they are.
    """
    if len(word) <= 3 or not word.isalpha():
        return word
    w = word
    if w.endswith("ies") and len(w) > 4:
        w = w[:-3] + "y"
    elif w.endswith(("sses", "xes", "ches", "shes", "zes")):
        w = w[:-2]
    elif w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w.endswith("ication"):
        w = w[:-3]
    elif w.endswith("ation") and len(w) > 8:
        w = w[:-5]
    else:
        for suffix in ("ing", "ed", "ly"):
            if w.endswith(suffix) and len(w) - len(suffix) >= 3:
                w = w[: -len(suffix)]
                if w[-1] == w[-2] and w[-1] not in "lsz":
                    w = w[:-1]
                break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    return w


def content_terms(tokens: list[str]) -> list[str]:
    """The content terms of ``tokens``: no stopwords, negations or single letters, stemmed."""
    return [
        stem(t)
        for t in tokens
        if (len(t) > 1 or t.isdigit()) and t not in STOPWORDS and t not in NEGATIONS
    ]


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences; line breaks and list items also end one.

    A full stop after a known abbreviation (``e.g.``) or inside a number (``9.6``)
    does not end a sentence. Markdown list and heading marks are removed.
    """
    sentences: list[str] = []
    pending = ""
    for piece in _SENTENCE_END_RE.split(text.strip()):
        if not piece:
            continue
        pending = f"{pending} {piece}" if pending else piece
        last = pending.rsplit(None, 1)[-1].lower().lstrip("([{\"'").rstrip(".")
        if pending.endswith(".") and (last in _ABBREVIATIONS or _ORDINAL_RE.fullmatch(pending)):
            continue
        sentences.append(pending)
        pending = ""
    if pending:
        sentences.append(pending)
    cleaned = (_LIST_MARK_RE.sub("", s).strip() for s in sentences)
    return [s for s in cleaned if s]


def _is_claim(text: str, min_terms: int) -> bool:
    terms = content_terms(tokenize(text))
    return len(terms) >= min_terms or any(is_number(t) for t in terms)


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
        pieces = _CLAUSE_RE.split(sentence)
        merged = [pieces[0]]
        for sep, part in zip(pieces[1::2], pieces[2::2], strict=True):
            if _splits(merged[-1], part, clause_terms):
                merged.append(part)
            else:
                merged[-1] = f"{merged[-1]}{sep}{part}"
        for m in merged:
            if _is_claim(m, min_terms) or is_abstention(m):
                claims.append(m.strip())
    return claims


def _splits(left: str, right: str, clause_terms: int) -> bool:
    if is_abstention(left) or is_abstention(right):
        return True
    return (
        len(content_terms(tokenize(left))) >= clause_terms
        and len(content_terms(tokenize(right))) >= clause_terms
    )


def is_abstention(text: str) -> bool:
    """Whether ``text`` declines to answer ("I don't know", "the context does not say")."""
    normalized = " ".join(tokenize(_NUMBER_RE.sub(" ", text)))
    return any(r.search(normalized) for r in _ABSTENTION_RES)
