"""Where and how a session is logged: one frozen object, resolved once from options and defaults.

The default store is a SQLite file under ``.ragops/`` with its artifacts beside it, so that
``mlflow ui --backend-store-uri sqlite:///<root>/.ragops/mlflow.db`` opens it as is, from any
directory (the experiment records an absolute artifact location).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_ragops.errors import RagopsUsageError

__all__ = [
    "DEFAULT_EXPERIMENT",
    "TrackingOptions",
    "default_store",
    "parse_switch",
    "resolve_uri",
    "ui_command",
]

DEFAULT_EXPERIMENT = "ragops"
#: The default store's files, relative to the project root.
LOCAL_DB = Path(".ragops/mlflow.db")
LOCAL_ARTIFACTS = Path(".ragops/mlartifacts")
SPOOL_DIR = Path(".ragops/spool")


def default_store(root: Path) -> str:
    """The local SQLite tracking URI of the project at ``root`` (absolute, so any cwd works)."""
    return f"sqlite:///{(root / LOCAL_DB).resolve()}"


def resolve_uri(value: str | None, root: Path) -> str | None:
    """The tracking URI for an option value: None when ``off``; env, then the local store."""
    if value is not None:
        value = value.strip()
        if not value:
            raise RagopsUsageError("must be a tracking URI or 'off'", path="--ragops-mlflow")
        if value.lower() == "off":
            return None
        return value
    env = os.environ.get("MLFLOW_TRACKING_URI", "").strip()
    return env or default_store(root)


def parse_switch(value: object, where: str) -> bool:
    """``on``/``off`` (or a TOML boolean) to a bool; anything else is a usage error."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("on", "true", "1", "yes"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("off", "false", "0", "no"):
        return False
    raise RagopsUsageError(f"must be on or off, got {value!r}", path=where)


def ui_command(uri: str) -> str | None:
    """The command that opens the MLflow UI on ``uri`` (None for a remote server: open its URL)."""
    if uri.startswith(("http://", "https://", "databricks")):
        return None
    return f"mlflow ui --backend-store-uri {uri}"


def local_artifact_location(uri: str, experiment: str) -> str | None:
    """Absolute artifact location for a new experiment in a local SQLite store, else None.

    Without it MLflow would put artifacts under ``./mlartifacts`` of whatever directory the
    session ran in, and ``mlflow ui`` started elsewhere would not find them.
    """
    if not uri.startswith("sqlite:///"):
        return None
    db = Path(uri.removeprefix("sqlite:///"))
    return (db.parent / "mlartifacts" / experiment).resolve().as_uri()


@dataclass(frozen=True, slots=True)
class TrackingOptions:
    """How one session is logged."""

    #: Tracking URI; None means logging is off.
    uri: str | None
    experiment: str = DEFAULT_EXPERIMENT
    #: A trace per case with one assessment per metric.
    traces: bool = True
    #: Project root: git info, prompt files and the spool are found from here.
    root: Path = field(default_factory=Path.cwd)
    #: Where runs that could not be logged are kept for ``ragops sync``.
    spool_dir: Path | None = None
    #: Directories searched for ``<variant>.yaml`` prompt files.
    prompt_dirs: tuple[Path, ...] = ()
    #: Run id to nest the session run under (``mlflow.pytest.plugin``'s session run).
    parent_run_id: str | None = None
    #: Extra session params (concurrency, judge model ...), strings only.
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def spool(self) -> Path:
        """The spool directory (default ``.ragops/spool`` under the root)."""
        return self.spool_dir if self.spool_dir is not None else self.root / SPOOL_DIR

    def search_dirs(self) -> tuple[Path, ...]:
        """Prompt directories: the configured ones, else ``prompts/`` in the root or a parent."""
        if self.prompt_dirs:
            return self.prompt_dirs
        found = [d / "prompts" for d in (self.root, *self.root.parents[:2])]
        return tuple(d for d in found if d.is_dir())
