from __future__ import annotations

import re
from typing import Any

import pytest

from pytest_ragops.gates import evaluate_gates, parse_gate
from pytest_ragops.report.markdown import (
    MARKER,
    MAX_BODY,
    _truncate,
    code,
    escape,
    render_markdown,
)
from pytest_ragops.report.model import build_report
from pytest_ragops.results import Record, ScoreDict

NASTY = (
    "ends the cell | <script>alert('x')</script> </details> @someone\n\n"
    "# heading\n- list `tick` [link](http://evil) **bold** \\ back & amp"
)


def _cells(row: str) -> list[str]:
    """Split a table row as GitHub does: on pipes not preceded by a backslash."""
    assert row.startswith("|")
    assert row.endswith("|")
    return re.split(r"(?<!\\)\|", row)[1:-1]


def _check_tables(body: str) -> int:
    """Every table row has as many cells as its header; returns the number of tables."""
    lines = body.split("\n")
    tables = 0
    i = 0
    while i < len(lines):
        if lines[i].startswith("|") and i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            tables += 1
            width = len(_cells(lines[i]))
            assert len(_cells(lines[i + 1])) == width
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                assert len(_cells(lines[i])) == width, lines[i]
                i += 1
        else:
            i += 1
    return tables


def _no_injection(body: str) -> None:
    """No live HTML or mention outside code spans (whose content GitHub shows literally)."""
    live = re.sub(r"`[^`\n]*`", "``", body)
    assert "<script" not in live
    assert "<b>" not in live
    assert re.search(r"@[A-Za-z0-9]", live) is None
    assert live.count("<details>") == live.count("</details>")


# -- escape and code -----------------------------------------------------------------------


def test_escape_pipes() -> None:
    out = escape("a|b||c")
    assert out == "a\\|b\\|\\|c"
    assert _cells(f"| {out} | x |") == [f" {out} ", " x "]


def test_escape_html() -> None:
    out = escape("<script>alert(1)</script><img src=x onerror=y>")
    assert "<" not in out
    assert ">" not in out
    assert out.startswith("&lt;script&gt;")
    assert escape("a & b") == "a &amp; b"
    assert escape("&lt;b&gt;") == "&amp;lt;b&amp;gt;"  # entities shown, not decoded


@pytest.mark.parametrize("text", ["@someone", "hi @org/team!", "@@x", "mail a@b.c"])
def test_escape_mentions(text: str) -> None:
    out = escape(text)
    # Every @ is followed by an invisible joiner, so no @name can notify anyone.
    assert re.search(r"@[A-Za-z0-9]", out) is None
    assert out.count("@") == text.count("@")
    assert out.count("@\u2060") == text.count("@")


def test_escape_folds_whitespace() -> None:
    assert escape("a\nb\r\n\tc   d\n") == "a b c d"
    assert "\n" not in escape(NASTY)


def test_escape_markdown_punctuation() -> None:
    assert escape("# h") == "\\# h"
    assert escape("[l](u)") == "\\[l\\]\\(u\\)"
    assert escape("`x`") == "\\`x\\`"
    assert escape("a\\") == "a\\\\"  # a trailing backslash cannot escape the cell's pipe
    assert escape("**b** _i_ ~s~") == "\\*\\*b\\*\\* \\_i\\_ \\~s\\~"


@pytest.mark.parametrize("limit", [10, 40, 160])
def test_escape_truncates(limit: int) -> None:
    out = escape("x" * 1000, limit)
    assert out == "x" * (limit - 1) + "…"
    assert escape("x" * limit, limit) == "x" * limit


def test_escape_none_and_empty() -> None:
    assert escape(None) == ""
    assert escape("   ") == ""


def test_code_spans() -> None:
    assert code("tests/t.py::test[a|b]") == "`tests/t.py::test[a\\|b]`"
    assert code("a`b") == "`a'b`"  # a backtick cannot end the span early
    assert code("a\nb") == "`a b`"
    assert code(None) == "``"
    out = code("y" * 500, 20)
    assert out == "`" + "y" * 19 + "…`"
    assert _cells(f"| {code('x|y')} | z |") == [" `x\\|y` ", " z "]


# -- render_markdown -----------------------------------------------------------------------


def _rec(
    case_id: str,
    faith: float | None,
    *,
    variant: str | None = None,
    error: str | None = None,
    question: str = "What is VACUUM?",
    answer: str = "VACUUM reclaims space.",
    test_id: str = "tests/test_eval.py::test_rag",
) -> Record:
    scores = (
        {}
        if error
        else {
            "faithfulness": ScoreDict(value=faith, judge="offline:claim-overlap", error=None),
            "answer_relevancy": ScoreDict(value=0.9, judge="offline:token-overlap", error=None),
        }
    )
    return Record(
        test_id=test_id,
        question=question,
        answer=answer,
        contexts=["ctx"],
        case_id=case_id,
        variant=variant,
        scores=scores,
        cost_usd=None if error else 0.001,
        model="claude-haiku-4-5",
        latency_s=0.5,
        error=error,
    )


