"""Buckets must not depend on the process: same answers under different PYTHONHASHSEED."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import TYPE_CHECKING

from pytest_ragops.flags import CanaryRouter, FeatureFlags

if TYPE_CHECKING:
    from pathlib import Path

FLAGS = """
new_prompt_v3: {rollout_pct: 0.2}
use_reranker: {rollout_pct: 0.5, variants: {ce: 0.3, bm25: 0.7}}
"""

SCRIPT = """
import json, sys
from pytest_ragops.flags import CanaryRouter, FeatureFlags, bucket
store = FeatureFlags.from_yaml(sys.argv[1])
router = CanaryRouter(0.05)
users = [f"user-{i}" for i in range(3000)]
print(json.dumps({
    "hash": hash("python's own hash is salted"),
    "buckets": [bucket("new_prompt_v3", u) for u in users],
    "enabled": [store.is_enabled("new_prompt_v3", u) for u in users],
    "variants": [store.variant("use_reranker", u) for u in users],
    "routes": [router.route(u) for u in users],
}))
"""


def run(seed: str, flags: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONHASHSEED": seed}
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(flags)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=True,
    )
    data: dict[str, object] = json.loads(result.stdout)
    return data


def test_identical_buckets_under_different_hash_seeds(tmp_path: Path) -> None:
    flags = tmp_path / "flags.yaml"
    flags.write_text(FLAGS, encoding="utf-8")
    runs = [run(seed, flags) for seed in ("0", "1", "4242")]
    # The seeds really differ (Python's hash() changes) ...
    assert len({r["hash"] for r in runs}) == 3
    # ... and every ragops answer stays the same.
    for key in ("buckets", "enabled", "variants", "routes"):
        assert runs[0][key] == runs[1][key] == runs[2][key], key
    # The parent process (its own seed) agrees too.
    store = FeatureFlags.from_yaml(flags)
    users = [f"user-{i}" for i in range(3000)]
    assert runs[0]["enabled"] == [store.is_enabled("new_prompt_v3", u) for u in users]
    assert runs[0]["routes"] == [CanaryRouter(0.05).route(u) for u in users]
