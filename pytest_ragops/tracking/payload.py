"""What one session logs to MLflow, as plain JSON: built once, uploaded now or from the spool.

Building is pure (report in, dict out, plus git and prompt files read from disk), so the
same payload can be spooled when the server is down and uploaded later by ``ragops sync``
with exactly the content the session would have logged. ``run_key`` is a SHA-256 of the
report, stable across processes, and makes uploads idempotent.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import subprocess
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence
    from pathlib import Path

    from pytest_ragops.tracking.options import TrackingOptions

__all__ = [
    "PAYLOAD_FORMAT",
    "build_payload",
    "case_table",
    "case_table_json",
    "git_info",
    "judge_source",
    "run_key",
]

PAYLOAD_FORMAT = 1
#: Records without a variant are logged under this variant run.
NO_VARIANT = "default"
_QUALITY_ORDER = ("faithfulness", "answer_relevancy", "context_precision", "context_recall")


def run_key(report: Mapping[str, Any]) -> str:
    """A stable id of the session: SHA-256 of the canonical report JSON (32 hex chars)."""
    text = json.dumps(report, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:32]


def judge_source(label: str) -> str:
    """MLflow assessment source type of a judge label: ``offline:*`` is CODE, others LLM_JUDGE."""
    return "CODE" if label.startswith("offline:") or not label else "LLM_JUDGE"


def _git(root: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=root, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_info(root: Path) -> dict[str, str]:
    """Commit, branch and dirty flag of the checkout at ``root`` ("" where git cannot tell).

    In GitHub Actions the checkout is a detached HEAD; the branch then comes from
    ``GITHUB_HEAD_REF`` (pull requests) or ``GITHUB_REF_NAME``.
    """
    commit = _git(root, "rev-parse", "HEAD") or ""
    branch = _git(root, "rev-parse", "--abbrev-ref", "HEAD") or ""
    if branch in ("", "HEAD"):
        branch = os.environ.get("GITHUB_HEAD_REF") or os.environ.get("GITHUB_REF_NAME") or ""
    status = _git(root, "status", "--porcelain", "--untracked-files=no")
    dirty = "" if status is None else str(bool(status)).lower()
    return {"git_commit": commit, "git_branch": branch, "git_dirty": dirty}


def _finite(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _metrics(values: Mapping[str, Any]) -> dict[str, float]:
    """Only finite numbers reach MLflow; a missing aggregate stays missing (never 0)."""
    return {k: v for k, raw in sorted(values.items()) if (v := _finite(raw)) is not None}


def _quality_metrics(records: Sequence[Mapping[str, Any]]) -> list[str]:
    found = {m for r in records for m in r.get("scores", {})}
    return [m for m in _QUALITY_ORDER if m in found] + sorted(found - set(_QUALITY_ORDER))


def _judge_cost(records: Sequence[Mapping[str, Any]]) -> float:
    """What the judge cost: the sum of scores' ``cost_usd`` (free judges report none)."""
    return math.fsum(
        c
        for r in records
        for s in r.get("scores", {}).values()
        if (c := _finite(s.get("cost_usd")))
    )


def _add_judge_cost(values: dict[str, Any], records: Sequence[Mapping[str, Any]]) -> None:
    """``judge_cost_usd`` as the report has it; where it has none, no score reported a cost.

    The report (``results.aggregate``) leaves it out when no judge reported spend (free
    judges); the run then logs 0.0 so runs compare on it. The per-metric
    ``judge_cost_usd_<metric>`` come from the report as they are.
    """
    if _finite(values.get("judge_cost_usd")) is None:
        values["judge_cost_usd"] = _judge_cost(records)


def _judge_model(judges: Sequence[str]) -> str:
    """The model inside ``anthropic:<model>:<version>`` labels; ``none`` for code judges."""
    models = sorted(
        {j.split(":")[1] for j in judges if j.count(":") >= 1 and judge_source(j) != "CODE"}
    )
    return ",".join(models) or "none"


