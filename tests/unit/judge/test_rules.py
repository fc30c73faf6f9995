"""Each faithfulness rule must fire on the error it targets and stay silent on its rewording."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.judge import OfflineJudge, Sample, Score
from pytest_ragops.judge.claims import analyse, check_claim, windows_of
from pytest_ragops.judge.lexicon import PHRASES
from pytest_ragops.judge.text import is_abstention, is_referral, split_claims, tokenize

if TYPE_CHECKING:
    from collections.abc import Callable

NEUTRAL_Q = "What does the context say?"

FERRY = (
    "The ferry to Lindholm leaves every 40 minutes. A return ticket costs 12 euros and is "
    "valid for 3 weeks."
)
TRAIL = (
    "The trail is 4 km long and climbs 350 m. Carry at least 2 l of water per person. The "
    "pack weighs 1.5 kg when full."
)
STAMP = "A stamp for a postcard costs 35 cents."
DOUGH = "Let the dough rest for 30 minutes before baking. The oven is serviced every 2 years."
KENNEL = (
    "The small kennel holds 4 dogs and the large kennel holds 9 dogs. Each run is cleaned "
    "twice a day."
)
PLANTS = "Seedlings need watering every 2 days, while mature plants need watering every 7 days."
BLENDER = "The Zephyr 300 blender comes with a glass jug. It has three speed settings."
LIBRARY = (
    "Library members may borrow up to eight books at a time. Loans last three weeks and can "
    "be renewed online."
)
MINIBAR = "All rooms have a minibar except the garden suites."
REFUNDS = "Refunds are issued unless the seal on the package is broken."
REPTILES = "Tenants must not keep reptiles in the flat."
POLICY = (
    "Water damage from burst pipes is covered by the policy. Flood damage from rivers is excluded."
)
CHECK_IN = "Check-in for long-haul flights closes earlier than for short-haul flights."
TICKETS = "Neither cash nor cheques are accepted at the ticket machines."
LAB = "Visitors cannot enter the laboratory without a signed safety briefing."
LAB_REQUIRES = "Entering the laboratory requires a signed safety briefing."
LAB_ONLY = "Only visitors with a signed safety briefing may enter the laboratory."
TRAM = "Folding bikes may travel on the tram without a seat reservation when they are folded."
TRAM_AS_LONG = (
    "Folding bikes may travel on the tram without a reservation as long as they are folded."
)
SURGERY = "Give the usual morning tablets with a sip of water before surgery."
EGGS = "Do not eat raw eggs during pregnancy."
TYRES = "Checking tyre pressure is a weekly task for every cyclist."
FLOORS = (
    "Oak floors should be oiled every spring, pine floors need a coat of varnish every "
    "autumn, and cork floors should be sealed every summer."
)
NAPPIES = "Nappies go in the rubbish, not the recycling bin."
ROAMING = "Roaming in Europe is included only with Premier. The Plus plan costs 20 euros a month."
SCHOLARSHIP = "The scholarship is open to students at a state university in their final year."
PARROTS = "Never feed chocolate to parrots."
HANDOVER = "The night nurse hands the patient chart over to the day nurse at seven."
DEPOSIT = "The tenant pays the deposit to the landlord before moving in."
SQUAD = "The coach assesses the goalkeeper and the captain picks the team."
WHEELS = "Tighten the wheel nuts with a torque wrench rather than an impact driver."
BOOSTER = "Booster seats are required for children under 135 cm travelling in taxis."
GATE = "The east gate opens at dawn on weekdays."
DISCOUNT = "The discount applies to the annual pass. The monthly pass is sold at full price."
MUSEUM = "The museum is open on Sundays in summer."
PARKING = "Staff may not park in the south car park on weekends."
LIFEGUARD = "The lifeguard checks the pool chlorine level at opening time."
CARDS = "Replacement library cards are free for children."
EVENING = "There is no charge for parking after 6 pm."


def rule(claim: str, context: str, question: str = NEUTRAL_Q) -> str | None:
    """The first rule ``claim`` fails against ``context`` (``None``: supported)."""
    verdict = check_claim(analyse(claim), windows_of(context, 3), analyse(question), 0.5)
    return verdict.rule


def faithfulness(answer: str, contexts: tuple[str, ...], question: str = NEUTRAL_Q) -> Score:
    (score,) = OfflineJudge().score(Sample(question, answer, contexts), ("faithfulness",))
    return score


# -- each rule fires on its error, and names itself in the rationale -------------------

CAUGHT = [
    # number: a changed number, also after unit conversion
    pytest.param(
        "The ferry to Lindholm leaves every 45 minutes.", FERRY, NEUTRAL_Q, "number", id="number"
    ),
    pytest.param("The trail is 400 m long.", TRAIL, NEUTRAL_Q, "number", id="number-km-m"),
    pytest.param("The pack weighs 150 g when full.", TRAIL, NEUTRAL_Q, "number", id="number-kg-g"),
    pytest.param(
        "Carry at least 200 ml of water per person.", TRAIL, NEUTRAL_Q, "number", id="number-l-ml"
    ),
    pytest.param(
        "A stamp for a postcard costs $0.53.", STAMP, NEUTRAL_Q, "number", id="number-cents"
    ),
    pytest.param(
        "A return ticket is valid for 20 days.", FERRY, NEUTRAL_Q, "number", id="number-weeks-days"
    ),
    pytest.param(
        "Let the dough rest for a quarter of an hour before baking.",
        DOUGH,
        NEUTRAL_Q,
        "number",
        id="number-quarter-hour",
    ),
    pytest.param(
        "The oven is serviced every other month.",
        DOUGH,
        NEUTRAL_Q,
        "number",
        id="number-every-other-month",
    ),
    pytest.param(
        "A return ticket for 2 adults costs 12 euros.",
        FERRY,
        NEUTRAL_Q,
        "number",
        id="number-not-in-question",
    ),
    # number-binding: numbers swapped between the clauses of one sentence
    pytest.param(
        "The small kennel holds 9 dogs.", KENNEL, NEUTRAL_Q, "number-binding", id="binding-small"
    ),
    pytest.param(
        "The large kennel holds 4 dogs.", KENNEL, NEUTRAL_Q, "number-binding", id="binding-large"
    ),
    pytest.param(
        "Seedlings need watering every 7 days.",
        PLANTS,
        NEUTRAL_Q,
        "number-binding",
        id="binding-while",
    ),
    # rare-term: an invented product name or feature
    pytest.param(
        "The Zephyr 300 blender comes with a Tritan jug.",
        BLENDER,
        NEUTRAL_Q,
        "rare-term",
        id="rare-material",
    ),
    pytest.param(
        "The Zephyr 300 has a TurboPulse button.",
        BLENDER,
        NEUTRAL_Q,
        "rare-term",
        id="rare-feature",
    ),
    # coverage: an invented clause in common words
    pytest.param(
        "Members receive a birthday voucher for the cafe upstairs.",
        LIBRARY,
        NEUTRAL_Q,
        "coverage",
        id="coverage-invented",
    ),
    pytest.param(
        "Loans can be renewed by phone at weekends through the branch reception desk.",
        LIBRARY,
        NEUTRAL_Q,
        "coverage",
        id="coverage-invented-detail",
    ),
    # polarity: negation cues, antonyms, negating verbs
    pytest.param(
        "The garden suites have a minibar.", MINIBAR, NEUTRAL_Q, "polarity", id="polarity-except"
    ),
    pytest.param(
        "Refunds are issued when the seal on the package is broken.",
        REFUNDS,
        NEUTRAL_Q,
        "polarity",
        id="polarity-unless",
    ),
    pytest.param(
        "Tenants may keep reptiles in the flat.", REPTILES, NEUTRAL_Q, "polarity", id="polarity-not"
    ),
    pytest.param(
        "Water damage from burst pipes is excluded by the policy.",
        POLICY,
        NEUTRAL_Q,
        "polarity",
        id="antonym-covered-excluded",
    ),
    pytest.param(
        "Flood damage from rivers is covered.",
        POLICY,
        NEUTRAL_Q,
        "polarity",
        id="antonym-excluded-covered",
    ),
    pytest.param(
        "Check-in for long-haul flights closes later than for short-haul flights.",
        CHECK_IN,
        NEUTRAL_Q,
        "polarity",
        id="antonym-earlier-later",
    ),
    pytest.param(
        "The ticket machines accept cheques.",
        TICKETS,
        NEUTRAL_Q,
        "polarity",
        id="polarity-neither-nor",
    ),
    pytest.param(
        "Visitors can enter the laboratory without a signed safety briefing.",
        LAB,
        NEUTRAL_Q,
        "polarity",
        id="polarity-cannot-without",
    ),
    pytest.param(
        "Folding bikes need a seat reservation on the tram.",
        TRAM,
        NEUTRAL_Q,
        "polarity",
        id="polarity-without-object",
    ),
    pytest.param(
        "Skip the usual morning tablets before surgery.",
        SURGERY,
        NEUTRAL_Q,
        "polarity",
        id="negating-verb-skip",
    ),
    pytest.param(
        "You can eat raw eggs during pregnancy.",
        EGGS,
        NEUTRAL_Q,
        "polarity",
        id="polarity-do-not",
    ),
    # wrong-entity: one term (or a two-word phrase) in another's slot
    pytest.param(
        "Checking tyre pressure is a monthly task for every cyclist.",
        TYRES,
        NEUTRAL_Q,
        "wrong-entity",
        id="slot-both-neighbours",
    ),
    pytest.param(
        "Cork floors should be sealed every winter.",
        FLOORS,
        NEUTRAL_Q,
        "wrong-entity",
        id="slot-one-clause",
    ),
    pytest.param(
        "Nappies go in the brown bin, not the recycling bin.",
        NAPPIES,
        NEUTRAL_Q,
        "wrong-entity",
        id="slot-one-neighbour",
    ),
    pytest.param(
        "Roaming in Europe is included with the Plus plan.",
        ROAMING,
        NEUTRAL_Q,
        "wrong-entity",
        id="slot-entity-one-neighbour",
    ),
    pytest.param(
        "The scholarship is open to students at a state trade school in their final year.",
        SCHOLARSHIP,
        NEUTRAL_Q,
        "wrong-entity",
        id="phrase-substitution",
    ),
    # role-swap: two terms exchange places, or reverse around a directional word
    pytest.param(
        "The day nurse hands the patient chart over to the night nurse at seven.",
        HANDOVER,
        NEUTRAL_Q,
        "role-swap",
        id="order-swap",
    ),
    pytest.param(
        "The landlord pays the deposit to the tenant before moving in.",
        DEPOSIT,
        NEUTRAL_Q,
        "role-swap",
        id="order-swap-to",
    ),
    pytest.param(
        "The captain assesses the goalkeeper and the coach picks the team.",
        SQUAD,
        NEUTRAL_Q,
        "role-swap",
        id="order-swap-across-and",
    ),
    pytest.param(
        "Tighten the wheel nuts with an impact driver rather than a torque wrench.",
        WHEELS,
        NEUTRAL_Q,
        "role-swap",
        id="directional-rather-than",
    ),
    # overgeneral: a universal word the aligned sentence and the question lack
    pytest.param(
        "Booster seats are required for all children travelling in taxis.",
        BOOSTER,
        NEUTRAL_Q,
        "overgeneral",
        id="overgeneral-all",
    ),
    pytest.param(
        "The museum is open every Sunday.", MUSEUM, NEUTRAL_Q, "overgeneral", id="overgeneral-every"
    ),
    pytest.param(
        "The east gate always opens at dawn.",
        GATE,
        NEUTRAL_Q,
        "overgeneral",
        id="overgeneral-always",
    ),
    pytest.param(
        "The discount applies to both the annual pass and the monthly pass.",
        DISCOUNT,
        NEUTRAL_Q,
        "overgeneral",
        id="overgeneral-both",
    ),
    pytest.param(
        "Staff may not park in the south car park on all weekends.",
        PARKING,
        NEUTRAL_Q,
        "overgeneral",
        id="overgeneral-all-not-emphasis",
    ),
    # the phrase table makes "no charge" a price, so a negated "free" contradicts it
    pytest.param("Parking is not free after 6 pm.", EVENING, NEUTRAL_Q, "polarity", id="not-free"),
]


@pytest.mark.parametrize(("claim", "context", "question", "expected"), CAUGHT)
def test_rule_fires_on_its_error(claim: str, context: str, question: str, expected: str) -> None:
    assert rule(claim, context, question) == expected


#: The judge splits this claim at "and"; each clause alone repeats words of the context
#: (the documented miss: "a swap across clauses"), so only check_claim sees the swap.
SPLIT_BY_THE_JUDGE = frozenset(["order-swap-across-and"])


@pytest.mark.parametrize(
    ("claim", "context", "question", "expected"),
    [p for p in CAUGHT if p.id not in SPLIT_BY_THE_JUDGE],
)
def test_rationale_names_the_rule(claim: str, context: str, question: str, expected: str) -> None:
    score = faithfulness(claim, (context,), question)
    assert score.value == 0.0
    assert score.rationale is not None
    assert score.rationale.startswith(f"1 of 1 claims unsupported: {claim!r} ({expected}: ")


# -- ... and stays silent on the matching correct rewording ----------------------------

REWORDED = [
    pytest.param("Every 40 minutes a ferry leaves for Lindholm.", FERRY, NEUTRAL_Q, id="number"),
    pytest.param("The trail is 4000 m long.", TRAIL, NEUTRAL_Q, id="km-as-m"),
    pytest.param("The trail climbs 0.35 km.", TRAIL, NEUTRAL_Q, id="m-as-km"),
    pytest.param("The pack weighs 1500 grams when full.", TRAIL, NEUTRAL_Q, id="kg-as-g"),
    pytest.param("Carry at least 2000 ml of water per person.", TRAIL, NEUTRAL_Q, id="l-as-ml"),
    pytest.param("A stamp for a postcard costs $0.35.", STAMP, NEUTRAL_Q, id="cents-as-dollars"),
    pytest.param("A return ticket is valid for 21 days.", FERRY, NEUTRAL_Q, id="weeks-as-days"),
    pytest.param(
        "Let the dough rest for half an hour before baking.", DOUGH, NEUTRAL_Q, id="half-an-hour"
    ),
    pytest.param("The oven is serviced every other year.", DOUGH, NEUTRAL_Q, id="every-other-year"),
    pytest.param(
        "A return ticket for 2 adults costs 12 euros.",
        FERRY,
        "What does a return ticket for 2 adults cost?",
        id="number-from-question",
    ),
    pytest.param("The small kennel holds 4 dogs.", KENNEL, NEUTRAL_Q, id="binding-small"),
    pytest.param("The large kennel holds 9 dogs.", KENNEL, NEUTRAL_Q, id="binding-large"),
    pytest.param("Seedlings need watering every 2 days.", PLANTS, NEUTRAL_Q, id="binding-while"),
    pytest.param(
        "The Zephyr 300 blender comes with a glass jug.", BLENDER, NEUTRAL_Q, id="rare-in-context"
    ),
    pytest.param(
        "The Zephyr 300 has a TurboPulse button.",
        BLENDER,
        "Does the Zephyr 300 have a TurboPulse button?",
        id="rare-from-question",
    ),
    pytest.param("Loans can be renewed online.", LIBRARY, NEUTRAL_Q, id="coverage-short"),
    pytest.param("Members may borrow books.", LIBRARY, NEUTRAL_Q, id="coverage-short-2"),
    pytest.param("The garden suites have no minibar.", MINIBAR, NEUTRAL_Q, id="except"),
    pytest.param(
        "Refunds are not issued if the seal on the package is broken.",
        REFUNDS,
        NEUTRAL_Q,
        id="unless",
    ),
    pytest.param(
        "Tenants are not allowed to keep reptiles in the flat.", REPTILES, NEUTRAL_Q, id="not"
    ),
    pytest.param(
        "Burst pipe water damage is covered by the policy.", POLICY, NEUTRAL_Q, id="covered"
    ),
    pytest.param("Flood damage from rivers is excluded.", POLICY, NEUTRAL_Q, id="excluded"),
    pytest.param(
        "Check-in for long-haul flights closes earlier than for short-haul flights.",
        CHECK_IN,
        NEUTRAL_Q,
        id="earlier",
    ),
    pytest.param(
        "Cash is not accepted at the ticket machines.", TICKETS, NEUTRAL_Q, id="neither-nor"
    ),
    pytest.param(
        "Visitors need a signed safety briefing to enter the laboratory.",
        LAB,
        NEUTRAL_Q,
        id="cannot-without-as-needs",
    ),
    pytest.param(
        "Visitors can enter the laboratory only with a signed safety briefing.",
        LAB,
        NEUTRAL_Q,
        id="cannot-without-as-only-with",
    ),
    pytest.param(
        "Visitors cannot enter the laboratory without a signed safety briefing.",
        LAB_REQUIRES,
        NEUTRAL_Q,
        id="requires-as-cannot-without",
    ),
    pytest.param(
        "Visitors cannot enter the laboratory without a signed safety briefing.",
        LAB_ONLY,
        NEUTRAL_Q,
        id="only-with-as-cannot-without",
    ),
    pytest.param(
        "Folding bikes may travel on the tram when they are folded.",
        TRAM,
        NEUTRAL_Q,
        id="without-negates-its-object-only",
    ),
    pytest.param("Take the usual morning tablets before surgery.", SURGERY, NEUTRAL_Q, id="take"),
    pytest.param("Avoid raw eggs during pregnancy.", EGGS, NEUTRAL_Q, id="avoid-as-do-not"),
    pytest.param(
        "Every cyclist should check tyre pressure weekly.", TYRES, NEUTRAL_Q, id="slot-reworded"
    ),
    pytest.param(
        "Checking tyre pressure is an important task for every cyclist.",
        TYRES,
        NEUTRAL_Q,
        id="filler-is-no-entity",
    ),
    pytest.param(
        "Checking tyre pressure is a useful task for every cyclist.",
        TYRES,
        NEUTRAL_Q,
        id="filler-is-no-entity-2",
    ),
    pytest.param("Cork floors should be sealed in summer.", FLOORS, NEUTRAL_Q, id="one-clause"),
    pytest.param(
        "Nappies go in the rubbish, never in the recycling bin.",
        NAPPIES,
        NEUTRAL_Q,
        id="one-neighbour",
    ),
    pytest.param(
        "Roaming in Europe is only included with Premier.",
        ROAMING,
        NEUTRAL_Q,
        id="entity-one-neighbour",
    ),
    pytest.param(
        "Final-year students at a state university can get the scholarship.",
        SCHOLARSHIP,
        NEUTRAL_Q,
        id="phrase",
    ),
    pytest.param(
        "At seven the night nurse hands the patient chart over to the day nurse.",
        HANDOVER,
        NEUTRAL_Q,
        id="order",
    ),
    pytest.param(
        "The tenant gives the deposit to the landlord before moving in.",
        DEPOSIT,
        NEUTRAL_Q,
        id="order-to",
    ),
    pytest.param(
        "The captain picks the team and the coach assesses the goalkeeper.",
        SQUAD,
        NEUTRAL_Q,
        id="clauses-reordered",
    ),
    pytest.param(
        "Use a torque wrench instead of an impact driver to tighten the wheel nuts.",
        WHEELS,
        NEUTRAL_Q,
        id="directional",
    ),
    pytest.param(
        "Booster seats are required for children under 135 cm travelling in taxis.",
        BOOSTER,
        NEUTRAL_Q,
        id="qualified",
    ),
    pytest.param("In summer the museum opens each Sunday.", MUSEUM, NEUTRAL_Q, id="each"),
    pytest.param(
        "Staff may not park in the south car park at all on weekends.",
        PARKING,
        NEUTRAL_Q,
        id="at-all-is-emphasis",
    ),
    pytest.param(
        "The lifeguard always checks the pool chlorine level at opening time.",
        LIFEGUARD,
        "Does the lifeguard always check the chlorine level?",
        id="universal-from-question",
    ),
    pytest.param(
        "Replacement library cards are issued to children at no charge.",
        CARDS,
        NEUTRAL_Q,
        id="no-charge",
    ),
    pytest.param(
        "Children get replacement library cards free of charge.",
        CARDS,
        NEUTRAL_Q,
        id="free-of-charge",
    ),
    pytest.param(
        "A replacement library card costs nothing for children.",
        CARDS,
        NEUTRAL_Q,
        id="costs-nothing",
    ),
    pytest.param("Parking is free after 6 pm.", EVENING, NEUTRAL_Q, id="free-as-no-charge"),
]


@pytest.mark.parametrize(("claim", "context", "question"), REWORDED)
def test_correct_rewording_passes(claim: str, context: str, question: str) -> None:
    assert rule(claim, context, question) is None
    score = faithfulness(claim, (context,), question)
    assert score.value == 1.0
    assert score.rationale is not None
    assert score.rationale in ("all 1 claims supported", "all 2 claims supported")


# -- found by these tests: two fixed after the third round, two still open (xfail) ------


def test_an_hour_and_a_half_is_a_checked_number() -> None:
    # Once cut at " and ", the phrase lost its quantity (fixed after the third round).
    assert rule("Let the dough rest for an hour and a half before baking.", DOUGH) == "number"


@pytest.mark.xfail(
    strict=True,
    reason=(
        "'without' scopes its next two content terms, and 'as' is a stopword, so in "
        "'without a reservation as long as they are folded' the scope is {reservation, "
        "long}: the positive claim about 'as long as they are folded' reads as contradicted "
        "(the example in claims._scope's own comment)"
    ),
)
def test_without_does_not_negate_the_condition_after_its_object() -> None:
    assert (
        rule("Folding bikes may travel on the tram as long as they are folded.", TRAM_AS_LONG)
        is None
    )


@pytest.mark.xfail(
    strict=True,
    reason=(
        "slot substitution needs 3 shared terms to count as verbatim, so a short sentence "
        "('never give ibuprofen to cats' against 'never give paracetamol to cats', the "
        "docs' own example) passes coverage at 2 of 3 and no rule fires"
    ),
)
def test_a_substitution_in_a_short_sentence_is_a_wrong_entity() -> None:
    assert rule("Never feed avocado to parrots.", PARROTS) == "wrong-entity"


@pytest.mark.parametrize(
    ("claim", "context"),
    [
        pytest.param("Cheques are accepted at the ticket machines.", TICKETS, id="neither-nor"),
        pytest.param("Eat raw eggs during pregnancy.", EGGS, id="do-not"),
    ],
)
def test_a_quote_of_a_negated_sentence_without_its_negation_is_unsupported(
    claim: str, context: str
) -> None:
    # The quoted-claim shortcut once skipped every rule here (fixed after the third round).
    assert rule(claim, context) == "polarity"
    score = faithfulness(claim, (context,))
    assert score.value == 0.0


# -- numbers: the question and the window ----------------------------------------------


def test_equivalent_units_must_be_in_the_same_window() -> None:
    # "3 weeks" = "21 days", but only where the claim's own words are.
    contexts = (
        "A return ticket costs 12 euros and is valid for one month.",
        "A season pass is valid for 3 weeks.",
    )
    score = faithfulness("A return ticket is valid for 21 days.", contexts)
    assert score.value == 0.0
    assert score.rationale == (
        "1 of 1 claims unsupported: 'A return ticket is valid for 21 days.' "
        "(number: 21 is not in the context)"
    )


# -- abstentions and referrals ---------------------------------------------------------

QUESTION = "Can I bring my cat on the overnight coach?"
COACH = (
    "Passengers may bring one piece of hand luggage on the overnight coach. Assistance dogs "
    "travel free of charge.",
)


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param(
            "Pets on the coach isn't covered in the documents I was given.", id="isnt-covered"
        ),
        pytest.param("I can't recommend a carrier from these pages.", id="cant-recommend"),
        pytest.param("The timetable pages I have don't mention cats.", id="source-dont-mention"),
        pytest.param(
            "I couldn't find anything about cats in the booking terms.", id="couldnt-find"
        ),
        pytest.param("There is no information about pets in the passages.", id="no-information"),
        pytest.param("Nothing in the provided sections covers cats.", id="nothing-in"),
        pytest.param("Whether cats are allowed isn't specified.", id="isnt-specified"),
        pytest.param("I'm sorry, I'm not able to tell from these pages.", id="not-able-to"),
    ],
)
def test_an_abstention_makes_no_claim(answer: str) -> None:
    assert is_abstention(answer)
    score = faithfulness(answer, COACH, QUESTION)
    assert (score.value, score.rationale) == (1.0, "abstains: makes no claim")


REFERRALS = [
    pytest.param(
        "The coach company's customer service should be able to tell you.", id="able-to-tell"
    ),
    pytest.param("The booking office would be the best place to ask.", id="best-place"),
    pytest.param("I'd check with the coach operator before you travel.", id="check-with"),
    pytest.param("It would be best to ask the driver.", id="best-to-ask"),
]


@pytest.mark.parametrize("referral", REFERRALS)
def test_a_referral_after_an_abstention_makes_no_claim(referral: str) -> None:
    answer = f"The documents don't say. {referral}"
    assert split_claims(answer) == ["The documents don't say.", referral]
    score = faithfulness(answer, COACH, QUESTION)
    assert (score.value, score.rationale) == (1.0, "abstains: makes no claim")


@pytest.mark.parametrize("referral", REFERRALS)
def test_a_referral_without_an_abstention_is_a_claim(referral: str) -> None:
    assert is_referral(referral)
    assert not is_abstention(referral)
    score = faithfulness(referral, COACH, QUESTION)
    assert score.value == 0.0
    assert score.rationale is not None
    assert score.rationale.startswith(f"1 of 1 claims unsupported: {referral!r} (coverage: ")


# -- phrases -------------------------------------------------------------------------


#: A phrase the negated-comparison rule rewrites before the table: "not later than X"
#: reads as the upper bound "at most X", not as the table's "by X".
BOUND_FIRST = {"not later than": ["at", "most"]}


@pytest.mark.parametrize(("phrase", "replacement"), sorted(PHRASES.items()), ids=sorted(PHRASES))
def test_every_lexicon_phrase_is_applied(phrase: str, replacement: str) -> None:
    tokens = tokenize(f"Note: {phrase} here.")[1:-1]
    assert tokens != phrase.split() or tokens == tokenize(replacement)
    assert tokens == BOUND_FIRST.get(phrase, tokenize(replacement))


# -- the score and its rationale -------------------------------------------------------


def test_score_is_the_share_of_supported_claims_and_names_each_failure() -> None:
    answer = (
        "The small kennel holds 4 dogs. Each run is cleaned three times a day. "
        "The Barkley kennel holds 9 dogs. The large kennel holds 9 dogs."
    )
    score = faithfulness(answer, (KENNEL,))
    assert score.value == 0.5
    assert score.rationale == (
        "2 of 4 claims unsupported: 'Each run is cleaned three times a day.' "
        "(number: three is not in the context); 'The Barkley kennel holds 9 dogs.' "
        "(rare-term: 'barkley' is in neither context nor question)"
    )


_DUMP_TUNE = """
import json
from pytest_ragops.judge import OfflineJudge
from pytest_ragops.judge.labels import SHIPPED_TUNE, load_label_files
judge = OfflineJudge()
out = {}
for item in load_label_files(SHIPPED_TUNE):
    (score,) = judge.score(item.sample, ("faithfulness",))
    out[item.id] = [score.value, score.rationale]
print(json.dumps(out, sort_keys=True))
"""


def test_scores_and_rationales_do_not_depend_on_the_hash_seed(
    under_hash_seeds: Callable[[str, str], set[str]],
) -> None:
    # A rule once named the first rival of a set of term pairs: the rationale changed with
    # PYTHONHASHSEED. Every tune item, in three processes with three seeds, must agree.
    outputs = under_hash_seeds(_DUMP_TUNE, "")
    assert len(outputs) == 1
    assert len(json.loads(outputs.pop())) == 657
