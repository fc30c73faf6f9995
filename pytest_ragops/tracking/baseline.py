"""``--ragops-baseline mlflow:branch=main``: the latest logged run of a branch as the baseline.

The session run carries the JSON report as an artifact, so the baseline is exactly the
report that run wrote; it is validated like a baseline file.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from pytest_ragops.errors import RagopsError

__all__ = ["is_mlflow_spec", "load_mlflow_baseline", "parse_spec"]

_PREFIX = "mlflow:"
_KEYS = ("branch", "run")


def is_mlflow_spec(spec: str) -> bool:
    """Whether a ``--ragops-baseline`` value names an MLflow run rather than a file."""
    return spec.startswith(_PREFIX)


def parse_spec(spec: str) -> tuple[str, str]:
    """``mlflow:branch=NAME`` or ``mlflow:run=RUN_ID`` to (key, value)."""
    body = spec.removeprefix(_PREFIX)
    key, sep, value = body.partition("=")
    if not is_mlflow_spec(spec) or not sep or key not in _KEYS or not value.strip():
        raise RagopsError(
            "expected mlflow:branch=NAME or mlflow:run=RUN_ID", path="--ragops-baseline", field=spec
        )
    return key, value.strip()


def load_mlflow_baseline(spec: str, tracking_uri: str | None, experiment: str) -> dict[str, Any]:
    """The report logged by the newest complete session run of a branch (or a given run).

    :param tracking_uri: the store; None means ``$MLFLOW_TRACKING_URI``, else the local
        store of the current directory.
    :raises RagopsError: bad spec, unreachable store, no such run, or an invalid report.
    """
    from pytest_ragops.report.model import load_report
    from pytest_ragops.tracking.options import resolve_uri
    from pytest_ragops.tracking.reader import REPORT_ARTIFACT, open_store, session_runs

    key, value = parse_spec(spec)
    uri = resolve_uri(tracking_uri, Path.cwd())
    if uri is None:
        raise RagopsError("MLflow logging is off; an mlflow: baseline needs a store", path=spec)
    store = open_store(uri, experiment)
    if key == "branch":
        runs = session_runs(store, branch=value)
        if not runs:
            raise RagopsError(f"no logged run of branch {value!r} in {store.where()}", path=spec)
        run_id = str(runs[0].info.run_id)
    else:
        run_id = value
    import mlflow.artifacts

    with tempfile.TemporaryDirectory(prefix="ragops-baseline-") as tmp:
        try:
            local = mlflow.artifacts.download_artifacts(
                run_id=run_id, artifact_path=REPORT_ARTIFACT, dst_path=tmp, tracking_uri=uri
            )
        except Exception as exc:  # noqa: BLE001 - one line, whatever the store says
            raise RagopsError(
                f"run {run_id} has no {REPORT_ARTIFACT} in {store.where()} "
                f"({exc.__class__.__name__})",
                path=spec,
            ) from None
        report = load_report(local)
    report.setdefault("run", {})["mlflow_run_id"] = run_id
    return report
