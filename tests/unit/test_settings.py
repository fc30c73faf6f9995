from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from pytest_ragops.errors import RagopsUsageError
from pytest_ragops.settings import JUDGES, Settings, load_pyproject, settings_from_config

# -- load_pyproject ----------------------------------------------------------------------


def _toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "pyproject.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_missing_pyproject_is_empty(tmp_path: Path) -> None:
    assert load_pyproject(tmp_path / "pyproject.toml") == {}


def test_pyproject_without_table_is_empty(tmp_path: Path) -> None:
    assert load_pyproject(_toml(tmp_path, '[project]\nname = "x"\n')) == {}


def test_pyproject_table_is_returned(tmp_path: Path) -> None:
    path = _toml(
        tmp_path,
        """
[tool.ragops]
judge = "offline"
concurrency = 4
eval = true
report = "out/r.json"

[tool.ragops.thresholds]
faithfulness = 0.8
latency_p95_s = 2
""",
    )
    assert load_pyproject(path) == {
        "judge": "offline",
        "concurrency": 4,
        "eval": True,
        "report": "out/r.json",
        "thresholds": {"faithfulness": 0.8, "latency_p95_s": 2},
    }


def test_invalid_toml_names_file(tmp_path: Path) -> None:
    path = _toml(tmp_path, "[tool.ragops\n")
    with pytest.raises(RagopsUsageError) as info:
        load_pyproject(path)
    assert info.value.path == str(path)
    assert str(info.value).startswith(f"{path}: invalid TOML: ")
    assert "\n" not in str(info.value)


def test_non_table_names_field(tmp_path: Path) -> None:
    path = _toml(tmp_path, "[tool]\nragops = 3\n")
    with pytest.raises(RagopsUsageError) as info:
        load_pyproject(path)
    assert str(info.value) == f"{path}: tool.ragops: must be a table"


def test_unknown_key_names_it(tmp_path: Path) -> None:
    path = _toml(tmp_path, "[tool.ragops]\nthreshold = 1\nzzz = 2\n")
    with pytest.raises(RagopsUsageError) as info:
        load_pyproject(path)
    assert str(info.value) == (
        f"{path}: tool.ragops: unknown key 'threshold' (known: baseline, budget, cache, "
        "cache_dir, concurrency, corpus, eval, experiment, judge, judge_model, judge_repeats, "
        "markdown, metrics, mlflow, mlflow_traces, prices, report, thresholds)"
    )


# -- Settings ----------------------------------------------------------------------------


def test_settings_defaults_and_frozen() -> None:
    s = Settings()
    assert (s.eval, s.judge, s.concurrency, s.thresholds) == (False, "auto", 8, ())
    assert s.report == Path(".ragops/report.json")
    assert s.markdown == Path(".ragops/report.md")
    assert s.baseline is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        s.judge = "x"  # type: ignore[misc]


@pytest.mark.parametrize(("judge", "resolved"), [("auto", "offline"), ("offline", "offline")])
def test_resolved_judge(judge: str, resolved: str) -> None:
    assert judge in JUDGES
    assert Settings(judge=judge).resolved_judge() == resolved


# -- settings_from_config ----------------------------------------------------------------


def _settings(pytester: pytest.Pytester, *args: str) -> Settings:
    return settings_from_config(pytester.parseconfig(*args))


def _usage_error(pytester: pytest.Pytester, *args: str) -> str:
    with pytest.raises(RagopsUsageError) as info:
        _settings(pytester, *args)
    return str(info.value)


def test_defaults_without_pyproject(pytester: pytest.Pytester) -> None:
    s = _settings(pytester)
    root = pytester.path
    assert s == Settings(
        eval=False,
        judge="auto",
        concurrency=8,
        thresholds=(),
        report=root / ".ragops/report.json",
        markdown=root / ".ragops/report.md",
        baseline=None,
        corpus=None,
        root=root,
        pyproject=root / "pyproject.toml",
        judge_options=s.judge_options,
    )
    assert s.judge_options is not None
    assert s.judge_options.cache_dir == root / ".ragops/cache"


