"""Reading the DVC corpus version, discovering it, and the dirty check with the real dvc package."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pytest_ragops.corpus import (
    find_dvc_files,
    read_dvc_file,
    read_dvc_lock,
    read_version,
    report_fields,
    workspace_status,
)
from pytest_ragops.errors import RagopsError

MD5_DIR = "4d6063cacb0b9f0bfa8efd8ff7f7e358.dir"
MD5_FILE = "0cc175b9c0f1b6a831c399e269772661"
DVC_FILE = f"outs:\n- md5: {MD5_DIR}\n  size: 5\n  nfiles: 2\n  hash: md5\n  path: corpus\n"
NONE_FIELDS = {
    "corpus_version": None,
    "corpus_dirty": None,
    "corpus_path": None,
    "corpus_files": None,
    "corpus_size": None,
}


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _dvc_env() -> dict[str, str]:
    return {**os.environ, "DVC_NO_ANALYTICS": "1"}


def _dvc(cwd: Path, *args: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "dvc", *args],
        cwd=cwd,
        env=_dvc_env(),
        check=True,
        timeout=120,
        capture_output=True,
    )


@pytest.fixture(scope="module")
def dvc_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A DVC project (no git) whose ``corpus/`` is tracked by ``corpus.dvc``; built once."""
    root = tmp_path_factory.mktemp("dvc-template")
    _dvc(root, "init", "--no-scm", "-q")
    _dvc(root, "config", "core.analytics", "false")
    _write(root / "corpus" / "a.md", "alpha\n")
    _write(root / "corpus" / "b.md", "beta\n")
    _dvc(root, "add", "-q", "corpus")
    return root


@pytest.fixture
def dvc_project(dvc_template: Path, tmp_path: Path) -> Path:
    """A private copy of the template, free to be changed."""
    root = tmp_path / "project"
    shutil.copytree(dvc_template, root)
    return root


# --- reading a .dvc file ---------------------------------------------------------------------


def test_read_dvc_file_keeps_md5_exactly_as_dvc_wrote_it(tmp_path: Path) -> None:
    version = read_dvc_file(_write(tmp_path / "corpus.dvc", DVC_FILE), tmp_path)
    assert (version.md5, version.path, version.nfiles, version.size) == (MD5_DIR, "corpus", 2, 5)
    assert (version.source, version.stage, version.is_dir) == ("corpus.dvc", None, True)


def test_paths_are_relative_to_the_root_not_the_dvc_file(tmp_path: Path) -> None:
    version = read_dvc_file(_write(tmp_path / "data" / "docs.dvc", DVC_FILE), tmp_path)
    assert (version.path, version.source) == ("data/corpus", "data/docs.dvc")


def test_a_directory_out_wins_over_a_file_out(tmp_path: Path) -> None:
    text = f"outs:\n- md5: {MD5_FILE}\n  path: notes.txt\n" + DVC_FILE.removeprefix("outs:\n")
    version = read_dvc_file(_write(tmp_path / "x.dvc", text), tmp_path)
    assert (version.path, version.md5) == ("corpus", MD5_DIR)


def test_dvc2_file_without_counts_reads_as_none(tmp_path: Path) -> None:
    version = read_dvc_file(_write(tmp_path / "c.dvc", f"outs:\n- md5: {MD5_DIR}\n  path: c\n"))
    assert (version.md5, version.nfiles, version.size) == (MD5_DIR, None, None)


