"""Blue-green delivery for indexes and app targets.

:class:`IndexSwapper` keeps a live index serving while a new one is built into staging,
smoke-checks the staging index, then publishes it with one reference assignment: a reader
that called :meth:`IndexSwapper.current` holds either the old or the new index, never a
half-built one. The previous index is kept for :meth:`IndexSwapper.rollback`.
:class:`BlueGreenSwitch` does the same for two deployed targets (URLs, app objects) with a
health check before and after the switch, and rolls back when the new side turns unhealthy.
"""

from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, Literal, TypeVar

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

__all__ = ["BlueGreenSwitch", "IndexSwapper", "SwitchResult", "http_health_check"]

T = TypeVar("T")
Color = Literal["blue", "green"]


def _run_check(check: Callable[[T], bool | None] | None, target: T) -> str | None:
    """Run ``check`` and return why it failed, or ``None`` when it passed."""
    if check is None:
        return None
    try:
        ok = check(target)
    except Exception as exc:  # noqa: BLE001 - any error in a user's check means "not healthy"
        return f"{type(exc).__name__}: {exc}"
    return "check returned False" if ok is False else None


class IndexSwapper(Generic[T]):
    """Hold the live index and swap in a verified new one atomically.

    Readers call :meth:`current` (lock-free: one attribute read) and use what they got for
    the whole request. The lock guards only the swapper's own state and is never held
    while user code runs (builders, smoke checks), so :meth:`rollback` answers at once even
    while a slow smoke check is running.

    Every build gets a ticket, in the order builds start. :meth:`build_and_swap` keeps its
    index private from build to publish, so concurrent calls each check and publish their
    own index, never another call's. A build whose ticket is older than the index already
    live is superseded: it raises instead of replacing newer data with older data.

    :param live: the index serving now, if any.
    :param smoke_check: called on a staging index before it may go live; ``False`` or an
        exception rejects it.
    """

    def __init__(
        self, live: T | None = None, *, smoke_check: Callable[[T], bool | None] | None = None
    ) -> None:
        self._live = live
        # (ticket, index) of the step API's staging slot, and the ticket verified for it.
        self._staging: tuple[int, T] | None = None
        self._verified: int | None = None
        self._previous: T | None = None
        self._lock = threading.Lock()
        self._tickets = itertools.count(1)
        self._published = 0  # ticket of the newest build that went live
        self.smoke_check = smoke_check
        #: Number of successful swaps and rollbacks, for logs and tests.
        self.generation = 0

    def current(self) -> T:
        """Return the live index (raises :class:`RagopsError` before the first swap)."""
        live = self._live
        if live is None:
            raise RagopsError("no live index yet: build and swap one first", field="index")
        return live

    @property
    def staging(self) -> T | None:
        """The index built with :meth:`build`, not yet live, if any."""
        staging = self._staging
        return None if staging is None else staging[1]

    @property
    def previous(self) -> T | None:
        """The index that was live before the last swap (the rollback target)."""
        return self._previous

    def _build(self, builder: Callable[[], T]) -> tuple[int, T]:
        with self._lock:
            ticket = next(self._tickets)
        index = builder()  # outside the lock: a slow build must not block a rollback
        if index is None:
            raise RagopsError("the index builder returned None", field="staging")
        return ticket, index

    def build(self, builder: Callable[[], T]) -> T:
        """Build a new index into staging with ``builder()``; the live one keeps serving."""
        ticket, index = self._build(builder)
        with self._lock:
            current = self._staging
            if ticket < self._published or (current is not None and current[0] > ticket):
                raise RagopsError(
                    f"build #{ticket} was superseded by a newer build; staging left as is",
                    field="staging",
                )
            self._staging, self._verified = (ticket, index), None
        return index

    def _check(self, ticket: int, index: T, check: Callable[[T], bool | None] | None) -> None:
        """Run the smoke check outside the lock; on failure drop ``index`` from staging."""
        failure = _run_check(check or self.smoke_check, index)
        if failure is not None:
            with self._lock:
                if self._staging is not None and self._staging[0] == ticket:
                    self._staging, self._verified = None, None
            raise RagopsError(f"smoke check failed, staging discarded: {failure}", field="staging")

    def verify(self, check: Callable[[T], bool | None] | None = None) -> None:
        """Smoke-check the staging index (``check`` or the constructor's ``smoke_check``)."""
        staging = self._staging
        if staging is None:
            raise RagopsError("nothing in staging: call build() first", field="staging")
        self._check(*staging, check)
        with self._lock:
            if self._staging is not staging:
                raise RagopsError(
                    "staging was replaced while it was being checked; verify again",
                    field="staging",
                )
            self._verified = staging[0]

    def _publish(self, ticket: int, index: T) -> T | None:
        with self._lock:
            if ticket < self._published:
                raise RagopsError(
                    f"build #{ticket} was superseded: build #{self._published}, started "
                    "later, is already live; not publishing the older index",
                    field="index",
                )
            if self._staging is not None and self._staging[0] <= ticket:
                self._staging, self._verified = None, None
            previous = self._live
            self._live = index  # the one atomic publish readers can observe
            self._previous, self._published = previous, ticket
            self.generation += 1
            return previous

    def swap(self) -> T | None:
        """Make the verified staging index live, keep the old one; return the old one."""
        staging = self._staging
        if staging is None:
            raise RagopsError("nothing in staging: call build() first", field="staging")
        if self._verified != staging[0]:
            self._check(*staging, None)
        return self._publish(*staging)

    def build_and_swap(
        self, builder: Callable[[], T], check: Callable[[T], bool | None] | None = None
    ) -> T | None:
        """Build, verify and swap one index of this call's own; return the old live one.

        The live index is untouched on any failure. The index never passes through the
        shared staging slot, so a concurrent call cannot check or publish it.
        """
        ticket, index = self._build(builder)
        failure = _run_check(check or self.smoke_check, index)
        if failure is not None:
            raise RagopsError(f"smoke check failed, staging discarded: {failure}", field="staging")
        return self._publish(ticket, index)

    def rollback(self) -> T:
        """Put the previous index back live; the rolled-back one becomes the previous."""
        with self._lock:
            previous = self._previous
            if previous is None:
                raise RagopsError("no previous index to roll back to", field="index")
            self._previous, self._live = self._live, previous
            self.generation += 1
            return previous


