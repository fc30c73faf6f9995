from __future__ import annotations

import hashlib

import pytest

from pytest_ragops.flags.bucketing import (
    ALL,
    BUCKET_BITS,
    NONE,
    bucket,
    bucket_int,
    digest_limit,
    threshold,
)

USERS = [f"user-{i}" for i in range(100_000)]


def test_bucket_matches_the_documented_formula() -> None:
    digest = hashlib.sha256(b"new_prompt_v3:user-42").digest()
    expected = (int.from_bytes(digest[:8], "big") >> 11) / 2**53
    assert bucket("new_prompt_v3", "user-42") == expected
    assert bucket_int("new_prompt_v3", "user-42") == int.from_bytes(digest[:8], "big") >> 11


def test_bucket_is_a_fixed_value_across_releases() -> None:
    # Pinned: changing the hash would move every user between arms.
    assert bucket("flag", "alice") == 0.581929617109552


def test_bucket_depends_on_flag_and_user() -> None:
    assert bucket("a", "u1") != bucket("b", "u1")
    assert bucket("a", "u1") != bucket("a", "u2")


def test_bucket_handles_non_ascii_and_empty_ids() -> None:
    assert 0.0 <= bucket("flag", "") < 1.0
    assert 0.0 <= bucket("flag", "Zoë-日本") < 1.0


def test_twenty_percent_rollout_is_within_one_point_over_100k_users() -> None:
    share = sum(bucket("new_prompt_v3", u) < 0.2 for u in USERS) / len(USERS)
    assert 0.19 <= share <= 0.21


def test_raising_the_rollout_only_adds_users() -> None:
    at_20 = {u for u in USERS if bucket("use_reranker", u) < 0.2}
    at_50 = {u for u in USERS if bucket("use_reranker", u) < 0.5}
    assert at_20 < at_50
    assert 0.49 <= len(at_50) / len(USERS) <= 0.51


@pytest.mark.parametrize("fraction", [0.0, 1e-12, 0.2, 0.5, 0.999999, 1.0])
def test_threshold_agrees_with_the_float_comparison(fraction: float) -> None:
    limit = threshold(fraction)
    raw = digest_limit(fraction)
    for user in USERS[:2000]:
        expected = bucket("f", user) < fraction
        assert (bucket_int("f", user) < limit) == expected
        assert (hashlib.sha256(f"f:{user}".encode()).digest() < raw) == expected


def test_digest_limit_is_exact_at_the_boundary() -> None:
    # A user exactly at the boundary: bucket == fraction must be excluded, one step below
    # must be included, whatever the remaining digest bytes are.
    user = "user-7"
    position = bucket("f", user)
    digest = hashlib.sha256(f"f:{user}".encode()).digest()
    assert not digest < digest_limit(position)
    assert digest < digest_limit(position + 2**-53)
    assert digest_limit(0.0) is NONE
    assert digest_limit(1.0) is ALL
    assert ALL > b"\xff" * 32


def test_threshold_edges() -> None:
    assert threshold(0.0) == 0
    assert threshold(-1.0) == 0
    assert threshold(1.0) == 2**BUCKET_BITS
    assert threshold(0.5) == 2 ** (BUCKET_BITS - 1)
