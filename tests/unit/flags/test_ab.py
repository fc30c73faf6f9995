from __future__ import annotations

import random

import pytest

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags.ab import ab_report, assign_arms
from pytest_ragops.flags.store import FeatureFlags


def values(mean: float, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(mean, 0.05) for _ in range(n)]


def test_assign_arms_groups_by_variant_or_control() -> None:
    flags = FeatureFlags({"f": {"rollout_pct": 0.2, "variants": {"x": 0.5, "y": 0.5}}})
    users = [f"u{i}" for i in range(5000)]
    arms = assign_arms(flags, "f", users)
    assert set(arms) == {"control", "x", "y"}
    assert sum(len(v) for v in arms.values()) == len(users)
    assert 0.18 <= (len(arms["x"]) + len(arms["y"])) / len(users) <= 0.22
    assert all(not flags.is_enabled("f", u) for u in arms["control"])
    assert all(flags.variant("f", u) == "x" for u in arms["x"])


def test_report_detects_a_real_difference_and_not_a_null_one() -> None:
    control = {"faithfulness": values(0.80, 300, 1), "latency_s": values(1.0, 300, 2)}
    treatment = {"faithfulness": values(0.85, 100, 3), "latency_s": values(1.0, 100, 4)}
    report = ab_report(control, treatment, names=("control", "new_prompt_v3"))
    faith, latency = report.metrics
    assert faith.metric == "faithfulness"
    assert faith.significant
    assert faith.p_value is not None
    assert faith.p_value < 1e-6
    assert faith.ci95 is not None
    assert faith.diff is not None
    assert 0.0 < faith.ci95[0] < faith.diff < faith.ci95[1]
    assert faith.diff == pytest.approx(0.05, abs=0.025)
    assert not latency.significant
    assert (faith.control.n, faith.treatment.n) == (300, 100)
    text = report.render()
    assert "n new_prompt_v3" in text.splitlines()[0]
    assert text.splitlines()[-1] == "two-sided Mann-Whitney U per metric, alpha=0.05"
    assert "faithfulness" in text
    assert "yes" in text


def test_report_handles_too_few_and_constant_data() -> None:
    report = ab_report(
        {"a": [0.5], "b": [1.0, 1.0, 1.0], "c": [0.5, 0.5, 0.5]},
        {"a": [0.4, 0.6], "b": [1.0, 1.0], "c": [0.5, 0.5]},
    )
    a, b, c = report.metrics
    assert a.p_value is None
    assert a.diff is None
    assert not a.significant
    assert a.note == "fewer than 2 values in an arm: no test"
    # 0/1 values: Fisher exact, and an interval of real width (not a point: 5 samples).
    assert b.test == "fisher-exact"
    assert b.p_value == 1.0
    assert b.diff == 0.0
    assert b.ci95 is not None
    assert b.ci95[0] < -0.3
    assert b.ci95[1] > 0.3
    # Constant non-binary values: no rank information and no interval, said so.
    assert c.test == "mann-whitney"
    assert c.p_value is None
    assert c.ci95 is None
    assert c.note == "no variation in either arm: no interval"
    text = report.render()
    assert "n/a" in text
    assert "note: c: no variation in either arm: no interval" in text


def test_report_rejects_bad_alpha() -> None:
    with pytest.raises(RagopsError, match="alpha"):
        ab_report({}, {}, alpha=0)


# ----------------------------------------------------------- fail closed (issue 8)


def test_missing_values_are_counted_and_make_the_arms_differ() -> None:
    # Dropping NaN made a treatment that loses 20% of its answers look identical.
    control = {"faithfulness": [0.8] * 50 + [0.7] * 50}
    nan, inf = float("nan"), float("inf")
    treatment = {"faithfulness": [0.8] * 40 + [0.7] * 40 + [None] * 10 + [nan] * 9 + [inf]}
    (row,) = ab_report(control, treatment).metrics
    assert (row.control.missing, row.treatment.missing) == (0, 20)
    assert (row.control.n, row.treatment.n) == (100, 80)
    assert row.missing_p_value is not None
    assert row.missing_p_value < 1e-5
    assert row.significant
    assert row.note.startswith("missing 0 of 100 in control, 20 of 100 in treatment (Fisher")
    assert "note: faithfulness: missing 0 of 100" in ab_report(control, treatment).render()


def test_a_few_missing_values_on_both_sides_are_reported_not_significant() -> None:
    control = {"m": [*values(0.8, 100, 1), None]}
    treatment = {"m": [*values(0.8, 100, 2), None]}
    (row,) = ab_report(control, treatment).metrics
    assert row.missing_p_value == 1.0
    assert not row.significant
    assert "missing 1 of 101 in control, 1 of 101 in treatment" in row.note


def test_0_1_metrics_get_fisher_exact_and_a_newcombe_interval() -> None:
    report = ab_report({"success": [1.0] * 100}, {"success": [1.0] * 80 + [0.0] * 20})
    (row,) = report.metrics
    assert row.test == "fisher-exact"
    assert row.significant
    assert row.p_value is not None
    assert row.p_value < 1e-5
    assert row.diff == pytest.approx(-0.2)
    assert row.ci95 is not None
    # Welch gave a CI from the treatment's variance alone; Newcombe's excludes 0 honestly
    # and is not narrower than the treatment arm's own Wilson half-width.
    assert -0.3 < row.ci95[0] < -0.2 < row.ci95[1] < -0.1
    assert report.render().splitlines()[-1].startswith("two-sided per metric: Mann-Whitney U")
    same = ab_report({"success": [1.0] * 50}, {"success": [1.0] * 50}).metrics[0]
    assert not same.significant
    assert same.ci95 is not None
    assert same.ci95[0] < 0.0 < same.ci95[1]


@pytest.mark.parametrize("bad", [True, "0.5"])
def test_values_that_are_not_numbers_are_a_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match=r"treatment metric 'm': value 0 is .*, not a number"):
        ab_report({"m": [1.0, 0.0]}, {"m": [bad, 1.0]})  # type: ignore[list-item]
    with pytest.raises(RagopsError, match="alpha"):
        ab_report({}, {}, alpha=float("nan"))