def _report(
    records: list[Record],
    thresholds: dict[str, float] | None = None,
    baseline: dict[str, Any] | None = None,
    run: dict[str, Any] | None = None,
) -> dict[str, Any]:
    gates = [parse_gate(k, v, "cli") for k, v in (thresholds or {}).items()]
    results = evaluate_gates(gates, records)
    return build_report(records, results, judge="offline", run=run, baseline=baseline)


def test_basic_report() -> None:
    body = render_markdown(
        _report([_rec("c1", 1.0), _rec("c2", 0.5)], {"faithfulness": 0.7, "cost_usd": 0.01})
    )
    assert body.startswith(MARKER + "\n")
    assert "### ✅ ragops: all 2 gates passed · 2 records · judge `offline`" in body
    assert "| ✅ | `faithfulness_mean` | suite | 0.7500 | ≥ 0.7 |  |" in body
    assert "| ✅ | `cost_per_query_usd` | suite | 0.0010 | ≤ 0.01 |  |" in body
    assert "| faithfulness | 0.750 |" in body
    assert "| cost per query (USD) | 0.00100 | — | — | — |" in body
    assert "Δ vs baseline" not in body
    assert "regressed" not in body
    assert "Scored by `offline:claim-overlap`, `offline:token-overlap`." in body
    assert "Offline scores are deterministic lexical estimates" in body
    assert "Models: `claude-haiku-4-5`." in body
    assert _check_tables(body) == 3  # gates, metrics, worst cases
    assert len(body) <= MAX_BODY


def test_failed_gates_and_errors() -> None:
    records = [_rec("c1", 1.0), _rec("c2", None, error="ValueError: <b>@ops</b> | boom")]
    body = render_markdown(_report(records, {"faithfulness": 0.9, "cost_usd": 0.01}))
    assert "### ❌ ragops: 2 of 2 gates failed · 2 records" in body
    assert "**1 pipeline calls failed.**" in body
    assert "| ❌ | `faithfulness_mean` | suite | 1.0000 | ≥ 0.9 | 1 of 2 records have no " in body
    assert "| ❌ | `cost_per_query_usd` | suite | — | ≤ 0.01 |" in body
    assert "| cost per query (USD) | unknown |" in body
    assert "error: ValueError: &lt;b&gt;@\u2060ops&lt;/b&gt; \\| boom" in body
    _no_injection(body)
    _check_tables(body)


def test_no_gates_and_no_records() -> None:
    body = render_markdown(build_report([], [], judge="offline"))
    assert "### ✅ ragops: no gates set · 0 records" in body
    assert "<details>" not in body
    _check_tables(body)


def test_errors_alone_mark_the_header_red() -> None:
    body = render_markdown(_report([_rec("c1", None, error="boom")]))
    assert body.split("\n")[1].startswith("### ❌ ragops: no gates set")


def test_test_scope_gate_is_a_code_span() -> None:
    report = _report([_rec("c1", 1.0)])
    report["gates"].append(
        {
            "key": "faithfulness",
            "aggregate": "faithfulness_mean",
            "op": ">=",
            "bound": 0.8,
            "scope": "tests/t.py::test[a|b @x]",
            "value": None,
            "passed": False,
            "reason": "no records were scored",
        }
    )
    body = render_markdown(report)
    assert (
        "| ❌ | `faithfulness_mean` | `tests/t.py::test[a\\|b @x]` | — | ≥ 0.8 | "
        "no records were scored |" in body
    )
    _check_tables(body)


def test_nasty_text_everywhere_stays_inert() -> None:
    records = [
        _rec(NASTY, 0.1, variant=NASTY, question=NASTY, answer=NASTY, test_id=NASTY),
        _rec("ok", 0.9, variant="fine"),
    ]
    report = _report(records, {"faithfulness": 0.2}, run={"corpus_version": NASTY})
    report["models"] = [NASTY]
    body = render_markdown(report)
    _no_injection(body)
    assert _check_tables(body) == 4  # gates, metrics, variants, worst cases
    assert "\n# heading" not in body


def test_worst_five_cases_in_details() -> None:
    faith = {"c0": 0.9, "c1": 0.1, "c2": 0.5, "c3": None, "c4": 0.7, "c5": 0.3, "c6": 0.8}
    records = [_rec(c, f) for c, f in faith.items()]
    records.append(_rec("c7", None, error="boom"))
    body = render_markdown(_report(records))
    start = body.index("<details><summary>5 worst cases</summary>")
    section = body[start : body.index("</details>", start)]
    rows = [line for line in section.split("\n") if re.match(r"\| c\d", line)]
    # Errors first, then missing scores, then the lowest score first.
    assert [_cells(r)[0].strip() for r in rows] == ["c7", "c3", "c1", "c5", "c2"]
    assert "error: boom" in rows[0]
    assert "| case | variant | faithfulness | answer_relevancy | question | answer |" in section


