"""The corpus flow end to end with real git, real DVC and a local remote (no network).

v1 -> v2 -> restore v1 in a fresh clone (``examples/dvc_restore_demo.py``), the ingest pipeline of
``examples/dvc.yaml`` under ``dvc repro``, and the one-line errors of the real ``ragops`` process.
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pytest_ragops.corpus import read_dvc_file, read_dvc_lock, read_version, report_fields

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"


def _load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "dvc_restore_demo", EXAMPLES / "dvc_restore_demo.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


demo = _load_demo()


def _dvc_computed_md5(project: Path, dvc_file: str) -> str:
    """The md5 DVC itself computes for the workspace copy of what ``dvc_file`` tracks."""
    from dvc.repo import Repo

    with Repo(str(project)) as repo:
        (stage,) = repo.stage.load_file(str(project / dvc_file))
        value: str = stage.outs[0].get_hash().value
    return value


def test_restore_demo_brings_back_v1_byte_for_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(tmp_path) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split(":")[0] for line in out] == [
        "corpus v1",
        "corpus v2",
        "restored corpus v1 in a fresh clone",
    ]
    project, clone = tmp_path / "project", tmp_path / "clone"
    v1, v2 = demo.corpus_versions()
    assert v1 != v2
    assert demo.read_corpus(clone / "corpus") == v1  # every file's bytes, and no other file
    assert demo.read_corpus(project / "corpus") == v2

    # The version the plugin records is what dvc wrote and what dvc computes from the files.
    restored = report_fields(clone)
    recorded = read_dvc_file(clone / "corpus.dvc", clone)
    assert restored == {
        "corpus_version": recorded.md5,
        "corpus_dirty": False,
        "corpus_path": "corpus",
        "corpus_files": len(v1),
        "corpus_size": sum(len(data) for data in v1.values()),
    }
    assert restored["corpus_version"] == _dvc_computed_md5(clone, "corpus.dvc")
    assert restored["corpus_version"] in out[0]
    current = report_fields(project)
    assert current["corpus_version"] == _dvc_computed_md5(project, "corpus.dvc")
    assert current["corpus_version"] != restored["corpus_version"]
    assert current["corpus_version"] in out[1]
    # The md5 is the key of the directory manifest in DVC's cache, so it can be looked up as is.
    md5 = recorded.md5
    assert (clone / ".dvc" / "cache" / "files" / "md5" / md5[:2] / md5[2:]).is_file()


def test_restore_demo_refuses_a_used_workdir(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "clone").mkdir()
    assert demo.main(tmp_path) == 2
    assert capsys.readouterr().err == (
        f"dvc_restore_demo: error: {tmp_path.resolve()} already holds clone\n"
    )


def _pipeline_project(root: Path) -> Path:
    """A DVC project holding the example corpus, the ingest code and ``examples/dvc.yaml``."""
    root.mkdir()
    shutil.copytree(EXAMPLES / "corpus", root / "corpus")
    shutil.copytree(
        EXAMPLES / "ragapp", root / "ragapp", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(EXAMPLES / "dvc.yaml", root / "dvc.yaml")
    demo.run(root, "dvc", "init", "--no-scm", "-q")
    demo.run(root, "dvc", "config", "core.analytics", "false")
    demo.run(root, "dvc", "add", "-q", "corpus")
    return root


def test_repro_reruns_ingest_only_when_the_corpus_changed(tmp_path: Path) -> None:
    project = _pipeline_project(tmp_path / "project")
    index = project / "index" / "index.json"

    first = demo.run(project, "dvc", "repro")
    assert "Running stage 'ingest'" in first
    built = index.read_bytes()
    # dvc.lock records the corpus version the index was built from: the one corpus.dvc holds.
    lock = read_dvc_lock(project / "dvc.lock", project)
    assert (lock.path, lock.stage) == ("corpus", "ingest")
    assert lock.md5 == read_dvc_file(project / "corpus.dvc", project).md5
    assert report_fields(project, "dvc.lock")["corpus_dirty"] is False

    again = demo.run(project, "dvc", "repro")
    assert "Stage 'ingest' didn't change, skipping" in again
    assert "Running stage" not in again
    assert demo.run(project, "dvc", "status").strip() == "Data and pipelines are up to date."

    # Same bytes rewritten (new mtime): DVC compares content, so nothing reruns.
    doc = sorted((project / "corpus").glob("*.md"))[0]
    doc.write_bytes(doc.read_bytes())
    assert "Running stage" not in demo.run(project, "dvc", "repro")

    doc.write_bytes(doc.read_bytes() + b"\nNew paragraph added for corpus v2.\n")
    assert report_fields(project)["corpus_dirty"] is True
    assert report_fields(project, "dvc.lock")["corpus_dirty"] is True
    assert "changed deps" in demo.run(project, "dvc", "status")

    rerun = demo.run(project, "dvc", "repro")
    assert "Running stage 'ingest'" in rerun
    assert index.read_bytes() != built
    # repro records the changed corpus in corpus.dvc and dvc.lock alike.
    new = read_version(project)
    assert new is not None
    assert new.md5 != lock.md5
    assert new.md5 == read_dvc_lock(project / "dvc.lock", project).md5
    assert new.md5 == _dvc_computed_md5(project, "corpus.dvc")
    assert report_fields(project)["corpus_dirty"] is False


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "ragops: error: corpus.dvc: file not found"),
        ("outs: [\n", "ragops: error: corpus.dvc: invalid YAML at line 2: expected the node "
         "content, but found '<stream end>'"),
        ("outs:\n- path: corpus\n", "ragops: error: corpus.dvc: outs[0].md5: missing: DVC has "
         "not recorded a version (run dvc add or dvc repro)"),
    ],
    ids=["missing", "invalid-yaml", "md5-missing"],
)  # fmt: skip
def test_the_ragops_process_prints_one_line_not_a_traceback(
    tmp_path: Path, content: str | None, message: str
) -> None:
    (tmp_path / ".dvc").mkdir()
    (tmp_path / "pyproject.toml").write_text('[tool.ragops]\ncorpus = "corpus.dvc"\n')
    if content is not None:
        (tmp_path / "corpus.dvc").write_text(content)
    proc = subprocess.run(
        [sys.executable, "-m", "pytest_ragops.cli", "corpus", "status"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (proc.returncode, proc.stdout, proc.stderr) == (2, "", message + "\n")