BAD_MD5 = "must be 32 hex digits, optionally followed by .dir, not"
NOT_RECORDED = "missing: DVC has not recorded a version (run dvc add or dvc repro)"
NOT_A_MAPPING = "must be a YAML mapping with 'outs', not"
NOT_A_COUNT = "must be a non-negative integer, not"
YAML_EOF = "expected the node content, but found '<stream end>'"
MD5_OUT = f"outs:\n- md5: {MD5_DIR}\n  path: c\n"
CORRUPT_DVC_FILES = {
    "invalid-yaml": ("outs: [\n", f"invalid YAML at line 2: {YAML_EOF}"),
    "empty": ("", f"{NOT_A_MAPPING} empty"),
    "list": ("- a\n", f"{NOT_A_MAPPING} list"),
    "no-outs": (f"md5: {MD5_DIR}\n", "outs: missing: a .dvc file lists what it tracks under outs"),
    "empty-outs": ("outs: []\n", "outs: is empty: the .dvc file tracks nothing"),
    "outs-str": ("outs: corpus\n", "outs: must be a list, not str"),
    "out-str": ("outs: [corpus]\n", "outs[0]: must be a mapping, not str"),
    "md5-missing": ("outs:\n- path: corpus\n", f"outs[0].md5: {NOT_RECORDED}"),
    "md5-int": ("outs:\n- path: c\n  md5: 12\n", f"outs[0].md5: {BAD_MD5} 12"),
    "md5-list": ("outs:\n- path: c\n  md5: [a]\n", f"outs[0].md5: {BAD_MD5} ['a']"),
    "md5-short": ("outs:\n- path: c\n  md5: abc.dir\n", f"outs[0].md5: {BAD_MD5} 'abc.dir'"),
    "path-missing": (f"outs:\n- md5: {MD5_DIR}\n", "outs[0].path: missing or not a string"),
    "nfiles-str": (MD5_OUT + "  nfiles: many\n", f"outs[0].nfiles: {NOT_A_COUNT} 'many'"),
    "size-bool": (MD5_OUT + "  size: true\n", f"outs[0].size: {NOT_A_COUNT} True"),
}  # fmt: skip


@pytest.mark.parametrize(("text", "message"), CORRUPT_DVC_FILES.values(), ids=CORRUPT_DVC_FILES)
def test_corrupt_dvc_file_is_one_line_naming_file_and_field(
    tmp_path: Path, text: str, message: str
) -> None:
    _write(tmp_path / "corpus.dvc", text)
    with pytest.raises(RagopsError) as info:
        read_version(tmp_path, "corpus.dvc")
    assert str(info.value) == f"corpus.dvc: {message}"
    assert "\n" not in str(info.value)


def test_missing_dvc_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(RagopsError, match=r"^corpus\.dvc: file not found$"):
        read_version(tmp_path, "corpus.dvc")


def test_binary_dvc_file_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "corpus.dvc").write_bytes(b"\xff\xfe\x00outs")
    with pytest.raises(RagopsError, match=r"^corpus\.dvc: not UTF-8 text, so not a DVC file$"):
        read_version(tmp_path, "corpus.dvc")


# --- dvc.lock ---------------------------------------------------------------------------------

LOCK = f"""schema: '2.0'
stages:
  ingest:
    cmd: python -m ragapp.ingest corpus index/index.json
    deps:
    - path: corpus
      hash: md5
      md5: {MD5_DIR}
      size: 5
      nfiles: 2
    - path: ragapp/ingest.py
      hash: md5
      md5: {MD5_FILE}
      size: 10
    outs:
    - path: index/index.json
      hash: md5
      md5: {MD5_FILE}
      size: 99
"""


def test_dvc_lock_yields_the_directory_dep(tmp_path: Path) -> None:
    version = read_version(tmp_path, _write(tmp_path / "dvc.lock", LOCK).name)
    assert version is not None
    assert (version.md5, version.path, version.nfiles, version.size) == (MD5_DIR, "corpus", 2, 5)
    assert (version.source, version.stage) == ("dvc.lock", "ingest")


def test_a_tracked_directory_is_found_through_dvc_lock(tmp_path: Path) -> None:
    _write(tmp_path / "app" / "dvc.lock", LOCK)
    version = read_version(tmp_path, "app/corpus")
    assert version is not None
    assert (version.path, version.source, version.md5) == ("app/corpus", "app/dvc.lock", MD5_DIR)


def test_dvc_lock_paths_start_at_the_stage_wdir(tmp_path: Path) -> None:
    _write(tmp_path / "dvc.yaml", "stages:\n  ingest:\n    wdir: app\n    cmd: x\n")
    version = read_dvc_lock(_write(tmp_path / "dvc.lock", LOCK), tmp_path)
    assert version.path == "app/corpus"


def test_dvc_lock_prefers_the_stage_that_outputs_the_directory(tmp_path: Path) -> None:
    other = "0" * 32 + ".dir"
    text = LOCK + f"  fetch:\n    cmd: x\n    outs:\n    - path: corpus\n      md5: {other}\n"
    version = read_dvc_lock(_write(tmp_path / "dvc.lock", text), tmp_path)
    assert (version.md5, version.stage) == (other, "fetch")


