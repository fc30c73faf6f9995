"""pytest side of MLflow tracking: options, and the hook that logs the finished session.

Imports only the standard library and pytest at module level. With evals on and logging
not ``off``, ``pytest_configure`` registers one :class:`MlflowTracking` object whose
``pytest_ragops_session_finish`` hookimpl logs the final report (controller only: the
hook never runs on an xdist worker, and the fallback below checks for workers itself).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Generator, Mapping

    from pytest_ragops.tracking.options import TrackingOptions
    from pytest_ragops.tracking.session import LogResult

PLUGIN_NAME = "ragops-mlflow"
_CORE_PLUGIN = "ragops-session"
_MLFLOW_PYTEST_PLUGIN = "mlflow.pytest.plugin"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("ragops", "RAG/LLM evals and quality gates (pytest-ragops)")
    group.addoption(
        "--ragops-mlflow",
        default=None,
        metavar="URI|off",
        help="MLflow tracking URI for eval runs, or off (default: $MLFLOW_TRACKING_URI, "
        "else the SQLite store .ragops/mlflow.db)",
    )
    group.addoption(
        "--ragops-experiment",
        default=None,
        metavar="NAME",
        help="MLflow experiment of the eval runs (default: ragops)",
    )
    group.addoption(
        "--ragops-mlflow-traces",
        default=None,
        metavar="on|off",
        help="Log a trace per case with one assessment per metric (default: on)",
    )
    parser.addini("ragops_mlflow", "MLflow tracking URI for eval runs, or off", default=None)
    parser.addini("ragops_experiment", "MLflow experiment of the eval runs", default=None)
    parser.addini("ragops_mlflow_traces", "A trace per case: on or off", default=None)


def _evals_on(config: pytest.Config) -> bool:
    return bool(getattr(config.option, "ragops_eval", False)) or config.pluginmanager.has_plugin(
        _CORE_PLUGIN
    )


def _setting(config: pytest.Config, table: Mapping[str, Any], name: str) -> tuple[Any, str]:
    """Command line, then ``[tool.ragops]``, then the ini file: the value and where it came from."""
    cli = getattr(config.option, f"ragops_{name}", None)
    if cli is not None:
        return cli, f"--ragops-{name.replace('_', '-')}"
    if name in table:
        return table[name], f"[tool.ragops] {name}"
    ini = config.getini(f"ragops_{name}")
    if ini:
        return ini, f"ini ragops_{name}"
    return None, ""


def tracking_options(config: pytest.Config) -> TrackingOptions:
    """Resolve the MLflow options once; a bad value is a ``RagopsUsageError``."""
    from pytest_ragops.errors import RagopsUsageError
    from pytest_ragops.pyproject import pyproject_path
    from pytest_ragops.settings import load_pyproject
    from pytest_ragops.tracking.options import (
        DEFAULT_EXPERIMENT,
        TrackingOptions,
        parse_switch,
        resolve_uri,
    )

    pyproject = pyproject_path(config)
    table = load_pyproject(pyproject)
    root = pyproject.parent if pyproject.exists() else Path(str(config.rootpath))
    raw_uri, where = _setting(config, table, "mlflow")
    if raw_uri is not None and not isinstance(raw_uri, str):
        raise RagopsUsageError(f"must be a tracking URI or 'off', got {raw_uri!r}", path=where)
    if raw_uri is None and os.environ.get("RAGOPS_MLFLOW"):
        # An environment default below every file: the test suite sets it to off.
        raw_uri, where = os.environ["RAGOPS_MLFLOW"], "$RAGOPS_MLFLOW"
    if raw_uri is None and not os.environ.get("MLFLOW_TRACKING_URI"):
        raw_uri = _mlflow_plugin_uri(config)
    uri = resolve_uri(raw_uri, root)
    experiment, where = _setting(config, table, "experiment")
    if experiment is None:
        experiment = os.environ.get("MLFLOW_EXPERIMENT_NAME") or DEFAULT_EXPERIMENT
    if not isinstance(experiment, str) or not experiment.strip():
        raise RagopsUsageError(f"must be an experiment name, got {experiment!r}", path=where)
    traces_raw, where = _setting(config, table, "mlflow_traces")
    traces = True if traces_raw is None else parse_switch(traces_raw, where)
    params: dict[str, Any] = {}
    concurrency = getattr(config.option, "ragops_concurrency", None) or table.get("concurrency")
    params["concurrency"] = str(concurrency or 8)
    return TrackingOptions(
        uri=uri, experiment=experiment.strip(), traces=traces, root=root, params=params
    )


def _mlflow_plugin_uri(config: pytest.Config) -> str | None:
    """With ``mlflow.pytest.plugin`` on, log to the store it logs to, so runs can nest."""
    if not config.pluginmanager.has_plugin(_MLFLOW_PYTEST_PLUGIN):
        return None
    import mlflow  # already imported by that plugin

    return str(mlflow.get_tracking_uri())


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    if not _evals_on(config) or hasattr(config, "workerinput"):
        return  # off, or an xdist worker: only the controller logs
    from pytest_ragops.errors import RagopsError

    try:
        options = tracking_options(config)
    except RagopsError as exc:
        raise pytest.UsageError(f"ragops: {exc}") from None
    if options.uri is None:
        return
    config.pluginmanager.register(MlflowTracking(config, options), PLUGIN_NAME)


class MlflowTracking:
    """Logs the finished session; registered only when evals and logging are on."""

    def __init__(self, config: pytest.Config, options: TrackingOptions) -> None:
        self.config = config
        self.options = options
        self.result: LogResult | None = None
        self._outer_run: str | None = None

    @pytest.hookimpl(wrapper=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Generator[None, object, object]:
        try:
            return (yield)
        finally:
            self._outer_run = self._mlflow_session_run()

    def _mlflow_session_run(self) -> str | None:
        """The session run ``mlflow.pytest.plugin`` opened, when it logs to our store.

        Read after the test loop and before that plugin ends its run at session finish.
        """
        if not self.config.pluginmanager.has_plugin(_MLFLOW_PYTEST_PLUGIN):
            return None
        import mlflow

        run = mlflow.active_run()
        if run is None or str(mlflow.get_tracking_uri()) != self.options.uri:
            return None
        return str(run.info.run_id)

    @pytest.hookimpl(optionalhook=True)
    def pytest_ragops_session_finish(self, report: dict[str, Any], exitstatus: int) -> None:
        """Log the final report; never raises for a tracking failure (it spools instead)."""
        markdown = None
        core = self.config.pluginmanager.get_plugin(_CORE_PLUGIN)
        md_path = getattr(getattr(core, "settings", None), "markdown", None)
        if isinstance(md_path, Path) and md_path.is_file():
            markdown = md_path.read_text(encoding="utf-8")
        self.log(report, markdown)

    def log(self, report: Mapping[str, Any], markdown: str | None) -> LogResult:
        from dataclasses import replace

        from pytest_ragops.tracking.session import log_session

        core = self.config.pluginmanager.get_plugin(_CORE_PLUGIN)
        report_path = getattr(getattr(core, "settings", None), "report", None)
        # The spool lives beside the report (.ragops/spool by default).
        spool = report_path.parent / "spool" if isinstance(report_path, Path) else None
        options = replace(self.options, parent_run_id=self._outer_run, spool_dir=spool)
        self.result = log_session(report, options, markdown)
        self._announce(self.result)
        return self.result

    def _announce(self, result: LogResult) -> None:
        if self.config.pluginmanager.get_plugin("terminalreporter") is None:
            print(result.summary_line())  # -p no:terminal: still one line, never silence

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if self.result is not None:
            terminalreporter.write_line(self.result.summary_line(), yellow=not self.result.logged)
