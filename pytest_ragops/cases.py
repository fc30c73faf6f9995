"""Golden datasets: load and validate eval cases from YAML or JSONL.

A case file is checked as a whole before any test runs, so a typo in case 31 stops
the run with one line (``golden.yaml: case 31: field 'question' is missing``) instead
of a traceback half-way through an expensive eval.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_ragops.errors import RagopsError

__all__ = ["Case", "load_cases"]

_FIELDS = frozenset({"id", "question", "reference", "reference_contexts", "tags", "metadata"})


@dataclass(frozen=True, slots=True)
class Case:
    """One golden question with what a correct answer and retrieval look like."""

    id: str
    question: str
    reference: str | None = None
    reference_contexts: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    #: Free-form extra data for the user's pipeline; not used by pytest-ragops.
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Plain-JSON form, as stored in reports."""
        return {
            "id": self.id,
            "question": self.question,
            "reference": self.reference,
            "reference_contexts": list(self.reference_contexts),
            "tags": list(self.tags),
            "metadata": dict(self.metadata),
        }


def load_cases(path: str | Path) -> list[Case]:
    """Load and validate the cases in ``path`` (``.yaml``/``.yml`` or ``.jsonl``).

    YAML holds either a list of cases or a mapping with a ``cases`` list; JSONL holds
    one case object per line. Fields: ``id`` (defaults to ``case-<n>``), ``question``
    (required), ``reference``, ``reference_contexts``, ``tags``, ``metadata``.

    :raises RagopsError: naming the file and the case for any problem.
    """
    p = Path(path)
    where = str(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RagopsError("case file not found", path=where) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RagopsError(f"cannot read case file ({exc.__class__.__name__})", path=where) from None
    suffix = p.suffix.lower()
    if suffix in (".yaml", ".yml"):
        raw = _parse_yaml(text, where)
    elif suffix == ".jsonl":
        raw = _parse_jsonl(text, where)
    else:
        raise RagopsError(
            f"unsupported case file type {suffix!r}; use .yaml, .yml or .jsonl", path=where
        )
    if not raw:
        raise RagopsError("no cases found", path=where)
    cases: list[Case] = []
    seen: dict[str, int] = {}
    for number, item in raw:
        case = _to_case(item, number, where)
        if case.id in seen:
            raise RagopsError(
                f"duplicate id {case.id!r} (first used by case {seen[case.id]})",
                path=where,
                field=f"case {number}",
            )
        seen[case.id] = number
        cases.append(case)
    return cases


def _parse_yaml(text: str, where: str) -> list[tuple[int, object]]:
    import yaml

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f"line {mark.line + 1}" if mark is not None else None
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise RagopsError(f"invalid YAML: {problem}", path=where, field=line) from None
    if isinstance(data, dict):
        if "cases" not in data:
            raise RagopsError("a mapping at the top level needs a 'cases' list", path=where)
        data = data["cases"]
    if data is None:
        return []
    if not isinstance(data, list):
        raise RagopsError(
            f"expected a list of cases, got {type(data).__name__}", path=where, field="cases"
        )
    return list(enumerate(data, start=1))


def _parse_jsonl(text: str, where: str) -> list[tuple[int, object]]:
    items: list[tuple[int, object]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            items.append((lineno, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise RagopsError(
                f"invalid JSON: {exc.msg}", path=where, field=f"line {lineno}"
            ) from None
    # JSONL cases are numbered by line so the message points at the line to fix.
    return items


def _to_case(item: object, number: int, where: str) -> Case:
    loc = f"case {number}"
    if not isinstance(item, dict):
        raise RagopsError(f"expected a mapping, got {type(item).__name__}", path=where, field=loc)
    unknown = sorted(str(k) for k in item if k not in _FIELDS)
    if unknown:
        allowed = ", ".join(sorted(_FIELDS))
        raise RagopsError(
            f"unknown field {unknown[0]!r} (allowed: {allowed})", path=where, field=loc
        )
    question = item.get("question")
    if question is None:
        raise RagopsError("field 'question' is missing", path=where, field=loc)
    question = _text(question, "question", where, loc)
    if not question.strip():
        raise RagopsError("field 'question' is empty", path=where, field=loc)
    raw_id = item.get("id", f"case-{number}")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int):
        raise RagopsError(
            f"field 'id' must be a string, got {type(raw_id).__name__}", path=where, field=loc
        )
    case_id = str(raw_id)
    if not case_id.strip():
        raise RagopsError("field 'id' is empty", path=where, field=loc)
    reference = item.get("reference")
    if reference is not None:
        reference = _text(reference, "reference", where, loc)
    metadata = item.get("metadata", {})
    if metadata is None:
        metadata = {}
    if not isinstance(metadata, dict):
        raise RagopsError(
            f"field 'metadata' must be a mapping, got {type(metadata).__name__}",
            path=where,
            field=loc,
        )
    return Case(
        id=case_id,
        question=question,
        reference=reference,
        reference_contexts=_texts(item.get("reference_contexts"), "reference_contexts", where, loc),
        tags=_texts(item.get("tags"), "tags", where, loc),
        metadata={str(k): v for k, v in metadata.items()},
    )


def _text(value: object, name: str, where: str, loc: str) -> str:
    if not isinstance(value, str):
        raise RagopsError(
            f"field {name!r} must be a string, got {type(value).__name__}", path=where, field=loc
        )
    return value


def _texts(value: object, name: str, where: str, loc: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise RagopsError(
            f"field {name!r} must be a list of strings, got {type(value).__name__}",
            path=where,
            field=loc,
        )
    for i, v in enumerate(value):
        if not isinstance(v, str):
            raise RagopsError(
                f"field {name!r} item {i + 1} must be a string, got {type(v).__name__}",
                path=where,
                field=loc,
            )
    return tuple(value)
