"""Storage for the retrieval log: SQLite (stdlib, default) or any SQLAlchemy URL.

Both backends keep one table, ``ragops_retrieval_log(id, ts, query, top_score, session_id)``,
with ``ts`` as UTC epoch seconds and an index on ``(ts, top_score)``. Reads are aggregates
over a time range (a drift check gets per-bin ``COUNT``/``SUM``/sum of squares, never the
scores), so their memory does not grow with the log. Native SQLite adds an index on
``(score bin, ts, top_score)`` that serves the default histogram without a sort.

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

    from pytest_ragops.drift.schema import LogRow
    from pytest_ragops.drift.stats import PeriodStats

__all__ = ["TABLE", "LogStore", "SqlAlchemyStore", "SqliteStore", "open_store"]

#: Name of the table both backends use.
TABLE = "ragops_retrieval_log"
_BUSY_TIMEOUT_S = 60.0
# Key of the PostgreSQL advisory lock that serialises schema creation (stable across processes).
_SCHEMA_LOCK_KEY = zlib.crc32(TABLE.encode())


class LogStore(Protocol):
    """What the drift code needs from a store; times are epoch seconds, ranges ``[start, end)``.

    Every read is an aggregate or a bounded query over a time range: no method returns a
    number of rows that grows with the log.
    """

    location: str

    def insert(self, rows: Sequence[LogRow]) -> None: ...
    def period_stats(
        self, start: float, end: float, bins: int, score_range: tuple[float, float]
    ) -> PeriodStats: ...
    def day_stats(self, start: float, end: float) -> tuple[int, float]: ...
    def low_queries(
        self, start: float, end: float, threshold: float, limit: int
    ) -> list[tuple[str, float]]: ...
    def count(self, start: float | None = None, end: float | None = None) -> int: ...
    def count_below(self, start: float, end: float, threshold: float) -> int: ...
    def delete_before(self, cutoff: float) -> int: ...
    def close(self) -> None: ...


def open_store(db: str | os.PathLike[str], *, create: bool = True) -> LogStore:
    """Open ``db``: a SQLAlchemy URL when it contains ``://``, else a SQLite file path.

    ``create=False`` opens only an existing log (the file and its table), for read-only
    commands that must not conjure an empty log out of a mistyped path.
    """
    text = os.fspath(db)
    if not text:
        raise RagopsError("the database path is empty", field="db")
    if "://" in text:
        return SqlAlchemyStore(text, create=create)
    return SqliteStore(text, create=create)


def _period(
    rows: Sequence[tuple[Any, ...]], bins: int, score_range: tuple[float, float], where: str
) -> PeriodStats:
    """Fold ``(bin, count, sum, sum of squares, min, max)`` rows into one period's aggregates."""
    from pytest_ragops.drift.stats import PeriodStats

    low, high = score_range
    counts = [0] * bins
    n = 0
    sums: list[float] = []
    squares: list[float] = []
    for index, count, total, total_sq, lowest, highest in rows:
        if not count:
            continue
        if index is None or not 0 <= index <= bins or lowest < low or highest > high:
            raise RagopsError(
                f"the log holds scores outside the score range [{low:g}, {high:g}] "
                "(written with another score_range?); open it with that score_range",
                path=where,
            )
        counts[min(int(index), bins - 1)] += int(count)  # the top edge joins the top bin
        n += int(count)
        sums.append(float(total))
        squares.append(float(total_sq))
    return PeriodStats(n, math.fsum(sums), math.fsum(squares), tuple(counts))


# The native SQLite histogram: SQLite would sort every row for a GROUP BY over an
# expression, so instead each bin is one seek into an index on (bin, ts, top_score) and a
# range scan of that bin's rows in the period: one visit per row, no sort, constant memory.
# The bin expression is fixed by the index, so this path serves the default 1,000 bins of
# [0, 1]; other ranges use the GROUP BY.
_FAST_BINS = 1000
_BIN_SQL = f"CAST(top_score * {_FAST_BINS} AS INTEGER)"
_BIN_INDEX = f"ix_{TABLE}_bin"
_FAST_HISTOGRAM = (
    f"WITH RECURSIVE bins(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM bins WHERE k < {_FAST_BINS}) "
    "SELECT k, (SELECT printf('%d %!.17g %!.17g', COUNT(*), TOTAL(top_score), "
    f"TOTAL(top_score * top_score)) FROM {TABLE} INDEXED BY {_BIN_INDEX} "
    f"WHERE {_BIN_SQL} = k AND ts >= ? AND ts < ?) FROM bins"
)
# The range guard: the lowest and highest bin in the whole log, one index probe each.
_FAST_LIMITS = (
    f"SELECT (SELECT MIN({_BIN_SQL}) FROM {TABLE} INDEXED BY {_BIN_INDEX}), "
    f"(SELECT MAX({_BIN_SQL}) FROM {TABLE} INDEXED BY {_BIN_INDEX})"
)


