"""Flag definitions: load and validate ``flags.yaml``, evaluate flags for a user.

A flag file maps flag names to settings (an optional top-level ``flags:`` key may wrap them)::

    new_prompt_v3:
      enabled: true        # kill switch: false turns the flag off for everyone
      rollout_pct: 0.2     # fraction of users, 0.2 = 20%
      variants: {v3a: 0.5, v3b: 0.5}   # optional, weights sum to 1
      allow: [alice]       # always on (while enabled)
      deny: [mallory]      # always off; deny wins over allow

Evaluation, in order: unknown flag -> off with an :class:`UnknownFlagWarning`;
``enabled: false`` -> off; user in ``deny`` -> off; user in ``allow`` -> on; otherwise on
iff ``bucket(flag, user_id) < rollout_pct`` (the ``rollout_pct`` argument, when given,
replaces the flag's fraction). Anonymous callers (``user_id`` ``None`` or ``""``) are never
in a partial rollout or a variant split: they get the off path, unless the flag is on for
everyone (``rollout_pct`` 1, no variants). An ``int`` user id is its decimal string.
"""

from __future__ import annotations

import difflib
import math
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from time import monotonic
from typing import Any, Final

from pytest_ragops.errors import RagopsError, RagopsWarning
from pytest_ragops.flags.bucketing import UserId, bucket, user_key
from pytest_ragops.flags.flag import _OVERRIDES, WEIGHT_TOLERANCE, Evaluation, Flag

__all__ = [
    "DEFAULT_FLAGS_FILE",
    "FeatureFlags",
    "UnknownFlagWarning",
    "clear_flags_cache",
    "is_enabled",
    "load_flags",
    "variant",
]

#: File read by the module-level :func:`is_enabled` when ``$RAGOPS_FLAGS`` is unset.
DEFAULT_FLAGS_FILE: Final = "flags.yaml"
#: Seconds between ``stat`` calls on the cached flag file; edits show up within this delay.
RECHECK_SECONDS: Final = 1.0

_KEYS: Final = ("enabled", "rollout_pct", "variants", "allow", "deny", "description")
_NAME_RE: Final = re.compile(r"^[A-Za-z0-9_.\-]+$")


class UnknownFlagWarning(RagopsWarning):
    """A flag was evaluated that no flag file defines; it is treated as off."""


class FeatureFlags:
    """A validated set of flags.

    Build it from a mapping (``FeatureFlags({"x": {"rollout_pct": 0.2}})``) or a file
    (``FeatureFlags.from_yaml("flags.yaml")``); bad input raises :class:`RagopsError`
    naming the file and the flag.
    """

    def __init__(self, mapping: Mapping[str, Any], *, path: str | os.PathLike[str] | None = None):
        #: File the flags came from, for messages; ``None`` for an in-memory mapping.
        self.path = None if path is None else str(path)
        self._flags: dict[str, Flag] = parse_flags(mapping, path=self.path)

    @classmethod
    def from_yaml(cls, path: str | os.PathLike[str]) -> FeatureFlags:
        """Load and validate a flag file."""
        return cls(_read_yaml(Path(path)), path=path)

    @property
    def flags(self) -> Mapping[str, Flag]:
        """The flags by name (read-only view)."""
        return self._flags

    def __contains__(self, flag: object) -> bool:
        return flag in self._flags

    def __len__(self) -> int:
        return len(self._flags)

    def get(self, flag: str) -> Flag | None:
        """Return the effective definition of ``flag`` (an override wins), or ``None``."""
        if _OVERRIDES and flag in _OVERRIDES:
            return _OVERRIDES[flag]
        return self._flags.get(flag)

    def is_enabled(self, flag: str, user_id: UserId = "", rollout_pct: float | None = None) -> bool:
        """Return whether ``flag`` is on for ``user_id``; an unknown flag is off, with a warning."""
        spec = _OVERRIDES.get(flag) if _OVERRIDES else None
        if spec is None:
            spec = self._flags.get(flag)
            if spec is None:
                self._warn_unknown(flag)
                return False
        return spec.evaluate(user_id, rollout_pct)

    def variant(self, flag: str, user_id: UserId = "") -> str | None:
        """Return the user's variant, ``"on"`` for an on flag without variants, ``None`` if off."""
        spec = self.get(flag)
        if spec is None:
            self._warn_unknown(flag)
            return None
        return spec.pick_variant(user_id) if spec.evaluate(user_id) else None

    def explain(
        self, flag: str, user_id: UserId = "", rollout_pct: float | None = None
    ) -> Evaluation:
        """Evaluate ``flag`` and say why; never warns (an unknown flag gives reason ``unknown``)."""
        user_id = user_key(user_id)
        position = bucket(flag, user_id)
        spec = self.get(flag)
        if spec is None:
            return Evaluation(flag, user_id, False, None, "unknown", position)
        on = spec.evaluate(user_id, rollout_pct)
        if _OVERRIDES and flag in _OVERRIDES:
            reason = "override"
        elif not spec.enabled:
            reason = "disabled"
        elif not user_id:
            reason = "anonymous"
        elif user_id in spec.deny:
            reason = "deny"
        elif user_id in spec.allow:
            reason = "allow"
        else:
            reason = "rollout"
        return Evaluation(
            flag, user_id, on, spec.pick_variant(user_id) if on else None, reason, position
        )

    def _warn_unknown(self, flag: str) -> None:
        where = self.path or "the flag mapping"
        warnings.warn(
            f"flag {flag!r} is not defined in {where}; treating it as off",
            UnknownFlagWarning,
            stacklevel=3,
        )


