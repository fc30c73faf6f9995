from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from openfeature import api
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from pytest_ragops.flags.openfeature import PROVIDER_NAME, make_provider
from pytest_ragops.flags.store import FeatureFlags, clear_flags_cache

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

USERS = [f"user-{i}" for i in range(3000)]
SPEC = {
    "new_prompt_v3": {"rollout_pct": 0.2, "allow": ["qa"], "deny": ["user-1"]},
    "answer_style": {"rollout_pct": 0.5, "variants": {"concise": 0.5, "detailed": 0.5}},
    "killed": {"enabled": False},
}


@pytest.fixture
def flags() -> Iterator[FeatureFlags]:
    store = FeatureFlags(SPEC)
    api.set_provider(make_provider(store))
    yield store
    api.clear_providers()


def test_boolean_values_match_is_enabled(flags: FeatureFlags) -> None:
    client = api.get_client()
    for flag in SPEC:
        for user in [*USERS, "qa"]:
            ctx = EvaluationContext(targeting_key=user)
            assert client.get_boolean_value(flag, False, ctx) == flags.is_enabled(flag, user)
            assert client.get_boolean_value(flag, True, ctx) == flags.is_enabled(flag, user)


def test_string_values_are_variants(flags: FeatureFlags) -> None:
    client = api.get_client()
    for user in USERS[:1000]:
        got = client.get_string_value("answer_style", "none", EvaluationContext(user))
        assert got == (flags.variant("answer_style", user) or "none")


def test_details_carry_reason_and_variant(flags: FeatureFlags) -> None:
    client = api.get_client()
    assert api.get_provider_metadata().name == PROVIDER_NAME
    allowed = client.get_boolean_details("new_prompt_v3", False, EvaluationContext("qa"))
    assert (allowed.value, allowed.reason) == (True, Reason.TARGETING_MATCH)
    killed = client.get_boolean_details("killed", True, EvaluationContext("qa"))
    assert (killed.value, killed.reason, killed.variant) == (False, Reason.DISABLED, "off")
    split = client.get_string_details("answer_style", "x", EvaluationContext("user-7"))
    assert split.reason == Reason.SPLIT


def test_unknown_flags_and_wrong_types_give_the_default(flags: FeatureFlags) -> None:
    client = api.get_client()
    missing = client.get_boolean_details("nope", True, EvaluationContext("u"))
    assert (missing.value, missing.error_code) == (True, ErrorCode.FLAG_NOT_FOUND)
    wrong = client.get_integer_details("new_prompt_v3", 7, EvaluationContext("u"))
    assert (wrong.value, wrong.error_code) == (7, ErrorCode.TYPE_MISMATCH)
    assert client.get_float_value("new_prompt_v3", 0.5) == 0.5
    assert client.get_object_value("new_prompt_v3", {"k": 1}) == {"k": 1}


def test_no_targeting_key_is_the_empty_user(flags: FeatureFlags) -> None:
    client = api.get_client()
    assert client.get_boolean_value("answer_style", False) == flags.is_enabled("answer_style")


def test_provider_over_a_file_and_a_missing_file(tmp_path: Path) -> None:
    clear_flags_cache()
    path = tmp_path / "flags.yaml"
    path.write_text("f: {rollout_pct: 0.3}\n", encoding="utf-8")
    store = FeatureFlags.from_yaml(path)
    api.set_provider(make_provider(path))
    try:
        client = api.get_client()
        for user in USERS[:500]:
            assert client.get_boolean_value("f", False, EvaluationContext(user)) == (
                store.is_enabled("f", user)
            )
        api.set_provider(make_provider(tmp_path / "absent.yaml"))
        details = api.get_client().get_boolean_details("f", True, EvaluationContext("u"))
        assert (details.value, details.error_code) == (True, ErrorCode.GENERAL)
        assert "flag file not found" in (details.error_message or "")
    finally:
        api.clear_providers()
        clear_flags_cache()


def test_provider_class_is_built_lazily() -> None:
    from pytest_ragops.flags import openfeature as module

    assert module.RagopsFlagProvider is type(make_provider(FeatureFlags({})))
    with pytest.raises(AttributeError):
        _ = module.DoesNotExist
