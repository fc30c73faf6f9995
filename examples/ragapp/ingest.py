"""Build the chunk index JSON from a corpus directory: ``python -m ragapp.ingest CORPUS OUT``.

The output is byte-for-byte deterministic (sorted keys, files in name order, no
timestamps), so DVC sees a changed index only when the corpus changed.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from ragapp.chunking import Chunk, load_corpus

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["FORMAT", "build_index", "load_index", "main", "write_index"]

#: Version of the index file layout.
FORMAT: Final = 1


def build_index(corpus_dir: str | Path) -> dict[str, Any]:
    """The index document for ``corpus_dir``: chunks plus a content hash per source file."""
    root = Path(corpus_dir)
    chunks = load_corpus(root)
    if not chunks:
        raise ValueError(f"corpus directory {root} has no non-empty *.md files")
    documents = {
        p.stem: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.glob("*.md"))
    }
    return {
        "format": FORMAT,
        "documents": documents,
        "chunks": [c.to_dict() for c in chunks],
    }


def write_index(index: dict[str, Any], out: str | Path) -> None:
    """Write ``index`` atomically with sorted keys and a final newline."""
    target = Path(out)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text(json.dumps(index, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, target)


def load_index(path: str | Path) -> list[Chunk]:
    """Read the chunks back from an index file written by :func:`write_index`."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ValueError(f"{path} is not a ragapp index (format {FORMAT})")
    return [Chunk.from_dict(c) for c in data["chunks"]]


def main(argv: Sequence[str] | None = None) -> int:
    """Command-line entry point; returns the exit status."""
    parser = argparse.ArgumentParser(
        prog="python -m ragapp.ingest",
        description="Chunk a Markdown corpus into a deterministic JSON index.",
    )
    parser.add_argument("corpus_dir", type=Path, help="Directory of *.md documents")
    parser.add_argument("out", type=Path, help="Index JSON file to write")
    args = parser.parse_args(argv)
    try:
        index = build_index(args.corpus_dir)
        write_index(index, args.out)
    except (OSError, ValueError) as exc:
        print(f"ragapp.ingest: error: {exc}", file=sys.stderr)
        return 2
    print(f"{args.out}: {len(index['chunks'])} chunks from {len(index['documents'])} documents")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
