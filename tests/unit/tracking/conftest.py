"""A migrated SQLite MLflow store per test, copied from one template migrated per session.

A fresh store costs several seconds of migrations; copying a migrated file costs nothing.
"""

from __future__ import annotations

import os
import shutil
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.report.model import build_report
from pytest_ragops.results import Record, ScoreDict

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


@pytest.fixture(scope="session")
def migrated_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite file with MLflow's schema, migrated once per session (per xdist worker)."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from mlflow import MlflowClient

    path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
    MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def store_uri(migrated_db: Path, tmp_path: Path) -> str:
    """The tracking URI of this test's own migrated store, at the project's default place."""
    db = tmp_path / ".ragops" / "mlflow.db"
    db.parent.mkdir(parents=True)
    shutil.copyfile(migrated_db, db)
    return f"sqlite:///{db.resolve()}"


PROMPT = """name: {name}
description: A test variant.
params:
  top_k: 2
system: Answer from the context only.
template: |
  {{context}}

  Question: {{question}}
"""


def make_report(
    faith: dict[str, list[float | None]], cost: dict[str, float | None] | None = None,
    tag: str = "",
) -> dict[str, Any]:  # fmt: skip
    """A report with one record per (variant, case): faithfulness given, relevancy 0.5."""
    records = []
    for variant, values in faith.items():
        for i, value in enumerate(values):
            records.append(
                Record(
                    test_id=f"tests/test_eval.py::test_variants{tag}",
                    question=f"What is setting {i}?",
                    answer=f"Setting {i} is {i * 10} seconds.",
                    contexts=[f"Setting {i} defaults to {i * 10} seconds."],
                    reference=f"{i * 10} seconds.",
                    case_id=f"case-{i}",
                    variant=variant,
                    scores={
                        "faithfulness": ScoreDict(
                            value=value,
                            judge="offline:claim-overlap",
                            error=None if value is not None else "answer is empty",
                        ),
                        "answer_relevancy": ScoreDict(
                            value=0.5, judge="anthropic:claude-haiku-4-5:v1", error=None
                        ),
                    },
                    cost_usd=(cost or {}).get(variant, 0.001),
                    model="claude-haiku-4-5",
                    latency_s=0.02,
                )
            )
    return build_report(records, [], judge="offline", run={"corpus_version": "abc123"})


@pytest.fixture
def report_factory() -> Callable[..., dict[str, Any]]:
    """:func:`make_report`: a report with one record per (variant, case)."""
    return make_report


@pytest.fixture
def prompt_dir(tmp_path: Path) -> Path:
    """``prompts/`` with a file per variant used by the tests (a, b, c)."""
    directory = tmp_path / "prompts"
    directory.mkdir()
    for name in ("a", "b", "c"):
        (directory / f"{name}.yaml").write_text(PROMPT.format(name=name), encoding="utf-8")
    return directory
