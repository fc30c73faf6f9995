"""Fixtures shared by the judge's unit tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

import pytest_ragops

if TYPE_CHECKING:
    from collections.abc import Callable

#: The hash seeds a determinism test runs its script under (one process each).
SEEDS = ("0", "1", "2")


@pytest.fixture
def under_hash_seeds() -> Callable[[str, str], set[str]]:
    """Run a Python script in one process per hash seed; the set of what they printed.

    Set order follows ``PYTHONHASHSEED``: a score or rationale that depends on it prints
    differently in some process, so a deterministic one gives a set of one.
    """
    root = str(Path(pytest_ragops.__file__).resolve().parents[1])

    def run(script: str, stdin: str = "") -> set[str]:
        outputs = set()
        for seed in SEEDS:
            env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": root}
            proc = subprocess.run(
                [sys.executable, "-c", script],
                input=stdin,
                capture_output=True,
                text=True,
                env=env,
                timeout=120,
                check=True,
            )
            outputs.add(proc.stdout.strip())
        return outputs

    return run
