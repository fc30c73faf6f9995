"""Storage for the retrieval log: SQLite (stdlib, default) or any SQLAlchemy URL.

Both backends keep one table, ``ragops_retrieval_log(id, ts, query, top_score, session_id)``,
with ``ts`` as UTC epoch seconds and a covering index on ``(ts, top_score)`` so a drift check
reads scores for a time range from the index alone (1M rows in well under a second).

SQLite runs in WAL mode with a busy timeout so several processes can log at once without
losing rows; each process (and thread) opens its own connection, because SQLite
connections must not cross a ``fork``. Server databases (PostgreSQL) ping pooled
connections before use, so a server restart or failover does not cost the next log call.
"""

from __future__ import annotations

import math
import os
import sqlite3
import threading
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pytest_ragops.errors import RagopsError

if TYPE_CHECKING:
    from collections.abc import Sequence

    import numpy as np
    import numpy.typing as npt

    from pytest_ragops.drift.schema import LogRow
    from pytest_ragops.drift.stats import ScoreSample

__all__ = ["TABLE", "LogStore", "SqlAlchemyStore", "SqliteStore", "open_store"]

#: Name of the table both backends use.
TABLE = "ragops_retrieval_log"
_BUSY_TIMEOUT_S = 60.0
# Key of the PostgreSQL advisory lock that serialises schema creation (stable across processes).
_SCHEMA_LOCK_KEY = zlib.crc32(TABLE.encode())


class LogStore(Protocol):
    """What the drift code needs from a store; times are epoch seconds, ranges ``[start, end)``."""

    location: str

    def insert(self, rows: Sequence[LogRow]) -> None: ...
    def scores(self, start: float, end: float) -> npt.NDArray[np.float64]: ...
    def summary(self, start: float, end: float, cap: int) -> ScoreSample: ...
    def points(
        self, start: float, end: float
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]: ...
    def low_queries(
        self, start: float, end: float, threshold: float, limit: int
    ) -> list[tuple[str, float]]: ...
    def count(self, start: float | None = None, end: float | None = None) -> int: ...
    def count_below(self, start: float, end: float, threshold: float) -> int: ...
    def delete_before(self, cutoff: float) -> int: ...
    def close(self) -> None: ...


def open_store(db: str | os.PathLike[str]) -> LogStore:
    """Open ``db``: a SQLAlchemy URL when it contains ``://``, else a SQLite file path."""
    text = os.fspath(db)
    if not text:
        raise RagopsError("the database path is empty", field="db")
    if "://" in text:
        return SqlAlchemyStore(text)
    return SqliteStore(text)


def _summary(
    n: int, mean: float | None, mean_sq: float | None, values: npt.NDArray[np.float64]
) -> ScoreSample:
    from pytest_ragops.drift.stats import ScoreSample

    if n == 0 or mean is None or mean_sq is None:
        return ScoreSample(0, math.nan, math.nan, values)
    # E[x²] - E[x]² is stable enough for scores in a bounded range such as [0, 1].
    var = max(mean_sq - mean * mean, 0.0) * n / (n - 1) if n >= 2 else math.nan
    return ScoreSample(n, float(mean), var, values)


def _step(n: int, cap: int) -> int:
    # Sample every step-th row id: uniform in time and, ids carrying no score pattern, in score.
    return max(1, math.ceil(n / cap))


def _as_array(values: Sequence[float] | Any) -> npt.NDArray[np.float64]:
    import numpy as np

    return np.asarray(values, dtype=np.float64)


