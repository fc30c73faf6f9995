from __future__ import annotations

import threading
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags.swap import BlueGreenSwitch, IndexSwapper, SwitchResult, http_health_check

if TYPE_CHECKING:
    from collections.abc import Callable

    from pytest_httpserver import HTTPServer

Index = dict[str, str]


def non_empty(index: Index) -> bool:
    return bool(index)


def test_build_verify_swap_and_rollback() -> None:
    swapper: IndexSwapper[Index] = IndexSwapper({"v": "1"}, smoke_check=non_empty)
    swapper.build(lambda: {"v": "2"})
    assert swapper.current() == {"v": "1"}  # staging is invisible until the swap
    assert swapper.staging == {"v": "2"}
    assert swapper.swap() == {"v": "1"}
    assert swapper.current() == {"v": "2"}
    assert swapper.previous == {"v": "1"}
    assert swapper.rollback() == {"v": "1"}
    assert swapper.current() == {"v": "1"}
    assert swapper.previous == {"v": "2"}
    assert swapper.generation == 2


def test_failed_smoke_check_keeps_the_live_index() -> None:
    swapper: IndexSwapper[Index] = IndexSwapper({"v": "1"}, smoke_check=non_empty)
    with pytest.raises(RagopsError, match="staging: smoke check failed, staging discarded"):
        swapper.build_and_swap(dict)
    assert swapper.current() == {"v": "1"}
    assert swapper.staging is None


def test_a_raising_check_is_a_failure_with_its_message() -> None:
    def broken(index: Index) -> bool:
        raise KeyError("probe")

    swapper: IndexSwapper[Index] = IndexSwapper({"v": "1"})
    with pytest.raises(RagopsError, match="KeyError: 'probe'"):
        swapper.build_and_swap(lambda: {"v": "2"}, broken)
    assert swapper.current() == {"v": "1"}


def test_swap_verifies_if_not_yet_verified_and_first_swap_works() -> None:
    swapper: IndexSwapper[Index] = IndexSwapper(smoke_check=non_empty)
    with pytest.raises(RagopsError, match="no live index yet"):
        swapper.current()
    swapper.build(dict)
    with pytest.raises(RagopsError, match="smoke check failed"):
        swapper.swap()
    assert swapper.build_and_swap(lambda: {"v": "1"}) is None
    assert swapper.current() == {"v": "1"}


def test_misuse_is_reported() -> None:
    swapper: IndexSwapper[Index] = IndexSwapper({"v": "1"})
    with pytest.raises(RagopsError, match="nothing in staging"):
        swapper.swap()
    with pytest.raises(RagopsError, match="nothing in staging"):
        swapper.verify()
    with pytest.raises(RagopsError, match="no previous index"):
        swapper.rollback()
    with pytest.raises(RagopsError, match="builder returned None"):
        swapper.build(lambda: None)  # type: ignore[arg-type,return-value]


# ---------------------------------------------------------------------- blue-green


def test_switch_goes_to_a_healthy_idle_side() -> None:
    checked: list[str] = []
    switch = BlueGreenSwitch({"blue": "b", "green": "g"}, checked.append)
    result = switch.switch()
    assert (result.switched, result.active, result.rolled_back) == (True, "green", False)
    assert switch.target() == "g"
    assert switch.idle == "blue"
    assert checked == ["g", "g"]  # before and after the switch; None counts as healthy


def test_switch_refuses_an_unhealthy_idle_side() -> None:
    switch = BlueGreenSwitch({"blue": "b", "green": "g"}, lambda t: t == "b")
    result = switch.switch()
    assert (result.switched, result.active) == (False, "blue")
    assert result.reason.startswith("green is unhealthy, not switching")


def test_switch_rolls_back_when_the_new_side_fails_after_the_switch() -> None:
    calls: list[str] = []

    def flaky(target: str) -> bool:
        calls.append(target)
        return len(calls) == 1  # healthy before the switch, broken right after

    switch = BlueGreenSwitch({"blue": "b", "green": "g"}, flaky)
    result = switch.switch()
    assert (result.switched, result.active, result.rolled_back) == (False, "blue", True)
    assert "rolled back to blue" in result.reason
    assert switch.rollback().active == "green"


def test_switch_validates_targets() -> None:
    with pytest.raises(RagopsError, match="exactly 'blue' and 'green'"):
        BlueGreenSwitch({"blue": "b"}, bool)
    with pytest.raises(RagopsError, match="active must be"):
        BlueGreenSwitch({"blue": "b", "green": "g"}, bool, active="red")  # type: ignore[arg-type]


