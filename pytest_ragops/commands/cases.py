"""``ragops cases``: validate golden case files before spending money on an eval."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    SubParsers = argparse._SubParsersAction[argparse.ArgumentParser]

__all__ = ["register"]


def register(subparsers: SubParsers) -> None:
    """Add ``ragops cases validate``."""
    parser = subparsers.add_parser(
        "cases", help="Validate golden case files", description="Validate golden case files."
    )
    sub = parser.add_subparsers(dest="cases_command", metavar="ACTION", required=True)
    validate = sub.add_parser(
        "validate",
        help="Check YAML/JSONL case files; exit 2 naming the file and case at fault",
        description="Check YAML/JSONL case files; exit 2 naming the file and case at fault.",
    )
    validate.add_argument("paths", nargs="+", metavar="PATH", help="Case files to check")
    validate.set_defaults(handler=_validate)


def _validate(args: argparse.Namespace) -> int:
    from pytest_ragops.cases import load_cases

    for path in args.paths:
        cases = load_cases(path)
        print(f"{path}: {len(cases)} cases OK")
    return 0
