"""Which corpus an eval ran on: the DVC version of the tracked documents, and whether it is dirty.

The RAG index is data, so every eval report names the corpus it was measured on. The version is
the ``md5`` DVC records for the tracked directory in a ``.dvc`` file or a ``dvc.lock``, kept
exactly as DVC writes it (``3f2a...e1.dir``: the ``.dir`` suffix marks a directory manifest, and
the string is what ``dvc`` prints and what the DVC cache is keyed by, so it can be looked up and
restored as is). Reading it needs only PyYAML, never DVC. Whether the workspace still matches it
(a *dirty* corpus) is asked of DVC's own Python API, imported lazily and only when a corpus is
found, so a project without DVC pays nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pytest_ragops.corpus.records import (
    CorpusInfo,
    CorpusStatus,
    CorpusVersion,
    find_dvc_files,
    read_dvc_file,
    read_dvc_lock,
    read_version,
)
from pytest_ragops.corpus.status import workspace_status

if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "CorpusInfo",
    "CorpusStatus",
    "CorpusVersion",
    "find_dvc_files",
    "read_dvc_file",
    "read_dvc_lock",
    "read_version",
    "report_fields",
    "workspace_status",
]


def report_fields(root: Path, configured: str | None = None) -> CorpusInfo:
    """The corpus fields for an eval report of the project at ``root``.

    All None when the project uses no DVC. ``corpus_dirty`` is None when DVC is not installed or
    cannot tell; a malformed ``.dvc``/``dvc.lock`` raises :class:`RagopsError`, as a report that
    cannot say which corpus it measured should not pass silently.
    """
    version = read_version(root, configured)
    if version is None:
        return CorpusInfo(
            corpus_version=None,
            corpus_dirty=None,
            corpus_path=None,
            corpus_files=None,
            corpus_size=None,
        )
    try:
        dirty: bool | None = workspace_status(version)["dirty"]
    # Advisory: neither a RagopsError nor a DVC internal failure may end the run.
    except Exception:  # noqa: BLE001
        dirty = None
    return version.info(dirty)
