"""Read the corpus version DVC recorded, from ``.dvc`` files and ``dvc.lock``, without DVC.

Only PyYAML is needed: the version is the ``md5`` DVC wrote, kept exactly as written (see the
package docstring). Whether the workspace still matches it is :mod:`.status`'s job.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypedDict

import yaml

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = [
    "CorpusInfo",
    "CorpusStatus",
    "CorpusVersion",
    "find_dvc_files",
    "read_dvc_file",
    "read_dvc_lock",
    "read_version",
]

#: Directories never searched for ``*.dvc`` files: tool state, VCS data and environments.
SKIP_DIRS = frozenset(
    {".dvc", ".git", ".hg", ".venv", "venv", "node_modules", ".tox", ".nox", "__pycache__"}
)
_MD5 = re.compile(r"[0-9a-f]{32}(\.dir)?")


class _NotRecorded(RagopsError):
    """A well-formed DVC file that has no record of the path asked for."""


class CorpusInfo(TypedDict):
    """The corpus fields every eval report (JSON and Markdown) carries."""

    #: The md5 DVC records for the tracked path, exactly as written (``....dir`` for a directory).
    corpus_version: str | None
    #: True when the workspace differs from that version; None without DVC or when unknown.
    corpus_dirty: bool | None
    #: The tracked path, relative to the project root, with ``/`` separators.
    corpus_path: str | None
    #: Number of files DVC recorded (``nfiles``), if it did.
    corpus_files: int | None
    #: Total bytes DVC recorded (``size``), if it did.
    corpus_size: int | None


class CorpusStatus(TypedDict):
    """What ``ragops corpus status`` reports."""

    corpus_path: str
    corpus_version: str
    source: str
    #: The ``dvc.lock`` stage holding the record; None for a ``.dvc`` file.
    stage: str | None
    #: True when the workspace differs from the recorded version.
    dirty: bool
    #: ``clean``, or DVC's word for the change: ``modified``, ``deleted`` or ``new``.
    state: str


@dataclass(frozen=True, slots=True)
class CorpusVersion:
    """One DVC record of the corpus, read from a ``.dvc`` file or a ``dvc.lock`` stage."""

    #: The recorded md5, exactly as DVC wrote it.
    md5: str
    #: The tracked path, relative to ``root`` (``/`` separators).
    path: str
    nfiles: int | None
    size: int | None
    #: The ``.dvc`` file or ``dvc.lock`` it was read from, relative to ``root``.
    source: str
    #: The ``dvc.lock`` stage holding the record; None for a ``.dvc`` file.
    stage: str | None
    #: The project root the relative paths start from.
    root: Path

    @property
    def is_dir(self) -> bool:
        """Whether DVC recorded a directory (its md5 ends in ``.dir``)."""
        return self.md5.endswith(".dir")

    def info(self, dirty: bool | None = None) -> CorpusInfo:
        """The report fields for this version."""
        return CorpusInfo(
            corpus_version=self.md5,
            corpus_dirty=dirty,
            corpus_path=self.path,
            corpus_files=self.nfiles,
            corpus_size=self.size,
        )


def _rel(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` for messages and reports (``..`` if it lies outside)."""
    return Path(os.path.relpath(path, root)).as_posix()


def _load_yaml(path: Path, shown: str) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RagopsError("file not found", path=shown) from None
    except IsADirectoryError:
        raise RagopsError("is a directory, not a DVC file", path=shown) from None
    except UnicodeDecodeError:
        raise RagopsError("not UTF-8 text, so not a DVC file", path=shown) from None
    except OSError as exc:
        raise RagopsError(f"cannot read: {exc.strerror or exc}", path=shown) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = ""
        mark = getattr(exc, "problem_mark", None)
        if mark is not None:
            where = f" at line {mark.line + 1}"
        problem = getattr(exc, "problem", None) or type(exc).__name__
        raise RagopsError(f"invalid YAML{where}: {problem}", path=shown) from None


def _optional_count(entry: dict[Any, Any], key: str, shown: str, where: str) -> int | None:
    value = entry.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RagopsError(
            f"must be a non-negative integer, not {value!r}", path=shown, field=f"{where}.{key}"
        )
    return value


