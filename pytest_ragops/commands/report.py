"""``ragops report merge``: combine shard reports and gate once over all their records."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["register"]


def register(subparsers: SubParsers) -> None:
    """Add ``ragops report merge SHARD.json...``."""
    parser = subparsers.add_parser(
        "report",
        help="Work with JSON reports: merge shard reports",
        description="Work with pytest-ragops JSON reports.",
    )
    sub = parser.add_subparsers(dest="report_command", metavar="COMMAND")
    sub.required = True
    merge = sub.add_parser(
        "merge",
        help="Merge shard reports and gate once over all records",
        description="Merge the reports of a sharded suite (same commit, same schema version, "
        "each test in one shard) and evaluate the suite thresholds once over all records. "
        "Exit 1 when a gate fails or a shard's verdict failed, 2 on bad input.",
    )
    merge.add_argument("shards", nargs="+", type=Path, metavar="SHARD.json", help="Shard reports")
    merge.add_argument(
        "--out",
        type=Path,
        default=Path(".ragops/report.json"),
        metavar="PATH",
        help="Merged JSON report (default: .ragops/report.json)",
    )
    merge.add_argument(
        "--markdown",
        type=Path,
        default=Path(".ragops/report.md"),
        metavar="PATH",
        help="Merged Markdown report, the PR comment body (default: .ragops/report.md)",
    )
    merge.add_argument(
        "--threshold",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="Suite gate; repeatable; overrides --pyproject key by key",
    )
    merge.add_argument(
        "--pyproject",
        type=Path,
        metavar="PATH",
        help="Read [tool.ragops.thresholds] from this file (default: the shards' own suite "
        "gates when neither this nor --threshold is given)",
    )
    merge.add_argument(
        "--baseline", type=Path, metavar="PATH", help="Earlier report to diff the merge against"
    )
    merge.set_defaults(handler=_merge)


def _merge(args: argparse.Namespace) -> int:
    from pytest_ragops.report.merge import load_shards, merge_reports, suite_gates
    from pytest_ragops.report.model import load_report, write_report, write_text_atomic
    from pytest_ragops.report.terminal import render_gates

    shards = load_shards(args.shards)
    gates = suite_gates(shards, args.threshold, args.pyproject)
    baseline = None if args.baseline is None else load_report(args.baseline)
    result = merge_reports(
        shards, gates, baseline, None if args.baseline is None else str(args.baseline)
    )
    write_report(result.report, args.out)
    write_text_atomic(result.markdown, args.markdown)
    summary = result.report["summary"]
    for line in render_gates(result.report["gates"]):
        print(line)
    for shard in result.report["run"]["shards"]:
        if not shard["passed"]:
            print(f"FAILED shard {shard['path']}: {shard['failure']}")
    verdict = "passed" if result.passed else "failed"
    print(
        f"ragops report merge: {len(shards)} shards, {summary['records']} records, "
        f"{summary['gates_failed']} of {summary['gates']} gates failed: {verdict}; "
        f"wrote {args.out} and {args.markdown}"
    )
    return 0 if result.passed else 1
