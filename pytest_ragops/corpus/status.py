"""Whether the workspace still holds the recorded corpus, asked of DVC's own Python API.

DVC is imported here, lazily, only when a corpus was found: a project without DVC pays nothing.
"""

from __future__ import annotations

from pathlib import Path

from pytest_ragops.corpus.records import CorpusStatus, CorpusVersion
from pytest_ragops.errors import RagopsError

__all__ = ["workspace_status"]

_INSTALL_HINT = "dvc is not installed; install it with pip install 'pytest-ragops[dvc]'"


def workspace_status(version: CorpusVersion) -> CorpusStatus:
    """Ask DVC whether the workspace still holds ``version`` (the record is never rewritten).

    Uses the recorded output's ``workspace_status()``, the check behind ``dvc status``, but
    without its cache test: a corpus whose files match the record is clean even if the local
    cache lacks them. Raises :class:`RagopsError` when DVC is missing or cannot answer.
    """
    try:
        from dvc.exceptions import DvcException
        from dvc.repo import Repo
    except ImportError:
        raise RagopsError(_INSTALL_HINT, path=version.source) from None

    source = version.root / version.source
    stage_file = source if version.stage is None else source.with_name("dvc.yaml")
    wanted = (version.root / version.path).resolve()
    states: dict[str, str] = {}
    matched = False
    try:
        with Repo(str(stage_file.parent)) as repo:
            if version.stage is None:
                stages = list(repo.stage.load_file(str(stage_file)))
            else:
                stages = [repo.stage.load_one(str(stage_file), version.stage)]
            for stage in stages:
                for item in (*stage.outs, *stage.deps):
                    if Path(item.fs_path).resolve() == wanted:
                        matched = True
                        states.update(item.workspace_status())
    except DvcException as exc:
        message = " ".join(str(exc).split()) or type(exc).__name__
        raise RagopsError(f"dvc cannot tell the status: {message}", path=version.source) from None
    if not matched:
        raise RagopsError(f"dvc does not track {version.path} here", path=version.source)
    return CorpusStatus(
        corpus_path=version.path,
        corpus_version=version.md5,
        source=version.source,
        stage=version.stage,
        dirty=bool(states),
        state=", ".join(sorted(set(states.values()))) or "clean",
    )
