from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.drift import RetrievalLog
from pytest_ragops.drift.plot import plot_drift
from pytest_ragops.drift.simulate import simulate
from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from pathlib import Path

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def test_plot_writes_a_png(tmp_path: Path) -> None:
    log = RetrievalLog(tmp_path / "drift.db")
    simulate(log, days=10, queries_per_day=30, seed=0, end=NOW)
    out = plot_drift(log, tmp_path / "drift.png", now=NOW)
    data = (tmp_path / "drift.png").read_bytes()
    assert out == str(tmp_path / "drift.png")
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 10_000


def test_plot_of_an_empty_log_is_an_error(tmp_path: Path) -> None:
    log = RetrievalLog(tmp_path / "drift.db")
    with pytest.raises(RagopsError, match=r"drift.db: no logged queries in the recent window"):
        plot_drift(log, tmp_path / "drift.png", now=NOW)


def test_unwritable_output_is_an_error(tmp_path: Path) -> None:
    log = RetrievalLog(tmp_path / "drift.db")
    simulate(log, days=3, queries_per_day=5, shift_day=None, seed=0, end=NOW)
    with pytest.raises(RagopsError, match=r"missing/x.png: cannot write the plot"):
        plot_drift(log, tmp_path / "missing" / "x.png", now=NOW)
