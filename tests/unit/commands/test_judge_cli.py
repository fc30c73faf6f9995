"""``ragops judge agreement``: figures, JSON, splits, and one-line errors (exit 2)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.cli import main
from pytest_ragops.judge.labels import SHIPPED, SHIPPED_TEST, load_labels

if TYPE_CHECKING:
    from pathlib import Path


def test_agreement_on_the_shipped_set_prints_every_figure(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["judge", "agreement", "shipped"]) == 0
    out = capsys.readouterr().out
    n = sum(len(load_labels(p)) for p in SHIPPED)
    assert out.startswith(f"{', '.join(map(str, SHIPPED))}: {n} items, judge offline")
    for split in ("all", "tune", "test"):
        for metric in ("faithfulness", "answer_relevancy"):
            line = next(x for x in out.splitlines() if x.startswith(f"[{split}] {metric} "))
            for stat in ("auc", "accuracy", "kappa", "spearman"):
                assert f" {stat} " in line
    assert "swapped-number" in out
    assert "(each cell: correct verdicts / items, mean score)" in out


def test_agreement_json_for_the_test_split(capsys: pytest.CaptureFixture[str]) -> None:
    # The shipped test split is the five blind files, read with the tune files as one set.
    assert main(["judge", "agreement", "shipped", "--split", "test", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert list(data["splits"]) == ["test"]
    n = sum(len(load_labels(p)) for p in SHIPPED_TEST)
    assert data["items"] == n
    faith = data["splits"]["test"]["faithfulness"]
    assert faith["threshold"] == 1.0
    assert 0.0 <= faith["auc"]["low"] <= faith["auc"]["value"] <= faith["auc"]["high"] <= 1.0
    assert sum(k["faithfulness"]["n"] for k in data["kinds"].values()) == n


def test_threshold_option_applies_to_every_metric(capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["judge", "agreement", "shipped", "--split", "tune", "--json", "--threshold", "0.3"])
        == 0
    )
    data = json.loads(capsys.readouterr().out)
    assert {m["threshold"] for m in data["splits"]["tune"].values()} == {0.3}


def test_bad_labels_file_is_one_line_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "labels.yaml"
    path.write_text(
        "items:\n- id: a\n  kind: grounded\n  question: q?\n  answer: a.\n  contexts: []\n"
        "  labels: {faithfulness: 2}\n",
        encoding="utf-8",
    )
    with pytest.raises(SystemExit) as info:
        main(["judge", "agreement", str(path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        f"ragops: error: {path}: item 1 (a): field 'labels.faithfulness': "
        "must be a number in [0, 1], got 2\n"
    )


def test_unknown_judge_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["judge", "agreement", "shipped", "--judge", "oracle"])
    assert info.value.code == 2
    assert "unknown judge 'oracle'" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["1.5", "x"])
def test_bad_threshold_is_a_usage_error(value: str) -> None:
    with pytest.raises(SystemExit) as info:
        main(["judge", "agreement", "shipped", "--threshold", value])
    assert info.value.code == 2
