"""The lab on a real MLflow server: SQLite and PostgreSQL backends, an outage, sync, compare."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.cli import main as ragops_main
from pytest_ragops.tracking.baseline import load_mlflow_baseline

if TYPE_CHECKING:
    from collections.abc import Callable

    MlflowServer = Any
    RunLab = Callable[..., tuple[int, str, dict[str, Any]]]

ROOT = Path(__file__).resolve().parents[3]
VARIANTS = ("baseline", "concise", "wide_context")
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
]


def _branch() -> str:
    out = subprocess.run(
        ["git", "rev-parse", "--abbrev-ref", "HEAD"], cwd=ROOT, capture_output=True, text=True
    )
    return out.stdout.strip() if out.stdout.strip() not in ("", "HEAD") else "lab-branch"


def assert_lab_logged(uri: str, report: dict[str, Any], experiment: str = "lab") -> None:
    """Everything the issue names, read back through MlflowClient."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
    exp = client.get_experiment_by_name(experiment)
    assert exp is not None
    sessions = client.search_runs([exp.experiment_id], "tags.`ragops.role` = 'session'")
    assert len(sessions) == 1
    session = sessions[0]
    assert session.data.tags["ragops.complete"] == "true"
    assert session.data.tags["ragops.gates_passed"] == str(report["summary"]["passed"]).lower()
    assert session.data.params["git_branch"] == _branch()
    assert len(session.data.params["git_commit"]) == 40
    assert session.data.params["variants"] == ",".join(VARIANTS)
    assert session.data.metrics["faithfulness_mean"] == pytest.approx(
        report["metrics"]["faithfulness_mean"]
    )
    logged = json.loads(_read_artifact(client, session.info.run_id, "ragops/report.json"))
    assert logged["records"] == report["records"]

    runs = client.search_runs([exp.experiment_id], "tags.`ragops.role` = 'variant'")
    by_name = {r.data.tags["ragops.variant"]: r for r in runs}
    assert sorted(by_name) == list(VARIANTS)
    for name, run in by_name.items():
        assert run.data.tags["mlflow.parentRunId"] == session.info.run_id
        params = run.data.params
        assert params["prompt_name"] == name
        assert len(params["prompt_version"]) == 12
        assert len(params["prompt_hash"]) == 64
        assert params["model"] == "offline:extractive"
        assert params["judge"] == "offline"
        assert params["cases"] == str(len({r["case_id"] for r in report["records"]}))
        assert params["concurrency"] == "8"
        assert {"corpus_version", "corpus_dirty", "git_dirty"} <= set(params)
        expected = report["variants"][name]["metrics"]
        for metric in ("faithfulness_mean", "cost_per_query_usd", "total_cost_usd"):
            assert run.data.metrics[metric] == pytest.approx(expected[metric]), (name, metric)
        assert run.data.metrics["judge_cost_usd"] == 0.0
        arts = {a.path for a in client.list_artifacts(run.info.run_id, "ragops")}
        assert "ragops/cases.json" in arts
        assert json.loads(run.data.tags["mlflow.loggedArtifacts"]) == [
            {"path": "ragops/cases.json", "type": "table"}
        ]
        prompt_text = _read_artifact(client, run.info.run_id, f"prompt/{name}.yaml")
        assert prompt_text == (ROOT / "prompts" / f"{name}.yaml").read_text(encoding="utf-8")
        # The prompt registry links the version to the run.
        uri_tag = run.data.tags["ragops.prompt_uri"]
        pv = client.load_prompt(uri_tag)
        assert pv.tags["ragops.hash"] == params["prompt_hash"]
        assert name in run.data.tags.get("mlflow.linkedPrompts", "")
        # One trace per case, one assessment per metric, sourced from the judge.
        traces = client.search_traces(locations=[exp.experiment_id], run_id=run.info.run_id)
        records = [r for r in report["records"] if r["variant"] == name]
        assert len(traces) == len(records)
        for trace in traces:
            feedback = {a.name: a for a in trace.info.assessments}
            assert set(feedback) == {
                "faithfulness", "answer_relevancy", "context_precision", "context_recall",
            }  # fmt: skip
            assert feedback["faithfulness"].source.source_type == "CODE"
            assert feedback["faithfulness"].source.source_id == "offline:claim-rules"
            assert isinstance(feedback["faithfulness"].value, float)
        # The spans went through the server's OTLP endpoint, in batches.
        full = client.get_trace(traces[0].info.trace_id)
        assert full.info.tags["mlflow.trace.spansLocation"] == "TRACKING_STORE"
        (span,) = full.data.spans
        case = next(r for r in records if r["case_id"] == full.info.tags["ragops.case_id"])
        assert span.inputs["question"] == case["question"]
        assert span.outputs["answer"] == case["answer"]