# ----------------------------------------------------------------------------- parsing


def parse_flags(mapping: Mapping[str, Any], *, path: str | None = None) -> dict[str, Flag]:
    """Validate a mapping of flag definitions and return the flags by name."""
    if not isinstance(mapping, Mapping):
        raise RagopsError(
            f"expected a mapping of flag names to settings, got {type(mapping).__name__}",
            path=path,
        )
    if set(mapping) == {"flags"} and isinstance(mapping["flags"], Mapping):
        mapping = mapping["flags"]
    return {str(name): parse_flag(name, spec, path=path) for name, spec in mapping.items()}


def parse_flag(name: object, spec: object, *, path: str | None = None) -> Flag:
    """Validate one flag definition (``spec`` may be a mapping or a bare bool)."""
    where = f"flag {name!r}"
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise RagopsError(
            "a flag name must be a non-empty string of letters, digits, '_', '.' or '-'",
            path=path,
            field=where,
        )
    where = f"flag '{name}'"

    def fail(message: str) -> RagopsError:
        return RagopsError(message, path=path, field=where)

    if isinstance(spec, bool):
        return Flag(name, enabled=spec)
    if spec is None:
        spec = {}
    if not isinstance(spec, Mapping):
        raise fail(f"expected a mapping of settings or true/false, got {type(spec).__name__}")
    for key in spec:
        if key not in _KEYS:
            close = difflib.get_close_matches(str(key), _KEYS, n=1)
            hint = f"; did you mean '{close[0]}'?" if close else f" (allowed: {', '.join(_KEYS)})"
            raise fail(f"unknown key '{key}'{hint}")
    enabled = spec.get("enabled", True)
    if not isinstance(enabled, bool):
        raise fail(f"'enabled' must be true or false, got {enabled!r}")
    pct = _fraction(spec.get("rollout_pct", 1.0), "rollout_pct", fail)
    description = spec.get("description", "")
    if not isinstance(description, str):
        raise fail("'description' must be a string")
    return Flag(
        name,
        enabled=enabled,
        rollout_pct=pct,
        variants=_variants(spec.get("variants"), fail),
        allow=_ids(spec.get("allow"), "allow", fail),
        deny=_ids(spec.get("deny"), "deny", fail),
        description=description,
    )


