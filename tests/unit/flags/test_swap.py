from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags.swap import BlueGreenSwitch, IndexSwapper, http_health_check

if TYPE_CHECKING:
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
