from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

import pytest_ragops
from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.judge import (
    JUDGE_NAMES,
    QUALITY_METRICS,
    OfflineJudge,
    Sample,
    Score,
    SyncJudge,
    make_judge,
)

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "examples" / "golden.yaml"

BACKUPS = (
    "pg_basebackup makes a physical base backup of a running cluster over the replication "
    "protocol. Since PostgreSQL 10 it streams the WAL generated during the backup by default, "
    "so the backup is self-contained. The connecting role needs the REPLICATION attribute."
)
ARCHIVING = (
    "Point-in-time recovery combines a base backup with continuous WAL archiving. Archiving is "
    "enabled by setting archive_mode = on and an archive_command. Global objects such as roles "
    "and tablespaces are not included in pg_dump output."
)
POOLING = (
    "PgBouncer is a lightweight connection pooler. In transaction pooling mode a server "
    "connection is returned to the pool when the transaction ends, so prepared statements "
    "need care. The default listen port of PgBouncer is 6432."
)
CONTEXTS = (BACKUPS, ARCHIVING, POOLING)

GROUNDED = (
    "pg_basebackup takes a physical base backup of a running cluster over the replication "
    "protocol. Since PostgreSQL 10 it streams the WAL generated during the backup by default."
)
HALLUCINATED = (
    "Oracle RMAN copies every tablespace to tape libraries each night. "
    "MongoDB Atlas snapshots are encrypted with 4096-bit keys by default."
)


def score(sample: Sample, metric: str, judge: OfflineJudge | None = None) -> Score:
    (result,) = (judge or OfflineJudge()).score(sample, (metric,))
    return result


def value(sample: Sample, metric: str) -> float:
    result = score(sample, metric)
    assert result.error is None, result.error
    assert result.value is not None
    return result.value


def sample(answer: str, **kw: Any) -> Sample:
    kw.setdefault("question", "How does pg_basebackup take a base backup?")
    kw.setdefault("contexts", CONTEXTS)
    return Sample(answer=answer, **kw)


# -- faithfulness -----------------------------------------------------------------


def test_faithfulness_fully_supported_answer_is_one() -> None:
    assert value(sample(GROUNDED), "faithfulness") == 1.0


def test_faithfulness_half_hallucinated_is_half() -> None:
    answer = GROUNDED + " " + HALLUCINATED
    assert value(sample(answer), "faithfulness") == pytest.approx(0.5)


def test_faithfulness_fully_hallucinated_is_zero() -> None:
    assert value(sample(HALLUCINATED), "faithfulness") == 0.0


def test_faithfulness_paraphrase_with_inflections_is_supported() -> None:
    answer = "Base backups of running clusters are taken by pg_basebackup via replication."
    assert value(sample(answer), "faithfulness") == 1.0


@pytest.mark.parametrize(
    ("version", "expected"), [("10", 1.0), ("11", 0.0), ("10.1", 0.0), ("1", 0.0)]
)
def test_faithfulness_numbers_must_match_exactly(version: str, expected: float) -> None:
    answer = f"Since PostgreSQL {version} pg_basebackup streams the WAL during the backup."
    assert value(sample(answer), "faithfulness") == expected


def test_faithfulness_number_from_another_context_does_not_count() -> None:
    # 6432 occurs, but in the pooling context; the claim's words are in the backup one.
    answer = "Since PostgreSQL 6432 pg_basebackup streams the WAL during the backup."
    assert value(sample(answer), "faithfulness") == 0.0


def test_faithfulness_negated_claim_needs_a_negated_context() -> None:
    assert value(sample("Roles are not included in pg_dump output."), "faithfulness") == 1.0
    assert value(sample("PgBouncer never uses transaction pooling."), "faithfulness") == 0.0


def test_faithfulness_without_counts_as_a_negation() -> None:
    context = "CREATE INDEX CONCURRENTLY builds the index without blocking inserts or updates."
    answer = "CREATE INDEX CONCURRENTLY does not block inserts or updates."
    assert value(sample(answer, contexts=(context,)), "faithfulness") == 1.0


def test_faithfulness_claim_must_come_from_one_window() -> None:
    # Each half of the claim is in one sentence; they are 3 sentences (one window) apart
    # in one context and 12 apart in the other.
    head = "The autovacuum launcher of PostgreSQL wakes up."
    tail = "It checks bloated tables."
    filler = " ".join(f"Filler sentence number {i} talks about nothing." for i in range(10))
    answer = "The autovacuum launcher of PostgreSQL checks bloated tables."
    far = sample(answer, contexts=(f"{head} {filler} {tail}",))
    near = sample(answer, contexts=(f"{head} Filler one. {tail}",))
    # Half the claim's terms are in each part: above the default support of 0.5, so the
    # window rule is shown at support 0.6.
    strict = OfflineJudge(support=0.6)
    assert score(far, "faithfulness", strict).value == 0.0
    assert score(near, "faithfulness", strict).value == 1.0
    assert score(far, "faithfulness", OfflineJudge(support=0.6, window=12)).value == 1.0


