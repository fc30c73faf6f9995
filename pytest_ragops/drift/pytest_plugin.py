"""pytest integration: the ``ragops_drift`` fixture, to gate a scheduled job on drift.

Register with ``-p pytest_ragops.drift.pytest_plugin`` or ``pytest_plugins``. The store
comes from the ``ragops_drift`` marker's ``db``, else the ``ragops_drift_db`` ini option,
else ``$RAGOPS_DRIFT_DB``, else ``drift.db``; marker keywords (``window_days``,
``baseline_days``, ``min_drop``, ...) become the defaults of ``check``::

    @pytest.mark.ragops_drift(window_days=7)
    def test_no_query_drift(ragops_drift):
        ragops_drift.assert_no_drift()

The gate fails closed: a database that does not exist (or has no retrieval log table) and
a recent window with no logged query fail the test with one line, since a scheduled check
that "passes" on a mistyped path or a service that stopped logging protects nothing.
An unknown marker keyword is a usage error (exit 4) before any test runs.

Importing this module loads nothing heavy; the drift code loads when the fixture is used.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_ragops.drift.schema import DriftCheck

__all__ = ["MARKER_KEYWORDS", "DriftGate", "ragops_drift"]

_FAILING = ("drift",)
#: Keywords the ``ragops_drift`` marker accepts: the store, and ``check_drift``'s options.
MARKER_KEYWORDS = frozenset(
    {
        "db",
        "window_days",
        "baseline_days",
        "now",
        "min_samples",
        "min_drop",
        "alpha",
        "test",
        "confidence",
        "bins",
    }
)


class DriftGate:
    """What the ``ragops_drift`` fixture returns: run a check, or fail the test on drift."""

    def __init__(self, db: str, defaults: dict[str, Any]) -> None:
        #: The retrieval log checked (path or SQLAlchemy URL).
        self.db = db
        self._defaults = defaults

    def check(self, **options: Any) -> DriftCheck:
        """Run :func:`~pytest_ragops.drift.check_retrieval_drift` with the marker's defaults."""
        from pytest_ragops.drift import RetrievalLog
        from pytest_ragops.errors import RagopsError

        merged = {**self._defaults, **options}
        db = merged.pop("db", self.db)
        try:
            with RetrievalLog(db, create=False) as log:
                return log.check_drift(**merged)
        except RagopsError as exc:
            problem = str(exc)
        pytest.fail(f"query drift: {problem}", pytrace=False)

    def assert_no_drift(self, *, fail_on: tuple[str, ...] = _FAILING, **options: Any) -> DriftCheck:
        """Fail the test (with the numbers) when the status is in ``fail_on``.

        ``fail_on=("drift", "possible_drift")`` is stricter; ``insufficient_data`` passes
        unless listed, so a fresh deployment does not fail its first scheduled run, but a
        recent window with no logged query at all fails: nothing is being logged.
        """
        result = self.check(**options)
        if result["recent_count"] == 0:
            pytest.fail(
                f"query drift: {self.db}: no query logged in the recent window "
                f"({result['window_days']:g} days to {result['recent_end']}); "
                "is the app still logging?",
                pytrace=False,
            )
        if result["status"] in fail_on:
            pytest.fail(describe(result), pytrace=False)
        return result


def describe(result: DriftCheck) -> str:
    """One paragraph with the numbers behind a verdict."""
    ci = result["delta_ci"]
    ci_text = f"[{ci[0]:+.4f}, {ci[1]:+.4f}]" if ci else "n/a"
    return (
        f"query drift: status {result['status']}: recent mean {result['recent_avg_score']} "
        f"(n={result['recent_count']}) vs baseline {result['baseline_avg_score']} "
        f"(n={result['baseline_count']}), delta {result['delta']} CI {ci_text}, "
        f"p={result['p_value']} ({result['test']}); {result['action']}"
    )


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "ragops_drift_db",
        "Retrieval log the ragops_drift fixture checks "
        "(SQLite path or SQLAlchemy URL; default $RAGOPS_DRIFT_DB or drift.db)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "ragops_drift(db=None, **check_options): defaults for the ragops_drift fixture's check",
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Reject unknown ``ragops_drift`` keywords before any test runs (a typo would be ignored)."""
    for item in items:
        for marker in item.iter_markers("ragops_drift"):
            unknown = sorted(set(marker.kwargs) - MARKER_KEYWORDS)
            if unknown or marker.args:
                what = ", ".join(unknown) if unknown else "positional arguments"
                raise pytest.UsageError(
                    f"ragops: {item.nodeid}: ragops_drift marker: unknown keyword(s) {what}; "
                    f"use {', '.join(sorted(MARKER_KEYWORDS))}"
                )


@pytest.fixture
def ragops_drift(request: pytest.FixtureRequest) -> DriftGate:
    """A :class:`DriftGate` over the configured retrieval log."""
    marker = request.node.get_closest_marker("ragops_drift")
    defaults: dict[str, Any] = dict(marker.kwargs) if marker else {}
    ini = str(request.config.getini("ragops_drift_db") or "")
    db = defaults.pop("db", None) or ini or os.environ.get("RAGOPS_DRIFT_DB") or "drift.db"
    if "://" not in db and not os.path.isabs(db) and ini and db == ini:
        db = str(request.config.rootpath / db)  # ini paths are relative to the rootdir
    return DriftGate(db, defaults)
