"""The shipped human-labelled set and the labels-file loader."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

import pytest
import yaml

from pytest_ragops.errors import RagopsError
from pytest_ragops.judge.labels import (
    SHIPPED,
    SHIPPED_HELDOUT,
    SHIPPED_HELDOUT2,
    SHIPPED_HELDOUT3,
    SHIPPED_HELDOUT4,
    SHIPPED_HELDOUT5,
    SHIPPED_HELDOUT6,
    SHIPPED_HELDOUT7,
    SHIPPED_HELDOUT8,
    SHIPPED_HELDOUT9,
    SHIPPED_HELDOUT10,
    SHIPPED_HELDOUT11,
    SHIPPED_LABELS,
    SHIPPED_TEST,
    SHIPPED_TUNE,
    SHIPPED_TUNE2,
    load_label_files,
    load_labels,
    split_of,
)

KINDS = {
    "grounded",
    "paraphrased",
    "changed-number",
    "swapped-number",
    "negated",
    "wrong-entity",
    "unsupported-addition",
    "partly-wrong",
    "abstaining",
    "off-topic",
}


def test_shipped_set_covers_the_kinds_and_domains_asked_for() -> None:
    items = load_labels(SHIPPED_LABELS)
    assert len(items) >= 60
    domains = Counter(i.domain for i in items)
    assert domains["postgresql"] >= 40
    assert len(domains) >= 2
    assert {i.kind for i in items} == KINDS
    for item in items:
        assert {"faithfulness", "answer_relevancy"} <= set(item.labels)
        assert item.sample.contexts


def test_shipped_tune_files_are_all_tune_and_the_test_files_all_test() -> None:
    # Each earlier test split was read and acted on after its one scoring, so it was
    # folded into the tune set; the test split is five blind files.
    raw = yaml.safe_load(SHIPPED_LABELS.read_text(encoding="utf-8"))["items"]
    assert {i["split"] for i in raw} == {"tune"}
    assert (*SHIPPED_TUNE, *SHIPPED_TEST) == SHIPPED
    assert SHIPPED_TUNE == (
        SHIPPED_LABELS,
        SHIPPED_HELDOUT,
        SHIPPED_TUNE2,
        SHIPPED_HELDOUT2,
        SHIPPED_HELDOUT3,
        SHIPPED_HELDOUT4,
        SHIPPED_HELDOUT5,
        SHIPPED_HELDOUT6,
    )
    assert SHIPPED_TEST == (
        SHIPPED_HELDOUT7,
        SHIPPED_HELDOUT8,
        SHIPPED_HELDOUT9,
        SHIPPED_HELDOUT10,
        SHIPPED_HELDOUT11,
    )
    for path in SHIPPED_TUNE:
        assert {i.split for i in load_labels(path)} == {"tune"}, path.name
    for path in SHIPPED_TEST:
        assert {i.split for i in load_labels(path)} == {"test"}, path.name
    ids = [i.id for path in SHIPPED for i in load_labels(path)]
    assert len(ids) == len(set(ids))  # no id in two files


def test_the_test_split_is_at_least_a_third_of_the_set() -> None:
    tune = sum(len(load_labels(p)) for p in SHIPPED_TUNE)
    test = sum(len(load_labels(p)) for p in SHIPPED_TEST)
    assert test * 3 >= tune + test


@pytest.mark.parametrize(
    "path",
    [
        SHIPPED_TUNE2,
        SHIPPED_HELDOUT2,
        SHIPPED_HELDOUT3,
        SHIPPED_HELDOUT4,
        SHIPPED_HELDOUT5,
        SHIPPED_HELDOUT6,
        SHIPPED_HELDOUT7,
        SHIPPED_HELDOUT8,
        SHIPPED_HELDOUT9,
        SHIPPED_HELDOUT10,
        SHIPPED_HELDOUT11,
    ],
    ids=lambda p: p.name,
)
def test_each_blind_set_covers_every_kind_in_domains_of_its_own(path: Path) -> None:
    items = load_labels(path)
    assert len(items) >= 60
    kinds = Counter(i.kind for i in items)
    assert min(kinds.values()) >= 6
    assert set(kinds) == KINDS
    domains = {i.domain for i in items}
    assert len(domains) == 4
    others = {i.domain for p in SHIPPED if p != path for i in load_labels(p)}
    assert not domains & others


def test_split_rule_is_stable_and_stratified() -> None:
    ids = [(f"item-{n}", "a" if n % 2 else "b") for n in range(12)]
    split = split_of(ids)
    assert split == split_of(list(reversed(ids)))
    first_a = min(
        (i for i, k in ids if k == "a"), key=lambda i: hashlib.sha256(i.encode()).hexdigest()
    )
    assert split[first_a] == "test"
    assert Counter(split.values()) == {"test": 4, "tune": 8}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "labels.yaml"
    path.write_text(text, encoding="utf-8")
    return path


GOOD = """
items:
- id: one
  kind: grounded
  question: Which port?
  answer: Port 6432.
  contexts: [PgBouncer listens on port 6432.]
  labels: {faithfulness: 1, answer_relevancy: 1}
