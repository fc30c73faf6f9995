"""``ragops sync``: upload runs spooled while the tracking server was unreachable.

Idempotent: each spooled run carries a stable run key; a run already in the store is
not uploaded again, and a file is removed only once its run is there.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["register"]


def register(subparsers: SubParsers) -> None:
    """Add ``ragops sync [--spool DIR] [--mlflow URI] [--experiment NAME]``."""
    parser = subparsers.add_parser(
        "sync",
        help="Upload eval runs spooled while MLflow was unreachable",
        description="Upload every run in the spool directory to MLflow, oldest first, and "
        "remove each file once its run is in the store. A run already there is not uploaded "
        "twice. Exit 1 when any run could not be uploaded (it stays spooled).",
    )
    parser.add_argument(
        "--spool",
        type=Path,
        default=Path(".ragops/spool"),
        metavar="DIR",
        help="Spool directory (default: .ragops/spool)",
    )
    parser.add_argument(
        "--mlflow", metavar="URI", help="Tracking URI (default: the one each run was meant for)"
    )
    parser.add_argument(
        "--experiment", metavar="NAME", help="Experiment (default: the one each run was meant for)"
    )
    parser.set_defaults(handler=_sync)


def _sync(args: argparse.Namespace) -> int:
    from pytest_ragops.tracking.session import sync_spool

    outcomes = sync_spool(args.spool, uri=args.mlflow, experiment=args.experiment)
    if not outcomes:
        print(f"nothing to sync in {args.spool}")
        return 0
    failed = 0
    for o in outcomes:
        if o.error is not None:
            failed += 1
            print(f"FAILED {o.path}: {o.error}")
        elif o.result is not None and o.result.already_logged:
            print(
                f"already logged {o.path.name}: run {o.result.session_run_id} (not uploaded again)"
            )
        elif o.result is not None:
            print(
                f"uploaded {o.path.name}: run {o.result.session_run_id} "
                f"({len(o.result.variant_runs)} variants, {o.result.traces} traces) "
                f"to {o.result.uri}"
            )
    print(f"{len(outcomes) - failed} of {len(outcomes)} spooled runs in the store")
    return 1 if failed else 0
