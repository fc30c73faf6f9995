"""Suite-wide: eval runs inside the tests do not log to MLflow unless a test asks for it.

With ``--ragops-eval`` the plugin logs to a local SQLite store by default; dozens of inner
pytest runs (pytester, subprocesses) would each migrate a store and upload traces. Tests
of the tracking itself pass ``--ragops-mlflow`` explicitly, which wins over this default.
"""

from __future__ import annotations

import os

os.environ.setdefault("RAGOPS_MLFLOW", "off")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
