"""Issue 8 end to end: verdict follows pytest, hooks, reporting never crashes, xdist."""

from __future__ import annotations

import json
import os
import stat

import pytest

pytest_plugins = ["pytester"]

CASES = """\
cases:
  - id: capital
    question: What is the capital of France?
    reference: Paris is the capital of France.
  - id: river
    question: Which river flows through Paris?
    reference: The Seine flows through Paris.
"""

EVAL = """\
import pytest
from pytest_ragops import load_cases

DOCS = {"capital": "Paris is the capital of France.", "river": "The Seine flows through Paris."}

def grounded(case):
    return {"answer": DOCS[case.id], "contexts": [DOCS[case.id]], "cost_usd": 0.001}

@pytest.mark.ragops_eval
def test_suite(ragops):
    ragops.evaluate(grounded, load_cases("cases.yaml"))
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makefile(".yaml", cases=CASES)
    pytester.makepyfile(test_eval=EVAL)
    return pytester


def _report(p: pytest.Pytester) -> dict[str, object]:
    data: dict[str, object] = json.loads((p.path / ".ragops" / "report.json").read_text())
    return data


def test_a_failed_test_makes_the_verdict_fail(project: pytest.Pytester) -> None:
    project.makepyfile(test_other="def test_broken():\n    assert False\n")
    result = project.runpytest("--ragops-eval", "--ragops-threshold", "faithfulness=0.5")
    result.assert_outcomes(passed=1, failed=1)
    report = _report(project)
    summary = report["summary"]
    assert isinstance(summary, dict)
    assert summary["gates_failed"] == 0
    assert summary["passed"] is False
    assert "1 tests failed" in summary["failures"]
    run = report["run"]
    assert isinstance(run, dict)
    assert run["pytest_exitstatus"] == 1
    assert run["pytest_outcomes"] == {"failed": 1, "passed": 1}
    md = (project.path / ".ragops" / "report.md").read_text()
    assert "### ❌" in md
    result.stdout.fnmatch_lines(["*ragops verdict: FAILED: 1 tests failed*"])


def test_green_run_is_green(project: pytest.Pytester) -> None:
    result = project.runpytest("--ragops-eval", "--ragops-threshold", "faithfulness=0.5")
    assert result.ret == 0
    summary = _report(project)["summary"]
    assert isinstance(summary, dict)
    assert summary["passed"] is True
    assert "### ✅" in (project.path / ".ragops" / "report.md").read_text()


def test_unwritable_report_path_is_a_usage_error(project: pytest.Pytester) -> None:
    (project.path / "blocker").write_text("a file, not a directory")
    result = project.runpytest("--ragops-eval", "--ragops-report", "blocker/report.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ragops: *blocker/report.json: --ragops-report: cannot write*"])


def test_a_write_failure_after_the_tests_is_one_warning_and_fails(
    project: pytest.Pytester,
) -> None:
    project.makeconftest(
        """
        import shutil

        def pytest_runtest_teardown(item):
            # The report directory turns into a file while the tests run.
            shutil.rmtree(".ragops", ignore_errors=True)
            open(".ragops", "w").close()
        """
    )
    result = project.runpytest("--ragops-eval")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*WARNING ragops: could not write*report.json*"])
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()


def test_reports_keep_ordinary_permissions(project: pytest.Pytester) -> None:
    old = os.umask(0o022)
    try:
        project.runpytest("--ragops-eval")
    finally:
        os.umask(old)
    for name in ("report.json", "report.md"):
        mode = stat.S_IMODE((project.path / ".ragops" / name).stat().st_mode)
        assert mode == 0o644, (name, oct(mode))


JUDGE_PLUGIN = """
from pytest_ragops import Score

class HalfJudge:
    name = "half"
    async def ascore(self, sample, metrics):
        return [Score(m, 0.5, "third-party:half") for m in metrics]
    async def aclose(self):
        with open("closed.txt", "w") as fh:
            fh.write("closed")

def pytest_ragops_make_judge(settings):
    return HalfJudge()

def pytest_ragops_session_finish(report, exitstatus):
    with open("finished.json", "w") as fh:
        import json
        json.dump({"passed": report["summary"]["passed"], "exitstatus": exitstatus,
                   "judges": report["judges"]}, fh)
