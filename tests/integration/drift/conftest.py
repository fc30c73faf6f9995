"""A throwaway PostgreSQL server, so the drift store's SQLAlchemy path is proven on the real thing.

The server binaries are a test requirement, not an option: a missing server fails the tests
with a message saying what to install (CI installs the ``postgresql`` package), because a
silent skip would let the PostgreSQL path rot unnoticed.

PostgreSQL refuses to run as root, so as root the server runs as the ``postgres`` OS user
(``runuser``) from a directory under the system temp dir that user may enter (pytest's own
``tmp_path`` base is private to root). The server listens on 127.0.0.1 only, on a free port,
with trust auth and ``fsync=off`` (throwaway data), and its time zone is deliberately far
from UTC so any code leaning on server-local time would show up.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

PG_USER = "postgres"
SERVER_TIMEZONE = "Pacific/Chatham"  # UTC+12:45/+13:45: nobody's default
_WAIT_S = 60  # every pg_ctl wait is bounded by this
_INSTALL_HINT = (
    "install the PostgreSQL server (Debian/Ubuntu: apt-get install postgresql; CI's .ci/run "
    "does) or point RAGOPS_PG_BIN at the directory holding initdb and pg_ctl"
)


def _bin_dir() -> Path:
    """Where initdb and pg_ctl live: $RAGOPS_PG_BIN, PATH, or Debian's versioned directory."""
    candidates: list[str] = []
    if os.environ.get("RAGOPS_PG_BIN"):
        candidates.append(os.environ["RAGOPS_PG_BIN"])
    on_path = shutil.which("pg_ctl")
    if on_path:
        candidates.append(str(Path(on_path).resolve().parent))
    debian = glob.glob("/usr/lib/postgresql/*/bin")
    # Newest major version first: /usr/lib/postgresql/<major>/bin.
    candidates += sorted(debian, key=lambda p: (len(Path(p).parent.name), p), reverse=True)
    for directory in candidates:
        if all(os.access(Path(directory) / tool, os.X_OK) for tool in ("initdb", "pg_ctl")):
            return Path(directory)
    pytest.fail(f"PostgreSQL server binaries (initdb, pg_ctl) not found: {_INSTALL_HINT}")


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class PostgresServer:
    """One running throwaway server; :meth:`new_database` hands out isolated databases."""

    def __init__(self, bin_dir: Path, root: Path, as_user: list[str]) -> None:
        self.bin_dir = bin_dir
        self.root = root
        self.data = root / "data"
        self.logfile = root / "server.log"
        self.host = "127.0.0.1"
        self.port = 0
        self._as_user = as_user
        self._names = itertools.count()

    def _run(self, tool: str, *args: str) -> subprocess.CompletedProcess[str]:
        # Output goes to a file, never a pipe: a server inheriting a pipe would hang the read.
        with open(self.root / "tools.log", "a") as out:
            return subprocess.run(
                [*self._as_user, str(self.bin_dir / tool), *args],
                stdout=out,
                stderr=subprocess.STDOUT,
                text=True,
                timeout=_WAIT_S + 30,
                check=False,
            )

    def _pg_ctl(self, action: str, *options: str) -> subprocess.CompletedProcess[str]:
        """``pg_ctl ACTION`` on this data directory, waiting at most ``_WAIT_S`` seconds."""
        return self._run("pg_ctl", "-D", str(self.data), "-w", "-t", str(_WAIT_S), *options, action)

    def _log_tail(self) -> str:
        texts = []
        for path in (self.root / "tools.log", self.logfile):
            if path.exists():
                texts.append(path.read_text(errors="replace")[-2000:])
        return "\n".join(texts)

    def init(self) -> None:
        done = self._run(
            "initdb",
            "-D",
            str(self.data),
            "-U",
            PG_USER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        if done.returncode != 0:
            pytest.fail(f"initdb failed:\n{self._log_tail()}")

    def start(self) -> None:
        for _attempt in range(3):  # a port found free can be taken before the server binds it
            self.port = _free_port()
            options = " ".join(
                f"-c {shlex.quote(setting)}"
                for setting in (
                    "listen_addresses=127.0.0.1",
                    f"port={self.port}",
                    f"unix_socket_directories={self.root}",
                    "fsync=off",
                    "synchronous_commit=off",
                    "full_page_writes=off",
                    f"TimeZone={SERVER_TIMEZONE}",
                )
            )
            done = self._pg_ctl("start", "-l", str(self.logfile), "-o", options)
            if done.returncode == 0:
                return
            self.stop()  # a half-started server must not outlive the attempt
        pytest.fail(f"PostgreSQL did not start:\n{self._log_tail()}")

    def stop(self) -> None:
        """Stop fast; fall back to immediate so a teardown never leaves a server behind."""
        if not (self.data / "postmaster.pid").exists():
            return
        stopped = self._pg_ctl("stop", "-m", "fast")
        if stopped.returncode != 0 and (self.data / "postmaster.pid").exists():
            self._pg_ctl("stop", "-m", "immediate")

    def restart(self) -> None:
        """Restart on the same port: every open connection is dropped."""
        done = self._pg_ctl("restart", "-l", str(self.logfile), "-m", "fast")
        if done.returncode != 0:
            pytest.fail(f"PostgreSQL did not restart:\n{self._log_tail()}")

    def admin_dsn(self, dbname: str = "postgres") -> str:
        return f"host={self.host} port={self.port} user={PG_USER} dbname={dbname}"

    def url(self, dbname: str) -> str:
        return f"postgresql+psycopg://{PG_USER}@{self.host}:{self.port}/{dbname}"

    def new_database(self, name: str | None = None) -> str:
        """Create an empty database and return its SQLAlchemy URL."""
        import psycopg

        dbname = name or f"t{next(self._names)}"
        with psycopg.connect(self.admin_dsn(), autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE DATABASE "{dbname}"')
        return self.url(dbname)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running throwaway PostgreSQL for the whole session, stopped and removed after it."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.fail('the PostgreSQL driver is missing: pip install "psycopg[binary]>=3.2"')
    bin_dir = _bin_dir()
    as_user: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        try:
            owner = pwd.getpwnam(PG_USER)
        except KeyError:
            pytest.fail(
                f"running as root, and PostgreSQL refuses root, but there is no {PG_USER!r} "
                f"OS user to run it as: {_INSTALL_HINT}"
            )
        runuser = shutil.which("runuser")
        if runuser is None:
            pytest.fail("running as root needs runuser (util-linux) to start PostgreSQL")
        as_user = [runuser, "-u", PG_USER, "--"]
    root = Path(tempfile.mkdtemp(prefix="ragops-pg-"))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    server = PostgresServer(bin_dir, root, as_user)
    try:
        server.init()
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL of the session's ``ragops`` database on the throwaway server."""
    return postgres_server.new_database("ragops")


@pytest.fixture
def fresh_postgres_url(postgres_server: PostgresServer) -> str:
    """SQLAlchemy URL of a new, empty database: ids start at 1 and no test sees another's rows."""
    return postgres_server.new_database()


_WRITER = """
import os, sys, time
db, worker, rows, go = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
if "://" in db:
    import sqlalchemy  # imported up front, so the workers open the store in step
if db.startswith("postgresql"):
    import psycopg
from pytest_ragops.drift import RetrievalLog

while not os.path.exists(go):  # start together, so the writers really contend
    time.sleep(0.005)
log = RetrievalLog(db)  # on a new database this races the schema creation too
half = rows // 2
for i in range(half):  # one transaction per row, the usual serving-path call
    log.log(f"worker {worker} query {i}", (i % 100) / 100, f"w{worker}")
for start in range(half, rows, 250):  # and batches
    log.log_many([(f"worker {worker} query {i}", 0.5, f"w{worker}")
                  for i in range(start, min(start + 250, rows))])
log.close()
print("done", worker)
"""


@pytest.fixture
def concurrent_writers(tmp_path: Path) -> Callable[[str, int, int], None]:
    """Start writer processes together on one store and check each finished cleanly.

    Each worker logs half its rows one transaction at a time and half in batches of 250,
    with queries ``worker W query I`` (distinct across workers) and session ``wW``.
    """

    def run(db: str, processes: int, rows: int) -> None:
        go = tmp_path / "go"
        go.unlink(missing_ok=True)
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", _WRITER, db, str(w), str(rows), str(go)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for w in range(processes)
        ]
        time.sleep(1.0)  # let every interpreter import before the start signal
        go.touch()
        for w, proc in enumerate(procs):
            out, err = proc.communicate(timeout=300)
            assert proc.returncode == 0, err
            assert out.strip() == f"done {w}"

    return run


def synthetic_scores(
    rows: int, now: float, *, days: int = 37, recent_days: int = 7, seed: int = 0
) -> Iterator[tuple[Any, Any]]:
    """``(ts, score)`` numpy chunks of at most 1M rows, oldest first, spread over ``days``
    before ``now``; in the last ``recent_days`` 30% of scores come from the off-corpus
    distribution (as :mod:`pytest_ragops.drift.simulate`), so the log drifts."""
    import numpy as np

    rng = np.random.default_rng(seed)
    chunk = 1_000_000
    span = days * 86400.0
    recent_start = now - recent_days * 86400.0
    for first in range(0, rows, chunk):
        size = min(chunk, rows - first)
        ts = now - span + (np.arange(first, first + size) + 0.5) * (span / rows)
        scores = rng.beta(7.0, 3.0, size)
        shifted = (ts >= recent_start) & (rng.random(size) < 0.3)
        scores[shifted] = rng.beta(2.5, 7.5, int(shifted.sum()))
        yield ts, np.round(scores, 6)


def copy_rows(dsn: str, rows: int, now: float, *, days: int = 37, seed: int = 0) -> None:
    """Load ``rows`` synthetic rows into the retrieval log table with ``COPY ... FROM STDIN``
    (the table must exist: open a RetrievalLog on the URL first), then ANALYZE it."""
    import psycopg

    from pytest_ragops.drift.store import TABLE

    with psycopg.connect(dsn, autocommit=True) as conn:
        with conn.cursor() as cur:
            sql = f"COPY {TABLE} (ts, query, top_score, session_id) FROM STDIN"
            with cur.copy(sql) as copy:
                for ts, scores in synthetic_scores(rows, now, days=days, seed=seed):
                    lines = "".join(
                        f"{t!r}\tbulk query {i % 97}\t{s!r}\tbulk\n"
                        for i, (t, s) in enumerate(zip(ts.tolist(), scores.tolist(), strict=True))
                    )
                    copy.write(lines.encode())
        conn.execute(f"VACUUM ANALYZE {TABLE}")


@pytest.fixture
def bulk_copy() -> Callable[..., None]:
    """:func:`copy_rows`, for tests (a fixture, since test modules cannot import conftest)."""
    return copy_rows


def rollup_matches(conn: Any) -> int:
    """Assert the daily roll-up equals the log's rows grouped by UTC day and score bin
    (``conn``: a sqlite3 or psycopg connection); return the number of roll-up cells."""
    import math

    from pytest_ragops.drift.store import DAILY, TABLE

    want: dict[tuple[int, int], list[float]] = {}
    for ts, x in conn.execute(f"SELECT ts, top_score FROM {TABLE}").fetchall():
        k = -1 if x < 0 else 1001 if x > 1 else math.floor(x * 1000.0)
        cell = want.setdefault((math.floor(ts / 86400), k), [0, 0.0, 0.0])
        cell[0] += 1
        cell[1] += x
        cell[2] += x * x
    got = {
        (int(day), int(k)): (int(n), float(t), float(t2))
        for day, k, n, t, t2 in conn.execute(
            f"SELECT day, bin, n, total, total_sq FROM {DAILY}"
        ).fetchall()
    }
    assert got.keys() == want.keys()
    for key, (n, total, total_sq) in want.items():
        assert got[key][0] == n, key
        assert math.isclose(got[key][1], total, rel_tol=1e-9, abs_tol=1e-12), key
        assert math.isclose(got[key][2], total_sq, rel_tol=1e-9, abs_tol=1e-12), key
    return len(got)


@pytest.fixture
def rollup_agrees() -> Callable[[Any], int]:
    """:func:`rollup_matches`, for tests."""
    return rollup_matches
