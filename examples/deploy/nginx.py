"""Render nginx's config for the two colours and drive an nginx of our own.

Canary routing must use the library's stable hash (``bucket("canary", user_id)``), which
nginx cannot compute with ``split_clients`` (MurmurHash2) or ``map``. The config loads
njs (Debian's ``libnginx-mod-http-js``) and a three-line function that hashes
``"canary:" + X-User-ID`` with SHA-256 and compares the hex digest with the hex form of
:func:`pytest_ragops.flags.bucketing.digest_limit`: comparing lowercase hex strings
orders exactly as comparing the bytes, so nginx routes each user as
:class:`~pytest_ragops.flags.CanaryRouter` does, in-process, with no extra hop. A request
without a user id goes to the stable colour, as the router sends it.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from pytest_ragops.errors import RagopsError
from pytest_ragops.flags.bucketing import ALL, NONE, digest_limit

__all__ = ["CANARY_SALT", "Nginx", "Routing", "js_module", "limit_hex", "render_config"]

#: The CanaryRouter salt whose hash nginx reproduces.
CANARY_SALT: Final = "canary"
_JS_MODULE_NAMES: Final = ("ngx_http_js_module.so",)

_LOG_FORMAT: Final = (
    '\'{"t":$msec,"color":"$ragops_color","status":$status,"ust":"$upstream_status",'
    '"rt":"$upstream_response_time","score":"$upstream_http_x_retrieval_score"}\''
)


@dataclass(frozen=True, slots=True)
class Routing:
    """Where traffic goes: ``stable`` gets everyone except ``canary_pct`` of users on ``canary``.

    ``ports`` holds every running colour's loopback port; a colour not in it gets no
    upstream, so nginx can never be told to route to a stopped service.
    """

    listen: str
    ports: dict[str, int]
    stable: str
    canary: str | None = None
    canary_pct: float = 0.0

    def __post_init__(self) -> None:
        if self.stable not in self.ports:
            raise RagopsError(f"stable colour {self.stable!r} has no port", field="routing")
        if self.canary is not None and self.canary not in self.ports:
            raise RagopsError(f"canary colour {self.canary!r} has no port", field="routing")
        if not 0.0 <= self.canary_pct <= 1.0:
            raise RagopsError(f"canary_pct {self.canary_pct!r} is outside 0-1", field="routing")


def limit_hex(pct: float) -> str:
    """The hex bound with ``sha256(...).hexdigest() < bound`` iff the user is in ``pct``.

    ``""`` admits nobody; ``"g"`` sorts after every hex digest, so it admits everybody.
    """
    limit = digest_limit(pct)
    if limit is NONE:
        return ""
    if limit is ALL:
        return "g"
    return limit.hex()


def js_module() -> Path | None:
    """Path of the njs dynamic module, if installed."""
    out = subprocess.run(["nginx", "-V"], capture_output=True, text=True, check=False).stderr
    found = re.search(r"--modules-path=(\S+)", out)
    for base in ([found.group(1)] if found else []) + ["/usr/lib/nginx/modules"]:
        for name in _JS_MODULE_NAMES:
            if (Path(base) / name).is_file():
                return Path(base) / name
    return None


def _router_js(routing: Routing) -> str:
    assert routing.canary is not None
    limit, canary, stable = limit_hex(routing.canary_pct), routing.canary, routing.stable
    return (
        "var crypto = require('crypto');\n"
        "function color(r) {\n"
        "    var user = r.headersIn['X-User-ID'];\n"
        f"    if (!user) {{ return '{stable}'; }}\n"
        f"    var h = crypto.createHash('sha256').update('{CANARY_SALT}:' + user).digest('hex');\n"
        f"    return h < '{limit}' ? '{canary}' : '{stable}';\n"
        "}\n"
        "export default {color};\n"
    )


def render_config(prefix: Path, routing: Routing, js: Path | None) -> tuple[str, str | None]:
    """The main ``nginx.conf`` text and, in canary mode, ``router.js``'s text."""
    upstreams = []
    for color, port in sorted(routing.ports.items()):
        backups = "".join(
            f"        server 127.0.0.1:{p} backup;\n"
            for c, p in sorted(routing.ports.items())
            if c != color
        )
        upstreams.append(
            f"    upstream ragops_{color} {{\n        server 127.0.0.1:{port};\n{backups}"
            "        keepalive 32;\n    }\n"
        )
    canary = routing.canary is not None and routing.canary_pct > 0.0
    if canary and js is None:
        raise RagopsError(
            "canary routing needs nginx's njs module (Debian: libnginx-mod-http-js)",
            field="nginx",
        )
    if canary:
        choose = (
            f"    js_import router from {prefix / 'router.js'};\n"
            "    js_set $ragops_color router.color;\n"
        )
        script: str | None = _router_js(routing)
    else:
        choose = f'    map "" $ragops_color {{ default {routing.stable}; }}\n'
        script = None
    tmp = prefix / "tmp"
    temp_paths = "".join(
        f"    {kind}_temp_path {tmp / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = (
        "# Rendered by examples/deploy; edits are overwritten on the next deploy step.\n"
        "worker_processes 1;\n"
        f"pid {prefix / 'nginx.pid'};\n"
        f"error_log {prefix / 'error.log'} warn;\n"
        + (f"load_module {js};\n" if js is not None else "")
        + "events { worker_connections 1024; }\n"
        "http {\n"
        f"    log_format ragops escape=json {_LOG_FORMAT};\n"
        f"    access_log {prefix / 'access.log'} ragops;\n"
        + temp_paths
        + "".join(upstreams)
        + choose
        + "    server {\n"
        f"        listen {routing.listen};\n"
        "        location / {\n"
        "            proxy_pass http://ragops_$ragops_color;\n"
        "            proxy_http_version 1.1;\n"
        '            proxy_set_header Connection "";\n'
        "            proxy_set_header Host $host;\n"
        "            proxy_connect_timeout 2s;\n"
        "            proxy_read_timeout 30s;\n"
        "        }\n"
        "    }\n"
        "}\n"
    )
    return conf, script


