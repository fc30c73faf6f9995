"""The eval session: one event loop, one concurrency limit and one judge per process.

Every ``ragops.evaluate()`` of a pytest process runs on the session's long-lived loop
(in a background thread), so an app's module-level async clients (``AsyncAnthropic``,
an ``httpx.AsyncClient`` with keep-alive connections) keep working across calls and
tests instead of failing with "Event loop is closed" on the second one. Pipeline and
judge calls share one limit of calls in flight (``--ragops-concurrency``), per process:
under pytest-xdist each worker has its own. Sync pipelines and sync judges run on a
thread pool sized from that limit, never on asyncio's default executor.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from pytest_ragops.judge.validate import CheckedJudge

__all__ = ["ConcurrencyLimit", "EvalSession"]

_T = TypeVar("_T")


class ConcurrencyLimit:
    """A counting limit that async code on *any* event loop can wait on.

    ``asyncio.Semaphore`` belongs to one loop, but ``await ragops.aevaluate()`` runs
    pipelines on the test's loop while judges run on the session's: both must draw
    from the same limit. Waiters are woken through ``call_soon_threadsafe`` on their
    own loop. ``peak`` records the most slots ever held at once, for tests.
    """

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"concurrency limit must be >= 1, got {limit}")
        self.limit = limit
        self._lock = threading.Lock()
        self._held = 0
        self._waiters: deque[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()
        #: The most slots held at the same time since creation.
        self.peak = 0

    @property
    def in_flight(self) -> int:
        """Slots held right now."""
        return self._held

    async def acquire(self) -> None:
        """Wait for a slot."""
        loop = asyncio.get_running_loop()
        with self._lock:
            if self._held < self.limit and not self._waiters:
                self._take()
                return
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append((loop, fut))
        try:
            await fut
        except asyncio.CancelledError:
            with self._lock:
                try:
                    self._waiters.remove((loop, fut))
                    granted = False
                except ValueError:  # the slot was handed over before we were cancelled
                    granted = True
            if granted:
                self.release()
            raise

    def _take(self) -> None:
        self._held += 1
        self.peak = max(self.peak, self._held)

    def release(self) -> None:
        """Give a slot back, handing it straight to the oldest waiter if there is one."""
        with self._lock:
            while self._waiters:
                loop, fut = self._waiters.popleft()
                if not loop.is_closed():
                    break
            else:
                self._held -= 1
                return
        # The slot passes to the waiter without ever being free: no barging. On the
        # waiter's own loop it is handed over at once, else through its loop's queue.
        if _running_loop() is loop:
            self._grant(fut)
        else:
            loop.call_soon_threadsafe(self._grant, fut)

    def _grant(self, fut: asyncio.Future[None]) -> None:
        if fut.cancelled():  # cancelled after the hand-over was scheduled
            self.release()
        else:
            fut.set_result(None)

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, *exc: object) -> None:
        self.release()


class EvalSession:
    """The per-process engine state: loop thread, thread pool, limit and judge."""

    def __init__(self, concurrency: int, judge: CheckedJudge | None = None) -> None:
        self.concurrency = concurrency
        self.limit = ConcurrencyLimit(concurrency)
        #: Runs sync pipelines and sync judges; sized so the limit, not the pool, binds.
        self.pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ragops")
        self.judge = judge
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._closed = False

    # -- the loop ------------------------------------------------------------------
    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The session's loop, started in a daemon thread on first use."""
        with self._start_lock:
            if self._closed:
                raise RuntimeError("the eval session is closed")
            if self._loop is None:
                loop = asyncio.new_event_loop()
                loop.set_default_executor(self.pool)
                ready = threading.Event()

                def run() -> None:
                    asyncio.set_event_loop(loop)
                    loop.call_soon(ready.set)
                    loop.run_forever()

                thread = threading.Thread(target=run, name="ragops-session-loop", daemon=True)
                thread.start()
                ready.wait()
                self._loop, self._thread = loop, thread
            return self._loop

    def run(self, make: Callable[[], Coroutine[Any, Any, _T]]) -> _T:
        """Run a coroutine on the session loop and wait for it from this (other) thread."""
        loop = self.loop
        if _running_loop() is loop:
            raise RuntimeError("EvalSession.run() called from the session loop itself")
        return asyncio.run_coroutine_threadsafe(make(), loop).result()

    async def on_session_loop(self, coro: Coroutine[Any, Any, _T]) -> _T:
        """Await ``coro`` on the session loop from whatever loop the caller runs on."""
        loop = self.loop
        if _running_loop() is loop:
            return await coro
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, loop))

    async def in_pool(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run a blocking call on the session pool from any loop."""
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    # -- shutdown ------------------------------------------------------------------
    def close(self) -> list[str]:
        """Close the judge on the loop, stop the loop and the pool; return close errors."""
        errors: list[str] = []
        with self._start_lock:
            if self._closed:
                return errors
            self._closed = True
            loop, thread = self._loop, self._thread
        if self.judge is not None and loop is not None:
            try:
                asyncio.run_coroutine_threadsafe(self.judge.aclose(), loop).result(timeout=30)
            except Exception as exc:  # noqa: BLE001 - reported, never fatal at shutdown
                errors.append(f"closing judge {self.judge.name}: {exc.__class__.__name__}: {exc}")
        elif self.judge is not None:
            try:
                asyncio.run(self.judge.aclose())
            except Exception as exc:  # noqa: BLE001 - reported, never fatal at shutdown
                errors.append(f"closing judge {self.judge.name}: {exc.__class__.__name__}: {exc}")
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=30)
            loop.close()
        self.pool.shutdown(wait=True, cancel_futures=True)
        return errors


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
