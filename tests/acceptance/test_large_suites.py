"""Issue 15 end to end: each scope aggregated once, bad numbers fail the run, xdist."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from pytest_ragops import bootstrap, columns

pytest_plugins = ["pytester"]

CASES = """\
cases:
  - id: capital
    question: What is the capital of France?
    reference: Paris is the capital of France.
  - id: river
    question: Which river flows through Paris?
    reference: The Seine flows through Paris.
  - id: tower
    question: How tall is the Eiffel Tower?
    reference: The Eiffel Tower is 330 metres tall.
"""

EVAL = """\
import pytest
from pytest_ragops import load_cases

DOCS = {
    "capital": "Paris is the capital of France.",
    "river": "The Seine flows through Paris.",
    "tower": "The Eiffel Tower is 330 metres tall.",
}

def grounded(case, variant):
    return {"answer": DOCS[case.id], "contexts": [DOCS[case.id]], "cost_usd": 0.001}

@pytest.mark.ragops_eval
@pytest.mark.ragops_threshold(faithfulness=0.5)
def test_gated(ragops):
    ragops.evaluate(grounded, load_cases("cases.yaml"), variants=["short", "long"])

@pytest.mark.ragops_eval
def test_plain(ragops):
    ragops.evaluate(grounded, load_cases("cases.yaml"), variants=["short", "long"])
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", cases=CASES)
    pytester.makepyfile(test_eval=EVAL)
    return pytester


def _report(p: pytest.Pytester) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((p.path / ".ragops" / "report.json").read_text())
    return data


def test_each_scope_is_aggregated_once(
    project: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two evaluate() calls, one marker gate, then the suite, its variants and its tests
    for the gates, the terminal table, the JSON and the Markdown: four passes in all."""
    built: list[int] = []
    drawn: list[int] = []
    real_init, real_intervals = columns.Columns.__init__, bootstrap.intervals

    def counting_init(self: columns.Columns, records: Any) -> None:
        built.append(len(records))
        real_init(self, records)

    def counting_intervals(samples: Any, confidence: float = 0.95) -> Any:
        drawn.append(len(samples))
        return real_intervals(samples, confidence)

    monkeypatch.setattr(columns.Columns, "__init__", counting_init)
    monkeypatch.setattr(bootstrap, "intervals", counting_intervals)
    result = project.runpytest("--ragops-eval", "--ragops-threshold", "faithfulness_mean=0.5")
    result.assert_outcomes(passed=2)
    # evaluate() in test_gated, its marker gate, evaluate() in test_plain, the session.
    assert built == [6, 6, 6, 12]
    assert len(drawn) == 4
    report = _report(project)
    assert set(report["variants"]) == {"long", "short"}
    assert len(report["tests"]) == 2
    assert (project.path / ".ragops" / "report.md").read_text().count("faithfulness") > 0


NAN_EVAL = """\
import pytest
from pytest_ragops import load_cases

def grounded(case):
    return {"answer": case.reference, "contexts": [case.reference], "cost_usd": 0.001}

@pytest.mark.ragops_eval
def test_tampered(ragops):
    result = ragops.evaluate(grounded, load_cases("cases.yaml"))
    result.records[1].latency_s = float("nan")  # past the checks made when recording
"""


@pytest.mark.parametrize("xdist", [False, True])
def test_a_nan_that_gets_into_a_record_fails_the_run(
    pytester: pytest.Pytester, xdist: bool
) -> None:
    pytester.makefile(".yaml", cases=CASES)
    pytester.makepyfile(test_eval=NAN_EVAL)
    result = pytester.runpytest("--ragops-eval", *(["-n", "2"] if xdist else []))
    assert result.ret == 1
    line = "latency_s is nan, not a finite number"
    where = "record 2 of test_eval.py::test_tampered"
    result.stdout.fnmatch_lines([f"WARNING ragops: *{where}*{line}"])
    report = _report(pytester)
    assert report["summary"]["passed"] is False
    assert any(line in f for f in report["summary"]["failures"])
    assert report["records"][1]["latency_s"] is None  # written, as missing
    assert report["summary"]["records"] == 3  # nothing recorded was lost


def test_a_negative_latency_under_xdist_is_one_line_not_an_internal_error(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".yaml", cases=CASES)
    pytester.makepyfile(test_eval=NAN_EVAL.replace('float("nan")', "-1.0"))
    for args in ([], ["-n", "2"]):
        result = pytester.runpytest("--ragops-eval", *args)
        assert result.ret == 1
        assert "INTERNALERROR" not in result.stdout.str()
        why = "record 2 of test_eval.py::test_tampered (id:river, variant None): latency_s is -1.0"
        result.stdout.fnmatch_lines([f"WARNING ragops: *{why}, below 0"])
        report = _report(pytester)
        (failure,) = report["summary"]["failures"]
        prefix = r"worker gw[01]: " if args else ""
        assert re.fullmatch(prefix + re.escape(why + ", below 0"), failure), failure
        assert report["summary"]["records"] == 3
        assert report["metrics"]["latency_max_s"] >= 0


SPOOL_CONFTEST = """\
import json
from pathlib import Path

import pytest

def pytest_ragops_session_finish(report):
    seen = [type(r["contexts"]).__name__ for r in report["records"]]
    first = report["records"][0]["contexts"]
    Path("hook.json").write_text(json.dumps({"types": seen, "first": first}))

@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session):
    plugin = session.config.pluginmanager.get_plugin("%s")
    if plugin is not None and not hasattr(session.config, "workerinput"):
        kinds = {type(r.contexts).__name__ for recs in plugin.records.values() for r in recs}
        Path("held.json").write_text(json.dumps(sorted(kinds)))
"""


@pytest.mark.parametrize("xdist", [False, True])
def test_finished_tests_contexts_wait_on_disk_and_come_back_whole(
    project: pytest.Pytester, xdist: bool
) -> None:
    from pytest_ragops.plugin import _PLUGIN_NAME

    project.makeconftest(SPOOL_CONFTEST % _PLUGIN_NAME)
    failing = EVAL.replace(
        "def test_plain(ragops):\n    ragops.evaluate(",
        "def test_plain(ragops):\n    raise_after = ragops.evaluate(",
    )
    failing += "    assert raise_after is None  # fails after recording\n"
    project.makepyfile(test_eval=failing)
    result = project.runpytest("--ragops-eval", *(["-n", "2"] if xdist else []))
    assert result.ret == 1, result.stdout.str()
    result.assert_outcomes(passed=1, failed=1)
    # Held in memory only as spool views after the tests...
    assert json.loads((project.path / "held.json").read_text()) == ["SpilledContexts"]
    # ...written whole into report.json...
    report = _report(project)
    assert len(report["records"]) == 12
    texts = {"Paris is the capital of France.", "The Seine flows through Paris.",
             "The Eiffel Tower is 330 metres tall."}  # fmt: skip
    assert {c for r in report["records"] for c in r["contexts"]} == texts
    assert all(len(r["contexts"]) == 1 for r in report["records"])
    # ...and handed to the session-finish hook as plain lists (its contract: builtins).
    hook = json.loads((project.path / "hook.json").read_text())
    assert set(hook["types"]) == {"list"}
    assert hook["first"][0] in texts
