from __future__ import annotations

import os
import time
import warnings
from typing import TYPE_CHECKING, Any

import pytest

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags import flag as flag_module
from pytest_ragops.flags import store as store_module
from pytest_ragops.flags.bucketing import bucket
from pytest_ragops.flags.flag import Flag
from pytest_ragops.flags.overrides import FlagOverrides
from pytest_ragops.flags.store import (
    FeatureFlags,
    UnknownFlagWarning,
    clear_flags_cache,
    is_enabled,
    load_flags,
    variant,
)

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path

USERS = [f"user-{i}" for i in range(20_000)]


@pytest.fixture(autouse=True)
def _clean_state() -> Iterator[None]:
    clear_flags_cache()
    yield
    clear_flags_cache()
    assert not flag_module._OVERRIDES, "a test leaked a flag override"


def write(tmp_path: Path, text: str, name: str = "flags.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ------------------------------------------------------------------------ semantics


def test_rollout_follows_the_bucket() -> None:
    flags = FeatureFlags({"f": {"enabled": True, "rollout_pct": 0.3}})
    assert all(flags.is_enabled("f", u) == (bucket("f", u) < 0.3) for u in USERS)


def test_defaults_are_enabled_for_everyone() -> None:
    flags = FeatureFlags({"a": {}, "b": True, "c": None})
    assert all(flags.is_enabled(name, "anyone") for name in "abc")


def test_disabled_is_off_for_everyone_including_the_allow_list() -> None:
    flags = FeatureFlags({"f": {"enabled": False, "rollout_pct": 1.0, "allow": ["alice"]}})
    assert not flags.is_enabled("f", "alice")
    assert not any(flags.is_enabled("f", u) for u in USERS[:500])
    assert FeatureFlags({"g": False}).is_enabled("g", "x") is False


def test_deny_wins_over_allow_and_allow_forces_on() -> None:
    flags = FeatureFlags(
        {"f": {"rollout_pct": 0.0, "allow": ["alice", "bob"], "deny": ["bob"]}},
    )
    assert flags.is_enabled("f", "alice")
    assert not flags.is_enabled("f", "bob")
    assert not flags.is_enabled("f", "carol")
    full = FeatureFlags({"f": {"rollout_pct": 1.0, "deny": ["bob"]}})
    assert not full.is_enabled("f", "bob")


def test_numeric_user_ids_in_yaml_lists_compare_as_strings(tmp_path: Path) -> None:
    flags = FeatureFlags.from_yaml(write(tmp_path, "f: {rollout_pct: 0, allow: [12345]}\n"))
    assert flags.is_enabled("f", "12345")


def test_rollout_argument_overrides_the_file_fraction() -> None:
    flags = FeatureFlags({"f": {"rollout_pct": 0.0}})
    assert all(flags.is_enabled("f", u, rollout_pct=1.0) for u in USERS[:100])
    got = [u for u in USERS if flags.is_enabled("f", u, rollout_pct=0.2)]
    assert got == [u for u in USERS if bucket("f", u) < 0.2]


@pytest.mark.parametrize("bad", [20, 1.5, -0.1, True, float("nan")])
def test_rollout_argument_outside_zero_one_is_an_error(bad: Any) -> None:
    flags = FeatureFlags({"f": {}})
    with pytest.raises(RagopsError, match=r"rollout_pct: .* is outside 0-1"):
        flags.is_enabled("f", "u", rollout_pct=bad)


def _anonymous_on_somewhere() -> str:
    """A flag name whose bucket for "" is below 0.5: the old code put "" in its rollout."""
    name = next(f"f{i}" for i in range(100) if bucket(f"f{i}", "") < 0.5)
    return name


@pytest.mark.parametrize("anonymous", [None, ""])
def test_anonymous_users_are_never_in_a_partial_rollout(anonymous: Any) -> None:
    name = _anonymous_on_somewhere()
    flags = FeatureFlags({name: {"rollout_pct": 0.5}, "v": {"variants": {"a": 0.5, "b": 0.5}}})
    assert not flags.is_enabled(name, anonymous)
    assert not flags.is_enabled(name, anonymous, rollout_pct=0.99)
    assert flags.variant(name, anonymous) is None
    # A variant split is a rollout too: anonymous callers get the off/default path.
    assert not flags.is_enabled("v", anonymous)
    assert flags.variant("v", anonymous) is None
    result = flags.explain(name, anonymous)
    assert (result.enabled, result.reason, result.user_id) == (False, "anonymous", "")


def test_anonymous_users_get_a_flag_that_is_on_for_everyone() -> None:
    flags = FeatureFlags({"global": True, "off": False, "full": {"rollout_pct": 1.0}})
    assert flags.is_enabled("global")  # the classic is_enabled("flag") global switch
    assert flags.is_enabled("full", None)
    assert flags.variant("full", None) == "on"
    assert not flags.is_enabled("off", None)
    assert flags.is_enabled("full", None, rollout_pct=1.0)
    assert not flags.is_enabled("full", None, rollout_pct=0.999)


def test_int_user_ids_are_their_decimal_strings() -> None:
    flags = FeatureFlags({
        "f": {"rollout_pct": 0.5, "variants": {"a": 0.5, "b": 0.5}},
        "d": {"deny": [42], "allow": ["7"]},
    })  # fmt: skip
    users = list(range(2000))
    assert [flags.is_enabled("f", u) for u in users] == [
        flags.is_enabled("f", str(u)) for u in users
    ]
    assert [flags.variant("f", u) for u in users] == [flags.variant("f", str(u)) for u in users]
    assert bucket("f", 42) == bucket("f", "42")
    assert not flags.is_enabled("d", 42)  # the int matches the deny list
    assert flags.is_enabled("d", 7)
    assert flags.explain("d", 42).reason == "deny"


@pytest.mark.parametrize("bad", [True, 4.2, b"u1", ["u1"]])
def test_other_user_id_types_are_a_value_error(bad: Any) -> None:
    flags = FeatureFlags({"f": {"rollout_pct": 0.5}})
    with pytest.raises(ValueError, match="user_id: a user id must be a string, an int or None"):
        flags.is_enabled("f", bad)
    with pytest.raises(RagopsError, match="a user id must be"):
        flags.explain("f", bad)


def test_non_utf8_flag_file_is_one_line_and_a_value_error(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    path.write_bytes("f: {description: 'caf\u00e9'}\n".encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8 text") as info:
        FeatureFlags.from_yaml(path)
    assert isinstance(info.value, RagopsError)
    assert str(info.value) == (
        f"{path}: not UTF-8 text (byte 0xe9 at offset 21); save the flag file as UTF-8"
    )
    with pytest.raises(RagopsError, match="not UTF-8 text"):
        load_flags(path)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"rollout_pct": float("nan")}, "rollout_pct nan is not a fraction"),
        ({"rollout_pct": True}, "rollout_pct True is not a fraction"),
        ({"rollout_pct": "0.5"}, "rollout_pct '0.5' is not a fraction"),
        ({"variants": (("a", 0.5), ("b", 0.4))}, "variant weights sum to 0.9, not 1"),
        ({"variants": (("a", 0.7), ("b", 0.7))}, "variant weights sum to 1.4, not 1"),
        ({"variants": (("a", 0.5), ("a", 0.5))}, "variant names must be distinct"),
        ({"variants": (("a", float("nan")), ("b", 1.0))}, "variant 'a' weight nan"),
        ({"enabled": 1}, "'enabled' must be a bool"),
        ({"allow": frozenset({42})}, "'allow' must hold non-empty string user ids"),
    ],
)
def test_flags_built_in_code_are_validated_like_yaml(kwargs: Any, message: str) -> None:
    # Before: NaN crashed the first evaluation; weights not summing to 1 silently gave the
    # last variant the rest; a bool passed as a fraction.
    with pytest.raises(ValueError, match=f"flag 'f': {message}"):
        Flag("f", **kwargs)
    with FlagOverrides() as overrides, pytest.raises(RagopsError, match=message):
        overrides.set("f", Flag("f", **kwargs))