class SqliteStore:
    """The default store: one SQLite file in WAL mode, safe for concurrent writers."""

    def __init__(self, path: str, *, create: bool = True) -> None:
        self.location = path
        resolved = Path(path).expanduser().resolve()
        if not resolved.parent.is_dir():
            raise RagopsError("the directory for the drift database does not exist", path=path)
        if not create and not resolved.is_file():
            raise RagopsError("the drift database does not exist", path=path)
        self._path = str(Path(path).expanduser())
        self._local = threading.local()
        # Every thread's connection, so close() can close them all (not just the caller's).
        self._conns: list[tuple[int, sqlite3.Connection]] = []
        self._conns_lock = threading.Lock()
        if create:
            self._retry(self._create_schema)
        elif not self._retry(self._has_table):
            self.close()
            raise RagopsError(f"the file holds no retrieval log (no table {TABLE})", path=path)
        self._fast = bool(self._retry(self._has_bin_index))

    def _connect(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None and getattr(self._local, "pid", None) == os.getpid():
            return conn
        try:
            # check_same_thread=False only so close() may close other threads' connections;
            # each connection is still used by the one thread that opened it.
            conn = sqlite3.connect(
                self._path, timeout=_BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.DatabaseError as exc:
            raise RagopsError(f"cannot open the drift database: {exc}", path=self.location) from exc
        self._local.conn = conn
        self._local.pid = os.getpid()
        with self._conns_lock:
            self._conns.append((os.getpid(), conn))
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
        # Built once on a log from an older version (a few seconds per million rows).
        conn.execute(
            f"CREATE INDEX IF NOT EXISTS {_BIN_INDEX} ON {TABLE} ({_BIN_SQL}, ts, top_score)"
        )

    def _has_table(self) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self._connect().execute(sql, (TABLE,)).fetchone() is not None

    def _has_bin_index(self) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?"
        return self._connect().execute(sql, (_BIN_INDEX,)).fetchone() is not None

    def _select(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Every read goes through here (one place to retry, and to observe in tests)."""
        rows: list[Any] = self._retry(lambda: self._connect().execute(sql, params).fetchall())
        return rows

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

    def period_stats(
        self, start: float, end: float, bins: int, score_range: tuple[float, float]
    ) -> PeriodStats:
        if self._fast and bins == _FAST_BINS and score_range == (0.0, 1.0):
            ((lowest, highest),) = self._select(_FAST_LIMITS, ())
            if lowest is not None and (lowest < 0 or highest > _FAST_BINS):
                outside = [(-1, 1, 0.0, 0.0, -1.0, -1.0)]  # anywhere in the log: fail closed
                return _period(outside, bins, score_range, self.location)
            rows = []
            for k, packed in self._select(_FAST_HISTOGRAM, (start, end)):
                count, total, total_sq = packed.split()
                rows.append((k, int(count), float(total), float(total_sq), 0.0, 1.0))
            return _period(rows, bins, score_range, self.location)
        low, high = score_range
        rows = self._select(
            f"SELECT CAST((top_score - ?) * ? AS INTEGER), COUNT(*), TOTAL(top_score), "
            "TOTAL(top_score * top_score), MIN(top_score), MAX(top_score) "
            f"FROM {TABLE} WHERE ts >= ? AND ts < ? GROUP BY 1",
            (low, bins / (high - low), start, end),
        )
        return _period(rows, bins, score_range, self.location)

    def day_stats(self, start: float, end: float) -> tuple[int, float]:
        sql = f"SELECT COUNT(*), TOTAL(top_score) FROM {TABLE} WHERE ts >= ? AND ts < ?"
        ((n, total),) = self._select(sql, (start, end))
        return int(n), float(total)

    def low_queries(
        self, start: float, end: float, threshold: float, limit: int
    ) -> list[tuple[str, float]]:
        rows = self._select(
            f"SELECT query, top_score FROM {TABLE} WHERE ts >= ? AND ts < ? "
            "AND top_score < ? ORDER BY ts DESC, id DESC LIMIT ?",
            (start, end, threshold, limit),
        )
        return [(str(q), float(s)) for q, s in rows]

    def count(self, start: float | None = None, end: float | None = None) -> int:
        lo = float("-inf") if start is None else start
        hi = float("inf") if end is None else end
        sql = f"SELECT COUNT(*) FROM {TABLE} WHERE ts >= ? AND ts < ?"
        ((n,),) = self._select(sql, (lo, hi))
        return int(n)

    def count_below(self, start: float, end: float, threshold: float) -> int:
        sql = f"SELECT COUNT(*) FROM {TABLE} WHERE ts >= ? AND ts < ? AND top_score < ?"
        ((n,),) = self._select(sql, (start, end, threshold))
        return int(n)

    def delete_before(self, cutoff: float) -> int:
        conn = self._connect()

        def delete() -> int:
            return int(conn.execute(f"DELETE FROM {TABLE} WHERE ts < ?", (cutoff,)).rowcount)

        deleted: int = self._retry(delete)
        return deleted

    def close(self) -> None:
        """Close every thread's connection this process opened (safe to call again)."""
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for pid, conn in conns:
            if pid == os.getpid():  # a forked child must not touch its parent's connections
                conn.close()
        self._local = threading.local()


class SqlAlchemyStore:
    """Any database SQLAlchemy can reach (PostgreSQL, MySQL, SQLite URLs...)."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        import sqlalchemy as sa

        self.location = url
        try:
            parsed = sa.engine.make_url(url)
            # SQLite files have no server to restart; elsewhere a stale pooled connection
            # (server restart, failover, idle kill) would fail the next call, losing its row.
            server = parsed.get_backend_name() != "sqlite"
            if not create and not server:
                file = parsed.database or ""
                if file in ("", ":memory:") or not Path(file).is_file():
                    raise RagopsError("the drift database does not exist", path=url)
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
            if create:
                self._create_schema(meta)
            elif not sa.inspect(self._engine).has_table(TABLE):
                raise RagopsError(
                    f"the database holds no retrieval log (no table {TABLE})", path=url
                )
        except sa.exc.SQLAlchemyError as exc:
            self._engine.dispose()
            raise RagopsError(
                f"cannot open the drift database: {_db_error(exc)}", path=url
            ) from exc
        except RagopsError:
            self._engine.dispose()
            raise

    def _create_schema(self, meta: Any) -> None:
        """Create the table and index, safe when several processes open a new database at once."""
        import sqlalchemy as sa

        deadline = time.monotonic() + _BUSY_TIMEOUT_S
        while True:
            try:
                with self._engine.begin() as conn:
                    if conn.dialect.name == "postgresql":
                        # IF NOT EXISTS is not enough on PostgreSQL: concurrent creators fail
                        # on a duplicate key in pg_type, so serialise them.
                        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_SCHEMA_LOCK_KEY)))
                    meta.create_all(conn, checkfirst=True)
                return
            except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError) as exc:
                # Another process created it between our check and our CREATE ("already
                # exists"), or holds the SQLite write lock ("locked"): look again.
                text = str(getattr(exc, "orig", exc))
                retry = "already exists" in text or "locked" in text or "duplicate" in text
                if not retry or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

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

    def period_stats(
        self, start: float, end: float, bins: int, score_range: tuple[float, float]
    ) -> PeriodStats:
        import sqlalchemy as sa

        t = self._table.c
        low, high = score_range
        scaled = (t.top_score - low) * (bins / (high - low))
        sqlite = self._engine.dialect.name == "sqlite"
        # SQLite has no floor() in every build; CAST truncates, which is floor for in-range
        # (non-negative) offsets, and MIN/MAX catch the rest. Elsewhere CAST rounds, so
        # floor(), whose bin index alone shows an out-of-range score.
        index: Any = sa.cast(scaled, sa.Integer) if sqlite else sa.func.floor(scaled)
        columns = [
            index,
            sa.func.count(),
            sa.func.sum(t.top_score),
            sa.func.sum(t.top_score * t.top_score),
        ]
        if sqlite:
            columns += [sa.func.min(t.top_score), sa.func.max(t.top_score)]
        # Grouped by position: the bound parameters would make the repeated text differ.
        stmt = sa.select(*columns).where(self._between(start, end)).group_by(sa.text("1"))
        rows = [
            (
                None if r[0] is None else int(r[0]),
                r[1],
                float(r[2]),
                float(r[3]),
                float(r[4]) if sqlite else low,
                float(r[5]) if sqlite else high,
            )
            for r in self._run(stmt)
        ]
        return _period(rows, bins, score_range, self.location)

    def day_stats(self, start: float, end: float) -> tuple[int, float]:
        import sqlalchemy as sa

        t = self._table.c
        stmt = sa.select(sa.func.count(), sa.func.sum(t.top_score)).where(self._between(start, end))
        n, total = self._run(stmt)[0]
        return int(n), float(total or 0.0)

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

        lo = -math.inf if start is None else start
        hi = math.inf if end is None else end
        stmt = sa.select(sa.func.count()).select_from(self._table).where(self._between(lo, hi))
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
        """Close every pooled connection (every thread's)."""
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
