from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

import pytest

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags.bucketing import bucket
from pytest_ragops.flags.canary import (
    DEFAULT_STEPS,
    CanaryJudge,
    CanaryRouter,
    MetricRule,
    ProgressiveRollout,
)

USERS = [f"user-{i}" for i in range(20_000)]


@dataclass
class Request:
    headers: dict[str, str] = field(default_factory=dict)


# --------------------------------------------------------------------------- router


def test_router_uses_the_shared_bucket_and_is_sticky() -> None:
    router = CanaryRouter(0.05)
    first = [router.route(u) for u in USERS]
    assert first == [router.route(u) for u in USERS]
    assert first == ["green" if bucket("canary", u) < 0.05 else "blue" for u in USERS]
    assert 0.04 <= first.count("green") / len(USERS) <= 0.06


def test_router_reads_the_x_user_id_header_in_any_case() -> None:
    router = CanaryRouter(0.5)
    for user in USERS[:200]:
        expected = router.route(user)
        assert router.route(Request({"X-User-ID": user})) == expected
        assert router.route(Request({"x-user-id": user})) == expected


def test_requests_without_a_user_id_stay_on_blue() -> None:
    router = CanaryRouter(1.0)
    assert router.route(Request()) == "blue"
    assert router.route("") == "blue"
    assert router.route("someone") == "green"


def test_router_rejects_objects_without_headers_and_bad_fractions() -> None:
    with pytest.raises(RagopsError, match="cannot route a object"):
        CanaryRouter().route(object())
    with pytest.raises(RagopsError, match="user_id: a user id must be a string, an int or None"):
        CanaryRouter().route(True)
    with pytest.raises(RagopsError, match="canary_pct: 5 is outside 0-1"):
        CanaryRouter(5)


def test_growing_the_canary_only_adds_users_and_salt_reshuffles() -> None:
    router = CanaryRouter(0.05, salt="release-7")
    small = {u for u in USERS if router.route(u) == "green"}
    router.canary_pct = 0.25
    large = {u for u in USERS if router.route(u) == "green"}
    assert small < large
    other = {u for u in USERS if CanaryRouter(0.25).route(u) == "green"}
    assert other != large


def test_zero_percent_sends_everyone_to_blue() -> None:
    router = CanaryRouter(0.0)
    assert {router.route(u) for u in USERS[:1000]} == {"blue"}


# ---------------------------------------------------------------------------- judge


def sample(mean: float, spread: float, n: int, seed: int) -> list[float]:
    rng = random.Random(seed)
    return [rng.gauss(mean, spread) for _ in range(n)]


def test_equal_canary_is_promoted() -> None:
    judge = CanaryJudge({"latency_s": MetricRule(higher_is_better=False, tolerance=0.10)})
    baseline = {"faithfulness": sample(0.80, 0.05, 200, 1), "latency_s": sample(1.0, 0.1, 200, 2)}
    canary = {"faithfulness": sample(0.80, 0.05, 200, 3), "latency_s": sample(1.0, 0.1, 200, 4)}
    verdict = judge.judge(baseline, canary)
    assert verdict.decision == "promote", verdict.reasons
    assert [m.outcome for m in verdict.metrics] == ["pass", "pass"]


def test_clearly_worse_canary_is_rolled_back_with_reasons() -> None:
    judge = CanaryJudge()
    verdict = judge.judge(
        {"faithfulness": sample(0.85, 0.05, 100, 1)}, {"faithfulness": sample(0.60, 0.05, 100, 2)}
    )
    assert verdict.decision == "rollback"
    assert verdict.reasons[0] == "1 metric(s) failed (allowed: 0)"
    assert "faithfulness: canary median" in verdict.reasons[1]
    assert "worse beyond the band" in verdict.reasons[1]


def test_slower_canary_fails_a_lower_is_better_metric() -> None:
    judge = CanaryJudge({"latency_s": MetricRule(higher_is_better=False, critical=True)})
    verdict = judge.judge(
        {"latency_s": sample(1.0, 0.1, 100, 1)}, {"latency_s": sample(1.5, 0.1, 100, 2)}
    )
    assert verdict.decision == "rollback"
    assert verdict.reasons[0].startswith("critical metric latency_s")


