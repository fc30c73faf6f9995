"""How close the eval session gets to the ideal wall time, and the drift log's call rate.

Prints, for 400 cases with a 100 ms pipeline and a 100 ms async judge scoring two
metrics (one call per metric) at concurrency 32, the wall time over the ideal
(calls x latency / concurrency), once with an async pipeline and once with a sync one
(target <= 1.10 for both). Then the single-call ``log_retrieval_score`` rate against a
connect-per-call baseline (target >= 10x), from ``benchmarks/drift_log_rate.py``.

Run: ``python benchmarks/session_concurrency.py``
"""

from __future__ import annotations

import asyncio
import importlib.util
import sys
import time
from pathlib import Path
from typing import Any

from pytest_ragops.cases import Case
from pytest_ragops.judge.base import Sample, Score
from pytest_ragops.judge.validate import CheckedJudge
from pytest_ragops.results import Record
from pytest_ragops.runner import Ragops
from pytest_ragops.session import EvalSession

CASES = 400
LATENCY = 0.1
CONCURRENCY = 32
METRICS = ("faithfulness", "answer_relevancy")


class SleepJudge:
    """An async judge whose every call takes LATENCY seconds, like a remote LLM."""

    name = "bench:sleep"

    async def ascore(self, sample: Sample, metrics: tuple[str, ...]) -> list[Score]:
        await asyncio.sleep(LATENCY)
        return [Score(m, 0.9, self.name) for m in metrics]

    async def aclose(self) -> None:
        return None


async def async_pipeline(case: Case) -> dict[str, Any]:
    await asyncio.sleep(LATENCY)
    return {"answer": case.question, "contexts": [case.question], "cost_usd": 0.0}


def sync_pipeline(case: Case) -> dict[str, Any]:
    time.sleep(LATENCY)
    return {"answer": case.question, "contexts": [case.question], "cost_usd": 0.0}


def run(pipeline: Any) -> tuple[float, float, int]:
    """Wall time, ideal time and peak calls in flight for one evaluate()."""
    session = EvalSession(CONCURRENCY)
    session.judge = CheckedJudge(SleepJudge(), run_sync=session.in_pool)
    sink: list[Record] = []
    ragops = Ragops("bench::session", session, sink, metrics=METRICS)
    cases = [Case(id=f"c{i}", question=f"question {i}?") for i in range(CASES)]
    try:
        session.run(lambda: asyncio.sleep(0))  # start the loop outside the timing
        start = time.perf_counter()
        ragops.evaluate(pipeline, cases)
        wall = time.perf_counter() - start
    finally:
        session.close()
    calls = CASES * (1 + len(METRICS))
    return wall, calls * LATENCY / CONCURRENCY, session.limit.peak


def reference() -> tuple[float, float]:
    """The same workload on bare asyncio (one loop, one Semaphore): this machine's floor."""

    async def main() -> float:
        sem = asyncio.Semaphore(CONCURRENCY)

        async def call() -> None:
            async with sem:
                await asyncio.sleep(LATENCY)

        async def case() -> None:
            await call()
            await asyncio.gather(*(call() for _ in METRICS))

        start = time.perf_counter()
        await asyncio.gather(*(case() for _ in range(CASES)))
        return time.perf_counter() - start

    wall = asyncio.run(main())
    return wall, CASES * (1 + len(METRICS)) * LATENCY / CONCURRENCY


def drift_rate() -> dict[str, float] | None:
    path = Path(__file__).with_name("drift_log_rate.py")
    if not path.exists():
        return None
    spec = importlib.util.spec_from_file_location("drift_log_rate", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result: dict[str, float] = module.measure()
    return result


def main() -> int:
    print(f"{CASES} cases, {LATENCY * 1000:.0f} ms pipeline + {len(METRICS)} x "
          f"{LATENCY * 1000:.0f} ms judge calls, concurrency {CONCURRENCY}")  # fmt: skip
    for label, pipeline in (("async pipeline", async_pipeline), ("sync pipeline", sync_pipeline)):
        wall, ideal, peak = run(pipeline)
        print(f"{label:15s} wall {wall:6.3f} s  ideal {ideal:6.3f} s  ratio {wall / ideal:5.3f}  "
              f"peak in flight {peak}")  # fmt: skip
    wall, ideal = reference()
    ratio = wall / ideal
    print(f"{'bare asyncio':15s} wall {wall:6.3f} s  ideal {ideal:6.3f} s  ratio {ratio:5.3f}"
          "  (reference: the same workload without the engine)")  # fmt: skip
    rate = drift_rate()
    if rate is None:
        print("drift log rate: benchmarks/drift_log_rate.py not present")
    else:
        print("drift log_retrieval_score: "
              + ", ".join(f"{k} {v:,.1f}" for k, v in rate.items()))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
