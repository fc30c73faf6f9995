"""Print how long MLflow logging of a 200-case, 3-variant eval session takes.

Figures measured in one run on a fresh temporary store:

- first run, apart: importing mlflow and migrating a new SQLite store (paid once per store);
- logging a session to the already-migrated store without traces (target <= 1.0 s), three
  times (a session's runs, params, metrics, artifacts, per-case table, prompt versions);
- the same with a trace per case and one assessment per metric.

The variants are the repository's three prompts (``prompts/*.yaml``), registered in the
warm-up as a first session would, so the measured sessions reuse their versions.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CASES = 200
REPEATS = 3
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
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--uri", help="log to this tracking server instead of a fresh local SQLite store"
    )
    args = parser.parse_args()
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    from pytest_ragops.tracking.options import TrackingOptions, default_store
    from pytest_ragops.tracking.payload import build_payload

    root = Path(tempfile.mkdtemp(prefix="ragops-mlflow-bench-"))
    uri = args.uri or default_store(root)
    start = time.perf_counter()
    from mlflow import MlflowClient

    imported = time.perf_counter() - start
    if args.uri:
        print(f"first run: import mlflow {imported:.2f} s; store {uri}")
    else:
        (root / ".ragops").mkdir()
        start = time.perf_counter()
        MlflowClient(uri).search_experiments()
        migrated = time.perf_counter() - start
        print(
            f"first run: import mlflow {imported:.2f} s, "
            f"migrate a new SQLite store {migrated:.2f} s"
        )

    from pytest_ragops.tracking.upload import upload_payload

    prompts = (ROOT / "prompts",)
    # Warm-up on the migrated store: the store object, the experiment, the prompt versions.
    warm = synthetic_report("warm-up")
    warm["records"] = [r for r in warm["records"] if r["case_id"] == "case-000"]
    start = time.perf_counter()
    upload_payload(
        build_payload(
            warm,
            "# warm-up\n",
            TrackingOptions(uri=uri, root=root, traces=False, prompt_dirs=prompts),
        ),
        uri,
    )
    print(
        f"warm-up (experiment, {len(VARIANTS)} prompt versions): "
        f"{time.perf_counter() - start:.2f} s"
    )

    def session(tag: str, traces: bool) -> tuple[float, float, float, Any]:
        """Wall time, payload-building time and this process's CPU time of one session."""
        report = synthetic_report(tag)
        report["created"] = dt.datetime.now(dt.UTC).isoformat()
        options = TrackingOptions(uri=uri, root=root, traces=traces, prompt_dirs=prompts)
        start, cpu = time.perf_counter(), time.process_time()
        payload = build_payload(report, "# report\n", options)
        built = time.perf_counter() - start
        up = upload_payload(payload, uri)
        if len(up.prompts) != len(VARIANTS):
            raise SystemExit(f"expected {len(VARIANTS)} linked prompts, got {up.prompts}")
        return time.perf_counter() - start, built, time.process_time() - cpu, up

    # CPU time beside wall time: on a loaded machine the wall time grows, the CPU time less.
    plain = []
    for i in range(REPEATS):
        total, built, cpu, _ = session(f"plain-{i}", traces=False)
        plain.append(total)
        print(
            f"{CASES} cases x {len(VARIANTS)} variants without traces, run {i + 1}: "
            f"{total:.2f} s (payload {built:.2f} s, CPU {cpu:.2f} s)"
        )
    median = statistics.median(plain)
    print(f"without traces: median {median:.2f} s of {REPEATS}")
    total, built, cpu, up = session("traced", traces=True)
    print(
        f"{CASES} cases x {len(VARIANTS)} variants with traces: {total:.2f} s "
        f"(payload {built:.2f} s, CPU {cpu:.2f} s; {up.traces} traces, "
        f"{up.assessments} assessments, "
        f"{up.traces / (total - median):.0f} traces/s beyond the plain logging)"
    )
    print(f"target without traces <= 1.0 s: {'met' if median <= 1.0 else 'MISSED'}")
    print(f"traces cost {total / median:.1f}x the plain logging")
    print(f"store: {root}", file=sys.stderr)


if __name__ == "__main__":
    main()
