"""A bounded load loop through nginx: fixed rate, fixed duration, loopback only.

Shared by the integration tests and ``benchmarks/service_load.py``. Each request carries
a user id from a fixed pool (every ``anonymous_every``-th goes without one), so flags,
canary routing and stickiness are exercised; every outcome is kept for assertions.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Final
from urllib.parse import urlsplit

__all__ = ["LoadLoop", "Result", "percentile"]

QUESTIONS: Final = (
    "What must archive_command return, and why does it matter?",
    "How does autovacuum decide when to vacuum a table?",
    "What does max_wal_size control?",
    "How do I start point-in-time recovery from a base backup?",
    "Which pool mode of PgBouncer breaks prepared statements?",
    "What makes a PostgreSQL server start as a standby since version 12?",
)


@dataclass(frozen=True, slots=True)
class Result:
    t: float
    user: str
    #: HTTP status; 0 when the request failed before an answer.
    status: int
    latency_s: float
    color: str = ""
    answer: str = ""
    sources: tuple[str, ...] = ()
    error: str = ""


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in [0, 100]) of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(q / 100.0 * len(ordered) + 0.5) - 1))
    return ordered[rank]


@dataclass
class LoadLoop:
    """Send ``rate`` requests/s to ``url`` for at most ``duration_s`` (or until :meth:`stop`).

    ``rate=0`` sends closed-loop: each of ``workers`` threads sends its next request as
    soon as the last one answered (the benchmark's throughput mode), ``max_requests`` bounding it.
    """

    url: str
    rate: float = 20.0
    duration_s: float = 20.0
    users: int = 200
    anonymous_every: int = 10
    workers: int = 8
    max_requests: int = 100_000
    timeout_s: float = 10.0
    results: list[Result] = field(default_factory=list)

    def __post_init__(self) -> None:
        parts = urlsplit(self.url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        if self._host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError(f"load only goes to loopback, not {self._host}")
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._n = 0
        self._thread: threading.Thread | None = None

    def _next(self) -> int | None:
        with self._lock:
            if self._n >= self.max_requests:
                return None
            self._n += 1
            return self._n - 1

    def _conn(self) -> http.client.HTTPConnection:
        # A new connection per request: a keep-alive connection that nginx closes on a
        # reload would fail the next POST on the client side, which no server can prevent
        # and clients must not retry blindly; counting only server-side failures is honest.
        return http.client.HTTPConnection(self._host, self._port, timeout=self.timeout_s)

    def one(self, n: int) -> Result:
        """Send request number ``n`` and record it."""
        user = (
            ""
            if self.anonymous_every and n % self.anonymous_every == 0
            else f"user-{n % self.users}"
        )
        headers = {"Content-Type": "application/json", "Connection": "close"}
        if user:
            headers["X-User-ID"] = user
        body = json.dumps({"question": QUESTIONS[n % len(QUESTIONS)]})
        start = time.perf_counter()
        t = time.time()
        conn = self._conn()
        try:
            conn.request("POST", "/ask", body=body, headers=headers)
            response = conn.getresponse()
            raw = response.read()
            latency = time.perf_counter() - start
            if response.status != 200:
                result = Result(
                    t, user, response.status, latency, error=raw[:200].decode(errors="replace")
                )
            else:
                data = json.loads(raw)
                color, text = str(data.get("color", "")), str(data.get("answer", ""))
                result = Result(t, user, 200, latency, color, text, tuple(data.get("sources", ())))
        except (OSError, http.client.HTTPException, ValueError) as exc:
            result = Result(
                t, user, 0, time.perf_counter() - start, error=f"{type(exc).__name__}: {exc}"
            )
        finally:
            conn.close()
        with self._lock:
            self.results.append(result)
        return result

    def _paced(self) -> None:
        interval = 1.0 / self.rate
        start = time.monotonic()
        with ThreadPoolExecutor(self.workers) as pool:
            k = 0
            while not self._stop.is_set() and time.monotonic() - start < self.duration_s:
                n = self._next()
                if n is None:
                    break
                pool.submit(self.one, n)
                k += 1
                self._stop.wait(max(0.0, start + k * interval - time.monotonic()))

    def _closed(self) -> None:
        deadline = time.monotonic() + self.duration_s

        def worker() -> None:
            while not self._stop.is_set() and time.monotonic() < deadline:
                n = self._next()
                if n is None:
                    return
                self.one(n)

        threads = [threading.Thread(target=worker) for _ in range(self.workers)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()

    def run(self) -> list[Result]:
        """Run in this thread until done; return the results."""
        (self._paced if self.rate > 0 else self._closed)()
        return self.results

    def start(self) -> LoadLoop:
        self._thread = threading.Thread(target=self.run, name="load", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> list[Result]:
        """Stop sending, wait for requests in flight, return every result."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self.timeout_s + 5)
        return list(self.results)

    def failures(self) -> list[Result]:
        return [r for r in self.results if r.status != 200]
