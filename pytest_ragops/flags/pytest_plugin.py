"""The ``ragops_flags`` fixture: override feature flags inside one test.

Overrides reach every flag store and the module-level ``is_enabled``, and are undone when
the test ends, pass or fail::

    def test_new_prompt(ragops_flags):
        ragops_flags.set("new_prompt_v3", True)           # on for every user
        ragops_flags.set("reranker", "cross_encoder")     # on, with this variant
        ragops_flags.set("beta", {"rollout_pct": 0.5})    # a validated definition
        assert is_enabled("new_prompt_v3", "anyone")

Importing this module costs only the flag store (no YAML parser, no scipy).
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.flags.overrides import FlagOverrides
from pytest_ragops.flags.store import clear_flags_cache

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["flag_overrides", "ragops_flags"]


@contextmanager
def flag_overrides() -> Iterator[FlagOverrides]:
    """Context manager behind the fixture: overrides undone and caches cleared on exit."""
    overrides = FlagOverrides()
    clear_flags_cache()
    try:
        yield overrides
    finally:
        overrides.restore()
        clear_flags_cache()


@pytest.fixture
def ragops_flags() -> Iterator[FlagOverrides]:
    """Override flags for this test; restored afterwards.

    Cached flag files are forgotten before and after the test, so a ``$RAGOPS_FLAGS`` set
    with ``monkeypatch`` applies at once and does not leak into the next test.
    """
    with flag_overrides() as overrides:
        yield overrides
