"""Versioned prompts: one YAML file per variant in ``prompts/``, versioned by content hash.

A prompt edit is the "training run" of a RAG app, so every eval run must say exactly
which prompt text it measured. The version id is the first 12 hex characters of the
SHA-256 of the file's bytes: any edit (even whitespace) gives a new version, and the
same file gives the same version on every machine.

File format (all keys but ``template`` optional; no other keys allowed)::

    name: concise                 # defaults to the file stem; must equal it
    description: One-sentence answers from the top two chunks.
    params:                       # free-form scalars the app reads (top_k, style, ...)
      top_k: 2
      context_budget: 800
      style: extractive-short
    system: You answer questions about PostgreSQL operations.
    template: |                   # str.format template; only {question} and {context}
      Context:
      {context}

      Question: {question}
"""

from __future__ import annotations

import hashlib
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["PLACEHOLDERS", "ParamValue", "Prompt", "load_prompt", "load_prompts"]

#: Placeholders a template may use.
PLACEHOLDERS: frozenset[str] = frozenset({"question", "context"})

#: Types a ``params`` value may have (YAML scalars).
ParamValue = str | int | float | bool

_KEYS = ("name", "description", "params", "system", "template")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class Prompt:
    """One prompt variant as loaded from its file."""

    #: Variant name (the file stem).
    name: str
    #: Content hash of the file: first 12 hex chars of its SHA-256.
    version: str
    #: The file it was loaded from.
    path: Path
    #: App parameters (``top_k``, ``context_budget``, ``style``, ...), scalars only.
    params: Mapping[str, ParamValue] = field(hash=False)
    #: System prompt ("" when the file has none).
    system: str
    #: ``str.format`` template using ``{question}`` and/or ``{context}``.
    template: str
    #: Human description of what the variant changes.
    description: str = ""
    #: Full SHA-256 of the file's bytes (``version`` is its first 12 characters).
    sha256: str = ""

    def lineage(self) -> dict[str, str]:
        """What every record and report carries about the prompt: name, version, hash."""
        return {"name": self.name, "version": self.version, "hash": self.sha256}

    def render(self, question: str, context: str) -> str:
        """Fill the template with a question and the retrieved context."""
        return self.template.format(question=question, context=context)


def _version(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:12]


def _check_template(template: str, path: str) -> None:
    """Reject placeholders the app cannot fill, before any eval runs."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise RagopsError(
            f"is not a valid str.format template ({exc}); write literal braces as {{{{ }}}}",
            path=path,
            field="template",
        ) from None
    used: set[str] = set()
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in PLACEHOLDERS:
            shown = "{" + name + "}" if name else "{}"
            raise RagopsError(
                f"unknown placeholder {shown}; allowed: {{context}}, {{question}}",
                path=path,
                field="template",
            )
        if spec or conversion:
            raise RagopsError(
                f"placeholder {{{name}}} must not have a format spec or conversion",
                path=path,
                field="template",
            )
        used.add(name)
    if "question" not in used:
        raise RagopsError("must contain the {question} placeholder", path=path, field="template")


def _check_params(raw: object, path: str) -> dict[str, ParamValue]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RagopsError(f"must be a mapping, not {type(raw).__name__}", path=path, field="params")
    params: dict[str, ParamValue] = {}
    for key in sorted(raw, key=str):
        value = raw[key]
        if not isinstance(key, str):
            raise RagopsError(f"key {key!r} must be a string", path=path, field="params")
        if not isinstance(value, str | int | float | bool):
            raise RagopsError(
                f"must be a string, number or boolean, not {type(value).__name__}",
                path=path,
                field=f"params.{key}",
            )
        params[key] = value
    return params


def _check_str(data: Mapping[str, Any], key: str, path: str, *, required: bool) -> str:
    if key not in data or data[key] is None:
        if required:
            raise RagopsError("is missing", path=path, field=key)
        return ""
    value = data[key]
    if not isinstance(value, str):
        raise RagopsError(f"must be a string, not {type(value).__name__}", path=path, field=key)
    return value


def load_prompt(path: str | Path) -> Prompt:
    """Load and validate one prompt file.

    :raises RagopsError: naming the file and the field at fault.
    """
    file = Path(path)
    where = str(file)
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise RagopsError(f"cannot read prompt file: {exc.strerror}", path=where) from None
    try:
        doc = yaml.safe_load(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise RagopsError("is not UTF-8 text", path=where) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f" at line {mark.line + 1}" if mark is not None else ""
        raise RagopsError(f"is not valid YAML{at}", path=where) from None
    if not isinstance(doc, dict):
        raise RagopsError("must be a YAML mapping with a 'template' key", path=where)
    unknown = sorted(str(k) for k in doc if k not in _KEYS)
    if unknown:
        raise RagopsError(
            f"unknown key; allowed keys: {', '.join(_KEYS)}", path=where, field=unknown[0]
        )
    name = _check_str(doc, "name", where, required=False) or file.stem
    if not _NAME_RE.match(name):
        raise RagopsError(
            f"{name!r} is not a valid variant name (letters, digits, '.', '_', '-')",
            path=where,
            field="name",
        )
    if name != file.stem:
        raise RagopsError(
            f"{name!r} does not match the file name {file.name!r}", path=where, field="name"
        )
    template = _check_str(doc, "template", where, required=True)
    _check_template(template, where)
    return Prompt(
        name=name,
        version=_version(data),
        path=file,
        params=_check_params(doc.get("params"), where),
        system=_check_str(doc, "system", where, required=False),
        template=template,
        description=_check_str(doc, "description", where, required=False),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def load_prompts(directory: str | Path) -> dict[str, Prompt]:
    """Load every ``*.yaml``/``*.yml`` prompt in ``directory``, keyed and sorted by name.

    :raises RagopsError: if the directory is missing or any file is invalid.
    """
    root = Path(directory)
    if not root.is_dir():
        raise RagopsError("prompt directory does not exist", path=str(root))
    files = sorted(p for p in root.iterdir() if p.suffix in _SUFFIXES and p.is_file())
    prompts: dict[str, Prompt] = {}
    for file in files:
        prompt = load_prompt(file)
        if prompt.name in prompts:
            raise RagopsError(
                f"variant {prompt.name!r} is defined twice (also in {prompts[prompt.name].path})",
                path=str(file),
                field="name",
            )
        prompts[prompt.name] = prompt
    return dict(sorted(prompts.items()))
