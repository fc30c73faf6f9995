"""The judge cache: keys, modes, counters, and several processes writing one file at once."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.judge.base import Sample, Score
from pytest_ragops.judge.cache import CachedJudge, CacheStore, cache_key

if TYPE_CHECKING:
    from pathlib import Path

SAMPLE = Sample("Q?", "A.", ("ctx one", "ctx two"), reference="R.", case_id="case-7")


class CountingJudge:
    """A real async judge whose score depends on its inputs; counts its calls."""

    name = "counting"

    def __init__(self, prompt: str = "p1", fail: bool = False) -> None:
        self.calls = 0
        self.prompt = prompt
        self.fail = fail

    def judge_label(self, metric: str) -> str:
        return f"counting:m:{self.prompt}"

    async def ascore(self, sample: Sample, metrics: tuple[str, ...]) -> list[Score]:
        self.calls += 1
        if self.fail:
            return [
                Score(m, None, self.judge_label(m), error="judge API error 500") for m in metrics
            ]
        value = (len(sample.answer) + sample.repeat) % 10 / 10
        return [
            Score(
                m,
                value,
                self.judge_label(m),
                rationale="why",
                cost_usd=0.01,
                usage={"input_tokens": 100, "output_tokens": 10},
            )
            for m in metrics
        ]

    async def aclose(self) -> None:
        return None


def run(
    judge: CachedJudge, sample: Sample = SAMPLE, metrics: tuple[str, ...] = ("faithfulness",)
) -> list[Score]:
    return asyncio.run(judge.ascore(sample, metrics))


def test_key_covers_label_metric_inputs_and_repeat() -> None:
    base = cache_key("j:m:p1", "faithfulness", SAMPLE)
    assert len(base) == 64
    assert base == cache_key("j:m:p1", "faithfulness", replace(SAMPLE))
    others = {
        cache_key("j:m:p2", "faithfulness", SAMPLE),
        cache_key("j:m:p1", "context_recall", SAMPLE),
        cache_key("j:m:p1", "faithfulness", replace(SAMPLE, answer="B.")),
        cache_key("j:m:p1", "faithfulness", replace(SAMPLE, contexts=("ctx two", "ctx one"))),
        cache_key("j:m:p1", "faithfulness", replace(SAMPLE, reference=None)),
        cache_key("j:m:p1", "faithfulness", replace(SAMPLE, repeat=1)),
    }
    assert base not in others
    assert len(others) == 6
    # The case id is a label, not an input: renaming a case keeps its cached scores.
    assert base == cache_key("j:m:p1", "faithfulness", replace(SAMPLE, case_id="other"))


def test_on_mode_hits_after_a_miss_and_survives_a_new_process_object(tmp_path: Path) -> None:
    inner = CountingJudge()
    judge = CachedJudge(inner, "on", tmp_path)
    [first] = run(judge)
    [second] = run(judge)
    assert inner.calls == 1
    assert (first.cached, second.cached) == (False, True)
    assert second.value == first.value
    assert second.rationale == "why"
    assert second.cost_usd == 0.0
    asyncio.run(judge.aclose())
    again = CachedJudge(CountingJudge(), "on", tmp_path)
    [third] = run(again)
    assert third.cached
    assert again.report_info()["cache"] == {
        "mode": "on",
        "path": str(tmp_path / "judge.sqlite3"),
        "hits": 1,
        "misses": 0,
        "stored": 0,
    }
    assert judge.report_info()["cache"]["hits"] == 1
    assert judge.report_info()["cache"]["misses"] == 1


def test_prompt_change_and_repeats_are_misses(tmp_path: Path) -> None:
    run(CachedJudge(CountingJudge("p1"), "on", tmp_path))
    changed = CountingJudge("p2")
    run(CachedJudge(changed, "on", tmp_path))
    assert changed.calls == 1
    repeats = CountingJudge("p1")
    judge = CachedJudge(repeats, "on", tmp_path)
    for n in range(3):
        run(judge, replace(SAMPLE, repeat=n))
    assert repeats.calls == 2  # repeat 0 was cached; 1 and 2 are real calls


def test_errors_are_never_cached(tmp_path: Path) -> None:
    failing = CountingJudge(fail=True)
    judge = CachedJudge(failing, "on", tmp_path)
    run(judge)
    [again] = run(judge)
    assert failing.calls == 2
    assert again.value is None
    assert judge.report_info()["cache"]["stored"] == 0


def test_replay_miss_names_the_case_and_makes_no_call(tmp_path: Path) -> None:
    inner = CountingJudge()
    judge = CachedJudge(inner, "replay", tmp_path)
    [miss] = run(judge)
    assert inner.calls == 0
    assert miss.value is None
    assert miss.error == "cache miss in replay mode for case 'case-7' (no judge call made)"
    [anon] = run(judge, replace(SAMPLE, case_id=None))
    assert anon.error is not None
    assert "question 'Q?'" in anon.error
    run(CachedJudge(CountingJudge(), "on", tmp_path))
    [hit] = run(CachedJudge(CountingJudge(), "replay", tmp_path))
    assert hit.cached
    assert hit.value is not None


def test_off_mode_passes_through_and_writes_nothing(tmp_path: Path) -> None:
    inner = CountingJudge()
    judge = CachedJudge(inner, "off", tmp_path / "c")
    run(judge)
    run(judge)
    assert inner.calls == 2
    assert not (tmp_path / "c").exists()


def test_bad_mode_and_unwritable_dir_are_usage_errors(tmp_path: Path) -> None:
    with pytest.raises(RagopsUsageError, match="unknown cache mode 'sometimes'"):
        CachedJudge(CountingJudge(), "sometimes", tmp_path)  # type: ignore[arg-type]
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(RagopsUsageError, match="cannot open the judge cache"):
        CacheStore(blocker / "sub")


def test_stats_measured_usage_and_prune(tmp_path: Path) -> None:
    judge = CachedJudge(CountingJudge(), "on", tmp_path)
    run(judge, metrics=("faithfulness", "answer_relevancy"))
    store = judge.store
    assert store is not None
    stats = store.stats()
    assert stats["entries"] == 2
    assert {g["metric"] for g in stats["groups"]} == {"faithfulness", "answer_relevancy"}
    assert store.measured_usage("counting:") == {
        "answer_relevancy": (100.0, 10.0),
        "faithfulness": (100.0, 10.0),
    }
    assert store.measured_usage("other") == {}
    assert store.prune(judge_prefix="nomatch") == 0
    assert store.prune(older_than_s=3600) == 0
    assert store.prune(judge_prefix="counting:m") == 2
    assert store.stats()["entries"] == 0


_WRITER = """
import asyncio, sys
from pathlib import Path
from pytest_ragops.judge.base import Sample, Score
from pytest_ragops.judge.cache import CachedJudge

class Inner:
    name = "proc"
    async def ascore(self, sample, metrics):
        return [Score(m, 0.5, "proc", usage={"input_tokens": 1}) for m in metrics]
    async def aclose(self):
        pass

async def go(directory, worker, count):
    judge = CachedJudge(Inner(), "on", Path(directory))
    for n in range(count):
        await judge.ascore(Sample(f"q{worker}-{n}", "a", ("c",)), ("faithfulness",))
    await judge.aclose()

asyncio.run(go(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""


def test_several_processes_write_at_once(tmp_path: Path) -> None:
    """xdist workers share one cache file: WAL mode and busy waits, no lost or failed write."""
    procs = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), str(w), "150"])
        for w in range(4)
    ]
    assert [p.wait(timeout=120) for p in procs] == [0, 0, 0, 0]
    db = sqlite3.connect(tmp_path / "judge.sqlite3")
    try:
        assert db.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert db.execute("SELECT COUNT(*) FROM scores").fetchone() == (600,)
    finally:
        db.close()