CORRUPT_LOCKS = {
    "no-stages": ("schema: '2.0'\n", "stages: must be a YAML mapping with a 'stages' mapping"),
    "stage-int": ("stages:\n  ingest: 3\n", "stages.ingest: must be a mapping"),
    "md5-missing": (
        "stages:\n  ingest:\n    deps:\n    - path: corpus\n",
        f"stages.ingest.deps[0].md5: {NOT_RECORDED}",
    ),
    "no-directory": (
        f"stages:\n  s:\n    outs:\n    - path: f\n      md5: {MD5_FILE}\n",
        "stages: no stage records a directory",
    ),
    "invalid-yaml": (
        "stages: {a: b\n",
        "invalid YAML at line 2: expected ',' or '}', but got '<stream end>'",
    ),
}


@pytest.mark.parametrize(("text", "message"), CORRUPT_LOCKS.values(), ids=CORRUPT_LOCKS)
def test_corrupt_dvc_lock_is_one_line(tmp_path: Path, text: str, message: str) -> None:
    _write(tmp_path / "dvc.lock", text)
    with pytest.raises(RagopsError) as info:
        read_version(tmp_path, "dvc.lock")
    assert str(info.value) == f"dvc.lock: {message}"


# --- finding the corpus -----------------------------------------------------------------------


def test_no_dvc_project_gives_all_none_fields(tmp_path: Path) -> None:
    _write(tmp_path / "stray" / "corpus.dvc", DVC_FILE)  # no .dvc/ directory: not a DVC project
    assert report_fields(tmp_path) == NONE_FIELDS


