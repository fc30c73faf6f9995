"""Print how long MLflow logging of a 200-case, 3-variant eval session takes.

Three figures, measured in one run on fresh temporary stores:

- first run: importing mlflow and migrating a new SQLite store (paid once per store);
- logging a session to the already-migrated store without traces (target <= 1.0 s);
- the same with a trace per case and one assessment per metric.
"""

from __future__ import annotations

import datetime as dt
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CASES = 200
VARIANTS = ("baseline", "concise", "wide_context")
METRICS = ("faithfulness", "answer_relevancy", "context_precision", "context_recall")


def synthetic_report(tag: str) -> dict[str, Any]:
    """A report as the plugin writes it: 200 cases x 3 variants, four scores each."""
    from pytest_ragops.report.model import build_report
    from pytest_ragops.results import Record, ScoreDict

    records = []
    for v_i, variant in enumerate(VARIANTS):
        for i in range(CASES):
            value = ((i * 7 + v_i * 3) % 10) / 10
            records.append(
                Record(
                    test_id=f"tests/test_eval.py::test_variants[{tag}]",
                    question=f"Question {i} about WAL segment {i % 17}?",
                    answer=f"Answer {i} for {variant}: a checkpoint every {i % 9} minutes.",
                    contexts=[f"Context passage {i} sentence one. Sentence two of {i}."],
                    reference=f"Reference {i}.",
                    case_id=f"case-{i:03d}",
                    variant=variant,
                    scores={
                        m: ScoreDict(value=value, judge="offline:claim-overlap", error=None)
                        for m in METRICS
                    },
                    cost_usd=0.0004 * (v_i + 1),
                    model="claude-haiku-4-5",
                    latency_s=0.01,
                )
            )
    return build_report(records, [], judge="offline", run={"bench": tag})


def main() -> None:
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from pytest_ragops.tracking.options import TrackingOptions, default_store
    from pytest_ragops.tracking.payload import build_payload

    root = Path(tempfile.mkdtemp(prefix="ragops-mlflow-bench-"))
    uri = default_store(root)
    start = time.perf_counter()
    from mlflow import MlflowClient

    imported = time.perf_counter() - start
    (root / ".ragops").mkdir()
    start = time.perf_counter()
    MlflowClient(uri).search_experiments()
    migrated = time.perf_counter() - start
    print(f"first run: import mlflow {imported:.2f} s, migrate a new SQLite store {migrated:.2f} s")

    from pytest_ragops.tracking.upload import upload_payload

    # Warm-up on the migrated store: the store object, the experiment, pandas for log_table.
    warm = synthetic_report("warm-up")
    warm["records"] = warm["records"][:3]
    upload_payload(
        build_payload(warm, "# warm-up\n", TrackingOptions(uri=uri, root=root, traces=False)), uri
    )

    results: dict[str, float] = {}
    for traces in (False, True):
        report = synthetic_report(f"traces={traces}")
        report["created"] = dt.datetime.now(dt.UTC).isoformat()
        options = TrackingOptions(uri=uri, root=root, traces=traces)
        start = time.perf_counter()
        payload = build_payload(report, "# report\n", options)
        built = time.perf_counter() - start
        up = upload_payload(payload, uri)
        total = time.perf_counter() - start
        label = "with traces" if traces else "without traces"
        results[label] = total
        print(
            f"{CASES} cases x {len(VARIANTS)} variants {label}: {total:.2f} s "
            f"(payload {built:.2f} s; {up.traces} traces, {up.assessments} assessments)"
        )
    print(
        f"target without traces <= 1.0 s: {'met' if results['without traces'] <= 1.0 else 'MISSED'}"
    )
    print(
        f"traces cost {results['with traces'] / results['without traces']:.1f}x the plain logging"
    )
    print(f"store: {root}", file=sys.stderr)


if __name__ == "__main__":
    main()
