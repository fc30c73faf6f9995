"""Canary rollouts through nginx's njs router: sticky users, promotion, rollback on errors."""

from __future__ import annotations

import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

from deploy.load import LoadLoop, Result

from pytest_ragops.flags import CanaryRouter

if TYPE_CHECKING:
    from tests.integration.service.conftest import Stack

# Loopback-sized judging: 15 requests per colour and bands wide enough for a loaded
# 2-core CI machine, where latency jitters far more than the two equal builds differ.
CANARY_ARGS = (
    "--canary", "--grace", "1", "--window", "1", "--step-timeout", "25", "--min-samples", "15",
    "--error-tolerance", "0.1", "--latency-tolerance", "1.0", "--score-tolerance", "0.1",
)  # fmt: skip


def _canary(stack: Stack, *extra: str) -> tuple[int, str, list[Result], dict[str, Any]]:
    load = LoadLoop(stack.url, rate=40, duration_s=120, users=200).start()
    time.sleep(1.0)
    done = stack.run("deploy", *CANARY_ARGS, *extra)
    time.sleep(1.0)
    return done.returncode, done.stderr + done.stdout, load.stop(), stack.records()[-1]


def _steps(record: dict[str, Any]) -> list[tuple[float, float]]:
    """(start epoch, fraction) of each canary step."""
    return [
        (datetime.fromisoformat(e["t"]).timestamp(), float(e["canary_pct"]))
        for e in record["events"]
        if e["step"] == "canary_step"
    ]


def _check_sticky(results: list[Result], record: dict[str, Any]) -> None:
    """Inside each step every user got the colour CanaryRouter gives them, so a user on
    green at 5% is on green at 25% and 50%; no identified user ever moves back to blue."""
    steps = _steps(record)
    ends = [t for t, _ in steps[1:]] + [float("inf")]
    verdicts = [datetime.fromisoformat(e["t"]).timestamp() for e in record["events"]
                if e["step"] == "verdict"]  # fmt: skip
    for (start, pct), end, verdict in zip(steps, ends, verdicts, strict=False):
        router = CanaryRouter(pct)
        window = [r for r in results if start < r.t < min(end, verdict) and r.user]
        assert window, f"no requests at {pct:.0%}"
        wrong = [r for r in window if r.status == 200 and r.color != router.route(r.user)]
        assert not wrong, wrong[:3]


def test_equal_versions_promote_to_100_percent_with_sticky_users(stack: Stack) -> None:
    rc, out, results, record = _canary(stack)
    assert rc == 0, out
    assert [pct for _, pct in _steps(record)] == [0.05, 0.25, 0.5]
    verdicts = [e["decision"] for e in record["events"] if e["step"] == "verdict"]
    assert verdicts == ["promote", "promote", "promote"]
    assert [r for r in results if r.status != 200] == []
    _check_sticky(results, record)
    first_green: dict[str, float] = {}
    for r in sorted(results, key=lambda r: r.t):
        if r.user and r.color == "green":
            first_green.setdefault(r.user, r.t)
        elif r.user in first_green:
            raise AssertionError(f"{r.user} went back to blue after green: {r}")
    tail = [r for r in results if r.t > results[-1].t - 0.5]
    assert {r.color for r in tail} == {"green"}  # 100%: everyone, anonymous too
    assert stack.info()["active"] == "green"
    assert out.count("deploy: verdict") == 3


def test_green_with_raised_error_rate_rolls_back_to_zero(stack: Stack) -> None:
    rc, out, results, record = _canary(stack, "--env", "RAGAPP_FAULT_ERROR_RATE=0.5")
    assert rc == 1, out
    assert "canary verdict at 5%: rollback" in out
    assert "error_rate" in out
    verdict = next(e for e in record["events"] if e["step"] == "verdict")
    assert verdict["decision"] == "rollback"
    _check_sticky(results, record)
    rolled_back = datetime.fromisoformat(
        next(e["t"] for e in record["events"] if e["step"] == "rollback")
    ).timestamp()
    after = [r for r in results if r.t > rolled_back + 1.0]
    assert after
    assert {r.color for r in after} == {"blue"}  # 0% on green
    assert all(r.status == 200 for r in after)
    assert stack.info()["active"] == "blue"
    assert set(stack.info()["colors"]) == {"blue"}
