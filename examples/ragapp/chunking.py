"""Split Markdown documents into paragraph chunks that carry their document id.

Paragraphs are the unit because each one in the corpus makes one self-contained point,
so a retrieved chunk is a citable passage and golden ``reference_contexts`` can be
matched against it.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Chunk", "chunk_markdown", "load_corpus"]


@dataclass(frozen=True, slots=True)
class Chunk:
    """One paragraph of one document."""

    #: ``<doc_id>#<n>``, n counting paragraphs from 0.
    id: str
    #: The document's file stem, e.g. ``vacuum-and-autovacuum``.
    doc_id: str
    #: The document's ``#`` title.
    title: str
    #: The paragraph text; prose lines are joined by single spaces.
    text: str

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "doc_id": self.doc_id, "title": self.title, "text": self.text}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Chunk:
        return cls(
            id=str(data["id"]),
            doc_id=str(data["doc_id"]),
            title=str(data["title"]),
            text=str(data["text"]),
        )


def chunk_markdown(doc_id: str, text: str) -> list[Chunk]:
    """Split one Markdown document into paragraph chunks.

    The first ``# `` heading is the title, not a chunk. Blank lines separate paragraphs,
    except inside fenced code blocks; a sub-heading is kept with the paragraph after it.
    """
    title = doc_id
    paragraphs: list[list[str]] = []
    current: list[str] = []
    heading: list[str] = []
    in_fence = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        if in_fence or stripped.startswith("```"):
            current.append(line.rstrip())
            continue
        if not stripped:
            if current:
                paragraphs.append(heading + current)
                current, heading = [], []
            continue
        if stripped.startswith("# ") and title == doc_id and not paragraphs and not current:
            title = stripped[2:].strip()
        elif stripped.startswith("#") and not current:
            heading = [stripped.lstrip("#").strip() + "."]
        else:
            current.append(stripped)
    if current:
        paragraphs.append(heading + current)
    return [
        Chunk(id=f"{doc_id}#{n}", doc_id=doc_id, title=title, text=_join(lines))
        for n, lines in enumerate(paragraphs)
    ]


def _join(lines: list[str]) -> str:
    """Prose lines become one line; a paragraph holding a code fence keeps its lines."""
    if any(line.lstrip().startswith("```") for line in lines):
        return "\n".join(lines)
    return " ".join(lines)


def load_corpus(corpus_dir: str | Path) -> list[Chunk]:
    """Chunk every ``*.md`` file of ``corpus_dir``, in file-name order."""
    root = Path(corpus_dir)
    if not root.is_dir():
        raise FileNotFoundError(f"corpus directory {root} does not exist")
    chunks: list[Chunk] = []
    for path in sorted(root.glob("*.md")):
        chunks.extend(chunk_markdown(path.stem, path.read_text(encoding="utf-8")))
    return chunks
