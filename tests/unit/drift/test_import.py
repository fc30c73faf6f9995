from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "scipy", "sklearn", "sqlalchemy", "matplotlib")


def test_importing_drift_loads_nothing_heavy() -> None:
    code = (
        "import sys\n"
        "import pytest_ragops.drift, pytest_ragops.drift.pytest_plugin\n"
        "import pytest_ragops.drift.simulate, pytest_ragops.drift.plot\n"
        "import pytest_ragops.commands.drift\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]"


def test_public_names() -> None:
    import pytest_ragops.drift as drift

    for name in drift.__all__:
        assert hasattr(drift, name), name
    assert {"RetrievalLog", "log_retrieval_score", "check_retrieval_drift"} <= set(drift.__all__)
