"""A real ``mlflow server`` on loopback (SQLite or PostgreSQL backend) and the example lab run.

The server runs in its own process group and teardown stops the whole group: its job
consumers survive a SIGTERM to the server alone. ``--workers 1`` and
``MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false`` make it start in seconds. Each backend is
migrated once per session; the PostgreSQL server is started the way the drift tests do
(tests/integration/drift/conftest.py, whose helpers are loaded from that file).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from types import ModuleType

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = ROOT / "examples"
LAB_CASES = 8
_START_S = 120


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class MlflowServer:
    """One ``mlflow server`` process group on 127.0.0.1."""

    def __init__(self, backend: str, artifacts: Path, log: Path) -> None:
        self.backend = backend
        self.artifacts = artifacts
        self.log = log
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = _free_port()
        mlflow_bin = Path(sys.executable).parent / "mlflow"
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false",
               "MLFLOW_DISABLE_TELEMETRY": "true"}  # fmt: skip
        env.pop("MLFLOW_TRACKING_URI", None)
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(mlflow_bin), "server", "--host", "127.0.0.1", "--port", str(self.port),
                 "--workers", "1", "--backend-store-uri", self.backend, "--serve-artifacts",
                 "--artifacts-destination", str(self.artifacts)],
                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
            )  # fmt: skip
        deadline = time.monotonic() + _START_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f"mlflow server exited:\n{self.log.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/health", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        self.stop()
        pytest.fail(f"mlflow server did not answer /health:\n{self.log.read_text()[-3000:]}")

    def stop(self) -> None:
        """SIGTERM the process group, then SIGKILL what is left of it."""
        if self.proc is None:
            return
        pgid = self.proc.pid
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pgid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(timeout=15)
                os.killpg(pgid, 0)  # any member (job consumer, worker) still alive?
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
            time.sleep(0.5)
        self.proc = None


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One SQLite MLflow store migrated per session; servers start on copies of it."""
    os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from mlflow import MlflowClient

        path = tmp_path_factory.mktemp("mlflow-template") / "mlflow.db"
        MlflowClient(tracking_uri=f"sqlite:///{path}").search_experiments()
    return path


@pytest.fixture
def sqlite_server(migrated_sqlite: Path, tmp_path: Path) -> Iterator[MlflowServer]:
    """A server on this test's copy of the migrated SQLite store."""
    db = tmp_path / "server.db"
    shutil.copyfile(migrated_sqlite, db)
    server = MlflowServer(f"sqlite:///{db}", tmp_path / "artifacts", tmp_path / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _drift_conftest() -> ModuleType:
    path = ROOT / "tests" / "integration" / "drift" / "conftest.py"
    spec = importlib.util.spec_from_file_location("ragops_drift_pg_helpers", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def postgres_backend() -> Iterator[str]:
    """A throwaway PostgreSQL server with one database, as the drift tests start it."""
    import pwd
    import tempfile

    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail('the PostgreSQL driver is missing: pip install "psycopg[binary]>=3.2"')
    helpers = _drift_conftest()
    as_user: list[str] = []
    owner = None
    if os.geteuid() == 0:
        owner = pwd.getpwnam(helpers.PG_USER)
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.fail("running as root needs runuser (util-linux) to start PostgreSQL")
        as_user = [runuser, "-u", helpers.PG_USER, "--"]
    root = Path(tempfile.mkdtemp(prefix="ragops-mlflow-pg-"))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    server = helpers.PostgresServer(helpers._bin_dir(), root, as_user)
    try:
        server.init()
        server.start()
        yield server.new_database("mlflow")
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(
    postgres_backend: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MlflowServer]:
    """One MLflow server on PostgreSQL with proxied artifacts, migrated once per session."""
    tmp = tmp_path_factory.mktemp("mlflow-pg")
    server = MlflowServer(postgres_backend, tmp / "artifacts", tmp / "server.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def lab_cases(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first cases of the example's golden set: the lab, quick enough for CI."""
    import yaml

    data = yaml.safe_load((EXAMPLES / "golden.yaml").read_text(encoding="utf-8"))
    data["cases"] = data["cases"][:LAB_CASES]
    path = tmp_path_factory.mktemp("lab") / "golden.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


@pytest.fixture
def run_lab() -> Callable[..., tuple[int, str, dict[str, Any]]]:
    """:func:`_run_lab`: the example lab in a subprocess pytest."""
    return _run_lab


def _run_lab(
    tmp_path: Path, uri: str, cases: Path, *extra: str, experiment: str = "lab"
) -> tuple[int, str, dict[str, Any]]:
    """Run the example's 3-variant eval test from examples/, logging to ``uri``."""
    report = tmp_path / "out" / "report.json"
    env = {**os.environ, "RAGAPP_GOLDEN": str(cases), "RAGAPP_GENERATOR": "offline",
           "GITHUB_REF_NAME": "lab-branch"}  # fmt: skip
    env.pop("MLFLOW_TRACKING_URI", None)
    cmd = [
        sys.executable, "-m", "pytest", "--ragops-eval", "tests/test_eval.py::test_prompt_variants",
        "-p", "no:cacheprovider", "-q", "--ragops-report", str(report),
        "--ragops-markdown", str(tmp_path / "out" / "report.md"), "--ragops-mlflow", uri,
        "--ragops-experiment", experiment, *extra,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=EXAMPLES, capture_output=True, text=True, timeout=400, env=env)
    data = json.loads(report.read_text()) if report.exists() else {}
    return proc.returncode, proc.stdout + proc.stderr, data