class SqliteStore:
    """The default store: one SQLite file in WAL mode, safe for concurrent writers."""

    def __init__(self, path: str) -> None:
        self.location = path
        parent = Path(path).expanduser().resolve().parent
        if not parent.is_dir():
            raise RagopsError("the directory for the drift database does not exist", path=path)
        self._path = str(Path(path).expanduser())
        self._local = threading.local()
        self._retry(self._create_schema)

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        try:
            conn = sqlite3.connect(self._path, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            raise RagopsError(f"cannot open the drift database: {exc}", path=self.location) from exc
        self._local.conn = conn
        self._local.pid = os.getpid()
        return conn

    def _retry(self, fn: Any) -> Any:
        # Switching to WAL can return SQLITE_BUSY without calling the busy handler when
        # several processes open a new file at once, so retry that step ourselves.
        deadline = time.monotonic() + _BUSY_TIMEOUT_S
        while True:
            try:
                return fn()
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise RagopsError(f"drift database error: {exc}", path=self.location) from exc
                time.sleep(0.05)
            except sqlite3.DatabaseError as exc:
                raise RagopsError(f"drift database error: {exc}", path=self.location) from exc

    def _create_schema(self) -> None:
        conn = self._connect()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(
            f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, ts REAL NOT NULL, "
            "query TEXT NOT NULL, top_score REAL NOT NULL, session_id TEXT NOT NULL)"
        )
        conn.execute(f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_ts_score ON {TABLE} (ts, top_score)")

    def insert(self, rows: Sequence[LogRow]) -> None:
        if not rows:
            return
        conn = self._connect()

        def write() -> None:
            # BEGIN IMMEDIATE takes the write lock up front, so a batch never fails half-way
            # on a lock upgrade; the busy timeout makes other writers wait their turn.
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(
                    f"INSERT INTO {TABLE} (ts, query, top_score, session_id) VALUES (?, ?, ?, ?)",
                    rows,
                )
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

        self._retry(write)

    def scores(self, start: float, end: float) -> npt.NDArray[np.float64]:
        import numpy as np

        cur = self._connect().execute(
            f"SELECT top_score FROM {TABLE} WHERE ts >= ? AND ts < ?", (start, end)
        )
        cur.row_factory = lambda _cursor, row: row[0]
        return np.fromiter(cur, dtype=np.float64)

    def summary(self, start: float, end: float, cap: int) -> ScoreSample:
        import numpy as np

        conn = self._connect()
        n, mean, mean_sq = conn.execute(
            f"SELECT COUNT(*), AVG(top_score), AVG(top_score * top_score) FROM {TABLE} "
            "WHERE ts >= ? AND ts < ?",
            (start, end),
        ).fetchone()
        step = _step(int(n), cap)
        if step == 1:
            values = self.scores(start, end)
        else:
            cur = conn.execute(
                f"SELECT top_score FROM {TABLE} WHERE ts >= ? AND ts < ? AND id % ? = 0",
                (start, end, step),
            )
            cur.row_factory = lambda _cursor, row: row[0]
            values = np.fromiter(cur, dtype=np.float64)
        return _summary(int(n), mean, mean_sq, values)

    def points(
        self, start: float, end: float
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        rows = (
            self._connect()
            .execute(
                f"SELECT ts, top_score FROM {TABLE} WHERE ts >= ? AND ts < ? ORDER BY ts",
                (start, end),
            )
            .fetchall()
        )
        data = _as_array(rows).reshape(-1, 2)
        return data[:, 0].copy(), data[:, 1].copy()

    def low_queries(
        self, start: float, end: float, threshold: float, limit: int
    ) -> list[tuple[str, float]]:
        rows = (
            self._connect()
            .execute(
                f"SELECT query, top_score FROM {TABLE} WHERE ts >= ? AND ts < ? "
                "AND top_score < ? ORDER BY ts DESC, id DESC LIMIT ?",
                (start, end, threshold, limit),
            )
            .fetchall()
        )
        return [(str(q), float(s)) for q, s in rows]

    def count(self, start: float | None = None, end: float | None = None) -> int:
        lo = float("-inf") if start is None else start
        hi = float("inf") if end is None else end
        (n,) = (
            self._connect()
            .execute(f"SELECT COUNT(*) FROM {TABLE} WHERE ts >= ? AND ts < ?", (lo, hi))
            .fetchone()
        )
        return int(n)

    def count_below(self, start: float, end: float, threshold: float) -> int:
        (n,) = (
            self._connect()
            .execute(
                f"SELECT COUNT(*) FROM {TABLE} WHERE ts >= ? AND ts < ? AND top_score < ?",
                (start, end, threshold),
            )
            .fetchone()
        )
        return int(n)

    def delete_before(self, cutoff: float) -> int:
        conn = self._connect()

        def delete() -> int:
            return int(conn.execute(f"DELETE FROM {TABLE} WHERE ts < ?", (cutoff,)).rowcount)

        deleted: int = self._retry(delete)
        return deleted

    def close(self) -> None:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            conn.close()
        self._local.conn = None


class SqlAlchemyStore:
    """Any database SQLAlchemy can reach (PostgreSQL, MySQL, SQLite URLs...)."""

    def __init__(self, url: str) -> None:
        import sqlalchemy as sa

        self.location = url
        try:
            # SQLite files have no server to restart; elsewhere a stale pooled connection
            # (server restart, failover, idle kill) would fail the next call, losing its row.
            server = sa.engine.make_url(url).get_backend_name() != "sqlite"
            self._engine = sa.create_engine(url, pool_pre_ping=server)
        except (sa.exc.ArgumentError, sa.exc.NoSuchModuleError, ImportError) as exc:
            raise RagopsError(f"cannot use this database URL: {exc}", path=url) from exc
        if self._engine.dialect.name == "sqlite":
            sa.event.listen(self._engine, "connect", _sqlite_pragmas)
        self._pid = os.getpid()
        meta = sa.MetaData()
        self._table = sa.Table(
            TABLE,
            meta,
            sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
            sa.Column("ts", sa.Double(), nullable=False),
            sa.Column("query", sa.Text(), nullable=False),
            sa.Column("top_score", sa.Double(), nullable=False),
            sa.Column("session_id", sa.Text(), nullable=False),
            sa.Index(f"ix_{TABLE}_ts_score", "ts", "top_score"),
        )
        try:
            with self._engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    # Processes opening a new database at once would otherwise race to
                    # CREATE TABLE and all but one fail (duplicate key in pg_type/pg_class).
                    conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK_KEY)))
                meta.create_all(conn, checkfirst=True)
        except sa.exc.SQLAlchemyError as exc:
            raise RagopsError(
                f"cannot open the drift database: {_db_error(exc)}", path=url
            ) from exc

    def _conn_engine(self) -> Any:
        if os.getpid() != self._pid:  # forked: never reuse the parent's pooled connections
            self._engine.dispose(close=False)
            self._pid = os.getpid()
        return self._engine

    def _run(self, statement: Any, params: Any = None, *, write: bool = False) -> Any:
        import sqlalchemy as sa

        engine = self._conn_engine()
        try:
            if write:
                with engine.begin() as conn:
                    return conn.execute(statement, params)
            with engine.connect() as conn:
                return conn.execute(statement, params).all()
        except sa.exc.SQLAlchemyError as exc:
            message = f"drift database error: {_db_error(exc)}"
            raise RagopsError(message, path=self.location) from exc

    def insert(self, rows: Sequence[LogRow]) -> None:
        if rows:
            self._run(self._table.insert(), [r._asdict() for r in rows], write=True)

    def _between(self, start: float, end: float) -> Any:
        t = self._table.c
        return (t.ts >= start) & (t.ts < end)

    def scores(self, start: float, end: float) -> npt.NDArray[np.float64]:
        import sqlalchemy as sa

        rows = self._run(sa.select(self._table.c.top_score).where(self._between(start, end)))
        return _as_array([r[0] for r in rows])

    def summary(self, start: float, end: float, cap: int) -> ScoreSample:
        import sqlalchemy as sa

        t = self._table.c
        agg = sa.select(
            sa.func.count(), sa.func.avg(t.top_score), sa.func.avg(t.top_score * t.top_score)
        )
        n, mean, mean_sq = self._run(agg.where(self._between(start, end)))[0]
        step = _step(int(n), cap)
        where = self._between(start, end)
        if step > 1:
            where = where & ((t.id % step) == 0)
        values = _as_array([r[0] for r in self._run(sa.select(t.top_score).where(where))])
        return _summary(
            int(n),
            None if mean is None else float(mean),
            None if mean_sq is None else float(mean_sq),
            values,
        )

    def points(
        self, start: float, end: float
    ) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
        import sqlalchemy as sa

        t = self._table.c
        rows = self._run(
            sa.select(t.ts, t.top_score).where(self._between(start, end)).order_by(t.ts)
        )
        data = _as_array([tuple(r) for r in rows]).reshape(-1, 2)
        return data[:, 0].copy(), data[:, 1].copy()

    def low_queries(
        self, start: float, end: float, threshold: float, limit: int
    ) -> list[tuple[str, float]]:
        import sqlalchemy as sa

        t = self._table.c
        stmt = (
            sa.select(t.query, t.top_score)
            .where(self._between(start, end) & (t.top_score < threshold))
            .order_by(t.ts.desc(), t.id.desc())
            .limit(limit)
        )
        return [(str(q), float(s)) for q, s in self._run(stmt)]

    def count(self, start: float | None = None, end: float | None = None) -> int:
        import sqlalchemy as sa

        stmt = sa.select(sa.func.count()).select_from(self._table)
        if start is not None:
            stmt = stmt.where(self._table.c.ts >= start)
        if end is not None:
            stmt = stmt.where(self._table.c.ts < end)
        return int(self._run(stmt)[0][0])

    def count_below(self, start: float, end: float, threshold: float) -> int:
        import sqlalchemy as sa

        where = self._between(start, end) & (self._table.c.top_score < threshold)
        stmt = sa.select(sa.func.count()).select_from(self._table).where(where)
        return int(self._run(stmt)[0][0])

    def delete_before(self, cutoff: float) -> int:
        result = self._run(self._table.delete().where(self._table.c.ts < cutoff), write=True)
        return int(result.rowcount)

    def close(self) -> None:
        self._engine.dispose()


def _db_error(exc: Exception) -> str:
    """The driver's own message on one line: SQLAlchemy's adds the SQL and every parameter."""
    orig = getattr(exc, "orig", None)
    text = str(orig) if orig is not None else str(exc).split("\n(Background", 1)[0]
    return " ".join(text.split())


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={int(_BUSY_TIMEOUT_S * 1000)}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