def test_small_noisy_samples_are_inconclusive() -> None:
    judge = CanaryJudge(min_samples=5, default_rule=MetricRule(tolerance=0.0))
    verdict = judge.judge(
        {"faithfulness": sample(0.80, 0.2, 8, 1)}, {"faithfulness": sample(0.78, 0.2, 8, 2)}
    )
    assert verdict.decision == "inconclusive"
    assert verdict.metrics[0].outcome == "inconclusive"


def test_missing_data_on_a_critical_metric_rolls_back() -> None:
    judge = CanaryJudge({"faithfulness": MetricRule(critical=True)})
    verdict = judge.judge({"faithfulness": [0.9] * 50}, {"faithfulness": [0.9] * 3})
    assert verdict.decision == "rollback"
    assert verdict.metrics[0].outcome == "nodata"
    assert "not enough samples (50 baseline, 3 canary; need 20 each)" in verdict.reasons[1]


def test_missing_data_on_a_normal_metric_is_inconclusive() -> None:
    verdict = CanaryJudge().judge({"m": sample(1, 0.1, 50, 1)}, {})
    assert verdict.decision == "inconclusive"
    assert CanaryJudge().judge({}, {}).decision == "inconclusive"


def test_non_critical_failures_can_be_allowed() -> None:
    judge = CanaryJudge(max_failures=1)
    baseline = {"a": sample(0.9, 0.02, 60, 1), "b": sample(0.9, 0.02, 60, 2)}
    canary = {"a": sample(0.5, 0.02, 60, 3), "b": sample(0.9, 0.02, 60, 4)}
    verdict = judge.judge(baseline, canary)
    assert verdict.decision == "inconclusive"
    assert [m.outcome for m in verdict.metrics] == ["fail", "pass"]


def test_latency_and_cost_default_to_lower_is_better() -> None:
    verdict = CanaryJudge().judge(
        {"latency_s": sample(1.0, 0.05, 60, 1), "cost_usd": sample(0.010, 0.001, 60, 2)},
        {"latency_s": sample(0.8, 0.05, 60, 3), "cost_usd": sample(0.020, 0.001, 60, 4)},
    )
    outcomes = {m.metric: m.outcome for m in verdict.metrics}
    assert outcomes == {"cost_usd": "fail", "latency_s": "pass"}
    assert verdict.decision == "rollback"


def test_judge_rejects_bad_settings() -> None:
    with pytest.raises(RagopsError, match="alpha"):
        CanaryJudge(alpha=1.5)
    with pytest.raises(RagopsError, match="min_samples"):
        CanaryJudge(min_samples=1)


# -------------------------------------------------------------------------- rollout


def test_progressive_rollout_steps_on_promote_and_drives_the_router() -> None:
    router = CanaryRouter(0.0)
    rollout = ProgressiveRollout(router)
    assert DEFAULT_STEPS == (0.05, 0.25, 0.5, 1.0)
    assert router.canary_pct == 0.05
    seen = [rollout.advance(d) for d in ("promote", "inconclusive", "promote", "promote")]
    assert seen == [0.25, 0.25, 0.5, 1.0]
    assert rollout.finished
    assert router.canary_pct == 1.0
    assert rollout.advance("rollback") == 1.0  # finished: later verdicts change nothing


def test_progressive_rollout_rolls_back_to_zero() -> None:
    router = CanaryRouter(0.0)
    rollout = ProgressiveRollout(router)
    rollout.advance("promote")
    assert rollout.advance("rollback") == 0.0
    assert rollout.finished
    assert rollout.rolled_back
    assert router.canary_pct == 0.0
    assert rollout.history == [("promote", 0.25), ("rollback", 0.0)]


def test_progressive_rollout_validates_input() -> None:
    with pytest.raises(RagopsError, match="increasing"):
        ProgressiveRollout(steps=(0.5, 0.25))
    with pytest.raises(RagopsError, match="unknown decision 'ship'"):
        ProgressiveRollout().advance("ship")


# ----------------------------------------------------------- fail closed (issue 8)


