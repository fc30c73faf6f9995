from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

import pytest

from pytest_ragops.drift.schema import parse_when, to_utc, validate_row, validate_rows
from pytest_ragops.errors import RagopsError


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"query": ""}, "query: query is empty", id="empty-query"),
        pytest.param({"query": "   "}, "query: query is empty", id="blank-query"),
        pytest.param({"query": None}, "query: query must be a string, got NoneType", id="none"),
        pytest.param({"top_score": math.nan}, "top_score: top_score must be finite", id="nan"),
        pytest.param({"top_score": math.inf}, "top_score: top_score must be finite", id="inf"),
        pytest.param({"top_score": 1.5}, "top_score: top_score 1.5 is outside [0.0, 1.0]", id="hi"),
        pytest.param({"top_score": -0.1}, "top_score: top_score -0.1 is outside", id="low"),
        pytest.param({"top_score": True}, "top_score: top_score must be a number", id="bool"),
        pytest.param({"top_score": "0.5"}, "top_score: top_score must be a number", id="str"),
        pytest.param({"session_id": 7}, "session_id: session_id must be a string", id="sess"),
        pytest.param({"ts": "2026-01-01"}, "ts: ts must be a datetime or None", id="ts-str"),
    ],
)
def test_validate_row_rejects_bad_input(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"query": "q", "top_score": 0.5, "session_id": "s", "ts": None}
    args.update(kwargs)
    with pytest.raises(RagopsError) as info:
        validate_row(args["query"], args["top_score"], args["session_id"], args["ts"])
    assert str(info.value).startswith(message)


def test_validate_row_accepts_score_range_and_ints() -> None:
    row = validate_row("q", 1, "s", datetime(2026, 1, 1, tzinfo=UTC))
    assert row.top_score == 1.0
    assert row.ts == datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert validate_row("q", -0.5, "s", score_range=(-1.0, 1.0)).top_score == -0.5


def test_naive_times_are_utc_and_aware_times_convert() -> None:
    naive = datetime(2026, 1, 1, 12, 0)
    plus2 = datetime(2026, 1, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert to_utc(naive) == datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    assert to_utc(plus2) == to_utc(naive)
    assert parse_when("2026-01-01T12:00:00") == to_utc(naive)
    with pytest.raises(RagopsError, match=r"^--now: 'yesterday' is not an ISO 8601 timestamp"):
        parse_when("yesterday")


def test_validate_rows_accepts_mappings_and_tuples() -> None:
    when = datetime(2026, 1, 1, tzinfo=UTC)
    rows = validate_rows(
        [
            {"query": "a", "top_score": 0.1, "session_id": "s"},
            ("b", 0.2, "s", when),
            ("c", 0.3, "s"),
        ]
    )
    assert [r.query for r in rows] == ["a", "b", "c"]
    assert rows[1].ts == when.timestamp()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        pytest.param({"query": "a", "top_score": 0.1}, "row 1: missing key(s) session_id", id="k"),
        pytest.param(
            {"query": "a", "top_score": 0.1, "session_id": "s", "score": 1},
            "row 1: unknown key(s) score",
            id="unknown",
        ),
        pytest.param(("a", 0.1), "row 1: expected (query, top_score, session_id[, ts])", id="t"),
        pytest.param("a,0.1,s", "row 1: expected a mapping or a tuple, got str", id="str"),
        pytest.param(("a", math.nan, "s"), "row 1: top_score: top_score must be finite", id="nan"),
    ],
)
def test_validate_rows_names_the_bad_row(row: object, message: str) -> None:
    with pytest.raises(RagopsError) as info:
        validate_rows([("ok", 0.5, "s"), row])  # type: ignore[list-item]
    assert str(info.value).startswith(message)
