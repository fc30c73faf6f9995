"""Batched, non-blocking drift logging for the request path.

A request only appends its row to an in-memory buffer (a lock and a list append); a
background thread writes the buffer with one :meth:`RetrievalLog.log_many` transaction
per batch. :meth:`BatchedDriftWriter.close` stops the thread and writes what is left, so a
clean stop loses nothing. A failed write keeps its rows for the next attempt (up to
``max_pending``); rows beyond that are counted in ``dropped`` and said in the log, never
lost silently.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from pytest_ragops.drift import RetrievalLog

__all__ = ["BatchedDriftWriter"]

_log = logging.getLogger("ragapp.drift")


class BatchedDriftWriter:
    """Buffer ``(query, top_score, session_id)`` rows and write them in batches.

    :param log: the retrieval log written to (owned by the writer: closed by :meth:`close`).
    :param batch_size: rows that wake the writer before ``interval_s`` has passed.
    :param interval_s: longest time a row waits in the buffer while the service runs.
    :param max_pending: buffered rows kept while the store is failing; beyond it rows drop.
    """

    def __init__(
        self,
        log: RetrievalLog,
        *,
        batch_size: int = 200,
        interval_s: float = 0.5,
        max_pending: int = 100_000,
    ) -> None:
        if batch_size < 1 or interval_s <= 0 or max_pending < batch_size:
            raise RagopsError(
                "need batch_size >= 1, interval_s > 0 and max_pending >= batch_size",
                field="drift writer",
            )
        self._log = log
        self._batch_size = batch_size
        self._interval = interval_s
        self._max_pending = max_pending
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stopping = False
        self.written = 0
        self.dropped = 0
        self.failures = 0
        self._thread = threading.Thread(target=self._run, name="drift-writer", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Rows buffered and not yet written."""
        with self._lock:
            return len(self._rows)

    def submit(self, query: str, top_score: float, session_id: str) -> None:
        """Buffer one row; never blocks on the store."""
        # Stamped now, not at write time, so the drift windows see when it was asked.
        row = {
            "query": query,
            "top_score": top_score,
            "session_id": session_id,
            "ts": datetime.now(UTC),
        }
        with self._lock:
            if self._stopping:
                raise RagopsError("the drift writer is closed", field="drift writer")
            if len(self._rows) >= self._max_pending:
                self.dropped += 1
                return
            self._rows.append(row)
            full = len(self._rows) >= self._batch_size
        if full:
            self._wake.set()

    def _take(self) -> list[dict[str, Any]]:
        with self._lock:
            rows, self._rows = self._rows, []
            return rows

    def _put_back(self, rows: list[dict[str, Any]]) -> None:
        with self._lock:
            room = max(0, self._max_pending - len(self._rows))
            self.dropped += max(0, len(rows) - room)
            self._rows[:0] = rows[:room]

    def flush(self) -> int:
        """Write everything buffered now; return the rows written (0 on a failed write)."""
        rows = self._take()
        if not rows:
            return 0
        try:
            n = self._log.log_many(rows)
        except RagopsError as exc:
            # A single bad row would block every batch: drop it alone, keep the rest.
            self.failures += 1
            _log.warning("drift log write failed (%d rows kept for retry): %s", len(rows), exc)
            valid = _valid_only(rows)
            with self._lock:
                self.dropped += len(rows) - len(valid)
            self._put_back(valid)
            return 0
        except Exception as exc:  # noqa: BLE001 - a store outage must not kill the writer
            self.failures += 1
            _log.warning("drift log write failed (%d rows kept for retry): %s", len(rows), exc)
            self._put_back(rows)
            return 0
        self.written += n
        return n

    def _run(self) -> None:
        while True:
            self._wake.wait(self._interval)
            self._wake.clear()
            with self._lock:
                stopping = self._stopping
            if stopping:
                return
            self.flush()

    def close(self) -> None:
        """Stop the thread, write what is left and close the log; safe to call twice."""
        with self._lock:
            if self._stopping:
                return
            self._stopping = True
        self._wake.set()
        self._thread.join()
        for _ in range(3):  # a failed batch is put back once its bad rows are dropped
            if not self.pending:
                break
            self.flush()
        left = self.pending
        if left or self.dropped:
            _log.error("drift writer closed with %d rows unwritten, %d dropped", left, self.dropped)
        self._log.close()


def _valid_only(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows the log accepts one by one (the rest are invalid and reported dropped)."""
    from pytest_ragops.drift.schema import validate_rows

    keep: list[dict[str, Any]] = []
    for row in rows:
        try:
            validate_rows([row])
        except RagopsError as exc:
            _log.warning("drift row dropped: %s", exc)
            continue
        keep.append(row)
    return keep
