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
    from pytest_ragops.results import Aggregates, Record, ScopeAggregates
    from pytest_ragops.settings import Settings

__all__ = [
    "build_final_report",
    "check_test_gates",
    "gate_suite",
    "load_baseline",
    "marker_gates",
    "run_info",
    "write_reports",
]


def load_baseline(settings: Settings, config: pytest.Config | None = None) -> dict[str, Any] | None:
    """The ``--ragops-baseline`` report, validated before any test runs.

    ``mlflow:branch=main`` reads the branch's latest logged report from the tracking store
    the MLflow options name (``--ragops-mlflow``, ``--ragops-experiment``).
    """
    if settings.baseline is None:
        return None
    from pytest_ragops.report.model import load_report

    try:
        if isinstance(settings.baseline, str) and settings.baseline.startswith("mlflow:"):
            import importlib

            try:
                tracking = importlib.import_module("pytest_ragops.tracking.baseline")
            except ImportError:
                raise RagopsUsageError(
                    "mlflow: baselines need the tracking support (pip install "
                    "'pytest-ragops[mlflow]')",
                    path="--ragops-baseline",
                ) from None
            uri, experiment = None, "ragops"
            if config is not None:
                from pytest_ragops.tracking.pytest_plugin import tracking_options

                options = tracking_options(config)
                uri, experiment = options.uri, options.experiment
            loaded: dict[str, Any] = tracking.load_mlflow_baseline(
                settings.baseline, uri, experiment
            )
            return loaded
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
    from pytest_ragops.gates import merge_gates, parse_gates

    layers: list[list[Gate]] = []
    # iter_markers yields the closest first; merge outermost first so the closest wins
    # per aggregate (faithfulness and faithfulness_mean are one gate).
    for marker in reversed(list(item.iter_markers("ragops_threshold"))):
        if marker.args:
            raise RagopsUsageError(
                "ragops_threshold takes keyword arguments only, e.g. faithfulness=0.8",
                path=item.nodeid,
                field="ragops_threshold",
            )
        layers.append(parse_gates(marker.kwargs, f"{item.nodeid}: ragops_threshold"))
    return merge_gates(*layers)


def check_test_gates(
    item: pytest.Item, records: Sequence[Record]
) -> tuple[list[dict[str, Any]], str | None, Aggregates | None]:
    """Outcomes of the item's marker gates, a failure message when any failed, and the
    test's aggregates when gating computed them (the report reuses them)."""
    from pytest_ragops import results
    from pytest_ragops.gates import evaluate_gates

    gates = marker_gates(item)
    if not gates:
        return [], None, None
    aggregates = results.aggregate(records)
    outcomes = evaluate_gates(gates, records, scope=item.nodeid, aggregates=aggregates)
    failed = [o for o in outcomes if not o.passed]
    if not failed:
        return [o.to_dict() for o in outcomes], None, aggregates
    lines = [f"ragops gate {o.gate.describe()} failed: {o.reason}" for o in failed]
    return [o.to_dict() for o in outcomes], "\n".join(lines), aggregates


def gate_suite(
    settings: Settings,
    records_by_test: Mapping[str, Sequence[Record]],
    known_tests: Mapping[str, Aggregates] | None = None,
) -> tuple[list[Record], ScopeAggregates, list[GateResult]]:
    """All records in test order, every scope's aggregates (computed once: the gates,
    the terminal table, the JSON and the Markdown all read these) and the suite gates.

    ``known_tests``: aggregates the marker gates already computed, per test.
    """
    from pytest_ragops.gates import evaluate_gates
    from pytest_ragops.results import aggregate_scopes

    records = [r for test in sorted(records_by_test) for r in records_by_test[test]]
    scopes = aggregate_scopes(records, known_tests)
    gates = evaluate_gates(settings.thresholds, records, aggregates=scopes.suite)
    return records, scopes, gates


def build_final_report(
    settings: Settings,
    records: Sequence[Record],
    scopes: ScopeAggregates,
    suite: Sequence[GateResult],
    test_gates: Sequence[dict[str, Any]],
    baseline: Mapping[str, Any] | None,
    info: Mapping[str, Any],
    *,
    judge_info: Mapping[str, Any] | None,
    exitstatus: int,
    outcomes: Mapping[str, int],
    lost_workers: Sequence[str],
    failures: Sequence[str] = (),
) -> dict[str, Any]:
    """The report with its final verdict (gates and pytest's own outcome)."""
    from pytest_ragops.report.model import build_report, finalize_report

    report = build_report(
        records,
        suite,
        judge=settings.judge_description(),
        run=info,
        baseline=baseline,
        baseline_path=None if settings.baseline is None else str(settings.baseline),
        scopes=scopes,
        judge_info=judge_info,
    )
    report["gates"].extend(sorted(test_gates, key=lambda g: (g["scope"], g["key"])))
    return finalize_report(
        report,
        exitstatus=exitstatus,
        outcomes=outcomes,
        lost_workers=lost_workers,
        failures=failures,
    )


def write_reports(settings: Settings, report: Mapping[str, Any]) -> list[str]:
    """Write the JSON and Markdown reports; return one line per failure (never raise)."""
    from pytest_ragops.report.markdown import render_markdown
    from pytest_ragops.report.model import write_report, write_text_atomic

    errors: list[str] = []
    for path in (settings.report, settings.markdown):
        try:
            if path == settings.report:
                write_report(report, path)
            else:
                write_text_atomic(render_markdown(dict(report)), path)
        except Exception as exc:  # noqa: BLE001 - a report failure fails the run, in one line
            errors.append(f"could not write {path}: {exc.__class__.__name__}: {exc}")
    return errors
