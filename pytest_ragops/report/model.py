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
from typing import IO, TYPE_CHECKING, Any

from pytest_ragops import results
from pytest_ragops.errors import RagopsError
from pytest_ragops.results import Record

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from pytest_ragops.gates import GateResult
    from pytest_ragops.results import Aggregates, ScopeAggregates

__all__ = [
    "REPORT_VERSION",
    "build_report",
    "compare_reports",
    "finalize_report",
    "load_report",
    "stream_report",
    "write_report",
    "write_text_atomic",
]

#: Bumped on any incompatible change of the report's shape.
REPORT_VERSION = 1
#: A case regressed when a quality score fell by at least this much against the baseline.
REGRESSION_DELTA = 0.05
#: A judge that disagrees with itself by more than this between repeats is flagged.
SPREAD_BOUND = 0.2


def _summary_dict(
    records: Sequence[Record], aggregates: Aggregates | None = None
) -> dict[str, Any]:
    values, summaries = aggregates if aggregates is not None else results.aggregate(records)
    out: dict[str, Any] = {
        "metrics": values,
        "intervals": {
            m: [s.ci_low, s.ci_high] for m, s in summaries.items() if s.ci_low is not None
        },
        "missing": {m: s.missing for m, s in summaries.items() if s.missing},
    }
    not_applicable = {m: s.not_applicable for m, s in summaries.items() if s.not_applicable}
    if not_applicable:
        out["not_applicable"] = not_applicable
    spreads = {
        m: {"mean": s.spread_mean, "max": s.spread_max, "flagged": s.spread_max > SPREAD_BOUND}
        for m, s in summaries.items()
        if s.spread_max is not None and s.spread_mean is not None
    }
    if spreads:
        out["judge_spread"] = spreads
    return out


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
    aggregates: Aggregates | None = None,
    judge_info: Mapping[str, Any] | None = None,
    scopes: ScopeAggregates | None = None,
) -> dict[str, Any]:
    """Assemble the report dict (only builtins) from records and gate outcomes.

    ``scopes`` are the aggregates the gates used (suite, variants, tests): passed in,
    nothing is aggregated again. ``summary.passed`` here covers the gates only;
    :func:`finalize_report` folds in pytest's outcome once the session is over.
    """
    from pytest_ragops import __version__

    if scopes is None:
        scopes = results.aggregate_scopes(records, suite=aggregates)
    by_variant: dict[str, list[Record]] = {}
    by_test: dict[str, list[Record]] = {}
    for r in records:
        if r.variant is not None:
            by_variant.setdefault(r.variant, []).append(r)
        by_test.setdefault(r.test_id, []).append(r)
    suite = _summary_dict(records, scopes.suite)
    prompts = {r.variant: dict(r.prompt) for r in records if r.variant is not None and r.prompt}
    report: dict[str, Any] = {
        "version": REPORT_VERSION,
        "tool": {"name": "pytest-ragops", "version": __version__},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "judge": judge,
        "judges": _judges(records),
        "judge_info": dict(judge_info or {}),
        "models": sorted({r.model for r in records if r.model}),
        "prompts": dict(sorted(prompts.items())),
        "run": dict(run or {}),
        "summary": {
            "records": len(records),
            "errors": sum(r.error is not None for r in records),
            "gates": len(gates),
            "gates_failed": sum(not g.passed for g in gates),
            "passed": all(g.passed for g in gates),
        },
        **suite,
        "variants": {
            v: _summary_dict(by_variant[v], scopes.variants[v]) for v in sorted(by_variant)
        },
        "tests": {t: _summary_dict(by_test[t], scopes.tests[t]) for t in sorted(by_test)},
        "gates": [g.to_dict() for g in gates],
        # Shares the records' score dicts and context lists: a second deep copy of
        # 20,000 records is tens of MB for nothing (the report is read, not edited).
        "records": [r.to_dict(share=True) for r in records],
        "baseline": None,
    }
    if baseline is not None:
        report["baseline"] = compare_reports(baseline, report, baseline_path)
    return report