def test_rollout_argument_of_the_wrong_type_is_one_line() -> None:
    flags = FeatureFlags({"f": {}})
    with pytest.raises(RagopsError, match=r"rollout_pct: '0.5' is outside 0-1"):
        flags.is_enabled("f", "u", rollout_pct="0.5")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("f: {allow: ['']}\n", "'allow' must be a list of user ids"),
        ("f: {variants: {null: 1.0}}\n", "variant name None must be a non-empty string"),
        ("f: {variants: {1: 0.5, '1': 0.5}}\n", "variant name 1 must be a non-empty string"),
    ],
)
def test_empty_ids_and_non_string_variant_names_are_rejected(
    tmp_path: Path, yaml_text: str, message: str
) -> None:
    with pytest.raises(RagopsError, match=message):
        FeatureFlags.from_yaml(write(tmp_path, yaml_text))


def test_unknown_flag_is_off_with_a_warning() -> None:
    flags = FeatureFlags({"f": {}})
    with pytest.warns(UnknownFlagWarning, match="flag 'nope' is not defined in the flag mapping"):
        assert flags.is_enabled("nope", "u") is False
    with pytest.warns(UnknownFlagWarning):
        assert flags.variant("nope", "u") is None


def test_variants_follow_weights_and_ignore_the_rollout() -> None:
    spec = {"variants": {"a": 0.2, "b": 0.3, "c": 0.5}}
    flags = FeatureFlags({"f": spec})
    picks = [flags.variant("f", u) for u in USERS]
    for name, weight in (("a", 0.2), ("b", 0.3), ("c", 0.5)):
        assert abs(picks.count(name) / len(USERS) - weight) < 0.015
    # Raising the rollout from 20% must not move users who were already in it.
    partial = FeatureFlags({"f": {**spec, "rollout_pct": 0.2}})
    for user, full_pick in zip(USERS, picks, strict=True):
        got = partial.variant("f", user)
        assert got is None or got == full_pick


