"""The offline judge's word lists: antonyms, synonyms, units, number words, filler.

Small and shipped as code so that every rule is reviewable and loading costs nothing.
Words are given as plain English; :mod:`pytest_ragops.judge.text` stems them with the
same stemmer it applies to answers and contexts, so ``forbids`` meets ``forbid``.
Each list is documented, with its failure modes, in ``docs/offline-judge.md``.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "ANTONYMS",
    "FILLER",
    "NUMBER_WORDS",
    "ROMAN_AFTER",
    "ROMAN_NUMERALS",
    "SCALE_WORDS",
    "SYNONYMS",
    "UNITS",
]

#: Pairs with opposite meaning: a claim using one side against a context using the
#: other (and not the claim's side) flips polarity, as a negation does.
ANTONYMS: Final[tuple[tuple[str, str], ...]] = (
    ("allow", "forbid"),
    ("allowed", "forbidden"),
    ("permit", "prohibit"),
    ("accept", "reject"),
    ("include", "exclude"),
    ("enable", "disable"),
    ("enabled", "disabled"),
    ("increase", "decrease"),
    ("raise", "lower"),
    ("higher", "lower"),
    ("more", "less"),
    ("most", "least"),
    ("maximum", "minimum"),
    ("above", "below"),
    ("before", "after"),
    ("faster", "slower"),
    ("fast", "slow"),
    ("hot", "cold"),
    ("heated", "cold"),
    ("moist", "dry"),
    ("wet", "dry"),
    ("safe", "unsafe"),
    ("required", "optional"),
    ("mandatory", "optional"),
    ("synchronous", "asynchronous"),
    ("lowest", "highest"),
    ("shorter", "longer"),
    ("first", "last"),
    ("start", "stop"),
    ("open", "close"),
    ("supported", "unsupported"),
    ("compatible", "incompatible"),
    ("valid", "invalid"),
    ("online", "offline"),
)

#: Words with one meaning here, mapped to one canonical word (applied before stemming).
SYNONYMS: Final[dict[str, str]] = {
    "reboot": "restart",
    "ram": "memory",
    "delete": "remove",
    "erase": "remove",
    "big": "large",
    "huge": "large",
    "quick": "fast",
    "rapid": "fast",
    "begin": "start",
    "commence": "start",
    "halt": "stop",
    "permit": "allow",
    "permitted": "allowed",
    "prohibit": "forbid",
    "prohibited": "forbidden",
    "disallow": "forbid",
    "need": "require",
    "needs": "require",
    "needed": "required",
    "sooner": "first",
    "earlier": "first",
    "seldom": "rarely",
    "borrow": "assign",
    "borrows": "assign",
    "utilise": "use",
    "utilize": "use",
    "using": "use",
    "obtain": "get",
    "receive": "get",
    "mins": "minutes",
    "secs": "seconds",
    "hrs": "hours",
}

#: Unit words after a number: (dimension, factor to the dimension's base unit). Exact
#: equivalences only (1GB = 1024MB, 1 min = 60 s, 1 year = 12 months); a day is never
#: a month and a percent never a fraction.
UNITS: Final[dict[str, tuple[str, float]]] = {
    "b": ("bytes", 1.0),
    "byte": ("bytes", 1.0),
    "bytes": ("bytes", 1.0),
    "kb": ("bytes", 1024.0),
    "kib": ("bytes", 1024.0),
    "kilobyte": ("bytes", 1024.0),
    "kilobytes": ("bytes", 1024.0),
    "mb": ("bytes", 1024.0**2),
    "mib": ("bytes", 1024.0**2),
    "megabyte": ("bytes", 1024.0**2),
    "megabytes": ("bytes", 1024.0**2),
    "gb": ("bytes", 1024.0**3),
    "gib": ("bytes", 1024.0**3),
    "gigabyte": ("bytes", 1024.0**3),
    "gigabytes": ("bytes", 1024.0**3),
    "tb": ("bytes", 1024.0**4),
    "tib": ("bytes", 1024.0**4),
    "terabyte": ("bytes", 1024.0**4),
    "terabytes": ("bytes", 1024.0**4),
    "ms": ("seconds", 0.001),
    "millisecond": ("seconds", 0.001),
    "milliseconds": ("seconds", 0.001),
    "s": ("seconds", 1.0),
    "sec": ("seconds", 1.0),
    "second": ("seconds", 1.0),
    "seconds": ("seconds", 1.0),
    "min": ("seconds", 60.0),
    "minute": ("seconds", 60.0),
    "minutes": ("seconds", 60.0),
    "h": ("seconds", 3600.0),
    "hour": ("seconds", 3600.0),
    "hours": ("seconds", 3600.0),
    "day": ("seconds", 86400.0),
    "days": ("seconds", 86400.0),
    "week": ("seconds", 604800.0),
    "weeks": ("seconds", 604800.0),
    "month": ("months", 1.0),
    "months": ("months", 1.0),
    "year": ("months", 12.0),
    "years": ("months", 12.0),
    "percent": ("percent", 1.0),
    "pct": ("percent", 1.0),
    "psi": ("psi", 1.0),
    "c": ("celsius", 1.0),
    "celsius": ("celsius", 1.0),
    "f": ("fahrenheit", 1.0),
    "fahrenheit": ("fahrenheit", 1.0),
    "inch-pounds": ("inch-pounds", 1.0),
    "in-lb": ("inch-pounds", 1.0),
}

#: Spelled-out numbers.
NUMBER_WORDS: Final[dict[str, int]] = {
    "zero": 0,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "thirteen": 13,
    "fourteen": 14,
    "fifteen": 15,
    "sixteen": 16,
    "seventeen": 17,
    "eighteen": 18,
    "nineteen": 19,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "sixty": 60,
    "seventy": 70,
    "eighty": 80,
    "ninety": 90,
    "hundred": 100,
    "dozen": 12,
}
#: Words that multiply the number before them ("200 million", "two thousand").
SCALE_WORDS: Final[dict[str, float]] = {
    "hundred": 100.0,
    "thousand": 1e3,
    "million": 1e6,
    "billion": 1e9,
}
#: Roman numerals read as numbers only after one of :data:`ROMAN_AFTER` ("Type IV").
ROMAN_NUMERALS: Final[dict[str, int]] = {
    "i": 1,
    "ii": 2,
    "iii": 3,
    "iv": 4,
    "v": 5,
    "vi": 6,
}
ROMAN_AFTER: Final = frozenset(("type", "class", "grade", "category", "level", "stage", "phase"))

#: Words that talk about a question rather than answer it ("an important topic", "a
#: common question"): they do not count as new content when ``answer_relevancy`` checks
#: that a sentence says more than the question it echoes.
FILLER: Final = frozenset(
    """
    important topic question questions common commonly ask asked asking interesting matter
    matters remember note noted good great key consider considering aspect aspects area
    issue issues subject useful helpful help know known many people often frequently
    relevant concern concerns thing things worth discuss discussed mention mentioned
    """.split()
)
