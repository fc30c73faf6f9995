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
_WORKER_USAGE_KEY = "ragops_usage_error"
_WORKER_PROBLEMS_KEY = "ragops_problems"


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from pytest_ragops import hooks

    pluginmanager.add_hookspecs(hooks)


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
        metavar="NAME",
        help="Who scores answers: auto (anthropic when ANTHROPIC_API_KEY is set, else "
        "offline) or a judge name (default: auto)",
    )
    from pytest_ragops.judge.options import add_judge_options

    add_judge_options(group)
    group.addoption(
        "--ragops-concurrency",
        default=None,
        metavar="N",
        help="Pipeline and judge calls in flight per process, shared by every evaluate() "
        "of the session; under xdist per worker (default: 8)",
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
        metavar="PATH|mlflow:SPEC",
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


def pytest_exception_interact(
    node: pytest.Item | pytest.Collector, call: pytest.CallInfo[Any], report: Any
) -> None:
    """A bad case file loaded at module level is one line, even with evals off."""
    exc = call.excinfo.value if call.excinfo is not None else None
    if call.when == "collect" and isinstance(exc, RagopsError):
        report.longrepr = f"ragops: {exc}"


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


def _outcome(report: pytest.TestReport) -> str | None:
    """Which pytest outcome a report counts as (``None``: not counted)."""
    if str(report.outcome) == "rerun":  # pytest-rerunfailures' own outcome
        return "rerun"
    xfail = hasattr(report, "wasxfail")
    if report.when == "call":
        if report.passed:
            return "xpassed" if xfail else "passed"
        if report.skipped:
            return "xfailed" if xfail else "skipped"
        return "failed"
    if report.failed:
        return "errors"
    if report.when == "setup" and report.skipped:
        return "xfailed" if xfail else "skipped"
    return None


class RagopsPlugin:
    """The per-run state when evals are on: session, records, gates and reports."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        from pytest_ragops.engine import load_baseline, run_info
        from pytest_ragops.judge import make_judge
        from pytest_ragops.judge.validate import CheckedJudge
        from pytest_ragops.session import EvalSession
        from pytest_ragops.settings import check_writable
        from pytest_ragops.spool import ContextSpool

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
        #: pytest outcome → count, on the controller (the verdict follows pytest).
        self.outcomes: dict[str, int] = {}
        #: One-line problems found after the tests (report writing, hooks, closing).
        self.problems: list[str] = []
        self.usage_errors: list[str] = []
        self._gated: tuple[Any, ...] | None = None
        #: node id → (records count, aggregates) computed for its marker gates, reused
        #: by the report while the test's records are still those.
        self.test_aggregates: dict[str, tuple[int, Any]] = {}
        if not self.is_worker:
            check_writable(settings.report, "--ragops-report")
            check_writable(settings.markdown, "--ragops-markdown")
        # Bad baselines, corpus files and judge options stop the run before any test.
        self.baseline = None if self.is_worker else load_baseline(settings, config)
        self.run_info = {} if self.is_worker else run_info(settings)
        self.session = EvalSession(settings.concurrency)
        #: Finished tests' contexts, on disk until the JSON report reads them back.
        self.spool = ContextSpool()
        judge = make_judge(settings, config.hook)
        self.session.judge = CheckedJudge(judge, run_sync=self.session.in_pool)

    # -- collection ----------------------------------------------------------------
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        from pytest_ragops.engine import marker_gates

        for item in items:
            try:
                marker_gates(item)
            except RagopsError as exc:
                if not self.is_worker:
                    raise pytest.UsageError(f"ragops: {exc}") from None
                # A UsageError raised in an xdist worker becomes an INTERNALERROR on the
                # controller: hand the message over instead and run nothing.
                self.usage_errors.append(f"ragops: {exc}")
                self.config.hook.pytest_deselected(items=list(items))
                items.clear()
                return

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
            f"ragops: judge {s.judge_description()}, concurrency {s.concurrency} per process, "
            f"{len(s.thresholds)} suite gates, report {s.report}"
        )

    # -- running ---------------------------------------------------------------------
    def fixture_for(self, nodeid: str) -> Ragops:
        from pytest_ragops.runner import Ragops

        sink = self.records.setdefault(nodeid, [])
        return Ragops(
            nodeid,
            self.session,
            sink,
            metrics=self.settings.metrics,
            repeats=self.settings.judge_repeats,
            prices=self.settings.prices,
            budget_usd=None
            if self.settings.judge_options is None
            else self.settings.judge_options.budget_usd,
        )

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Each attempt starts clean: with pytest-rerunfailures only the last one counts."""
        self.records.setdefault(item.nodeid, []).clear()
        self.test_aggregates.pop(item.nodeid, None)
        self.test_gates[:] = [g for g in self.test_gates if g["scope"] != item.nodeid]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            result = yield
            from pytest_ragops.engine import check_test_gates

            records = self.records.get(item.nodeid, [])
            outcomes, failure, aggregates = check_test_gates(item, records)
            if aggregates is not None:
                self.test_aggregates[item.nodeid] = (len(records), aggregates)
            self.test_gates.extend(outcomes)
            if failure:
                pytest.fail(failure, pytrace=False)
            return result
        finally:  # passed or failed, the test's records are reported: park their contexts
            self.spool.spill(self.records.get(item.nodeid, []))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if self.is_worker:
            return
        outcome = _outcome(report)
        if outcome is not None:
            self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1

    # -- xdist -----------------------------------------------------------------------
    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: object) -> None:
        from pytest_ragops.errors import RagopsError
        from pytest_ragops.results import Record, decode_records

        output = getattr(node, "workeroutput", None) or {}
        worker = str(getattr(node.gateway, "id", node))
        if _WORKER_KEY not in output:
            self.lost_workers.append(worker)
            return
        for message in output.get(_WORKER_USAGE_KEY, []):
            if message not in self.usage_errors:
                self.usage_errors.append(message)
        self.problems.extend(f"worker {worker}: {p}" for p in output.get(_WORKER_PROBLEMS_KEY, []))
        # Taken out of the node's output, a chunk at a time, each dropped once its dicts
        # are records: the controller never holds a worker's records twice.
        payload = output.pop(_WORKER_KEY)
        chunks: list[Any] = payload if isinstance(payload, list) else [payload]
        n = 0
        for c, chunk in enumerate(chunks):
            chunks[c] = None
            try:
                received = decode_records(chunk)
            except Exception as exc:  # noqa: BLE001 - a garbled payload is a lost worker
                self.problems.append(f"worker {worker} sent unreadable records: {exc}")
                self.lost_workers.append(worker)
                return
            for i, data in enumerate(received):
                n += 1
                try:
                    rec = Record.from_dict(data)
                except RagopsError as exc:  # kept, unchecked: its bad number counts as missing
                    self.problems.append(f"worker {worker}: record {n}: {exc}")
                    rec = Record.from_dict(data, check=False)
                received[i] = None
                self.spool.spill((rec,))
                self.records.setdefault(rec.test_id, []).append(rec)
        self.test_gates.extend(output.get(_WORKER_GATES_KEY, []))

    # -- gating and reporting ------------------------------------------------------------
    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        try:
            return (yield)
        finally:
            if not self.is_worker and not self.config.option.collectonly:
                self._gate(session)

    def _gate(self, session: pytest.Session) -> None:
        from pytest_ragops.engine import gate_suite

        known = {
            test: aggregates
            for test, (count, aggregates) in self.test_aggregates.items()
            if len(self.records.get(test, ())) == count
        }
        records, scopes, self.suite_gates = gate_suite(self.settings, self.records, known)
        self._gated = (records, scopes)
        self.problems.extend(scopes.problems)
        if any(not g.passed for g in self.suite_gates) or self.lost_workers or scopes.problems:
            # pytest_sessionfinish is too late to change testsfailed (as in pytest-cov).
            session.testsfailed += 1

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        self.problems.extend(self.session.close())
        if self.is_worker:
            workeroutput: dict[str, Any] = self.config.workeroutput  # type: ignore[attr-defined]
            from pytest_ragops.columns import Columns
            from pytest_ragops.results import encode_record_chunks

            mine = [r for recs in self.records.values() for r in recs]
            # Bad numbers are named here (the controller fails the run on each) and sent
            # as missing: a NaN does not survive JSON, a negative would be refused twice.
            checked = Columns(mine)
            self.problems.extend(checked.problems)
            workeroutput[_WORKER_KEY] = encode_record_chunks(mine, checked.flagged)
            workeroutput[_WORKER_GATES_KEY] = self.test_gates
            workeroutput[_WORKER_USAGE_KEY] = self.usage_errors
            workeroutput[_WORKER_PROBLEMS_KEY] = self.problems
            return
        if self.usage_errors:
            for message in self.usage_errors:
                self.config.get_terminal_writer().line(f"ERROR: {message}", red=True)
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            return
        if self._gated is None:  # --collect-only, or the loop never ran
            return
        self._finish_report(session, int(exitstatus))

    def _finish_report(self, session: pytest.Session, exitstatus: int) -> None:
        from pytest_ragops.engine import build_final_report, write_reports

        assert self._gated is not None
        records, scopes = self._gated
        judge = self.session.judge
        try:
            self.report = build_final_report(
                self.settings, records, scopes, self.suite_gates, self.test_gates,
                self.baseline, self.run_info,
                judge_info=None if judge is None else judge.report_info(),
                exitstatus=exitstatus, outcomes=self.outcomes,
                lost_workers=self.lost_workers, failures=self.problems,
            )  # fmt: skip
        except Exception as exc:  # noqa: BLE001 - reporting must never be an INTERNALERROR
            self.problems.append(f"could not build the report: {exc.__class__.__name__}: {exc}")
            self._fail(session)
            return
        write_errors = write_reports(self.settings, self.report)
        self.problems.extend(write_errors)
        if write_errors:
            self.report["summary"]["passed"] = False
            self.report["summary"]["failures"].extend(write_errors)
        self.problems.extend(self._call_finish_hooks(exitstatus))
        if self.problems:
            self._fail(session)

    def _call_finish_hooks(self, exitstatus: int) -> list[str]:
        """Run every ``pytest_ragops_session_finish``; one that raises does not stop others."""
        assert self.report is not None
        errors: list[str] = []
        hook = self.config.hook.pytest_ragops_session_finish
        impls = hook.get_hookimpls()
        if impls:  # the hook's report holds builtins only: spilled contexts come back
            from pytest_ragops.spool import SpilledContexts

            try:
                for rec in self.report.get("records", ()):
                    if isinstance(rec.get("contexts"), SpilledContexts):
                        rec["contexts"] = rec["contexts"].load()
            except (OSError, ValueError) as exc:
                return [f"could not read the spooled contexts back: {exc}"]
        kwargs = {"report": self.report, "exitstatus": exitstatus}
        for impl in reversed(impls):  # pluggy's call order
            try:
                impl.function(*(kwargs[name] for name in impl.argnames))
            except Exception as exc:  # noqa: BLE001 - a crashed reporter fails the run
                errors.append(
                    f"pytest_ragops_session_finish of {impl.plugin_name} failed: "
                    f"{exc.__class__.__name__}: {exc}"
                )
        return errors

    @staticmethod
    def _fail(session: pytest.Session) -> None:
        if session.exitstatus == pytest.ExitCode.OK:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED

    def pytest_unconfigure(self) -> None:
        self.spool.close()

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        tr = terminalreporter
        if self.report is None and not self.problems:
            return
        tr.write_sep("=", "ragops")
        if self.report is not None:
            from pytest_ragops.report.terminal import render_gates, render_table

            for line in render_table(self.report):
                tr.write_line(line)
            tr.write_line(f"report: {self.settings.report}  markdown: {self.settings.markdown}")
        for worker in self.lost_workers:
            tr.write_line(f"FAILED worker {worker} sent no ragops records (crashed?)", red=True)
        for problem in self.problems:
            tr.write_line(f"WARNING ragops: {problem}", yellow=True)
        if self.report is None:
            return
        gates = self.report["gates"]
        if gates:
            failed = any(not g["passed"] for g in gates)
            tr.write_sep("=", "ragops gates", red=failed, green=not failed)
            for line in render_gates(gates):
                tr.write_line(line, red=line.startswith("FAILED"))
        verdict = self.report["summary"]
        if not verdict["passed"]:
            tr.write_line("ragops verdict: FAILED: " + "; ".join(verdict["failures"]), red=True)
