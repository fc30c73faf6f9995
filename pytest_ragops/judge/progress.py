"""One updating progress line for long judge runs, on a terminal only.

``cases 120/400 · judge calls in flight 16 · retries 3 · judge spend $0.4210``

It is rewritten in place (carriage return) at most ``min_interval_s`` apart and cleared
at the end. On anything that is not a TTY (CI logs, pipes, pytest's capture) it writes
nothing at all, so logs stay clean and reports stay the only output.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TextIO

__all__ = ["JudgeCounters", "ProgressLine", "judge_counters"]


class JudgeCounters(Protocol):
    """What the line reads from the judge (``JudgeStats`` provides it)."""

    in_flight: int
    retries: int
    cost_usd: float


class ProgressLine:
    """Renders progress of ``total`` cases from the judge's live counters.

    :param counters: the judge's stats (``AnthropicJudge.stats``); None shows cases only.
    """

    def __init__(
        self,
        stream: TextIO,
        total: int,
        counters: JudgeCounters | None = None,
        *,
        min_interval_s: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.total = total
        self.counters = counters
        self.done = 0
        self.enabled = _is_tty(stream)
        self._min_interval = min_interval_s
        self._clock = clock
        self._last = float("-inf")
        self._width = 0

    def render(self) -> str:
        """The line's text (pure: tested directly)."""
        parts = [f"ragops: cases {self.done}/{self.total}"]
        if self.counters is not None:
            parts += [
                f"judge calls in flight {self.counters.in_flight}",
                f"retries {self.counters.retries}",
                f"judge spend ${self.counters.cost_usd:.4f}",
            ]
        return " · ".join(parts)

    def case_done(self, count: int = 1) -> None:
        """Count finished cases and redraw if the last draw is old enough."""
        self.done += count
        self.refresh()

    def refresh(self, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = self._clock()
        if not force and now - self._last < self._min_interval:
            return
        self._last = now
        text = self.render()
        pad = " " * max(0, self._width - len(text))
        self._width = len(text)
        self.stream.write("\r" + text + pad)
        self.stream.flush()

    def close(self) -> None:
        """Erase the line, leaving the terminal as it was."""
        if self.enabled and self._width:
            self.stream.write("\r" + " " * self._width + "\r")
            self.stream.flush()
            self._width = 0


def _is_tty(stream: TextIO) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # closed stream
        return False


def judge_counters(judge: object) -> JudgeCounters | None:
    """The live counters of the paying judge inside the registry's wrappers, if any."""
    layer: object | None = judge
    for _ in range(10):
        if layer is None:
            return None
        stats = getattr(layer, "stats", None)
        if stats is not None and all(
            hasattr(stats, a) for a in ("in_flight", "retries", "cost_usd")
        ):
            return stats  # type: ignore[no-any-return]
        layer = getattr(layer, "inner", None)
    return None
