"""The eval session: one loop for the whole session, one limit across loops and threads."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from pytest_ragops.session import ConcurrencyLimit, EvalSession


def test_limit_rejects_zero() -> None:
    with pytest.raises(ValueError, match=">= 1"):
        ConcurrencyLimit(0)


def test_limit_is_shared_by_two_loops() -> None:
    """Tasks on two event loops in two threads never hold more than the limit."""
    limit = ConcurrencyLimit(3)
    active = 0
    seen = 0
    lock = threading.Lock()

    async def work() -> None:
        nonlocal active, seen
        async with limit:
            with lock:
                active += 1
                seen = max(seen, active)
            await asyncio.sleep(0.01)
            with lock:
                active -= 1

    async def many() -> None:
        await asyncio.gather(*(work() for _ in range(20)))

    threads = [threading.Thread(target=asyncio.run, args=(many(),)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert seen == 3
    assert limit.peak == 3
    assert limit.in_flight == 0


def test_cancelled_waiter_gives_its_slot_back() -> None:
    limit = ConcurrencyLimit(1)

    async def scenario() -> None:
        await limit.acquire()
        waiter = asyncio.ensure_future(limit.acquire())
        await asyncio.sleep(0)
        waiter.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiter
        limit.release()
        # The slot is free again: a new acquire succeeds at once.
        await asyncio.wait_for(limit.acquire(), 1)
        limit.release()

    asyncio.run(scenario())
    assert limit.in_flight == 0


def test_session_loop_survives_across_runs() -> None:
    """An object bound to the loop (a keep-alive client) works on the second call."""
    session = EvalSession(4)
    try:
        loops = [session.run(lambda: _current_loop()) for _ in range(3)]
        assert loops[0] is loops[1] is loops[2]
        assert not loops[0].is_closed()
    finally:
        session.close()
    assert loops[0].is_closed()


async def _current_loop() -> asyncio.AbstractEventLoop:
    return asyncio.get_running_loop()


def test_session_pool_is_sized_from_the_limit() -> None:
    session = EvalSession(5)
    names: set[str] = set()

    def block() -> None:
        names.add(threading.current_thread().name)
        time.sleep(0.05)

    async def run_all() -> None:
        await asyncio.gather(*(session.in_pool(block) for _ in range(20)))

    try:
        session.run(run_all)
    finally:
        session.close()
    assert 1 < len(names) <= 5
    assert all(n.startswith("ragops") for n in names)


def test_on_session_loop_from_another_loop() -> None:
    session = EvalSession(2)
    try:
        session_loop = session.run(lambda: _current_loop())

        async def from_test_loop() -> asyncio.AbstractEventLoop:
            return await session.on_session_loop(_current_loop())

        assert asyncio.run(from_test_loop()) is session_loop
    finally:
        session.close()


def test_closed_session_refuses_work() -> None:
    session = EvalSession(1)
    session.close()
    with pytest.raises(RuntimeError, match="closed"):
        session.run(lambda: _current_loop())
