"""Flag evaluation throughput: ``is_enabled`` evaluations per second (target >= 500,000/s).

Run ``python benchmarks/flags.py [--users N] [--repeat R]``. Every call hashes a distinct
user id (no caching of answers), as in production traffic. Prints the best of R runs.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import tempfile
import time
from typing import TYPE_CHECKING

from pytest_ragops.flags import CanaryRouter, FeatureFlags, bucket, clear_flags_cache, is_enabled

if TYPE_CHECKING:
    from collections.abc import Callable

TARGET = 500_000
FLAG = "new_prompt_v3"


def rate(fn: Callable[[list[str]], object], users: list[str], repeat: int) -> float:
    """Best evaluations per second over ``repeat`` passes over ``users``."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn(users)
        best = min(best, time.perf_counter() - start)
    return len(users) / best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    users = [f"user-{i}" for i in range(args.users)]
    store = FeatureFlags(
        {
            "new_prompt_v3": {"rollout_pct": 0.2, "allow": ["qa"], "deny": ["acme"]},
            "style": {"variants": {"a": 0.5, "b": 0.5}},
        }
    )
    router = CanaryRouter(0.05)
    check = store.is_enabled

    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "flags.yaml")
        with open(path, "w", encoding="utf-8") as handle:
            handle.write("new_prompt_v3: {rollout_pct: 0.2}\n")
        os.environ["RAGOPS_FLAGS"] = path
        clear_flags_cache()
        variant = store.variant
        route = router.route
        sha, blake = hashlib.sha256, hashlib.blake2b
        cases: list[tuple[str, Callable[[list[str]], object]]] = [
            ("FeatureFlags.is_enabled (20% rollout)", lambda us: [check(FLAG, u) for u in us]),
            ("module is_enabled ($RAGOPS_FLAGS)", lambda us: [is_enabled(FLAG, u) for u in us]),
            ("is_enabled(rollout_pct=0.5)", lambda us: [check(FLAG, u, 0.5) for u in us]),
            ("FeatureFlags.variant (2 variants)", lambda us: [variant("style", u) for u in us]),
            ("CanaryRouter.route (5%)", lambda us: [route(u) for u in us]),
            ("bucket() float", lambda us: [bucket(FLAG, u) for u in us]),
            ("raw sha256, first 8 bytes", lambda us: [
                int.from_bytes(sha(b"f:" + u.encode()).digest()[:8], "big") for u in us
            ]),
            ("raw blake2b(digest_size=8)", lambda us: [
                int.from_bytes(blake(b"f:" + u.encode(), digest_size=8).digest(), "big")
                for u in us
            ]),
        ]  # fmt: skip
        print(
            f"python {sys.version.split()[0]}, {args.users:,} distinct users, best of {args.repeat}"
        )
        print(f"{'case':<42} {'evals/s':>12} {'vs 500k/s':>10}")
        for name, fn in cases:
            per_second = rate(fn, users, args.repeat)
            print(f"{name:<42} {per_second:>12,.0f} {per_second / TARGET:>9.2f}x")
        clear_flags_cache()
    return 0


if __name__ == "__main__":
    sys.exit(main())
