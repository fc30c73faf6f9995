"""End-to-end behaviour of the plugin through real pytest runs (pytester)."""

from __future__ import annotations

import json
import re

import pytest

pytest_plugins = ["pytester"]

CASES = """\
cases:
  - id: capital
    question: What is the capital of France?
    reference: Paris is the capital of France.
    reference_contexts: [Paris is the capital of France.]
  - id: river
    question: Which river flows through Paris?
    reference: The Seine flows through Paris.
    reference_contexts: [The Seine flows through Paris.]
"""

EVAL_TESTS = """\
import pytest
from pytest_ragops import load_cases

DOCS = {
    "capital": "Paris is the capital of France.",
    "river": "The Seine flows through Paris.",
}

def grounded(case):
    return {"answer": DOCS[case.id], "contexts": [DOCS[case.id]], "cost_usd": 0.002}

@pytest.mark.ragops_eval
def test_suite(ragops):
    result = ragops.evaluate(grounded, load_cases("cases.yaml"))
    assert result.metrics["faithfulness_mean"] == 1.0

def test_unit():
    assert True
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", cases=CASES)
    pytester.makepyfile(test_eval=EVAL_TESTS)
    return pytester


def test_eval_tests_are_skipped_with_reason_when_off(project: pytest.Pytester) -> None:
    result = project.runpytest("-rs")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*SKIPPED*ragops eval test: run with --ragops-eval*"])
    assert not (project.path / ".ragops").exists()


def test_fixture_user_without_marker_is_an_eval_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_uses(ragops):\n    raise AssertionError('must not run')\n")
    pytester.runpytest().assert_outcomes(skipped=1)


def test_markers_registered_under_strict_markers(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_marks="""
        import pytest
        @pytest.mark.ragops_threshold(faithfulness=0.5)
        @pytest.mark.ragops_eval
        def test_m(): pass
        """
    )
    result = project.runpytest("--strict-markers", "-W", "error")
    result.assert_outcomes(passed=1, skipped=2)


def test_disabled_with_p_no_ragops(project: pytest.Pytester) -> None:
    result = project.runpytest("-p", "no:ragops")
    # Without the plugin its fixture is unknown: proof that -p no:ragops removed it.
    result.stdout.fnmatch_lines(["*fixture 'ragops' not found*"])
    result.assert_outcomes(passed=1, errors=1)


def test_met_threshold_exits_0_and_writes_reports(project: pytest.Pytester) -> None:
    result = project.runpytest("--ragops-eval", "--ragops-threshold", "faithfulness=0.9")
    assert result.ret == 0
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["*= ragops =*", "faithfulness *1.000*", "*= ragops gates =*", "PASSED faithfulness_mean*"]
    )
    report = json.loads((project.path / ".ragops" / "report.json").read_text())
    assert report["version"] == 1
    assert report["summary"] == {
        "records": 2,
        "errors": 0,
        "gates": 1,
        "gates_failed": 0,
        "passed": True,
        "failures": [],
    }
    assert {r["case_id"] for r in report["records"]} == {"capital", "river"}
    assert all(
        s["judge"].startswith("offline:") for r in report["records"] for s in r["scores"].values()
    )
    md = (project.path / ".ragops" / "report.md").read_text()
    assert "✅ ragops: all 1 gates passed" in md


def test_threshold_above_score_exits_1_with_gates_section(project: pytest.Pytester) -> None:
    result = project.runpytest("--ragops-eval", "--ragops-threshold", "cost_per_query_usd=0.001")
    assert result.ret == 1
    result.assert_outcomes(passed=2)  # every test passed; the suite gate failed the run
    result.stdout.fnmatch_lines(
        [
            "*= ragops gates =*",
            "FAILED cost_per_query_usd: value 0.0020, bound <= 0.001 (0.002 is above 0.001)",
        ]
    )


def test_gate_on_missing_score_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_no_reference(ragops):
            ragops.record("What is the capital of France?", "Paris.", ["Paris is the capital."])
        """
    )
    result = pytester.runpytest("--ragops-eval", "--ragops-threshold", "context_recall=0.1")
    assert result.ret == 1
    # No reference: the metric does not apply, and a gate on it fails saying so (never a pass).
    result.stdout.fnmatch_lines(
        ["FAILED context_recall_mean*not applicable to any record: all 1 lacked a reference*"]
    )


def test_gate_with_no_records_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_plain(): pass")
    result = pytester.runpytest("--ragops-eval", "--ragops-threshold", "faithfulness=0.1")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAILED faithfulness_mean*(no records were scored)"])