def _fraction(value: object, key: str, fail: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or math.isnan(value):
        raise fail(f"'{key}' must be a number between 0 and 1, got {value!r}")
    if not 0.0 <= value <= 1.0:
        # 20 is almost surely "20%"; 1.5 could be anything, so no guess for it.
        hint = (
            f" (did you mean {value / 100:g}?)" if 1 < value <= 100 and value == int(value) else ""
        )
        raise fail(f"'{key}' {value!r} is outside 0-1; it is a fraction, 0.2 = 20%{hint}")
    return float(value)


def _variants(value: object, fail: Any) -> tuple[tuple[str, float], ...]:
    if value is None:
        return ()
    if not isinstance(value, Mapping) or not value:
        raise fail("'variants' must be a non-empty mapping of variant name to weight")
    for name in value:
        if not isinstance(name, str) or not name:
            raise fail(f"variant name {name!r} must be a non-empty string")
    pairs = tuple(
        (name, _fraction(weight, f"variants.{name}", fail)) for name, weight in value.items()
    )
    total = sum(weight for _name, weight in pairs)
    if abs(total - 1.0) > WEIGHT_TOLERANCE:
        raise fail(f"variant weights sum to {total:g}, not 1")
    return pairs


def _ids(value: object, key: str, fail: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list) or not all(
        isinstance(item, str | int) and not isinstance(item, bool) and item != "" for item in value
    ):
        raise fail(f"'{key}' must be a list of user ids (non-empty strings or integers)")
    return frozenset(str(item) for item in value)


def _read_yaml(path: Path) -> Any:
    import yaml

    class _UniqueKeyLoader(yaml.SafeLoader):
        """Rejects a flag defined twice, which plain YAML silently resolves to the last one."""

        def construct_mapping(self, node: Any, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _value in node.value:
                key = self.construct_object(key_node, deep=deep)
                if key in seen:
                    line = key_node.start_mark.line + 1
                    raise RagopsError(f"line {line}: key {key!r} is defined twice", path=str(path))
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise RagopsError(
            f"not UTF-8 text (byte 0x{exc.object[exc.start]:02x} at offset {exc.start}); "
            "save the flag file as UTF-8",
            path=str(path),
        ) from None
    except FileNotFoundError:
        raise RagopsError("flag file not found", path=str(path)) from None
    except OSError as exc:
        raise RagopsError(f"cannot read the flag file: {exc.strerror}", path=str(path)) from None
    try:
        data = yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass: safe
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise RagopsError(f"{where}{problem}", path=str(path)) from None
    return {} if data is None else data


# --------------------------------------------------------------- module-level store


_CACHE: dict[str, tuple[float, tuple[int, int], FeatureFlags]] = {}
# (deadline, store) of the default file, so the module-level calls skip even the
# $RAGOPS_FLAGS lookup until the deadline passes.
_DEFAULT: tuple[float, FeatureFlags] | None = None


def load_flags(path: str | os.PathLike[str] | None = None) -> FeatureFlags:
    """Return the store for ``path`` (default ``$RAGOPS_FLAGS``, then ``flags.yaml``), cached.

    The store is reloaded when the file's mtime or size changes, checked at most every
    :data:`RECHECK_SECONDS`, so a hot path pays a dict lookup, not a ``stat``.
    """
    if path is not None:
        key = os.fspath(path)
    else:
        key = os.environ.get("RAGOPS_FLAGS") or DEFAULT_FLAGS_FILE
    now = monotonic()
    cached = _CACHE.get(key)
    if cached is not None and now < cached[0]:
        return cached[2]
    try:
        st = os.stat(key)
    except OSError:
        hint = "" if path is not None else " (set $RAGOPS_FLAGS to the flag file)"
        raise RagopsError(f"flag file not found{hint}", path=key) from None
    stamp = (st.st_mtime_ns, st.st_size)
    store = cached[2] if cached is not None and cached[1] == stamp else FeatureFlags.from_yaml(key)
    _CACHE[key] = (now + RECHECK_SECONDS, stamp, store)
    return store


def clear_flags_cache() -> None:
    """Forget loaded flag files and ``$RAGOPS_FLAGS``, so the next call re-reads them."""
    global _DEFAULT
    _CACHE.clear()
    _DEFAULT = None


def _default_store() -> FeatureFlags:
    global _DEFAULT
    default = _DEFAULT
    if default is not None and monotonic() < default[0]:
        return default[1]
    store = load_flags()
    _DEFAULT = (monotonic() + RECHECK_SECONDS, store)
    return store


def is_enabled(flag: str, user_id: UserId = "", rollout_pct: float | None = None) -> bool:
    """Classic API: is ``flag`` on for ``user_id``, per ``$RAGOPS_FLAGS`` or ``flags.yaml``.

    ``$RAGOPS_FLAGS`` and the file are looked at again at most every
    :data:`RECHECK_SECONDS`; :func:`clear_flags_cache` makes a change visible at once.
    """
    return _default_store().is_enabled(flag, user_id, rollout_pct)


def variant(flag: str, user_id: UserId = "") -> str | None:
    """The user's variant of ``flag`` in the default flag file (:meth:`FeatureFlags.variant`)."""
    return _default_store().variant(flag, user_id)
