"""``ragops cache stats|prune`` on a real cache file."""

from __future__ import annotations

import asyncio
import json
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.cli import main
from pytest_ragops.judge.base import Sample, Score
from pytest_ragops.judge.cache import CachedJudge

if TYPE_CHECKING:
    from pathlib import Path


class Fixed:
    name = "fixed"

    def __init__(self, label: str) -> None:
        self.label = label

    def judge_label(self, metric: str) -> str:
        return self.label

    async def ascore(self, sample: Sample, metrics: tuple[str, ...]) -> list[Score]:
        return [
            Score(m, 0.5, self.label, usage={"input_tokens": 200, "output_tokens": 20})
            for m in metrics
        ]

    async def aclose(self) -> None:
        return None


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    async def fill() -> None:
        for label in ("anthropic:m:p1", "anthropic:m:p2", "ragas:faithfulness:m"):
            judge = CachedJudge(Fixed(label), "on", tmp_path)
            for n in range(3):
                await judge.ascore(Sample(f"q{n}", "a", ("c",)), ("faithfulness",))
            await judge.aclose()

    asyncio.run(fill())
    return tmp_path


def test_stats(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cache", "stats", "--cache-dir", str(cache_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith(f"{cache_dir / 'judge.sqlite3'}: 9 entries, ")
    assert "  anthropic:m:p1  faithfulness: 3 (200 in / 20 out tokens)" in out
    assert main(["cache", "stats", "--json", "--cache-dir", str(cache_dir)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["entries"] == 9
    assert len(data["groups"]) == 3


def test_prune_by_judge_prefix_and_all(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["cache", "prune", "--judge", "anthropic:m:p1", "--cache-dir", str(cache_dir)]) == 0
    assert capsys.readouterr().out == "pruned 3 entries\n"
    assert main(["cache", "prune", "--older-than", "1", "--cache-dir", str(cache_dir)]) == 0
    assert capsys.readouterr().out == "pruned 0 entries\n"
    assert main(["cache", "prune", "--all", "--cache-dir", str(cache_dir)]) == 0
    assert capsys.readouterr().out == "pruned 6 entries\n"


def test_errors_exit_2(tmp_path: Path, cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["cache", "stats", "--cache-dir", str(tmp_path / "none")])
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        f"ragops: error: {tmp_path / 'none' / 'judge.sqlite3'}: no judge cache here\n"
    )
    with pytest.raises(SystemExit):
        main(["cache", "prune", "--cache-dir", str(cache_dir)])
    assert capsys.readouterr().err == (
        "ragops: error: prune: prune needs --older-than DAYS, --judge PREFIX or --all\n"
    )
