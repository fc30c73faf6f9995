from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

import pytest_ragops
from pytest_ragops.cases import Case, load_cases
from pytest_ragops.errors import RagopsError


def _yaml(tmp_path: Path, data: object, name: str = "golden.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _jsonl(tmp_path: Path, rows: list[object], name: str = "golden.jsonl") -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def _error(path: Path) -> RagopsError:
    with pytest.raises(RagopsError) as info:
        load_cases(path)
    return info.value


FULL: dict[str, Any] = {
    "id": "backup-1",
    "question": "How do I take a base backup?",
    "reference": "Use pg_basebackup.",
    "reference_contexts": ["pg_basebackup makes a base backup."],
    "tags": ["backup", "easy"],
    "metadata": {"owner": "dba", "priority": 2},
}


def test_yaml_list_loads_every_field(tmp_path: Path) -> None:
    cases = load_cases(_yaml(tmp_path, [FULL, {"question": "What is VACUUM?"}]))
    assert cases == [
        Case(
            id="backup-1",
            question="How do I take a base backup?",
            reference="Use pg_basebackup.",
            reference_contexts=("pg_basebackup makes a base backup.",),
            tags=("backup", "easy"),
            metadata={"owner": "dba", "priority": 2},
        ),
        Case(id="case-2", question="What is VACUUM?"),
    ]


def test_yaml_mapping_with_cases_key(tmp_path: Path) -> None:
    cases = load_cases(_yaml(tmp_path, {"cases": [FULL]}, name="golden.yml"))
    assert [c.id for c in cases] == ["backup-1"]


def test_jsonl_loads_and_skips_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "golden.jsonl"
    path.write_text(
        json.dumps(FULL) + "\n\n   \n" + json.dumps({"question": "q2?"}) + "\n", encoding="utf-8"
    )
    cases = load_cases(path)
    assert [c.id for c in cases] == ["backup-1", "case-4"]  # JSONL numbers cases by line
    assert cases[0].tags == ("backup", "easy")


def test_suffix_is_case_insensitive_and_str_path_works(tmp_path: Path) -> None:
    path = _yaml(tmp_path, [FULL], name="GOLDEN.YAML")
    assert load_cases(str(path))[0].id == "backup-1"


def test_integer_id_becomes_string(tmp_path: Path) -> None:
    assert load_cases(_yaml(tmp_path, [{"id": 7, "question": "q?"}]))[0].id == "7"


def test_null_metadata_and_lists_default_to_empty(tmp_path: Path) -> None:
    data = [{"question": "q?", "metadata": None, "tags": None, "reference_contexts": None}]
    case = load_cases(_yaml(tmp_path, data))[0]
    assert (case.metadata, case.tags, case.reference_contexts) == ({}, (), ())


def test_to_dict_is_plain_json(tmp_path: Path) -> None:
    case = load_cases(_yaml(tmp_path, [FULL]))[0]
    assert case.to_dict() == FULL
    assert json.loads(json.dumps(case.to_dict())) == FULL


def test_public_reexport() -> None:
    assert pytest_ragops.load_cases is load_cases
    assert pytest_ragops.Case is Case


def test_case_is_frozen() -> None:
    case = Case(id="a", question="q")
    with pytest.raises(AttributeError):
        case.question = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        pytest.param(
            [{"id": "a", "question": "q"}, {"answer": "x"}],
            "case 2: unknown field 'answer' (allowed: id, metadata, question, reference, "
            "reference_contexts, tags)",
            id="unknown-field",
        ),
        pytest.param([{"id": "a"}], "case 1: field 'question' is missing", id="no-question"),
        pytest.param([{"question": None}], "case 1: field 'question' is missing", id="null-q"),
        pytest.param([{"question": "   "}], "case 1: field 'question' is empty", id="blank-q"),
        pytest.param(
            [{"question": 42}], "case 1: field 'question' must be a string, got int", id="int-q"
        ),
        pytest.param(
            [{"question": "q", "id": True}],
            "case 1: field 'id' must be a string, got bool",
            id="bool-id",
        ),
        pytest.param(
            [{"question": "q", "id": 1.5}],
            "case 1: field 'id' must be a string, got float",
            id="float-id",
        ),
        pytest.param([{"question": "q", "id": " "}], "case 1: field 'id' is empty", id="blank-id"),
        pytest.param(
            [{"question": "q", "reference": ["a"]}],
            "case 1: field 'reference' must be a string, got list",
            id="list-reference",
        ),
        pytest.param(
            [{"question": "q", "tags": "a"}],
            "case 1: field 'tags' must be a list of strings, got str",
            id="str-tags",
        ),
        pytest.param(
            [{"question": "q", "reference_contexts": ["ok", 3]}],
            "case 1: field 'reference_contexts' item 2 must be a string, got int",
            id="int-context",
        ),
        pytest.param(
            [{"question": "q", "metadata": [1]}],
            "case 1: field 'metadata' must be a mapping, got list",
            id="list-metadata",
        ),
        pytest.param(["just text"], "case 1: expected a mapping, got str", id="not-a-mapping"),
        pytest.param(
            [
                {"id": "x", "question": "q"},
                {"id": "y", "question": "q"},
                {"id": "x", "question": "q"},
            ],
            "case 3: duplicate id 'x' (first used by case 1)",
            id="duplicate-id",
        ),
        pytest.param(
            [{"id": 1, "question": "q"}, {"id": "1", "question": "q"}],
            "case 2: duplicate id '1' (first used by case 1)",
            id="duplicate-after-str",
        ),
        pytest.param({"other": 1}, "a mapping at the top level needs a 'cases' list", id="no-key"),
        pytest.param({"cases": "x"}, "cases: expected a list of cases, got str", id="cases-str"),
        pytest.param(5, "cases: expected a list of cases, got int", id="scalar"),
        pytest.param([], "no cases found", id="empty-list"),
        pytest.param({"cases": None}, "no cases found", id="null-cases"),
    ],
)
def test_yaml_errors_name_file_and_case(tmp_path: Path, data: object, expected: str) -> None:
    path = _yaml(tmp_path, data)
    assert str(_error(path)) == f"{path}: {expected}"


