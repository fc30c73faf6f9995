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
    "COMMON_VERBS",
    "FILLER",
    "NEGATING_VERBS",
    "NUMBER_WORDS",
    "PHRASES",
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
    # Mutually exclusive alternatives: naming the other one names another part or mode.
    ("left", "right"),
    ("front", "rear"),
    ("inner", "outer"),
    ("inlet", "outlet"),
    ("input", "output"),
    ("internal", "external"),
    ("upstream", "downstream"),
    ("inbound", "outbound"),
    ("north", "south"),
    ("east", "west"),
    ("primary", "secondary"),
    ("positive", "negative"),
    ("manual", "automatic"),
    ("manually", "automatically"),
    ("public", "private"),
    ("horizontal", "vertical"),
    ("import", "export"),
    ("pass", "fail"),
    ("success", "failure"),
    ("full", "empty"),
    ("add", "remove"),
    ("encrypt", "decrypt"),
    ("lock", "unlock"),
    ("connect", "disconnect"),
    ("attach", "detach"),
    ("install", "uninstall"),
    ("increase", "reduce"),
    ("early", "late"),
    ("light", "heavy"),
)

#: Verbs that negate their object ("avoid grapefruit juice" = "do not drink it", "skip the
#: dose" = "do not give it"): negation cues like "not", in every inflection listed. Words of
#: the antonym list (forbid, exclude, stop) are not here: they flip by that list.
NEGATING_VERBS: Final = (
    "avoid avoids avoided avoiding",
    "skip skips skipped skipping",
    "omit omits omitted omitting",
    "waive waives waived waiving",
    "withhold withholds withheld withholding",
    "refuse refuses refused refusing",
    "lack lacks lacked lacking",
    "prevent prevents prevented preventing",
    "ban bans banned banning",
)

#: Common English verbs and connectives, stemmed at use: a reworded sentence swaps these
#: freely ("checkpoints start" / "are triggered"), so a swap of one of them is not taken
#: for a wrong entity or part (those are nouns: "ibuprofen" for "paracetamol").
COMMON_VERBS: Final = frozenset(
    """
    accept add allow apply arrive ask become begin bring build buy call carry cause change
    check choose close come consider contain continue cost count create cut decide depend
    describe do drop eat end expect explain fall feel fill find finish fit follow form get
    give go grow handle happen have hear help hold include increase keep know last lead
    learn leave let lie like live look lose make mark matter mean meet miss move need note
    occur offer open own pass pay pick place plan play point prefer prepare press produce
    protect provide pull push put reach read receive record reduce refer relate rely remain
    remember remove repeat replace report require rest return rise run save say see seem
    select sell send serve set settle show sit sleep spend stand start stay stop store
    suggest supply support take talk tell tend think throw trigger try turn understand use
    wait walk want watch wear work write instead rather also still just even again
    """.split()
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
    "substitute": "replace",
    "abort": "cancel",
    "beyond": "above",
    "exceed": "above",
    "purchase": "buy",
    "assist": "help",
    "sufficient": "enough",
    "finish": "end",
    "rather": "instead",
    # Irregular verb forms the stemmer does not meet with their base form.
    "taken": "take",
    "took": "take",
    "given": "give",
    "gave": "give",
    "kept": "keep",
    "written": "write",
    "wrote": "write",
    "ran": "run",
    "held": "hold",
    "made": "make",
    "sent": "send",
    "built": "build",
    "chosen": "choose",
    "chose": "choose",
    "shown": "show",
    "brought": "bring",
    "bought": "buy",
    "found": "find",
    "lost": "lose",
    "paid": "pay",
    "sold": "sell",
    "spent": "spend",
    "began": "start",
    "begun": "start",
    "mins": "minutes",
    "secs": "seconds",
    "hrs": "hours",
}

#: Phrases rewritten before tokenizing (lower case): idioms whose negation is not one,
#: and fractions with an exact percentage. Applied to answers and contexts alike.
PHRASES: Final[dict[str, str]] = {
    "no less than": "at least",
    "not less than": "at least",
    "no fewer than": "at least",
    "not fewer than": "at least",
    "no more than": "at most",
    "not more than": "at most",
    "no later than": "by",
    "must not exceed": "is at most",
    "does not exceed": "is at most",
    "do not exceed": "is at most",
    "not to exceed": "at most",
    "never exceeds": "is at most",
    "never exceed": "is at most",
    "not later than": "by",
    "a quarter of": "25 percent of",
    "one quarter of": "25 percent of",
    "three quarters of": "75 percent of",
    "half of": "50 percent of",
    "one half of": "50 percent of",
    "twice": "2 times",
    "hold back": "withhold",
    "holds back": "withholds",
    "held back": "withheld",
    "holding back": "withholding",
    "thrice": "3 times",
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
    [
        "important",
        "topic",
        "question",
        "questions",
        "common",
        "commonly",
        "ask",
        "asked",
        "asking",
        "interesting",
        "matter",
        "matters",
        "remember",
        "note",
        "noted",
        "good",
        "great",
        "key",
        "consider",
        "considering",
        "aspect",
        "aspects",
        "area",
        "issue",
        "issues",
        "subject",
        "useful",
        "helpful",
        "help",
        "know",
        "known",
        "many",
        "people",
        "often",
        "frequently",
        "relevant",
        "concern",
        "concerns",
        "thing",
        "things",
        "worth",
        "discuss",
        "discussed",
        "mention",
        "mentioned",
    ]
)
