"""Per-case traces with their assessments, written in batches rather than one request each.

MLflow's own route (``start_trace``/``end_trace``, then ``log_feedback`` per metric) costs
two exports per trace on background threads plus one write per assessment; on a SQLite
store the threads fight over the database lock and a 600-trace session took minutes. The
traces here are complete before anything is sent, so each goes to the store as one
``start_trace`` call that carries its assessments (the store writes them in the same
transaction, so no assessment can meet "trace not found"), and their spans follow in
batched ``log_spans`` calls (one transaction, or one OTLP request, per batch). Nothing is
asynchronous: a failure raises here, and the caller spools the session.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_ragops.tracking.payload import judge_source

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

__all__ = ["CaseTrace", "build_case_traces", "log_case_traces"]

#: Spans per ``log_spans`` call: one root span per case, so this many traces per request.
SPANS_PER_BATCH = 100
#: ``start_trace`` requests in flight on an HTTP store (a database store takes one writer).
HTTP_THREADS = 4
KEY_TAG = "ragops.run_key"
#: MLflow's limit on a trace metadata value (``MAX_CHARS_IN_TRACE_INFO_METADATA``).
_METADATA_CHARS = 250


@dataclass(slots=True)
class CaseTrace:
    """One case's trace: its info (tags, metadata, assessments) and its root span."""

    info: Any
    span: Any


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


def _b64(value: int, size: int) -> str:
    """An OTel id as ``Span.to_dict`` writes it: big-endian bytes, base64."""
    return base64.b64encode(value.to_bytes(size, "big")).decode()


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _feedback(trace_id: str, metric: str, score: Mapping[str, Any], key: str) -> Any:
    from mlflow.entities import AssessmentError, AssessmentSource, Feedback

    judge = str(score.get("judge") or "")
    value = score.get("value")
    error = score.get("error")
    return Feedback(
        name=metric,
        value=value,
        trace_id=trace_id,
        source=AssessmentSource(source_type=judge_source(judge), source_id=judge or "?"),
        rationale=score.get("rationale") or error,
        error=None
        if value is not None
        else AssessmentError(error_code="NO_SCORE", error_message=str(error)),
        metadata={KEY_TAG: key, "ragops.cached": str(bool(score.get("cached"))).lower()},
    )


def build_case_traces(
    experiment_id: str, run_id: str, key: str, variant: str,
    records: Sequence[Mapping[str, Any]], source_metadata: Mapping[str, str] | None = None,
) -> list[CaseTrace]:  # fmt: skip
    """A trace per record, linked to ``run_id``, with one feedback per metric.

    The root span holds the question and reference as inputs, the answer and contexts as
    outputs, cost and model as attributes; it is an error span when the record has an error.
    """
    from mlflow.entities import Span, Trace, TraceData, TraceInfo, TraceLocation, TraceState
    from mlflow.tracing.utils import add_size_stats_to_trace_metadata
    from mlflow.tracing.utils.truncation import _get_truncated_preview

    location = TraceLocation.from_experiment_id(experiment_id)
    now_ns = time.time_ns()
    out: list[CaseTrace] = []
    for i, rec in enumerate(records):
        latency = rec.get("latency_s")
        seconds = float(latency) if isinstance(latency, int | float) else 0.0
        start_ns = now_ns - int(seconds * 1e9) + i
        end_ns = start_ns + int(seconds * 1e9) + 1
        otel_trace_id = secrets.randbits(128) or 1
        trace_id = f"tr-{otel_trace_id:032x}"
        name = str(rec.get("case_id") or f"case-{i}")
        inputs = {"question": rec.get("question"), "reference": rec.get("reference")}
        outputs = {"answer": rec.get("answer"), "contexts": rec.get("contexts")}
        error = rec.get("error")
        span = Span.from_dict(
            {
                "trace_id": _b64(otel_trace_id, 16),
                "span_id": _b64(secrets.randbits(64) or 1, 8),
                "parent_span_id": None,
                "name": name,
                "start_time_unix_nano": start_ns,
                "end_time_unix_nano": end_ns,
                "events": [],
                "status": {
                    "code": "STATUS_CODE_ERROR" if error else "STATUS_CODE_OK",
                    "message": str(error) if error else "",
                },
                "attributes": {
                    "mlflow.traceRequestId": _json(trace_id),
                    "mlflow.experimentId": _json(experiment_id),
                    "mlflow.spanType": _json("CHAIN"),
                    "mlflow.spanInputs": _json(inputs),
                    "mlflow.spanOutputs": _json(outputs),
                    "cost_usd": _json(rec.get("cost_usd")),
                    "model": _json(rec.get("model")),
                },
            }
        )
        in_json, out_json = _json(inputs), _json(outputs)
        metadata = {
            "mlflow.sourceRun": run_id,
            "mlflow.trace_schema.version": "3",
            "mlflow.traceInputs": _clip(in_json, _METADATA_CHARS),
            "mlflow.traceOutputs": _clip(out_json, _METADATA_CHARS),
            **(source_metadata or {}),
        }
        info = TraceInfo(
            trace_id=trace_id,
            trace_location=location,
            request_time=start_ns // 1_000_000,
            execution_duration=(end_ns - start_ns) // 1_000_000,
            state=TraceState.ERROR if error else TraceState.OK,
            request_preview=_get_truncated_preview(in_json, role="user"),
            response_preview=_get_truncated_preview(out_json, role="assistant"),
            trace_metadata=metadata,
            tags={
                "mlflow.traceName": name,
                KEY_TAG: key,
                "ragops.variant": variant,
                "ragops.case_id": str(rec.get("case_id") or ""),
                "ragops.test_id": str(rec.get("test_id") or ""),
            },
            assessments=[
                _feedback(trace_id, metric, score, key)
                for metric, score in sorted((rec.get("scores") or {}).items())
            ],
        )
        add_size_stats_to_trace_metadata(Trace(info=info, data=TraceData(spans=[span])))
        out.append(CaseTrace(info, span))
    return out


def log_case_traces(uri: str, experiment_id: str, traces: Sequence[CaseTrace]) -> None:
    """Write ``traces``: one ``start_trace`` each (with its assessments), spans in batches.

    The trace infos go first, so the span batches find every trace already there (the
    store then only adds spans, never creating and later merging a trace).
    """
    from mlflow.tracing.client import TracingClient

    client = TracingClient(uri)
    if uri.startswith(("http://", "https://")) and len(traces) > 1:
        with ThreadPoolExecutor(max_workers=HTTP_THREADS) as pool:
            list(pool.map(lambda t: client.start_trace(t.info), traces))
    else:
        for t in traces:
            client.start_trace(t.info)
    spans = [t.span for t in traces]
    for start in range(0, len(spans), SPANS_PER_BATCH):
        client.log_spans(experiment_id, spans[start : start + SPANS_PER_BATCH])
