"""pytest hooks for pytest-ragops: options, markers, the ``ragops`` fixture, gates.

Switched off (no ``--ragops-eval``), the module-level hooks only add options, register
markers and skip eval tests: no output, files, threads or heavy imports. Switched on,
``pytest_configure`` registers one :class:`RagopsPlugin` whose hooks delegate to
``runner``, ``gates`` and ``report``. Under pytest-xdist, workers record and ship their
records to the controller, which gates and reports once over all of them.
"""

from __future__ import annotations

import tomllib
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.errors import RagopsError
from pytest_ragops.pyproject import pyproject_path

if TYPE_CHECKING:
    from collections.abc import Generator, Iterator

    from pytest_ragops.gates import GateResult
    from pytest_ragops.results import Record
    from pytest_ragops.runner import Ragops
    from pytest_ragops.settings import Settings

#: The drift fixture module imports only the standard library; it registers its ini
#: option early this way. The flags fixture is defined below with a lazy import instead.
pytest_plugins = ["pytest_ragops.drift.pytest_plugin", "pytest_ragops.tracking.pytest_plugin"]

_PLUGIN_NAME = "ragops-session"
_SKIP_REASON = "ragops eval test: run with --ragops-eval"
_WORKER_KEY = "ragops_records"
_WORKER_GATES_KEY = "ragops_test_gates"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ragops", "RAG/LLM evals and quality gates (pytest-ragops)")
    group.addoption(
        "--ragops-eval",
        action="store_true",
        default=False,
        help="Run eval tests (marked ragops_eval or using the ragops fixture); skipped otherwise",
    )
    group.addoption(
        "--ragops-judge",
        default=None,
        metavar="auto|offline",
        help="Who scores answers; auto is the offline judge in this release (default: auto)",
    )
    group.addoption(
        "--ragops-concurrency",
        default=None,
        metavar="N",
        help="Pipeline and judge calls in flight per evaluate() (default: 8)",
    )
    group.addoption(
        "--ragops-threshold",
        action="append",
        default=[],
        metavar="METRIC=VALUE",
        help="Suite gate, e.g. faithfulness=0.85 or cost_per_query_usd=0.01; repeatable. "
        "Overrides [tool.ragops.thresholds] key by key.",
    )
    group.addoption(
        "--ragops-report",
        default=None,
        metavar="PATH",
        help="JSON report path (default: .ragops/report.json under the rootdir)",
    )
    group.addoption(
        "--ragops-markdown",
        default=None,
        metavar="PATH",
        help="Markdown report path, the PR comment body (default: .ragops/report.md)",
    )
    group.addoption(
        "--ragops-baseline",
        default=None,
        metavar="PATH",
        help="Earlier JSON report to diff against: adds deltas and regressed cases (default: none)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "ragops_eval: an eval test, skipped unless pytest runs with --ragops-eval"
    )
    config.addinivalue_line(
        "markers",
        "ragops_threshold(**gates): gates on this test's own eval records, "
        "e.g. ragops_threshold(faithfulness=0.8, latency_p95_s=2)",
    )
    if not (config.option.ragops_eval or _eval_in_pyproject(config)):
        return
    from pytest_ragops.settings import settings_from_config

    try:
        settings = settings_from_config(config)
        plugin = RagopsPlugin(config, settings)
    except RagopsError as exc:
        raise pytest.UsageError(f"ragops: {exc}") from None
    config.pluginmanager.register(plugin, _PLUGIN_NAME)


def _eval_in_pyproject(config: pytest.Config) -> bool:
    """``eval = true`` in ``[tool.ragops]`` switches evals on without the flag.

    Lenient on purpose: a bad file is reported by the settings only when evals are on.
    """
    path = pyproject_path(config)
    try:
        with path.open("rb") as fh:
            table = tomllib.load(fh).get("tool", {}).get("ragops", {})
    except (OSError, tomllib.TOMLDecodeError):
        return False
    return isinstance(table, dict) and table.get("eval") is True


def _is_eval_item(item: pytest.Item) -> bool:
    if item.get_closest_marker("ragops_eval") is not None:
        return True
    return "ragops" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.pluginmanager.has_plugin(_PLUGIN_NAME):
        return
    skip = pytest.mark.skip(reason=_SKIP_REASON)
    for item in items:
        if _is_eval_item(item):
            item.add_marker(skip)


@pytest.fixture
def ragops(request: pytest.FixtureRequest) -> Ragops:
    """Score answers and run pipelines over golden cases; see ``Ragops.record``/``evaluate``."""
    plugin = request.config.pluginmanager.get_plugin(_PLUGIN_NAME)
    if not isinstance(plugin, RagopsPlugin):
        pytest.skip(_SKIP_REASON)
    return plugin.fixture_for(request.node.nodeid)


