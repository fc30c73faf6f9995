"""``ragops drift``: simulate traffic, check for drift, name topics, plot, prune.

Handlers are a few lines over :mod:`pytest_ragops.drift`; heavy imports happen inside them.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse
    from datetime import datetime

    from pytest_ragops.drift import RetrievalLog

__all__ = ["register"]


def _now(args: argparse.Namespace) -> datetime | None:
    from pytest_ragops.drift.schema import parse_when

    return parse_when(args.now) if args.now else None


def _open(args: argparse.Namespace, *, create: bool = True) -> RetrievalLog:
    from pytest_ragops.drift import RetrievalLog

    return RetrievalLog(args.db, create=create)


def _dump(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


def _simulate(args: argparse.Namespace) -> int:
    from pytest_ragops.drift.simulate import simulate

    with _open(args) as log:
        if args.replace:
            log.clear()
        summary = simulate(
            log,
            days=args.days,
            queries_per_day=args.queries_per_day,
            shift_day=None if args.no_shift else args.shift_day,
            shift_fraction=args.shift_fraction,
            seed=args.seed,
            end=_now(args),
        )
    if args.json:
        _dump(summary)
    else:
        shift = (
            f"shift from day {summary['shift_day']} toward "
            f"{', '.join(summary['uncovered_topics'])} "
            f"({summary['shift_fraction']:.0%} of queries)"
            if summary["shift_day"] is not None
            else "no shift (control)"
        )
        print(f"wrote {summary['rows']} queries over {summary['days']} days to {args.db}: {shift}")
    return 0


def _check(args: argparse.Namespace) -> int:
    import sys

    from pytest_ragops.drift.log import Periods
    from pytest_ragops.drift.stats import validate_params
    from pytest_ragops.errors import RagopsError

    now = _now(args)  # bad options are exit 2 before the database is looked at
    Periods(args.window_days, args.baseline_days, now)
    validate_params(args.min_samples, args.min_drop, args.alpha, 0.95)
    try:
        log = _open(args, create=False)  # a check never creates the log it reads
    except RagopsError as exc:
        if not args.fail_on_drift:
            raise  # bad input: exit 2
        print(f"ragops: drift check failed: {exc}", file=sys.stderr)
        return 1
    with log:
        result = log.check_drift(
            args.window_days,
            args.baseline_days,
            now,
            min_samples=args.min_samples,
            min_drop=args.min_drop,
            alpha=args.alpha,
            test=args.test,
        )
    if args.json:
        _dump(result)
    else:

        def num(value: float | None) -> str:
            return "n/a" if value is None else f"{value:.4f}"

        ci = result["delta_ci"]
        ci_text = f"[{ci[0]:.4f}, {ci[1]:.4f}]" if ci else "n/a"
        p = result["p_value"]
        print(f"status: {result['status']}")
        print(
            f"recent mean:   {num(result['recent_avg_score'])} (n={result['recent_count']}, "
            f"last {result['window_days']:g} days)"
        )
        print(
            f"baseline mean: {num(result['baseline_avg_score'])} "
            f"(n={result['baseline_count']}, {result['baseline_days']:g} days before)"
        )
        print(
            f"delta: {num(result['delta'])} {result['confidence']:.0%} CI {ci_text}; "
            f"p={'n/a' if p is None else f'{p:.3g}'} ({result['test']}, one-sided)"
        )
        print(f"action: {result['action']}")
    if not args.fail_on_drift:
        return 0
    if result["recent_count"] == 0:
        print(
            f"ragops: drift check failed: {args.db}: no query logged in the recent window "
            f"({result['window_days']:g} days); is the app still logging?",
            file=sys.stderr,
        )
        return 1
    return 1 if result["status"] == "drift" else 0


def _topics(args: argparse.Namespace) -> int:
    with _open(args) as log:
        topics = log.drift_topics(
            args.n_clusters,
            args.score_threshold,
            args.limit,
            _now(args),
            window_days=args.window_days,
            baseline_days=args.baseline_days,
            embedder=args.embedder,
        )
    topics = topics[: args.top] if args.top else topics
    if args.json:
        _dump(topics)
        return 0
    if not topics:
        print("no low-scoring queries in the recent window")
    for t in topics:
        print(
            f"{t['rank']}. {', '.join(t['keywords'])} — {t['count']} queries, "
            f"mean score {t['mean_score']:.3f}, share {t['recent_share']:.1%} "
            f"(baseline {t['baseline_share']:.1%})"
        )
        for q in t["sample_queries"]:
            print(f"     e.g. {q}")
    return 0


def _plot(args: argparse.Namespace) -> int:
    from pytest_ragops.drift.plot import plot_drift

    with _open(args) as log:
        path = plot_drift(
            log,
            args.output,
            window_days=args.window_days,
            baseline_days=args.baseline_days,
            now=_now(args),
            min_drop=args.min_drop,
        )
    print(f"wrote {path}")
    return 0


def _prune(args: argparse.Namespace) -> int:
    with _open(args) as log:
        deleted = log.prune(args.older_than_days, _now(args))
    print(f"deleted {deleted} entries older than {args.older_than_days:g} days from {args.db}")
    return 0


def _common(p: argparse.ArgumentParser, *, periods: bool = True) -> None:
    p.add_argument(
        "--db",
        default="drift.db",
        help="SQLite file or SQLAlchemy URL of the retrieval log (default: drift.db)",
    )
    p.add_argument(
        "--now", metavar="ISO", help="Evaluate as of this time (default: now; naive = UTC)"
    )
    if periods:
        p.add_argument(
            "--window-days",
            type=float,
            default=7.0,
            help="Length of the recent window (default: 7)",
        )
        p.add_argument(
            "--baseline-days",
            type=float,
            default=30.0,
            help="Length of the baseline just before the window (default: 30)",
        )


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``ragops drift`` and its sub-commands."""
    drift = subparsers.add_parser(
        "drift",
        help="Query-drift detection over the retrieval log",
        description="Detect users drifting toward what the corpus does not cover.",
    )
    sub = drift.add_subparsers(dest="drift_command", metavar="ACTION")
    sub.required = True

    p = sub.add_parser(
        "simulate",
        help="Write synthetic queries (with a topic shift) to the log",
        description="Write days of synthetic queries over the example corpus's "
        "topics; from --shift-day on, a fraction drifts to 3 uncovered topics.",
    )
    _common(p, periods=False)
    p.add_argument("--days", type=int, default=14, help="Days of traffic, ending now (default: 14)")
    p.add_argument("--queries-per-day", type=int, default=200, help="Default: 200")
    p.add_argument(
        "--shift-day", type=int, default=7, help="First shifted day, 0 = first day (default: 7)"
    )
    p.add_argument(
        "--shift-fraction",
        type=float,
        default=0.4,
        help="Share of off-corpus queries after the shift (default: 0.4)",
    )
    p.add_argument("--no-shift", action="store_true", help="Control run with no shift")
    p.add_argument("--seed", type=int, default=0, help="Random seed (default: 0)")
    p.add_argument("--replace", action="store_true", help="Delete existing entries first")
    p.add_argument("--json", action="store_true", help="Print a JSON summary")
    p.set_defaults(handler=_simulate)

    p = sub.add_parser(
        "check",
        help="Compare recent retrieval scores with the baseline",
        description="Status is drift only when the mean drops by more than "
        "--min-drop and a one-sided test is significant at --alpha.",
    )
    _common(p)
    p.add_argument(
        "--min-samples",
        type=int,
        default=30,
        help="Fewer scores per period gives insufficient_data (default: 30)",
    )
    p.add_argument(
        "--min-drop",
        type=float,
        default=0.05,
        help="Smallest mean drop that matters (default: 0.05)",
    )
    p.add_argument("--alpha", type=float, default=0.05, help="Significance level (default: 0.05)")
    p.add_argument(
        "--test",
        choices=("mannwhitney", "ks"),
        default="mannwhitney",
        help="Two-sample test (default: mannwhitney)",
    )
    p.add_argument(
        "--fail-on-drift",
        action="store_true",
        help="Exit 1 when the status is drift, or the database is missing or logged "
        "nothing in the recent window",
    )
    p.add_argument("--json", action="store_true", help="Print the result as JSON")
    p.set_defaults(handler=_check)

    p = sub.add_parser(
        "topics",
        help="Name the topics of recent low-scoring queries",
        description="Cluster recent low-scoring queries and rank the clusters "
        "by their growth against the baseline: what to index next.",
    )
    _common(p)
    p.add_argument("--n-clusters", type=int, help="Number of clusters (default: by silhouette)")
    p.add_argument(
        "--score-threshold",
        type=float,
        default=0.4,
        help="Queries scoring below this are low (default: 0.4)",
    )
    p.add_argument(
        "--limit",
        type=int,
        default=500,
        help="Most recent low-scoring queries to cluster (default: 500)",
    )
    p.add_argument(
        "--embedder",
        default="tfidf",
        help="tfidf or sentence-transformers[:MODEL] (default: tfidf)",
    )
    p.add_argument("--top", type=int, default=0, help="Show only the top N topics")
    p.add_argument("--json", action="store_true", help="Print the topics as JSON")
    p.set_defaults(handler=_topics)

    p = sub.add_parser("plot", help="Write a PNG of daily mean scores against the baseline band")
    _common(p)
    p.add_argument("--output", "-o", default="drift.png", help="PNG path (default: drift.png)")
    p.add_argument(
        "--min-drop",
        type=float,
        default=0.05,
        help="Half-width of the baseline band (default: 0.05)",
    )
    p.set_defaults(handler=_plot)

    p = sub.add_parser("prune", help="Delete old entries (retention)")
    _common(p, periods=False)
    p.add_argument(
        "--older-than-days",
        type=float,
        required=True,
        help="Delete entries older than this many days",
    )
    p.set_defaults(handler=_prune)
