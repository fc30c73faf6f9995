"""Trimming a comment body to GitHub's limit (pure; the API side is in tests/integration)."""

from __future__ import annotations

from pytest_ragops.github.comment import ensure_marker, trim_body
from pytest_ragops.report.markdown import MARKER, render_markdown
from pytest_ragops.report.model import build_report
from pytest_ragops.results import Record

GATES = [
    "| | gate | scope | value | bound | note |",
    "|---|---|---|---|---|---|",
    "| ❌ | `faithfulness_mean` | suite | 0.7000 | ≥ 0.8 | 0.7 is below 0.8 |",
]


def _body(rows: int, gate_rows: int = 0) -> str:
    extra = [f"| ✅ | `g{i}` | suite | 1.0000 | ≥ 0.1 | |" for i in range(gate_rows)]
    lines = [MARKER, "### ❌ ragops: 1 of 2 gates failed", "", *GATES, *extra, ""]
    lines += ["<details><summary>cases</summary>", "", "| case |", "|---|"]
    lines += [f"| case {i} {'x' * 50} |" for i in range(rows)]
    lines += ["", "</details>", ""]
    return "\n".join(lines)


def test_short_bodies_pass_unchanged() -> None:
    body = _body(3)
    assert trim_body(body, 10_000) == body


def test_trimmed_body_keeps_marker_verdict_and_gates_and_closes_details() -> None:
    out = trim_body(_body(500), 5_000, "the artifacts of [this run](https://x/runs/1)")
    assert len(out) <= 5_000
    lines = out.split("\n")
    assert lines[0] == MARKER
    assert lines[1] == "### ❌ ragops: 1 of 2 gates failed"
    assert lines[3:6] == GATES
    assert out.count("<details>") == out.count("</details>") == 1
    assert out.endswith(
        "… trimmed to fit GitHub's comment limit; the full report is in the artifacts of "
        "[this run](https://x/runs/1).\n"
    )
    assert all(line.startswith("| case") or not line.startswith("| c") for line in lines)


def test_a_gate_table_too_long_keeps_its_head_and_says_how_many_rows_were_cut() -> None:
    out = trim_body(_body(0, gate_rows=400), 4_000)
    assert len(out) <= 4_000
    assert GATES[2] in out
    assert "more gate rows trimmed" in out


def test_a_body_without_marker_gets_one() -> None:
    assert ensure_marker("hello").split("\n")[0] == MARKER
    assert ensure_marker(f"{MARKER}\nhello") == f"{MARKER}\nhello"


def test_a_real_report_trims_at_line_ends() -> None:
    records = [
        Record(
            test_id="t.py::test",
            question="q" * 100,
            answer="word " * 2000,
            case_id=f"c{i}",
            scores={"faithfulness": {"value": 0.1, "judge": "offline:x", "error": None}},
            cost_usd=0.0,
            latency_s=0.1,
        )
        for i in range(30)
    ]
    body = render_markdown(build_report(records, [], judge="offline"))
    out = trim_body(body, 1_500)
    assert len(out) <= 1_500
    kept = out.split("\n… trimmed")[0].rstrip("\n").split("\n")
    assert all(line in body.split("\n") or line in ("", "</details>") for line in kept)