def _read_artifact(client: Any, run_id: str, path: str) -> str:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        local = client.download_artifacts(run_id, path, tmp)
        return Path(local).read_text(encoding="utf-8")


def assert_compare_names_baseline(uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert ragops_main(["compare", "--mlflow", uri, "--experiment", "lab", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["winner"] == "baseline"
    assert data["runner_up"] == "wide_context"
    sig = data["significance"]
    assert sig["significant"] is True
    assert sig["ci"][0] > 0
    assert sig["pairs"] >= 8
    by_variant = {r["variant"]: r for r in data["runs"]}
    assert by_variant["baseline"]["prompt"]["uri"].startswith("prompts:/baseline/")
    assert (
        by_variant["concise"]["metrics"]["cost_per_query_usd"]
        < (by_variant["baseline"]["metrics"]["cost_per_query_usd"])
    )
    # A budget below the baseline's cost per query hands the win to the cheap variant.
    budget = str(by_variant["concise"]["metrics"]["cost_per_query_usd"] * 1.01)
    assert ragops_main(["compare", "--mlflow", uri, "--experiment", "lab", "--budget", budget]) == 0
    out = capsys.readouterr().out
    assert "winner: concise by highest faithfulness_mean" in out
    assert "excluded baseline: cost_per_query_usd" in out


def test_lab_on_a_sqlite_backed_server(
    sqlite_server: MlflowServer, lab_cases: Path, tmp_path: Path, run_lab: RunLab,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    code, out, report = run_lab(tmp_path, sqlite_server.url, lab_cases)
    assert code == 0, out
    assert "ragops mlflow: logged run " in out
    assert_lab_logged(sqlite_server.url, report)
    assert_compare_names_baseline(sqlite_server.url, capsys)
    baseline = load_mlflow_baseline(f"mlflow:branch={_branch()}", sqlite_server.url, "lab")
    assert baseline["records"] == report["records"]


def test_lab_on_a_postgres_backed_server_with_proxied_artifacts(
    postgres_server: MlflowServer, lab_cases: Path, tmp_path: Path, run_lab: RunLab,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    code, out, report = run_lab(tmp_path, postgres_server.url, lab_cases)
    assert code == 0, out
    assert_lab_logged(postgres_server.url, report)
    assert_compare_names_baseline(postgres_server.url, capsys)


_STOP_SERVER = """
import os, signal, socket, time

def test_tracking_server_goes_down():
    os.killpg(int(os.environ["RAGOPS_TEST_SERVER_PGID"]), signal.SIGKILL)
    port = int(os.environ["RAGOPS_TEST_SERVER_PORT"])
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) != 0:
                return
        time.sleep(0.1)
    raise AssertionError("server still listening")
"""


def test_server_down_mid_session_loses_nothing_and_sync_uploads_once(
    sqlite_server: MlflowServer, lab_cases: Path, tmp_path: Path, run_lab: RunLab,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    stopper = tmp_path / "stopper" / "test_stop_server.py"
    stopper.parent.mkdir()
    stopper.write_text(_STOP_SERVER, encoding="utf-8")
    assert sqlite_server.proc is not None
    monkeypatch.setenv("RAGOPS_TEST_SERVER_PGID", str(sqlite_server.proc.pid))
    monkeypatch.setenv("RAGOPS_TEST_SERVER_PORT", str(sqlite_server.port))
    dead_url = sqlite_server.url
    code, out, report = run_lab(tmp_path, dead_url, lab_cases, str(stopper))

    assert code == 0, out  # the gates decide, not the tracking server
    assert report["summary"]["passed"] is True
    assert (tmp_path / "out" / "report.md").exists()
    warnings = [line for line in out.splitlines() if "ragops mlflow: NOT logged" in line]
    assert len(warnings) == 1, out
    spool = tmp_path / "out" / "spool"
    spooled = list(spool.glob("*.json"))
    assert len(spooled) == 1
    assert warnings[0].startswith(f"ragops mlflow: NOT logged to {dead_url} (")
    assert warnings[0].endswith(
        f"session run with 3 variant runs, {len(report['records'])} traces; spooled to "
        f"{spooled[0]}, upload later with `ragops sync`"
    )

    sqlite_server.stop()
    sqlite_server.start()  # the same store, back up on a new port
    capsys.readouterr()
    assert ragops_main(["sync", "--spool", str(spool), "--mlflow", sqlite_server.url]) == 0
    assert "1 of 1 spooled runs in the store" in capsys.readouterr().out
    assert not spooled[0].exists()
    assert_lab_logged(sqlite_server.url, report)
    assert ragops_main(["sync", "--spool", str(spool), "--mlflow", sqlite_server.url]) == 0
    assert capsys.readouterr().out == f"nothing to sync in {spool}\n"
    assert_lab_logged(sqlite_server.url, report)  # still exactly one session run


def test_runs_nest_under_the_mlflow_pytest_plugin_session_run(
    migrated_sqlite: Path, tmp_path: Path
) -> None:
    import shutil
    import sys

    from mlflow import MlflowClient

    db = tmp_path / "mlflow.db"
    shutil.copyfile(migrated_sqlite, db)
    uri = f"sqlite:///{db}"
    (tmp_path / "pyproject.toml").write_text("[tool.ragops]\njudge = 'offline'\n")
    (tmp_path / "test_both.py").write_text(
        "import mlflow\nimport pytest\n\n\n"
        "@mlflow.test\ndef test_mlflow_side():\n    assert mlflow.active_run() is not None\n\n\n"
        "@pytest.mark.ragops_eval\ndef test_eval(ragops):\n"
        "    ragops.record('What is the default port?', 'The default port is 5432.',\n"
        "                  ['PostgreSQL listens on port 5432 by default.'], case_id='port',\n"
        "                  variant='v1', cost_usd=0.0)\n",
        encoding="utf-8",
    )
    env = {**os.environ, "MLFLOW_TRACKING_URI": uri, "MLFLOW_EXPERIMENT_NAME": "both",
           "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
    env.pop("RAGOPS_MLFLOW", None)  # the defaults under test: MLflow's own store
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "mlflow.pytest.plugin", "--ragops-eval",
         "--ragops-mlflow-traces=off", "-p", "no:cacheprovider", "-q", "test_both.py"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    client = MlflowClient(tracking_uri=uri)
    exp = client.get_experiment_by_name("both")
    assert exp is not None
    runs = client.search_runs([exp.experiment_id])
    outer = [r for r in runs if "mlflow.test.session_id" in r.data.tags]
    assert len(outer) == 1
    session = [r for r in runs if r.data.tags.get("ragops.role") == "session"]
    assert len(session) == 1
    assert session[0].data.tags["mlflow.parentRunId"] == outer[0].info.run_id
    variant = [r for r in runs if r.data.tags.get("ragops.role") == "variant"]
    assert [v.data.tags["mlflow.parentRunId"] for v in variant] == [session[0].info.run_id]