def test_router_sends_anonymous_users_to_blue_and_stringifies_ints() -> None:
    router = CanaryRouter(1.0)
    assert router.route(None) == "blue"
    assert router.route(Request({"X-User-ID": ""})) == "blue"
    assert router.route(7) == "green"
    half = CanaryRouter(0.5)
    assert [half.route(i) for i in range(500)] == [half.route(str(i)) for i in range(500)]


def test_canary_at_80_percent_success_against_100_rolls_back() -> None:
    # The Mann-Whitney band shift turned 0/1 into 1.05/0.05 and promoted this canary.
    verdict = CanaryJudge().judge({"success": [1.0] * 100}, {"success": [1.0] * 80 + [0.0] * 20})
    assert verdict.decision == "rollback"
    (result,) = verdict.metrics
    assert (result.outcome, result.kind, result.test) == (
        "fail",
        "proportion",
        "farrington-manning",
    )
    assert (result.baseline_mean, result.canary_mean) == (1.0, 0.8)
    assert result.p_worse is not None
    assert result.p_worse < 1e-3
    assert verdict.summary.startswith(
        "rollback: 1 metric(s) failed (allowed: 0); success: canary 80.0% of 100 vs baseline "
        "100.0% of 100 (higher is better), Farrington-Manning non-inferiority, margin 5 pts: "
        "worse beyond the band (p="
    )
    assert "\n" not in verdict.summary


@pytest.mark.parametrize("value", [1.0, 0.0])
def test_equal_0_1_arms_promote(value: float) -> None:
    verdict = CanaryJudge().judge({"success": [value] * 100}, {"success": [value] * 100})
    assert verdict.decision == "promote", verdict.summary
    rng = random.Random(5)
    base = [float(rng.random() < 0.9) for _ in range(400)]
    verdict = CanaryJudge().judge({"success": base}, {"success": list(reversed(base))})
    assert verdict.decision == "promote", verdict.summary


def test_error_rates_are_lower_is_better_proportions() -> None:
    judge = CanaryJudge()
    worse = judge.judge({"error_rate": [0.0] * 100}, {"error_rate": [0.0] * 80 + [1.0] * 20})
    assert worse.decision == "rollback"
    assert "(lower is better)" in worse.summary
    same = judge.judge({"error_rate": [0.0] * 100}, {"error_rate": [0.0] * 100})
    assert same.decision == "promote"
    assert same.metrics[0].kind == "proportion"


def test_missing_canary_samples_count_as_failures_for_proportions() -> None:
    # 90 successes + 10 NaN/None: dropping them showed a perfect canary.
    canary = [1.0] * 90 + [float("nan")] * 5 + [None] * 5
    verdict = CanaryJudge().judge({"success": [1.0] * 100}, {"success": canary})
    assert verdict.decision == "rollback", verdict.summary
    result = verdict.metrics[0]
    assert (result.canary_missing, result.canary_mean) == (10, 0.9)
    assert "[10 missing canary sample(s) counted as worst]" in result.reason


def test_missing_canary_samples_count_against_a_continuous_canary() -> None:
    base = sample(0.80, 0.05, 100, 1)
    canary = sample(0.80, 0.05, 90, 2) + [float("nan")] * 5 + [None] * 4 + [float("inf")]
    verdict = CanaryJudge().judge({"faithfulness": base}, {"faithfulness": canary})
    assert verdict.decision == "rollback", verdict.summary
    (result,) = verdict.metrics
    assert result.canary_missing == 10
    assert "present 90.0% vs 100.0% (Farrington-Manning, margin 5 pts): worse" in result.reason
    # The same canary with every sample present is promoted: the missing ones decided.
    full = CanaryJudge().judge({"faithfulness": base}, {"faithfulness": sample(0.80, 0.05, 100, 2)})
    assert full.decision == "promote", full.summary


def test_an_all_missing_canary_is_not_nodata_but_a_failure() -> None:
    verdict = CanaryJudge().judge(
        {"faithfulness": sample(0.8, 0.05, 50, 1)}, {"faithfulness": [None] * 50}
    )
    assert verdict.decision == "rollback"
    assert verdict.metrics[0].outcome == "fail"


def test_missing_baseline_samples_are_left_out_and_named() -> None:
    base = [*sample(0.80, 0.05, 100, 1), None, float("nan")]
    verdict = CanaryJudge().judge(
        {"faithfulness": base}, {"faithfulness": sample(0.8, 0.05, 100, 2)}
    )
    result = verdict.metrics[0]
    assert result.baseline_missing == 2
    assert "2 missing baseline sample(s) left out" in result.reason


