"""Start and stop one colour of the service: local uvicorn processes or docker containers.

Processes mode (tests, a laptop) runs ``uvicorn service.app:create_app`` on a loopback
port in its own session, so it outlives the deploy command that started it and can be
stopped by pid later. Docker mode runs the image with the port published on loopback
only; nginx on the host is the one public listener.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Final, Protocol

from pytest_ragops.errors import RagopsError

__all__ = ["DockerRunner", "ProcessRunner", "Runner", "free_port", "process_alive"]

EXAMPLES: Final = Path(__file__).resolve().parent.parent
#: Port the service listens on inside the image (Dockerfile).
IMAGE_PORT: Final = 8000
#: Processes this process started, kept so they are reaped (not left as zombies) on stop.
_CHILDREN: dict[int, subprocess.Popen[bytes]] = {}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def process_alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie whose parent is gone counts as stopped)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")


class Runner(Protocol):
    def start(self, color: str, port: int, env: dict[str, str], log: Path) -> dict[str, Any]:
        """Start ``color`` on ``port``; return what :meth:`stop` and :meth:`alive` need."""
        ...

    def alive(self, handle: dict[str, Any]) -> bool: ...

    def stop(self, handle: dict[str, Any], timeout_s: float = 20.0) -> None: ...


class ProcessRunner:
    """uvicorn processes on 127.0.0.1, one per colour."""

    def start(self, color: str, port: int, env: dict[str, str], log: Path) -> dict[str, Any]:
        cmd = [
            sys.executable, "-m", "uvicorn", "service.app:create_app", "--factory",
            "--host", "127.0.0.1", "--port", str(port), "--app-dir", str(EXAMPLES),
            "--no-access-log", "--timeout-graceful-shutdown", "15",
        ]  # fmt: skip
        full_env = {**os.environ, "RAGAPP_COLOR": color, **env}
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("ab") as out:
            proc = subprocess.Popen(
                cmd, env=full_env, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True,
            )  # fmt: skip
        _CHILDREN[proc.pid] = proc
        return {"pid": proc.pid, "port": port, "log": str(log)}

    def alive(self, handle: dict[str, Any]) -> bool:
        return process_alive(int(handle["pid"]))

    def stop(self, handle: dict[str, Any], timeout_s: float = 20.0) -> None:
        """SIGTERM (uvicorn drains requests and flushes the drift log), SIGKILL at the timeout."""
        pid = int(handle["pid"])
        child = _CHILDREN.pop(pid, None)
        if not process_alive(pid):
            if child is not None:
                child.wait()
            return
        os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if child is not None and child.poll() is not None:
                return
            if child is None and not process_alive(pid):
                return  # started by an earlier deploy command: not our child to reap
            time.sleep(0.05)
        os.killpg(pid, signal.SIGKILL)
        if child is not None:
            child.wait()
        raise RagopsError(f"pid {pid} did not stop within {timeout_s:g}s; killed", field="stop")


class DockerRunner:
    """Containers of ``image``, published on 127.0.0.1 only."""

    def __init__(self, image: str) -> None:
        self.image = image

    def _docker(self, *args: str) -> str:
        done = subprocess.run(["docker", *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RagopsError(f"docker {args[0]} failed: {last}", field="docker")
        return done.stdout.strip()

    def start(self, color: str, port: int, env: dict[str, str], log: Path) -> dict[str, Any]:
        name = f"ragapp-{color}"
        subprocess.run(["docker", "rm", "-f", name], capture_output=True, check=False)
        env_args = [
            a for k, v in {"RAGAPP_COLOR": color, **env}.items() for a in ("-e", f"{k}={v}")
        ]
        self._docker(
            "run", "-d", "--name", name, "-p", f"127.0.0.1:{port}:{IMAGE_PORT}",
            "-v", "ragapp-data:/data", *env_args, self.image,
        )  # fmt: skip
        return {"container": name, "port": port, "log": f"docker logs {name}"}

    def alive(self, handle: dict[str, Any]) -> bool:
        try:
            return (
                self._docker("inspect", "-f", "{{.State.Running}}", handle["container"]) == "true"
            )
        except RagopsError:
            return False

    def stop(self, handle: dict[str, Any], timeout_s: float = 20.0) -> None:
        self._docker("stop", "-t", str(int(timeout_s)), handle["container"])
        subprocess.run(["docker", "rm", handle["container"]], capture_output=True, check=False)