def _entry(raw: object, shown: str, where: str) -> tuple[str, str, int | None, int | None]:
    """Validate one ``outs``/``deps`` item: (path, md5, nfiles, size)."""
    if not isinstance(raw, dict):
        raise RagopsError(f"must be a mapping, not {type(raw).__name__}", path=shown, field=where)
    path = raw.get("path")
    if not isinstance(path, str) or not path:
        raise RagopsError("missing or not a string", path=shown, field=f"{where}.path")
    md5 = raw.get("md5")
    if md5 is None:
        raise RagopsError(
            "missing: DVC has not recorded a version (run dvc add or dvc repro)",
            path=shown,
            field=f"{where}.md5",
        )
    if not isinstance(md5, str) or not _MD5.fullmatch(md5):
        raise RagopsError(
            f"must be 32 hex digits, optionally followed by .dir, not {md5!r}",
            path=shown,
            field=f"{where}.md5",
        )
    nfiles = _optional_count(raw, "nfiles", shown, where)
    size = _optional_count(raw, "size", shown, where)
    return path, md5, nfiles, size


def _items(doc: dict[Any, Any], key: str, shown: str, prefix: str) -> list[object]:
    value = doc.get(key, [])
    if value is None:
        return []
    if not isinstance(value, list):
        raise RagopsError(
            f"must be a list, not {type(value).__name__}", path=shown, field=prefix + key
        )
    return value


def read_dvc_file(
    path: Path, root: Path | None = None, target: Path | None = None
) -> CorpusVersion:
    """Read the version a ``.dvc`` file records.

    Picks the out whose path is ``target`` when given, else the first directory out, else the
    first out. Raises :class:`RagopsError` naming the file and field for anything malformed.
    """
    root = (root or path.parent).resolve()
    path = path.resolve()
    shown = _rel(path, root)
    doc = _load_yaml(path, shown)
    if not isinstance(doc, dict):
        kind = "empty" if doc is None else type(doc).__name__
        raise RagopsError(f"must be a YAML mapping with 'outs', not {kind}", path=shown)
    if "outs" not in doc:
        raise RagopsError(
            "missing: a .dvc file lists what it tracks under outs", path=shown, field="outs"
        )
    items = _items(doc, "outs", shown, "")
    if not items:
        raise RagopsError("is empty: the .dvc file tracks nothing", path=shown, field="outs")
    entries = [_entry(raw, shown, f"outs[{i}]") for i, raw in enumerate(items)]
    if target is not None:
        wanted = target.resolve()
        entries = [e for e in entries if (path.parent / e[0]).resolve() == wanted]
        if not entries:
            raise RagopsError(f"does not track {_rel(wanted, root)}", path=shown, field="outs")
    dirs = [e for e in entries if e[1].endswith(".dir")]
    out_path, md5, nfiles, size = (dirs or entries)[0]
    return CorpusVersion(
        md5=md5,
        path=_rel((path.parent / out_path).resolve(), root),
        nfiles=nfiles,
        size=size,
        source=shown,
        stage=None,
        root=root,
    )


