"""The Markdown report: the PR comment body and job summary.

Pure: a report dict in, a string out. Every piece of user or model text goes through
:func:`escape` so an answer cannot break the table, inject HTML or @-mention people,
and the body is kept under GitHub's 65,536-character comment limit.
"""

from __future__ import annotations

import heapq
import re
from typing import TYPE_CHECKING, Any

from pytest_ragops.judge.base import QUALITY_METRICS

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["MARKER", "MAX_BODY", "code", "escape", "render_markdown"]

#: Hidden first line, so a sticky comment can find its previous version.
MARKER = "<!-- pytest-ragops report -->"
#: GitHub rejects comment bodies longer than 65,536 characters; keep a margin.
MAX_BODY = 60_000
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")
_WORD = re.compile(r"\S+")
_OFFLINE_NOTE = (
    "Offline scores are deterministic lexical estimates (claims and tokens matched against "
    "the retrieved contexts and references), not an LLM's judgement."
)


def escape(text: str | None, limit: int = 160) -> str:
    """Make arbitrary text safe inside a Markdown table cell.

    HTML is entity-escaped, Markdown punctuation backslash-escaped, newlines folded and
    ``@`` followed by a zero-width joiner so that ``@team`` does not notify anyone.
    """
    if text is None:
        return ""
    text = _fold(text, limit)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return text.replace("@", "@\u2060")


def code(text: str | None, limit: int = 80) -> str:
    """Wrap text in a code span: no Markdown or mention inside, so only backticks and pipes matter.

    Backslash escapes do not work inside code spans, but GitHub's table parser still
    splits cells on ``|``, which it lets ``\\|`` escape.
    """
    text = _fold(text or "", limit).replace("`", "'")
    return "`" + text.replace("|", "\\|") + "`"


def _fold(text: str, limit: int) -> str:
    """Collapse whitespace and cut to ``limit`` characters (ending in …).

    Reads only as many words as the limit needs: splitting a whole 100 kB answer for
    every cell made a large report take seconds to render.
    """
    words: list[str] = []
    size = -1
    for match in _WORD.finditer(text):
        words.append(match.group())
        size += len(words[-1]) + 1
        if size > limit:
            break
    folded = " ".join(words)
    return folded if len(folded) <= limit else folded[: limit - 1] + "…"