def test_http_health_check_against_a_local_server(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/green/health").respond_with_data("ok")
    httpserver.expect_request("/blue/health").respond_with_data("down", status=503)
    switch = BlueGreenSwitch(
        {"blue": httpserver.url_for("/blue"), "green": httpserver.url_for("/green")},
        http_health_check(timeout=5),
        active="blue",
    )
    assert switch.switch().active == "green"
    assert not switch.switch().switched  # blue answers 503
    assert http_health_check(timeout=0.5)("http://127.0.0.1:9") is False


# ------------------------------------------------------------ concurrency (issue 8)

WAIT = 10.0  # seconds an event may take before the test fails (never a timed assertion)


def test_rollback_is_not_blocked_by_a_slow_smoke_check() -> None:
    in_check, release = threading.Event(), threading.Event()

    def slow_check(index: Index) -> bool:
        in_check.set()
        return release.wait(WAIT)

    swapper: IndexSwapper[Index] = IndexSwapper({"v": "1"})
    swapper.build_and_swap(lambda: {"v": "2"})
    builder = threading.Thread(target=swapper.build_and_swap, args=(lambda: {"v": "3"}, slow_check))
    builder.start()
    try:
        assert in_check.wait(WAIT)
        rolled_back = threading.Event()

        def do_rollback() -> None:
            swapper.rollback()
            rolled_back.set()

        threading.Thread(target=do_rollback).start()
        # The check is still blocked; on the old code rollback() waited for its lock.
        assert rolled_back.wait(WAIT), "rollback() waited for the smoke check"
        assert not release.is_set()
        assert swapper.current() == {"v": "1"}
    finally:
        release.set()
        builder.join(WAIT)
    assert swapper.current() == {"v": "3"}  # the build went live after its check passed


def test_step_api_verify_runs_the_check_outside_the_lock() -> None:
    in_check, release = threading.Event(), threading.Event()

    def slow_check(index: Index) -> bool:
        in_check.set()
        return release.wait(WAIT)

    swapper: IndexSwapper[Index] = IndexSwapper({"v": "1"}, smoke_check=slow_check)
    swapper.build_and_swap(lambda: {"v": "2"}, non_empty)
    swapper.build(lambda: {"v": "3"})
    verifier = threading.Thread(target=swapper.verify)
    verifier.start()
    try:
        assert in_check.wait(WAIT)
        assert swapper.rollback() == {"v": "1"}
    finally:
        release.set()
        verifier.join(WAIT)
    assert swapper.swap() == {"v": "1"}
    assert swapper.current() == {"v": "3"}


def test_concurrent_build_and_swap_each_check_and_publish_their_own_index() -> None:
    a_building, a_may_return = threading.Event(), threading.Event()
    b_in_check, a_checked = threading.Event(), threading.Event()
    checked: dict[str, Index] = {}
    errors: list[BaseException] = []

    def build_a() -> Index:
        a_building.set()
        assert a_may_return.wait(WAIT)
        return {"v": "A"}

    def check_a(index: Index) -> bool:
        checked["a"] = index
        a_checked.set()
        return True

    def build_b() -> Index:
        a_may_return.set()  # A's build finishes while B is being checked
        return {"v": "B"}

    def check_b(index: Index) -> bool:
        checked["b"] = index
        b_in_check.set()
        return a_checked.wait(WAIT)  # old code: A is blocked on the lock, this times out

    swapper: IndexSwapper[Index] = IndexSwapper({"v": "0"})

    def run(builder: Callable[[], Index], check: Callable[[Index], bool]) -> None:
        try:
            swapper.build_and_swap(builder, check)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    first = threading.Thread(target=run, args=(build_a, check_a))
    first.start()
    assert a_building.wait(WAIT)  # A holds the older ticket and waits in its builder
    second = threading.Thread(target=run, args=(build_b, check_b))
    second.start()
    first.join(WAIT)
    second.join(WAIT)
    assert checked == {"a": {"v": "A"}, "b": {"v": "B"}}  # each check saw its own index
    assert b_in_check.is_set()
    # The newest build is live whichever call publishes first; A either went live before
    # B or, finishing after B, was superseded instead of replacing newer data.
    assert swapper.current() == {"v": "B"}
    if errors:
        assert [str(e) for e in errors] == [
            "index: build #1 was superseded: build #2, started later, is already live; "
            "not publishing the older index"
        ]
        assert swapper.generation == 1
    else:
        assert swapper.previous == {"v": "A"}
        assert swapper.generation == 2


def test_an_older_build_finishing_last_is_superseded_not_published() -> None:
    release_old = threading.Event()
    errors: list[BaseException] = []
    swapper: IndexSwapper[Index] = IndexSwapper({"v": "0"})
    started = threading.Event()

    def old_builder() -> Index:
        started.set()
        assert release_old.wait(WAIT)
        return {"v": "old"}

    def run_old() -> None:
        try:
            swapper.build_and_swap(old_builder)
        except RagopsError as exc:
            errors.append(exc)

    old = threading.Thread(target=run_old)
    old.start()
    assert started.wait(WAIT)
    swapper.build_and_swap(lambda: {"v": "new"})
    release_old.set()
    old.join(WAIT)
    assert swapper.current() == {"v": "new"}  # old code: the stale index went live
    assert [str(e) for e in errors] == [
        "index: build #1 was superseded: build #2, started later, is already live; "
        "not publishing the older index"
    ]


def test_blue_green_rollback_is_not_blocked_by_a_slow_health_check() -> None:
    in_check, release = threading.Event(), threading.Event()

    def slow_health(target: str) -> bool:
        if target == "g":
            in_check.set()
            return release.wait(WAIT)
        return True

    switch = BlueGreenSwitch({"blue": "b", "green": "g"}, slow_health)
    results: list[SwitchResult] = []
    switcher = threading.Thread(target=lambda: results.append(switch.switch()))
    switcher.start()
    try:
        assert in_check.wait(WAIT)
        done = threading.Event()

        def do_rollback() -> None:
            switch.rollback()
            done.set()

        threading.Thread(target=do_rollback).start()
        assert done.wait(WAIT), "rollback() waited for the health check"
        assert switch.active == "green"  # the emergency lever flipped blue -> green
    finally:
        release.set()
        switcher.join(WAIT)
    # The switch saw that traffic moved during its check and did not flip it again.
    assert results[0].switched is False
    assert results[0].reason == "traffic moved to green during the health check; not switching"
    assert switch.active == "green"
