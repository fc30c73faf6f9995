"""The service behind nginx: the cost of flags, canary routing and drift logging; deploy failures.

Run ``python benchmarks/service_load.py [--seconds S] [--rounds R] [--workers W]``.

Two stacks run side by side on loopback, each one uvicorn process behind its own nginx:
*off* serves everyone the stable path (``RAGAPP_FEATURES=off``), logs no drift and routes
statically; *on* evaluates both flags per user, batches every retrieval score into a
SQLite drift log and routes each request through the njs canary hash at 50% (both colours
point at the same process, so the comparison measures the routing, not a second server).
Rounds alternate off/on, each a closed loop of W clients (default 1: latency without
queueing) for S seconds, and the medians over rounds are compared (target: p95 added
<= 5%). Then a blue-green deploy runs under 20 requests/s and its failed requests are
counted (target 0).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))

from deploy.bluegreen import Deployer  # noqa: E402
from deploy.load import LoadLoop, percentile  # noqa: E402
from deploy.nginx import Routing  # noqa: E402
from deploy.runners import free_port  # noqa: E402

P95_TARGET = 0.05


def _stack(root: Path, env: dict[str, str]) -> Deployer:
    deployer = Deployer(root)
    deployer.up(f"127.0.0.1:{free_port()}", "processes", None, env, 90.0)
    return deployer


def _round(url: str, seconds: float, workers: int) -> tuple[float, float, float, int]:
    load = LoadLoop(url, rate=0, duration_s=seconds, workers=workers, users=1000)
    start = time.perf_counter()
    results = load.run()
    elapsed = time.perf_counter() - start
    ok = [r.latency_s for r in results if r.status == 200]
    return percentile(ok, 50), percentile(ok, 95), len(ok) / elapsed, len(results) - len(ok)


def _in_process_cost(root: Path) -> tuple[float, float]:
    """Microseconds per request of the two on-path additions, without HTTP noise."""
    from service.app import Service
    from service.config import ServiceConfig
    from service.drift_writer import BatchedDriftWriter

    from pytest_ragops.drift import RetrievalLog

    service = Service(ServiceConfig(drift_db=None))
    users = [f"user-{n}" for n in range(20_000)]
    start = time.perf_counter()
    for user in users:
        service.choose(user)
    flags_us = (time.perf_counter() - start) / len(users) * 1e6
    writer = BatchedDriftWriter(RetrievalLog(root / "cost.db"), interval_s=3600, batch_size=50_000)
    start = time.perf_counter()
    for user in users:
        writer.submit("What does max_wal_size control?", 0.5, user)
    drift_us = (time.perf_counter() - start) / len(users) * 1e6
    writer.close()
    return flags_us, drift_us


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="ragops-bench-") as tmp:
        root = Path(tmp)
        off = _stack(root / "off", {"RAGAPP_FEATURES": "off", "RAGAPP_DRIFT_DB": "off"})
        on = _stack(root / "on", {"RAGAPP_DRIFT_DB": str(root / "drift.db")})
        try:
            port = int(on.state["colors"]["blue"]["port"])
            on.nginx.apply(Routing(on.state["listen"], {"blue": port, "green": port},
                                   "blue", "green", 0.5))  # fmt: skip
            urls = {"off": f"http://{off.state['listen']}", "on": f"http://{on.state['listen']}"}
            for url in urls.values():  # warm both: imports, connections, caches
                _round(url, 1.0, args.workers)
            rows: dict[str, list[tuple[float, float, float, int]]] = {"off": [], "on": []}
            for _ in range(args.rounds):
                for name, url in urls.items():
                    rows[name].append(_round(url, args.seconds, args.workers))
            med = {
                name: tuple(statistics.median(r[i] for r in rs) for i in range(3))
                for name, rs in rows.items()
            }
            failed = {name: sum(r[3] for r in rs) for name, rs in rows.items()}
            for name in ("off", "on"):
                p50, p95, rps = med[name]
                print(f"{name:>3}: p50 {p50 * 1000:.2f} ms  p95 {p95 * 1000:.2f} ms  "
                      f"{rps:.0f} req/s  failed {failed[name]}")  # fmt: skip
            added = med["on"][1] / med["off"][1] - 1.0
            verdict = "ok" if added <= P95_TARGET else "over target"
            print(f"added p95 with flags + canary routing + drift logging: {added:+.1%} "
                  f"(target <= {P95_TARGET:.0%}: {verdict})")  # fmt: skip
            flags_us, drift_us = _in_process_cost(root)
            base_us = med["off"][0] * 1e6
            print(f"in-process cost per request: flag choice {flags_us:.1f} us, "
                  f"drift submit {drift_us:.1f} us (p50 off: {base_us:.0f} us)")  # fmt: skip
            load = LoadLoop(urls["on"], rate=20, duration_s=120).start()
            time.sleep(1.0)
            done = subprocess.run(
                [sys.executable, str(EXAMPLES / "deploy" / "bluegreen.py"), "deploy",
                 "--state", str(root / "on"), "--grace", "2"],
                capture_output=True, text=True, check=False,
            )  # fmt: skip
            time.sleep(1.0)
            results = load.stop()
            bad = [r for r in results if r.status != 200]
            print(f"deploy under 20 req/s: exit {done.returncode}, {len(results)} requests, "
                  f"{len(bad)} failed (target 0)")  # fmt: skip
            on = Deployer(root / "on")  # the deploy changed the state on disk
        finally:
            for deployer in (off, on):
                deployer.down()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
