"""Upload a payload to MLflow: runs, batched params/metrics/tags, artifacts, prompts, traces.

Idempotent by ``ragops.run_key``: a complete session run with the key means the payload is
already there (nothing is uploaded twice); an incomplete one (an upload cut off midway) is
deleted with its variant runs and traces and uploaded again. The session run is marked
complete (tag ``ragops.complete``) last. Every call goes through :class:`MlflowClient`
with explicit run ids, never the fluent active run, so it cannot clash with a run the user
or ``mlflow.pytest.plugin`` has open.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
import warnings
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_ragops.tracking.options import local_artifact_location
from pytest_ragops.tracking.payload import case_table, case_table_json
from pytest_ragops.tracking.traces import KEY_TAG, build_case_traces, log_case_traces

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

__all__ = ["UploadError", "UploadResult", "find_session_runs", "upload_payload"]

#: MLflow's own batch limits (mlflow.utils.validation).
MAX_PARAMS_TAGS_PER_BATCH = 100
MAX_METRICS_PER_BATCH = 1000
MAX_ENTITIES_PER_BATCH = 1000
MAX_PARAM_VAL_LENGTH = 6000
MAX_TAG_VAL_LENGTH = 8000
#: Retries and timeout for HTTP stores while uploading, unless the user set their own:
#: MLflow's defaults (7 retries, backoff factor 2) would hold a run for minutes on a dead server.
_HTTP_ENV = {
    # No usage telemetry leaves the machine from an eval run (and tests stay on loopback).
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    # One summary line from ragops, not a "View run" line per run from MLflow.
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
COMPLETE_TAG = "ragops.complete"
#: The per-case table of a variant run, shown by MLflow's UI as a table.
CASES_TABLE = "ragops/cases.json"
#: MLflow's run tag listing the run's tables (``mlflow.utils.mlflow_tags``).
MLFLOW_LOGGED_ARTIFACTS = "mlflow.loggedArtifacts"


class UploadError(Exception):
    """The store refused or lost part of the payload (the caller spools it)."""


@dataclass(slots=True)
class UploadResult:
    """What an upload did."""

    session_run_id: str
    experiment_id: str
    #: Variant name → run id.
    variant_runs: dict[str, str] = field(default_factory=dict)
    traces: int = 0
    assessments: int = 0
    #: Prompt name → registered version.
    prompts: dict[str, str] = field(default_factory=dict)
    #: True when the payload was already in the store and nothing was uploaded.
    already_logged: bool = False


@contextlib.contextmanager
def _mlflow_context(uri: str) -> Iterator[None]:
    """Point MLflow's globals at ``uri`` (traces and prompts use them), quietly; restore after."""
    # set_tracking_uri also sets $MLFLOW_TRACKING_URI: restore the environment as found.
    saved_env = {
        k: os.environ.get(k) for k in (*_HTTP_ENV, "MLFLOW_TRACKING_URI", "MLFLOW_REGISTRY_URI")
    }
    for k, v in _HTTP_ENV.items():
        os.environ.setdefault(k, v)
    # MLflow's own deprecation warnings are not the user's to fix; under pytest's
    # ``filterwarnings = error`` they would otherwise abort the upload.
    caught = warnings.catch_warnings()
    caught.__enter__()
    warnings.simplefilter("ignore")
    import mlflow

    loggers = [logging.getLogger(n) for n in ("mlflow", "alembic", "urllib3")]
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    was_set = mlflow.is_tracking_uri_set()  # type: ignore[no-untyped-call]
    previous: str | None = mlflow.get_tracking_uri() if was_set else None
    previous_registry = os.environ.get("MLFLOW_REGISTRY_URI")
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    try:
        yield
    finally:
        mlflow.set_tracking_uri(previous)  # type: ignore[arg-type]
        mlflow.set_registry_uri(previous_registry)  # type: ignore[arg-type]
        for lg, level in zip(loggers, levels, strict=True):
            lg.setLevel(level)
        caught.__exit__(None, None, None)
        for k, old in saved_env.items():
            if old is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = old