@dataclass(frozen=True, slots=True)
class SwitchResult:
    """What a switch did: the active color after it and why."""

    switched: bool
    active: Color
    rolled_back: bool
    reason: str


class BlueGreenSwitch(Generic[T]):
    """Switch traffic between two targets, guarded by a health check.

    :param targets: ``{"blue": ..., "green": ...}``, e.g. base URLs or app objects.
    :param health_check: called with a target; ``False`` or an exception means unhealthy.
        :func:`http_health_check` does this for URLs.
    :param active: the color serving now.
    """

    def __init__(
        self,
        targets: Mapping[str, T],
        health_check: Callable[[T], bool | None],
        *,
        active: Color = "blue",
    ) -> None:
        if set(targets) != {"blue", "green"}:
            raise RagopsError(
                f"targets must be exactly 'blue' and 'green', got {sorted(targets)}",
                field="targets",
            )
        if active not in ("blue", "green"):
            raise RagopsError(f"active must be 'blue' or 'green', got {active!r}", field="active")
        self.targets: dict[str, T] = dict(targets)
        self.health_check = health_check
        self._active: Color = active
        self._lock = threading.Lock()  # the active color only; no user code runs under it
        self._switch_lock = threading.Lock()  # one switch() at a time

    @property
    def active(self) -> Color:
        """The color receiving traffic."""
        return self._active

    @property
    def idle(self) -> Color:
        """The other color: where the next release is deployed."""
        return "green" if self._active == "blue" else "blue"

    def target(self) -> T:
        """The target traffic should go to now."""
        return self.targets[self._active]

    def switch(self) -> SwitchResult:
        """Check the idle side, switch to it, check again; roll back if it fails afterwards.

        Health checks run outside the state lock, so :meth:`rollback` is never kept waiting
        by a slow check; concurrent ``switch()`` calls run one at a time.
        """
        with self._switch_lock:
            with self._lock:
                old, new = self._active, self.idle
            failure = _run_check(self.health_check, self.targets[new])
            if failure is not None:
                return SwitchResult(
                    False, old, False, f"{new} is unhealthy, not switching: {failure}"
                )
            with self._lock:
                if self._active != old:
                    return SwitchResult(
                        False, self._active, False,
                        f"traffic moved to {self._active} during the health check; not switching",
                    )  # fmt: skip
                self._active = new
            failure = _run_check(self.health_check, self.targets[new])
            with self._lock:
                if self._active != new:
                    return SwitchResult(
                        False, self._active, True,
                        f"rolled back to {self._active} during the post-switch check",
                    )  # fmt: skip
                if failure is not None:
                    self._active = old
                    return SwitchResult(
                        False,
                        old,
                        True,
                        f"{new} failed after the switch, rolled back to {old}: {failure}",
                    )
            return SwitchResult(True, new, False, f"switched {old} -> {new}")

    def rollback(self) -> SwitchResult:
        """Send traffic back to the other color without checks (the emergency lever)."""
        with self._lock:
            old = self._active
            self._active = self.idle
            return SwitchResult(True, self._active, True, f"rolled back {old} -> {self._active}")


def http_health_check(path: str = "/health", timeout: float = 2.0) -> Callable[[str], bool]:
    """Return a check that GETs ``<base_url><path>`` and passes on a 2xx answer."""

    def check(base_url: str) -> bool:
        import urllib.error
        import urllib.request

        url = base_url.rstrip("/") + path
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                return 200 <= int(response.status) < 300
        except (urllib.error.URLError, OSError):
            return False

    return check
