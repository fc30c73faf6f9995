from __future__ import annotations

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
