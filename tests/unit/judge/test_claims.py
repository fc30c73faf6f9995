"""The offline faithfulness rules, one by one, with the failure each one catches."""

from __future__ import annotations

import pytest

from pytest_ragops.judge import OfflineJudge, Sample
from pytest_ragops.judge.claims import Quantity, analyse, check_claim, windows_of

POOL = (
    "PgBouncer is a lightweight single-process connection pooler. Clients connect to it by "
    "default on port 6432. The default_pool_size setting, 20 by default, limits the number of "
    "server connections per pool, while max_client_conn, 100 by default, limits how many "
    "clients may connect to PgBouncer itself."
)
MODES = (
    "In session mode, the default, a client keeps the same server connection until it "
    "disconnects. In transaction mode a server connection is assigned to a client only for the "
    "duration of a transaction. Statement mode returns the connection after every statement "
    "and forbids multi-statement transactions."
)
WAL = (
    "Checkpoints are triggered when checkpoint_timeout has elapsed, 5 minutes by default, or "
    "when the WAL approaches max_wal_size, which defaults to 1GB. min_wal_size, 80MB by "
    "default, is the amount of old WAL kept for recycling."
)
TRAVEL = (
    "Travel expenses are reimbursed when the receipts are submitted within 30 days of the "
    "trip. Alcohol is never reimbursed."
)


def verdict(answer: str, context: str, question: str = "What does the context say?") -> object:
    windows = windows_of(context, 3)
    return check_claim(analyse(answer), windows, analyse(question), 0.6)


def rule(answer: str, context: str) -> str | None:
    return verdict(answer, context).rule  # type: ignore[attr-defined, no-any-return]


def test_grounded_claims_pass_every_rule() -> None:
    assert rule("PgBouncer listens on port 6432 by default.", POOL) is None
    assert rule("default_pool_size is 20 by default.", POOL) is None
    assert rule("max_wal_size defaults to 1GB.", WAL) is None


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("default_pool_size is 50 by default.", "number"),
        ("checkpoint_timeout is 15 minutes by default.", "number"),
        ("default_pool_size is 100 by default.", "number-binding"),
        ("max_wal_size defaults to 80MB.", "number-binding"),
        ("max_client_conn is 20 by default.", "number-binding"),
    ],
)
def test_changed_and_swapped_numbers_fail(answer: str, expected: str) -> None:
    context = WAL if "wal" in answer or "checkpoint" in answer else POOL
    assert rule(answer, context) == expected


def test_number_words_and_units_are_normalised() -> None:
    assert rule("max_wal_size defaults to 1024 megabytes.", WAL) is None
    assert rule("checkpoint_timeout defaults to 300 seconds.", WAL) is None
    assert rule("checkpoint_timeout defaults to five minutes.", WAL) is None
    assert rule("checkpoint_timeout defaults to 5 hours.", WAL) == "number"
    assert analyse("sixty-four MB").quantities == (Quantity(64 * 1024.0**2, "bytes", "sixty"),)
    assert analyse("200 million rows").quantities[0].value == 200e6
    assert analyse("Type IV fluid").quantities[0].value == 4.0


def test_a_day_is_never_a_month() -> None:
    assert not Quantity(30 * 86400.0, "seconds", "30").same(Quantity(1.0, "months", "1"))
    assert Quantity(12.0, "months", "1").same(Quantity(12.0, "months", "12"))


@pytest.mark.parametrize(
    "answer",
    [
        "Statement mode allows multi-statement transactions.",
        "Alcohol is always reimbursed when receipts are submitted within 30 days of the trip.",
        "Clients do not connect to PgBouncer on port 6432.",
    ],
)
def test_polarity_flips_fail(answer: str) -> None:
    context = MODES if "Statement" in answer else TRAVEL if "Alcohol" in answer else POOL
    assert rule(answer, context) == "polarity"


def test_negation_only_counts_within_its_scope() -> None:
    context = (
        "SELECT ... FOR UPDATE SKIP LOCKED lets several workers each take a different pending "
        "row without waiting for each other."
    )
    assert rule("Use SELECT FOR UPDATE SKIP LOCKED.", context) is None
    # A negation and an antonym cancel out: "does not allow" says "forbids".
    assert rule("Statement mode does not allow multi-statement transactions.", MODES) is None


def test_rare_terms_must_come_from_context_or_question() -> None:
    assert rule("PgBouncer encrypts pooled connections with Kerberos.", POOL) == "rare-term"
    question = analyse("Does PgBouncer support Kerberos?")
    claim = analyse("PgBouncer is a lightweight Kerberos pooler.")
    assert check_claim(claim, windows_of(POOL, 3), question, 0.6).rule is None


def test_an_entity_swapped_into_the_contexts_phrase_fails() -> None:
    assert rule("Transaction mode is the default.", MODES) == "wrong-entity"
    assert rule("Session mode is the default.", MODES) is None


def test_rationale_names_each_unsupported_claim_and_its_rule() -> None:
    answer = "PgBouncer listens on port 6432 by default. default_pool_size is 50 by default."
    sample = Sample("What are PgBouncer's defaults?", answer, (POOL,))
    (score,) = OfflineJudge().score(sample, ("faithfulness",))
    assert score.value == 0.5
    assert score.rationale is not None
    assert score.rationale.startswith("1 of 2 claims unsupported: 'default_pool_size is 50")
    assert "(number: 50 is not in the context)" in score.rationale


def test_abstention_makes_no_claim() -> None:
    sample = Sample("How do I set auth_query?", "The provided context does not cover it.", (POOL,))
    faith, relevancy = OfflineJudge().score(sample, ("faithfulness", "answer_relevancy"))
    assert (faith.value, faith.rationale) == (1.0, "abstains: makes no claim")
    assert relevancy.value == 0.0


def test_relevancy_is_not_fooled_by_an_echo() -> None:
    question = "How do I reduce checkpoint overhead on a write-heavy system?"
    context = WAL + " On write-heavy systems, raising max_wal_size reduces checkpoint overhead."
    echo = (
        "Checkpoint overhead on write-heavy systems is a common question. "
        "PgBouncer listens on port 6432 by default."
    )
    answer = "Raise max_wal_size on write-heavy systems to reduce checkpoint overhead."
    judge = OfflineJudge()
    contexts = (context, POOL)
    (low,) = judge.score(Sample(question, echo, contexts), ("answer_relevancy",))
    (high,) = judge.score(Sample(question, answer, contexts), ("answer_relevancy",))
    assert low.value is not None
    assert high.value is not None
    assert low.value < 0.5 <= high.value