def test_variant_without_variants_is_on_or_none() -> None:
    flags = FeatureFlags({"f": {"rollout_pct": 0.5}})
    for user in USERS[:200]:
        assert flags.variant("f", user) == ("on" if flags.is_enabled("f", user) else None)


def test_explain_gives_reasons() -> None:
    flags = FeatureFlags(
        {"f": {"rollout_pct": 0.0, "allow": ["a"], "deny": ["d"]}, "off": {"enabled": False}}
    )
    assert flags.explain("f", "a").reason == "allow"
    assert flags.explain("f", "d").reason == "deny"
    assert flags.explain("f", "z").reason == "rollout"
    assert flags.explain("off", "a").reason == "disabled"
    unknown = flags.explain("missing", "a")
    assert (unknown.enabled, unknown.reason) == (False, "unknown")
    assert flags.explain("f", "a").bucket == bucket("f", "a")


# ----------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        (
            "f: {rolout_pct: 0.2}\n",
            "flag 'f': unknown key 'rolout_pct'; did you mean 'rollout_pct'?",
        ),
        (
            "f: {color: red}\n",
            "flag 'f': unknown key 'color' (allowed: enabled, rollout_pct, variants, allow, "
            "deny, description)",
        ),
        (
            "f: {rollout_pct: 20}\n",
            "flag 'f': 'rollout_pct' 20 is outside 0-1; it is a fraction, 0.2 = 20% "
            "(did you mean 0.2?)",
        ),
        ("f: {rollout_pct: -0.5}\n", "flag 'f': 'rollout_pct' -0.5 is outside 0-1"),
        ("f: {rollout_pct: lots}\n", "flag 'f': 'rollout_pct' must be a number between 0 and 1"),
        ("f: {enabled: 'yes please'}\n", "flag 'f': 'enabled' must be true or false"),
        ("f: {variants: {a: 0.5, b: 0.4}}\n", "flag 'f': variant weights sum to 0.9, not 1"),
        ("f: {variants: {}}\n", "flag 'f': 'variants' must be a non-empty mapping"),
        ("f: {variants: {a: 1.5}}\n", "flag 'f': 'variants.a' 1.5 is outside 0-1"),
        ("f: {allow: alice}\n", "flag 'f': 'allow' must be a list of user ids"),
        ("f: [1, 2]\n", "flag 'f': expected a mapping of settings or true/false, got list"),
        ("'bad name': {}\n", "flag 'bad name': a flag name must be a non-empty string"),
        ("- a\n- b\n", "expected a mapping of flag names to settings, got list"),
        ("f: {}\nf: {}\n", "line 2: key 'f' is defined twice"),
        ("f: {rollout_pct: [\n", "line 2: "),
    ],
)
def test_bad_files_give_one_line_naming_file_and_flag(
    tmp_path: Path, yaml_text: str, message: str
) -> None:
    path = write(tmp_path, yaml_text)
    with pytest.raises(RagopsError) as info:
        FeatureFlags.from_yaml(path)
    text = str(info.value)
    assert text.startswith(f"{path}: {message}")
    assert "\n" not in text
    assert info.value.path == str(path)


def test_field_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(RagopsError) as info:
        FeatureFlags.from_yaml(write(tmp_path, "ok: {}\nbroken: {rollout_pct: 2}\n"))
    assert info.value.field == "flag 'broken'"


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(RagopsError, match="flag file not found"):
        FeatureFlags.from_yaml(tmp_path / "absent.yaml")


def test_empty_file_and_flags_wrapper(tmp_path: Path) -> None:
    assert len(FeatureFlags.from_yaml(write(tmp_path, "# nothing yet\n"))) == 0
    wrapped = FeatureFlags.from_yaml(write(tmp_path, "flags:\n  f: {rollout_pct: 1}\n", "w.yaml"))
    assert "f" in wrapped
    assert wrapped.is_enabled("f", "u")