"""


def test_loader_assigns_the_rule_when_split_is_absent(tmp_path: Path) -> None:
    (item,) = load_labels(_write(tmp_path, GOOD))
    assert item.split == "test"  # the only item of its kind has index 0
    assert item.labels == {"faithfulness": 1.0, "answer_relevancy": 1.0}


def test_file_level_split_is_the_default_for_its_items(tmp_path: Path) -> None:
    (item,) = load_labels(_write(tmp_path, "split: tune\n" + GOOD))
    assert item.split == "tune"
    path = _write(tmp_path, "split: holdout\n" + GOOD)
    with pytest.raises(RagopsError, match="field 'split' must be one of tune, test"):
        load_labels(path)


def test_several_files_load_as_one_set_and_ids_stay_unique(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    a.write_text("split: tune\n" + GOOD, encoding="utf-8")
    b = tmp_path / "b.yaml"
    b.write_text("split: test\n" + GOOD.replace("id: one", "id: two"), encoding="utf-8")
    assert [(i.id, i.split) for i in load_label_files([a, b])] == [("one", "tune"), ("two", "test")]
    b.write_text(GOOD, encoding="utf-8")
    with pytest.raises(RagopsError, match=r"b\.yaml: duplicate id 'one' \(also in .*a\.yaml\)"):
        load_label_files([a, b])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("items: [", "not valid YAML"),
        ("- a\n- b\n", "expected a mapping with an 'items' list"),
        ("items: []\n", "field 'items' must be a non-empty list"),
        (
            GOOD.replace("  question: Which port?\n", ""),
            "item 1 (one): field 'question' is missing",
        ),
        (
            GOOD.replace("faithfulness: 1,", "faithfulness: 1.5,"),
            "item 1 (one): field 'labels.faithfulness': must be a number in [0, 1], got 1.5",
        ),
        (
            GOOD.replace("faithfulness: 1,", "faithfulness: .nan,"),
            "field 'labels.faithfulness': must be a number in [0, 1]",
        ),
        (
            GOOD.replace("faithfulness: 1,", "faithfulness: yes,"),
            "field 'labels.faithfulness': must be a number in [0, 1], got True",
        ),
        (
            GOOD.replace("faithfulness: 1,", "faithfullness: 1,"),
            "field 'labels.faithfullness': unknown metric",
        ),
        (
            GOOD.replace("  kind: grounded\n", "  kind: grounded\n  split: train\n"),
            "field 'split' must be one of tune, test, got 'train'",
        ),
        (
            GOOD.replace("contexts: [PgBouncer listens on port 6432.]", "contexts: 3"),
            "field 'contexts' must be a list of strings",
        ),
        (
            GOOD.replace("  kind: grounded\n", "  kind: grounded\n  colour: red\n"),
            "unknown field 'colour'",
        ),
        (GOOD + GOOD.split("items:\n", 1)[1], "item 2: id: duplicate id 'one'"),
    ],
)
def test_bad_files_name_the_file_and_field(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(RagopsError) as info:
        load_labels(path)
    assert str(info.value).startswith(f"{path}: ")
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(RagopsError, match=r"missing\.yaml: cannot read labels file"):
        load_labels(tmp_path / "missing.yaml")
