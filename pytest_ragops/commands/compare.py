"""``ragops compare``: diff a report against a baseline, or pick the winner among MLflow runs.

Report mode (``ragops compare BASELINE CURRENT``) diffs two JSON reports. MLflow mode
(``ragops compare --mlflow URI --experiment NAME``) lists the variant runs of a logged
session side by side and names the winner by a rule, with a paired-bootstrap test of its
lead over the runner-up.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["register"]


def register(subparsers: SubParsers) -> None:
    """Add ``ragops compare BASELINE CURRENT``."""
    parser = subparsers.add_parser(
        "compare",
        help="Diff two JSON reports, or pick the winning variant among MLflow runs",
        description="Diff a JSON report against a baseline report: metric deltas and the "
        "cases that regressed. Exit 1 with --fail-on-regression when any case regressed. "
        "With --mlflow: list a logged session's variant runs side by side and name the "
        "winner by --rule (default: highest faithfulness mean) within --budget, with a "
        "paired bootstrap over shared case ids saying whether its lead is significant. "
        "Exit 1 when no run qualifies.",
    )
    parser.add_argument(
        "baseline", type=Path, nargs="?", help="Earlier report.json (e.g. from main)"
    )
    parser.add_argument("current", type=Path, nargs="?", help="This run's report.json")
    mlflow = parser.add_argument_group("MLflow mode")
    mlflow.add_argument(
        "--mlflow", metavar="URI", help="Tracking URI to read runs from (switches MLflow mode on)"
    )
    mlflow.add_argument(
        "--experiment", default="ragops", metavar="NAME", help="MLflow experiment (default: ragops)"
    )
    mlflow.add_argument(
        "--session",
        metavar="RUN_ID",
        help="Session run whose variant runs to compare (default: the newest logged session)",
    )
    mlflow.add_argument(
        "--rule",
        default="max:faithfulness_mean",
        metavar="[max:|min:]METRIC",
        help="What decides the winner (default: max:faithfulness_mean)",
    )
    mlflow.add_argument(
        "--budget",
        type=float,
        metavar="USD",
        help="Only runs whose cost_per_query_usd is at most this can win (default: none)",
    )
    parser.add_argument(
        "--markdown", type=Path, metavar="PATH", help="Write the Markdown report with deltas here"
    )
    parser.add_argument("--json", action="store_true", help="Print the comparison as JSON")
    parser.add_argument(
        "--fail-on-regression", action="store_true", help="Exit 1 when any case regressed"
    )
    parser.set_defaults(handler=_compare, parser=parser)


def _compare(args: argparse.Namespace) -> int:
    if args.mlflow is not None:
        if args.baseline is not None or args.current is not None or args.markdown is not None:
            args.parser.error("--mlflow: not allowed with report files or --markdown")
        return _compare_mlflow(args)
    if args.baseline is None or args.current is None:
        args.parser.error("the following arguments are required: baseline, current (or --mlflow)")
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


_COLUMNS = ("faithfulness_mean", "answer_relevancy_mean", "cost_per_query_usd", "total_cost_usd")


def _compare_mlflow(args: argparse.Namespace) -> int:
    from pytest_ragops.errors import RagopsError
    from pytest_ragops.tracking.compare import choose_winner, parse_rule
    from pytest_ragops.tracking.reader import open_store, session_runs, variant_runs

    rule = parse_rule(args.rule)
    store = open_store(args.mlflow, args.experiment)
    if args.session is None:
        sessions = session_runs(store)
        if not sessions:
            raise RagopsError(f"no logged pytest-ragops session in {store.where()}")
        session_id = str(sessions[0].info.run_id)
    else:
        session_id = args.session
    runs = variant_runs(store, session_id)
    if not runs:
        raise RagopsError(f"session run {session_id} has no variant runs in {store.where()}")
    decision = choose_winner(runs, rule, args.budget)
    if args.json:
        print(json.dumps(_as_json(store.where(), session_id, runs, decision), indent=2))
    else:
        for line in _render(store.where(), session_id, runs, decision):
            print(line)
    return 0 if decision.winner is not None else 1


def _as_json(where: str, session_id: str, runs: list[Any], decision: Any) -> dict[str, Any]:
    return {
        "store": where,
        "session_run_id": session_id,
        "rule": {"metric": decision.rule.metric, "maximize": decision.rule.maximize},
        "budget": decision.budget,
        "runs": [
            {
                "variant": r.name,
                "run_id": r.run_id,
                "metrics": dict(sorted(r.metrics.items())),
                "prompt": {
                    "name": r.params.get("prompt_name") or None,
                    "version": r.params.get("prompt_version") or None,
                    "uri": r.tags.get("ragops.prompt_uri"),
                },
                "judge": r.params.get("judges") or r.params.get("judge"),
                "model": r.params.get("model"),
            }
            for r in runs
        ],
        "ranking": decision.ranking,
        "winner": decision.winner,
        "runner_up": decision.runner_up,
        "excluded": decision.excluded,
        "significance": None if decision.significance is None else decision.significance.to_dict(),
        "note": decision.note,
    }


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4f}" if abs(value) >= 0.01 else f"{value:.6f}"


def _render(where: str, session_id: str, runs: list[Any], decision: Any) -> list[str]:
    cols = list(dict.fromkeys([decision.rule.metric, *_COLUMNS]))
    header = ["variant", *cols, "prompt", "judge", "run"]
    rows = []
    for r in runs:
        prompt = r.tags.get("ragops.prompt_uri") or r.params.get("prompt_version") or "-"
        rows.append(
            [r.name, *(_fmt(r.metrics.get(c)) for c in cols), prompt, r.params.get("judge", "-"),
             r.run_id[:12]]
        )  # fmt: skip
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows, strict=True)]
    lines = [f"{where}, session run {session_id}: {len(runs)} variant runs"]
    for row in (header, *rows):
        lines.append("  ".join(str(x).ljust(w) for x, w in zip(row, widths, strict=True)).rstrip())
    budget = "none" if decision.budget is None else f"{decision.budget:g} USD/query"
    for name, why in sorted(decision.excluded.items()):
        lines.append(f"excluded {name}: {why}")
    if decision.winner is None:
        lines.append(f"no winner by {decision.rule.describe()} (budget {budget}): {decision.note}")
        return lines
    lines.append(f"winner: {decision.winner} by {decision.rule.describe()} (budget {budget})")
    sig = decision.significance
    if sig is None:
        lines.append(f"significance: not tested ({decision.note})")
    else:
        verdict = "significant" if sig.significant else "not significant"
        lines.append(
            f"lead over {decision.runner_up}: {sig.mean_difference:+.4f} {sig.metric} per case "
            f"({sig.confidence:.0%} CI {sig.ci_low:+.4f} to {sig.ci_high:+.4f}, paired bootstrap "
            f"over {sig.pairs} shared cases): {verdict}"
        )
    return lines
