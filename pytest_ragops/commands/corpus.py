"""``ragops corpus``: which DVC corpus version the project is on, and whether it is dirty."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    import argparse

    from pytest_ragops.corpus import CorpusVersion

__all__ = ["register"]

_WHERE = (
    "The corpus is the path named by --path, else by the 'corpus' key of [tool.ragops] in "
    "ROOT/pyproject.toml, else the first *.dvc file under ROOT that tracks a directory."
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``corpus version`` and ``corpus status``."""
    parser = subparsers.add_parser(
        "corpus",
        help="Show the DVC version of the RAG corpus and whether the workspace matches it",
        description="Read the corpus version DVC records (.dvc file or dvc.lock) and check it. "
        + _WHERE,
    )
    sub = parser.add_subparsers(dest="corpus_command", metavar="ACTION")
    sub.required = True

    version = sub.add_parser(
        "version",
        help="Print the recorded corpus version (md5, file count, size); DVC is not needed",
        description="Print the md5 DVC recorded for the corpus, its file count and size, read "
        "from the .dvc file or dvc.lock without running DVC. Exit 0, or 2 if no corpus is "
        "found or its DVC file is malformed. " + _WHERE,
    )
    status = sub.add_parser(
        "status",
        help="Check whether the corpus in the workspace matches the recorded version",
        description="Ask DVC whether the corpus files in the workspace match the recorded "
        "version. Exit 0 clean, 1 dirty (modified, deleted or not yet recorded), 2 bad input "
        "or DVC not installed. " + _WHERE,
    )
    for action, handler in ((version, _version), (status, _status)):
        action.add_argument(
            "--root",
            type=Path,
            default=Path(),
            help="Project root that paths are relative to (default: the current directory)",
        )
        action.add_argument(
            "--path",
            metavar="P",
            help="A .dvc file, a dvc.lock or the tracked directory, relative to ROOT",
        )
        action.add_argument("--json", action="store_true", help="Print one JSON object")
        action.set_defaults(handler=handler)


def _configured(root: Path) -> str | None:
    """The ``corpus`` key of ``[tool.ragops]`` in ``root/pyproject.toml``, if set."""
    import tomllib

    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        return None
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise RagopsError(f"cannot read: {exc}", path=str(pyproject)) from None
    value = data.get("tool", {}).get("ragops", {}).get("corpus")
    if value is not None and not isinstance(value, str):
        raise RagopsError(
            f"must be a path string, not {value!r}", path=str(pyproject), field="tool.ragops.corpus"
        )
    return value


def _find(args: argparse.Namespace) -> CorpusVersion:
    from pytest_ragops.corpus import read_version

    root: Path = args.root
    if not root.is_dir():
        raise RagopsError("not a directory", path=str(root), field="--root")
    version = read_version(root, args.path or _configured(root))
    if version is None:
        raise RagopsError(
            "no *.dvc file tracks a directory here; track the corpus with `dvc add`, or name it "
            "with --path or [tool.ragops] corpus",
            path=str(root),
        )
    return version


def _version(args: argparse.Namespace) -> int:
    version = _find(args)
    if args.json:
        payload: dict[str, Any] = {
            **version.info(),
            "source": version.source,
            "stage": version.stage,
        }
        del payload["corpus_dirty"]  # `version` does not ask DVC; see `ragops corpus status`
        print(json.dumps(payload, sort_keys=True))
        return 0
    details = [
        f"{version.nfiles} files" if version.nfiles is not None else "",
        f"{version.size} bytes" if version.size is not None else "",
    ]
    where = version.source + (f" stage {version.stage}" if version.stage else "")
    extra = ", ".join(d for d in details if d)
    print(f"{version.path}: {version.md5}" + (f" ({extra})" if extra else "") + f" from {where}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from pytest_ragops.corpus import workspace_status

    version = _find(args)
    status = workspace_status(version)
    if args.json:
        print(json.dumps(status, sort_keys=True))
    elif status["dirty"]:
        record = "dvc commit" if status["stage"] else f"dvc add {status['corpus_path']}"
        print(
            f"{status['corpus_path']}: dirty ({status['state']}): the workspace differs from "
            f"{status['corpus_version']} in {status['source']}; record it with `{record}` "
            "or restore it with `dvc checkout` (or `dvc pull`)"
        )
    else:
        print(f"{status['corpus_path']}: clean, matches {status['corpus_version']}")
    return 1 if status["dirty"] else 0
