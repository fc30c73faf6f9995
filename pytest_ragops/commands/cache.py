"""``ragops cache stats|prune``: inspect and trim the judge-call cache."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from pytest_ragops.judge.cache import CacheStore

    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["register"]


def register(subparsers: SubParsers) -> None:
    """Add ``ragops cache stats`` and ``ragops cache prune``."""
    parser = subparsers.add_parser(
        "cache", help="Inspect or prune the judge cache", description="The judge-call cache."
    )
    sub = parser.add_subparsers(dest="cache_command", metavar="ACTION", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--cache-dir",
        type=Path,
        default=Path(".ragops/cache"),
        metavar="PATH",
        help="Cache directory (default: .ragops/cache)",
    )
    stats = sub.add_parser(
        "stats",
        parents=[common],
        help="Entries per judge and metric, mean tokens, size",
        description="Entries per judge label and metric, mean tokens per entry, file size.",
    )
    stats.add_argument("--json", action="store_true", help="Print JSON instead of a table")
    stats.set_defaults(handler=_stats)
    prune = sub.add_parser(
        "prune",
        parents=[common],
        help="Delete entries by age or judge label",
        description="Delete cache entries unused for DAYS and/or whose judge label starts with "
        "PREFIX (e.g. an old prompt version). One filter, or --all, is required.",
    )
    prune.add_argument("--older-than", type=float, metavar="DAYS", help="Unused for DAYS days")
    prune.add_argument("--judge", metavar="PREFIX", help="Judge label prefix, e.g. anthropic:")
    prune.add_argument("--all", action="store_true", help="Delete every entry")
    prune.set_defaults(handler=_prune)


def _open(directory: Path) -> CacheStore:
    from pytest_ragops.judge.cache import DB_NAME, CacheStore

    if not (directory / DB_NAME).is_file():
        raise RagopsError("no judge cache here", path=str(directory / DB_NAME))
    return CacheStore(directory)


def _stats(args: argparse.Namespace) -> int:
    store = _open(args.cache_dir)
    try:
        data = store.stats()
    finally:
        store.close()
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    print(f"{data['path']}: {data['entries']} entries, {data['bytes']} bytes")
    for g in data["groups"]:
        tokens = (
            f"{g['mean_input_tokens']:.0f} in / {g['mean_output_tokens']:.0f} out tokens"
            if g["mean_input_tokens"] is not None
            else "no usage"
        )
        print(f"  {g['judge']}  {g['metric']}: {g['entries']} ({tokens})")
    return 0


def _prune(args: argparse.Namespace) -> int:
    if args.older_than is None and args.judge is None and not args.all:
        raise RagopsError("prune needs --older-than DAYS, --judge PREFIX or --all", path="prune")
    if args.older_than is not None and not args.older_than >= 0:
        raise RagopsError(f"must be >= 0 days, got {args.older_than}", path="--older-than")
    store = _open(args.cache_dir)
    try:
        deleted = store.prune(
            older_than_s=None if args.older_than is None else args.older_than * 86400,
            judge_prefix=args.judge,
        )
    finally:
        store.close()
    print(f"pruned {deleted} entries")
    return 0