def case_table(records: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """The per-case table (columns of equal length) that ``mlflow.log_table`` shows in the UI."""
    metrics = _quality_metrics(records)
    columns: dict[str, list[Any]] = {
        k: [] for k in ("case_id", "test_id", "question", "answer", "reference")
    }
    for m in metrics:
        columns[m] = []
        columns[f"{m}_judge"] = []
    for k in ("cost_usd", "latency_s", "model", "error"):
        columns[k] = []
    for r in records:
        for k in ("case_id", "test_id", "question", "answer", "reference"):
            columns[k].append(r.get(k))
        scores = r.get("scores", {})
        for m in metrics:
            score = scores.get(m) or {}
            columns[m].append(score.get("value"))
            columns[f"{m}_judge"].append(score.get("judge"))
        columns["cost_usd"].append(r.get("cost_usd"))
        columns["latency_s"].append(r.get("latency_s"))
        columns["model"].append(r.get("model"))
        columns["error"].append(r.get("error"))
    return columns


def case_table_json(columns: Mapping[str, Sequence[Any]]) -> str:
    """``columns`` as the file ``mlflow.log_table`` writes (pandas' ``orient="split"`` JSON).

    Written here rather than by ``log_table``, which costs a DataFrame, an artifact listing,
    a run read and a tag write per table; the UI and ``mlflow.load_table`` read this file
    the same way once the run's ``mlflow.loggedArtifacts`` tag names it. A non-finite
    number is written as ``null``, as pandas does.
    """

    def cell(value: Any) -> Any:
        if isinstance(value, float) and not math.isfinite(value):
            return None
        return value

    names = list(columns)
    rows = [[cell(v) for v in row] for row in zip(*(columns[n] for n in names), strict=True)]
    return json.dumps({"columns": names, "data": rows}, ensure_ascii=False, allow_nan=False)


def _find_prompt(name: str, options: TrackingOptions) -> dict[str, Any] | None:
    """The prompt file of a variant: its text, system and template, and its content hash."""
    from pytest_ragops.prompts import load_prompt

    for directory in options.search_dirs():
        for suffix in (".yaml", ".yml"):
            path = directory / f"{name}{suffix}"
            if path.is_file():
                try:
                    prompt = load_prompt(path)
                except RagopsError:
                    return None
                return {
                    "name": prompt.name,
                    "version": prompt.version,
                    "hash": hashlib.sha256(path.read_bytes()).hexdigest(),
                    "path": str(path),
                    "text": path.read_text(encoding="utf-8"),
                    "system": prompt.system,
                    "template": prompt.template,
                }
    return None


def _prompt_for(
    variant: str, records: Sequence[Mapping[str, Any]], options: TrackingOptions
) -> tuple[dict[str, Any] | None, str | None]:
    """The variant's prompt and, when it cannot be logged faithfully, why not.

    Records carry ``prompt: {name, version, hash}`` once the engine knows it; the file is
    still needed for the text, and a file whose version differs from the records' was
    edited after the run, so it is not registered as the prompt that produced the scores.
    """
    recorded = next((r["prompt"] for r in records if isinstance(r.get("prompt"), dict)), None)
    name = str(recorded["name"]) if recorded else variant
    found = _find_prompt(name, options)
    if found is None:
        if recorded:
            return None, f"prompt file {name}.yaml not found"
        return None, None  # a variant with no prompt file: nothing to register
    if recorded and recorded.get("version") and recorded["version"] != found["version"]:
        return None, (
            f"prompt {name} changed since the run (file {found['version']}, "
            f"records {recorded['version']})"
        )
    return found, None


def build_payload(
    report: Mapping[str, Any], markdown: str | None, options: TrackingOptions
) -> dict[str, Any]:
    """Everything to log for ``report``: the session run, one run per variant, the traces."""
    records: list[Mapping[str, Any]] = list(report.get("records", []))
    key = run_key(report)
    run = dict(report.get("run") or {})
    git = git_info(options.root)
    judges = [str(j) for j in report.get("judges", [])]
    gates_passed = bool(report.get("summary", {}).get("passed"))
    common_params: dict[str, Any] = {
        "judge": report.get("judge", ""),
        "judges": ",".join(judges),
        "judge_model": _judge_model(judges),
        "metrics": ",".join(_quality_metrics(records)),
        "corpus_version": run.get("corpus_version") or "",
        "corpus_dirty": "" if run.get("corpus_dirty") is None else str(run["corpus_dirty"]).lower(),
        "corpus_path": run.get("corpus_path") or "",
        **git,
        **{k: v for k, v in options.params.items() if v is not None},
    }
    common_tags = {
        "ragops.source": "pytest-ragops",
        "ragops.tool_version": str(report.get("tool", {}).get("version", "")),
        "ragops.run_key": key,
        "ragops.gates_passed": str(gates_passed).lower(),
        "ragops.git_branch": git["git_branch"],
        "mlflow.source.git.commit": git["git_commit"],
        "mlflow.source.git.branch": git["git_branch"],
        "mlflow.source.name": "pytest-ragops",
    }
    by_variant: dict[str, list[Mapping[str, Any]]] = {}
    for r in records:
        by_variant.setdefault(str(r.get("variant") or NO_VARIANT), []).append(r)
    variant_metrics: Mapping[str, Any] = report.get("variants") or {}
    notes: list[str] = []
    variants: list[dict[str, Any]] = []
    for name in sorted(by_variant):
        recs = by_variant[name]
        prompt, note = _prompt_for(name, recs, options)
        if note:
            notes.append(note)
        if name in variant_metrics:
            values = dict(variant_metrics[name].get("metrics") or {})
        elif len(recs) == len(records):  # no variants: the session's aggregates are its own
            values = dict(report.get("metrics") or {})
        else:  # records without a variant beside variants: only these are aggregated here
            from pytest_ragops.results import Record, aggregate

            values = dict(aggregate([Record.from_dict(dict(r)) for r in recs])[0])
        _add_judge_cost(values, recs)
        params = {
            **common_params,
            "variant": name,
            "model": ",".join(sorted({str(r["model"]) for r in recs if r.get("model")})),
            "cases": len({r.get("case_id") for r in recs}),
            "records": len(recs),
            "prompt_name": prompt["name"] if prompt else "",
            "prompt_version": prompt["version"] if prompt else "",
            "prompt_hash": prompt["hash"] if prompt else "",
        }
        variants.append(
            {
                "name": name,
                "params": params,
                "metrics": _metrics(values),
                "tags": {**common_tags, "ragops.role": "variant", "ragops.variant": name},
                "prompt": prompt,
                "records": [dict(r) for r in recs],
            }
        )
    session_metrics = dict(report.get("metrics") or {})
    _add_judge_cost(session_metrics, records)
    session_metrics["gates_failed"] = report.get("summary", {}).get("gates_failed", 0)
    return {
        "format": PAYLOAD_FORMAT,
        "run_key": key,
        "uri": options.uri,
        "experiment": options.experiment,
        "traces": options.traces,
        "parent_run_id": options.parent_run_id,
        "created": report.get("created"),
        "session": {
            "name": f"ragops {report.get('created', '')}".strip(),
            "params": {
                **common_params,
                "variants": ",".join(v["name"] for v in variants),
                "cases": len({r.get("case_id") for r in records}),
                "records": len(records),
            },
            "metrics": _metrics(session_metrics),
            "tags": {**common_tags, "ragops.role": "session"},
        },
        "variants": variants,
        "artifacts": {
            "report.json": json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n",
            **({"report.md": markdown} if markdown is not None else {}),
        },
        "notes": notes,
    }