def test_discrete_ratings_use_means_not_shifted_ranks() -> None:
    judge = CanaryJudge()
    rng = random.Random(3)
    base = [float(rng.choice([4, 5])) for _ in range(200)]
    worse = judge.judge({"rating": base}, {"rating": [4.0] * 200})
    assert worse.metrics[0].kind == "discrete"
    assert worse.metrics[0].test == "welch-t"
    assert worse.decision == "rollback", worse.summary
    same = judge.judge({"rating": base}, {"rating": list(reversed(base))})
    assert same.decision == "promote", same.summary
    constant = judge.judge({"rating": [5.0] * 30}, {"rating": [5.0] * 30})
    assert constant.decision == "promote"
    assert "no variation in either arm" in constant.summary


def test_kind_can_be_forced_and_a_proportion_rejects_other_values() -> None:
    judge = CanaryJudge({"m": MetricRule(kind="proportion")})
    with pytest.raises(ValueError, match="metric 'm': a proportion metric takes 0/1 values only"):
        judge.judge({"m": [0.5] * 30}, {"m": [0.5] * 30})
    continuous = CanaryJudge({"m": MetricRule(kind="continuous")})
    assert continuous.judge({"m": [1.0] * 30}, {"m": [1.0] * 30}).metrics[0].test == "mann-whitney"


def test_farrington_manning_matches_the_restricted_likelihood_by_grid_search() -> None:
    import numpy as np
    from scipy.special import xlogy
    from scipy.stats import norm

    from pytest_ragops.flags.canary import farrington_manning

    for x_c, n_c, x_b, n_b, margin in [
        (80, 100, 100, 100, 0.05),
        (100, 100, 100, 100, 0.05),
        (45, 60, 50, 60, 0.1),
        (0, 30, 0, 30, 0.05),
        (95, 100, 97, 100, 0.05),
    ]:
        p_b = np.linspace(margin, 1.0, 400_001)
        p_c = p_b - margin
        ll = (
            xlogy(x_c, p_c)
            + xlogy(n_c - x_c, 1 - p_c)
            + xlogy(x_b, p_b)
            + xlogy(n_b - x_b, 1 - p_b)
        )
        i = int(np.nanargmax(ll))
        se = math.sqrt(p_c[i] * (1 - p_c[i]) / n_c + p_b[i] * (1 - p_b[i]) / n_b)
        expected = float(norm.sf((x_c / n_c - x_b / n_b + margin) / se))
        got = farrington_manning(x_c, n_c, x_b, n_b, margin)
        assert got == pytest.approx(expected, abs=1e-4), (x_c, n_c, x_b, n_b, margin)
    assert farrington_manning(10, 10, 10, 10, 0.0) is None  # no variation, no margin


@pytest.mark.parametrize("bad", [True, "0.9", b"1"])
def test_samples_that_are_not_numbers_are_a_value_error(bad: object) -> None:
    with pytest.raises(ValueError, match=r"canary metric 'm': sample 1 is .*, not a number"):
        CanaryJudge().judge({"m": [1.0] * 30}, {"m": [1.0, bad]})  # type: ignore[list-item]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tolerance": float("nan")}, "tolerance: nan must be a finite number >= 0"),
        ({"tolerance": -0.1}, "tolerance: -0.1 must be"),
        ({"tolerance": True}, "tolerance: True must be"),
        ({"higher_is_better": "yes"}, "higher_is_better: must be true or false"),
        ({"kind": "ordinal"}, "kind: unknown kind 'ordinal'"),
    ],
)
def test_metric_rules_are_validated(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        MetricRule(**kwargs)  # type: ignore[arg-type]


def test_judge_rejects_nan_alpha_and_negative_max_failures() -> None:
    with pytest.raises(RagopsError, match="alpha"):
        CanaryJudge(alpha=float("nan"))
    with pytest.raises(RagopsError, match="max_failures"):
        CanaryJudge(max_failures=-1)
    with pytest.raises(RagopsError, match="min_samples"):
        CanaryJudge(min_samples=True)