def _num(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _delta(value: float | None) -> str:
    if value is None:
        return "—"
    arrow = "▲" if value > 0 else ("▼" if value < 0 else "·")
    return f"{arrow} {value:+.3f}"


#: Rows shown in the gate and variant tables; the rest are counted, failed gates first.
MAX_TABLE_ROWS = 40


def _gate_table(gates: list[dict[str, Any]]) -> list[str]:
    lines = ["| | gate | scope | value | bound | note |", "|---|---|---|---|---|---|"]
    ordered = sorted(gates, key=lambda g: g["passed"])  # stable: failed gates first
    for g in ordered[:MAX_TABLE_ROWS]:
        mark = "✅" if g["passed"] else "❌"
        op = "≥" if g["op"] == ">=" else "≤"
        scope = "suite" if g["scope"] == "suite" else code(g["scope"])
        lines.append(
            f"| {mark} | `{g['aggregate']}` | {scope} | {_num(g['value'], 4)} | "
            f"{op} {g['bound']:g} | {escape(g.get('reason') or g.get('note') or '')} |"
        )
    if len(ordered) > MAX_TABLE_ROWS:
        rest = ordered[MAX_TABLE_ROWS:]
        failed = sum(not g["passed"] for g in rest)
        lines.append(f"| … | {len(rest)} more gates ({failed} failed) | | | | |")
    return lines


def _metric_rows(report: dict[str, Any]) -> list[str]:
    metrics: dict[str, Any] = report.get("metrics", {})
    intervals: dict[str, Any] = report.get("intervals", {})
    deltas = (report.get("baseline") or {}).get("deltas", {})
    has_base = report.get("baseline") is not None
    head = "| metric | mean | 95% CI | min | p95 |" + (" Δ vs baseline |" if has_base else "")
    lines = [head, "|---|---|---|---|---|" + ("---|" if has_base else "")]
    for m in QUALITY_METRICS:
        if f"{m}_mean" not in metrics:
            continue
        ci = intervals.get(m)
        ci_text = f"{_num(ci[0])} – {_num(ci[1])}" if ci else "—"
        row = (
            f"| {m} | {_num(metrics.get(f'{m}_mean'))} | {ci_text} | "
            f"{_num(metrics.get(f'{m}_min'))} | {_num(metrics.get(f'{m}_p95'))} |"
        )
        lines.append(row + (f" {_delta(deltas.get(f'{m}_mean'))} |" if has_base else ""))
    cost = metrics.get("cost_per_query_usd")
    lat = metrics.get("latency_p95_s")
    extra = [
        ("cost per query (USD)", cost, "cost_per_query_usd", 5),
        ("total cost (USD)", metrics.get("total_cost_usd"), "total_cost_usd", 5),
        ("latency p95 (s)", lat, "latency_p95_s", 3),
        ("pass rate", metrics.get("pass_rate"), "pass_rate", 3),
    ]
    for label, value, key, digits in extra:
        if key not in metrics:
            continue
        shown = "unknown" if value is None else _num(value, digits)
        row = f"| {label} | {shown} | — | — | — |"
        lines.append(row + (f" {_delta(deltas.get(key))} |" if has_base else ""))
    return lines


def _variant_rows(report: dict[str, Any]) -> list[str]:
    variants: dict[str, Any] = report.get("variants", {})
    if not variants:
        return []
    cols = [m for m in QUALITY_METRICS if f"{m}_mean" in report.get("metrics", {})]
    lines = [
        "",
        "**Variants**",
        "",
        "| variant | " + " | ".join(cols) + " | cost/query (USD) |",
        "|---|" + "---|" * (len(cols) + 1),
    ]
    for name, v in list(variants.items())[:MAX_TABLE_ROWS]:
        vals = " | ".join(_num(v["metrics"].get(f"{m}_mean")) for m in cols)
        lines.append(
            f"| {escape(name, 60)} | {vals} | {_num(v['metrics'].get('cost_per_query_usd'), 5)} |"
        )
    if len(variants) > MAX_TABLE_ROWS:
        lines.append(f"| … {len(variants) - MAX_TABLE_ROWS} more variants | |" + " |" * len(cols))
    return lines


def _applicable_values(r: dict[str, Any]) -> list[float | None]:
    """A record's scores that count: a metric that does not apply is not a low score."""
    return [
        s.get("value")
        for s in r.get("scores", {}).values()
        if s.get("applicable", True) is not False
    ]


def _worst(records: list[dict[str, Any]], n: int = 5) -> list[dict[str, Any]]:
    """Failed calls first, then missing scores (judge errors), then the lowest real score."""

    def key(r: dict[str, Any]) -> tuple[int, float, str]:
        ident = f"{r.get('case_id')}\x00{r.get('variant')}"
        if r.get("error"):
            return (0, 0.0, ident)
        vals = _applicable_values(r)
        if any(v is None for v in vals):
            return (1, 0.0, ident)
        present = [v for v in vals if v is not None]
        return (2, min(present) if present else 1.0, ident)

    def ranked() -> Iterator[dict[str, Any]]:
        # The few lowest without sorting every record of a large suite; the full sort
        # only if duplicates use all of them up.
        first = heapq.nsmallest(4 * n, records, key=key)
        yield from first
        if len(first) == 4 * n:
            yield from sorted(records, key=key)[len(first) :]

    # Two tests scoring the same case and variant identically show it once.
    worst: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str, str]] = set()
    for r in ranked():
        ident = (
            str(r.get("case_id")),
            str(r.get("variant")),
            str(r.get("answer")),
            str(r.get("error")),
        )
        if ident not in seen:
            seen.add(ident)
            worst.append(r)
        if len(worst) == n:
            break
    return worst


def _cell(score: dict[str, Any] | None) -> str:
    if not score:
        return "—"
    if score.get("applicable", True) is False:
        return "n/a"
    if score.get("value") is None:
        return "error"
    return _num(score.get("value"))


def _why(r: dict[str, Any], limit: int) -> str:
    """The judge's reasons for the record's low or missing scores."""
    parts = []
    for metric, score in r.get("scores", {}).items():
        text = score.get("error") if score.get("value") is None else score.get("rationale")
        if text and score.get("applicable", True) is not False:
            parts.append(f"{metric}: {text}")
    return escape("; ".join(parts), limit)


def _worst_section(report: dict[str, Any], limit: int) -> list[str]:
    records = report.get("records", [])
    if not records:
        return []
    worst = _worst(records)
    cols = [m for m in QUALITY_METRICS if any(m in r.get("scores", {}) for r in records)]
    lines = [
        "",
        f"<details><summary>{len(worst)} worst cases</summary>",
        "",
        "| case | variant | " + " | ".join(cols) + " | question | answer | why |",
        "|---|---|" + "---|" * (len(cols) + 3),
    ]
    for r in worst:
        scores = r.get("scores", {})
        vals = " | ".join(_cell(scores.get(m)) for m in cols)
        answer = f"error: {r['error']}" if r.get("error") else r.get("answer")
        lines.append(
            f"| {escape(r.get('case_id'), 60)} | {escape(r.get('variant') or '', 40)} | {vals} | "
            f"{escape(r.get('question'), limit)} | {escape(answer, limit)} | {_why(r, limit)} |"
        )
    lines += ["", "</details>"]
    return lines


