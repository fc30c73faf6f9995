"""Terminal rendering: the metric table and the ``ragops gates`` section, as plain lines."""

from __future__ import annotations

from typing import Any

from pytest_ragops.judge.base import QUALITY_METRICS

__all__ = ["render_gates", "render_table"]


def _fmt(value: float | None, digits: int = 3) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def render_table(report: dict[str, Any]) -> list[str]:
    """The per-metric table printed in pytest's terminal summary."""
    metrics: dict[str, Any] = report.get("metrics", {})
    intervals: dict[str, Any] = report.get("intervals", {})
    missing: dict[str, Any] = report.get("missing", {})
    deltas = (report.get("baseline") or {}).get("deltas", {})
    rows: list[tuple[str, ...]] = [
        ("metric", "mean", "95% CI", "min", "p50", "p95", "missing", "delta")
    ]
    for m in QUALITY_METRICS:
        if f"{m}_mean" not in metrics:
            continue
        ci = intervals.get(m)
        rows.append(
            (
                m,
                _fmt(metrics.get(f"{m}_mean")),
                f"{_fmt(ci[0])}-{_fmt(ci[1])}" if ci else "-",
                _fmt(metrics.get(f"{m}_min")),
                _fmt(metrics.get(f"{m}_p50")),
                _fmt(metrics.get(f"{m}_p95")),
                str(missing.get(m, 0)),
                _fmt(deltas.get(f"{m}_mean")) if deltas else "",
            )
        )
    cost = metrics.get("cost_per_query_usd")
    rows.append(
        (
            "cost_usd/query",
            "unknown" if cost is None else f"{cost:.5f}",
            "-",
            "-",
            "-",
            "-",
            str(missing.get("cost_usd", 0)),
            _fmt(deltas.get("cost_per_query_usd"), 5) if deltas else "",
        )
    )
    rows.append(
        (
            "latency_s",
            _fmt(metrics.get("latency_mean_s")),
            "-",
            "-",
            _fmt(metrics.get("latency_p50_s")),
            _fmt(metrics.get("latency_p95_s")),
            str(missing.get("latency_s", 0)),
            _fmt(deltas.get("latency_p95_s")) if deltas else "",
        )
    )
    if not deltas:
        rows = [r[:-1] for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    s = report.get("summary", {})
    lines.append(
        f"{s.get('records', 0)} records, {s.get('errors', 0)} pipeline errors; "
        f"judge {report.get('judge')} ({', '.join(report.get('judges', [])) or 'no scores'})"
    )
    for name, v in report.get("variants", {}).items():
        vals = ", ".join(
            f"{m}={_fmt(v['metrics'].get(f'{m}_mean'))}"
            for m in QUALITY_METRICS
            if f"{m}_mean" in v["metrics"]
        )
        lines.append(f"variant {name}: {vals}")
    return lines


def render_gates(gates: list[dict[str, Any]]) -> list[str]:
    """One line per gate: status, gate, value and bound, and the reason of a failure."""
    lines = []
    for g in gates:
        status = "PASSED" if g["passed"] else "FAILED"
        scope = "" if g["scope"] == "suite" else f" [{g['scope']}]"
        line = (
            f"{status} {g['aggregate']}{scope}: value {_fmt(g['value'], 4)}, "
            f"bound {g['op']} {g['bound']:g}"
        )
        if g.get("reason"):
            line += f" ({g['reason']})"
        lines.append(line)
    return lines
