from __future__ import annotations

import sys

import pytest

from pytest_ragops.flags import flag as flag_module

INNER = """
import pytest
from pytest_ragops.flags import FeatureFlags, is_enabled, variant

STORE = FeatureFlags({"new_prompt_v3": {"enabled": False}, "style": {"variants": {"a": 1.0}}})

def test_a_override_on(ragops_flags):
    ragops_flags.set("new_prompt_v3", True)
    ragops_flags.set("style", "b")
    assert STORE.is_enabled("new_prompt_v3", "anyone")
    assert is_enabled("new_prompt_v3", "anyone")  # the module-level call sees it too
    assert STORE.variant("style", "anyone") == "b"

def test_b_restored_after_the_test():
    assert not STORE.is_enabled("new_prompt_v3", "anyone")
    assert STORE.variant("style", "anyone") == "a"

def test_c_override_then_fail(ragops_flags):
    ragops_flags.set("new_prompt_v3", {"rollout_pct": 1.0})
    assert False, "fails on purpose"

def test_d_restored_after_a_failure():
    assert not STORE.is_enabled("new_prompt_v3", "anyone")

def test_e_bad_override_is_an_error(ragops_flags):
    from pytest_ragops.errors import RagopsError
    with pytest.raises(RagopsError, match="unknown key 'rolout'"):
        ragops_flags.set("new_prompt_v3", {"rolout": 0.5})
"""


@pytest.mark.parametrize(
    "load",
    [["-p", "pytest_ragops.flags.pytest_plugin"], []],
    ids=["explicit-plugin", "via-ragops-entry-point"],
)
def test_fixture_overrides_inside_one_test_and_restores(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, load: list[str]
) -> None:
    flags_file = pytester.path / "flags.yaml"
    flags_file.write_text("new_prompt_v3: {enabled: false}\n", encoding="utf-8")
    monkeypatch.setenv("RAGOPS_FLAGS", str(flags_file))
    pytester.makepyfile(test_inner=INNER)
    result = pytester.runpytest(*load, "-p", "no:cacheprovider")
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*AssertionError: fails on purpose"])
    assert not flag_module._OVERRIDES


def test_plugin_module_imports_nothing_heavy(pytester: pytest.Pytester) -> None:
    code = (
        "import sys, pytest_ragops.flags.pytest_plugin\n"
        "heavy = [m for m in ('yaml', 'scipy', 'openfeature', 'numpy') if m in sys.modules]\n"
        "print('HEAVY', heavy)\n"
    )
    result = pytester.run(sys.executable, "-c", code)
    result.stdout.fnmatch_lines(["HEAVY []"])
