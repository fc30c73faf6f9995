"""The tracking plugin's options: off changes nothing, bad values are usage errors."""

from __future__ import annotations

import pytest

_EVAL_TEST = """
import pytest

@pytest.mark.ragops_eval
def test_eval(ragops):
    ragops.record("What is the port?", "The port is 5432.", ["The port is 5432."], cost_usd=0.0)

def test_registered(request):
    print("MLFLOW-PLUGIN", request.config.pluginmanager.has_plugin("ragops-mlflow"))
"""


def test_without_evals_nothing_is_registered_or_written(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x=_EVAL_TEST)
    result = pytester.runpytest("-s", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, skipped=1)
    result.stdout.fnmatch_lines(["*MLFLOW-PLUGIN False*"])
    assert not (pytester.path / ".ragops").exists()
    assert "mlflow" not in result.stdout.str().replace("MLFLOW-PLUGIN", "")


def test_logging_off_registers_nothing(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x=_EVAL_TEST)
    result = pytester.runpytest("-s", "-p", "no:cacheprovider", "--ragops-eval",
                                "--ragops-mlflow=off")  # fmt: skip
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*MLFLOW-PLUGIN False*"])
    assert not (pytester.path / ".ragops" / "mlflow.db").exists()


def test_pyproject_keys_are_read_and_checked(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x=_EVAL_TEST)
    pytester.makepyprojecttoml("[tool.ragops]\nmlflow = 'off'\nmlflow_traces = 'sometimes'\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "--ragops-eval")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: ragops: [[]tool.ragops[]] mlflow_traces: must be on or off, got 'sometimes'"]
    )


def test_bad_traces_switch_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_x=_EVAL_TEST)
    result = pytester.runpytest("--ragops-eval", "--ragops-mlflow-traces=maybe")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: ragops: --ragops-mlflow-traces: must be on or off, got 'maybe'"]
    )
