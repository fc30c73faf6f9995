"""Gates and reports for large suites: time and peak memory after the last test.

Runs a real pytest session (``--ragops-eval``, offline judge, MLflow off) whose tests hand
pre-built synthetic records to the ``ragops`` fixture, 4 variants per case, contexts of
about 5 KB per record, spread over 20 tests. A probe plugin notes the time at the end of
each test and resets the peak-RSS counter there (``/proc/self/clear_refs``); at
``pytest_unconfigure`` (after the gates, the terminal table, the JSON and the Markdown
report) it reads the clock and ``VmHWM``. So the figures cover exactly the work from the
last test's end to the written reports, in the plugin's own code path.

Each size runs twice in the same invocation: against this checkout's package ("new") and
against the package at the merge base of ``HEAD`` and ``--baseline-ref`` (default
``5dfc021``, main just before the large-suite work: "today's figures" of issue 15),
extracted with ``git archive`` into a temporary directory ("old", put first on
``PYTHONPATH``; the script checks which copy was imported). With
``--xdist`` it also runs 20,000 records under ``-n 2`` and prints the peak RSS of each
worker and of the controller for both copies.

Each configuration runs two ways: with pytest's plugin autoloading as installed (here
every extra is installed, so pytest also loads langsmith's plugin, from the ``judge``
extra, and hydra's, from ``dvc``: about 43 MB and a second of start-up before any test),
and with ``PYTEST_DISABLE_PLUGIN_AUTOLOAD=1`` plus ``-p pytest_ragops.plugin`` (and
``-p xdist.plugin``), which is what a core install (``pip install pytest-ragops``) loads.

Targets at 20,000 records: <= 1.0 s and <= 250 MB peak.

Run: ``python benchmarks/report_scale.py [--xdist] [--baseline-ref REF] [--sizes 2000,20000]
[--autoload both|on|off]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = 20
VARIANTS = 4

PROBE = """
import json, os, time

_STATE = {"end": None}

def _rss_kb(field):
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0

def pytest_runtest_logfinish(nodeid, location):
    _STATE["end"] = time.perf_counter()
    _STATE["rss_at_end_kb"] = _rss_kb("VmRSS")
    with open("/proc/self/clear_refs", "w") as fh:  # reset VmHWM to the current RSS
        fh.write("5")

def pytest_unconfigure(config):
    import pytest_ragops
    worker = getattr(config, "workerinput", {}).get("workerid", "controller")
    out = {
        "worker": worker,
        "package": pytest_ragops.__file__,
        "seconds": None if _STATE["end"] is None else time.perf_counter() - _STATE["end"],
        "rss_at_end_kb": _STATE.get("rss_at_end_kb"),
        "peak_after_kb": _rss_kb("VmHWM"),
    }
    path = os.environ["RAGOPS_BENCH_OUT"]
    with open(f"{path}.{worker}.json", "w") as fh:
        json.dump(out, fh)
"""

TEST_FILE = """
import random

import pytest

from pytest_ragops.results import Record

RECORDS = {records}
TESTS = {tests}
VARIANTS = {variants}
METRICS = ("faithfulness", "answer_relevancy", "context_precision", "context_recall")
_rng = random.Random(7)
BLOB = "".join(_rng.choice("abcdefghij klmnopqrstuvwxyz ") for _ in range(1 << 20))


def records_for(shard):
    rng = random.Random(1000 + shard)
    per_test = RECORDS // TESTS
    cases = per_test // VARIANTS
    out = []
    for c in range(cases):
        case = shard * cases + c
        for v in range(VARIANTS):
            scores = {{}}
            for m in METRICS:
                if m == "context_recall" and case % 10 == 0:
                    scores[m] = {{"value": None, "judge": "offline:bench", "error": None,
                                 "applicable": False}}
                else:
                    value = min(1.0, max(0.0, rng.gauss(0.75 + 0.03 * v, 0.15)))
                    scores[m] = {{"value": value, "judge": "offline:bench", "error": None,
                                 "rationale": "matched 7 of 9 claims"}}
            contexts = []
            for _ in range(3):
                at = rng.randrange(len(BLOB) - 1800)
                contexts.append(BLOB[at : at + 1700])
            out.append(Record(
                test_id="", question=f"question {{case}} about topic {{case % 97}}?",
                answer=BLOB[case % 5000 : case % 5000 + 300], contexts=contexts,
                reference=None if case % 10 == 0 else f"reference {{case}}",
                case_id=f"case-{{case:05d}}", variant=f"v{{v}}", scores=scores,
                cost_usd=0.0004 + 0.0001 * v, usage={{"input_tokens": 900, "output_tokens": 80}},
                model="bench-model", latency_s=rng.uniform(0.2, 2.0),
                prompt={{"name": f"v{{v}}", "version": "1", "hash": f"h{{v}}"}},
            ))
    return out


@pytest.mark.parametrize("shard", range(TESTS))
def test_shard(ragops, shard):
    recs = records_for(shard)
    for r in recs:
        r.test_id = ragops.test_id
    ragops.records.extend(recs)
