"""answer_relevancy must pass real answers, fail echoes and abstentions, and be deterministic."""

from __future__ import annotations

import itertools
import json
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.judge import OfflineJudge, Sample
from pytest_ragops.judge.relevancy import relevancy

if TYPE_CHECKING:
    from collections.abc import Callable

#: The documented answer_relevancy verdict threshold.
THRESHOLD = 0.35

QUESTION = "How often should the shower pump be descaled?"
CONTEXTS = (
    "The Aqualine shower pump must be bled before first use. To bleed it, open the purge "
    "screw until water runs clear. The pump should be descaled every six months in hard "
    "water areas. Descaling takes about 20 minutes with the supplied solution.",
    "The pump has a two-year warranty. The warranty does not cover damage from frost. "
    "Registration is done online.",
)
ANSWER = "Descale it every six months if you live in a hard water area."


def value(answer: str, contexts: tuple[str, ...] = CONTEXTS, question: str = QUESTION) -> float:
    (score,) = OfflineJudge().score(Sample(question, answer, contexts), ("answer_relevancy",))
    assert score.error is None, score.error
    assert score.value is not None
    return score.value


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(ANSWER, id="grounded"),
        pytest.param(
            "The shower pump should be descaled twice a year in hard water areas.",
            id="reworded-number",
        ),
    ],
)
def test_an_answer_that_covers_the_question_scores_high(answer: str) -> None:
    assert value(answer) == 1.0 > THRESHOLD


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        pytest.param(
            "How often the shower pump should be descaled is an important question. "
            "The warranty does not cover frost damage.",
            0.0,
            id="echo-then-other-fact",
        ),
        pytest.param(
            "How often to descale the shower pump is a common question. "
            "Registration of the pump is done online.",
            0.17533879358681528,
            id="echo-then-subject-only",
        ),
    ],
)
def test_an_echo_that_states_something_else_scores_low(answer: str, expected: float) -> None:
    score = value(answer)
    assert score == pytest.approx(expected, abs=1e-12)
    assert score < THRESHOLD


def test_the_echo_itself_counts_for_nothing() -> None:
    # Without the echo skipped, the first sentence alone would cover the whole question.
    assert value("How often the shower pump should be descaled is an important question.") == 0.0


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param("I don't know.", id="dont-know"),
        pytest.param("The documents don't say how often to descale it.", id="documents-dont-say"),
        pytest.param(
            "I'm not sure. The manufacturer should be able to tell you.", id="with-referral"
        ),
    ],
)
def test_a_pure_abstention_scores_zero(answer: str) -> None:
    assert value(answer) == 0.0


def test_an_abstention_plus_a_claim_is_halved() -> None:
    claim = "descale it every six months in hard water areas."
    full = value(claim.capitalize())
    assert full == 1.0
    assert value(f"I'm not sure, but {claim}") == full * 0.5


def test_relevancy_is_zero_without_claims_and_none_without_question_terms() -> None:
    assert relevancy(QUESTION, [], CONTEXTS) == 0.0
    assert relevancy("What is it?", [ANSWER], CONTEXTS) is None


# -- determinism ---------------------------------------------------------------------

PADDED = (
    "The shower pump should be descaled every six months in hard water areas. "
    "Registration is done online. The pump has a two-year warranty."
)


def test_the_same_sample_scores_the_same_twice() -> None:
    first = value(PADDED)
    assert value(PADDED) == first
    assert OfflineJudge().score(Sample(QUESTION, PADDED, CONTEXTS)) == OfflineJudge().score(
        Sample(QUESTION, PADDED, CONTEXTS)
    )


def test_order_of_contexts_and_claims_does_not_change_the_score() -> None:
    claims = [
        "The shower pump should be descaled every six months in hard water areas.",
        "Registration is done online.",
        "The pump has a two-year warranty.",
    ]
    expected = relevancy(QUESTION, claims, CONTEXTS)
    assert expected is not None
    assert 0.0 < expected < 1.0  # the padding costs something: not a trivial 0 or 1
    results = {
        relevancy(QUESTION, list(order), contexts)
        for order in itertools.permutations(claims)
        for contexts in (CONTEXTS, CONTEXTS[::-1])
    }
    assert results == {expected}


_SCRIPT = """
import json, sys
from pytest_ragops.judge.relevancy import relevancy
question, claims, contexts = json.load(sys.stdin)
print(repr(relevancy(question, claims, tuple(contexts))))
"""


def test_the_score_does_not_depend_on_the_hash_seed(
    under_hash_seeds: Callable[[str, str], set[str]],
) -> None:
    # Term sets are frozensets whose order follows the hash seed; sums are exact (fsum).
    payload = json.dumps([QUESTION, [PADDED], list(CONTEXTS)])
    outputs = under_hash_seeds(_SCRIPT, payload)
    assert outputs == {repr(relevancy(QUESTION, [PADDED], CONTEXTS))}
