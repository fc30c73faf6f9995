from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pytest_ragops.flags.store import FeatureFlags

ROOT = Path(__file__).resolve().parents[3]
DEMO = ROOT / "examples" / "flags_demo.py"
FLAGS = ROOT / "examples" / "flags.yaml"


@pytest.fixture(scope="module")
def demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("flags_demo", DEMO)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_flags_file_is_valid_and_rolls_out_20_percent() -> None:
    store = FeatureFlags.from_yaml(FLAGS)
    assert store.flags["new_prompt_v3"].rollout_pct == 0.2
    assert store.flags["use_reranker"].rollout_pct == 0.2


def test_demo_shows_arms_and_a_significance_report(
    demo: ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    assert demo.main(["--source", "simulate", "--users", "1000", "--show", "3"]) == 0
    out = capsys.readouterr().out
    assert "== new_prompt_v3: rollout 20%" in out
    assert "== use_reranker: rollout 20%" in out
    assert "simulated (seeded, illustrative)" in out
    assert out.count("two-sided Mann-Whitney U per metric, alpha=0.05") == 2
    lines = out.splitlines()
    faith = next(line for line in lines if line.startswith("faithfulness"))
    assert faith.endswith("yes")  # the simulated new prompt raises faithfulness
    # The simulated reranker is 25% slower: the canary judge rolls it back.
    assert "verdict for use_reranker: rollback" in out
    # Same users, same arms: a second run prints the same thing.
    assert demo.main(["--source", "simulate", "--users", "1000", "--show", "3"]) == 0
    assert capsys.readouterr().out == out


def test_demo_scores_arms_with_the_example_app(
    demo: ModuleType, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RAGAPP_GENERATOR", "offline")
    monkeypatch.delenv("RAGAPP_INDEX", raising=False)
    monkeypatch.delenv("RAGAPP_PROMPTS_DIR", raising=False)
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    if demo.app_scorer() is None:
        pytest.skip("examples/ragapp is not importable yet")
    assert demo.main(["--source", "app", "--users", "400"]) == 0
    out = capsys.readouterr().out
    assert "example app + offline judge" in out
    for metric in ("faithfulness", "answer_relevancy", "context_precision", "context_recall"):
        assert sum(line.startswith(metric) for line in out.splitlines()) == 2
    assert out.count("verdict for ") == 2


def test_demo_takes_per_user_metrics_from_csv(
    demo: ModuleType, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = FeatureFlags.from_yaml(FLAGS)
    path = tmp_path / "metrics.csv"
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["flag", "user_id", "metric", "value"])
        for flag in ("new_prompt_v3", "use_reranker"):
            for i in range(400):
                user = f"u{i}"
                on = store.is_enabled(flag, user)
                writer.writerow([flag, user, "faithfulness", 0.9 if on else 0.7 + (i % 3) / 100])
    assert demo.main(["--metrics", str(path)]) == 0
    out = capsys.readouterr().out
    assert f"per-user metrics: from {path}" in out
    rows = [line for line in out.splitlines() if line.startswith("faithfulness")]
    assert len(rows) == 2
    assert all(row.endswith("yes") for row in rows)


def test_demo_runs_as_a_script() -> None:
    result = subprocess.run(
        [sys.executable, str(DEMO), "--users", "300"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "== use_reranker" in result.stdout