"""


def extract_baseline(ref: str, dest: Path) -> str:
    """``ref``'s package in ``dest``; returns the commit it came from."""
    commit = subprocess.run(
        ["git", "-C", str(ROOT), "merge-base", "HEAD", ref],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit, "pytest_ragops"],
        check=True,
        capture_output=True,
    ).stdout
    tar = dest / "pkg.tar"
    tar.write_bytes(archive)
    with tarfile.open(tar) as tf:
        tf.extractall(dest, filter="data")
    return commit


def run_session(
    project: Path, records: int, package_dir: Path | None, xdist: bool, autoload: bool = True
) -> list[dict[str, object]]:
    """One pytest session; the probe's figures for the controller (and workers)."""
    (project / "test_scale.py").write_text(
        TEST_FILE.format(records=records, tests=TESTS, variants=VARIANTS)
    )
    (project / "bench_probe.py").write_text(PROBE)
    out = project / "probe"
    for old in project.glob("probe.*.json"):
        old.unlink()
    env = dict(os.environ)
    paths = [str(package_dir)] if package_dir else []
    env["PYTHONPATH"] = os.pathsep.join([*paths, str(project)])
    env["RAGOPS_BENCH_OUT"] = str(out)
    env.pop("ANTHROPIC_API_KEY", None)
    env.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)
    plugins: list[str] = []
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        plugins = ["-p", "pytest_ragops.plugin", *(["-p", "xdist.plugin"] if xdist else [])]
    cmd = [
        sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *plugins, "-p", "bench_probe",
        "-q", "--ragops-eval", "--ragops-judge=offline", "--ragops-mlflow=off",
        "--ragops-threshold=faithfulness=0.5", "--ragops-threshold=faithfulness_ci_low=0.5",
        "--ragops-threshold=latency_p95_s=5", "--ragops-threshold=cost_per_query_usd=0.01",
        f"--ragops-report={project / 'report.json'}", f"--ragops-markdown={project / 'report.md'}",
        "test_scale.py",
    ]  # fmt: skip
    if xdist:
        cmd += ["-n", "2"]
    proc = subprocess.run(cmd, cwd=project, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
        sys.exit(f"pytest failed ({proc.returncode}):\n{tail}")
    results = [json.loads(p.read_text()) for p in sorted(project.glob("probe.*.json"))]
    expected = str(package_dir) if package_dir else str(ROOT)
    for r in results:
        if not str(r["package"]).startswith(expected):
            sys.exit(f"imported {r['package']}, expected the copy under {expected}")
    size = (project / "report.json").stat().st_size
    for r in results:
        r["json_mb"] = size / 1e6
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-ref", default="5dfc021")
    parser.add_argument("--xdist", action="store_true", help="also measure -n 2 at 20,000")
    parser.add_argument("--sizes", default="2000,20000")
    parser.add_argument(
        "--autoload",
        choices=("both", "on", "off"),
        default="both",
        help="pytest's plugin autoloading: as installed (on), core plugins only (off)",
    )
    args = parser.parse_args()
    modes = {"both": (True, False), "on": (True,), "off": (False,)}[args.autoload]
    with tempfile.TemporaryDirectory(prefix="ragops-scale-") as tmp:
        base = Path(tmp)
        old_pkg = base / "old"
        old_pkg.mkdir()
        commit = extract_baseline(args.baseline_ref, old_pkg)
        project = base / "project"
        project.mkdir()
        (project / "pyproject.toml").write_text("[tool.pytest.ini_options]\n")
        print(f"old = {args.baseline_ref} ({commit[:10]}), new = {ROOT}")
        print(f"{TESTS} tests, {VARIANTS} variants, contexts ~5 KB per record")
        print(
            textwrap.dedent("""
            plugins  records  code  seconds  peak MB  (RSS at last test's end, peak - that)  json MB
        """).strip()
        )
        for autoload in modes:
            mode = "all" if autoload else "core"
            for size in (int(s) for s in args.sizes.split(",")):
                for label, pkg in (("old", old_pkg), ("new", None)):
                    (r,) = run_session(project, size, pkg, xdist=False, autoload=autoload)
                    rss = (r["rss_at_end_kb"] or 0) / 1024  # type: ignore[operator]
                    peak = r["peak_after_kb"] / 1024  # type: ignore[operator]
                    print(
                        f"{mode:7s}  {size:7d}  {label:4s}  {r['seconds']:7.2f}  {peak:7.0f}  "
                        f"({rss:.0f}, +{peak - rss:.0f})  {r['json_mb']:.1f}"
                    )
        for autoload in modes if args.xdist else ():
            mode = "all plugins" if autoload else "core plugins"
            print(f"\n-n 2, 20000 records, {mode}: peak RSS MB per process over the whole run")
            for label, pkg in (("old", old_pkg), ("new", None)):
                results = run_session(project, 20000, pkg, xdist=True, autoload=autoload)
                parts = []
                for r in results:
                    with_peak = r["peak_after_kb"] / 1024  # type: ignore[operator]
                    parts.append(f"{r['worker']} {with_peak:.0f} (after last test)")
                ctl = next(r for r in results if r["worker"] == "controller")
                print(f"  {label}: {', '.join(parts)}; controller seconds {ctl['seconds']:.2f}")


if __name__ == "__main__":
    main()
