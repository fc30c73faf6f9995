"""Read what pytest-ragops logged: session runs, their variant runs and per-case tables.

Shared by ``ragops compare --mlflow`` and the ``mlflow:`` baselines; every failure to
reach the store or find a run is a :class:`RagopsError` naming the URI and experiment.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["VariantRun", "open_store", "session_runs", "variant_runs"]

CASES_ARTIFACT = "ragops/cases.json"
REPORT_ARTIFACT = "ragops/report.json"


@dataclass(slots=True)
class VariantRun:
    """One variant run as ``ragops compare`` shows it."""

    run_id: str
    name: str
    metrics: dict[str, float]
    params: dict[str, str]
    tags: dict[str, str]
    #: Per-case table columns (``case_id``, metric columns ...), from the run's artifact.
    cases: dict[str, list[Any]] = field(default_factory=dict)


class _Store:
    def __init__(self, uri: str, experiment: str) -> None:
        import contextlib
        import os
        import warnings

        # A CLI run sends no telemetry and draws no progress bars into its output.
        os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from mlflow import MlflowClient

        self.uri = uri
        self.experiment = experiment
        self.client = MlflowClient(tracking_uri=uri)
        self._suppress = contextlib.suppress
        try:
            exp = self.client.get_experiment_by_name(experiment)
        except Exception as exc:  # noqa: BLE001 - any store failure is one line
            raise RagopsError(
                f"cannot reach the tracking store ({exc.__class__.__name__}: "
                f"{' '.join(str(exc).split())[:160]})",
                path=uri,
            ) from None
        if exp is None:
            raise RagopsError(f"no experiment named {experiment!r}", path=uri, field="experiment")
        self.experiment_id = str(exp.experiment_id)

    def where(self) -> str:
        return f"{self.uri} experiment {self.experiment!r}"

    def search(self, filter_string: str, max_results: int = 100) -> list[Any]:
        return list(
            self.client.search_runs(
                [self.experiment_id],
                filter_string=filter_string,
                order_by=["attributes.start_time DESC"],
                max_results=max_results,
            )
        )

    def download_json(self, run_id: str, artifact: str) -> Any:
        import mlflow.artifacts

        with tempfile.TemporaryDirectory(prefix="ragops-mlflow-") as tmp:
            try:
                local = mlflow.artifacts.download_artifacts(
                    run_id=run_id, artifact_path=artifact, dst_path=tmp, tracking_uri=self.uri
                )
            except Exception as exc:  # noqa: BLE001 - a missing artifact is one line
                raise RagopsError(
                    f"run {run_id} has no artifact {artifact} ({exc.__class__.__name__})",
                    path=self.uri,
                ) from None
            return json.loads(Path(local).read_text(encoding="utf-8"))


def open_store(uri: str, experiment: str) -> _Store:
    """Connect to ``uri`` and find ``experiment`` (raises ``RagopsError`` otherwise)."""
    return _Store(uri, experiment)


def session_runs(store: _Store, branch: str | None = None) -> list[Any]:
    """Complete pytest-ragops session runs, newest first (optionally of one git branch)."""
    where = "tags.`ragops.role` = 'session' and tags.`ragops.complete` = 'true'"
    if branch is not None:
        where += f" and tags.`ragops.git_branch` = '{_quote(branch)}'"
    return store.search(where)


def _quote(value: str) -> str:
    if "'" in value:
        raise RagopsError(f"must not contain a quote: {value!r}", field="branch")
    return value


def _table(data: Any) -> dict[str, list[Any]]:
    """``mlflow.log_table`` JSON (``columns`` + ``data`` rows) back to columns."""
    if not isinstance(data, dict) or "columns" not in data or "data" not in data:
        return {}
    columns = [str(c) for c in data["columns"]]
    out: dict[str, list[Any]] = {c: [] for c in columns}
    for row in data["data"]:
        for c, v in zip(columns, row, strict=False):
            out[c].append(v)
    return out


def variant_runs(
    store: _Store, session_run_id: str, *, with_cases: bool = True
) -> list[VariantRun]:
    """The variant runs under one session run, by variant name."""
    runs = store.search(
        f"tags.`mlflow.parentRunId` = '{_quote(session_run_id)}' and tags.`ragops.role` = 'variant'"
    )
    out = []
    for run in runs:
        tags = dict(run.data.tags)
        vr = VariantRun(
            run_id=run.info.run_id,
            name=tags.get("ragops.variant") or run.info.run_name,
            metrics=dict(run.data.metrics),
            params=dict(run.data.params),
            tags=tags,
        )
        if with_cases:
            vr.cases = _table(store.download_json(run.info.run_id, CASES_ARTIFACT))
        out.append(vr)
    return sorted(out, key=lambda v: v.name)


def iter_case_values(run: VariantRun, metric: str) -> Iterator[tuple[str, float]]:
    """(case id, value) of a per-case metric column, skipping missing values."""
    ids = run.cases.get("case_id", [])
    values = run.cases.get(metric, [])
    for case_id, value in zip(ids, values, strict=False):
        if case_id is not None and isinstance(value, int | float) and not isinstance(value, bool):
            yield str(case_id), float(value)
