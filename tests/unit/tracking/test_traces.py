"""Per-case traces written in batches to a real (local SQLite) MLflow store."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.tracking import traces as traces_mod
from pytest_ragops.tracking.traces import build_case_traces, log_case_traces

if TYPE_CHECKING:
    from collections.abc import Callable


pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


def _run(uri: str) -> tuple[Any, str, str]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri)
    exp = client.create_experiment("traces")
    return client, exp, client.create_run(exp).info.run_id


def test_each_case_is_one_trace_with_its_span_and_one_assessment_per_metric(
    store_uri: str, report_factory: Callable[..., dict[str, Any]]
) -> None:
    records = report_factory({"a": [1.0, None]})["records"]
    records[1]["error"] = "judge timed out"
    client, exp, run_id = _run(store_uri)
    built = build_case_traces(
        exp, run_id, "key1", "a", records, {"mlflow.source.name": "pytest-ragops"}
    )
    assert len({t.info.trace_id for t in built}) == 2
    log_case_traces(store_uri, exp, built)

    found = client.search_traces(locations=[exp], run_id=run_id)
    assert len(found) == 2
    by_case = {t.info.tags["ragops.case_id"]: t for t in found}
    ok = client.get_trace(by_case["case-0"].info.trace_id)
    assert ok.info.state.value == "OK"
    assert ok.info.trace_metadata["mlflow.sourceRun"] == run_id
    assert ok.info.trace_metadata["mlflow.source.name"] == "pytest-ragops"
    assert ok.info.tags["mlflow.traceName"] == "case-0"
    assert ok.info.tags["ragops.run_key"] == "key1"
    # The spans are in the database, not uploaded as an artifact file beside it.
    assert ok.info.tags["mlflow.trace.spansLocation"] == "TRACKING_STORE"
    assert json.loads(ok.info.request_preview)["question"] == "What is setting 0?"
    (span,) = ok.data.spans
    assert span.inputs == {"question": "What is setting 0?", "reference": "0 seconds."}
    assert span.outputs["answer"] == "Setting 0 is 0 seconds."
    assert span.outputs["contexts"] == ["Setting 0 defaults to 0 seconds."]
    assert span.attributes["model"] == "claude-haiku-4-5"
    assert span.attributes["cost_usd"] == pytest.approx(0.001)
    feedback = {a.name: a for a in ok.info.assessments}
    assert set(feedback) == {"faithfulness", "answer_relevancy"}
    assert feedback["faithfulness"].value == 1.0
    assert feedback["faithfulness"].source.source_type == "CODE"
    assert feedback["answer_relevancy"].source.source_type == "LLM_JUDGE"
    assert feedback["answer_relevancy"].metadata["ragops.run_key"] == "key1"

    failed = client.get_trace(by_case["case-1"].info.trace_id)
    assert failed.info.state.value == "ERROR"
    assert failed.data.spans[0].status.status_code.value == "ERROR"
    lost = next(a for a in failed.info.assessments if a.name == "faithfulness")
    assert lost.value is None
    assert lost.error.error_code == "NO_SCORE"
    assert lost.error.error_message == "answer is empty"


def test_spans_go_in_batches_and_trace_infos_first(
    store_uri: str, report_factory: Callable[..., dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from mlflow.tracing.client import TracingClient

    calls: list[tuple[str, int]] = []
    start_trace, log_spans = TracingClient.start_trace, TracingClient.log_spans

    def counting_start(self: Any, trace_info: Any) -> Any:
        calls.append(("start_trace", len(trace_info.assessments)))
        return start_trace(self, trace_info)

    def counting_spans(self: Any, location: str, spans: list[Any]) -> Any:
        calls.append(("log_spans", len(spans)))
        return log_spans(self, location, spans)

    monkeypatch.setattr(TracingClient, "start_trace", counting_start)
    monkeypatch.setattr(TracingClient, "log_spans", counting_spans)
    monkeypatch.setattr(traces_mod, "SPANS_PER_BATCH", 2)
    records = report_factory({"a": [1.0, 0.5, 0.25]})["records"]
    client, exp, run_id = _run(store_uri)
    log_case_traces(store_uri, exp, build_case_traces(exp, run_id, "k", "a", records))

    # One write per trace carrying both its assessments, then the spans two at a time.
    assert calls == [("start_trace", 2)] * 3 + [("log_spans", 2), ("log_spans", 1)]
    found = client.search_traces(locations=[exp], run_id=run_id)
    assert sorted(len(client.get_trace(t.info.trace_id).data.spans) for t in found) == [1, 1, 1]


def test_a_store_that_refuses_a_trace_raises_for_the_caller_to_spool(
    store_uri: str, report_factory: Callable[..., dict[str, Any]]
) -> None:
    records = report_factory({"a": [1.0]})["records"]
    client, exp, run_id = _run(store_uri)
    built = build_case_traces(exp, run_id, "k", "a", records)
    client.delete_experiment(exp)  # a deleted experiment takes no traces
    with pytest.raises(Exception, match=r"(?i)experiment"):
        log_case_traces(store_uri, exp, built)