def _stage_wdirs(lock: Path) -> dict[str, str]:
    """``wdir`` of each stage in the ``dvc.yaml`` beside ``lock``: lock paths start there."""
    try:
        doc = yaml.safe_load((lock.parent / "dvc.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}  # dvc itself reports a broken dvc.yaml; for reading the lock, no wdir applies
    stages = doc.get("stages") if isinstance(doc, dict) else None
    if not isinstance(stages, dict):
        return {}
    return {
        str(name): spec["wdir"]
        for name, spec in stages.items()
        if isinstance(spec, dict) and isinstance(spec.get("wdir"), str)
    }


def read_dvc_lock(
    path: Path, root: Path | None = None, target: Path | None = None
) -> CorpusVersion:
    """Read the corpus version a ``dvc.lock`` records.

    With ``target`` (the tracked path) picks its entry; otherwise the directory entries of all
    stages are candidates and the first by path wins. For one path an ``outs`` record (what a
    stage produced) is preferred over a ``deps`` record, then stages in file order.
    """
    root = (root or path.parent).resolve()
    path = path.resolve()
    shown = _rel(path, root)
    doc = _load_yaml(path, shown)
    if not isinstance(doc, dict) or not isinstance(doc.get("stages"), dict):
        raise RagopsError(
            "must be a YAML mapping with a 'stages' mapping", path=shown, field="stages"
        )
    wdirs = _stage_wdirs(path)
    found: list[tuple[int, Path, str, tuple[str, str, int | None, int | None]]] = []
    for name, stage in doc["stages"].items():
        prefix = f"stages.{name}."
        if not isinstance(stage, dict):
            raise RagopsError("must be a mapping", path=shown, field=prefix.rstrip("."))
        wdir = path.parent / wdirs.get(str(name).split("@")[0], ".")
        for rank, key in enumerate(("outs", "deps")):
            for i, raw in enumerate(_items(stage, key, shown, prefix)):
                entry = _entry(raw, shown, f"{prefix}{key}[{i}]")
                found.append((rank, (wdir / entry[0]).resolve(), str(name), entry))
    if target is not None:
        wanted = target.resolve()
        found = [f for f in found if f[1] == wanted]
        if not found:
            raise _NotRecorded(f"no stage records {_rel(wanted, root)}", path=shown, field="stages")
    else:
        found = [f for f in found if f[3][1].endswith(".dir")]
        if not found:
            raise RagopsError("no stage records a directory", path=shown, field="stages")
    # stable sort: by path, then outs before deps, then file order
    rank, abs_path, stage_name, (_, md5, nfiles, size) = min(
        found, key=lambda f: (_rel(f[1], root), f[0])
    )
    return CorpusVersion(
        md5=md5,
        path=_rel(abs_path, root),
        nfiles=nfiles,
        size=size,
        source=shown,
        stage=stage_name,
        root=root,
    )


def _in_dvc_project(root: Path) -> bool:
    """Whether ``root`` or a parent holds a ``.dvc/`` directory: the cheap test before a walk."""
    return any((d / ".dvc").is_dir() for d in (root, *root.parents))


def find_dvc_files(root: Path) -> list[Path]:
    """All ``*.dvc`` files under ``root``, sorted by relative path.

    Skips :data:`SKIP_DIRS` and does not descend into a directory a ``.dvc`` file tracks (the
    corpus itself can be large).
    """
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dvc_files = [f for f in filenames if f.endswith(".dvc") and f != ".dvc"]
        tracked = {f[: -len(".dvc")] for f in dvc_files}
        dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS and d not in tracked]
        found.extend(Path(dirpath, f) for f in dvc_files)
    return sorted(found, key=lambda p: _rel(p, root))


def _walk_versions(root: Path) -> Iterator[CorpusVersion]:
    for dvc_file in find_dvc_files(root):
        version = read_dvc_file(dvc_file, root)
        if version.is_dir:
            yield version


def _from_configured(root: Path, configured: str) -> CorpusVersion:
    given = Path(configured)
    path = given if given.is_absolute() else root / given
    if path.name == "dvc.lock":
        return read_dvc_lock(path, root)
    if path.suffix == ".dvc" and not path.is_dir():
        return read_dvc_file(path, root)
    # A tracked path: the .dvc file beside it (the path itself may be absent before `dvc pull`),
    # else a dvc.lock in it or one of its parents up to the root.
    sibling = path.with_name(path.name + ".dvc")
    if sibling.is_file():
        return read_dvc_file(sibling, root, target=path)
    start = path.resolve()
    for directory in (start, *start.parents):
        lock = directory / "dvc.lock"
        if lock.is_file():
            try:
                return read_dvc_lock(lock, root, target=start)
            except _NotRecorded:
                pass  # a lock that lacks the path is no error (a corrupt one is)
        if directory == root.resolve():
            break
    what = "does not exist" if not path.exists() else "is not tracked by DVC"
    raise RagopsError(
        f"{what}: name a .dvc file, a dvc.lock or a directory tracked by one",
        path=configured,
        field="corpus",
    )


def read_version(root: Path, configured: str | None = None) -> CorpusVersion | None:
    """Find the corpus version of the project at ``root`` without running DVC.

    ``configured`` (``[tool.ragops] corpus``) is a path relative to ``root`` to a ``.dvc`` file, a
    ``dvc.lock`` or the tracked directory. Without it the ``*.dvc`` files under ``root`` that track
    a directory are candidates and the first by sorted path wins (name the one you mean in
    ``[tool.ragops]`` when there are several). None when the project uses no DVC.
    """
    root = root.resolve()
    if configured:
        return _from_configured(root, configured)
    if not _in_dvc_project(root):
        return None
    return next(_walk_versions(root), None)