def test_worst_cases_skip_duplicates_past_the_first_candidates() -> None:
    """Twenty tests scoring one case alike fill the first 4 x 5 candidates with one row:
    the rest are then ranked in full, in the same order as a full sort."""
    same = [_rec("c0", 0.05, test_id=f"t.py::test_{i}") for i in range(20)]
    rest = [_rec(f"c{i}", i / 100) for i in range(10, 60)]
    report = _report([*rest, *same])
    body = render_markdown(report)
    start = body.index("<details><summary>5 worst cases</summary>")
    section = body[start : body.index("</details>", start)]
    rows = [_cells(line)[0].strip() for line in section.split("\n") if re.match(r"\| c\d", line)]
    assert rows == ["c0", "c10", "c11", "c12", "c13"]


def test_variants_table() -> None:
    records = [_rec("c1", 1.0, variant="a"), _rec("c1", 0.5, variant="b")]
    body = render_markdown(_report(records))
    assert "**Variants**" in body
    assert "| variant | faithfulness | answer_relevancy | cost/query (USD) |" in body
    assert "| a | 1.000 | 0.900 | 0.00100 |" in body
    assert "| b | 0.500 | 0.900 | 0.00100 |" in body
    assert "**Variants**" not in render_markdown(_report([_rec("c1", 1.0)]))


def test_baseline_adds_delta_column_and_regressions() -> None:
    base = _report([_rec("c1", 1.0), _rec("c2", 0.5)])
    report = _report([_rec("c1", 0.5), _rec("c2", 0.5)], baseline=base)
    body = render_markdown(report)
    assert "| metric | mean | 95% CI | min | p95 | Δ vs baseline |" in body
    assert "| faithfulness | 0.500 |" in body
    assert "▼ -0.250 |" in body
    assert "| answer_relevancy | 0.900 | 0.900 – 0.900 | 0.900 | 0.900 | · +0.000 |" in body
    assert "<details><summary>1 cases regressed against the baseline</summary>" in body
    assert "| c1 |  | faithfulness -0.500 |" in body
    _check_tables(body)


def test_baseline_without_regressions() -> None:
    base = _report([_rec("c1", 0.5)])
    body = render_markdown(_report([_rec("c1", 1.0)], baseline=base))
    assert "▲ +0.500" in body
    assert "No case regressed against the baseline." in body


def test_regressed_rows_are_capped() -> None:
    base = _report([_rec(f"c{i}", 1.0) for i in range(60)])
    body = render_markdown(_report([_rec(f"c{i}", 0.0) for i in range(60)], baseline=base))
    assert "60 cases regressed" in body
    assert "| … | | 10 more |" in body
    _check_tables(body)


def test_corpus_footer() -> None:
    run = {"corpus_version": "abc123", "corpus_dirty": True}
    body = render_markdown(_report([_rec("c1", 1.0)], run=run))
    assert "Corpus `abc123` (workspace differs: dirty)." in body


