"""Force flags on, off or to a variant for every store, then restore them.

The ``ragops_flags`` fixture is built on :class:`FlagOverrides`; outside pytest use it as
a context manager.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags.flag import _OVERRIDES, Flag
from pytest_ragops.flags.store import parse_flag

__all__ = ["FlagOverrides"]


class FlagOverrides:
    """Force flags on, off or to a variant for every store, and restore them afterwards.

    Used as a context manager or through the ``ragops_flags`` fixture::

        with FlagOverrides() as flags:
            flags.set("new_prompt_v3", True)          # on for everyone
            flags.set("reranker", "cross_encoder")    # on, this variant for everyone
            flags.set("rollout", {"rollout_pct": 0.5})  # a full definition, validated
    """

    def __init__(self) -> None:
        self._saved: dict[str, Flag] | None = None

    def set(self, flag: str, value: bool | str | Mapping[str, Any] | Flag) -> None:
        """Override ``flag`` until :meth:`restore` (or the end of the ``with`` block / test)."""
        if self._saved is None:
            self._saved = dict(_OVERRIDES)
        if isinstance(value, Flag):
            spec = value if value.name == flag else replace(value, name=flag)
        elif isinstance(value, bool):
            spec = Flag(flag, enabled=value)
        elif isinstance(value, str):
            spec = Flag(flag, variants=((value, 1.0),))
        elif isinstance(value, Mapping):
            spec = parse_flag(flag, dict(value), path="<override>")
        else:
            raise RagopsError(
                f"override must be a bool, a variant name, a mapping or a Flag, got "
                f"{type(value).__name__} {value!r}",
                path="<override>",
                field=f"flag '{flag}'",
            )
        _OVERRIDES[flag] = spec

    def unset(self, flag: str) -> None:
        """Drop the override of ``flag`` (the file's definition applies again)."""
        if self._saved is None:
            self._saved = dict(_OVERRIDES)
        _OVERRIDES.pop(flag, None)

    def restore(self) -> None:
        """Put back the overrides that were in place before the first change."""
        if self._saved is not None:
            _OVERRIDES.clear()
            _OVERRIDES.update(self._saved)
            self._saved = None

    def __enter__(self) -> FlagOverrides:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.restore()
