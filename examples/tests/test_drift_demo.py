"""The drift demo over real retrieval scores: drift found and named, no false alarm."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest
from drift_demo import main, run

if TYPE_CHECKING:
    from pathlib import Path

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("seed", [0, 1])
def test_shift_is_detected_and_the_three_uncovered_topics_lead(tmp_path: Path, seed: int) -> None:
    out = run(str(tmp_path / "drift.db"), seed=seed, now=NOW)
    assert out["check"]["status"] == "drift"
    top3 = [set(t["keywords"][:5]) for t in out["topics"][:3]]
    for marker in ("kubernetes", "billing", "gdpr"):
        assert sum(marker in keywords for keywords in top3) == 1, (marker, top3)


@pytest.mark.parametrize("seed", [0, 1])
def test_control_raises_no_alarm(tmp_path: Path, seed: int) -> None:
    out = run(str(tmp_path / "drift.db"), seed=seed, shift=False, now=NOW)
    assert out["check"]["status"] == "no_drift"
    assert out["topics"] == []


def test_cli_prints_status_and_topics(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 0
    out = capsys.readouterr().out
    assert "status: drift" in out
    assert "1. " in out
