"""The JSON report: build it, write it atomically, load and validate it.

The shape is versioned (``version``) and described by ``report.schema.json`` shipped
in the package; ``ragops compare`` and ``--ragops-baseline`` read reports written by
earlier runs, so a report from another version is refused with a clear message.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError
from pytest_ragops.results import Record, aggregate

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from pytest_ragops.gates import GateResult

__all__ = [
    "REPORT_VERSION",
    "build_report",
    "compare_reports",
    "load_report",
    "write_report",
    "write_text_atomic",
]

#: Bumped on any incompatible change of the report's shape.
REPORT_VERSION = 1
#: A case regressed when a quality score fell by at least this much against the baseline.
REGRESSION_DELTA = 0.05


def _summary_dict(records: Sequence[Record]) -> dict[str, Any]:
    values, summaries = aggregate(records)
    return {
        "metrics": values,
        "intervals": {
            m: [s.ci_low, s.ci_high] for m, s in summaries.items() if s.ci_low is not None
        },
        "missing": {m: s.missing for m, s in summaries.items() if s.missing},
    }


def _judges(records: Sequence[Record]) -> list[str]:
    return sorted({s["judge"] for r in records for s in r.scores.values() if s["judge"]})


def build_report(
    records: Sequence[Record],
    gates: Sequence[GateResult],
    *,
    judge: str,
    run: Mapping[str, Any] | None = None,
    baseline: Mapping[str, Any] | None = None,
    baseline_path: str | None = None,
) -> dict[str, Any]:
    """Assemble the report dict (only builtins) from records and gate outcomes."""
    from pytest_ragops import __version__

    suite = _summary_dict(records)
    variants = sorted({r.variant for r in records if r.variant is not None})
    tests = sorted({r.test_id for r in records})
    report: dict[str, Any] = {
        "version": REPORT_VERSION,
        "tool": {"name": "pytest-ragops", "version": __version__},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "judge": judge,
        "judges": _judges(records),
        "models": sorted({r.model for r in records if r.model}),
        "run": dict(run or {}),
        "summary": {
            "records": len(records),
            "errors": sum(r.error is not None for r in records),
            "gates": len(gates),
            "gates_failed": sum(not g.passed for g in gates),
            "passed": all(g.passed for g in gates),
        },
        **suite,
        "variants": {v: _summary_dict([r for r in records if r.variant == v]) for v in variants},
        "tests": {t: _summary_dict([r for r in records if r.test_id == t]) for t in tests},
        "gates": [g.to_dict() for g in gates],
        "records": [r.to_dict() for r in records],
        "baseline": None,
    }
    if baseline is not None:
        report["baseline"] = compare_reports(baseline, report, baseline_path)
    return report


def _case_key(rec: Mapping[str, Any]) -> str:
    return f"{rec.get('test_id')}::{rec.get('case_id')}::{rec.get('variant')}"


def compare_reports(
    baseline: Mapping[str, Any], current: Mapping[str, Any], path: str | None = None
) -> dict[str, Any]:
    """Deltas of the suite aggregates and the cases whose quality fell.

    Cases are matched by test, case id and variant; a case regressed when any quality
    score fell by :data:`REGRESSION_DELTA` or more, or lost its score.
    """
    base_metrics: Mapping[str, Any] = baseline.get("metrics", {})
    deltas: dict[str, float | None] = {}
    for name, value in current.get("metrics", {}).items():
        old = base_metrics.get(name)
        deltas[name] = value - old if value is not None and old is not None else None
    old_records = {_case_key(r): r for r in baseline.get("records", [])}
    regressed: list[dict[str, Any]] = []
    for rec in current.get("records", []):
        old = old_records.get(_case_key(rec))
        if old is None:
            continue
        drops: dict[str, float | None] = {}
        for metric, score in rec.get("scores", {}).items():
            old_value = old.get("scores", {}).get(metric, {}).get("value")
            new_value = score.get("value")
            if old_value is None:
                continue
            if new_value is None:
                drops[metric] = None
            elif old_value - new_value >= REGRESSION_DELTA:
                drops[metric] = new_value - old_value
        if drops:
            regressed.append(
                {
                    "test_id": rec.get("test_id"),
                    "case_id": rec.get("case_id"),
                    "variant": rec.get("variant"),
                    "question": rec.get("question"),
                    "deltas": drops,
                }
            )
    return {
        "path": path,
        "created": baseline.get("created"),
        "deltas": deltas,
        "regressed": regressed,
    }


def write_report(report: Mapping[str, Any], path: Path) -> None:
    """Write JSON atomically: a temporary file in the same directory, then ``os.replace``."""
    write_text_atomic(json.dumps(report, indent=2, sort_keys=True, allow_nan=False) + "\n", path)


def write_text_atomic(text: str, path: Path) -> None:
    """Write ``text`` to ``path`` atomically, so a reader never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a report written by pytest-ragops, refusing other shapes with a one-line error."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RagopsError("report not found", path=where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RagopsError(f"cannot read report ({exc.__class__.__name__})", path=where) from None
    except json.JSONDecodeError as exc:
        raise RagopsError(f"invalid JSON at line {exc.lineno}: {exc.msg}", path=where) from None
    if not isinstance(data, dict):
        raise RagopsError("expected a JSON object", path=where)
    version = data.get("version")
    if version != REPORT_VERSION:
        raise RagopsError(
            f"unsupported report version {version!r} (this pytest-ragops reads {REPORT_VERSION})",
            path=where,
            field="version",
        )
    for key, kind in (("metrics", dict), ("records", list)):
        if not isinstance(data.get(key), kind):
            raise RagopsError(f"must be a JSON {kind.__name__}", path=where, field=key)
    # compare_reports does arithmetic on these: a string here must not become a traceback.
    for name, value in data["metrics"].items():
        if not _number_or_null(value):
            raise RagopsError("must be a number or null", path=where, field=f"metrics.{name}")
    for i, rec in enumerate(data["records"], start=1):
        if not isinstance(rec, dict) or not isinstance(rec.get("scores"), dict):
            raise RagopsError("must be an object with 'scores'", path=where, field=f"records[{i}]")
        for metric, score in rec["scores"].items():
            if not isinstance(score, dict) or not _number_or_null(score.get("value")):
                raise RagopsError(
                    "must be an object whose 'value' is a number or null",
                    path=where,
                    field=f"records[{i}].scores.{metric}",
                )
    return data


def _number_or_null(value: object) -> bool:
    return value is None or (isinstance(value, int | float) and not isinstance(value, bool))
