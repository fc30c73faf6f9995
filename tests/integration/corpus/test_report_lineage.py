"""Every eval report says which corpus it was measured on: real DVC, real pytest run."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.integration.corpus.test_dvc_flow import demo

EVAL_TEST = """\
def test_one(ragops):
    ragops.record("What is WAL?", "WAL is the write-ahead log.", ["WAL is the write-ahead log."],
                  cost_usd=0.0)
"""


def _eval(project: Path) -> dict[str, object]:
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--ragops-eval", "-p", "no:cacheprovider", "-q"],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=300,
        env=demo.tool_env(),
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report: dict[str, object] = json.loads((project / ".ragops" / "report.json").read_text())
    return report


def test_report_carries_corpus_version_and_dirty_state(tmp_path: Path) -> None:
    project = tmp_path / "app"
    demo.init_repo(project, tmp_path / "remote")
    demo.write_corpus(project / "corpus", {"a.md": b"WAL is the write-ahead log.\n"})
    md5 = demo.track_and_commit(project, "corpus v1", "v1")
    (project / "test_eval.py").write_text(EVAL_TEST)
    (project / "pyproject.toml").write_text('[tool.ragops]\ncorpus = "corpus.dvc"\n')

    run = _eval(project)["run"]
    assert isinstance(run, dict)
    assert run["corpus_version"] == md5
    assert run["corpus_dirty"] is False
    assert run["corpus_files"] == 1
    markdown = (project / ".ragops" / "report.md").read_text()
    assert f"Corpus `{md5}`." in markdown

    (project / "corpus" / "b.md").write_text("An edit nobody tracked.\n")
    run = _eval(project)["run"]
    assert isinstance(run, dict)
    assert run["corpus_version"] == md5
    assert run["corpus_dirty"] is True
    assert "(workspace differs: dirty)" in (project / ".ragops" / "report.md").read_text()
