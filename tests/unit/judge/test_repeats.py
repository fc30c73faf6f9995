"""Repeat spread: per-case ranges, the flag bound, missing values counted apart."""

from __future__ import annotations

import pytest

from pytest_ragops.judge.repeats import MAX_SPREAD, repeat_spread


def test_spread_flags_a_judge_that_disagrees_with_itself() -> None:
    out = repeat_spread(
        {
            "faithfulness": {"a": [0.9, 0.9, 0.9], "b": [0.5, 0.8, 0.6]},
            "answer_relevancy": {"a": [1.0, 0.95], "b": [None, 0.5]},
        }
    )
    faith = out["faithfulness"]
    assert faith["flagged"] is True
    assert faith["worst_case"] == "b"
    assert faith["max_range"] == pytest.approx(0.3)
    assert faith["mean_std"] == pytest.approx((0.0 + 0.1247219) / 2, abs=1e-6)
    rel = out["answer_relevancy"]
    assert rel["flagged"] is False
    assert rel["cases"] == 1  # b has one value left: no spread, but counted as missing
    assert rel["missing_values"] == 1
    assert rel["bound"] == MAX_SPREAD


def test_single_repeat_has_no_spread() -> None:
    out = repeat_spread({"faithfulness": {"a": [0.4]}})
    assert out["faithfulness"]["mean_std"] is None
    assert out["faithfulness"]["flagged"] is False