def test_unknown_cost_fails_cost_gate(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_unpriced(ragops):
            ragops.record("q?", "a.", ["a."], model="some-unpriced-model",
                          usage={"input_tokens": 10, "output_tokens": 5})
        """
    )
    result = pytester.runpytest("--ragops-eval", "--ragops-threshold", "total_cost_usd=100")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["FAILED total_cost_usd*1 of 1 records have no cost*"])


def test_per_test_marker_gate_fails_that_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.ragops_threshold(faithfulness=0.9)
        def test_hallucinated(ragops):
            ragops.record("Capital of France?", "Berlin has 12 moons.", ["Paris is the capital."])

        @pytest.mark.ragops_threshold(faithfulness=0.9)
        def test_grounded(ragops):
            ragops.record("Capital of France?", "Paris is the capital.", ["Paris is the capital."])
        """
    )
    result = pytester.runpytest("--ragops-eval")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*ragops gate faithfulness_mean >= 0.9 failed: 0 is below 0.9*"])
    report = json.loads((pytester.path / ".ragops" / "report.json").read_text())
    scopes = {g["scope"]: g["passed"] for g in report["gates"]}
    assert scopes == {
        "test_per_test_marker_gate_fails_that_test.py::test_grounded": True,
        "test_per_test_marker_gate_fails_that_test.py::test_hallucinated": False,
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--ragops-threshold", "faithfullness=0.8"],
            "ERROR: ragops: --ragops-threshold: faithfullness: "
            "unknown gate metric 'faithfullness'*",
        ),
        (
            ["--ragops-threshold", "faithfulness"],
            "ERROR: ragops: --ragops-threshold: expected METRIC=VALUE, got 'faithfulness'",
        ),
        (
            ["--ragops-threshold", "faithfulness=1.5"],
            "ERROR: ragops: --ragops-threshold: faithfulness: "
            "bound must be in [[]0, 1[]], got '1.5'",
        ),
        (["--ragops-judge", "gpt"], "ERROR: ragops: --ragops-judge: judge: unknown judge 'gpt'*"),
        (
            ["--ragops-concurrency", "0"],
            "ERROR: ragops: --ragops-concurrency: concurrency: "
            "must be a whole number >= 1, got '0'",
        ),
        (["--ragops-baseline", "missing.json"], "ERROR: ragops: *missing.json: report not found"),
    ],
)
def test_bad_options_are_usage_errors(
    project: pytest.Pytester, args: list[str], message: str
) -> None:
    result = project.runpytest("--ragops-eval", *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_unknown_metric_in_pyproject_is_usage_error(project: pytest.Pytester) -> None:
    project.makepyprojecttoml("[tool.ragops.thresholds]\nfaithfulnes = 0.8\n")
    result = project.runpytest("--ragops-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: ragops: *pyproject.toml: thresholds: faithfulnes: unknown gate metric*"]
    )


