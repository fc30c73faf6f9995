"""Quality gates: parse thresholds, check them against aggregates, fail closed.

Records and thresholds go in, :class:`GateResult` objects come out; the plugin only
changes the exit status. A gate passes only when its value exists, every record the
value depends on was scored, and the value is within the bound: a missing score or an
unknown cost is a failure with its reason, never a pass.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.judge.base import QUALITY_METRICS
from pytest_ragops.results import MIN_CI_CASES, aggregate

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from pytest_ragops.results import MetricSummary, Record

    Aggregates = tuple[dict[str, float | None], dict[str, MetricSummary]]

__all__ = [
    "Gate",
    "GateResult",
    "evaluate_gates",
    "gate_keys",
    "merge_gates",
    "parse_gate",
    "parse_threshold",
]

_QUALITY_SUFFIXES = ("mean", "min", "p50", "p95", "max", "ci_low", "ci_high")


def _build_keys() -> dict[str, tuple[str, str, Literal[">=", "<="]]]:
    """Gate key → (aggregate name, underlying metric, operator)."""
    keys: dict[str, tuple[str, str, Literal[">=", "<="]]] = {}
    for m in QUALITY_METRICS:
        keys[m] = (f"{m}_mean", m, ">=")
        for suffix in _QUALITY_SUFFIXES:
            keys[f"{m}_{suffix}"] = (f"{m}_{suffix}", m, ">=")
    for name in ("total_cost_usd", "cost_per_query_usd", "cost_max_usd"):
        keys[name] = (name, "cost_usd", "<=")
    keys["cost_usd"] = ("cost_per_query_usd", "cost_usd", "<=")
    for name in ("latency_mean_s", "latency_p50_s", "latency_p95_s", "latency_max_s"):
        keys[name] = (name, "latency_s", "<=")
    keys["latency_s"] = ("latency_mean_s", "latency_s", "<=")
    keys["pass_rate"] = ("pass_rate", "", ">=")
    keys["error_rate"] = ("error_rate", "", "<=")
    return keys


_KEYS = _build_keys()


def gate_keys() -> list[str]:
    """Every accepted gate key, sorted."""
    return sorted(_KEYS)


@dataclass(frozen=True, slots=True)
class Gate:
    """A bound on one aggregate: quality is a lower bound, cost and latency an upper one."""

    #: The key as the user wrote it (``faithfulness``, ``latency_p95_s``).
    key: str
    #: The aggregate it checks (``faithfulness`` → ``faithfulness_mean``).
    aggregate: str
    #: The metric whose scores the aggregate needs ('' for pass/error rates).
    metric: str
    op: Literal[">=", "<="]
    bound: float

    @property
    def canonical(self) -> str:
        """What the gate checks, whatever it was called: ``faithfulness`` and
        ``faithfulness_mean`` are one gate, so merging sources goes by this."""
        return self.aggregate

    def describe(self) -> str:
        """Human form, e.g. ``faithfulness_mean >= 0.8``."""
        return f"{self.aggregate} {self.op} {self.bound:g}"


@dataclass(frozen=True, slots=True)
class GateResult:
    """The outcome of one gate over one scope."""

    gate: Gate
    #: ``suite`` or a test's node id.
    scope: str
    value: float | None
    passed: bool
    #: Why it failed, when it did.
    reason: str | None = None
    #: Something the reader should know even when it passed (cases lacking a reference).
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form used in report.json."""
        return {
            "key": self.gate.key,
            "aggregate": self.gate.aggregate,
            "op": self.gate.op,
            "bound": self.gate.bound,
            "scope": self.scope,
            "value": self.value,
            "passed": self.passed,
            "reason": self.reason,
            "note": self.note,
        }


def parse_gate(key: str, value: object, source: str) -> Gate:
    """Validate one ``key=value`` threshold; ``source`` names where it came from.

    :raises RagopsUsageError: for an unknown key or a bound that is not a sensible number.
    """
    spec = _KEYS.get(key)
    if spec is None:
        close = [k for k in _KEYS if k.startswith(key.split("_")[0])][:4]
        hint = (
            f"; did you mean {', '.join(close)}?"
            if close
            else f"; known: {', '.join(QUALITY_METRICS)}, cost_usd, latency_s, pass_rate, ..."
        )
        raise RagopsUsageError(f"unknown gate metric {key!r}{hint}", path=source, field=key)
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise RagopsUsageError(f"bound must be a number, got {value!r}", path=source, field=key)
    try:
        bound = float(value)
    except ValueError:
        raise RagopsUsageError(
            f"bound must be a number, got {value!r}", path=source, field=key
        ) from None
    if not math.isfinite(bound) or bound < 0:
        raise RagopsUsageError(
            f"bound must be a finite number >= 0, got {value!r}", path=source, field=key
        )
    aggregate_name, metric, op = spec
    if op == ">=" and bound > 1:
        raise RagopsUsageError(f"bound must be in [0, 1], got {value!r}", path=source, field=key)
    return Gate(key=key, aggregate=aggregate_name, metric=metric, op=op, bound=bound)


