"""Tests for pytest_ragops.prompts: loading, validation errors, content-hash versions."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from pytest_ragops.errors import RagopsError
from pytest_ragops.prompts import Prompt, load_prompt, load_prompts

REPO = Path(__file__).resolve().parents[2]

VALID = """\
name: short
description: One sentence.
params:
  top_k: 2
  context_budget: 600
  style: extractive-short
  temperature_hint: 0.5
  strict: true
system: Answer from the context.
template: |
  {context}
  Question: {question}
"""


def write(tmp_path: Path, text: str, name: str = "short.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_load_prompt_reads_every_field(tmp_path: Path) -> None:
    path = write(tmp_path, VALID)
    prompt = load_prompt(path)
    assert prompt == Prompt(
        name="short",
        version=hashlib.sha256(path.read_bytes()).hexdigest()[:12],
        path=path,
        params={
            "context_budget": 600,
            "strict": True,
            "style": "extractive-short",
            "temperature_hint": 0.5,
            "top_k": 2,
        },
        system="Answer from the context.",
        template="{context}\nQuestion: {question}\n",
        description="One sentence.",
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
    )
    assert prompt.lineage() == {"name": "short", "version": prompt.version, "hash": prompt.sha256}
    assert prompt.render("Why?", "ctx") == "ctx\nQuestion: Why?\n"


def test_version_is_the_content_hash_and_changes_with_any_edit(tmp_path: Path) -> None:
    first = load_prompt(write(tmp_path, VALID))
    (tmp_path / "copy").mkdir()
    again = load_prompt(write(tmp_path / "copy", VALID))
    assert first.version == again.version
    assert first.path != again.path
    assert len(first.version) == 12
    assert int(first.version, 16) >= 0
    edited = load_prompt(write(tmp_path, VALID.replace("One sentence.", "One sentence. ")))
    assert edited.version != first.version


def test_prompt_is_frozen_and_hashable(tmp_path: Path) -> None:
    prompt = load_prompt(write(tmp_path, VALID))
    with pytest.raises(AttributeError):
        prompt.name = "other"  # type: ignore[misc]
    assert len({prompt, load_prompt(prompt.path)}) == 1


def test_minimal_prompt_takes_name_from_file_and_defaults(tmp_path: Path) -> None:
    prompt = load_prompt(write(tmp_path, "template: 'Q: {question}'\n", name="tiny.yml"))
    assert (prompt.name, prompt.system, prompt.description, dict(prompt.params)) == (
        "tiny",
        "",
        "",
        {},
    )


def test_literal_braces_are_allowed(tmp_path: Path) -> None:
    prompt = load_prompt(write(tmp_path, "template: 'Reply as {{\"a\": 1}} to {question}'\n"))
    assert prompt.render("q", "") == 'Reply as {"a": 1} to q'


@pytest.mark.parametrize(
    ("text", "field", "message"),
    [
        pytest.param("system: hi\n", "template", "is missing", id="missing-template"),
        pytest.param("template: null\n", "template", "is missing", id="null-template"),
        pytest.param("template: 3\n", "template", "must be a string, not int", id="int-template"),
        pytest.param(
            "template: '{question}'\nsystem: [a]\n",
            "system",
            "must be a string, not list",
            id="list-system",
        ),
        pytest.param(
            "template: '{question}'\nparams: [1, 2]\n",
            "params",
            "must be a mapping, not list",
            id="params-list",
        ),
        pytest.param(
            "template: '{question}'\nparams:\n  top_k: [1]\n",
            "params.top_k",
            "must be a string, number or boolean, not list",
            id="param-list-value",
        ),
        pytest.param(
            "template: '{question}'\nparams:\n  1: x\n",
            "params",
            "key 1 must be a string",
            id="param-int-key",
        ),
        pytest.param(
            "template: '{question}'\ntemperature: 0.2\n",
            "temperature",
            "unknown key; allowed keys: name, description, params, system, template",
            id="unknown-key",
        ),
        pytest.param(
            "template: '{question} {answer}'\n",
            "template",
            "unknown placeholder {answer}; allowed: {context}, {question}",
            id="unknown-placeholder",
        ),
        pytest.param(
            "template: '{question} {}'\n",
            "template",
            "unknown placeholder {}; allowed: {context}, {question}",
            id="positional-placeholder",
        ),
        pytest.param(
            "template: '{question.upper}'\n",
            "template",
            "unknown placeholder {question.upper}; allowed: {context}, {question}",
            id="attribute-placeholder",
        ),
        pytest.param(
            "template: '{question!r}'\n",
            "template",
            "placeholder {question} must not have a format spec or conversion",
            id="conversion",
        ),
        pytest.param(
            "template: 'Context: {context}'\n",
            "template",
            "must contain the {question} placeholder",
            id="no-question",
        ),
        pytest.param(
            "template: '{question} }'\n",
            "template",
            "is not a valid str.format template (Single '}' encountered in format string); "
            "write literal braces as {{ }}",
            id="unbalanced-brace",
        ),
        pytest.param(
            "name: other\ntemplate: '{question}'\n",
            "name",
            "'other' does not match the file name 'short.yaml'",
            id="name-mismatch",
        ),
    ],
)
def test_validation_errors_name_file_and_field(
    tmp_path: Path, text: str, field: str, message: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RagopsError) as info:
        load_prompt(path)
    assert (info.value.path, info.value.field, info.value.message) == (str(path), field, message)
    assert str(info.value) == f"{path}: {field}: {message}"
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param("- a\n- b\n", "must be a YAML mapping with a 'template' key", id="list"),
        pytest.param("", "must be a YAML mapping with a 'template' key", id="empty"),
        pytest.param("template: [unclosed\n", "is not valid YAML at line 2", id="bad-yaml"),
    ],
)
def test_file_level_errors(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(RagopsError) as info:
        load_prompt(path)
    assert str(info.value) == f"{path}: {message}"


def test_non_utf8_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"template: '{question} \xe9'\n")
    with pytest.raises(RagopsError, match=r"latin\.yaml: is not UTF-8 text$"):
        load_prompt(path)
    with pytest.raises(RagopsError, match=r"nope\.yaml: cannot read prompt file: "):
        load_prompt(tmp_path / "nope.yaml")


def test_load_prompts_sorted_by_name_ignoring_other_files(tmp_path: Path) -> None:
    write(tmp_path, "template: 'b {question}'\n", name="beta.yaml")
    write(tmp_path, "template: 'a {question}'\n", name="alpha.yml")
    write(tmp_path, "not a prompt", name="README.md")
    prompts = load_prompts(tmp_path)
    assert list(prompts) == ["alpha", "beta"]
    assert prompts["alpha"].template == "a {question}"


def test_load_prompts_errors(tmp_path: Path) -> None:
    with pytest.raises(RagopsError, match=r"missing: prompt directory does not exist$"):
        load_prompts(tmp_path / "missing")
    write(tmp_path, "template: '{question}'\n", name="dup.yaml")
    write(tmp_path, "template: '{question}'\n", name="dup.yml")
    with pytest.raises(RagopsError) as info:
        load_prompts(tmp_path)
    assert info.value.field == "name"
    assert "variant 'dup' is defined twice" in info.value.message
    (tmp_path / "empty").mkdir()
    assert load_prompts(tmp_path / "empty") == {}


def test_shipped_variants_load_and_differ() -> None:
    prompts = load_prompts(REPO / "prompts")
    assert set(prompts) >= {"baseline", "concise", "wide_context"}
    shipped = [prompts[n] for n in ("baseline", "concise", "wide_context")]
    for p in shipped:
        assert p.description
        assert "{question}" in p.template
        assert "{context}" in p.template
        assert p.version == hashlib.sha256(p.path.read_bytes()).hexdigest()[:12]
    knobs = {(p.params["top_k"], p.params["context_budget"], p.params["style"]) for p in shipped}
    assert len(knobs) == 3
    assert len({p.version for p in shipped}) == 3
