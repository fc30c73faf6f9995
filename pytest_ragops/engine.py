"""What the plugin's hooks delegate to: baseline and run info, marker gates, the final report.

Kept out of ``plugin.py`` so the hooks stay a line or two and this logic is testable
without a pytest session.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError, RagopsUsageError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    import pytest

    from pytest_ragops.gates import Gate, GateResult
    from pytest_ragops.results import Record
    from pytest_ragops.settings import Settings

__all__ = ["check_test_gates", "finish_run", "load_baseline", "marker_gates", "run_info"]


def load_baseline(settings: Settings) -> dict[str, Any] | None:
    """The ``--ragops-baseline`` report, validated before any test runs."""
    if settings.baseline is None:
        return None
    from pytest_ragops.report.model import load_report

    try:
        return load_report(settings.baseline)
    except RagopsError as exc:
        raise RagopsUsageError(str(exc)) from None


def run_info(settings: Settings) -> dict[str, Any]:
    """What every report records about the run: judge, corpus version and state."""
    from pytest_ragops.corpus import report_fields
    from pytest_ragops.github.env import current_commit

    # The commit lets `ragops report merge` refuse shards of different commits (issue 11).
    info: dict[str, Any] = {"judge_option": settings.judge, "commit": current_commit(settings.root)}
    info.update(report_fields(settings.root, settings.corpus))
    return info


def marker_gates(item: pytest.Item) -> list[Gate]:
    """The gates of an item's ``ragops_threshold`` markers (closest marker wins per key)."""
    from pytest_ragops.gates import parse_gates

    gates: dict[str, Gate] = {}
    for marker in reversed(list(item.iter_markers("ragops_threshold"))):
        if marker.args:
            raise RagopsUsageError(
                "ragops_threshold takes keyword arguments only, e.g. faithfulness=0.8",
                path=item.nodeid,
                field="ragops_threshold",
            )
        for gate in parse_gates(marker.kwargs, f"{item.nodeid}: ragops_threshold"):
            gates[gate.key] = gate
    return list(gates.values())


def check_test_gates(
    item: pytest.Item, records: Sequence[Record]
) -> tuple[list[dict[str, Any]], str | None]:
    """Outcomes of the item's marker gates, and a failure message when any failed."""
    from pytest_ragops.gates import evaluate_gates

    gates = marker_gates(item)
    if not gates:
        return [], None
    outcomes = evaluate_gates(gates, records, scope=item.nodeid)
    failed = [o for o in outcomes if not o.passed]
    if not failed:
        return [o.to_dict() for o in outcomes], None
    lines = [f"ragops gate {o.gate.describe()} failed: {o.reason}" for o in failed]
    return [o.to_dict() for o in outcomes], "\n".join(lines)


def finish_run(
    settings: Settings,
    records_by_test: Mapping[str, Sequence[Record]],
    test_gates: Sequence[dict[str, Any]],
    lost_workers: Sequence[str],
    baseline: Mapping[str, Any] | None,
    info: Mapping[str, Any],
) -> tuple[list[GateResult], dict[str, Any]]:
    """Gate the suite, then write the JSON and Markdown reports; return both."""
    from pytest_ragops.gates import evaluate_gates
    from pytest_ragops.report.markdown import render_markdown
    from pytest_ragops.report.model import build_report, write_report, write_text_atomic

    records = [r for test in sorted(records_by_test) for r in records_by_test[test]]
    suite = evaluate_gates(settings.thresholds, records)
    run = dict(info)
    if lost_workers:
        run["lost_workers"] = list(lost_workers)
    report = build_report(
        records,
        suite,
        judge=settings.resolved_judge(),
        run=run,
        baseline=baseline,
        baseline_path=None if settings.baseline is None else str(settings.baseline),
    )
    report["gates"].extend(sorted(test_gates, key=lambda g: (g["scope"], g["key"])))
    report["summary"]["gates"] = len(report["gates"])
    report["summary"]["gates_failed"] = sum(not g["passed"] for g in report["gates"])
    report["summary"]["passed"] = report["summary"]["gates_failed"] == 0 and not lost_workers
    write_report(report, settings.report)
    write_text_atomic(render_markdown(report), settings.markdown)
    return suite, report
