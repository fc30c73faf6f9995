"""``ragops corpus version`` and ``ragops corpus status``, run through ``main`` with real dvc."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_ragops.cli import main

MD5_DIR = "4d6063cacb0b9f0bfa8efd8ff7f7e358.dir"
DVC_FILE = f"outs:\n- md5: {MD5_DIR}\n  size: 5\n  nfiles: 2\n  hash: md5\n  path: corpus\n"


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``argv``, expect exit 2, and return the one stderr line."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    return err.rstrip("\n")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A DVC project as git sees it: ``.dvc/`` and ``corpus.dvc``, no data and no dvc run."""
    (tmp_path / ".dvc").mkdir()
    _write(tmp_path / "corpus.dvc", DVC_FILE)
    return tmp_path


@pytest.fixture(scope="module")
def dvc_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real DVC project (no git) with ``corpus/`` tracked by ``dvc add``; built once."""
    root = tmp_path_factory.mktemp("dvc-cli")
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    _write(root / "corpus" / "a.md", "alpha\n")
    for args in (("init", "--no-scm", "-q"), ("add", "-q", "corpus")):
        subprocess.run(
            [sys.executable, "-m", "dvc", *args],
            cwd=root,
            env=env,
            check=True,
            capture_output=True,
            timeout=120,
        )
    return root


@pytest.fixture
def dvc_project(dvc_template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "project"
    shutil.copytree(dvc_template, root)
    return root


def test_version_prints_md5_counts_and_source(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["corpus", "version", "--root", str(project)]) == 0
    assert capsys.readouterr().out == f"corpus: {MD5_DIR} (2 files, 5 bytes) from corpus.dvc\n"


def test_version_json(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["corpus", "version", "--root", str(project), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "corpus_version": MD5_DIR,
        "corpus_path": "corpus",
        "corpus_files": 2,
        "corpus_size": 5,
        "source": "corpus.dvc",
        "stage": None,
    }


def test_version_reads_the_path_set_in_pyproject(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = "0123456789abcdef0123456789abcdef.dir"
    _write(project / "data" / "docs.dvc", f"outs:\n- md5: {other}\n  path: docs\n")
    _write(project / "pyproject.toml", '[tool.ragops]\ncorpus = "data/docs"\n')
    assert main(["corpus", "version", "--root", str(project)]) == 0
    assert capsys.readouterr().out == f"data/docs: {other} from data/docs.dvc\n"
    # --path wins over pyproject
    assert main(["corpus", "version", "--root", str(project), "--path", "corpus.dvc"]) == 0
    assert capsys.readouterr().out.startswith(f"corpus: {MD5_DIR} ")


def test_version_from_dvc_lock_names_the_stage(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lock = (
        f"schema: '2.0'\nstages:\n  ingest:\n    deps:\n    - path: corpus\n      md5: {MD5_DIR}\n"
    )
    _write(tmp_path / "dvc.lock", lock)
    assert main(["corpus", "version", "--root", str(tmp_path), "--path", "dvc.lock"]) == 0
    assert capsys.readouterr().out == f"corpus: {MD5_DIR} from dvc.lock stage ingest\n"


def test_version_without_a_corpus_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _error(capsys, ["corpus", "version", "--root", str(tmp_path)]) == (
        f"ragops: error: {tmp_path}: no *.dvc file tracks a directory here; track the corpus "
        "with `dvc add`, or name it with --path or [tool.ragops] corpus"
    )


@pytest.mark.parametrize("action", ["version", "status"])
def test_corrupt_dvc_file_is_one_line_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], action: str
) -> None:
    _write(project / "corpus.dvc", "outs:\n- path: corpus\n  md5: 42\n")
    assert _error(capsys, ["corpus", action, "--root", str(project)]) == (
        "ragops: error: corpus.dvc: outs[0].md5: must be 32 hex digits, optionally followed by "
        ".dir, not 42"
    )


def test_missing_path_is_one_line_exit_2(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    line = _error(capsys, ["corpus", "version", "--root", str(project), "--path", "gone.dvc"])
    assert line == "ragops: error: gone.dvc: file not found"


def test_bad_pyproject_setting_is_one_line_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(project / "pyproject.toml", "[tool.ragops]\ncorpus = 3\n")
    line = _error(capsys, ["corpus", "version", "--root", str(project)])
    assert line == (
        f"ragops: error: {project / 'pyproject.toml'}: tool.ragops.corpus: "
        "must be a path string, not 3"
    )


def test_root_that_is_not_a_directory_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = _error(capsys, ["corpus", "status", "--root", str(tmp_path / "nowhere")])
    assert line == f"ragops: error: {tmp_path / 'nowhere'}: --root: not a directory"


def test_status_clean_is_exit_0(dvc_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    md5 = json.loads(_run_json(dvc_project, capsys, "version"))["corpus_version"]
    assert main(["corpus", "status", "--root", str(dvc_project)]) == 0
    assert capsys.readouterr().out == f"corpus: clean, matches {md5}\n"


def test_status_dirty_is_exit_1(dvc_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (dvc_project / "corpus" / "a.md").write_text("edited\n")
    assert main(["corpus", "status", "--root", str(dvc_project)]) == 1
    out = capsys.readouterr().out
    assert out.startswith("corpus: dirty (modified): the workspace differs from ")
    assert out.endswith(
        " in corpus.dvc; record it with `dvc add corpus` or restore it with `dvc checkout` "
        "(or `dvc pull`)\n"
    )


def test_status_json(dvc_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.rmtree(dvc_project / "corpus")
    assert main(["corpus", "status", "--root", str(dvc_project), "--json"]) == 1
    status = json.loads(capsys.readouterr().out)
    assert status["corpus_version"].endswith(".dir")
    del status["corpus_version"]
    assert status == {
        "corpus_path": "corpus",
        "source": "corpus.dvc",
        "stage": None,
        "dirty": True,
        "state": "deleted",
    }


def test_status_outside_a_dvc_repo_is_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _write(tmp_path / "corpus.dvc", DVC_FILE)
    line = _error(capsys, ["corpus", "status", "--root", str(tmp_path), "--path", "corpus.dvc"])
    assert line.startswith(
        "ragops: error: corpus.dvc: dvc cannot tell the status: you are not inside of a DVC "
        "repository"
    )


def test_help_describes_both_actions(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["corpus", "status", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "Exit 0 clean, 1 dirty" in out
    assert "--path P" in out


def _run_json(root: Path, capsys: pytest.CaptureFixture[str], action: str) -> str:
    assert main(["corpus", action, "--root", str(root), "--json"]) in (0, 1)
    return capsys.readouterr().out