def test_faithfulness_without_contexts_supports_nothing() -> None:
    assert value(sample(GROUNDED, contexts=()), "faithfulness") == 0.0


@pytest.mark.parametrize("answer", ["", "   \n"])
def test_empty_answer_has_no_score(answer: str) -> None:
    for metric in ("faithfulness", "answer_relevancy"):
        result = score(sample(answer), metric)
        assert result == Score(metric, None, result.judge, "answer is empty")


def test_answer_without_checkable_claim_has_no_faithfulness() -> None:
    result = score(sample("Yes."), "faithfulness")
    assert result.value is None
    assert result.error is not None
    assert result.error.startswith("answer has no checkable claim")


def test_abstention_is_faithful_but_irrelevant() -> None:
    abstention = sample("I don't know. The provided context does not mention it.")
    assert value(abstention, "faithfulness") == 1.0
    assert value(abstention, "answer_relevancy") == 0.0


def test_abstention_does_not_hide_a_hallucination() -> None:
    answer = sample(
        "I'm not sure, but PgBouncer listens on port 7777 by default.",
        question="Which port does PgBouncer listen on?",
    )
    assert value(answer, "faithfulness") == 0.0
    assert value(answer, "answer_relevancy") > 0.0


# -- answer relevancy -------------------------------------------------------------


def test_answer_relevancy_prefers_on_topic_answers() -> None:
    on_topic = value(sample(GROUNDED), "answer_relevancy")
    off_topic = value(sample("PgBouncer listens on port 6432 by default."), "answer_relevancy")
    assert on_topic > 0.6
    assert off_topic < 0.5  # below the documented verdict threshold


def test_answer_relevancy_matches_terms_inside_identifiers() -> None:
    q = "Which tool takes a base backup?"
    assert value(sample("Use pg_basebackup.", question=q), "answer_relevancy") > 0.5
    # An unrelated tool, with no context pointing at it, does not answer the question.
    elsewhere = sample("Use pg_dump.", question=q, contexts=(POOLING,))
    assert value(elsewhere, "answer_relevancy") == 0.0


def test_answer_relevancy_penalises_padding() -> None:
    q = "What is the default port of PgBouncer?"
    short = value(sample("PgBouncer's default port is 6432.", question=q), "answer_relevancy")
    padded = value(
        sample(f"PgBouncer's default port is 6432. {GROUNDED}", question=q), "answer_relevancy"
    )
    assert 0.0 < padded < short <= 1.0


def test_answer_relevancy_needs_question_content() -> None:
    result = score(sample(GROUNDED, question="What is it?"), "answer_relevancy")
    assert (result.value, result.error) == (None, "question has no content words")


# -- context precision ------------------------------------------------------------

REFERENCE = "pg_basebackup takes a physical base backup of a running cluster."


@pytest.mark.parametrize(
    ("contexts", "expected"),
    [
        pytest.param((BACKUPS, POOLING, ARCHIVING), 1.0, id="relevant-first"),
        pytest.param((POOLING, BACKUPS), 0.5, id="relevant-second"),
        pytest.param((POOLING, ARCHIVING, BACKUPS), 1 / 3, id="relevant-third"),
        pytest.param((POOLING, ARCHIVING), 0.0, id="none-relevant"),
        pytest.param((), 0.0, id="nothing-retrieved"),
    ],
)
def test_context_precision_is_rank_aware(contexts: tuple[str, ...], expected: float) -> None:
    s = sample(GROUNDED, contexts=contexts, reference=REFERENCE)
    assert value(s, "context_precision") == pytest.approx(expected)


def test_context_precision_averages_precision_at_relevant_ranks() -> None:
    s = sample(
        GROUNDED,
        contexts=(BACKUPS, POOLING, ARCHIVING),
        reference="pg_basebackup takes a physical base backup. Archiving needs archive_mode = on.",
    )
    assert value(s, "context_precision") == pytest.approx((1 + 2 / 3) / 2)


def test_context_precision_from_reference_contexts_only() -> None:
    # A retrieved chunk of the reference passage counts as that passage.
    chunk = "Archiving is enabled by setting archive_mode = on and an archive_command."
    s = sample(GROUNDED, contexts=(POOLING, chunk), reference_contexts=(ARCHIVING,))
    assert value(s, "context_precision") == 0.5
    assert score(s, "context_precision").judge == "offline:ranked-overlap"