def test_unknown_metric_in_marker_stops_before_any_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        RAN = []
        def test_first():
            RAN.append(1)
            raise AssertionError("ran")

        @pytest.mark.ragops_threshold(relevance=0.5)
        def test_gated(ragops):
            pass
        """
    )
    result = pytester.runpytest("--ragops-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: ragops: *test_gated: ragops_threshold: relevance: unknown gate metric*"]
    )
    result.stdout.fnmatch_lines(["*no tests ran*"])
    assert "AssertionError" not in result.stdout.str()


def test_bad_case_file_at_collection_is_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", cases="cases:\n  - id: a\n    question: ok?\n  - id: b\n")
    pytester.makepyfile(
        """
        from pytest_ragops import load_cases
        CASES = load_cases("cases.yaml")
        def test_x(ragops):
            pass
        """
    )
    result = pytester.runpytest("--ragops-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: ragops: cases.yaml: case 2: field 'question' is missing"])
    assert "Traceback" not in result.stdout.str() + result.stderr.str()


def test_bad_case_file_inside_a_test_is_one_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", cases="cases:\n  - id: a\n    question: [1]\n")
    pytester.makepyfile(
        """
        from pytest_ragops import load_cases
        def test_x(ragops):
            load_cases("cases.yaml")
        """
    )
    result = pytester.runpytest("--ragops-eval")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["ragops: cases.yaml: case 1: field 'question' must be a string, got list"]
    )
    assert "def test_x" not in result.stdout.str()


def test_pipeline_errors_are_recorded_and_fail_the_test(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", cases=CASES)
    pytester.makepyfile(
        """
        from pytest_ragops import load_cases
        def pipe(case):
            if case.id == "river":
                raise TimeoutError("upstream timed out")
            doc = "Paris is the capital of France."
            return {"answer": doc, "contexts": [doc]}
        def test_x(ragops):
            ragops.evaluate(pipe, load_cases("cases.yaml"))
        """
    )
    result = pytester.runpytest("--ragops-eval")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*1 of 2 pipeline calls failed; first: case 'river': TimeoutError: upstream timed out*"]
    )
    report = json.loads((pytester.path / ".ragops" / "report.json").read_text())
    assert [r["error"] for r in report["records"]] == [None, "TimeoutError: upstream timed out"]


def test_pyproject_options_and_command_line_precedence(project: pytest.Pytester) -> None:
    project.makepyprojecttoml(
        """
        [tool.ragops]
        report = "out/r.json"
        markdown = "out/r.md"
        [tool.ragops.thresholds]
        faithfulness = 0.99
        cost_per_query_usd = 0.001
        """
    )
    failed = project.runpytest("--ragops-eval")
    assert failed.ret == 1  # cost gate from pyproject
    assert (project.path / "out" / "r.json").exists()
    passed = project.runpytest("--ragops-eval", "--ragops-threshold", "cost_per_query_usd=0.01")
    assert passed.ret == 0


def test_eval_on_from_pyproject(project: pytest.Pytester) -> None:
    project.makepyprojecttoml("[tool.ragops]\neval = true\n")
    project.runpytest().assert_outcomes(passed=2)


def test_eval_on_from_rootdir_pyproject_beside_another_ini(project: pytest.Pytester) -> None:
    """The switch and the settings read the same pyproject.toml, whichever file pytest uses."""
    project.makeini("[pytest]\n")  # tox.ini becomes the inifile, pyproject.toml stays in rootdir
    project.makepyprojecttoml("[tool.ragops]\neval = true\nreport = 'out/r.json'\n")
    project.runpytest().assert_outcomes(passed=2)
    assert (project.path / "out" / "r.json").exists()


def test_baseline_adds_deltas_and_regressions(project: pytest.Pytester) -> None:
    assert project.runpytest("--ragops-eval").ret == 0
    baseline = project.path / "baseline.json"
    (project.path / ".ragops" / "report.json").rename(baseline)
    project.makepyfile(
        test_eval=EVAL_TESTS.replace(
            'return {"answer": DOCS[case.id]',
            'return {"answer": DOCS[case.id] if case.id == "capital" else "Lyon has 3 moons."',
        ).replace('assert result.metrics["faithfulness_mean"] == 1.0', "")
    )
    result = project.runpytest("--ragops-eval", "--ragops-baseline", str(baseline))
    assert result.ret == 0
    report = json.loads((project.path / ".ragops" / "report.json").read_text())
    assert report["baseline"]["deltas"]["faithfulness_mean"] == pytest.approx(-0.5)
    assert [r["case_id"] for r in report["baseline"]["regressed"]] == ["river"]
    md = (project.path / ".ragops" / "report.md").read_text()
    assert "Δ vs baseline" in md
    assert "1 cases regressed against the baseline" in md


def test_collect_only_writes_no_report(project: pytest.Pytester) -> None:
    result = project.runpytest(
        "--ragops-eval", "--collect-only", "--ragops-threshold", "faithfulness=0.5"
    )
    assert result.ret == 0
    assert not (project.path / ".ragops").exists()


def test_variants_and_async_pipeline(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", cases=CASES)
    pytester.makepyfile(
        """
        import asyncio
        from pytest_ragops import load_cases
        DOC = {"capital": "Paris is the capital of France.",
               "river": "The Seine flows through Paris."}
        async def pipe(case, variant):
            await asyncio.sleep(0.01)
            answer = DOC[case.id] if variant == "good" else "Mars has 40 volcanoes."
            return {"answer": answer, "contexts": [DOC[case.id]], "cost_usd": 0.0}
        def test_x(ragops):
            result = ragops.evaluate(pipe, load_cases("cases.yaml"), variants=["good", "bad"])
            assert [r.variant for r in result.records] == ["good", "bad", "good", "bad"]
            assert result.best_variant("faithfulness_mean") == "good"
            good, bad = result.variants["good"], result.variants["bad"]
            assert good["faithfulness_mean"] > bad["faithfulness_mean"]
        """
    )
    result = pytester.runpytest("--ragops-eval")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        ["variant bad: faithfulness=0.000*", "variant good: faithfulness=1.000*"]
    )


XDIST_TESTS = """\
import pytest

@pytest.mark.parametrize("i", range(6))
def test_case(ragops, i):
    answer = "Paris is the capital of France." if i % 2 == 0 else "Berlin has 12 moons."
    ragops.record("Capital of France?", answer, ["Paris is the capital of France."],
                  case_id=f"c{i}", cost_usd=0.0)