class Nginx:
    """An nginx instance with its own prefix, config and pid file (no system-wide config)."""

    def __init__(self, prefix: Path, binary: str = "nginx") -> None:
        self.prefix = prefix
        self.binary = binary
        self.conf = prefix / "nginx.conf"
        self.pid_file = prefix / "nginx.pid"
        self.access_log = prefix / "access.log"

    def _run(self, *args: str) -> None:
        cmd = [self.binary, "-p", str(self.prefix), "-c", str(self.conf), *args]
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RagopsError(
                f"nginx {' '.join(args) or 'start'} failed: {last}", path=str(self.conf)
            )

    def write(self, routing: Routing) -> None:
        """Render and test the config; the running nginx is untouched until :meth:`reload`."""
        (self.prefix / "tmp").mkdir(parents=True, exist_ok=True)
        conf, script = render_config(self.prefix, routing, js_module())
        if script is not None:
            _atomic_write(self.prefix / "router.js", script)
        _atomic_write(self.conf, conf)
        self._run("-t", "-q")

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
            os.kill(pid, 0)
        except (OSError, ValueError):
            return None
        return pid

    def start(self, routing: Routing) -> None:
        self.write(routing)
        self._run()

    def apply(self, routing: Routing, settle_s: float = 0.3) -> None:
        """Write, test and reload; old workers finish their requests (graceful)."""
        self.write(routing)
        self._run("-s", "reload")
        time.sleep(settle_s)  # new workers take over within a few ms; settle before measuring

    def stop(self, timeout_s: float = 10.0) -> None:
        """Graceful quit, then SIGKILL after ``timeout_s``."""
        pid = self.pid()
        if pid is None:
            return
        os.kill(pid, signal.SIGQUIT)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not _alive(pid):
                return
            time.sleep(0.05)
        os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)