@pytest.fixture
def ragops_flags() -> Iterator[Any]:
    """Override feature flags inside one test: ``ragops_flags.set("new_prompt_v3", True)``.

    Overrides reach every flag store and the module-level ``is_enabled`` and are undone
    when the test ends. Defined here with a lazy import so that merely installing the
    plugin does not load the flag store.
    """
    from pytest_ragops.flags.pytest_plugin import flag_overrides

    with flag_overrides() as overrides:
        yield overrides


def _is_xdist_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


class RagopsPlugin:
    """The per-run state when evals are on: records, gates and reports."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        from pytest_ragops.engine import load_baseline, run_info

        self.config = config
        self.settings = settings
        self.is_worker = _is_xdist_worker(config)
        #: node id → that test's records, in the order they were made.
        self.records: dict[str, list[Record]] = {}
        self.lost_workers: list[str] = []
        self.suite_gates: list[GateResult] = []
        #: Outcomes of ``ragops_threshold`` markers, as report dicts.
        self.test_gates: list[dict[str, Any]] = []
        self.report: dict[str, Any] | None = None
        self._judge: Any = None
        # Bad baselines and corpus files stop the run before any test, not after.
        self.baseline = None if self.is_worker else load_baseline(settings)
        self.run_info = {} if self.is_worker else run_info(settings)

    # -- collection ----------------------------------------------------------------
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        from pytest_ragops.engine import marker_gates

        for item in items:
            try:
                marker_gates(item)
            except RagopsError as exc:
                raise pytest.UsageError(f"ragops: {exc}") from None

    def pytest_exception_interact(self, node: pytest.Item | pytest.Collector, call: Any) -> None:
        """A bad case file found while collecting is a usage error (exit 4), not a traceback."""
        exc = call.excinfo.value if call.excinfo is not None else None
        if call.when == "collect" and isinstance(exc, RagopsError):
            raise pytest.UsageError(f"ragops: {exc}")

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, call: Any) -> Generator[None, Any, Any]:
        report = yield
        if call.excinfo is not None and isinstance(call.excinfo.value, RagopsError):
            report.longrepr = f"ragops: {call.excinfo.value}"  # one line, no traceback
        return report

    def pytest_report_header(self) -> str:
        s = self.settings
        return (
            f"ragops: judge {s.resolved_judge()}, {len(s.thresholds)} suite gates, "
            f"report {s.report}"
        )

    # -- running ---------------------------------------------------------------------
    def fixture_for(self, nodeid: str) -> Ragops:
        from pytest_ragops.judge import make_judge
        from pytest_ragops.runner import Ragops

        if self._judge is None:
            self._judge = make_judge(self.settings.resolved_judge())
        sink = self.records.setdefault(nodeid, [])
        return Ragops(nodeid, self._judge, self.settings.concurrency, sink)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        result = yield
        from pytest_ragops.engine import check_test_gates

        outcomes, failure = check_test_gates(item, self.records.get(item.nodeid, []))
        self.test_gates.extend(outcomes)
        if failure:
            pytest.fail(failure, pytrace=False)
        return result

    # -- xdist -----------------------------------------------------------------------
    def pytest_sessionfinish(self) -> None:
        if self.is_worker:
            workeroutput: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
            workeroutput[_WORKER_KEY] = [
                r.to_dict() for recs in self.records.values() for r in recs
            ]
            workeroutput[_WORKER_GATES_KEY] = self.test_gates

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        from pytest_ragops.results import Record

        output = getattr(node, "workeroutput", None) or {}
        if _WORKER_KEY not in output:
            self.lost_workers.append(str(getattr(node.gateway, "id", node)))
            return
        for data in output[_WORKER_KEY]:
            rec = Record.from_dict(data)
            self.records.setdefault(rec.test_id, []).append(rec)
        self.test_gates.extend(output.get(_WORKER_GATES_KEY, []))

    # -- gating and reporting ------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        try:
            return (yield)
        finally:
            if not self.is_worker and not self.config.option.collectonly:
                self._finish(session)

    def _finish(self, session: pytest.Session) -> None:
        from pytest_ragops.engine import finish_run

        self.suite_gates, self.report = finish_run(
            self.settings,
            self.records,
            self.test_gates,
            self.lost_workers,
            self.baseline,
            self.run_info,
        )
        if any(not g.passed for g in self.suite_gates) or self.lost_workers:
            # pytest_sessionfinish is too late to change the exit status (as in pytest-cov).
            session.testsfailed += 1

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.report is None:
            return
        from pytest_ragops.report.terminal import render_gates, render_table

        tr = terminalreporter
        tr.write_sep("=", "ragops")
        for line in render_table(self.report):
            tr.write_line(line)
        tr.write_line(f"report: {self.settings.report}  markdown: {self.settings.markdown}")
        for worker in self.lost_workers:
            tr.write_line(f"FAILED worker {worker} sent no ragops records (crashed?)", red=True)
        gates = self.report["gates"]
        if gates:
            failed = any(not g["passed"] for g in gates)
            tr.write_sep("=", "ragops gates", red=failed, green=not failed)
            for line in render_gates(gates):
                tr.write_line(line, red=line.startswith("FAILED"))