def parse_threshold(text: str, source: str = "--ragops-threshold") -> Gate:
    """Parse ``METRIC=VALUE`` as given on the command line."""
    key, sep, value = text.partition("=")
    if not sep or not key.strip() or not value.strip():
        raise RagopsUsageError(f"expected METRIC=VALUE, got {text!r}", path=source)
    return parse_gate(key.strip(), value.strip(), source)


def parse_gates(mapping: Mapping[str, object], source: str) -> list[Gate]:
    """Parse a ``{key: bound}`` mapping (pyproject table or marker kwargs).

    Two keys naming the same aggregate (``faithfulness`` and ``faithfulness_mean``)
    in one mapping are ambiguous: a usage error.
    """
    gates = [parse_gate(str(k), v, source) for k, v in mapping.items()]
    seen: dict[str, str] = {}
    for g in gates:
        if g.canonical in seen:
            raise RagopsUsageError(
                f"{seen[g.canonical]!r} and {g.key!r} are the same gate ({g.canonical}); keep one",
                path=source,
                field=g.key,
            )
        seen[g.canonical] = g.key
    return gates


def merge_gates(*layers: Iterable[Gate]) -> list[Gate]:
    """Later layers win per aggregate (pyproject, then the command line; outer, then
    closer markers); the result keeps first-seen order."""
    merged: dict[str, Gate] = {}
    for layer in layers:
        for gate in layer:
            merged[gate.canonical] = gate
    return list(merged.values())


def _missing_reason(gate: Gate, s: MetricSummary, records: Sequence[Record]) -> str:
    if gate.metric == "cost_usd":
        why = next((r.cost_error for r in records if r.cost_usd is None and r.cost_error), None)
        reason = f"{s.missing} of {s.n} records have no cost"
        return f"{reason} (first: {why})" if why else reason
    errors = [
        sc.get("error") for r in records
        if (sc := r.scores.get(gate.metric)) is not None and sc["value"] is None and sc.get("error")
    ]  # fmt: skip
    failed_pipeline = sum(r.error is not None for r in records)
    reason = f"{s.missing} of {s.n} records have no {gate.metric} score"
    if errors:
        return f"{reason} (first: {errors[0]})"
    if failed_pipeline:
        return f"{reason} ({failed_pipeline} pipeline calls failed)"
    return reason


def evaluate_gates(
    gates: Iterable[Gate],
    records: Sequence[Record],
    scope: str = "suite",
    aggregates: Aggregates | None = None,
) -> list[GateResult]:
    """Check ``gates`` over ``records``; every failure carries its reason.

    ``aggregates`` is :func:`~pytest_ragops.results.aggregate` of ``records`` when the
    caller already has it (computed once per scope, reused by the report).
    """
    gates = list(gates)
    if not gates:
        return []
    values, summaries = aggregates if aggregates is not None else aggregate(records)
    results: list[GateResult] = []
    for gate in gates:
        value = values.get(gate.aggregate)
        reason: str | None = None
        note: str | None = None
        s = summaries.get(gate.metric) if gate.metric else None
        if s is not None and s.not_applicable:
            note = f"{s.not_applicable} of {s.n} records lacked a reference (not applicable)"
        if not records:
            reason = "no records were scored"
        elif s is not None and s.missing:
            reason = _missing_reason(gate, s, records)
        elif s is not None and s.not_applicable == s.n:
            reason = f"not applicable to any record: all {s.n} lacked a reference"
        elif gate.aggregate.endswith(("_ci_low", "_ci_high")) and (
            s is None or s.cases < MIN_CI_CASES
        ):
            cases = 0 if s is None else s.cases
            reason = f"an interval gate needs at least {MIN_CI_CASES} cases, got {cases}"
        elif value is None:
            reason = f"no value for {gate.aggregate}"
        elif not math.isfinite(value):
            reason = f"{gate.aggregate} is not a finite number"
        elif not (value >= gate.bound if gate.op == ">=" else value <= gate.bound):
            reason = f"{value:.4g} is {'below' if gate.op == '>=' else 'above'} {gate.bound:g}"
        results.append(GateResult(gate, scope, value, reason is None, reason, note))
    return results