def _huge_report(n: int, size: int) -> dict[str, Any]:
    """A report dict like build_report's, with ``n`` records of ``size``-character texts."""
    big = ("lorem @ipsum | <b>dolor</b> " * (size // 28 + 1))[:size]
    records: list[dict[str, Any]] = [
        {
            "test_id": f"tests/test_{i % 97}.py::test_{i}",
            "case_id": f"case-{i}-{big[:200]}",
            "variant": f"variant-{i}-{big[:200]}",
            "question": big,
            "answer": big,
            "contexts": [big],
            "scores": {"faithfulness": {"value": (i % 100) / 100, "judge": "offline:x"}},
            "error": big if i % 10 == 0 else None,
        }
        for i in range(n)
    ]
    metrics = {"faithfulness_mean": 0.5, "faithfulness_min": 0.0, "faithfulness_p95": 0.95}
    return {
        "version": 1,
        "judge": "offline",
        "judges": ["offline:x"],
        "models": [f"model-{i}" for i in range(50)],
        "summary": {"records": n, "errors": n // 10, "gates": n, "gates_failed": n},
        "metrics": metrics,
        "intervals": {"faithfulness": [0.4, 0.6]},
        "variants": {r["variant"]: {"metrics": metrics} for r in records},
        "gates": [
            {
                "key": "faithfulness",
                "aggregate": "faithfulness_mean",
                "op": ">=",
                "bound": 0.9,
                "scope": r["test_id"] + big[:300],
                "value": 0.5,
                "passed": False,
                "reason": big,
            }
            for r in records
        ],
        "records": records,
        "baseline": {
            "deltas": {"faithfulness_mean": -0.1},
            "regressed": [
                {"case_id": r["case_id"], "variant": r["variant"], "deltas": {"faithfulness": -0.5}}
                for r in records
            ],
        },
    }


def test_ten_thousand_huge_records_fit_the_comment_limit() -> None:
    body = render_markdown(_huge_report(10_000, 20_000))
    assert len(body) <= MAX_BODY
    assert body.startswith(MARKER)
    # Table caps keep even this report under the limit without the last-resort cut.
    assert "(report truncated)" not in body
    _no_injection(body)
    _check_tables(body)  # nor a table row


def test_truncation_closes_an_open_details() -> None:
    rows = [f"| `case {i} @someone <b>` | {'x' * 100} |" for i in range(2000)]
    body = "\n".join(["<details><summary>many</summary>", "", "| a | b |", "|---|---|", *rows])
    out = _truncate(body)
    assert len(out) <= MAX_BODY
    assert out.endswith("|\n\n</details>\n\n… (report truncated)\n")
    _no_injection(out)
    _check_tables(out)


def test_large_report_shrinks_text_before_truncating() -> None:
    # Long texts alone: the 5 worst cases and 50 regressions fit once texts are shortened.
    report = _huge_report(300, 50_000)
    report["variants"] = {}
    report["gates"] = report["gates"][:3]
    body = render_markdown(report)
    assert len(body) <= MAX_BODY
    assert "report truncated" not in body
    assert body.count("<details>") == body.count("</details>") == 2
    _check_tables(body)


def test_long_gate_and_variant_tables_are_capped_failed_first() -> None:
    from pytest_ragops.report.markdown import MAX_TABLE_ROWS, render_markdown

    gates = [
        {"key": "faithfulness", "aggregate": "faithfulness_mean", "op": ">=", "bound": 0.5,
         "scope": f"t.py::test_{i}", "value": 0.9, "passed": i != 77, "reason": None}
        for i in range(200)
    ]  # fmt: skip
    variants = {
        f"v{i:03d}": {"metrics": {"faithfulness_mean": 0.5}, "intervals": {}, "missing": {}}
        for i in range(100)
    }
    report = {"summary": {"records": 0, "gates_failed": 1}, "gates": gates, "variants": variants,
              "metrics": {"faithfulness_mean": 0.5}, "judges": []}  # fmt: skip
    body = render_markdown(report)
    gate_rows = [line for line in body.splitlines() if line.startswith(("| ✅", "| ❌"))]
    assert len(gate_rows) == MAX_TABLE_ROWS
    assert gate_rows[0].startswith("| ❌")  # the one failed gate is never cut
    assert f"| … | {200 - MAX_TABLE_ROWS} more gates (0 failed) |" in body
    assert f"… {100 - MAX_TABLE_ROWS} more variants" in body
    assert "v039" in body
    assert "v040" not in body


def test_worst_cases_show_each_case_once() -> None:
    from pytest_ragops.report.markdown import render_markdown

    def rec(test: str, case: str, value: float) -> dict[str, object]:
        return {
            "test_id": test, "case_id": case, "variant": "v", "question": "q?",
            "answer": f"a {case}",
            "scores": {"faithfulness": {"value": value, "judge": "offline:x", "error": None}},
            "error": None,
        }  # fmt: skip

    records = [rec("t::a", "dup", 0.1), rec("t::b", "dup", 0.1)]
    records += [rec("t::a", f"c{i}", 0.5 + i / 100) for i in range(6)]
    body = render_markdown({"summary": {"records": 8}, "records": records, "judges": []})
    section = body.split("<details><summary>5 worst cases</summary>")[1].split("</details>")[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    assert [r.split(" | ")[0] for r in rows[1:]] == ["| dup", "| c0", "| c1", "| c2", "| c3"]


def test_judge_info_is_shown() -> None:
    report = _report([_rec("c1", 0.9)])
    report["judge_info"] = {
        "cache": {"mode": "on", "hits": 3, "misses": 1},
        "budget": {"stopped_run": True, "message": "judge budget stopped the run: 4 scores"},
    }
    report["metrics"]["judge_cost_usd"] = 0.0123
    report["metrics"]["judge_cost_usd_faithfulness"] = 0.01
    report["metrics"]["judge_cost_usd_answer_relevancy"] = 0.0023
    report["judge_spread"] = {"faithfulness": {"mean": 0.1, "max": 0.5, "flagged": True}}
    body = render_markdown(report)
    assert r"Judge cost $0.0123: answer\_relevancy $0.0023, faithfulness $0.0100" in body
    assert "3 hits, 1 misses" in body
    assert "judge budget stopped the run" in body
    assert "faithfulness (max spread 0.50)" in body
