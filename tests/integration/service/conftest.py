"""A real nginx and real service processes on loopback, driven by the deploy script.

nginx (with its njs module for canary routing) is a test requirement: a missing binary
fails with what to install (``make system-deps`` does). Each stack runs in its own temp
dir: nginx with its own prefix, config and pid file on a free loopback port, the service
colours as uvicorn processes; teardown stops all of it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

EXAMPLES = Path(__file__).resolve().parents[3] / "examples"
if str(EXAMPLES) not in sys.path:
    sys.path.insert(0, str(EXAMPLES))

from deploy.nginx import js_module  # noqa: E402
from deploy.runners import free_port, process_alive  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Iterator

SCRIPT = EXAMPLES / "deploy" / "bluegreen.py"
_HINT = (
    "install nginx and its njs module (Debian: apt-get install nginx libnginx-mod-http-js; "
    "make system-deps does)"
)


@dataclass
class Stack:
    """One deployment's state dir, its nginx URL and the deploy script."""

    state: Path
    url: str

    def run(self, *args: str, timeout: float = 150.0) -> subprocess.CompletedProcess[str]:
        cmd = [sys.executable, str(SCRIPT), args[0], "--state", str(self.state), *args[1:]]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)

    def info(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.state / "state.json").read_text())
        return data

    def records(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text()) for p in sorted((self.state / "deploys").glob("*.json"))]


@pytest.fixture(scope="session")
def nginx_ready() -> None:
    if shutil.which("nginx") is None and not Path("/usr/sbin/nginx").exists():
        pytest.fail(f"nginx not found: {_HINT}")
    if js_module() is None:
        pytest.fail(f"nginx's njs module not found: {_HINT}")


def make_stack(tmp_path: Path, *env: str) -> Iterator[Stack]:
    state = tmp_path / "state"
    stack = Stack(state, f"http://127.0.0.1:{free_port()}")
    listen = stack.url.removeprefix("http://")
    env_args = [a for e in (f"RAGAPP_DRIFT_DB={tmp_path / 'drift.db'}", *env) for a in ("--env", e)]
    done = stack.run("up", "--listen", listen, *env_args)
    try:
        assert done.returncode == 0, done.stderr + done.stdout
        yield stack
    finally:
        stack.run("down")
        leftover = json.loads((state / "state.json").read_text()) if state.exists() else {}
        for handle in leftover.get("colors", {}).values():  # never leave a process behind
            if process_alive(int(handle["pid"])):
                subprocess.run(["kill", "-9", str(handle["pid"])], check=False)


@pytest.fixture
def bare_stack(tmp_path: Path, nginx_ready: None) -> Stack:
    """A state dir and a free nginx port, nothing started (for tests of ``up`` itself)."""
    return Stack(tmp_path / "state", f"http://127.0.0.1:{free_port()}")


@pytest.fixture
def stack(tmp_path: Path, nginx_ready: None) -> Iterator[Stack]:
    """Blue up behind nginx, reindex token set."""
    yield from make_stack(tmp_path, "RAGAPP_ADMIN_TOKEN=s3cret")