"""


@pytest.mark.parametrize("xdist", [False, True])
def test_third_party_judge_and_report_reader(project: pytest.Pytester, xdist: bool) -> None:
    project.makeconftest(JUDGE_PLUGIN)
    args = ["--ragops-eval", "--ragops-threshold", "faithfulness=0.4"]
    result = project.runpytest(*args, *(["-n", "2"] if xdist else []))
    assert result.ret == 0, result.stdout.str()
    finished = json.loads((project.path / "finished.json").read_text())
    assert finished == {"passed": True, "exitstatus": 0, "judges": ["third-party:half"]}
    assert (project.path / "closed.txt").read_text() == "closed"


def test_a_crashing_reader_fails_the_run_and_others_still_run(project: pytest.Pytester) -> None:
    project.makeconftest(JUDGE_PLUGIN)
    project.makepyfile(
        crasher="""
        def pytest_ragops_session_finish(report):
            raise RuntimeError("tracking server down")
        """
    )
    project.syspathinsert()
    result = project.runpytest("--ragops-eval", "-p", "crasher")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*WARNING ragops: pytest_ragops_session_finish of *failed: RuntimeError: tracking*"]
    )
    assert (project.path / "finished.json").exists()
    assert (project.path / ".ragops" / "report.json").exists()


def test_gate_keys_are_normalised(project: pytest.Pytester) -> None:
    project.makepyprojecttoml(
        """
        [tool.ragops.thresholds]
        faithfulness = 0.99
        """
    )
    result = project.runpytest("--ragops-eval", "--ragops-threshold", "faithfulness_mean=0.1")
    gates = _report(project)["gates"]
    assert isinstance(gates, list)
    suite = [g for g in gates if g["scope"] == "suite"]
    assert [(g["aggregate"], g["bound"]) for g in suite] == [("faithfulness_mean", 0.1)]
    assert result.ret == 0


def test_bad_marker_under_xdist_is_the_same_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.ragops_threshold(faithfullness=0.8)
        def test_x(ragops):
            pass
        """
    )
    plain = pytester.runpytest("--ragops-eval")
    assert plain.ret == pytest.ExitCode.USAGE_ERROR
    line = next(x for x in plain.stderr.lines if "unknown gate metric" in x)
    dist = pytester.runpytest("--ragops-eval", "-n", "2")
    assert dist.ret == pytest.ExitCode.USAGE_ERROR
    out = dist.stdout.str() + dist.stderr.str()
    assert "INTERNALERROR" not in out
    assert line.removeprefix("ERROR: ") in out


def test_bad_case_file_at_module_level_is_one_line_without_evals(
    pytester: pytest.Pytester,
) -> None:
    pytester.makefile(".yaml", cases="cases:\n  - id: 1\n")
    pytester.makepyfile(
        """
        from pytest_ragops import load_cases
        CASES = load_cases("cases.yaml")
        def test_x():
            pass
        """
    )
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.INTERRUPTED
    out = result.stdout.str()
    assert "ragops: " in out
    assert "Traceback" not in out
    assert "load_cases" not in out  # no source lines of a traceback


def test_rerunfailures_counts_only_the_last_attempt(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_flaky="""
        import pytest, os
        @pytest.mark.ragops_eval
        def test_flaky(ragops):
            first = not os.path.exists("attempted")
            open("attempted", "w").close()
            ragops.record("q?", "a.", ["a."], case_id="flaky", latency_s=9.0 if first else 0.1)
            assert not first
        """
    )
    result = project.runpytest("--ragops-eval", "--reruns", "1", "-p", "rerunfailures")
    outcomes = result.parseoutcomes()
    assert (outcomes.get("passed"), outcomes.get("rerun")) == (2, 1)
    records = _report(project)["records"]
    assert isinstance(records, list)
    flaky = [r for r in records if r["case_id"] == "flaky"]
    assert [r["latency_s"] for r in flaky] == [0.1]
    summary = _report(project)["summary"]
    assert isinstance(summary, dict)
    assert summary["passed"] is True


def test_bad_judge_name_is_a_usage_error(project: pytest.Pytester) -> None:
    result = project.runpytest("--ragops-eval", "--ragops-judge", "oracle")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown judge 'oracle'*"])


def test_nan_in_a_baseline_is_refused(project: pytest.Pytester) -> None:
    project.runpytest("--ragops-eval")
    report = (project.path / ".ragops" / "report.json").read_text()
    data = json.loads(report)
    bad = json.dumps(data).replace('"faithfulness_mean": 1.0', '"faithfulness_mean": NaN')
    assert "NaN" in bad
    (project.path / "base.json").write_text(bad)
    result = project.runpytest("--ragops-eval", "--ragops-baseline", "base.json")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*base.json*NaN*"])


def test_aevaluate_from_an_anyio_test(project: pytest.Pytester) -> None:
    project.makepyfile(
        test_async="""
        import pytest
        from pytest_ragops import load_cases

        async def pipeline(case):
            return {"answer": case.reference, "contexts": [case.reference], "cost_usd": 0.0}

        @pytest.mark.anyio
        @pytest.mark.ragops_eval
        async def test_async(ragops):
            result = await ragops.aevaluate(pipeline, load_cases("cases.yaml"))
            assert result.metrics["faithfulness_mean"] == 1.0

        @pytest.fixture
        def anyio_backend():
            return "asyncio"
        """
    )
    result = project.runpytest("--ragops-eval", "-p", "anyio", "test_async.py")
    result.assert_outcomes(passed=1)
