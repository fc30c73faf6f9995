"""Storage for the retrieval log: SQLite (stdlib, default) or any SQLAlchemy URL.

Both backends keep one table, ``ragops_retrieval_log(id, ts, query, top_score, session_id)``,
with ``ts`` as UTC epoch seconds and an index on ``(ts, top_score)``. Reads are aggregates
over a time range (a drift check gets per-bin ``COUNT``/``SUM``/sum of squares, never the
scores), so their memory does not grow with the log.

On SQLite and PostgreSQL a second table, ``ragops_retrieval_daily(day, bin, n, total,
total_sq)``, holds the same aggregates per UTC day and score bin (1,000 bins of [0, 1]),
kept by triggers in the writer's own transaction (inserts, ``COPY``, prune, clear, a
hand-run ``DELETE``; ``UPDATE`` is refused). A default check reads its whole days there and
only the partial days at the period edges from the rows. A log written by the previous
version is upgraded on open (triggers and a one-``GROUP BY`` backfill in one transaction).

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


#: The daily roll-up: per UTC day and score bin, the count, sum and sum of squares.
DAILY = "ragops_retrieval_daily"
_DAY = 86400
# The roll-up's bins are fixed at write time: 1,000 bins of [0, 1] (the default check).
# Scores below 0 land in bin -1 and above 1 in bin 1001, so a check fails closed on them.
ROLLUP_BINS = 1000
_OLD_BIN_INDEX = f"ix_{TABLE}_bin"  # the previous version's histogram index (dropped)


def _day_sql(prefix: str = "") -> str:
    """``floor(ts / 86400)`` exactly, from truncation (SQLite builds may lack floor())."""
    q = f"CAST({prefix}ts / {_DAY} AS INTEGER)"
    return f"({q} - ({prefix}ts < {q} * {_DAY}))"


def _bin_sql(prefix: str = "") -> str:
    """The roll-up bin of a score: ``floor(x * 1000)`` in range (CAST truncates: x >= 0)."""
    x = f"{prefix}top_score"
    return (
        f"(CASE WHEN {x} < 0 THEN -1 WHEN {x} > 1 THEN {ROLLUP_BINS + 1} "
        f"ELSE CAST({x} * {float(ROLLUP_BINS)} AS INTEGER) END)"
    )


# SQLite: row triggers keep the roll-up in the writer's own transaction, so it is exactly
# as consistent as the log under concurrent writers, prune, clear or a hand-run DELETE.
_SQLITE_ROLLUP_DDL = (
    f"CREATE TABLE {DAILY} (day INTEGER NOT NULL, bin INTEGER NOT NULL, n INTEGER NOT NULL, "
    "total REAL NOT NULL, total_sq REAL NOT NULL, PRIMARY KEY (day, bin)) WITHOUT ROWID",
    f"INSERT INTO {DAILY} SELECT {_day_sql()}, {_bin_sql()}, COUNT(*), TOTAL(top_score), "
    f"TOTAL(top_score * top_score) FROM {TABLE} GROUP BY 1, 2",
    f"CREATE TRIGGER {TABLE}_rollup_insert AFTER INSERT ON {TABLE} BEGIN "
    f"INSERT INTO {DAILY} VALUES ({_day_sql('NEW.')}, {_bin_sql('NEW.')}, 1, NEW.top_score, "
    "NEW.top_score * NEW.top_score) ON CONFLICT (day, bin) DO UPDATE SET n = n + 1, "
    "total = total + excluded.total, total_sq = total_sq + excluded.total_sq; END",
    f"CREATE TRIGGER {TABLE}_rollup_delete AFTER DELETE ON {TABLE} BEGIN "
    f"UPDATE {DAILY} SET n = n - 1, total = total - OLD.top_score, "
    "total_sq = total_sq - OLD.top_score * OLD.top_score "
    f"WHERE day = {_day_sql('OLD.')} AND bin = {_bin_sql('OLD.')}; "
    f"DELETE FROM {DAILY} WHERE day = {_day_sql('OLD.')} AND bin = {_bin_sql('OLD.')} "
    "AND n = 0; END",
    f"CREATE TRIGGER {TABLE}_rollup_update BEFORE UPDATE ON {TABLE} BEGIN "
    "SELECT RAISE(ABORT, 'the retrieval log is append-only: delete and re-log instead'); END",
)


# PostgreSQL: statement triggers over the transition tables, one upsert of the batch's
# (day, bin) groups per statement (COPY included), in key order so concurrent writers take
# the roll-up's row locks in the same order and never deadlock. A delete first takes a
# table lock that waits for in-flight inserts (it updates many keys in no set order).
_PG_DAY = "(floor(ts / 86400)::bigint - CASE WHEN ts < floor(ts / 86400) * 86400 THEN 1 ELSE 0 END)"
_PG_BIN = (
    f"CASE WHEN top_score < 0 THEN -1 WHEN top_score > 1 THEN {ROLLUP_BINS + 1} "
    f"ELSE floor(top_score * {float(ROLLUP_BINS)})::integer END"
)
_PG_GROUPS = (
    f"SELECT {_PG_DAY} AS day, {_PG_BIN} AS bin, count(*) AS n, sum(top_score) AS total, "
    "sum(top_score * top_score) AS total_sq FROM {source} GROUP BY 1, 2"
)
_PG_ROLLUP_DDL = (
    f"CREATE TABLE {DAILY} (day bigint NOT NULL, bin integer NOT NULL, n bigint NOT NULL, "
    "total double precision NOT NULL, total_sq double precision NOT NULL, "
    "PRIMARY KEY (day, bin))",
    f"INSERT INTO {DAILY} " + _PG_GROUPS.format(source=TABLE),
    f"CREATE FUNCTION {TABLE}_rollup_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"INSERT INTO {DAILY} AS d SELECT * FROM ({_PG_GROUPS.format(source='new_rows')}) g "
    "ORDER BY day, bin ON CONFLICT (day, bin) DO UPDATE SET n = d.n + excluded.n, "
    "total = d.total + excluded.total, total_sq = d.total_sq + excluded.total_sq; "
    "RETURN NULL; END $$",
    f"CREATE FUNCTION {TABLE}_rollup_delete() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"LOCK TABLE {DAILY} IN SHARE ROW EXCLUSIVE MODE; "
    f"UPDATE {DAILY} AS d SET n = d.n - o.n, total = d.total - o.total, "
    f"total_sq = d.total_sq - o.total_sq FROM ({_PG_GROUPS.format(source='old_rows')}) o "
    f"WHERE d.day = o.day AND d.bin = o.bin; "
    f"DELETE FROM {DAILY} WHERE n = 0; RETURN NULL; END $$",
    f"CREATE FUNCTION {TABLE}_no_update() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    "RAISE EXCEPTION 'the retrieval log is append-only: delete and re-log instead'; END $$",
    f"CREATE TRIGGER {TABLE}_rollup_insert AFTER INSERT ON {TABLE} REFERENCING NEW TABLE AS "
    f"new_rows FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_rollup_insert()",
    f"CREATE TRIGGER {TABLE}_rollup_delete AFTER DELETE ON {TABLE} REFERENCING OLD TABLE AS "
    f"old_rows FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_rollup_delete()",
    f"CREATE TRIGGER {TABLE}_rollup_update BEFORE UPDATE ON {TABLE} "
    f"FOR EACH ROW EXECUTE FUNCTION {TABLE}_no_update()",
)

_SQLITE_ROLLUP_READ = (
    f"SELECT bin, SUM(n), TOTAL(total), TOTAL(total_sq) FROM {DAILY} "
    "WHERE day >= ? AND day < ? GROUP BY bin"
)


def _sqlite_upgrade(execute: Any) -> None:
    """Add the roll-up to a log without one (new, or written by an older version).

    Runs inside the caller's write transaction, so the backfill and the triggers see the
    same rows and no writer slips in between.
    """
    found = execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (DAILY,))
    if found.fetchone() is not None:
        return
    for statement in _SQLITE_ROLLUP_DDL:
        execute(statement)
    execute(f"DROP INDEX IF EXISTS {_OLD_BIN_INDEX}")


def _pieces(start: float, end: float) -> tuple[list[tuple[float, float]], tuple[int, int] | None]:
    """Split ``[start, end)`` into whole UTC days (read from the roll-up) and the partial
    days at either edge (read from the rows): ``(raw ranges, (first day, end day))``."""
    if not (math.isfinite(start) and math.isfinite(end)):
        return [(start, end)], None
    first = math.ceil(start / _DAY)
    while first * _DAY < start:
        first += 1
    while (first - 1) * _DAY >= start:
        first -= 1
    last = math.floor(end / _DAY)
    while last * _DAY > end:
        last -= 1
    while (last + 1) * _DAY <= end:
        last += 1
    if last <= first:
        return [(start, end)], None
    edges = [(start, float(first * _DAY)), (float(last * _DAY), end)]
    return [(lo, hi) for lo, hi in edges if lo < hi], (first, last)


def _rollup_rows(rows: Sequence[tuple[Any, ...]], low: float, high: float) -> list[tuple[Any, ...]]:
    """Roll-up ``(bin, n, sum, sum of squares)`` rows in :func:`_period`'s shape (the range
    guard is the bin: -1 and 1001 hold the out-of-range scores)."""
    return [(int(k), n, float(t), float(t2), low, high) for k, n, t, t2 in rows]


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
        elif not self._retry(lambda: self._has_table(DAILY)):
            self._upgrade()

    def _upgrade(self) -> None:
        """Add the roll-up to a log an older version wrote, or fail with one line."""
        try:
            self._retry(lambda: self._write(lambda conn: _sqlite_upgrade(conn.execute)))
        except RagopsError as exc:
            self.close()
            raise RagopsError(
                f"cannot upgrade the log to the daily roll-up schema: {exc.__cause__ or exc}",
                path=self.location,
            ) from exc

    def _write(self, body: Any) -> Any:
        """Run ``body(conn)`` in one write transaction (BEGIN IMMEDIATE: the lock up front)."""
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = body(conn)
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
        return result

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
        self._connect().execute("PRAGMA journal_mode=WAL")  # not inside a transaction

        def create(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (id INTEGER PRIMARY KEY, ts REAL NOT NULL, "
                "query TEXT NOT NULL, top_score REAL NOT NULL, session_id TEXT NOT NULL)"
            )
            conn.execute(
                f"CREATE INDEX IF NOT EXISTS ix_{TABLE}_ts_score ON {TABLE} (ts, top_score)"
            )
            # Built once on a log from an older version (about 2 s per million rows).
            _sqlite_upgrade(conn.execute)

        self._write(create)

    def _has_table(self, name: str = TABLE) -> bool:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
        return self._connect().execute(sql, (name,)).fetchone() is not None

    def _select(self, sql: str, params: Sequence[Any]) -> list[Any]:
        """Every read goes through here (one place to retry, and to observe in tests)."""
        rows: list[Any] = self._retry(lambda: self._connect().execute(sql, params).fetchall())
        return rows

    def insert(self, rows: Sequence[LogRow]) -> None:
        if not rows:
            return
        # BEGIN IMMEDIATE takes the write lock up front, so a batch never fails half-way
        # on a lock upgrade; the busy timeout makes other writers wait their turn.
        sql = f"INSERT INTO {TABLE} (ts, query, top_score, session_id) VALUES (?, ?, ?, ?)"
        self._retry(lambda: self._write(lambda conn: conn.executemany(sql, rows)))

    def period_stats(
        self, start: float, end: float, bins: int, score_range: tuple[float, float]
    ) -> PeriodStats:
        low, high = score_range
        ranges: list[tuple[float, float]] = [(start, end)]
        rows: list[tuple[Any, ...]] = []
        if bins == ROLLUP_BINS and score_range == (0.0, 1.0):  # the default: the roll-up
            ranges, days = _pieces(start, end)
            if days is not None:
                rows += _rollup_rows(self._select(_SQLITE_ROLLUP_READ, days), low, high)
        for lo, hi in ranges:
            rows += self._select(
                f"SELECT CAST((top_score - ?) * ? AS INTEGER), COUNT(*), TOTAL(top_score), "
                "TOTAL(top_score * top_score), MIN(top_score), MAX(top_score) "
                f"FROM {TABLE} WHERE ts >= ? AND ts < ? GROUP BY 1",
                (low, bins / (high - low), lo, hi),
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
        # Kept out of ``meta``: the roll-up is created with its triggers and backfill.
        self._daily = sa.Table(
            DAILY,
            sa.MetaData(),
            sa.Column("day", sa.BigInteger(), primary_key=True),
            sa.Column("bin", sa.Integer(), primary_key=True),
            sa.Column("n", sa.BigInteger(), nullable=False),
            sa.Column("total", sa.Double(), nullable=False),
            sa.Column("total_sq", sa.Double(), nullable=False),
        )
        #: Whether this backend keeps the daily roll-up (SQLite, PostgreSQL); others read rows.
        self._rollup = self._engine.dialect.name in ("sqlite", "postgresql")
        try:
            if create:
                self._create_schema(meta)
            elif not sa.inspect(self._engine).has_table(TABLE):
                raise RagopsError(
                    f"the database holds no retrieval log (no table {TABLE})", path=url
                )
            elif self._rollup and not sa.inspect(self._engine).has_table(DAILY):
                try:
                    self._create_schema(meta)
                except sa.exc.SQLAlchemyError as exc:
                    raise RagopsError(
                        f"cannot upgrade the log to the daily roll-up schema: {_db_error(exc)}",
                        path=url,
                    ) from exc
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
                    elif conn.dialect.name == "sqlite":
                        # pysqlite runs DDL outside any transaction unless one is open: take
                        # the write lock first, so the upgrade is all or nothing.
                        conn.exec_driver_sql("BEGIN IMMEDIATE")
                    meta.create_all(conn, checkfirst=True)
                    if self._rollup and not sa.inspect(conn).has_table(DAILY):
                        self._add_rollup(conn)
                return
            except (sa.exc.OperationalError, sa.exc.ProgrammingError, sa.exc.IntegrityError) as exc:
                # Another process created it between our check and our CREATE ("already
                # exists"), or holds the SQLite write lock ("locked"): look again. (SQLite
                # creators are serialised by the lock, so "already exists" there is final.)
                text = str(getattr(exc, "orig", exc))
                raced = self._engine.dialect.name != "sqlite" and (
                    "already exists" in text or "duplicate" in text
                )
                retry = raced or "locked" in text
                if not retry or time.monotonic() > deadline:
                    raise
                time.sleep(0.05)

    def _add_rollup(self, conn: Any) -> None:
        """Create the roll-up, its triggers and its backfill in the caller's transaction."""
        if conn.dialect.name == "postgresql":
            # Writers wait while the backfill reads: no row is counted twice or missed.
            conn.exec_driver_sql(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE")
            for statement in _PG_ROLLUP_DDL:
                conn.exec_driver_sql(statement)
        else:  # SQLite through SQLAlchemy: the same schema as the native store
            _sqlite_upgrade(conn.exec_driver_sql)

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

        low, high = score_range
        ranges: list[tuple[float, float]] = [(start, end)]
        rows: list[tuple[Any, ...]] = []
        if self._rollup and bins == ROLLUP_BINS and score_range == (0.0, 1.0):
            ranges, days = _pieces(start, end)
            if days is not None:
                d = self._daily.c
                stmt = (
                    sa.select(
                        d.bin, sa.func.sum(d.n), sa.func.sum(d.total), sa.func.sum(d.total_sq)
                    )
                    .where((d.day >= days[0]) & (d.day < days[1]))
                    .group_by(d.bin)
                )
                rows += _rollup_rows(self._run(stmt), low, high)
        for lo, hi in ranges:
            rows += self._raw_bins(lo, hi, bins, score_range)
        return _period(rows, bins, score_range, self.location)

    def _raw_bins(
        self, start: float, end: float, bins: int, score_range: tuple[float, float]
    ) -> list[tuple[Any, ...]]:
        """``(bin, count, sum, sum of squares, min, max)`` of the rows in ``[start, end)``."""
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
        return [
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
