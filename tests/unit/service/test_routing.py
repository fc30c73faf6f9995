"""nginx's canary rule routes as CanaryRouter; the config routes only to live colours."""

from __future__ import annotations

import json
from hashlib import sha256
from typing import TYPE_CHECKING

import pytest
from deploy.canary import read_samples
from deploy.nginx import CANARY_SALT, Routing, limit_hex, render_config
from service.config import ServiceConfig

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags import CanaryRouter

if TYPE_CHECKING:
    from pathlib import Path


@pytest.mark.parametrize("pct", [0.0, 0.05, 0.25, 0.5, 0.999, 1.0])
def test_hex_comparison_routes_every_user_as_the_router(pct: float) -> None:
    router = CanaryRouter(pct, salt=CANARY_SALT)
    limit = limit_hex(pct)
    for n in range(3000):
        user = f"user-{n}"
        digest = sha256(f"{CANARY_SALT}:{user}".encode()).hexdigest()
        nginx_says = "green" if digest < limit else "blue"
        assert nginx_says == router.route(user), (user, pct)


def test_stable_config_has_no_script_and_no_route_to_a_stopped_colour(tmp_path: Path) -> None:
    conf, script = render_config(tmp_path, Routing("127.0.0.1:9", {"blue": 1234}, "blue"), None)
    assert script is None
    assert "upstream ragops_blue" in conf
    assert "ragops_green" not in conf
    assert "default blue;" in conf


def test_canary_config_keeps_the_other_colour_as_backup(tmp_path: Path) -> None:
    routing = Routing("127.0.0.1:9", {"blue": 1, "green": 2}, "blue", "green", 0.25)
    conf, script = render_config(tmp_path, routing, tmp_path / "ngx_http_js_module.so")
    assert script is not None
    assert f"'{limit_hex(0.25)}'" in script
    assert "js_set $ragops_color router.color;" in conf
    assert "server 127.0.0.1:2 backup;" in conf  # inside ragops_blue
    with pytest.raises(RagopsError, match="njs"):
        render_config(tmp_path, routing, None)


def test_routing_refuses_a_colour_without_a_port() -> None:
    with pytest.raises(RagopsError, match="no port"):
        Routing("127.0.0.1:9", {"blue": 1}, "blue", "green", 0.05)


def test_samples_split_by_colour_with_errors_and_retried_upstreams(tmp_path: Path) -> None:
    log = tmp_path / "access.log"
    lines = [
        {"t": 10.0, "color": "blue", "status": 200, "rt": "0.010", "score": "0.800000"},
        {"t": 11.0, "color": "green", "status": 200, "rt": "0.002, 0.020", "score": "0.7"},
        {"t": 12.0, "color": "green", "status": 500, "rt": "0.001", "score": ""},
        {"t": 5.0, "color": "green", "status": 500, "rt": "0.001", "score": ""},
    ]
    log.write_text("\n".join(json.dumps(x) for x in lines) + "\nnot json\n")
    samples = read_samples(log, since=9.0)
    assert samples["blue"] == {"error_rate": [0.0], "latency_s": [0.01], "retrieval_score": [0.8]}
    assert samples["green"]["error_rate"] == [0.0, 1.0]
    assert samples["green"]["latency_s"] == [0.02]


@pytest.mark.parametrize(
    ("env", "where"),
    [
        ({"RAGAPP_COLOR": "red"}, "RAGAPP_COLOR"),
        ({"RAGAPP_FEATURES": "maybe"}, "RAGAPP_FEATURES"),
        ({"RAGAPP_FAULT_ERROR_RATE": "nan"}, "RAGAPP_FAULT_ERROR_RATE"),
        ({"RAGAPP_FAULT_ERROR_RATE": "1.5"}, "RAGAPP_FAULT_ERROR_RATE"),
        ({"RAGAPP_DRIFT_FLUSH_S": "0"}, "RAGAPP_DRIFT_FLUSH_S"),
    ],
)
def test_bad_service_settings_name_the_variable(env: dict[str, str], where: str) -> None:
    with pytest.raises(RagopsError, match=where):
        ServiceConfig.from_env(env)


def test_service_defaults() -> None:
    config = ServiceConfig.from_env({"RAGAPP_DRIFT_DB": "off"})
    assert (config.color, config.drift_db, config.features, config.admin_token) == (
        "blue", None, True, None,
    )  # fmt: skip


def test_flags_choose_per_user_sticky_and_anonymous_takes_the_stable_path() -> None:
    from service.app import PROMPT_FLAG, RERANKER_FLAG, STABLE_PROMPT, V3_PROMPT, Service

    from pytest_ragops.flags import FeatureFlags

    service = Service(ServiceConfig(drift_db=None))
    flags = FeatureFlags.from_yaml(ServiceConfig().flags)
    assert service.choose("") == (STABLE_PROMPT, False)
    assert service.choose("qa-team-1")[0] == V3_PROMPT  # allow-listed
    assert service.choose("enterprise-acme")[0] == STABLE_PROMPT  # deny-listed
    seen = set()
    for n in range(300):
        user = f"user-{n}"
        choice = service.choose(user)
        assert choice == service.choose(user)
        want = (
            V3_PROMPT if flags.is_enabled(PROMPT_FLAG, user) else STABLE_PROMPT,
            flags.is_enabled(RERANKER_FLAG, user),
        )
        assert choice == want
        seen.add(choice)
    assert len(seen) == 4  # every combination occurs at 20% / 20%
    off = Service(ServiceConfig(drift_db=None, features=False))
    assert off.choose("qa-team-1") == (STABLE_PROMPT, False)


def test_injected_faults_hit_the_exact_rate_and_never_anonymous_requests() -> None:
    from service.app import Service

    service = Service(ServiceConfig(drift_db=None, fault_error_rate=0.25))
    assert sum(service.injected_fault("u") for _ in range(400)) == 100
    assert not any(service.injected_fault("") for _ in range(50))
