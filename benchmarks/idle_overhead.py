"""Idle overhead of the installed-but-off plugin, measured in one run.

Prints the ratio of ``pytest --co`` wall time over 2,000 trivial tests with the plugin
loaded versus ``-p no:ragops`` (alternating runs, median of each; target <= 1.03), and
which heavy packages ``import pytest_ragops.plugin`` loads (target: none).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEAVY = ("mlflow", "ragas", "anthropic", "sklearn", "dvc", "github", "scipy", "numpy")
N_TESTS = 2000
ROUNDS = 7


def _make_suite(root: Path) -> None:
    for f in range(20):
        body = "\n".join(f"def test_{f}_{i}():\n    pass\n" for i in range(N_TESTS // 20))
        (root / f"test_mod{f}.py").write_text(body)
    (root / "pytest.ini").write_text("[pytest]\n")


def _time(root: Path, extra: list[str]) -> float:
    cmd = [sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", *extra]
    start = time.perf_counter()
    subprocess.run(cmd, cwd=root, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def heavy_modules_loaded() -> list[str]:
    """Top-level heavy packages present after importing the plugin module."""
    code = "import sys, pytest_ragops.plugin; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    mods = {m.split(".")[0] for m in out.stdout.split()}
    return sorted(m for m in HEAVY if m in mods)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        _make_suite(root)
        _time(root, [])  # warm the file-system cache and bytecode
        on: list[float] = []
        off: list[float] = []
        for _ in range(ROUNDS):
            on.append(_time(root, []))
            off.append(_time(root, ["-p", "no:ragops"]))
    ratio = statistics.median(on) / statistics.median(off)
    print(f"pytest --co over {N_TESTS} tests, {ROUNDS} alternating rounds")
    print(f"  plugin loaded:  median {statistics.median(on):.3f} s")
    print(f"  -p no:ragops:   median {statistics.median(off):.3f} s")
    print(f"  ratio: {ratio:.3f} (target <= 1.03)")
    heavy = heavy_modules_loaded()
    print(f"heavy packages loaded by 'import pytest_ragops.plugin': {', '.join(heavy) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
