from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.cli import main

if TYPE_CHECKING:
    from pathlib import Path

NOW = ["--now", "2026-03-01T00:00:00+00:00"]


def _simulate(db: Path, *extra: str) -> None:
    assert main(["drift", "simulate", "--db", str(db), *NOW, *extra]) == 0


def test_simulate_check_topics_plot_prune(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "drift.db"
    _simulate(db)
    assert capsys.readouterr().out == (
        f"wrote 2800 queries over 14 days to {db}: shift from day 7 toward billing and "
        "invoices, gdpr data deletion, kubernetes networking (40% of queries)\n"
    )

    assert main(["drift", "check", "--db", str(db), *NOW]) == 0  # reports, does not gate
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "status: drift"
    assert out[1].startswith("recent mean:   0.51")
    assert "(n=1400, last 7 days)" in out[1]
    assert out[3].startswith("delta: -0.17")
    assert "95% CI [" in out[3]
    assert "mannwhitney" in out[3]
    assert out[4].startswith("action: Retrieval scores dropped by 0.17")

    assert main(["drift", "check", "--db", str(db), *NOW, "--fail-on-drift"]) == 1
    capsys.readouterr()

    assert main(["drift", "topics", "--db", str(db), *NOW, "--top", "3", "--json"]) == 0
    topics = json.loads(capsys.readouterr().out)
    assert len(topics) == 3
    keywords = {w for t in topics for w in t["keywords"]}
    assert {"kubernetes", "gdpr", "billing"} <= keywords

    assert main(["drift", "topics", "--db", str(db), *NOW, "--top", "1"]) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].startswith("1. ")
    assert "queries, mean score 0.2" in text[0]
    assert text[1].startswith("     e.g. ")

    png = tmp_path / "drift.png"
    assert main(["drift", "plot", "--db", str(db), *NOW, "-o", str(png)]) == 0
    assert capsys.readouterr().out == f"wrote {png}\n"
    assert png.read_bytes()[:4] == b"\x89PNG"

    assert main(["drift", "prune", "--db", str(db), *NOW, "--older-than-days", "10"]) == 0
    assert capsys.readouterr().out == f"deleted 800 entries older than 10 days from {db}\n"


def test_control_check_json_passes_the_gate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "control.db"
    _simulate(db, "--no-shift", "--seed", "3", "--json")
    summary = json.loads(capsys.readouterr().out)
    assert summary["shift_day"] is None
    assert summary["uncovered_topics"] == []
    assert main(["drift", "check", "--db", str(db), *NOW, "--json", "--fail-on-drift"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["status"] == "no_drift"
    assert result["drifting"] is False
    assert {"p_value", "delta_ci", "delta_ci_low", "delta_ci_high", "action"} <= set(result)


def test_simulate_replace(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "drift.db"
    _simulate(db, "--days", "3", "--queries-per-day", "10", "--no-shift")
    _simulate(db, "--days", "3", "--queries-per-day", "10", "--no-shift", "--replace")
    capsys.readouterr()
    assert main(["drift", "check", "--db", str(db), *NOW, "--json", "--window-days", "1"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["recent_count"] + result["baseline_count"] == 30


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["drift", "check", "--now", "soon"], "ragops: error: --now: 'soon' is not an ISO 8601"),
        (
            ["drift", "check", "--window-days", "0"],
            "ragops: error: window_days: must be a positive",
        ),
        (["drift", "simulate", "--shift-day", "20"], "ragops: error: shift_day: must be a day in"),
        (
            ["drift", "topics", "--embedder", "sentence-transformers"],
            "ragops: error: embedder: sentence-transformers is not installed",
        ),
        (["drift", "topics", "--limit", "0"], "ragops: error: limit: must be a positive"),
        (["drift", "plot"], "ragops: error: drift.db: no logged queries in the recent window"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(message)
    assert err.count("\n") == 1
    assert "Traceback" not in err


def test_missing_db_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["drift", "check", "--db", str(tmp_path / "no" / "drift.db")])
    assert info.value.code == 2
    assert capsys.readouterr().err == (
        f"ragops: error: {tmp_path / 'no' / 'drift.db'}: the directory for the drift database "
        "does not exist\n"
    )


def test_help_texts(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["drift", "--help"])
    out = capsys.readouterr().out
    for action in ("simulate", "check", "topics", "plot", "prune"):
        assert action in out
    with pytest.raises(SystemExit):
        main(["drift", "check", "--help"])
    assert "--fail-on-drift" in capsys.readouterr().out
