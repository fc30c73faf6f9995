"""Blue-green deploys under a bounded load through a real nginx: 0 failed requests either way."""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING

from deploy.load import LoadLoop
from deploy.runners import process_alive

if TYPE_CHECKING:
    from pathlib import Path

    from tests.integration.service.conftest import Stack


def _under_load(stack: Stack, *deploy_args: str) -> tuple[int, str, LoadLoop]:
    """Run one deploy while 20 requests/s go through nginx; load stops 1 s after it."""
    load = LoadLoop(stack.url, rate=20, duration_s=90).start()
    time.sleep(1.0)
    done = stack.run("deploy", *deploy_args)
    time.sleep(1.0)
    load.stop()
    return done.returncode, done.stderr + done.stdout, load


def test_good_deploy_moves_all_traffic_to_green_and_stops_blue(stack: Stack) -> None:
    blue_pid = int(stack.info()["colors"]["blue"]["pid"])
    rc, out, load = _under_load(stack, "--grace", "2")
    assert rc == 0, out
    assert load.failures() == [], load.failures()[:3]
    assert len(load.results) >= 40
    # The last second of load was all green: the switch is complete.
    tail = [r for r in load.results if r.t > load.results[-1].t - 1.0]
    assert {r.color for r in tail} == {"green"}
    assert not process_alive(blue_pid)
    info = stack.info()
    assert info["active"] == "green"
    assert set(info["colors"]) == {"green"}
    record = stack.records()[-1]
    steps = [e["step"] for e in record["events"]]
    assert record["outcome"] == "deployed"
    assert steps.index("smoke") < steps.index("switch") < steps.index("grace_over")
    assert steps.index("grace_over") < steps.index("stop")
    assert "deploy: switch" in out


def test_unhealthy_green_rolls_back_and_traffic_stays_blue(stack: Stack, tmp_path: Path) -> None:
    missing = tmp_path / "no-such-corpus"
    rc, out, load = _under_load(
        stack, "--env", f"RAGAPP_CORPUS={missing}", "--health-timeout", "30"
    )
    assert rc == 1, out
    assert "green unhealthy" in out
    assert load.failures() == [], load.failures()[:3]
    assert Counter(r.color for r in load.results) == {"blue": len(load.results)}
    info = stack.info()
    assert info["active"] == "blue"
    assert set(info["colors"]) == {"blue"}
    assert stack.records()[-1]["outcome"] == "rolled_back"


def test_green_failing_the_smoke_eval_rolls_back(stack: Stack, tmp_path: Path) -> None:
    # A healthy green serving the wrong corpus: it answers, but not the golden questions.
    wrong = tmp_path / "wrong-corpus"
    wrong.mkdir()
    (wrong / "baking.md").write_text(
        "# Baking bread\n\nKnead the dough for ten minutes until it is smooth.\n\n"
        "Let the dough rise in a warm place for an hour before baking.\n\n"
        "Bake the loaf at 220 degrees until the crust is brown.\n"
    )
    rc, out, load = _under_load(stack, "--env", f"RAGAPP_CORPUS={wrong}")
    assert rc == 1, out
    assert "failed the smoke eval" in out
    assert "context_recall" in out
    assert load.failures() == [], load.failures()[:3]
    assert {r.color for r in load.results} == {"blue"}
    assert stack.info()["active"] == "blue"
    events = stack.records()[-1]["events"]
    assert [e["passed"] for e in events if e["step"] == "smoke"] == [False]


def test_up_with_a_blue_that_never_turns_healthy_leaves_nothing_running(
    bare_stack: Stack, tmp_path: Path
) -> None:
    done = bare_stack.run(
        "up", "--listen", bare_stack.url.removeprefix("http://"),
        "--env", f"RAGAPP_CORPUS={tmp_path / 'missing'}", "--env", "RAGAPP_DRIFT_DB=off",
    )  # fmt: skip
    assert done.returncode == 1, done.stderr
    assert "blue unhealthy" in done.stderr
    assert bare_stack.info()["colors"] == {}
    assert not (bare_stack.state / "nginx" / "nginx.pid").exists()
