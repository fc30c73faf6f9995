"""The rules added for failure modes the first release missed, each with the
paraphrase it must let through (contexts from domains the labelled set does not use)."""

from __future__ import annotations

import pytest

from pytest_ragops.judge import OfflineJudge, Sample
from pytest_ragops.judge.claims import analyse, check_claim, windows_of
from pytest_ragops.judge.text import is_abstention, stem, tokenize

BOILER = (
    "Close the left feed valve before opening the boiler hatch. The right valve is opened only "
    "after the hatch is sealed and the gauge reads zero."
)
SITES = (
    "The Oslo cluster is the primary site. Oslo replicates to Bergen every 10 minutes. The "
    "default cipher is aes256 instead of blowfish."
)
LEVELS = (
    "The durability setting decides how long a write waits: quick_ack waits until the replica "
    "has received the record, on waits until the replica has flushed it to disk, and full_sync "
    "waits until the replica has applied it."
)
BIRDS = "Herons never eat seeds and finches never eat fish."
LEAVE = "Parental leave of up to 12 weeks needs approval from the line manager."
PILLS = "Adults take one tablet twice a day. The daily dose must not exceed 4 tablets."
WASH = "Rinse the filter for at least 30 seconds. Gloves are not a substitute for rinsing."


def rule(answer: str, context: str, question: str = "What does the context say?") -> str | None:
    verdict = check_claim(analyse(answer), windows_of(context, 3), analyse(question), 0.6)
    return verdict.rule


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        # a lower-case part name: the alternative from the shipped contrast pairs
        ("The left valve is opened only after the hatch is sealed.", "polarity"),
        # word order around a directional word
        ("Bergen replicates to Oslo every 10 minutes.", "role-swap"),
        ("The default cipher is blowfish instead of aes256.", "role-swap"),
        # an identifier said with what the context says of another one
        ("full_sync waits until the replica has flushed it to disk.", "wrong-entity"),
        # an invented lower-case entity (a determiner and two new words)
        (
            "Parental leave of up to 12 weeks needs approval from the payroll office.",
            "novel-phrase",
        ),
    ],
)
def test_wrong_entities_and_roles_fail(answer: str, expected: str) -> None:
    context = next(c for c in (BOILER, SITES, LEVELS, LEAVE) if answer.split()[1][:4] in c)
    assert rule(answer, context) == expected


@pytest.mark.parametrize(
    ("answer", "context"),
    [
        ("The right valve is opened only after the hatch is sealed.", BOILER),
        ("Oslo replicates to Bergen every 10 minutes.", SITES),
        ("The default cipher is aes256 rather than blowfish.", SITES),
        ("on waits until the replica has flushed it to disk.", LEVELS),
        ("full_sync waits until the replica has applied it.", LEVELS),
        ("Parental leave of up to 12 weeks needs the line manager's approval.", LEAVE),
        # idioms and exact equivalences, not negations or new numbers
        ("Rinse the filter for no less than thirty seconds.", WASH),
        ("Wearing gloves does not replace rinsing.", WASH),
        ("The daily maximum is 4 tablets.", PILLS),
        ("Adults take one tablet 2 times a day.", PILLS),
    ],
)
def test_correct_rewordings_pass(answer: str, context: str) -> None:
    assert rule(answer, context) is None


def test_each_clause_keeps_its_own_negation() -> None:
    # Two negations in one sentence are not a double negation that cancels.
    assert rule("Herons eat seeds and finches eat fish.", BIRDS) == "polarity"
    assert rule("Herons never eat seeds.", BIRDS) is None
    # Two cues close together do cancel: "cannot start without X" = needs X.
    ctx = "The pump cannot start without priming water in the casing."
    assert rule("The pump needs priming water in the casing to start.", ctx) is None


def test_a_small_count_word_is_checked_but_not_bound() -> None:
    ctx = (
        "A deadlock occurs when two transactions each wait for the other. The server aborts "
        "one of the transactions after 1 second."
    )
    assert rule("After 1 second the server aborts one of the two transactions.", ctx) is None
    assert rule("After 1 second the server aborts one of the three transactions.", ctx) == "number"


def test_synonyms_and_irregular_forms_meet_on_every_inflection() -> None:
    assert stem("aborted") == stem("cancels") == stem("cancel")
    assert stem("substitutes") == stem("replace")
    assert stem("taken") == stem("takes")
    assert tokenize("no less than 5") == ["at", "least", "5"]
    assert tokenize("a quarter of memory") == ["25", "percent", "of", "memory"]


def test_relevancy_lets_a_pronoun_stand_for_the_subject() -> None:
    judge = OfflineJudge()
    q = "How should the tablets be stored?"
    ctx = ("The tablets must be stored below 25 °C.",)
    (with_pronoun,) = judge.score(
        Sample(q, "Store them below 25 °C, away from light.", ctx), ("answer_relevancy",)
    )
    (echo,) = judge.score(
        Sample(q, "How the tablets are stored is an important question.", ctx),
        ("answer_relevancy",),
    )
    assert with_pronoun.value is not None
    assert with_pronoun.value >= 0.5
    assert echo.value is not None
    assert echo.value < 0.5


def test_worst_case_rationale_names_the_new_rules() -> None:
    judge = OfflineJudge()
    (faith,) = judge.score(
        Sample(
            "Which way does replication run?",
            "Bergen replicates to Oslo every 10 minutes.",
            (SITES,),
        ),
        ("faithfulness",),
    )
    assert faith.value == 0.0
    assert faith.rationale is not None
    assert "(role-swap: 'bergen' to 'oslo'" in faith.rationale


@pytest.mark.parametrize(
    "text",
    [
        "The context doesn't mention it.",
        "The provided passages don't say what the dose for children is.",
        "I can't say from the documents provided.",
        "That is not stated in the provided context.",
        "The sources provided make no mention of refunds.",
        "Nothing in the context covers this.",
    ],
)
def test_more_abstention_phrasings_make_no_claim(text: str) -> None:
    assert is_abstention(text)


@pytest.mark.parametrize("text", ["The pump does not start dry.", "Nothing is mentioned twice."])
def test_a_negated_statement_is_not_an_abstention(text: str) -> None:
    assert not is_abstention(text)
