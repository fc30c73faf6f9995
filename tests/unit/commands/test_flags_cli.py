from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.cli import main
from pytest_ragops.flags.bucketing import bucket

if TYPE_CHECKING:
    from pathlib import Path

GOOD = """
new_prompt_v3: {enabled: true, rollout_pct: 0.2, allow: [qa], deny: [acme]}
style: {variants: {a: 0.5, b: 0.5}}
"""


@pytest.fixture
def flags_file(tmp_path: Path) -> Path:
    path = tmp_path / "flags.yaml"
    path.write_text(GOOD, encoding="utf-8")
    return path


def test_check_valid_file(flags_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flags", "check", str(flags_file)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"{flags_file}: 2 flag(s) valid"
    assert out[1].split() == ["new_prompt_v3", "20%", "allow", "1", "deny", "1"]
    assert "variants: a=0.5, b=0.5" in out[2]


def test_check_reads_ragops_flags_and_prints_json(
    flags_file: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAGOPS_FLAGS", str(flags_file))
    assert main(["flags", "check", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["valid"] is True
    assert data["flags"]["style"]["variants"] == {"a": 0.5, "b": 0.5}
    assert data["problems"] == []


def test_check_invalid_file_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("f: {rollout_pct: 1.5}\n", encoding="utf-8")
    with pytest.raises(SystemExit) as info:
        main(["flags", "check", str(path)])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err == (
        f"ragops: error: {path}: flag 'f': 'rollout_pct' 1.5 is outside 0-1; "
        "it is a fraction, 0.2 = 20%\n"
    )


def test_check_flags_rules_that_never_apply_with_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(
        "f: {allow: [bob], deny: [bob]}\ng: {enabled: false, allow: [amy]}\n", encoding="utf-8"
    )
    assert main(["flags", "check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "problem: flag 'f': in both allow and deny (deny wins): bob" in out
    assert "problem: flag 'g': allow list has no effect while enabled is false" in out


def test_check_missing_file_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["flags", "check", str(tmp_path / "nope.yaml")])
    assert info.value.code == 2
    assert capsys.readouterr().err.endswith("nope.yaml: flag file not found\n")


def test_eval_reports_state_reason_and_bucket(
    flags_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["flags", "eval", "new_prompt_v3", "--user", "qa", "--file", str(flags_file)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("new_prompt_v3 for 'qa': on (reason: allow, bucket ")
    assert main(["flags", "eval", "new_prompt_v3", "-u", "acme", "-f", str(flags_file)]) == 0
    assert "off (reason: deny" in capsys.readouterr().out


def test_eval_json_matches_the_library(
    flags_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for user in ("u1", "u2", "u3", "u4", "u5", "u6"):
        assert main(["flags", "eval", "style", "-u", user, "-f", str(flags_file), "--json"]) == 0
        data = json.loads(capsys.readouterr().out)
        assert data["bucket"] == bucket("style", user)
        assert data["variant"] in ("a", "b")
    args = ["flags", "eval", "new_prompt_v3", "-u", "u1", "-f", str(flags_file), "--json"]
    assert main([*args, "--rollout-pct", "1"]) == 0
    assert json.loads(capsys.readouterr().out)["enabled"] is True


def test_eval_unknown_flag_and_bad_fraction_exit_2(
    flags_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["flags", "eval", "nope", "-u", "x", "-f", str(flags_file)])
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        f"ragops: error: {flags_file}: flag 'nope': not defined (flags: new_prompt_v3, style)\n"
    )
    with pytest.raises(SystemExit) as info:
        main(["flags", "eval", "style", "-u", "x", "-f", str(flags_file), "--rollout-pct", "20"])
    assert info.value.code == 2
    assert "rollout_pct: 20.0 is outside 0-1" in capsys.readouterr().err


def test_bucket_prints_stable_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["flags", "bucket", "flag", "alice", "bob"]) == 0
    assert capsys.readouterr().out == (
        f"alice\t{bucket('flag', 'alice'):.6f}\nbob\t{bucket('flag', 'bob'):.6f}\n"
    )
    assert main(["flags", "bucket", "flag", "alice", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "flag": "flag",
        "buckets": {"alice": 0.581929617109552},
    }


def test_help_texts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["flags", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "sha256" in out
    assert "0.2 = 20%)" in out
    assert "%%" not in out
