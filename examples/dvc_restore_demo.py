"""Version the example corpus with DVC, change it, and restore the old version from a remote.

In a throw-away git repository under ``workdir`` this script:

1. writes corpus v1 (the documents of ``examples/corpus`` but the last two), tracks it with
   ``dvc add``, commits ``corpus.dvc`` and tags ``corpus-v1``;
2. pushes the data to a local DVC remote (a plain directory, ``workdir/remote``);
3. writes corpus v2 (one document removed, one edited, two added), tracks, commits, tags and
   pushes it;
4. clones the repository afresh (so the DVC cache is empty), checks out ``corpus-v1``, runs
   ``dvc pull`` and checks that every file's bytes equal v1's, and that pytest-ragops reads the
   v1 version there and finds the corpus clean.

Run it with ``python examples/dvc_restore_demo.py [WORKDIR]`` (by default a temporary
directory, removed afterwards); exit 0 when the restore is exact, 1 when it is not, 2 when a
tool failed. Git and DVC run hermetically: a fixed identity, no global git config, DVC
analytics off.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = [
    "CORPUS_SOURCE",
    "DemoError",
    "main",
    "run",
    "tool_env",
    "track_and_commit",
    "write_corpus",
]

#: The example app's documents, the raw material for both corpus versions.
CORPUS_SOURCE = Path(__file__).resolve().parent / "corpus"


class DemoError(Exception):
    """A git or DVC command failed."""


def tool_env() -> dict[str, str]:
    """Environment for git and DVC: fixed identity, no user or system git config, no analytics.

    The interpreter's directory goes first on PATH so that a ``python`` in ``dvc.yaml`` is the
    one running this script.
    """
    env = dict(os.environ)
    env.update(
        {
            "GIT_AUTHOR_NAME": "ragops demo",
            "GIT_AUTHOR_EMAIL": "demo@example.invalid",
            "GIT_COMMITTER_NAME": "ragops demo",
            "GIT_COMMITTER_EMAIL": "demo@example.invalid",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
            "DVC_NO_ANALYTICS": "1",
            "PATH": str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", ""),
        }
    )
    return env


def run(cwd: Path, *args: str) -> str:
    """Run ``git ...`` or ``dvc ...`` (DVC through this interpreter) in ``cwd``; return stdout."""
    cmd = [sys.executable, "-m", "dvc", *args[1:]] if args[0] == "dvc" else list(args)
    proc = subprocess.run(
        cmd, cwd=cwd, env=tool_env(), capture_output=True, text=True, timeout=120, check=False
    )
    if proc.returncode != 0:
        detail = " ".join((proc.stderr or proc.stdout).split())[:500]
        raise DemoError(f"`{' '.join(args)}` failed in {cwd} (exit {proc.returncode}): {detail}")
    return proc.stdout


def init_repo(repo: Path, remote: Path) -> None:
    """A git repository with DVC initialised and ``remote`` as its default DVC remote."""
    repo.mkdir(parents=True)
    run(repo, "git", "init", "-q", "-b", "main")
    run(repo, "dvc", "init", "-q")
    run(repo, "dvc", "config", "core.analytics", "false")
    run(repo, "dvc", "remote", "add", "-d", "local", str(remote.resolve()))
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-q", "-m", "Initialise DVC with a local remote")


def write_corpus(target: Path, files: dict[str, bytes]) -> None:
    """Make ``target`` hold exactly ``files`` (relative name -> bytes)."""
    if target.exists():
        shutil.rmtree(target)
    for name, data in files.items():
        path = target / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def read_corpus(target: Path) -> dict[str, bytes]:
    """Every file under ``target`` (relative posix name -> bytes)."""
    return {
        p.relative_to(target).as_posix(): p.read_bytes()
        for p in sorted(target.rglob("*"))
        if p.is_file()
    }


def corpus_versions(source: Path = CORPUS_SOURCE) -> tuple[dict[str, bytes], dict[str, bytes]]:
    """Corpus v1 and v2 built from ``source``: v2 drops, edits and adds documents."""
    docs = read_corpus(source)
    if len(docs) < 4:
        raise DemoError(f"{source} needs at least 4 documents, found {len(docs)}")
    names = sorted(docs)
    v1 = {name: docs[name] for name in names[:-2]}
    v2 = {name: docs[name] for name in names[1:]}  # drops names[0], adds the last two
    edited = names[1]
    v2[edited] = v2[edited] + b"\n\nRevised for corpus v2: check this page against the docs.\n"
    return v1, v2


def track_and_commit(repo: Path, message: str, tag: str) -> str:
    """``dvc add corpus``, commit ``corpus.dvc``, tag, ``dvc push``; return the recorded md5."""
    from pytest_ragops.corpus import read_dvc_file

    run(repo, "dvc", "add", "-q", "corpus")
    run(repo, "git", "add", "corpus.dvc", ".gitignore")
    run(repo, "git", "commit", "-q", "-m", message)
    run(repo, "git", "tag", tag)
    run(repo, "dvc", "push", "-q")
    return read_dvc_file(repo / "corpus.dvc", repo).md5


def main(workdir: Path | str | None = None) -> int:
    """Run the v1 -> v2 -> restore-v1 flow under ``workdir``; 0 when the restore is exact."""
    if workdir is None:
        with tempfile.TemporaryDirectory(prefix="ragops-dvc-demo-") as tmp:
            return _flow(Path(tmp))
    return _flow(Path(workdir))


def _flow(workdir: Path) -> int:
    from pytest_ragops.corpus import report_fields

    base = workdir.resolve()
    repo, remote, clone = base / "project", base / "remote", base / "clone"
    taken = [p.name for p in (repo, remote, clone) if p.exists()]
    if taken:
        print(f"dvc_restore_demo: error: {base} already holds {', '.join(taken)}", file=sys.stderr)
        return 2
    try:
        v1, v2 = corpus_versions()
        init_repo(repo, remote)

        write_corpus(repo / "corpus", v1)
        md5_v1 = track_and_commit(repo, "Corpus v1", "corpus-v1")
        print(f"corpus v1: {len(v1)} files, md5 {md5_v1}, pushed to {remote}")

        write_corpus(repo / "corpus", v2)
        md5_v2 = track_and_commit(repo, "Corpus v2", "corpus-v2")
        print(f"corpus v2: {len(v2)} files, md5 {md5_v2}, pushed to {remote}")

        run(base, "git", "clone", "-q", str(repo), str(clone))
        run(clone, "git", "checkout", "-q", "corpus-v1")
        if (clone / ".dvc" / "cache").exists():
            raise DemoError(f"{clone} should start with an empty DVC cache")
        run(clone, "dvc", "pull", "-q")
    except DemoError as exc:
        print(f"dvc_restore_demo: error: {exc}", file=sys.stderr)
        return 2

    restored = read_corpus(clone / "corpus")
    fields = report_fields(clone)
    problems = [f"{name}: missing after pull" for name in sorted(set(v1) - set(restored))]
    problems += [f"{name}: not in v1" for name in sorted(set(restored) - set(v1))]
    problems += [
        f"{name}: bytes differ from v1"
        for name in sorted(set(v1) & set(restored))
        if restored[name] != v1[name]
    ]
    if fields["corpus_version"] != md5_v1:
        problems.append(f"pytest-ragops reads version {fields['corpus_version']}, not {md5_v1}")
    if fields["corpus_dirty"] is not False:
        problems.append(f"pytest-ragops reports corpus_dirty={fields['corpus_dirty']}")
    for problem in problems:
        print(f"restore of corpus v1 is not exact: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(
        f"restored corpus v1 in a fresh clone: {len(restored)} files, bytes identical, md5 {md5_v1}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else None))