def finalize_report(
    report: dict[str, Any],
    *,
    exitstatus: int,
    outcomes: Mapping[str, int],
    lost_workers: Sequence[str] = (),
    failures: Sequence[str] = (),
) -> dict[str, Any]:
    """Fold pytest's outcome into the verdict: a pass needs every gate passed **and**
    no failed or errored test, no interruption and no lost worker.

    ``failures`` are further one-line reasons (a judge that could not be closed, ...).
    """
    summary = report["summary"]
    summary["gates"] = len(report["gates"])
    summary["gates_failed"] = sum(not g["passed"] for g in report["gates"])
    reasons: list[str] = []
    if summary["gates_failed"]:
        reasons.append(f"{summary['gates_failed']} of {summary['gates']} gates failed")
    failed, errors = outcomes.get("failed", 0), outcomes.get("errors", 0)
    if failed:
        reasons.append(f"{failed} tests failed")
    if errors:
        reasons.append(f"{errors} tests errored")
    if lost_workers:
        reasons.append(f"lost xdist workers: {', '.join(lost_workers)}")
    # pytest.ExitCode: 2 interrupted, 3 internal error, 4 usage error, 5 no tests ran.
    if exitstatus in (2, 3, 4):
        names = {2: "interrupted", 3: "an internal error", 4: "a usage error"}
        reasons.append(f"pytest ended with {names[exitstatus]} (exit {exitstatus})")
    if exitstatus == 5:
        reasons.append("pytest collected no tests (exit 5)")
    explained = failed or errors or summary["gates_failed"] or lost_workers or failures
    if exitstatus == 1 and not explained:
        reasons.append("pytest reported failures (exit 1)")
    reasons.extend(failures)
    summary["failures"] = reasons
    summary["passed"] = not reasons
    report["run"]["pytest_exitstatus"] = int(exitstatus)
    report["run"]["pytest_outcomes"] = dict(sorted(outcomes.items()))
    if lost_workers:
        report["run"]["lost_workers"] = list(lost_workers)
    return report


def case_key(rec: Mapping[str, Any]) -> str:
    """A record's identity across runs: test, case id and variant.

    Records without a case id are keyed by their question and order among records of
    the same test, question and variant, so two such records never collide.
    """
    case = rec.get("case_id")
    ident = f"id={case}" if case is not None else f"q={rec.get('question')}#{rec.get('ordinal', 0)}"
    return f"{rec.get('test_id')}::{ident}::{rec.get('variant')}"


def _applicable(score: Mapping[str, Any]) -> bool:
    return score.get("applicable", True) is not False


def compare_reports(
    baseline: Mapping[str, Any], current: Mapping[str, Any], path: str | None = None
) -> dict[str, Any]:
    """Deltas of the suite aggregates and the cases that got worse.

    Cases are matched by :func:`case_key`. A case regressed when a quality score fell
    by :data:`REGRESSION_DELTA` or more, lost its score, when its pipeline call now
    fails, or when the case vanished from the run. Two identical runs show none.
    """
    base_metrics: Mapping[str, Any] = baseline.get("metrics", {})
    deltas: dict[str, float | None] = {}
    for name, value in current.get("metrics", {}).items():
        old = base_metrics.get(name)
        deltas[name] = value - old if value is not None and old is not None else None
    old_records = {case_key(r): r for r in baseline.get("records", [])}
    new_keys: set[str] = set()
    regressed: list[dict[str, Any]] = []

    def entry(rec: Mapping[str, Any], drops: dict[str, float | None], why: str) -> None:
        regressed.append(
            {
                "test_id": rec.get("test_id"),
                "case_id": rec.get("case_id"),
                "variant": rec.get("variant"),
                "question": rec.get("question"),
                "deltas": drops,
                "reason": why,
            }
        )

    for rec in current.get("records", []):
        key = case_key(rec)
        new_keys.add(key)
        old = old_records.get(key)
        if old is None:
            continue
        if rec.get("error") and not old.get("error"):
            entry(rec, {}, f"now fails: {rec.get('error')}")
            continue
        drops: dict[str, float | None] = {}
        for metric, old_score in old.get("scores", {}).items():
            old_value = old_score.get("value")
            if old_value is None or not _applicable(old_score):
                continue
            score = rec.get("scores", {}).get(metric)
            new_value = None if score is None else score.get("value")
            if new_value is None:
                drops[metric] = None
            elif old_value - new_value >= REGRESSION_DELTA:
                drops[metric] = new_value - old_value
        if drops:
            lost = [m for m, d in drops.items() if d is None]
            why = f"lost {', '.join(lost)}" if lost else "scores fell"
            entry(rec, drops, why)
    for key, old in old_records.items():
        if key not in new_keys:
            entry(old, {}, "missing from this run")
    return {
        "path": path,
        "created": baseline.get("created"),
        "deltas": deltas,
        "regressed": regressed,
    }


