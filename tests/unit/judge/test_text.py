from __future__ import annotations

import pytest

from pytest_ragops.judge.text import (
    content_terms,
    is_abstention,
    split_claims,
    split_sentences,
    stem,
    tokenize,
)


def test_tokenize_lowercases_and_keeps_identifiers() -> None:
    assert tokenize("Run pg_basebackup, then SET max_connections.") == [
        "run",
        "pg_basebackup",
        "then",
        "set",
        "max_connections",
    ]


@pytest.mark.parametrize(
    ("text", "tokens"),
    [
        pytest.param(
            "PostgreSQL 9.6 and 16.2.1", ["postgresql", "9.6", "and", "16.2.1"], id="dotted"
        ),
        pytest.param("1,000,000 rows", ["1000000", "rows"], id="thousands"),
        pytest.param("values 1,2", ["values", "1", "2"], id="comma-list"),
        pytest.param("since v16", ["since", "16"], id="version"),
        pytest.param("port 5432.", ["port", "5432"], id="full-stop-after-number"),
        pytest.param("16GB of RAM", ["16", "gb", "of", "ram"], id="unit"),
    ],
)
def test_tokenize_numbers(text: str, tokens: list[str]) -> None:
    assert tokenize(text) == tokens


def test_tokenize_apostrophes() -> None:
    assert tokenize("PostgreSQL's planner doesn\u2019t don't") == [
        "postgresql",
        "planner",
        "doesnt",
        "dont",
    ]


@pytest.mark.parametrize(
    "forms",
    [
        ("backup", "backups"),
        ("query", "queries"),
        ("index", "indexes", "indexing"),
        ("process", "processes"),
        ("archive", "archived", "archiving", "archives"),
        ("replicate", "replicated", "replicating", "replication"),
        ("configure", "configured", "configuration"),
        ("run", "running"),
        ("vacuum", "vacuumed", "vacuuming"),
        ("connect", "connects", "connected", "connecting"),
        ("allow", "allows", "allowed"),
    ],
    ids=lambda forms: forms[0],
)
def test_stem_makes_inflections_meet(forms: tuple[str, ...]) -> None:
    assert len({stem(f) for f in forms}) == 1, {f: stem(f) for f in forms}


@pytest.mark.parametrize("word", ["wal", "max_connections", "wal2json", "recovery.signal", "9.6"])
def test_stem_leaves_short_words_and_identifiers(word: str) -> None:
    assert stem(word) == word


def test_stem_keeps_different_words_apart() -> None:
    assert stem("backup") != stem("restore")
    assert stem("replica") != stem("primary")


def test_content_terms_drop_stopwords_negations_and_letters() -> None:
    terms = content_terms(tokenize("It is not the case that a WAL-G backup takes 5 s"))
    assert terms == ["case", "wal", "backup", "take", "5"]


def test_split_sentences_respects_abbreviations_and_decimals() -> None:
    text = "Tools differ, e.g. pgBackRest and Barman. PostgreSQL 9.6 added it! Why? Because."
    assert split_sentences(text) == [
        "Tools differ, e.g. pgBackRest and Barman.",
        "PostgreSQL 9.6 added it!",
        "Why?",
        "Because.",
    ]


def test_split_sentences_on_lines_and_markdown() -> None:
    text = "## Backups\n\n- take a base backup\n* archive WAL\n1. test restores\n> note"
    assert split_sentences(text) == [
        "Backups",
        "take a base backup",
        "archive WAL",
        "test restores",
        "note",
    ]


@pytest.mark.parametrize("text", ["", "   ", "\n\n"])
def test_split_sentences_empty(text: str) -> None:
    assert split_sentences(text) == []


def test_split_claims_splits_independent_clauses() -> None:
    text = "Backups run nightly with pg_basebackup and WAL segments are archived every 60 seconds."
    assert split_claims(text) == [
        "Backups run nightly with pg_basebackup",
        "WAL segments are archived every 60 seconds.",
    ]


def test_split_claims_keeps_short_conjunctions_whole() -> None:
    assert split_claims("Use primary and standby servers.") == ["Use primary and standby servers."]


def test_split_claims_drops_filler_but_keeps_numbers() -> None:
    assert split_claims("Sure! Here is how. It is 5432.") == ["It is 5432."]


def test_split_claims_separates_abstention_from_claim() -> None:
    assert split_claims("I don't know, but the port is 5433.") == [
        "I don't know",
        "the port is 5433.",
    ]


@pytest.mark.parametrize(
    "text",
    [
        "I don't know.",
        "I do not know the answer",
        "I'm not sure.",
        "I cannot answer that from the documents.",
        "I couldn't find this in the sources.",
        "There is not enough information to say.",
        "The provided context does not mention replication slots.",
        "That is not covered in the documents.",
    ],
)
def test_is_abstention(text: str) -> None:
    assert is_abstention(text)


@pytest.mark.parametrize(
    "text",
    [
        "The default port is 5432.",
        "pg_dump does not include roles.",
        "Autovacuum cannot run while the table is locked.",
        "I know that VACUUM reclaims space.",
    ],
)
def test_is_not_abstention(text: str) -> None:
    assert not is_abstention(text)


def test_question_mark_inside_a_sentence_does_not_end_it() -> None:
    text = "jsonb_path_ops supports @> (and @? and @@) only. Is it smaller? Yes."
    assert split_sentences(text) == [
        "jsonb_path_ops supports @> (and @? and @@) only.",
        "Is it smaller?",
        "Yes.",
    ]


def test_split_claims_at_colons_but_not_inside_parentheses() -> None:
    text = (
        "PgBouncer has three pool modes: session mode (the default and the safest one), "
        "transaction mode and statement mode."
    )
    assert split_claims(text) == [
        "PgBouncer has three pool modes",
        "session mode (the default and the safest one), transaction mode and statement mode.",
    ]


@pytest.mark.parametrize("reply", ["No, ", "Neither: ", "Yes. ", "Correct \u2014 "])
def test_split_claims_drops_a_leading_reply(reply: str) -> None:
    assert split_claims(f"{reply}work_mem applies per sort operation.") == [
        "work_mem applies per sort operation."
    ]


def test_stem_applies_the_synonym_list_first() -> None:
    assert stem("reboot") == stem("restart")
    assert stem("ram") == stem("memory")


def test_stemming_is_safe_across_threads() -> None:
    # The Snowball stemmer object is not thread-safe; stem() serialises cache misses.
    from concurrent.futures import ThreadPoolExecutor

    words = [
        f"{base}{suffix}"
        for base in ("archiv", "replicat", "connect")
        for suffix in ("e", "es", "ed", "ing", "ion", "ions")
    ] * 50
    with ThreadPoolExecutor(8) as pool:
        stems = list(pool.map(stem, [f"{w}{i % 7 * 'x'}" for i, w in enumerate(words)]))
    assert stems == [stem(f"{w}{i % 7 * 'x'}") for i, w in enumerate(words)]


def test_tokenize_keeps_dotted_identifiers_whole() -> None:
    assert tokenize("Create recovery.signal, e.g. in postgresql.auto.conf.") == [
        "create",
        "recovery.signal",
        "e.g",
        "in",
        "postgresql.auto.conf",
    ]
