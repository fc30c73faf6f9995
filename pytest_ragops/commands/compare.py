"""``ragops compare``: diff a report against a baseline and render the PR comment body."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["register"]


def register(subparsers: SubParsers) -> None:
    """Add ``ragops compare BASELINE CURRENT``."""
    parser = subparsers.add_parser(
        "compare",
        help="Diff a JSON report against a baseline report",
        description="Diff a JSON report against a baseline report: metric deltas and the "
        "cases that regressed. Exit 1 with --fail-on-regression when any case regressed.",
    )
    parser.add_argument("baseline", type=Path, help="Earlier report.json (e.g. from main)")
    parser.add_argument("current", type=Path, help="This run's report.json")
    parser.add_argument(
        "--markdown", type=Path, metavar="PATH", help="Write the Markdown report with deltas here"
    )
    parser.add_argument("--json", action="store_true", help="Print the comparison as JSON")
    parser.add_argument(
        "--fail-on-regression", action="store_true", help="Exit 1 when any case regressed"
    )
    parser.set_defaults(handler=_compare)


def _compare(args: argparse.Namespace) -> int:
    from pytest_ragops.report.markdown import render_markdown
    from pytest_ragops.report.model import compare_reports, load_report, write_text_atomic

    baseline = load_report(args.baseline)
    current = load_report(args.current)
    comparison = compare_reports(baseline, current, str(args.baseline))
    if args.markdown is not None:
        write_text_atomic(render_markdown({**current, "baseline": comparison}), args.markdown)
    if args.json:
        print(json.dumps(comparison, indent=2, sort_keys=True))
    else:
        for name, delta in sorted(comparison["deltas"].items()):
            if delta is not None and name.endswith(("_mean", "_usd", "_s", "pass_rate")):
                print(f"{name}: {current['metrics'][name]:.4f} ({delta:+.4f})")
        print(f"{len(comparison['regressed'])} cases regressed")
        for r in comparison["regressed"]:
            changes = ", ".join(
                f"{m} {'lost' if d is None else f'{d:+.3f}'}" for m, d in r["deltas"].items()
            )
            print(f"  {r['case_id']} [{r['variant'] or '-'}]: {changes}")
    return 1 if args.fail_on_regression and comparison["regressed"] else 0