@pytest.mark.parametrize("metric", ["context_precision", "context_recall"])
@pytest.mark.parametrize("reference", [None, "", "  "])
def test_context_metrics_need_a_reference(metric: str, reference: str | None) -> None:
    result = score(sample(GROUNDED, reference=reference), metric)
    assert (result.value, result.error) == (None, "needs a reference or reference_contexts")


@pytest.mark.parametrize("metric", ["context_precision", "context_recall"])
def test_context_metrics_with_an_uncheckable_reference(metric: str) -> None:
    result = score(sample(GROUNDED, reference="Yes."), metric)
    assert (result.value, result.error) == (None, "reference has no checkable claim")


# -- context recall ---------------------------------------------------------------


def test_context_recall_share_of_reference_claims_found() -> None:
    reference = (
        "pg_basebackup takes a physical base backup of a running cluster. "
        "Barman keeps 14 daily backups on a tape robot."
    )
    assert value(sample(GROUNDED, reference=reference), "context_recall") == 0.5
    only_pooling = sample(GROUNDED, reference=reference, contexts=(POOLING,))
    assert value(only_pooling, "context_recall") == 0.0


def test_context_recall_from_reference_contexts() -> None:
    s = sample(GROUNDED, contexts=(BACKUPS, POOLING), reference_contexts=(BACKUPS, ARCHIVING))
    result = score(s, "context_recall")
    assert (result.value, result.judge) == (0.5, "offline:context-overlap")


def test_context_recall_prefers_the_reference_answer() -> None:
    s = sample(GROUNDED, reference=REFERENCE, reference_contexts=(ARCHIVING,))
    result = score(s, "context_recall")
    assert (result.value, result.judge) == (1.0, "offline:claim-overlap")


# -- the judge as a whole ---------------------------------------------------------


def test_scores_follow_requested_order_with_labels() -> None:
    metrics = ("context_recall", "faithfulness", "answer_relevancy", "context_precision")
    results = OfflineJudge().score(sample(GROUNDED, reference=REFERENCE), metrics)
    assert [r.metric for r in results] == list(metrics)
    assert [r.judge for r in results] == [
        "offline:claim-overlap",
        "offline:claim-rules",
        "offline:question-coverage",
        "offline:ranked-overlap",
    ]
    assert all(r.value is not None and 0.0 <= r.value <= 1.0 for r in results)


def test_default_metrics_are_all_quality_metrics() -> None:
    results = OfflineJudge().score(sample(GROUNDED, reference=REFERENCE))
    assert tuple(r.metric for r in results) == QUALITY_METRICS


def test_unknown_metric_is_a_usage_error() -> None:
    with pytest.raises(RagopsUsageError) as info:
        OfflineJudge().score(sample(GROUNDED), ("faithfulness", "faithfullness"))
    assert str(info.value) == (
        "unknown metric 'faithfullness'; the offline judge scores "
        "faithfulness, answer_relevancy, context_precision, context_recall"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"support": 0.0}, "support must be in (0, 1], got 0.0"),
        ({"match": 1.5}, "match must be in (0, 1], got 1.5"),
        ({"window": 0}, "window must be at least 1 sentence, got 0"),
    ],
)
def test_bad_settings_are_usage_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(RagopsUsageError, match=re.escape(message)):
        OfflineJudge(**kwargs)


def test_support_threshold_is_configurable() -> None:
    # 2 of the claim's 4 content terms occur in the context: 0.5 coverage.
    s = sample("pg_basebackup needs special tickets.", contexts=("pg_basebackup needs it.",))
    assert score(s, "faithfulness").value == 1.0  # default support 0.5
    assert score(s, "faithfulness", OfflineJudge(support=0.75)).value == 0.0


def _all_scores(judge: OfflineJudge, samples: list[Sample]) -> list[list[Score]]:
    return [judge.score(s) for s in samples]


def _mixed_samples() -> list[Sample]:
    answers = (GROUNDED, HALLUCINATED, GROUNDED + " " + HALLUCINATED, "I don't know.", "")
    return [sample(a, reference=REFERENCE, reference_contexts=(BACKUPS,)) for a in answers]


def test_deterministic_across_instances_and_threads() -> None:
    samples = _mixed_samples() * 20
    first = _all_scores(OfflineJudge(), samples)
    assert _all_scores(OfflineJudge(), samples) == first
    shared = OfflineJudge()
    with ThreadPoolExecutor(max_workers=4) as pool:
        threaded = list(pool.map(shared.score, samples))
    assert threaded == first


