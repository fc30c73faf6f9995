"""Uploads to a real (local SQLite) MLflow store: runs, batches, prompts, traces, idempotency."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.tracking.options import TrackingOptions
from pytest_ragops.tracking.payload import build_payload
from pytest_ragops.tracking.upload import _create_run, _log_batch, upload_payload

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path


# MLflow, SQLAlchemy and pandas deprecations inside MLflow's own calls are not ours to fix.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


def _client(uri: str) -> Any:
    from mlflow import MlflowClient

    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def test_upload_logs_runs_prompts_traces_and_assessments(
    store_uri: str, report_factory: Callable[..., dict[str, Any]], prompt_dir: Path,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    report = report_factory({"a": [1.0, 0.5], "b": [None, 0.25]})
    payload = build_payload(report, "# md\n", TrackingOptions(uri=store_uri, root=tmp_path))
    result = upload_payload(payload, store_uri)

    client = _client(store_uri)
    session = client.get_run(result.session_run_id)
    assert session.data.tags["ragops.complete"] == "true"
    assert session.data.tags["ragops.source"] == "pytest-ragops"
    assert session.info.status == "FINISHED"
    assert {a.path for a in client.list_artifacts(session.info.run_id, "ragops")} == {
        "ragops/report.json", "ragops/report.md",
    }  # fmt: skip
    assert set(result.variant_runs) == {"a", "b"}
    a = client.get_run(result.variant_runs["a"])
    assert a.data.tags["mlflow.parentRunId"] == session.info.run_id
    assert a.data.params["prompt_name"] == "a"
    assert a.data.metrics["faithfulness_mean"] == 0.75
    assert a.data.tags["ragops.prompt_uri"] == "prompts:/a/1"
    arts = {x.path for x in client.list_artifacts(a.info.run_id, "ragops")}
    assert "ragops/cases.json" in arts
    # The per-case table is one MLflow reads as log_table's: listed in the run's tag, loadable.
    assert json.loads(a.data.tags["mlflow.loggedArtifacts"]) == [
        {"path": "ragops/cases.json", "type": "table"}
    ]
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store_uri)  # load_table searches the fluent store
    table = client.load_table(
        result.experiment_id, "ragops/cases.json", run_ids=[a.info.run_id], extra_columns=["run_id"]
    )
    assert list(table["case_id"]) == ["case-0", "case-1"]
    assert list(table["faithfulness"]) == [1.0, 0.5]
    assert set(table["run_id"]) == {a.info.run_id}
    assert [x.path for x in client.list_artifacts(a.info.run_id, "prompt")] == ["prompt/a.yaml"]
    assert result.prompts == {"a": "1", "b": "1"}

    traces = client.search_traces(locations=[result.experiment_id], run_id=a.info.run_id)
    assert len(traces) == 2
    by_case = {t.info.tags["ragops.case_id"]: t for t in traces}
    feedback = {x.name: x for x in by_case["case-1"].info.assessments}
    assert feedback["faithfulness"].value == 0.5
    assert feedback["faithfulness"].source.source_type == "CODE"
    assert feedback["faithfulness"].source.source_id == "offline:claim-overlap"
    assert feedback["answer_relevancy"].source.source_type == "LLM_JUDGE"
    b_traces = client.search_traces(
        locations=[result.experiment_id], run_id=result.variant_runs["b"]
    )
    lost = next(t for t in b_traces if t.info.tags["ragops.case_id"] == "case-0")
    no_score = next(x for x in lost.info.assessments if x.name == "faithfulness")
    assert no_score.value is None
    assert no_score.error.error_message == "answer is empty"
    assert result.traces == 4
    assert result.assessments == 8

    # A second upload of the same session uploads nothing; a new session reuses the prompts.
    again = upload_payload(payload, store_uri)
    assert again.already_logged is True
    assert again.session_run_id == result.session_run_id
    report2 = report_factory({"a": [0.9]}, tag="[2]")
    second = upload_payload(
        build_payload(report2, None, TrackingOptions(uri=store_uri, root=tmp_path, traces=False)),
        store_uri,
    )
    assert second.prompts == {"a": "1"}  # unchanged content hash: same version
    assert second.traces == 0
    (prompt_dir / "a.yaml").write_text(
        (prompt_dir / "a.yaml").read_text() + "# edited\n", encoding="utf-8"
    )
    report3 = report_factory({"a": [0.9]}, tag="[3]")
    third = upload_payload(
        build_payload(report3, None, TrackingOptions(uri=store_uri, root=tmp_path, traces=False)),
        store_uri,
    )
    assert third.prompts == {"a": "2"}


def test_an_interrupted_upload_is_replaced_not_duplicated(
    store_uri: str, report_factory: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    report = report_factory({"a": [1.0]})
    payload = build_payload(report, None, TrackingOptions(uri=store_uri, root=tmp_path))
    client = _client(store_uri)
    exp = client.create_experiment("ragops")
    # What an upload cut off after its first call leaves: an incomplete session run.
    partial = client.create_run(
        exp, tags={"ragops.run_key": payload["run_key"], "ragops.role": "session"}
    )
    result = upload_payload(payload, store_uri)
    assert result.already_logged is False
    assert client.get_run(partial.info.run_id).info.lifecycle_stage == "deleted"
    live = client.search_runs([exp], f"tags.`ragops.run_key` = '{payload['run_key']}'")
    assert len(live) == 2  # the session run and its one variant run


def test_log_batch_stays_within_mlflow_limits(store_uri: str) -> None:
    client = _client(store_uri)
    run = client.create_run(client.create_experiment("limits"))
    params = {f"p{i}": i for i in range(250)}
    metrics = {f"m{i}": float(i) for i in range(1500)}
    tags = {f"t{i}": "x" * 9000 for i in range(120)}
    calls = _log_batch(client, run.info.run_id, metrics, params, tags)
    data = client.get_run(run.info.run_id).data
    assert len(data.params) == 250
    assert len(data.metrics) == 1500
    assert len(data.tags) >= 120
    assert len(data.tags["t0"]) == 8000  # MLflow's tag value limit
    assert calls == 3


def test_a_run_is_created_with_its_tags_and_more_than_a_batch_follow(store_uri: str) -> None:
    client = _client(store_uri)
    exp = client.create_experiment("tags")
    tags = {f"t{i:03d}": str(i) for i in range(130)}
    tags["long"] = "y" * 9000
    run_id = _create_run(client, exp, "many", tags)
    data = client.get_run(run_id).data
    assert {k: data.tags[k] for k in tags if k != "long"} == {
        k: v for k, v in tags.items() if k != "long"
    }
    assert len(data.tags["long"]) == 8000
    assert client.get_run(run_id).info.run_name == "many"


def test_an_unreachable_server_raises_quickly_for_the_caller_to_spool(
    report_factory: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    uri = f"http://127.0.0.1:{port}"
    payload = build_payload(
        report_factory({"a": [1.0]}), None, TrackingOptions(uri=uri, root=tmp_path)
    )
    start = time.perf_counter()
    with pytest.raises(Exception):  # noqa: B017, PT011 - whatever MLflow raises, it is spooled
        upload_payload(payload, uri)
    assert time.perf_counter() - start < 30


def test_an_upload_cut_off_after_its_traces_leaves_no_duplicate_traces(
    store_uri: str, report_factory: Callable[..., dict[str, Any]], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from mlflow import MlflowClient

    payload = build_payload(
        report_factory({"a": [1.0, 0.5], "b": [0.25]}), None,
        TrackingOptions(uri=store_uri, root=tmp_path),
    )  # fmt: skip
    real_set_tag = MlflowClient.set_tag

    def server_gone(*_a: Any, **_k: Any) -> None:
        raise ConnectionError("server went away")

    # Everything but the final "complete" tag is written, then the server goes away.
    monkeypatch.setattr(MlflowClient, "set_tag", server_gone)
    with pytest.raises(ConnectionError):
        upload_payload(payload, store_uri)
    monkeypatch.setattr(MlflowClient, "set_tag", real_set_tag)
    client = _client(store_uri)
    exp = client.get_experiment_by_name("ragops").experiment_id
    assert len(client.search_traces(locations=[exp])) == 3

    result = upload_payload(payload, store_uri)
    traces = client.search_traces(locations=[exp])
    assert len(traces) == 3
    assert {t.info.trace_metadata["mlflow.sourceRun"] for t in traces} == set(
        result.variant_runs.values()
    )
    assert upload_payload(payload, store_uri).already_logged is True