"""


@pytest.mark.parametrize(("bound", "code"), [("0.4", 0), ("0.6", 1)])
def test_xdist_gates_once_over_all_workers(
    pytester: pytest.Pytester, bound: str, code: int
) -> None:
    pytester.makepyfile(test_x=XDIST_TESTS)
    result = pytester.runpytest_subprocess(
        "--ragops-eval",
        "-n",
        "2",
        "--ragops-threshold",
        f"faithfulness={bound}",
        "-p",
        "no:cacheprovider",
    )
    assert result.ret == code
    report = json.loads((pytester.path / ".ragops" / "report.json").read_text())
    assert sorted(r["case_id"] for r in report["records"]) == [f"c{i}" for i in range(6)]
    assert report["metrics"]["faithfulness_mean"] == pytest.approx(0.5)
    # One gate line, computed by the controller: workers neither gate nor report.
    assert len(re.findall(r"(PASSED|FAILED) faithfulness_mean", result.stdout.str())) == 1


def test_xdist_crashed_worker_fails_the_run(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        test_x="""
        import os
        def test_ok(ragops):
            ragops.record("q?", "a.", ["a."], cost_usd=0.0)
        def test_crash(ragops):
            os._exit(3)
        """
    )
    result = pytester.runpytest_subprocess("--ragops-eval", "-n", "2", "-p", "no:cacheprovider")
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*FAILED worker gw* sent no ragops records*"])


def test_report_matches_the_published_schema(project: pytest.Pytester) -> None:
    import jsonschema

    from pytest_ragops.report.model import __file__ as model_file

    assert project.runpytest("--ragops-eval", "--ragops-threshold", "faithfulness=0.5").ret == 0
    schema_path = __import__("pathlib").Path(model_file).parent.parent / "report.schema.json"
    schema = json.loads(schema_path.read_text())
    report = json.loads((project.path / ".ragops" / "report.json").read_text())
    jsonschema.validate(report, schema)
    report["summary"]["records"] = -1
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(report, schema)


PROBE = """\
import json, os, socket, sys, threading

def test_probe():
    heavy = sorted(m for m in ("mlflow", "ragas", "anthropic", "sklearn", "dvc", "github", "scipy")
                   if m in sys.modules)
    # What each descriptor is (a file, a socket, a pipe), not its number: a third-party
    # plugin's thread may open its own descriptors in either order.
    fds = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        fds.append(target.split(":[")[0] if ":[" in target else "file")
    state = {"env": sorted(os.environ), "threads": sorted(t.name for t in threading.enumerate()),
             "heavy": heavy, "fds": sorted(fds)}
    with open(os.environ["PROBE_OUT"], "w") as fh:
        json.dump(state, fh)
"""


def test_installed_but_off_changes_nothing(pytester: pytest.Pytester) -> None:
    """No output lines, files, environment variables, threads, sockets or heavy imports."""
    pytester.makepyfile(test_probe=PROBE)
    runs: dict[str, tuple[list[str], list[str], dict[str, list[str]]]] = {}
    for name, extra in (("on", []), ("off", ["-p", "no:ragops"])):
        out = pytester.path.parent / f"probe-{name}.json"
        pytester._monkeypatch.setenv("PROBE_OUT", str(out))
        result = pytester.runpytest_subprocess("-p", "no:cacheprovider", *extra)
        assert result.ret == 0
        lines = [
            re.sub(r"\d+\.\d+s", "T", line)
            for line in result.stdout.lines
            if not line.startswith(("plugins:", "rootdir:"))
        ]
        files = sorted(p.name for p in pytester.path.iterdir() if "runpytest" not in p.name)
        runs[name] = (lines, files, json.loads(out.read_text()))
    assert runs["on"] == runs["off"]
    assert runs["on"][2]["heavy"] == []


def test_ops_fixtures_come_with_the_plugin(pytester: pytest.Pytester) -> None:
    """``ragops_drift`` and ``ragops_flags`` need no ``-p``: the entry point brings them."""
    pytester.makeini("[pytest]\nragops_drift_db = drift.db\n")
    pytester.makepyfile(
        """
        import pytest
        from datetime import datetime, timedelta, timezone
        from pytest_ragops.drift import RetrievalLog
        from pytest_ragops.flags import FeatureFlags, is_enabled

        NOW = datetime(2026, 11, 27, tzinfo=timezone.utc)

        def test_flags(ragops_flags):
            ragops_flags.set("new_prompt_v3", True)
            assert FeatureFlags({}).is_enabled("new_prompt_v3", "u1")

        @pytest.mark.ragops_drift(now=NOW)
        def test_drift(ragops_drift):
            with RetrievalLog(ragops_drift.db) as log:
                rows = [(f"q{i}", 0.8 if d > 7 else 0.3, "s", NOW - timedelta(days=d, hours=i % 5))
                        for d in range(1, 30) for i in range(10)]
                log.log_many(rows)
            ragops_drift.assert_no_drift()
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*query drift: status drift: recent mean*"])