def test_variant_weights_tolerate_float_rounding() -> None:
    flags = FeatureFlags({"f": {"variants": {"a": 0.1, "b": 0.2, "c": 0.7}}})
    assert {flags.variant("f", u) for u in USERS[:3000]} == {"a", "b", "c"}


# ------------------------------------------------------------- module-level classic API


def test_module_level_reads_ragops_flags(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "f: {rollout_pct: 0.2, variants: {x: 1.0}}\n", "custom.yaml")
    monkeypatch.setenv("RAGOPS_FLAGS", str(path))
    for user in USERS[:300]:
        assert is_enabled("f", user) == (bucket("f", user) < 0.2)
        assert variant("f", user) == ("x" if is_enabled("f", user) else None)
    assert load_flags() is load_flags()  # cached


def test_module_level_defaults_to_flags_yaml_in_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAGOPS_FLAGS", raising=False)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RagopsError, match=r"flags.yaml: flag file not found \(set \$RAGOPS_FLAGS"):
        is_enabled("f", "u")
    write(tmp_path, "f: true\n")
    assert is_enabled("f", "u")


def test_module_level_reloads_an_edited_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, "f: {enabled: true}\n")
    monkeypatch.setenv("RAGOPS_FLAGS", str(path))
    monkeypatch.setattr(store_module, "RECHECK_SECONDS", 0.0)
    assert is_enabled("f", "u")
    path.write_text("f: {enabled: false, description: turned off}\n", encoding="utf-8")
    stamp = time.time() + 5  # make the change visible even on coarse-mtime filesystems
    os.utime(path, (stamp, stamp))
    assert not is_enabled("f", "u")


# ------------------------------------------------------------------------ overrides


def test_overrides_apply_to_every_store_and_are_restored(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGOPS_FLAGS", str(write(tmp_path, "f: {enabled: false}\n")))
    mine = FeatureFlags({"f": {"enabled": False}})
    with FlagOverrides() as overrides:
        overrides.set("f", True)
        overrides.set("brand_new", "b")
        overrides.set("half", {"rollout_pct": 0.5})
        assert is_enabled("f", "u")
        assert mine.is_enabled("f", "u")
        assert mine.variant("brand_new", "u") == "b"
        assert mine.explain("f", "u").reason == "override"
        assert [mine.is_enabled("half", u) for u in USERS[:100]] == [
            bucket("half", u) < 0.5 for u in USERS[:100]
        ]
        overrides.unset("f")
        assert not mine.is_enabled("f", "u")
    assert not is_enabled("f", "u")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert not mine.is_enabled("brand_new", "u")
    assert [w.category for w in caught] == [UnknownFlagWarning]


def test_override_definitions_are_validated() -> None:
    overrides = FlagOverrides()
    with pytest.raises(RagopsError, match="<override>: flag 'f': 'rollout_pct' 3 is outside"):
        overrides.set("f", {"rollout_pct": 3})
    overrides.restore()


def test_any_mapping_is_accepted_and_flag_objects_can_override() -> None:
    from types import MappingProxyType

    from pytest_ragops.flags.flag import Flag

    flags = FeatureFlags(MappingProxyType({"f": MappingProxyType({"rollout_pct": 0.5})}))
    assert flags.flags["f"].rollout_pct == 0.5
    with FlagOverrides() as overrides:
        # A Flag built under another name is re-keyed, so buckets follow the overridden flag.
        overrides.set("f", Flag("other", rollout_pct=0.3))
        assert [flags.is_enabled("f", u) for u in USERS[:300]] == [
            bucket("f", u) < 0.3 for u in USERS[:300]
        ]


def test_bad_arguments_fail_whatever_the_flags_state() -> None:
    # Before: a disabled flag returned False for any argument, so a bad one went unnoticed
    # until the flag was switched on in production.
    flags = FeatureFlags({"off": False})
    with pytest.raises(RagopsError, match="rollout_pct: 20 is outside 0-1"):
        flags.is_enabled("off", "u", rollout_pct=20)
    with pytest.raises(RagopsError, match="user_id: a user id must be"):
        flags.is_enabled("off", True)


@pytest.mark.parametrize("bad", [1, 0.5, None, ["a"]])
def test_overrides_of_the_wrong_type_are_one_line(bad: Any) -> None:
    with (
        FlagOverrides() as overrides,
        pytest.raises(
            ValueError, match=r"<override>: flag 'f': override must be a bool, a variant name"
        ),
    ):
        overrides.set("f", bad)