def _experiment_id(client: Any, name: str, uri: str) -> str:
    exp = client.get_experiment_by_name(name)
    if exp is not None:
        if exp.lifecycle_stage == "deleted":
            client.restore_experiment(exp.experiment_id)
        return str(exp.experiment_id)
    return str(client.create_experiment(name, artifact_location=local_artifact_location(uri, name)))


def find_session_runs(client: Any, experiment_id: str, key: str) -> list[Any]:
    """Session runs of the payload ``key`` (normally 0 or 1)."""
    return list(
        client.search_runs(
            [experiment_id],
            filter_string=f"tags.`{KEY_TAG}` = '{key}' and tags.`ragops.role` = 'session'",
            max_results=10,
        )
    )


def _delete_partial(client: Any, experiment_id: str, key: str) -> None:
    """Remove what an interrupted upload of ``key`` left: its runs and their traces."""
    import mlflow

    runs = client.search_runs([experiment_id], filter_string=f"tags.`{KEY_TAG}` = '{key}'")
    for run in runs:
        traces = mlflow.search_traces(
            locations=[experiment_id], run_id=run.info.run_id, return_type="list"
        )
        ids = [t.info.trace_id for t in traces]
        for start in range(0, len(ids), 100):
            client.delete_traces(experiment_id, trace_ids=ids[start : start + 100])
        client.delete_run(run.info.run_id)


def _log_batch(
    client: Any, run_id: str, metrics: Mapping[str, float], params: Mapping[str, Any],
    tags: Mapping[str, str],
) -> int:  # fmt: skip
    """Log params, metrics and tags in as few ``log_batch`` calls as MLflow's limits allow."""
    from mlflow.entities import Metric, Param, RunTag

    now = int(time.time() * 1000)
    ms = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
    ps = [Param(k, str(v)[:MAX_PARAM_VAL_LENGTH]) for k, v in params.items()]
    ts = [RunTag(k, str(v)[:MAX_TAG_VAL_LENGTH]) for k, v in tags.items()]
    calls = 0
    while ms or ps or ts:
        p, ps = ps[:MAX_PARAMS_TAGS_PER_BATCH], ps[MAX_PARAMS_TAGS_PER_BATCH:]
        t, ts = ts[:MAX_PARAMS_TAGS_PER_BATCH], ts[MAX_PARAMS_TAGS_PER_BATCH:]
        room = min(MAX_METRICS_PER_BATCH, MAX_ENTITIES_PER_BATCH - len(p) - len(t))
        m, ms = ms[:room], ms[room:]
        client.log_batch(run_id, metrics=m, params=p, tags=t)
        calls += 1
    return calls


def _create_run(client: Any, experiment_id: str, name: str, tags: Mapping[str, Any]) -> str:
    """Create a run with its tags in the same call (one write, not a run and then a batch)."""
    items = [(k, str(v)[:MAX_TAG_VAL_LENGTH]) for k, v in tags.items()]
    run = client.create_run(
        experiment_id, run_name=name, tags=dict(items[:MAX_PARAMS_TAGS_PER_BATCH])
    )
    run_id = str(run.info.run_id)
    _log_batch(client, run_id, {}, {}, dict(items[MAX_PARAMS_TAGS_PER_BATCH:]))
    return run_id


def _log_files(client: Any, run_id: str, files: Mapping[str, str]) -> None:
    """Log text files (relative path → text) as a run's artifacts in one ``log_artifacts`` call."""
    import tempfile
    from pathlib import Path

    with tempfile.TemporaryDirectory(prefix="ragops-artifacts-") as tmp:
        for rel, text in files.items():
            path = Path(tmp, rel)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        client.log_artifacts(run_id, tmp)


def _chat_template(prompt: Mapping[str, Any]) -> list[dict[str, str]]:
    """The prompt as MLflow chat messages; ``{x}`` placeholders become MLflow's ``{{x}}``."""
    import string

    parts = []
    for literal, name, _spec, _conv in string.Formatter().parse(str(prompt["template"])):
        parts.append(literal)
        if name is not None:
            parts.append("{{" + name + "}}")
    messages = []
    if prompt.get("system"):
        messages.append({"role": "system", "content": str(prompt["system"])})
    messages.append({"role": "user", "content": "".join(parts)})
    return messages