def write_report(report: Mapping[str, Any], path: Path) -> None:
    """Write the JSON report atomically and streaming, one record at a time.

    The summary keys are indented as ``json.dumps(indent=2, sort_keys=True)`` would; each
    record is one compact line. The whole report is never held as text: at 20,000 records
    with 5 KB of contexts each that text alone was a few hundred MB.
    """
    _write_atomic(path, lambda fh: stream_report(report, fh), binary=True)


def stream_report(report: Mapping[str, Any], fh: IO[bytes]) -> None:
    """Encode ``report`` to ``fh`` (UTF-8) piece by piece; NaN and infinities are refused.

    Records go through orjson (ten times the json module's speed on large suites). It
    would write a NaN as null, so the numbers in records are checked where they are
    aggregated (:class:`pytest_ragops.columns.Columns`: each non-finite one fails the run
    with its reason); the rest of the report is refused by ``allow_nan=False``.
    """
    import orjson

    from pytest_ragops.spool import plain

    keys = sorted(report)
    fh.write(b"{")
    for n, key in enumerate(keys):
        fh.write(b",\n  " if n else b"\n  ")
        fh.write(json.dumps(str(key)).encode() + b": ")
        value = report[key]
        if key == "records" and isinstance(value, list) and value:
            fh.write(b"[")
            for i, rec in enumerate(value):
                fh.write(b",\n    " if i else b"\n    ")
                try:
                    fh.write(orjson.dumps(rec, default=plain, option=orjson.OPT_SORT_KEYS))
                except TypeError:  # a type orjson does not know (numpy scalar, subclass)
                    text = json.dumps(
                        rec, sort_keys=True, allow_nan=False, separators=(",", ":"), default=plain
                    )
                    fh.write(text.encode())
            fh.write(b"\n  ]")
        else:
            text = json.dumps(value, indent=2, sort_keys=True, allow_nan=False)
            fh.write(text.replace("\n", "\n  ").encode())  # no raw newline in JSON strings
    fh.write(b"\n}\n" if keys else b"}\n")


def write_text_atomic(text: str, path: Path) -> None:
    """Write ``text`` to ``path`` atomically, so a reader never sees half a report."""
    _write_atomic(path, lambda fh: fh.write(text.encode()), binary=True)


def _write_atomic(path: Path, write: Callable[[IO[bytes]], object], *, binary: bool) -> None:
    """Call ``write`` on a temporary file in ``path``'s directory, then ``os.replace``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        # mkstemp makes the file 0600; a report is an ordinary file (0644 under umask 022).
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, "wb", buffering=1 << 20) as fh:
            write(fh)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a report may hold")


def load_report(path: str | Path) -> dict[str, Any]:
    """Read a report written by pytest-ragops, refusing other shapes with a one-line error."""
    where = str(path)
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"), parse_constant=_no_constant)
    except FileNotFoundError:
        raise RagopsError("report not found", path=where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RagopsError(f"cannot read report ({exc.__class__.__name__})", path=where) from None
    except json.JSONDecodeError as exc:
        raise RagopsError(f"invalid JSON at line {exc.lineno}: {exc.msg}", path=where) from None
    except ValueError as exc:  # NaN / Infinity: would poison every delta
        raise RagopsError(str(exc), path=where) from None
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
