"""One flag's definition and its evaluation for a user (the hot path).

Shared by the store, the overrides and the OpenFeature provider. ``_OVERRIDES`` lives here
so every store consults the same overrides without an import cycle.

Anonymous users (``user_id`` ``None`` or ``""``) are never hashed into a rollout or a
variant split: hashing ``""`` would put every anonymous caller on the same side, all on or
all off. They get the flag's off path unless the flag is on for everyone (``rollout_pct``
1 and no variants), so ``is_enabled("flag")`` still works as a global switch.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from hashlib import sha256

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags.bucketing import ALL, NONE, UserId, digest_limit, user_key

__all__ = ["WEIGHT_TOLERANCE", "Evaluation", "Flag", "check_fraction"]

#: How far variant weights may sum from 1 (float sums like 0.1 + 0.2 + 0.7).
WEIGHT_TOLERANCE = 1e-6


def check_fraction(value: object, what: str, where: str | None = None) -> float:
    """Return ``value`` as a float in [0, 1]; a bool, NaN, non-number or out-of-range fails."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or math.isnan(value)
        or not 0.0 <= value <= 1.0
    ):
        raise RagopsError(
            f"{what} {value!r} is not a fraction between 0 and 1 (0.2 = 20%)", field=where
        )
    return float(value)


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
        self._validate()
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

    def _validate(self) -> None:
        """Reject definitions built in code (overrides, ``Flag(...)``) that YAML would reject.

        Without this a NaN fraction crashes the first evaluation, and variant weights that
        do not sum to 1 silently give the last variant the rest (or starve it).
        """
        where = f"flag {self.name!r}"
        if not isinstance(self.name, str) or not self.name:
            raise RagopsError("a flag name must be a non-empty string", field=where)
        if not isinstance(self.enabled, bool):
            raise RagopsError(f"'enabled' must be a bool, got {self.enabled!r}", field=where)
        pct = check_fraction(self.rollout_pct, "rollout_pct", where)
        object.__setattr__(self, "rollout_pct", pct)
        names = [name for name, _weight in self.variants]
        if any(not isinstance(n, str) or not n for n in names) or len(set(names)) != len(names):
            raise RagopsError("variant names must be distinct non-empty strings", field=where)
        weights = tuple(check_fraction(w, f"variant {n!r} weight", where) for n, w in self.variants)
        if weights and abs(math.fsum(weights) - 1.0) > WEIGHT_TOLERANCE:
            raise RagopsError(f"variant weights sum to {math.fsum(weights):g}, not 1", field=where)
        for key in ("allow", "deny"):
            ids = getattr(self, key)
            if not all(isinstance(i, str) and i for i in ids):
                raise RagopsError(f"'{key}' must hold non-empty string user ids", field=where)

    def evaluate(self, user_id: UserId = "", rollout_pct: float | None = None) -> bool:
        """Return whether the flag is on for ``user_id`` (see the module docstring)."""
        # Arguments are checked first, so a bad one fails whatever the flag's state.
        limit = self._limit if rollout_pct is None else _arg_limit(rollout_pct)
        if not isinstance(user_id, str):
            user_id = user_key(user_id)
        if not self.enabled:
            return False
        if not user_id:  # anonymous: on only where the flag is on for everyone
            return limit is ALL and not self.variants
        if self.deny and user_id in self.deny:
            return False
        if self.allow and user_id in self.allow:
            return True
        if limit is ALL or limit is NONE:
            return limit is ALL
        return sha256(self._prefix + user_id.encode()).digest() < limit

    def pick_variant(self, user_id: UserId) -> str:
        """Return the variant for a user the flag is on for (``"on"`` without variants).

        The variant hash is ``bucket(f"{flag}#variant", user_id)``: independent of the
        rollout bucket, so changing ``rollout_pct`` never moves a user between variants.
        """
        if not self.variants:
            return "on"
        digest = sha256(self._variant_prefix + user_key(user_id).encode()).digest()
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
    #: One of ``unknown``, ``disabled``, ``anonymous``, ``deny``, ``allow``, ``rollout``,
    #: ``override``.
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
    if (
        isinstance(rollout_pct, bool)
        or not isinstance(rollout_pct, int | float)
        or not 0.0 <= rollout_pct <= 1.0  # NaN fails this too
    ):
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
