"""``ragops judge agreement``: how well a judge agrees with human labels."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from pytest_ragops.judge.base import Score
    from pytest_ragops.judge.labels import LabelledItem

    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["judge_items", "register"]


def register(subparsers: SubParsers) -> None:
    """Add ``ragops judge agreement LABELS.yaml``."""
    parser = subparsers.add_parser(
        "judge",
        help="Measure a judge against human labels",
        description="Measure a judge: agreement with a human-labelled set.",
    )
    sub = parser.add_subparsers(dest="judge_command", metavar="ACTION")
    sub.required = True
    agree = sub.add_parser(
        "agreement",
        help="Score a labelled set and print agreement with the human labels",
        description="Score a human-labelled set (question, answer, contexts, a label per "
        "metric) with a judge and print, per metric and split, AUC, accuracy and Cohen's "
        "kappa at the threshold and Spearman's rho, each with a seeded 95%% bootstrap "
        "interval, then a per-kind table. Give 'shipped' for the set shipped with "
        "pytest-ragops.",
    )
    agree.add_argument(
        "labels",
        nargs="+",
        help="Labels files (YAML), read as one set; 'shipped' = the shipped tune set "
        "(labels.yaml, heldout.yaml, tune2.yaml, heldout2.yaml ... heldout6.yaml) and test "
        "split (heldout7.yaml ... heldout11.yaml)",
    )
    agree.add_argument(
        "--judge", default="offline", help="Judge name, as --ragops-judge (default: offline)"
    )
    agree.add_argument(
        "--split",
        choices=("all", "tune", "test"),
        default="all",
        help="Which items to score: all (figures for all, tune and test), tune or test "
        "(default: all)",
    )
    agree.add_argument(
        "--threshold",
        type=_unit_float,
        metavar="X",
        help="Verdict threshold for every metric, in [0, 1] (default: per metric, as documented)",
    )
    agree.add_argument("--json", action="store_true", help="Print the figures as JSON")
    agree.add_argument(
        "--seed", type=int, default=0, help="Bootstrap seed (default: 0); same seed, same figures"
    )
    agree.set_defaults(handler=_agreement)


def judge_items(name: str, items: Sequence[LabelledItem]) -> list[list[Score]]:
    """Score every item with the judge ``name``: the one place that calls a judge.

    Each item is asked only for the metrics it has labels for.
    """
    import asyncio

    from pytest_ragops.judge import make_judge
    from pytest_ragops.judge.validate import CheckedJudge
    from pytest_ragops.session import EvalSession

    # The same engine as a pytest session: async judges on one loop, one limit, the
    # validating wrapper (a judge error is a missing score, never a number).
    session = EvalSession(8)
    judge = CheckedJudge(make_judge(name), run_sync=session.in_pool)
    session.judge = judge

    async def one(item: LabelledItem) -> list[Score]:
        metrics = tuple(item.labels)
        if judge.scores_together:
            async with session.limit:
                return await judge.ascore(item.sample, metrics)

        async def metric(m: str) -> list[Score]:
            async with session.limit:
                return await judge.ascore(item.sample, (m,))

        parts = await asyncio.gather(*(metric(m) for m in metrics))
        return [s for part in parts for s in part]

    async def all_items() -> list[list[Score]]:
        return list(await asyncio.gather(*(one(i) for i in items)))

    try:
        return session.run(all_items)
    finally:
        session.close()


def _agreement(args: argparse.Namespace) -> int:
    from pytest_ragops.judge.agreement import DEFAULT_THRESHOLDS, pairs_of, summarize
    from pytest_ragops.judge.labels import SHIPPED, load_label_files

    paths = [p for name in args.labels for p in (SHIPPED if name == "shipped" else (Path(name),))]
    items = load_label_files(paths)
    if args.split != "all":
        items = [i for i in items if i.split == args.split]
    scores = judge_items(args.judge, items)
    thresholds = {
        m: args.threshold if args.threshold is not None else t
        for m, t in DEFAULT_THRESHOLDS.items()
    }
    splits = ("all", "tune", "test") if args.split == "all" else (args.split,)
    summary = summarize(pairs_of(items, scores), thresholds, splits, seed=args.seed)
    summary = {
        "labels": ", ".join(map(str, paths)),
        "judge": args.judge,
        "items": len(items),
        **summary,
    }
    if args.json:
        print(json.dumps(summary, indent=2, sort_keys=True))
    else:
        print(render(summary))
    return 0


def render(summary: dict[str, Any]) -> str:
    """The plain-text report: per split and metric the four statistics, then per kind."""
    lines = [f"{summary['labels']}: {summary['items']} items, judge {summary['judge']}"]
    for split, metrics in summary["splits"].items():
        for metric, fig in metrics.items():
            stats = "  ".join(f"{name} {_fmt(fig[name])}" for name in ("auc", "accuracy"))
            rest = "  ".join(f"{name} {_fmt(fig[name])}" for name in ("kappa", "spearman"))
            lines.append(
                f"[{split}] {metric} (n={fig['n']}, errors={fig['errors']}, "
                f"threshold {fig['threshold']:g}): {stats}  {rest}"
            )
    kinds: dict[str, dict[str, Any]] = summary["kinds"]
    metrics_seen = sorted({m for per in kinds.values() for m in per})
    lines.append("")
    lines.append("kind".ljust(22) + "".join(f"{m[:16]:>22}" for m in metrics_seen))
    for kind, per in kinds.items():
        cells = []
        for m in metrics_seen:
            k = per.get(m)
            cells.append(
                f"{k['correct']}/{k['n']} ({_num(k['mean_score'])})".rjust(22)
                if k
                else "-".rjust(22)
            )
        lines.append(kind.ljust(22) + "".join(cells))
    lines.append("(each cell: correct verdicts / items, mean score)")
    for err in summary["errors"]:
        lines.append(f"error: {err['id']} {err['metric']}: {err['error']}")
    return "\n".join(lines)


def _fmt(stat: dict[str, float | None]) -> str:
    if stat["value"] is None:
        return "n/a"
    if stat["low"] is None or stat["high"] is None:
        return f"{stat['value']:.3f}"
    return f"{stat['value']:.3f} [{stat['low']:.3f}, {stat['high']:.3f}]"


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}"


def _unit_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be in [0, 1], got {text}")
    return value