def test_empty_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "golden.yaml"
    path.write_text("", encoding="utf-8")
    assert str(_error(path)) == f"{path}: no cases found"


def test_invalid_yaml_names_line(tmp_path: Path) -> None:
    path = tmp_path / "golden.yaml"
    path.write_text("- question: ok\n- question: [unclosed\n", encoding="utf-8")
    err = _error(path)
    assert err.path == str(path)
    assert err.field is not None
    assert err.field.startswith("line ")
    assert err.message.startswith("invalid YAML: ")
    assert "\n" not in str(err)


def test_invalid_jsonl_names_line(tmp_path: Path) -> None:
    path = tmp_path / "golden.jsonl"
    path.write_text('{"question": "a"}\n{"question": \n', encoding="utf-8")
    err = _error(path)
    assert (err.path, err.field) == (str(path), "line 2")
    assert err.message.startswith("invalid JSON: ")


def test_jsonl_errors_use_line_numbers(tmp_path: Path) -> None:
    path = _jsonl(tmp_path, [{"question": "a"}, {"question": 3}])
    assert str(_error(path)) == f"{path}: case 2: field 'question' must be a string, got int"


def test_empty_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "golden.jsonl"
    path.write_text("\n\n", encoding="utf-8")
    assert str(_error(path)) == f"{path}: no cases found"


def test_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    assert str(_error(path)) == f"{path}: case file not found"


def test_directory_is_unreadable(tmp_path: Path) -> None:
    path = tmp_path / "dir.yaml"
    path.mkdir()
    assert str(_error(path)).startswith(f"{path}: cannot read case file (")


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "golden.yaml"
    path.write_bytes(b"- question: \xff\xfe\n")
    assert str(_error(path)) == f"{path}: cannot read case file (UnicodeDecodeError)"


def test_unsupported_suffix(tmp_path: Path) -> None:
    path = tmp_path / "golden.json"
    path.write_text("[]", encoding="utf-8")
    assert str(_error(path)) == (
        f"{path}: unsupported case file type '.json'; use .yaml, .yml or .jsonl"
    )
