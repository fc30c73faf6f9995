"""The batched drift writer: nothing lost on close, nothing blocking, failures kept."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import pytest
from service.drift_writer import BatchedDriftWriter

from pytest_ragops.drift import RetrievalLog
from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path


def test_close_writes_every_buffered_row(tmp_path: Path) -> None:
    db = tmp_path / "drift.db"
    # An interval far beyond the test: only close() can write these rows.
    writer = BatchedDriftWriter(RetrievalLog(db), batch_size=10_000, interval_s=3600)

    def submit_many(k: int) -> None:
        for i in range(250):
            writer.submit(f"q{k}-{i}", 0.5, f"u{k}")

    threads = [threading.Thread(target=submit_many, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert writer.written == 0
    assert writer.pending == 1000
    writer.close()
    with RetrievalLog(db) as log:
        assert log.count() == 1000
    assert (writer.written, writer.dropped, writer.pending) == (1000, 0, 0)
    with pytest.raises(RagopsError, match="closed"):
        writer.submit("late", 0.5, "u")


def test_a_full_batch_is_written_without_waiting_for_the_interval(tmp_path: Path) -> None:
    writer = BatchedDriftWriter(RetrievalLog(tmp_path / "d.db"), batch_size=5, interval_s=3600)
    for i in range(5):
        writer.submit(f"q{i}", 0.1, "u")
    for _ in range(200):
        if writer.written == 5:
            break
        threading.Event().wait(0.01)
    assert writer.written == 5
    writer.close()


class FlakyLog(RetrievalLog):
    """A real SQLite log whose first ``fail`` batch writes raise, as an outage would."""

    def __init__(self, db: Path, fail: int) -> None:
        super().__init__(db)
        self.fail = fail

    def log_many(self, rows: Sequence[Mapping[str, Any] | Sequence[Any]]) -> int:
        if self.fail:
            self.fail -= 1
            raise OSError("database is locked")
        return super().log_many(rows)


def test_a_failed_write_keeps_its_rows_for_the_next_flush(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    writer = BatchedDriftWriter(FlakyLog(db, fail=1), batch_size=100, interval_s=3600)
    for i in range(7):
        writer.submit(f"q{i}", 0.9, "u")
    assert writer.flush() == 0
    assert (writer.failures, writer.pending) == (1, 7)
    writer.close()
    with RetrievalLog(db) as log:
        assert log.count() == 7


def test_an_invalid_row_is_dropped_alone_and_counted(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    writer = BatchedDriftWriter(RetrievalLog(db), batch_size=100, interval_s=3600)
    writer.submit("good", 0.4, "u")
    writer.submit("bad score", 7.0, "u")
    writer.submit("good too", 0.6, "u")
    writer.close()
    with RetrievalLog(db) as log:
        assert log.count() == 2
    assert writer.dropped == 1


def test_bad_settings_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(RagopsError, match="batch_size"):
        BatchedDriftWriter(RetrievalLog(tmp_path / "d.db"), batch_size=0)