def _register_prompt(client: Any, prompt: Mapping[str, Any]) -> Any:
    """Register the prompt, reusing the version whose ``ragops.hash`` tag is this content's."""
    import mlflow

    name = str(prompt["name"])
    with contextlib.suppress(Exception):  # an unknown prompt has no versions to search
        for pv in client.search_prompt_versions(name, max_results=1000):
            if pv.tags.get("ragops.hash") == prompt["hash"]:
                return pv
    return mlflow.genai.register_prompt(
        name=name,
        template=_chat_template(prompt),
        commit_message=f"pytest-ragops: {prompt['path']} ({prompt['version']})",
        tags={"ragops.hash": str(prompt["hash"]), "ragops.version": str(prompt["version"])},
    )


def _source_metadata(tags: Mapping[str, str]) -> dict[str, str]:
    """Where the traces came from, as MLflow's own traces say it (source name, git)."""
    keys = ("mlflow.source.name", "mlflow.source.git.commit", "mlflow.source.git.branch")
    return {k: str(tags[k]) for k in keys if tags.get(k)}


def upload_payload(
    payload: Mapping[str, Any], uri: str, *, traces: bool | None = None
) -> UploadResult:
    """Log ``payload`` to the store at ``uri``; raises on any failure (the caller spools)."""
    from mlflow import MlflowClient

    key = str(payload["run_key"])
    with_traces = bool(payload.get("traces", True)) if traces is None else traces
    with _mlflow_context(uri):
        client = MlflowClient(tracking_uri=uri, registry_uri=uri)
        exp_id = _experiment_id(client, str(payload["experiment"]), uri)
        done = [
            r
            for r in find_session_runs(client, exp_id, key)
            if r.data.tags.get(COMPLETE_TAG) == "true"
        ]
        if done:
            return UploadResult(done[0].info.run_id, exp_id, already_logged=True)
        _delete_partial(client, exp_id, key)
        session = payload["session"]
        tags = dict(session["tags"])
        parent = payload.get("parent_run_id")
        if parent:
            tags["mlflow.parentRunId"] = str(parent)
        sid = _create_run(client, exp_id, session["name"], {**tags, KEY_TAG: key})
        result = UploadResult(sid, exp_id)
        _log_files(client, sid, {f"ragops/{n}": t for n, t in payload["artifacts"].items()})
        _log_batch(client, sid, session["metrics"], session["params"], {})
        for variant in payload["variants"]:
            name = str(variant["name"])
            vtags = {**variant["tags"], KEY_TAG: key, "mlflow.parentRunId": sid}
            # What log_table would add: the tag through which the UI shows the file as a table.
            vtags[MLFLOW_LOGGED_ARTIFACTS] = json.dumps([{"path": CASES_TABLE, "type": "table"}])
            files = {CASES_TABLE: case_table_json(case_table(variant["records"]))}
            prompt = variant.get("prompt")
            pv = _register_prompt(client, prompt) if prompt else None
            if prompt and pv is not None:
                result.prompts[str(pv.name)] = str(pv.version)
                vtags["ragops.prompt_uri"] = f"prompts:/{pv.name}/{pv.version}"
                files[f"prompt/{name}.yaml"] = str(prompt["text"])
            vid = _create_run(client, exp_id, name, vtags)
            result.variant_runs[name] = vid
            if pv is not None:
                client.link_prompt_version_to_run(vid, pv)
            _log_files(client, vid, files)
            _log_batch(client, vid, variant["metrics"], variant["params"], {})
            if with_traces and variant["records"]:
                case_traces = build_case_traces(
                    exp_id, vid, key, name, variant["records"], _source_metadata(vtags)
                )
                log_case_traces(uri, exp_id, case_traces)
                result.traces += len(case_traces)
                result.assessments += sum(len(t.info.assessments) for t in case_traces)
            client.set_terminated(vid, "FINISHED")
        client.set_tag(sid, COMPLETE_TAG, "true")
        client.set_terminated(sid, "FINISHED")
        return result
