"""``ragops flags``: validate a flag file, evaluate a flag for a user, show stable buckets."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    import argparse

    from pytest_ragops.flags.store import FeatureFlags

__all__ = ["register"]

_FILE_HELP = "Flag file (default: $RAGOPS_FLAGS, else flags.yaml)"


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``flags check``, ``flags eval`` and ``flags bucket``."""
    parser = subparsers.add_parser(
        "flags",
        help="Validate feature flags, evaluate them for a user, show users' stable buckets",
        description="Feature flags with percentage rollout (fractions: 0.2 = 20%). A user's "
        "bucket is the first 8 bytes of sha256('FLAG:USER') as a fraction of 2**64 (top 53 "
        "bits); the flag is on when the bucket is below rollout_pct.",
    )
    sub = parser.add_subparsers(dest="flags_command", metavar="ACTION")
    sub.required = True

    check = sub.add_parser(
        "check",
        help="Validate a flag file and list its flags",
        description="Validate a flag file (unknown keys, fractions outside 0-1, variant weights "
        "not summing to 1, duplicate flags) and list its flags. Exit 0 valid, 1 valid but with "
        "rules that can never apply (a user both allowed and denied, an allow list on a "
        "disabled flag), 2 invalid or unreadable.",
    )
    check.add_argument("file", nargs="?", metavar="FILE", help=_FILE_HELP)
    check.add_argument("--json", action="store_true", help="Print one JSON object")
    check.set_defaults(handler=_check)

    evaluate = sub.add_parser(
        "eval",
        help="Evaluate one flag for one user and say why",
        description="Print whether FLAG is on for the user, the variant, the reason (disabled, "
        "deny, allow, rollout) and the user's bucket. Exit 0, or 2 if the flag is not defined "
        "or the file is invalid.",
    )
    evaluate.add_argument("flag", metavar="FLAG", help="Flag name")
    evaluate.add_argument("--user", "-u", required=True, metavar="U", help="User id")
    evaluate.add_argument("--file", "-f", metavar="FILE", help=_FILE_HELP)
    evaluate.add_argument(
        "--rollout-pct",
        type=float,
        metavar="X",
        help="Use this fraction instead of the flag's rollout_pct (0.2 = 20%%)",
    )
    evaluate.add_argument("--json", action="store_true", help="Print one JSON object")
    evaluate.set_defaults(handler=_eval)

    bucket = sub.add_parser(
        "bucket",
        help="Print users' stable buckets in [0, 1) for a flag (no flag file needed)",
        description="Print each user's bucket for FLAG, the number compared with rollout_pct; "
        "the same on every machine and process. Exit 0.",
    )
    bucket.add_argument("flag", metavar="FLAG", help="Flag name (or canary salt)")
    bucket.add_argument("users", nargs="+", metavar="USER", help="User ids")
    bucket.add_argument("--json", action="store_true", help="Print one JSON object")
    bucket.set_defaults(handler=_bucket)


def _path(value: str | None) -> str:
    return value or os.environ.get("RAGOPS_FLAGS") or "flags.yaml"


def _load(path: str) -> FeatureFlags:
    from pytest_ragops.flags.store import FeatureFlags

    return FeatureFlags.from_yaml(path)


def _problems(store: FeatureFlags) -> list[str]:
    problems = []
    for name, flag in sorted(store.flags.items()):
        both = sorted(flag.allow & flag.deny)
        if both:
            problems.append(f"flag '{name}': in both allow and deny (deny wins): {', '.join(both)}")
        if not flag.enabled and flag.allow:
            problems.append(f"flag '{name}': allow list has no effect while enabled is false")
    return problems


def _check(args: argparse.Namespace) -> int:
    path = _path(args.file)
    store = _load(path)
    problems = _problems(store)
    if args.json:
        flags = {
            name: {
                "enabled": f.enabled,
                "rollout_pct": f.rollout_pct,
                "variants": dict(f.variants),
                "allow": len(f.allow),
                "deny": len(f.deny),
            }
            for name, f in sorted(store.flags.items())
        }
        print(json.dumps({"path": path, "valid": True, "flags": flags, "problems": problems}))
    else:
        print(f"{path}: {len(store)} flag(s) valid")
        for name, f in sorted(store.flags.items()):
            state = f"{f.rollout_pct:.0%}" if f.enabled else "disabled"
            variants = ", ".join(f"{v}={w:g}" for v, w in f.variants)
            extra = f"  variants: {variants}" if variants else ""
            print(f"  {name:<28} {state:>8}  allow {len(f.allow)}  deny {len(f.deny)}{extra}")
        for problem in problems:
            print(f"problem: {problem}")
    return 1 if problems else 0


def _eval(args: argparse.Namespace) -> int:
    path = _path(args.file)
    store = _load(path)
    if args.flag not in store:
        raise RagopsError(
            f"not defined (flags: {', '.join(sorted(store.flags))})",
            path=path,
            field=f"flag '{args.flag}'",
        )
    result = store.explain(args.flag, args.user, args.rollout_pct)
    if args.json:
        print(json.dumps({
            "flag": result.flag, "user": result.user_id, "enabled": result.enabled,
            "variant": result.variant, "reason": result.reason, "bucket": result.bucket,
        }))  # fmt: skip
    else:
        state = "on" if result.enabled else "off"
        variant = f", variant {result.variant}" if result.variant not in (None, "on") else ""
        print(
            f"{result.flag} for {result.user_id!r}: {state}{variant} "
            f"(reason: {result.reason}, bucket {result.bucket:.6f})"
        )
    return 0


def _bucket(args: argparse.Namespace) -> int:
    from pytest_ragops.flags.bucketing import bucket

    values = {user: bucket(args.flag, user) for user in args.users}
    if args.json:
        print(json.dumps({"flag": args.flag, "buckets": values}))
    else:
        for user, value in values.items():
            print(f"{user}\t{value:.6f}")
    return 0
