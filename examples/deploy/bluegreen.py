"""Blue-green and canary deploys of the example service behind an nginx of its own.

::

    python examples/deploy/bluegreen.py up     --state DIR --listen 127.0.0.1:8080
    python examples/deploy/bluegreen.py deploy --state DIR [--canary] [--env KEY=VALUE ...]
    python examples/deploy/bluegreen.py down   --state DIR

``deploy`` starts the idle colour beside the live one, waits for ``/health``, runs the
smoke eval against it over HTTP, then either switches nginx to it (keeping the old
colour for ``--grace`` seconds as the instant rollback, then stopping it) or, with
``--canary``, routes 5 -> 25 -> 50 -> 100 % of users to it, judging each step with
:class:`~pytest_ragops.flags.CanaryJudge` on what nginx measured. Any failed check rolls
back: traffic never leaves the live colour before the new one has passed. Each step is
one ``deploy:`` log line and the whole run a JSON deploy record. Exit: 0 deployed,
1 rolled back (the reason is the last line), 2 bad usage or state.

It stays an example script, not ``ragops deploy``: what it starts (uvicorn of this app,
this golden set) is the example's business; the general parts are library objects.
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import threading
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if __package__ in (None, ""):  # run as a script: make examples/ importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from deploy.canary import make_judge, read_samples
from deploy.nginx import Nginx, Routing
from deploy.runners import DockerRunner, ProcessRunner, Runner, free_port
from deploy.smoke import smoke_eval
from pytest_ragops.errors import RagopsError
from pytest_ragops.flags import CanaryRouter, ProgressiveRollout

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["DeployFailed", "Deployer", "main"]

STATE_FILE: Final = "state.json"


class DeployFailed(Exception):
    """A check failed and the deploy rolled back; the message is the reason."""


def _other(color: str) -> str:
    return "green" if color == "blue" else "blue"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class Deployer:
    """The state of one deployment (``DIR/state.json``) and the steps acting on it."""

    def __init__(self, state_dir: Path, record: Path | None = None) -> None:
        self.dir = state_dir
        self.state_path = state_dir / STATE_FILE
        self.state: dict[str, Any] = {}
        if self.state_path.exists():
            try:
                self.state = json.loads(self.state_path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise RagopsError(f"unreadable state: {exc}", path=str(self.state_path)) from None
        self.nginx = Nginx(state_dir / "nginx")
        self.events: list[dict[str, Any]] = []
        self.record_path = record

    # -- state -------------------------------------------------------------------------
    def save(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(self.state, indent=2, sort_keys=True), encoding="utf-8")
        tmp.replace(self.state_path)

    def runner(self) -> Runner:
        if self.state.get("mode") == "docker":
            return DockerRunner(str(self.state["image"]))
        return ProcessRunner()

    def event(self, step: str, **fields: Any) -> None:
        """One log line and one entry of the deploy record."""
        self.events.append({"t": _now(), "step": step, **fields})
        text = " ".join(
            f"{k}={json.dumps(v) if isinstance(v, str | list) else v}" for k, v in fields.items()
        )
        print(f"deploy: {step} {text}".rstrip(), flush=True)

    def routing(self, stable: str, canary: str | None = None, pct: float = 0.0) -> Routing:
        ports = {c: int(h["port"]) for c, h in self.state["colors"].items()}
        return Routing(str(self.state["listen"]), ports, stable, canary, pct)

    # -- colours -----------------------------------------------------------------------
    def start_color(self, color: str, env: dict[str, str]) -> None:
        port = free_port()
        full_env = {**self.state.get("env", {}), **env}
        log = self.dir / "logs" / f"{color}-{int(time.time())}.log"
        handle = self.runner().start(color, port, full_env, log)
        handle["env"] = env
        self.state["colors"][color] = handle
        self.save()
        self.event("start", color=color, port=port)

    def stop_color(self, color: str) -> None:
        handle = self.state["colors"].pop(color, None)
        self.save()
        if handle is not None:
            self.runner().stop(handle)
            self.event("stop", color=color)

    def base_url(self, color: str) -> str:
        return f"http://127.0.0.1:{self.state['colors'][color]['port']}"

    def health(self, color: str, timeout_s: float = 2.0) -> str | None:
        """Why ``color`` is unhealthy, or None."""
        handle = self.state["colors"].get(color)
        if handle is None or not self.runner().alive(handle):
            return f"{color} is not running (log: {handle and handle.get('log')})"
        try:
            with urllib.request.urlopen(self.base_url(color) + "/health", timeout=timeout_s) as r:
                body = json.loads(r.read())
        except urllib.error.HTTPError as exc:
            return f"{color} /health answered {exc.code}"
        except (urllib.error.URLError, OSError, ValueError) as exc:
            return f"{color} /health failed: {exc}"
        if body.get("status") != "ok" or body.get("color") != color:
            return f"{color} /health says {body}"
        return None

    def wait_healthy(self, color: str, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        problem = self.health(color)
        while problem is not None:
            if time.monotonic() >= deadline or "not running" in problem:
                raise DeployFailed(f"{color} unhealthy: {problem}")
            time.sleep(0.2)
            problem = self.health(color)
        self.event("healthy", color=color)

    # -- commands ----------------------------------------------------------------------
    def up(
        self, listen: str, mode: str, image: str | None, env: dict[str, str], wait_s: float
    ) -> None:
        if self.state.get("colors"):
            raise RagopsError("already up: run down first", path=str(self.state_path))
        self.state = {"listen": listen, "mode": mode, "image": image, "env": env,
                      "active": "blue", "colors": {}}  # fmt: skip
        self.start_color("blue", {})
        try:
            self.wait_healthy("blue", wait_s)
            self.nginx.start(self.routing("blue"))
        except (DeployFailed, RagopsError):
            self.stop_color("blue")  # nothing half-up is left behind
            raise
        self.event("up", active="blue", listen=listen)

    def down(self) -> None:
        self.nginx.stop()
        for color in list(self.state.get("colors", {})):
            self.stop_color(color)
        self.event("down")

    def deploy(self, args: argparse.Namespace) -> int:
        old = str(self.state["active"])
        new = _other(old)
        started = _now()
        outcome, reason = "deployed", ""
        if args.image:
            self.state["image"] = args.image
        # The gates' bootstrap and the canary's tests need scipy.stats, whose first import
        # can take seconds; import it while the new colour starts instead of after.
        threading.Thread(target=importlib.import_module, args=("scipy.stats",), daemon=True).start()
        try:
            if new in self.state["colors"]:
                self.stop_color(new)  # a leftover of an interrupted deploy
            self.start_color(new, _env(args.env))
            self.wait_healthy(new, args.health_timeout)
            smoke = smoke_eval(self.base_url(new), args.smoke_cases)
            self.event("smoke", color=new, passed=smoke.passed, reasons=list(smoke.reasons))
            if not smoke.passed:
                raise DeployFailed(f"{new} failed the smoke eval: {'; '.join(smoke.reasons)}")
            if args.canary:
                self.canary(old, new, args)
            self.nginx.apply(self.routing(new))
            self.event("switch", active=new, previous=old)
            self.grace(old, new, args.grace)
            self.state["active"] = new
            self.save()
            self.nginx.apply(self._only(new))
            self.stop_color(old)
        except (DeployFailed, RagopsError) as exc:  # a failed check, or nginx/docker refusing
            outcome, reason = "rolled_back", str(exc)
            self.rollback(old, new, reason)
        finally:
            self.write_record(started, old, new, outcome, reason, bool(args.canary))
        return 0 if outcome == "deployed" else 1

    def _only(self, color: str) -> Routing:
        handle = self.state["colors"][color]
        return Routing(str(self.state["listen"]), {color: int(handle["port"])}, color)

    def grace(self, old: str, new: str, grace_s: float) -> None:
        """Keep ``old`` warm while watching ``new``; an unhealthy ``new`` rolls back."""
        deadline = time.monotonic() + grace_s
        while time.monotonic() < deadline:
            problem = self.health(new)
            if problem is not None:
                raise DeployFailed(f"{new} failed during the grace period: {problem}")
            time.sleep(min(0.5, max(0.0, deadline - time.monotonic())))
        self.event("grace_over", keep=new, stop=old, grace_s=grace_s)

    def canary(self, old: str, new: str, args: argparse.Namespace) -> None:
        judge = make_judge(
            error_tolerance=args.error_tolerance,
            latency_tolerance=args.latency_tolerance,
            score_tolerance=args.score_tolerance,
            min_samples=args.min_samples,
        )
        rollout = ProgressiveRollout(CanaryRouter(0.0))
        while not rollout.finished:
            pct = rollout.current_pct
            self.nginx.apply(self.routing(old, new, pct))
            self.event("canary_step", color=new, canary_pct=pct)
            since = time.time()  # after the reload settled: only this step's routing counts
            deadline = time.monotonic() + args.step_timeout
            while True:
                time.sleep(args.window)
                problem = self.health(new)
                if problem is not None:
                    raise DeployFailed(f"{new} unhealthy at {pct:.0%}: {problem}")
                samples = read_samples(self.nginx.access_log, since)
                counts = {c: len(samples.get(c, {}).get("error_rate", [])) for c in (old, new)}
                enough = min(counts.values()) >= args.min_samples
                timed_out = time.monotonic() >= deadline
                if not (enough or timed_out):
                    continue  # too few requests yet: a verdict now would be noise
                verdict = judge.judge(samples.get(old, {}), samples.get(new, {}))
                if verdict.decision != "inconclusive" or timed_out:
                    break
            decision, reasons = verdict.decision, list(verdict.reasons)
            if decision == "inconclusive":
                decision = "rollback"
                reasons.insert(0, f"still inconclusive after {args.step_timeout:g}s (fail closed)")
            self.event("verdict", canary_pct=pct, decision=decision, requests=str(counts),
                       reasons=reasons)  # fmt: skip
            rollout.advance(decision)
            if rollout.rolled_back:
                raise DeployFailed(f"canary verdict at {pct:.0%}: rollback: {'; '.join(reasons)}")

    def rollback(self, old: str, new: str, reason: str) -> None:
        self.event("rollback", active=old, reason=reason)
        try:
            if new in self.state["colors"] and self.nginx.pid() is not None:
                self.nginx.apply(self._only(old))
        finally:
            self.stop_color(new)

    def write_record(
        self, started: str, old: str, new: str, outcome: str, reason: str, canary: bool
    ) -> None:
        record = {
            "started": started, "finished": _now(), "from": old, "to": new,
            "mode": self.state.get("mode"), "canary": canary, "outcome": outcome,
            "reason": reason or None, "active": self.state.get("active"), "events": self.events,
        }  # fmt: skip
        path = self.record_path or self.dir / "deploys" / f"{started.replace(':', '')}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, indent=2), encoding="utf-8")
        self.event("record", path=str(path), outcome=outcome)
        if reason:
            print(f"deploy failed: {reason}", file=sys.stderr, flush=True)


def _env(pairs: Sequence[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise RagopsError(f"expected KEY=VALUE, got {pair!r}", field="--env")
        out[key] = value
    return out


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bluegreen", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("up", "deploy", "down", "status"):
        p = sub.add_parser(name)
        p.add_argument("--state", type=Path, required=True, help="State directory")
        if name in ("up", "deploy"):
            p.add_argument(
                "--env",
                action="append",
                default=[],
                metavar="KEY=VALUE",
                help="Service environment (up: every colour; deploy: the new one)",
            )
            p.add_argument("--image", help="Docker mode: the image (deploy: the new image)")
            p.add_argument("--health-timeout", type=float, default=60.0, help="Seconds; default 60")
    up = sub.choices["up"]
    up.add_argument("--listen", default="127.0.0.1:8080", help="nginx listen address")
    up.add_argument("--mode", choices=("processes", "docker"), default="processes")
    dep = sub.choices["deploy"]
    dep.add_argument("--canary", action="store_true", help="Step 5/25/50/100%% of users")
    dep.add_argument("--grace", type=float, default=30.0, help="Seconds blue stays up; default 30")
    dep.add_argument("--smoke-cases", type=int, default=8, help="Golden cases; default 8")
    dep.add_argument("--window", type=float, default=2.0, help="Canary: seconds between verdicts")
    dep.add_argument(
        "--step-timeout",
        type=float,
        default=120.0,
        help="Canary: seconds a step may stay inconclusive before rolling back",
    )
    dep.add_argument("--min-samples", type=int, default=100, help="Canary: requests per colour")
    dep.add_argument("--error-tolerance", type=float, default=0.02, help="Absolute; default 0.02")
    dep.add_argument("--latency-tolerance", type=float, default=0.5, help="Relative; default 0.5")
    dep.add_argument("--score-tolerance", type=float, default=0.05, help="Absolute; default 0.05")
    dep.add_argument("--record", type=Path, help="Deploy record path; default DIR/deploys/")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        deployer = Deployer(args.state, getattr(args, "record", None))
        if args.command == "up":
            if args.mode == "docker" and not args.image:
                raise RagopsError("docker mode needs --image", field="--image")
            deployer.up(args.listen, args.mode, args.image, _env(args.env), args.health_timeout)
            return 0
        if not deployer.state.get("colors") and args.command != "down":
            raise RagopsError("nothing is up: run up first", path=str(deployer.state_path))
        if args.command == "down":
            deployer.down()
            return 0
        if args.command == "status":
            print(json.dumps(deployer.state, indent=2, sort_keys=True))
            return 0
        return deployer.deploy(args)
    except RagopsError as exc:
        print(f"bluegreen: {exc}", file=sys.stderr)
        return 2
    except DeployFailed as exc:  # from up: blue never became healthy
        print(f"bluegreen: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
