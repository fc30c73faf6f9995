"""Merge shard reports into one and gate once over all their records.

A large suite runs as a CI matrix; each shard writes its own report. Merging refuses shards
that cannot belong together (another schema version, another commit, one test in two
shards), concatenates records and test gates in the order an unsharded run would hold
them, and evaluates the suite thresholds once over all records, so the merged gate values
equal an unsharded run's. The merged verdict fails when a gate fails or any shard's did.

This module is the one place the merge touches the core (``gates``, ``results``,
``report.model``), so changes there have one place to follow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from pytest_ragops.gates import Gate

__all__ = ["MergeResult", "load_shards", "merge_reports", "shard_verdict", "suite_gates"]


@dataclass(frozen=True, slots=True)
class MergeResult:
    report: dict[str, Any]
    markdown: str

    @property
    def passed(self) -> bool:
        return bool(self.report["summary"]["passed"])


def shard_verdict(report: Mapping[str, Any], exitstatus: int | None = None) -> str | None:
    """Why a shard failed on its own, or None; its suite gates over a subset do not count.

    A shard gates the suite thresholds over its own records only, which says nothing about
    the whole suite; what counts is what the merge cannot recompute: failed or errored
    tests (``run.pytest_outcomes``), failed marker gates, lost workers and a pytest exit
    status other than 0 or 1. An exit status of 1 with failed suite gates and no outcomes
    recorded cannot be told apart from a failed test, so it fails (closed).
    """
    run = report.get("run") or {}
    status = run.get("pytest_exitstatus", exitstatus)
    outcomes = run.get("pytest_outcomes")
    gates = report.get("gates") or []
    if run.get("lost_workers"):
        return f"lost workers: {', '.join(map(str, run['lost_workers']))}"
    failed_test_gates = [g for g in gates if g["scope"] != "suite" and not g["passed"]]
    if failed_test_gates:
        return f"{len(failed_test_gates)} test gates failed"
    if isinstance(outcomes, dict):
        bad = {k: outcomes.get(k) for k in ("failed", "errors", "error") if outcomes.get(k)}
        if bad:
            return ", ".join(f"{v} {k}" for k, v in bad.items())
    if status not in (None, 0, 1):
        return f"pytest exit status {status}"
    if status == 1 and not isinstance(outcomes, dict):
        suite_failed = any(g["scope"] == "suite" and not g["passed"] for g in gates)
        if not suite_failed:
            return "pytest exit status 1"
        return "pytest exit status 1 and no test outcomes in the report to tell why"
    return None


def load_shards(paths: Sequence[Path]) -> list[tuple[str, dict[str, Any]]]:
    """Load and cross-check shard reports; one line naming the file and field on a mismatch."""
    from pytest_ragops.report.model import load_report

    if not paths:
        raise RagopsError("no shard reports given", path="report merge")
    shards = [(str(p), load_report(p)) for p in paths]
    first_path, first = shards[0]
    commit = (first.get("run") or {}).get("commit")
    owner: dict[str, str] = {}
    for path, data in shards:
        if data.get("version") != first.get("version"):
            raise RagopsError(
                f"schema version {data.get('version')!r} differs from {first.get('version')!r} "
                f"of {first_path}",
                path=path,
                field="version",
            )
        other = (data.get("run") or {}).get("commit")
        if other != commit:
            raise RagopsError(
                f"commit {other!r} differs from {commit!r} of {first_path}: shards of "
                "different commits cannot be gated together",
                path=path,
                field="run.commit",
            )
        for test in sorted({str(r.get("test_id")) for r in data["records"]}):
            if test in owner:
                raise RagopsError(
                    f"test {test} also ran in {owner[test]}: shards must split the tests",
                    path=path,
                    field="records",
                )
            owner[test] = path
    return shards


def suite_gates(
    shards: Sequence[tuple[str, Mapping[str, Any]]],
    thresholds: Sequence[str] = (),
    pyproject: Path | None = None,
) -> list[Gate]:
    """The suite thresholds: pyproject's table overridden by ``thresholds``, key by key.

    With neither given, the suite gates the shards ran with (they must agree).
    """
    from pytest_ragops.gates import parse_gates, parse_threshold

    gates: dict[str, Gate] = {}
    if pyproject is not None:
        from pytest_ragops.settings import load_pyproject

        table = load_pyproject(pyproject).get("thresholds", {})
        if not isinstance(table, dict):
            raise RagopsError(
                "must be a table of METRIC = VALUE", path=str(pyproject), field="thresholds"
            )
        gates.update((g.key, g) for g in parse_gates(table, f"{pyproject}: thresholds"))
    for text in thresholds:
        gate = parse_threshold(text, "--threshold")
        gates[gate.key] = gate
    if gates or pyproject is not None:
        return list(gates.values())
    seen: dict[str, tuple[tuple[str, float], ...]] = {}
    for path, data in shards:
        # In the order the shard ran them, which is the order an unsharded run reports.
        seen[path] = tuple(
            (str(g["key"]), float(g["bound"])) for g in data["gates"] if g["scope"] == "suite"
        )
    first_path, first = next(iter(seen.items()))
    for path, keys in seen.items():
        if sorted(keys) != sorted(first):
            raise RagopsError(
                f"suite gates {dict(keys)} differ from {dict(first)} of {first_path}; "
                "pass --threshold or --pyproject",
                path=path,
                field="gates",
            )
    return parse_gates(dict(first), "shard reports: gates")


def merge_reports(
    shards: Sequence[tuple[str, Mapping[str, Any]]],
    gates: Sequence[Gate],
    baseline: Mapping[str, Any] | None = None,
    baseline_path: str | None = None,
) -> MergeResult:
    """One report over all shards' records, with the suite gated once."""
    from pytest_ragops.gates import evaluate_gates
    from pytest_ragops.report.markdown import render_markdown
    from pytest_ragops.report.model import build_report
    from pytest_ragops.results import Record

    by_test: dict[str, list[Record]] = {}
    test_gates: list[dict[str, Any]] = []
    lost: list[str] = []
    shard_info: list[dict[str, Any]] = []
    for path, data in shards:
        for rec in data["records"]:
            record = Record.from_dict(rec)
            by_test.setdefault(record.test_id, []).append(record)
        test_gates += [dict(g) for g in data["gates"] if g["scope"] != "suite"]
        shard_run = data.get("run") or {}
        lost += [f"{path}: {w}" for w in shard_run.get("lost_workers") or []]
        shard_info.append(
            {
                "path": path,
                "passed": shard_verdict(data) is None,
                "failure": shard_verdict(data),
                "records": len(data["records"]),
                "pytest_exitstatus": shard_run.get("pytest_exitstatus"),
            }
        )
    # The order an unsharded run holds them in (tests sorted), so bootstrap intervals match.
    records = [r for test in sorted(by_test) for r in by_test[test]]
    suite = evaluate_gates(gates, records)
    judges = sorted({str(d.get("judge")) for _, d in shards})
    first_run = dict(shards[0][1].get("run") or {})
    run: dict[str, Any] = {**first_run, "shards": shard_info}
    run.pop("pytest_exitstatus", None)
    run.pop("pytest_outcomes", None)
    if lost:
        run["lost_workers"] = lost
    report = build_report(
        records,
        suite,
        judge=", ".join(judges),
        run=run,
        baseline=baseline,
        baseline_path=baseline_path,
    )
    report["gates"].extend(sorted(test_gates, key=lambda g: (g["scope"], g["key"])))
    summary = report["summary"]
    summary["gates"] = len(report["gates"])
    summary["gates_failed"] = sum(not g["passed"] for g in report["gates"])
    failures = []
    if summary["gates_failed"]:
        failures.append(f"{summary['gates_failed']} of {summary['gates']} gates failed")
    if lost:
        failures.append(f"lost xdist workers: {', '.join(lost)}")
    failures += [f"shard {s['path']}: {s['failure']}" for s in shard_info if s["failure"]]
    summary["failures"] = failures
    summary["passed"] = not failures
    return MergeResult(report, render_markdown(report))
