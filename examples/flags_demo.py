"""A/B demo: roll ``new_prompt_v3`` and ``use_reranker`` out to 20% of users, compare arms.

Run ``python examples/flags_demo.py``. For each flag it shows which users got which arm,
then compares the arms' eval metrics with a two-sided Mann-Whitney U test.

Where the per-user metric values come from (``--source``):

- ``app`` (the default when ``examples/ragapp`` imports): each user asks one golden
  question (picked by a stable hash of the user id); the example app answers it with the
  ``baseline`` prompt in the control arm, or the arm's stand-in prompt (``concise`` for
  ``new_prompt_v3``; ``wide_context``, six passages, for ``use_reranker``, since the app has
  no reranker), and the offline judge scores the answer. Offline generator unless
  ``$RAGAPP_GENERATOR`` says otherwise.
- ``simulate``: a seeded simulation in which the new prompt raises faithfulness and the
  reranker raises context precision at some latency cost; illustrative numbers only.
- ``--metrics FILE``: a CSV with columns ``flag,user_id,metric,value`` (e.g. exported from
  an eval run), overriding both.

After each report the :class:`CanaryJudge` gives the verdict a progressive rollout would
act on (promote, rollback or inconclusive). In ``app`` mode users who drew the same golden
question share a score, so samples are clustered and p-values are optimistic; use many
distinct questions (or per-user sessions) for real decisions.
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ragops.flags import CanaryJudge, FeatureFlags, ab_report, assign_arms, bucket

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

HERE = Path(__file__).resolve().parent
FLAGS = ("new_prompt_v3", "use_reranker")
#: metric -> (control mean, spread); the simulation's baseline.
BASELINE = {
    "faithfulness": (0.78, 0.10),
    "context_precision": (0.70, 0.12),
    "latency_s": (1.2, 0.25),
}
#: flag -> metric -> shift of the treatment arm's mean in the simulation.
EFFECTS = {
    "new_prompt_v3": {"faithfulness": 0.05, "context_precision": 0.0, "latency_s": 0.05},
    "use_reranker": {"faithfulness": 0.01, "context_precision": 0.08, "latency_s": 0.30},
}

#: flag -> prompt variant the treatment arm uses in ``app`` mode (control: ``baseline``).
APP_VARIANTS = {"new_prompt_v3": "concise", "use_reranker": "wide_context"}

Metrics = dict[str, dict[str, float | None]]  # user -> metric -> value (None: not scored)


def app_scorer() -> Callable[[str, str], dict[str, float | None]] | None:
    """Return ``score(user, prompt_variant)`` backed by the example app, or ``None``."""
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))  # ragapp lives next to this file
    try:
        from ragapp.app import answer

        from pytest_ragops.cases import load_cases
        from pytest_ragops.judge.base import Sample
        from pytest_ragops.judge.offline import OfflineJudge
    except ImportError:
        return None
    os.environ.setdefault("RAGAPP_GENERATOR", "offline")  # deterministic, no API calls
    cases = load_cases(HERE / "golden.yaml")
    judge = OfflineJudge()
    cache: dict[tuple[str, str], dict[str, float | None]] = {}

    def score(user: str, prompt_variant: str) -> dict[str, float | None]:
        case = cases[int(bucket("golden-case", user) * len(cases))]
        key = (case.id, prompt_variant)
        if key not in cache:
            result = answer(case, prompt_variant)
            sample = Sample(
                question=case.question,
                answer=result["answer"],
                contexts=tuple(result["contexts"]),
                reference=case.reference,
                reference_contexts=case.reference_contexts,
            )
            # A score the judge could not give stays None: the A/B report and the canary
            # judge count it as missing (against the canary), never drop it.
            cache[key] = {s.metric: s.value for s in judge.score(sample)}
        return cache[key]

    return score


def simulate(flag: str, user: str, treated: bool) -> dict[str, float | None]:
    """Deterministic per-user metrics: seeded by a string, so stable across runs."""
    rng = random.Random(f"{flag}:{user}")  # str seeds are hashed with sha512, not hash()
    values: dict[str, float | None] = {}
    for metric, (mean, spread) in BASELINE.items():
        shift = EFFECTS[flag][metric] if treated else 0.0
        value = rng.gauss(mean + shift, spread)
        values[metric] = max(0.0, value) if metric == "latency_s" else min(1.0, max(0.0, value))
    return values


def read_metrics(path: Path) -> dict[str, Metrics]:
    """Read ``flag,user_id,metric,value`` rows into flag -> user -> metric -> value."""
    data: dict[str, Metrics] = {}
    with path.open(newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            user_metrics = data.setdefault(row["flag"], {}).setdefault(row["user_id"], {})
            user_metrics[row["metric"]] = float(row["value"])
    return data


def arm_metrics(users: Sequence[str], metrics: Metrics) -> dict[str, list[float | None]]:
    """Collect one arm's values per metric from per-user metrics."""
    out: dict[str, list[float | None]] = {}
    for user in users:
        for metric, value in metrics.get(user, {}).items():
            out.setdefault(metric, []).append(value)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    """Run the demo and print assignments and A/B reports."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--flags", type=Path, default=HERE / "flags.yaml", help="Flag file")
    parser.add_argument("--users", type=int, default=2000, help="Number of simulated users")
    parser.add_argument(
        "--source",
        choices=("auto", "app", "simulate"),
        default="auto",
        help="Metric source: the example app + offline judge, or a simulation (auto: app if "
        "it imports)",
    )
    parser.add_argument("--metrics", type=Path, help="CSV of flag,user_id,metric,value")
    parser.add_argument("--show", type=int, default=5, help="Users listed per arm")
    args = parser.parse_args(argv)

    store = FeatureFlags.from_yaml(args.flags)
    given = read_metrics(args.metrics) if args.metrics else None
    scorer = app_scorer() if given is None and args.source != "simulate" else None
    if args.source == "app" and scorer is None:
        parser.error("--source app: examples/ragapp or pytest_ragops.judge.offline not importable")
    if given is not None:
        source = f"from {args.metrics}"
    elif scorer is not None:
        source = "example app + offline judge (control: baseline prompt)"
    else:
        source = "simulated (seeded, illustrative)"
    print(f"flags: {args.flags}; per-user metrics: {source}\n")
    for flag in FLAGS:
        spec = store.flags[flag]
        if given is not None:
            users = sorted(given.get(flag, {}))
        else:
            users = [f"user-{i:05d}" for i in range(args.users)]
        arms = assign_arms(store, flag, users)
        print(f"== {flag}: rollout {spec.rollout_pct:.0%} - {spec.description}")
        for arm, members in arms.items():
            share = len(members) / max(1, len(users))
            listed = ", ".join(members[: args.show])
            print(f"  {arm:<8} {len(members):>6} users ({share:6.1%})  e.g. {listed}")
        treated = set(users) - set(arms.get("control", []))
        if given is not None:
            metrics = given.get(flag, {})
        elif scorer is not None:
            arm_prompt = APP_VARIANTS[flag]
            metrics = {u: scorer(u, arm_prompt if u in treated else "baseline") for u in users}
        else:
            metrics = {user: simulate(flag, user, user in treated) for user in users}
        control = arm_metrics(arms.get("control", []), metrics)
        treatment = arm_metrics(sorted(treated), metrics)
        report = ab_report(control, treatment, names=("control", flag))
        print(report.render())
        # latency_s (in the simulation) is judged lower-is-better by name, 5% band.
        verdict = CanaryJudge().judge(control, treatment)
        print(f"verdict for {flag}: {verdict.summary}")
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