def test_dvc_project_without_dvc_files_gives_all_none_fields(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    assert report_fields(tmp_path) == NONE_FIELDS


def test_discovery_skips_tool_dirs_file_outs_and_tracked_dirs(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    for skipped in (".venv", ".git", "node_modules", "corpus"):
        _write(tmp_path / skipped / "inner.dvc", DVC_FILE)
    _write(tmp_path / "a.dvc", f"outs:\n- md5: {MD5_FILE}\n  path: notes.txt\n")
    _write(tmp_path / "corpus.dvc", DVC_FILE)
    (tmp_path / "corpus").mkdir(exist_ok=True)
    assert [p.name for p in find_dvc_files(tmp_path)] == ["a.dvc", "corpus.dvc"]
    version = read_version(tmp_path)
    assert version is not None
    assert (version.source, version.md5) == ("corpus.dvc", MD5_DIR)


def test_several_directory_dvc_files_pick_the_first_sorted(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    _write(tmp_path / "zeta.dvc", DVC_FILE.replace("path: corpus", "path: zeta"))
    _write(tmp_path / "docs" / "alpha.dvc", DVC_FILE.replace("path: corpus", "path: alpha"))
    version = read_version(tmp_path)
    assert version is not None
    assert (version.source, version.path) == ("docs/alpha.dvc", "docs/alpha")


def test_a_corrupt_dvc_file_found_by_discovery_is_an_error(tmp_path: Path) -> None:
    (tmp_path / ".dvc").mkdir()
    _write(tmp_path / "corpus.dvc", "outs: 3\n")
    with pytest.raises(RagopsError, match=r"^corpus\.dvc: outs: must be a list, not int$"):
        report_fields(tmp_path)


def test_configured_directory_uses_its_dvc_file_even_before_pull(tmp_path: Path) -> None:
    _write(tmp_path / "corpus.dvc", DVC_FILE)  # corpus/ itself is absent, as in a fresh clone
    version = read_version(tmp_path, "corpus")
    assert version is not None
    assert version.md5 == MD5_DIR


@pytest.mark.parametrize(
    ("make_dir", "message"),
    [
        (False, "does not exist"),
        (True, "is not tracked by DVC"),
    ],
)
def test_configured_path_that_dvc_does_not_track(
    tmp_path: Path, make_dir: bool, message: str
) -> None:
    _write(tmp_path / "dvc.lock", LOCK)  # a lock that records other paths is not an error
    if make_dir:
        (tmp_path / "nope").mkdir()
    with pytest.raises(RagopsError) as info:
        read_version(tmp_path, "nope")
    hint = "name a .dvc file, a dvc.lock or a directory tracked by one"
    assert str(info.value) == f"nope: corpus: {message}: {hint}"


def test_no_dvc_project_does_not_import_dvc(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path; from pytest_ragops.corpus import report_fields; "
        f"report_fields(Path({str(tmp_path)!r})); "
        "print('dvc' in sys.modules, 'dvc.repo' in sys.modules)"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.split() == ["False", "False"]


# --- the dirty check, with real dvc -----------------------------------------------------------


def test_clean_corpus_reads_as_dvc_recorded_it(dvc_project: Path) -> None:
    fields = report_fields(dvc_project)
    recorded = read_dvc_file(dvc_project / "corpus.dvc")
    assert fields == {
        "corpus_version": recorded.md5,
        "corpus_dirty": False,
        "corpus_path": "corpus",
        "corpus_files": 2,
        "corpus_size": len("alpha\nbeta\n"),
    }
    assert recorded.md5.endswith(".dir")


@pytest.mark.parametrize(
    ("change", "state"),
    [
        pytest.param(lambda c: (c / "a.md").write_text("changed\n"), "modified", id="edit"),
        pytest.param(lambda c: (c / "c.md").write_text("new\n"), "modified", id="add"),
        pytest.param(lambda c: (c / "b.md").unlink(), "modified", id="remove"),
        pytest.param(shutil.rmtree, "deleted", id="rmtree"),
    ],
)
def test_a_changed_workspace_is_dirty(dvc_project: Path, change: object, state: str) -> None:
    assert callable(change)
    change(dvc_project / "corpus")
    version = read_version(dvc_project)
    assert version is not None
    status = workspace_status(version)
    assert (status["dirty"], status["state"]) == (True, state)
    assert report_fields(dvc_project)["corpus_dirty"] is True


def test_a_missing_cache_does_not_make_a_matching_workspace_dirty(dvc_project: Path) -> None:
    shutil.rmtree(dvc_project / ".dvc" / "cache")
    assert report_fields(dvc_project)["corpus_dirty"] is False


def test_dirty_is_none_when_dvc_cannot_tell(tmp_path: Path) -> None:
    _write(tmp_path / "corpus.dvc", DVC_FILE)  # not inside a DVC repository
    fields = report_fields(tmp_path, "corpus.dvc")
    assert (fields["corpus_version"], fields["corpus_dirty"]) == (MD5_DIR, None)
    version = read_version(tmp_path, "corpus.dvc")
    assert version is not None
    with pytest.raises(RagopsError, match=r"^corpus\.dvc: dvc cannot tell the status: you are not"):
        workspace_status(version)


def test_without_dvc_installed_the_version_is_read_and_dirty_is_none(dvc_project: Path) -> None:
    # sys.modules[name] = None makes `import dvc` fail as it does where dvc is not installed.
    code = (
        "import sys, json; sys.modules['dvc'] = None; from pathlib import Path; "
        "from pytest_ragops.corpus import report_fields, read_version, workspace_status; "
        f"root = Path({str(dvc_project)!r}); print(json.dumps(report_fields(root))); "
        "from pytest_ragops.errors import RagopsError\n"
        "try:\n    workspace_status(read_version(root))\n"
        "except RagopsError as exc:\n    print(exc)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    fields, message = proc.stdout.splitlines()
    recorded = read_dvc_file(dvc_project / "corpus.dvc")
    assert json.loads(fields) == {**recorded.info(), "corpus_dirty": None}
    assert message == (
        "corpus.dvc: dvc is not installed; install it with pip install 'pytest-ragops[dvc]'"
    )


def test_a_corrupt_lock_met_while_resolving_a_directory_is_an_error(tmp_path: Path) -> None:
    _write(tmp_path / "dvc.lock", "schema: '2.0'\n")
    (tmp_path / "corpus").mkdir()
    with pytest.raises(RagopsError) as info:
        read_version(tmp_path, "corpus")
    assert str(info.value) == "dvc.lock: stages: must be a YAML mapping with a 'stages' mapping"
