"""Log one finished eval session to MLflow, or spool it: the eval is never lost.

:func:`log_session` is what the ``pytest_ragops_session_finish`` hook calls. It never
raises for a tracking failure: a server that is down or fails midway yields a
:class:`LogResult` with ``spooled`` set and one ``warning`` line naming what was not
logged, while the gates alone decide the exit status.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pytest_ragops.tracking.options import ui_command

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from pytest_ragops.tracking.options import TrackingOptions

__all__ = ["LogResult", "log_session", "sync_spool"]


@dataclass(slots=True)
class LogResult:
    """What logging a session did."""

    logged: bool
    uri: str | None = None
    experiment: str | None = None
    run_key: str | None = None
    session_run_id: str | None = None
    variant_runs: dict[str, str] = field(default_factory=dict)
    traces: int = 0
    assessments: int = 0
    prompts: dict[str, str] = field(default_factory=dict)
    #: Where the payload was spooled because it could not be logged.
    spooled: Path | None = None
    #: One line for the terminal when something was not logged.
    warning: str | None = None
    #: Things logged with a caveat (a prompt file edited since the run ...).
    notes: list[str] = field(default_factory=list)
    already_logged: bool = False
    seconds: float = 0.0

    def summary_line(self) -> str:
        """The line the terminal shows after a successful upload."""
        if not self.logged:
            return self.warning or "ragops mlflow: not logged"
        where = f"{self.uri} experiment {self.experiment!r}"
        if self.already_logged:
            return f"ragops mlflow: already logged as run {self.session_run_id} in {where}"
        ui = ui_command(self.uri or "")
        text = (
            f"ragops mlflow: logged run {self.session_run_id} ({len(self.variant_runs)} variants, "
            f"{self.traces} traces) to {where} in {self.seconds:.1f}s"
        )
        return f"{text}; open the UI: {ui}" if ui else text


def _what(payload: Mapping[str, Any]) -> str:
    variants = payload.get("variants", [])
    traces = sum(len(v.get("records", [])) for v in variants) if payload.get("traces") else 0
    parts = [f"session run with {len(variants)} variant runs"]
    if traces:
        parts.append(f"{traces} traces")
    return ", ".join(parts)


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{exc.__class__.__name__}: {text}" if text else exc.__class__.__name__


def upload_or_spool(payload: Mapping[str, Any], spool_dir: Path) -> LogResult:
    """Upload ``payload`` to its URI; on any failure spool it and say so in one line."""
    from pytest_ragops.tracking.spool import spool_payload
    from pytest_ragops.tracking.upload import upload_payload

    uri = str(payload["uri"])
    result = LogResult(
        logged=False, uri=uri, experiment=str(payload["experiment"]),
        run_key=str(payload["run_key"]), notes=list(payload.get("notes", [])),
    )  # fmt: skip
    start = time.perf_counter()
    try:
        up = upload_payload(payload, uri)
    except Exception as exc:  # noqa: BLE001 - any tracking failure spools; the eval is never lost
        path = spool_payload(payload, spool_dir)
        result.spooled = path
        result.warning = (
            f"ragops mlflow: NOT logged to {uri} ({_describe(exc)}): {_what(payload)}; "
            f"spooled to {path}, upload later with `ragops sync`"
        )
        return result
    result.seconds = time.perf_counter() - start
    result.logged = True
    result.session_run_id = up.session_run_id
    result.variant_runs = dict(up.variant_runs)
    result.traces = up.traces
    result.assessments = up.assessments
    result.prompts = dict(up.prompts)
    result.already_logged = up.already_logged
    return result


def log_session(
    report: Mapping[str, Any], options: TrackingOptions, markdown: str | None = None
) -> LogResult:
    """Log a final report (session run, a run per variant, traces, prompts) or spool it.

    :param markdown: the Markdown report, logged beside the JSON one when given.
    """
    if options.uri is None:
        return LogResult(logged=False)
    from pytest_ragops.tracking.payload import build_payload

    try:
        payload = build_payload(report, markdown, options)
    except Exception as exc:  # noqa: BLE001 - a malformed report must not crash the run
        return LogResult(
            logged=False,
            uri=options.uri,
            warning=f"ragops mlflow: NOT logged: the report could not be read ({_describe(exc)})",
        )
    return upload_or_spool(payload, options.spool)


@dataclass(slots=True)
class SyncOutcome:
    """One spooled file's fate in ``ragops sync``."""

    path: Path
    result: LogResult | None = None
    error: str | None = None


def sync_spool(
    directory: Path, *, uri: str | None = None, experiment: str | None = None
) -> list[SyncOutcome]:
    """Upload every spooled payload (oldest first); remove each file once it is in the store.

    Idempotent: a payload already in the store (same run key) is not uploaded again.
    A failure leaves the file where it is, to be retried by the next sync.
    """
    from pytest_ragops.errors import RagopsError
    from pytest_ragops.tracking.spool import load_spooled, spooled_files

    outcomes: list[SyncOutcome] = []
    for path in spooled_files(directory):
        try:
            payload = load_spooled(path)
        except RagopsError as exc:
            outcomes.append(SyncOutcome(path, error=str(exc)))
            continue
        if uri is not None:
            payload["uri"] = uri
        if experiment is not None:
            payload["experiment"] = experiment
        if not payload.get("uri"):
            outcomes.append(SyncOutcome(path, error="no tracking URI: pass --mlflow"))
            continue
        result = upload_or_spool(payload, path.parent)
        if result.logged:
            path.unlink(missing_ok=True)
            outcomes.append(SyncOutcome(path, result=result))
        else:
            outcomes.append(SyncOutcome(path, result=result, error=result.warning))
    return outcomes
