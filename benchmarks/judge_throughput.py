"""Judge throughput at the concurrency limit, and the warm cache.

200 cases x 2 judged metrics (answer_relevancy, context_precision: one call each) through
the real ``anthropic`` client against the loopback Messages API server of the tests, each
call taking 300 ms, under the engine's session-wide limit (``ConcurrencyLimit(16)``) held
per ``ascore`` call as the runner holds it. Prints judge wall time over the ideal
(calls x latency / concurrency; target <= 1.10) and calls per case-metric; then the same
run with the cache warm: calls made (target 0), its time as a share of the first run's
(target <= 2%) and whether every score is identical.

    python benchmarks/judge_throughput.py [--cases 200] [--latency 0.3] [--concurrency 16]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ragops.judge.anthropic import AnthropicJudge
from pytest_ragops.judge.base import Sample
from pytest_ragops.judge.cache import CachedJudge
from pytest_ragops.session import ConcurrencyLimit

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pytest_ragops.judge.base import Score

SERVER = Path(__file__).resolve().parents[1] / "tests/integration/judge/messages_server.py"
METRICS = ("answer_relevancy", "context_precision")


@contextlib.contextmanager
def server_process(latency_s: float) -> Iterator[str]:
    """The tests' server in a process of its own, so it shares no GIL with the judge."""
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "--latency", str(latency_s)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        yield proc.stdout.readline().strip()
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


def server_stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(url + "/stats", timeout=10) as response:
        data: dict[str, int] = json.load(response)
    return data


def cases(n: int) -> list[Sample]:
    return [
        Sample(
            f"What does setting number {i} control in service {i % 7}?",
            f"Setting {i} controls the retry budget of service {i % 7}.",
            (
                f"Service {i % 7} reads setting {i}, which controls its retry budget.",
                "Unrelated passage about log rotation.",
                f"Setting {i + 1} controls timeouts.",
            ),
            case_id=f"case-{i}",
        )
        for i in range(n)
    ]


async def judge_all(judge: CachedJudge, samples: list[Sample], limit: int) -> list[Score]:
    slots = ConcurrencyLimit(limit)

    async def one(sample: Sample, metric: str) -> Score:
        async with slots:
            [score] = await judge.ascore(sample, (metric,))
            return score

    return await asyncio.gather(*(one(s, m) for s in samples for m in METRICS))


async def run(url: str, cache_dir: Path, samples: list[Sample], limit: int) -> tuple[float, Any]:
    judge = CachedJudge(AnthropicJudge(api_key="bench", base_url=url), "on", cache_dir)
    try:
        # Build the client and its connection pool outside the timed part.
        inner = judge.inner
        assert isinstance(inner, AnthropicJudge)
        _ = inner._caller.client
        start = time.perf_counter()
        scores = await judge_all(judge, samples, limit)
        return time.perf_counter() - start, (scores, judge.report_info())
    finally:
        await judge.aclose()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.3)
    parser.add_argument("--concurrency", type=int, default=16)
    args = parser.parse_args()
    samples = cases(args.cases)
    with server_process(args.latency) as url, tempfile.TemporaryDirectory() as tmp:
        cold_s, (cold, cold_info) = asyncio.run(run(url, Path(tmp), samples, args.concurrency))
        calls = server_stats(url)["requests"]
        warm_s, (warm, warm_info) = asyncio.run(run(url, Path(tmp), samples, args.concurrency))
        after = server_stats(url)
        warm_calls = after["requests"] - calls
        peak = after["peak_in_flight"]
    ideal = calls * args.latency / args.concurrency
    errors = [s for s in cold if s.value is None]
    identical = [s.value for s in cold] == [s.value for s in warm] and all(s.cached for s in warm)
    print(
        f"cases {args.cases} x metrics {len(METRICS)} at {args.latency * 1000:.0f} ms/call, "
        f"concurrency {args.concurrency}"
    )
    print(
        f"cold: {calls} calls in {cold_s:.2f} s, ideal {ideal:.2f} s -> wall/ideal "
        f"{cold_s / ideal:.3f} (target <= 1.10); calls per case-metric "
        f"{calls / (args.cases * len(METRICS)):.2f}; peak in flight at the server {peak}; "
        f"errors {len(errors)}; judge spend ${cold_info['judge']['cost_usd']:.4f}"
    )
    print(
        f"warm: {warm_calls} calls (target 0) in {warm_s * 1000:.1f} ms = "
        f"{warm_s / cold_s:.2%} of the cold run (target <= 2%); hits "
        f"{warm_info['cache']['hits']}; scores identical: {identical}"
    )
    ok = cold_s / ideal <= 1.10 and warm_calls == 0 and warm_s / cold_s <= 0.02 and identical
    ok = ok and not errors and peak <= args.concurrency
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
