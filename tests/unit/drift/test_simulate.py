"""The simulation, and detection on it: the issue's acceptance criteria, over several seeds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

import pytest

from pytest_ragops.drift import RetrievalLog
from pytest_ragops.drift.simulate import UNCOVERED_TOPICS, generate, simulate
from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from pathlib import Path

NOW = datetime(2026, 3, 1, tzinfo=UTC)
SEEDS = [0, 1, 2, 3, 4]
# Words that identify each uncovered topic; written out here rather than read from the
# simulation so the test checks names a person would recognise.
SIGNATURES = {
    "kubernetes networking": {"kubernetes", "pod", "ingress", "cni", "coredns", "networking"},
    "billing and invoices": {"billing", "invoices", "invoice", "refund", "payment"},
    "gdpr data deletion": {"gdpr", "personal", "erasure", "deletion", "forgotten"},
}


def test_generate_is_seeded_and_shifts_from_the_chosen_day() -> None:
    rows = generate(days=8, queries_per_day=50, shift_day=4, shift_fraction=0.5, seed=7, end=NOW)
    assert rows == generate(
        days=8, queries_per_day=50, shift_day=4, shift_fraction=0.5, seed=7, end=NOW
    )
    assert rows != generate(
        days=8, queries_per_day=50, shift_day=4, shift_fraction=0.5, seed=8, end=NOW
    )
    assert len(rows) == 400
    assert all(NOW - timedelta(days=8) <= datetime.fromtimestamp(r.ts, UTC) < NOW for r in rows)
    anchors = {a for topic in UNCOVERED_TOPICS.values() for a in topic.anchors}
    shift_ts = (NOW - timedelta(days=4)).timestamp()

    def off_corpus(query: str) -> bool:
        return any(a in query for a in anchors)

    before = [r for r in rows if r.ts < shift_ts]
    after = [r for r in rows if r.ts >= shift_ts]
    assert not any(off_corpus(r.query) for r in before)
    share = sum(off_corpus(r.query) for r in after) / len(after)
    assert 0.35 < share < 0.65


def test_control_never_goes_off_corpus() -> None:
    rows = generate(days=4, queries_per_day=100, shift_day=None, seed=1, end=NOW)
    assert not any("kubernetes" in r.query or "gdpr" in r.query for r in rows)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"days": 1}, "days: must be an integer >= 2"),
        ({"queries_per_day": 0}, "queries_per_day: must be a positive integer"),
        ({"shift_day": 0}, "shift_day: must be a day in 1..13"),
        ({"shift_day": 14}, "shift_day: must be a day in 1..13"),
        ({"shift_fraction": 1.5}, "shift_fraction: must be in [0, 1]"),
    ],
)
def test_bad_simulation_parameters(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(RagopsError) as info:
        generate(**kwargs)  # type: ignore[arg-type]
    assert str(info.value).startswith(message)


@pytest.mark.parametrize("seed", SEEDS)
def test_shifted_traffic_is_detected_and_its_topics_named(tmp_path: Path, seed: int) -> None:
    log = RetrievalLog(tmp_path / "drift.db")
    summary = simulate(log, seed=seed, end=NOW)
    assert summary["rows"] == 2800
    assert summary["shift_day"] == 7
    result = log.check_drift(now=NOW)
    assert result["status"] == "drift", result
    assert result["drifting"] is True
    assert result["delta"] is not None
    assert result["delta"] < -0.1
    topics = log.drift_topics(now=NOW)
    named = []
    for topic in topics[:3]:
        hits = [name for name, words in SIGNATURES.items() if words & set(topic["keywords"])]
        assert len(hits) == 1, topic
        named.append(hits[0])
    assert sorted(named) == sorted(SIGNATURES)
    assert all(t["mean_score"] < 0.4 for t in topics[:3])


@pytest.mark.parametrize("seed", SEEDS)
def test_control_raises_no_alarm(tmp_path: Path, seed: int) -> None:
    log = RetrievalLog(tmp_path / "drift.db")
    simulate(log, seed=seed, shift_day=None, end=NOW)
    result = log.check_drift(now=NOW)
    assert result["status"] == "no_drift", result
    assert result["drifting"] is False


def test_late_small_shift_is_still_caught(tmp_path: Path) -> None:
    log = RetrievalLog(tmp_path / "drift.db")
    simulate(log, days=10, shift_day=7, shift_fraction=0.5, queries_per_day=300, seed=3, end=NOW)
    # Only 3 of the 7 recent days are shifted, yet the drop is still material.
    assert log.check_drift(now=NOW)["status"] == "drift"
