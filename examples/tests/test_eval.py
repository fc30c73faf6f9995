"""Eval tests of the example app: run with ``pytest --ragops-eval`` from examples/.

Without ``--ragops-eval`` pytest-ragops skips them. Suite gates live in
``[tool.ragops.thresholds]`` of examples/pyproject.toml; the test below with
``ragops_threshold`` adds a gate on its own records only.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from ragapp.app import answer

from pytest_ragops import load_cases

if TYPE_CHECKING:
    from pytest_ragops.cases import Case
    from pytest_ragops.runner import Ragops

pytestmark = pytest.mark.ragops_eval

#: ``$RAGAPP_GOLDEN`` points the suite at another golden set (the MLflow tests use a subset).
GOLDEN = Path(
    os.environ.get("RAGAPP_GOLDEN") or Path(__file__).resolve().parent.parent / "golden.yaml"
)
VARIANTS = ["baseline", "concise", "wide_context"]


def pipeline(case: Case, variant: str) -> dict[str, Any]:
    """The app as ragops sees it: one golden case in, the answer dict out."""
    return answer(case, variant)


@pytest.fixture(scope="module")
def cases() -> list[Case]:
    return load_cases(GOLDEN)


def test_prompt_variants(ragops: Ragops, cases: list[Case]) -> None:
    """Every variant answers every case; the variants differ on faithfulness and cost.

    concise and wide_context invite "practical tips" the notes do not support, so the
    grounded baseline is the most faithful; cost follows the context each one sends.
    This is the MLflow lab's data: ``ragops compare`` must find the same winner.
    """
    result = ragops.evaluate(pipeline, cases, variants=VARIANTS)
    assert result.errors == []
    assert len(result.records) == len(cases) * len(VARIANTS)
    assert sorted(result.variants) == sorted(VARIANTS)
    faith = {}
    cost = {}
    for name, metrics in result.variants.items():
        assert metrics["context_recall_mean"] is not None, name
        f, c = metrics["faithfulness_mean"], metrics["cost_per_query_usd"]
        assert f is not None, name
        assert c is not None, name
        faith[name], cost[name] = f, c
    assert faith["baseline"] >= 0.9
    assert faith["baseline"] > faith["wide_context"] > faith["concise"]
    assert cost["concise"] < cost["baseline"] < cost["wide_context"]
    assert result.best_variant("faithfulness_mean") == "baseline"
    # wide_context retrieves a superset of concise's passages (top 6 vs the top 1).
    wide = result.variants["wide_context"]["context_recall_mean"]
    narrow = result.variants["concise"]["context_recall_mean"]
    assert wide is not None
    assert narrow is not None
    assert wide >= narrow
    assert result.metrics["faithfulness_mean"] is not None


@pytest.mark.ragops_threshold(faithfulness=0.9, context_recall=0.9, answer_relevancy=0.6)
def test_baseline_meets_its_own_gate(ragops: Ragops, cases: list[Case]) -> None:
    """The shipped default variant, gated on its own records."""
    result = ragops.evaluate(pipeline, cases, variants=["baseline"])
    assert result.errors == []
    assert set(result.variants) == {"baseline"}


def test_record_one_answer(ragops: Ragops, cases: list[Case]) -> None:
    """Score a single answer by hand, as an app's own test would."""
    case = next(c for c in cases if c.id == "checkpoint-triggers")
    start = time.perf_counter()
    out = answer(case, "baseline")
    latency = time.perf_counter() - start
    scores = ragops.record(
        case.question,
        out["answer"],
        out["contexts"],
        reference=case.reference,
        case_id=case.id,
        variant="baseline",
        cost_usd=out["cost_usd"],
        usage=out["usage"],
        model=out["model"],
        latency_s=latency,
        reference_contexts=case.reference_contexts,
    )
    assert "checkpoint_timeout" in out["answer"]
    assert scores["faithfulness"] is not None
    assert scores["faithfulness"] >= 0.8
