"""Readers hammering an IndexSwapper during swaps never see a half-built index."""

from __future__ import annotations

import threading
import time

from pytest_ragops.flags import IndexSwapper

DOCS = 5_000
READERS = 4


class Index:
    """A toy index whose consistency readers can check: every entry carries the version."""

    def __init__(self, version: int, *, slow: bool = False) -> None:
        self.version = version
        self.entries: dict[int, str] = {}
        for i in range(DOCS):
            self.entries[i] = f"v{version}-{i}"
            if slow and i % 500 == 0:
                time.sleep(0.002)  # let readers run while this one is half built
        self.complete = True

    def lookup(self, key: int) -> str:
        return self.entries[key]


def is_whole(index: Index) -> bool:
    return getattr(index, "complete", False) and len(index.entries) == DOCS


def test_readers_never_fail_during_swaps_and_rollback() -> None:
    swapper: IndexSwapper[Index] = IndexSwapper(Index(1), smoke_check=is_whole)
    stop = threading.Event()
    failures: list[str] = []
    seen: list[set[int]] = [set() for _ in range(READERS)]
    lookups = [0] * READERS

    def reader(slot: int) -> None:
        key = slot
        while not stop.is_set():
            try:
                index = swapper.current()
                key = (key * 31 + 7) % DOCS
                value = index.lookup(key)
                if value != f"v{index.version}-{key}" or not is_whole(index):
                    failures.append(f"inconsistent read {value!r} from v{index.version}")
                seen[slot].add(index.version)
                lookups[slot] += 1
            except Exception as exc:  # noqa: BLE001 - any error is a failed read
                failures.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(READERS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(0.05)
        swapper.build_and_swap(lambda: Index(2, slow=True))
        time.sleep(0.05)
        swapper.build_and_swap(lambda: Index(3, slow=True))
        time.sleep(0.05)
        swapper.rollback()
        time.sleep(0.05)
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=10)
    assert not any(t.is_alive() for t in threads)
    assert failures == []
    assert swapper.current().version == 2
    assert all(count > 0 for count in lookups)
    assert set().union(*seen) >= {1, 2}
