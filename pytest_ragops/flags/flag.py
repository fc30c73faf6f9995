"""One flag's definition and its evaluation for a user (the hot path).

Shared by the store, the overrides and the OpenFeature provider. ``_OVERRIDES`` lives here
so every store consults the same overrides without an import cycle.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from hashlib import sha256

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags.bucketing import ALL, NONE, digest_limit

__all__ = ["Evaluation", "Flag"]


@dataclass(frozen=True, slots=True)
class Flag:
    """One validated flag, with its hash thresholds precomputed for fast evaluation."""

    name: str
    enabled: bool = True
    #: Fraction of users who get the flag, in [0, 1].
    rollout_pct: float = 1.0
    #: ``(variant, weight)`` pairs, weights summing to 1; empty for a plain on/off flag.
    variants: tuple[tuple[str, float], ...] = ()
    allow: frozenset[str] = frozenset()
    deny: frozenset[str] = frozenset()
    description: str = ""
    _prefix: bytes = field(init=False, repr=False, compare=False)
    _limit: bytes = field(init=False, repr=False, compare=False)
    _variant_prefix: bytes = field(init=False, repr=False, compare=False)
    _variant_bounds: tuple[bytes, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Precomputed once so evaluation is one sha256 and one bytes comparison
        # (bucketing.digest_limit explains why that equals ``bucket(...) < rollout_pct``).
        object.__setattr__(self, "_prefix", f"{self.name}:".encode())
        object.__setattr__(self, "_limit", digest_limit(self.rollout_pct))
        object.__setattr__(self, "_variant_prefix", f"{self.name}#variant:".encode())
        bounds: list[bytes] = []
        total = 0.0
        for _name, weight in self.variants:
            total += weight
            bounds.append(digest_limit(total))
        if bounds:
            bounds[-1] = ALL  # float sums like 0.1 + 0.2 + 0.7 must still cover everyone
        object.__setattr__(self, "_variant_bounds", tuple(bounds))

    def evaluate(self, user_id: str = "", rollout_pct: float | None = None) -> bool:
        """Return whether the flag is on for ``user_id`` (see the module docstring)."""
        if not self.enabled:
            return False
        if self.deny and user_id in self.deny:
            return False
        if self.allow and user_id in self.allow:
            return True
        limit = self._limit if rollout_pct is None else _arg_limit(rollout_pct)
        if limit is ALL or limit is NONE:
            return limit is ALL
        return sha256(self._prefix + user_id.encode()).digest() < limit

    def pick_variant(self, user_id: str) -> str:
        """Return the variant for a user the flag is on for (``"on"`` without variants).

        The variant hash is ``bucket(f"{flag}#variant", user_id)``: independent of the
        rollout bucket, so changing ``rollout_pct`` never moves a user between variants.
        """
        if not self.variants:
            return "on"
        digest = sha256(self._variant_prefix + user_id.encode()).digest()
        for (name, _weight), bound in zip(self.variants, self._variant_bounds, strict=True):
            if digest < bound:
                return name
        return self.variants[-1][0]  # pragma: no cover - the last bound covers everyone


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Why a flag is on or off for one user (the CLI and OpenFeature report this)."""

    flag: str
    user_id: str
    enabled: bool
    #: The user's variant when ``enabled``, else ``None``.
    variant: str | None
    #: One of ``unknown``, ``disabled``, ``deny``, ``allow``, ``rollout``, ``override``.
    reason: str
    #: The user's bucket in [0, 1) (reported even when lists decide).
    bucket: float


# rollout_pct arguments seen so far -> digest limit; callers pass a handful of constants.
_ARG_LIMITS: dict[float, bytes] = {}


def _arg_limit(rollout_pct: float) -> bytes:
    # Only exact floats are cached: True == 1.0 as a dict key, and bools are rejected below.
    if rollout_pct.__class__ is float:
        cached = _ARG_LIMITS.get(rollout_pct)
        if cached is not None:
            return cached
    if isinstance(rollout_pct, bool) or not 0.0 <= rollout_pct <= 1.0:
        raise RagopsError(
            f"{rollout_pct!r} is outside 0-1; rollout_pct is a fraction (0.2 = 20%)",
            field="rollout_pct",
        )
    limit = digest_limit(rollout_pct)
    if rollout_pct.__class__ is float and len(_ARG_LIMITS) < 1024:
        _ARG_LIMITS[rollout_pct] = limit
    return limit


# Overrides installed by the ``ragops_flags`` fixture or :class:`FlagOverrides`; checked
# before any store, so they also reach code that calls the module-level is_enabled().
_OVERRIDES: dict[str, Flag] = {}
