"""The composite action's steps, run as ``python -m pytest_ragops.github.action_steps STEP``.

``action.yml`` only wires inputs (as ``INPUT_*`` variables, never spliced into shell text) to
these steps; each reads the Actions environment, appends to ``GITHUB_OUTPUT`` and
``GITHUB_STEP_SUMMARY`` and returns an exit status, so all of it is unit-tested with
temporary files. Steps: ``detect`` (skip when no prompt path changed), ``baseline``
(resolve ``auto`` to a downloaded report), ``run`` (pytest --ragops-eval; never fails the
step, so the upload and the comment still happen), ``verdict`` (fail the job last).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError
from pytest_ragops.github.env import ActionsEnv

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["main"]

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off", ""}


def _flag(actions: ActionsEnv, name: str) -> bool:
    value = actions.get(name).strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise RagopsError(f"must be true or false, got {value!r}", path="action input", field=name)


def report_paths(shard: str) -> tuple[Path, Path]:
    """Where this run's reports go: one directory per shard, so shards never overwrite."""
    base = Path(".ragops") / (f"shard-{shard}" if shard else "")
    return base / "report.json", base / "report.md"


def artifact_name(actions: ActionsEnv) -> str:
    """The report artifact's name: the configured name, suffixed with the shard label."""
    name = actions.get("INPUT_ARTIFACT_NAME") or "ragops-report"
    shard = actions.get("INPUT_SHARD").strip()
    return f"{name}-{shard}" if shard else name


def step_detect(actions: ActionsEnv) -> int:
    """Set ``ran`` from the changed files; a skipped run leaves one line in the summary."""
    from pytest_ragops.github.changes import decide, parse_patterns

    patterns = parse_patterns(actions.get("INPUT_PATHS"), actions.get("INPUT_EXTRA_PATHS"))
    decision = decide(
        Path.cwd(),
        patterns,
        actions,
        force=_flag(actions, "INPUT_FORCE"),
        token=actions.get("GITHUB_TOKEN"),
    )
    actions.set_output("ran", "true" if decision.run else "false")
    actions.set_output("artifact-name", artifact_name(actions))
    if not decision.run:
        actions.set_output("passed", "")
        actions.summary(f"**ragops:** {decision.reason}.")
    print(f"ragops: {decision.reason}")
    for path in decision.matched[:20]:
        print(f"  {path}")
    return 0


def _base_branch(actions: ActionsEnv) -> str:
    pr = actions.pull_request()
    if pr is not None:
        ref = (pr.get("base") or {}).get("ref")
        if isinstance(ref, str) and ref:
            return ref
    repo = actions.event().get("repository") or {}
    return str(repo.get("default_branch") or actions.get("GITHUB_REF_NAME") or "main")


def step_baseline(actions: ActionsEnv) -> int:
    """Resolve the ``baseline`` input to a ``--ragops-baseline`` value (output ``value``)."""
    spec = actions.get("INPUT_BASELINE").strip()
    value, message = spec, ""
    if spec == "auto":
        value, message = _auto_baseline(actions)
    elif spec and not spec.startswith("mlflow:") and not Path(spec).is_file():
        raise RagopsError("baseline report not found", path=spec, field="baseline")
    elif spec:
        message = f"baseline: {spec}"
    actions.set_output("value", value)
    if message:
        print(f"ragops {message}")
        actions.summary(f"**ragops** {message}.")
    return 0


def _auto_baseline(actions: ActionsEnv) -> tuple[str, str]:
    from pytest_ragops.github.baseline import fetch_baseline
    from pytest_ragops.github.client import make_client

    token = actions.get("GITHUB_TOKEN")
    if not token or not actions.repository:
        return "", "baseline: no token or repository to look one up with: running without deltas"
    branch = _base_branch(actions)
    dest = Path(".ragops") / "baseline" / "report.json"
    gh = make_client(token, actions.api_url)
    try:
        result = fetch_baseline(
            gh,
            actions.repository,
            branch,
            actions.get("INPUT_ARTIFACT_NAME") or "ragops-report",
            dest,
            token=token,
            workflow_ref=actions.get("GITHUB_WORKFLOW_REF"),
        )
    except RagopsError as exc:
        # Deltas are information; an unusable baseline must not fail the eval, but it is said.
        print(f"::warning title=ragops baseline::{exc}")
        return "", f"baseline: unusable ({exc}): running without deltas"
    finally:
        gh.close()
    if result.path is not None:
        from pytest_ragops.report.model import load_report

        try:
            load_report(result.path)
        except RagopsError as exc:
            print(f"::warning title=ragops baseline::{exc}")
            return "", f"baseline: unusable ({exc}): running without deltas"
    return ("" if result.path is None else str(result.path)), result.message