def test_pyproject_values(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
[tool.ragops]
eval = true
judge = "offline"
concurrency = 3
report = "out/report.json"
markdown = "/abs/report.md"
baseline = "base/report.json"
corpus = "data/corpus.dvc"

[tool.ragops.thresholds]
faithfulness = 0.8
cost_per_query_usd = "0.01"
"""
    )
    s = _settings(pytester)
    root = pytester.path
    assert s.eval is True
    assert s.judge == "offline"
    assert s.concurrency == 3
    assert [(g.key, g.bound) for g in s.thresholds] == [
        ("faithfulness", 0.8),
        ("cost_per_query_usd", 0.01),
    ]
    assert s.report == root / "out/report.json"
    assert s.markdown == Path("/abs/report.md")
    assert s.baseline == root / "base/report.json"
    assert s.corpus == "data/corpus.dvc"
    assert s.root == root


def test_command_line_wins(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml(
        """
[tool.ragops]
judge = "offline"
concurrency = 3
report = "from-pyproject.json"

[tool.ragops.thresholds]
faithfulness = 0.8
latency_p95_s = 2
"""
    )
    sub = pytester.mkdir("sub")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(sub)  # command-line paths resolve against the cwd, pyproject ones its dir
        s = _settings(
            pytester,
            f"--rootdir={pytester.path}",
            "--ragops-eval",
            "--ragops-judge=auto",
            "--ragops-concurrency=5",
            "--ragops-threshold=faithfulness=0.9",
            "--ragops-threshold=cost_usd=0.02",
            "--ragops-report=cli.json",
            "--ragops-baseline=base.json",
        )
    assert s.eval is True
    assert s.judge == "auto"
    assert s.concurrency == 5
    assert {g.key: g.bound for g in s.thresholds} == {
        "faithfulness": 0.9,
        "latency_p95_s": 2.0,
        "cost_usd": 0.02,
    }
    assert s.report == sub / "cli.json"
    assert s.baseline == sub / "base.json"
    assert s.markdown == pytester.path / ".ragops/report.md"


def test_eval_false_in_pyproject(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.ragops]\neval = false\n")
    assert _settings(pytester).eval is False
    assert _settings(pytester, "--ragops-eval").eval is True


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--ragops-judge=gpt",), "--ragops-judge: judge: unknown judge 'gpt'"),
        (("--ragops-concurrency=0",), "--ragops-concurrency: concurrency: must be a whole"),
        (("--ragops-concurrency=x",), "--ragops-concurrency: concurrency: must be a whole"),
        (("--ragops-concurrency=2.5",), "--ragops-concurrency: concurrency: must be a whole"),
        (("--ragops-threshold=nope=1",), "--ragops-threshold: nope: unknown gate metric 'nope'"),
        (("--ragops-threshold=faithfulness",), "--ragops-threshold: expected METRIC=VALUE"),
        (
            ("--ragops-threshold=faithfulness=2",),
            "--ragops-threshold: faithfulness: bound must be in [0, 1], got '2'",
        ),
    ],
)
def test_bad_command_line(pytester: pytest.Pytester, args: tuple[str, ...], expected: str) -> None:
    assert _usage_error(pytester, *args).startswith(expected)


@pytest.mark.parametrize(
    ("table", "expected"),
    [
        ('judge = "gpt"', "judge: unknown judge 'gpt' (choose from auto, offline, anthropic"),
        ("concurrency = 0", "concurrency: must be a whole number >= 1, got 0"),
        ("concurrency = 2.0", "concurrency: must be a whole number >= 1, got 2.0"),
        ("concurrency = true", "concurrency: must be a whole number >= 1, got True"),
        ('concurrency = "many"', "concurrency: must be a whole number >= 1, got 'many'"),
        ("thresholds = 0.8", "thresholds: must be a table of METRIC = VALUE"),
        ("thresholds = {faithfulness = 1.5}", "thresholds: faithfulness: bound must be in [0, 1]"),
        ("thresholds = {accuracy = 0.5}", "thresholds: accuracy: unknown gate metric 'accuracy'"),
        ("report = 3", "report: must be a path string, got 3"),
        ('markdown = ""', "markdown: must be a path string, got ''"),
        ("corpus = [1]", "corpus: must be a path string, got [1]"),
        ("colour = 1", "tool.ragops: unknown key 'colour'"),
    ],
)
def test_bad_pyproject(pytester: pytest.Pytester, table: str, expected: str) -> None:
    path = pytester.makepyprojecttoml(f"[tool.ragops]\n{table}\n")
    assert _usage_error(pytester).startswith(f"{path}: {expected}")


def test_concurrency_string_in_pyproject(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml('[tool.ragops]\nconcurrency = "4"\n')
    assert _settings(pytester).concurrency == 4


def test_plugin_turns_bad_settings_into_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.ragops]\nconcurrency = 0\n")
    with pytest.raises(pytest.UsageError, match=r"^ragops: .*pyproject.toml: concurrency: must"):
        pytester.parseconfigure("--ragops-eval")


def test_bad_settings_exit_4(pytester: pytest.Pytester) -> None:
    pytester.makepyprojecttoml("[tool.ragops]\neval = true\njudge = 'nobody'\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*ragops: *pyproject.toml: judge: unknown judge 'nobody'*"])