def _regressed_section(report: dict[str, Any], max_rows: int) -> list[str]:
    base = report.get("baseline")
    if not base:
        return []
    regressed = base.get("regressed", [])
    if not regressed:
        return ["", "No case regressed against the baseline."]
    lines = [
        "",
        f"<details><summary>{len(regressed)} cases regressed against the baseline</summary>",
        "",
        "| case | variant | change |",
        "|---|---|---|",
    ]
    for r in regressed[:max_rows]:
        change = ", ".join(
            f"{m} {'lost its score' if d is None else f'{d:+.3f}'}" for m, d in r["deltas"].items()
        )
        lines.append(
            f"| {escape(r.get('case_id'), 60)} | {escape(r.get('variant') or '', 40)} | {change} |"
        )
    if len(regressed) > max_rows:
        lines.append(f"| … | | {len(regressed) - max_rows} more |")
    lines += ["", "</details>"]
    return lines


def _judge_info_notes(report: dict[str, Any]) -> list[str]:
    """Judge cost, cache hits and a budget that stopped the run, from ``judge_info``."""
    info = report.get("judge_info") or {}
    notes: list[str] = []
    judge_cost = report.get("metrics", {}).get("judge_cost_usd")
    if isinstance(judge_cost, int | float):
        prefix = "judge_cost_usd_"
        per_metric = [
            f"{escape(name[len(prefix) :], 40)} ${value:.4f}"
            for name, value in sorted(report.get("metrics", {}).items())
            if name.startswith(prefix) and isinstance(value, int | float)
        ]
        split = f": {', '.join(per_metric)}" if per_metric else ""
        notes.append(f"Judge cost ${judge_cost:.4f}{split} (apart from the app's cost).")
    cache = info.get("cache") or {}
    if cache.get("mode") and cache.get("mode") != "off":
        notes.append(
            f"Judge cache ({escape(str(cache['mode']), 10)}): {cache.get('hits', 0)} hits, "
            f"{cache.get('misses', 0)} misses."
        )
    budget = info.get("budget") or {}
    if budget.get("stopped_run"):
        notes.append(f"**{escape(str(budget.get('message') or 'judge budget exhausted'), 200)}.**")
    spread = {m: v for m, v in (report.get("judge_spread") or {}).items() if v.get("flagged")}
    if spread:
        names = ", ".join(f"{m} (max spread {v['max']:.2f})" for m, v in sorted(spread.items()))
        notes.append(f"Judge disagreed with itself between repeats on {names}.")
    return notes


def render_markdown(report: dict[str, Any]) -> str:
    """Render the report as Markdown fit for a PR comment (≤ :data:`MAX_BODY` characters)."""
    for limit, max_rows in ((160, 50), (80, 20), (40, 5)):
        body = _render(report, limit, max_rows)
        if len(body) <= MAX_BODY:
            return body
    return _truncate(body)


def _truncate(body: str) -> str:
    """Cut ``body`` at a line end and close an open ``<details>``.

    A cut mid-line could split a code span, whose unclosed backtick would let the
    test id or model name after it mention people or open HTML.
    """
    lines = body[: MAX_BODY - 60].split("\n")[:-1]
    opened = sum(line.startswith("<details>") for line in lines)
    closed = sum(line == "</details>" for line in lines)
    tail = ["", "</details>"] if opened > closed else []
    return "\n".join([*lines, *tail, "", "… (report truncated)", ""])


def _render(report: dict[str, Any], limit: int, max_rows: int) -> str:
    summary = report.get("summary", {})
    gates: list[dict[str, Any]] = report.get("gates", [])
    failed = summary.get("gates_failed", 0)
    # The verdict is the report's own: a pass only when every gate passed and pytest
    # succeeded. A report without the field (an old one) is never shown as a pass.
    mark = "✅" if summary.get("passed") is True and not summary.get("errors") else "❌"
    if gates:
        verdict = (
            f"{failed} of {len(gates)} gates failed" if failed else f"all {len(gates)} gates passed"
        )
    else:
        verdict = "no gates set"
    judge = code(report.get("judge", ""), 60)
    lines = [
        MARKER,
        f"### {mark} ragops: {verdict} · {summary.get('records', 0)} records · judge {judge}",
        "",
    ]
    for reason in summary.get("failures", []):
        lines.append(f"- **{escape(reason, 200)}**")
    if summary.get("failures"):
        lines.append("")
    elif summary.get("errors"):
        lines += [f"**{summary['errors']} pipeline calls failed.**", ""]
    if gates:
        lines += [*_gate_table(gates), ""]
    lines += _metric_rows(report)
    lines += _variant_rows(report)
    lines += _worst_section(report, limit)
    lines += _regressed_section(report, max_rows)
    run = report.get("run", {})
    foot = [f"Scored by {', '.join(code(j, 60) for j in report.get('judges', []))}."]
    if report.get("models"):
        foot.append(f"Models: {', '.join(code(m, 60) for m in report['models'])}.")
    if run.get("corpus_version"):
        dirty = " (workspace differs: dirty)" if run.get("corpus_dirty") else ""
        foot.append(f"Corpus {code(str(run['corpus_version']), 60)}{dirty}.")
    foot += _judge_info_notes(report)
    if any(j.startswith("offline:") for j in report.get("judges", [])):
        foot.append(_OFFLINE_NOTE)
    lines += ["", " ".join(foot), ""]
    return "\n".join(lines)