def pytest_command(actions: ActionsEnv, report: Path, markdown: Path) -> list[str]:
    """The pytest command line built from the inputs (each value one argv element)."""
    cmd = [sys.executable, "-m", "pytest", "--ragops-eval"]
    cmd += ["--ragops-report", str(report), "--ragops-markdown", str(markdown)]
    for item in actions.get("INPUT_THRESHOLDS").replace(",", " ").split():
        if "=" not in item:
            raise RagopsError(
                f"expected METRIC=VALUE, got {item!r}", path="action input", field="thresholds"
            )
        cmd += ["--ragops-threshold", item]
    baseline = actions.get("BASELINE_VALUE").strip()
    if baseline:
        cmd += ["--ragops-baseline", baseline]
    try:
        cmd += shlex.split(actions.get("INPUT_PYTEST_ARGS"))
    except ValueError as exc:
        raise RagopsError(str(exc), path="action input", field="pytest-args") from None
    return cmd


def _no_report_markdown(exitstatus: int, shard: str) -> str:
    from pytest_ragops.report.markdown import MARKER

    where = f" (shard {shard})" if shard else ""
    return (
        f"{MARKER}\n### ❌ ragops: the eval run{where} produced no report "
        f"(pytest exit status {exitstatus})\n\nSee the job log; nothing was measured, so "
        "nothing passed.\n"
    )


def step_run(
    actions: ActionsEnv, runner: Callable[[Sequence[str], dict[str, str]], int] | None = None
) -> int:
    """Run the evals; set ``passed``, ``report-path``, ``markdown-path``; always exit 0.

    ``passed`` is true only when pytest exited 0 and the report's verdict passed (for a
    shard: its own tests, test gates and workers; the merge gates the suite). Stale
    reports are removed first, so a crash can never re-post an old green report.
    """
    from pytest_ragops.report.model import write_text_atomic

    shard = actions.get("INPUT_SHARD").strip()
    report, markdown = report_paths(shard)
    for stale in (report, markdown):
        stale.unlink(missing_ok=True)
    cmd = pytest_command(actions, report, markdown)
    env = dict(actions.environ)
    for source, target in (
        ("INPUT_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"),
        ("INPUT_MLFLOW_URI", "MLFLOW_TRACKING_URI"),
    ):
        if actions.get(source):
            env[target] = actions.get(source)
        env.pop(source, None)
    print("ragops: " + shlex.join(cmd[1:]), flush=True)
    status = (runner or _run)(cmd, env)
    verdict = _verdict(report)
    passed = status == 0 and verdict is True
    why = f"pytest exit status {status}, verdict {verdict}"
    if shard and verdict is not None:
        # A shard's suite gates cover a subset; `ragops report merge` gates the suite.
        from pytest_ragops.report.merge import shard_verdict

        failure = shard_verdict(json.loads(report.read_text(encoding="utf-8")), status)
        passed, why = failure is None, f"shard {shard}: {failure}"
    if not markdown.is_file():
        write_text_atomic(_no_report_markdown(status, shard), markdown)
    actions.set_output("passed", "true" if passed else "false")
    actions.set_output("exit-code", str(status))
    actions.set_output("report-path", str(report) if report.is_file() else "")
    actions.set_output("markdown-path", str(markdown))
    actions.summary(markdown.read_text(encoding="utf-8"))
    line = "passed" if passed else f"failed ({why})"
    print(f"ragops: evals {line}")
    return 0


def _run(cmd: Sequence[str], env: dict[str, str]) -> int:
    return subprocess.run(list(cmd), env=env, check=False).returncode


def _verdict(report: Path) -> bool | None:
    """The report's ``summary.passed``; None when there is no readable report."""
    try:
        data: Any = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    summary = data.get("summary") if isinstance(data, dict) else None
    value = summary.get("passed") if isinstance(summary, dict) else None
    return value if isinstance(value, bool) else None


def step_verdict(actions: ActionsEnv) -> int:
    """Fail the job (exit 1) when the evals ran and did not pass; last, after the comment."""
    if actions.get("RAN") != "true":
        return 0
    if actions.get("PASSED") == "true":
        print("ragops: evals passed")
        return 0
    status = actions.get("EXIT_CODE") or "?"
    print(f"::error title=ragops::evals failed (pytest exit status {status}); see the job summary")
    return 1


STEPS: dict[str, Callable[[ActionsEnv], int]] = {
    "detect": step_detect,
    "baseline": step_baseline,
    "run": step_run,
    "verdict": step_verdict,
}


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    """Run one step; bad input is one ``::error::`` line and exit 2."""
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1 or args[0] not in STEPS:
        print(f"usage: python -m pytest_ragops.github.action_steps {{{','.join(STEPS)}}}")
        return 2
    actions = ActionsEnv(dict(os.environ) if environ is None else environ)
    try:
        return STEPS[args[0]](actions)
    except RagopsError as exc:
        print(f"::error title=ragops::{exc}")
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