_SUBPROCESS_SCRIPT = """
import json, sys
from pytest_ragops.judge import OfflineJudge, Sample
rows = json.load(sys.stdin)
judge = OfflineJudge()
out = [[s.value for s in judge.score(Sample(**r))] for r in rows]
print(json.dumps(out))
"""


def test_deterministic_across_hash_seeds() -> None:
    rows = [
        {
            "question": s.question,
            "answer": s.answer,
            "contexts": list(s.contexts),
            "reference": s.reference,
            "reference_contexts": list(s.reference_contexts),
        }
        for s in _mixed_samples()
    ]
    package_root = str(Path(pytest_ragops.__file__).resolve().parents[1])
    outputs = set()
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": package_root}
        proc = subprocess.run(
            [sys.executable, "-c", _SUBPROCESS_SCRIPT],
            input=json.dumps(rows),
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=True,
        )
        outputs.add(proc.stdout)
    assert len(outputs) == 1
    assert json.loads(outputs.pop())[0][0] == 1.0


# -- make_judge -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["auto", "offline"])
def test_make_judge_offline(name: str) -> None:
    judge = make_judge(name)
    assert isinstance(judge, OfflineJudge)
    assert isinstance(judge, SyncJudge)
    assert judge.name == "offline"


@pytest.mark.parametrize("name", ["anthropic-ish", "", "OFFLINE"])
def test_make_judge_unknown_name(name: str) -> None:
    with pytest.raises(RagopsUsageError) as info:
        make_judge(name)
    choices = ", ".join(JUDGE_NAMES)
    assert str(info.value) == f"--ragops-judge: unknown judge {name!r}; choose from {choices}"
    assert JUDGE_NAMES[:2] == ("auto", "offline")


# -- the example golden set -------------------------------------------------------

_FABRICATIONS = (
    "Oracle RMAN copies every tablespace to 37 tape libraries each night.",
    "MongoDB Atlas encrypts snapshots with 8191-bit keys by default.",
    "The Cassandra compaction daemon deletes dead rows every 913 milliseconds.",
)


def _load_golden() -> list[dict[str, Any]]:
    if not GOLDEN.is_file():
        pytest.skip(f"{GOLDEN.relative_to(ROOT)} does not exist yet")
    data = yaml.safe_load(GOLDEN.read_text(encoding="utf-8"))
    cases = data.get("cases", data) if isinstance(data, dict) else data
    assert isinstance(cases, list)
    assert cases, "golden set is empty"
    return cases


def _passages(case: dict[str, Any]) -> tuple[str, ...]:
    """The case's reference contexts; an entry naming a corpus file stands for its text."""
    out = []
    for entry in case.get("reference_contexts") or ():
        path = GOLDEN.parent / str(entry)
        if str(entry).endswith(".md") and path.is_file():
            out.append(path.read_text(encoding="utf-8"))
        else:
            out.append(str(entry))
    return tuple(out)


def test_golden_grounded_answers_beat_hallucinated_ones() -> None:
    grounded: list[float] = []
    hallucinated: list[float] = []
    judge = OfflineJudge()
    for case in _load_golden():
        contexts = _passages(case)
        assert contexts, f"case {case['id']}: no reference_contexts"
        good = Sample(case["question"], case["reference"], contexts)
        bad = Sample(case["question"], " ".join(_FABRICATIONS), contexts)
        (good_score,) = judge.score(good, ("faithfulness",))
        (bad_score,) = judge.score(bad, ("faithfulness",))
        assert good_score.value is not None, (case["id"], good_score.error)
        assert bad_score.value is not None, (case["id"], bad_score.error)
        assert good_score.value > bad_score.value, case["id"]
        grounded.append(good_score.value)
        hallucinated.append(bad_score.value)
    assert statistics.mean(grounded) >= 0.8
    assert statistics.mean(hallucinated) <= 0.1


def test_golden_wrong_numbers_lower_faithfulness() -> None:
    judge = OfflineJudge()
    checked = 0
    for case in _load_golden():
        reference = str(case["reference"])
        if not re.search(r"\d", reference):
            continue
        # Every number shifted: same words, wrong facts.
        wrong = re.sub(r"\d+", lambda m: str(int(m.group()) * 10 + 7), reference)
        contexts = _passages(case)
        (good,) = judge.score(Sample(case["question"], reference, contexts), ("faithfulness",))
        (bad,) = judge.score(Sample(case["question"], wrong, contexts), ("faithfulness",))
        assert good.value is not None
        assert bad.value is not None
        assert bad.value < good.value, case["id"]
        checked += 1
    if not checked:
        pytest.skip("no golden reference contains a number")
