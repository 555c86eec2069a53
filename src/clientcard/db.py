"""Engine and sessions for SQLite and PostgreSQL.

SQLite runs in WAL mode with ``synchronous=FULL`` and foreign keys on, so a write answered
2xx is on disk. Write transactions on SQLite start with ``BEGIN IMMEDIATE``: writers queue
on the database lock instead of failing when their snapshot turns stale, and a
read-check-write (such as the version check) is atomic. PostgreSQL locks the rows a write
changes with ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy import Connection, Engine, Table, create_engine, event, func, inspect, select
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from clientcard.config import Settings, get_settings

_IMMEDIATE = "clientcard_write"
_AFTER_COMMIT = "clientcard_after_commit"
_DATABASE = "clientcard_database"
log = logging.getLogger("clientcard.db")


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Queues a side effect (a live event, a webhook) to run once the unit of work that owns
    `session` has ended well: after the commit of `Database.write()`, or at the end of a
    `Database.read()` block that raised nothing. A rollback drops it. Callbacks run in the
    order queued; one that raises is logged and the others still run (the data is
    committed, so failing the request would lie). A session not made by `Database` never
    runs them. Note: a callback queued inside a savepoint that rolls back still runs."""
    session.info.setdefault(_AFTER_COMMIT, []).append(callback)


def database_of(session: Session) -> Database | None:
    """The `Database` whose unit of work `session` belongs to."""
    return session.info.get(_DATABASE)


def _run_callbacks(callbacks: list[Callable[[], None]]) -> None:
    for callback in callbacks:
        try:
            callback()
        except Exception:
            log.exception("an after-commit callback failed")


def make_engine(settings: Settings | None = None, **kwargs: Any) -> Engine:
    settings = settings or get_settings()
    url = make_url(settings.database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "isolation_level": None},
            pool_size=settings.db_pool_size,
            max_overflow=20,
            **kwargs,
        )
        _configure_sqlite(engine, settings)
        return engine
    return create_engine(
        url, pool_size=settings.db_pool_size, max_overflow=20, pool_pre_ping=True, **kwargs
    )


def _configure_sqlite(engine: Engine, settings: Settings) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(settings.sqlite_busy_timeout_ms)}")
        # A bigger page cache and memory-mapped reads: the screen pop's B-tree pages stay
        # in memory across a large base (measured in bench/, "lookup by phone (raw SQL)").
        cursor.execute(f"PRAGMA cache_size=-{int(settings.sqlite_cache_mb) * 1024}")
        cursor.execute(f"PRAGMA mmap_size={int(settings.sqlite_mmap_mb) * 1024 * 1024}")
        # Checkpoints run in the background (`Checkpointer`), not inside commits.
        cursor.execute("PRAGMA wal_autocheckpoint=0")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # The driver runs in autocommit mode (isolation_level=None); we open transactions
        # ourselves so that a write can take the lock up front.
        immediate = connection.get_execution_options().get(_IMMEDIATE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def reserve_ids(connection: Connection, table: Table, count: int) -> list[int]:
    """`count` new ids for rows of `table` that the caller inserts in this write, before
    anything else is added to that table. PostgreSQL draws them from the id column's
    sequence. SQLite takes the ones after the table's highest: the ids it would give itself
    (an INTEGER PRIMARY KEY without AUTOINCREMENT is the highest rowid plus one), which no
    other writer can take, since a write transaction holds the database lock from its
    first statement (BEGIN IMMEDIATE); nothing holds them until they are inserted. Knowing
    its ids, a batch of new rows goes in as one INSERT, with no RETURNING to match ids to
    rows."""
    if count <= 0:
        return []
    column = table.autoincrement_column
    assert column is not None, f"{table.name} has no generated id"
    if connection.dialect.name == "sqlite":
        highest = connection.execute(select(func.max(column))).scalar() or 0
        return list(range(highest + 1, highest + 1 + count))
    sequence = func.pg_get_serial_sequence(table.name, column.name)
    return list(
        connection.execute(
            select(func.nextval(sequence)).select_from(func.generate_series(1, count))
        ).scalars()
    )


def _number_new_rows(session: Session, _context: Any, _instances: Any) -> None:
    """Gives the new objects of a SQLite write their ids before the flush, in the order they
    were added (`reserve_ids`). Knowing the ids, the ORM sends each table's new rows as one
    `executemany`, instead of one INSERT ... RETURNING per row, which is what it must do on
    SQLite when the database numbers the rows: SQLite does not promise RETURNING rows in
    the order of a multi-row INSERT."""
    unnumbered: dict[Any, list[tuple[int, Any, str]]] = defaultdict(list)
    for instance in session.new:
        state = inspect(instance)
        table = state.mapper.local_table
        column = table.autoincrement_column
        if column is None or len(state.mapper.primary_key) != 1:
            continue
        key = state.mapper.get_property_by_column(column).key
        if getattr(instance, key) is None:
            unnumbered[table].append((state.insert_order, instance, key))
    for table, rows in unnumbered.items():
        ids = reserve_ids(session.connection(), table, len(rows))
        for id_, (_, instance, key) in zip(ids, sorted(rows, key=lambda r: r[0]), strict=True):
            setattr(instance, key, id_)


# Values per INSERT statement of `insert_many`: under SQLite's limit of bound parameters
# (32,766) and PostgreSQL's (65,535).
_VALUES_PER_STATEMENT = 12_000


@dataclass(frozen=True)
class _BulkInsert:
    columns: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]
    head: str  # INSERT INTO table (columns) VALUES
    group: str  # one row's placeholders
    tail: str  # ON CONFLICT ... RETURNING ...


_bulk_inserts: dict[
    tuple[str, str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], _BulkInsert
] = {}


def _bulk_insert(
    dialect: Any,
    table: Table,
    columns: tuple[str, ...],
    skip: tuple[str, ...],
    returning: tuple[str, ...],
) -> _BulkInsert:
    key = (dialect.name, table.name, columns, skip, returning)
    found = _bulk_inserts.get(key)
    if found is None:
        quote = dialect.identifier_preparer.quote
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        tail = f" ON CONFLICT ({', '.join(map(quote, skip))}) DO NOTHING" if skip else ""
        if returning:
            tail += f" RETURNING {', '.join(map(quote, returning))}"
        found = _bulk_inserts[key] = _BulkInsert(
            columns,
            tuple(
                table.c[name].type.dialect_impl(dialect).bind_processor(dialect) for name in columns
            ),
            f"INSERT INTO {quote(table.name)} ({', '.join(map(quote, columns))}) VALUES ",
            "(" + ", ".join([mark] * len(columns)) + ")",
            tail,
        )
    return found


def insert_many(
    connection: Connection,
    table: Table,
    rows: list[dict[str, Any]],
    *,
    skip_conflicts_on: tuple[str, ...] = (),
    returning: tuple[str, ...] = (),
) -> list[tuple[Any, ...]]:
    """Inserts many rows of one table with multi-row INSERT statements, each value through
    its column's own bind processing, and returns the `returning` columns of the rows
    inserted (in no particular order). Rows that collide on the unique `skip_conflicts_on`
    columns are left out (ON CONFLICT DO NOTHING, on both databases). Every row has the
    keys of the first. This is SQLAlchemy's "insertmanyvalues" without its per-row
    parameter bookkeeping, which costs more than the database's own work for ingestion's
    batches of 1,000 interactions (see docs/benchmarks.md)."""
    if not rows:
        return []
    dialect = connection.dialect
    bulk = _bulk_insert(dialect, table, tuple(rows[0]), skip_conflicts_on, returning)
    per_statement = max(1, _VALUES_PER_STATEMENT // len(bulk.columns))
    pairs = tuple(zip(bulk.columns, bulk.processors, strict=True))
    cursor = connection.connection.driver_connection.cursor()
    inserted: list[tuple[Any, ...]] = []
    try:
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            values = [
                process(row[name]) if process else row[name]
                for row in chunk
                for name, process in pairs
            ]
            sql = bulk.head + ", ".join([bulk.group] * len(chunk)) + bulk.tail
            try:
                cursor.execute(sql, values)
            except dialect.loaded_dbapi.Error as exc:
                raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error) from exc
            if returning:
                inserted.extend(tuple(r) for r in cursor.fetchall())
    finally:
        cursor.close()
    return inserted


class Database:
    """An engine plus the two kinds of session the app uses, read and write, and the
    single-statement read of the screen pop (`fetch_all`)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings  # what its units of work run under (clientcard.context)
        self.is_sqlite = engine.dialect.name == "sqlite"
        # The dialect `fetch_all` reads in: the engine's on SQLite, asyncpg's on PostgreSQL.
        self.read_dialect = (
            engine.dialect if self.is_sqlite else asyncpg_dialect(paramstyle="numeric_dollar")
        )
        self.checkpointer = Checkpointer(engine) if self.is_sqlite else None
        self._async_pools: dict[asyncio.AbstractEventLoop, asyncio.Task[Any]] = {}
        info = {_DATABASE: self}
        self._read = sessionmaker(engine, expire_on_commit=False, autoflush=True, info=info)
        self._write = sessionmaker(
            engine.execution_options(**{_IMMEDIATE: True}),
            expire_on_commit=False,
            autoflush=True,
            info=info,
        )
        if self.is_sqlite:
            event.listen(self._write, "before_flush", _number_new_rows)

    @contextmanager
    def read(self) -> Iterator[Session]:
        session = self._read()
        try:
            yield session
            callbacks = session.info.pop(_AFTER_COMMIT, [])
        finally:
            session.close()  # ends the transaction: the pool rolls the connection back
        _run_callbacks(callbacks)

    @contextmanager
    def write(self) -> Iterator[Session]:
        """A unit of work: commits once at the end, or rolls everything back. Side effects
        queued with `after_commit` run after the commit, never after a rollback."""
        session = self._write()
        try:
            yield session
            session.commit()
            callbacks = session.info.pop(_AFTER_COMMIT, [])
            if self.checkpointer is not None:
                self.checkpointer.kick()
        except BaseException:
            session.info.pop(_AFTER_COMMIT, None)
            session.rollback()
            raise
        finally:
            session.close()
        _run_callbacks(callbacks)

    async def fetch_all(self, sql: str, values: Any) -> list[Any]:
        """The rows of one read statement, for async routes: the screen pop. The SQL is of
        `read_dialect`. SQLite runs it on the caller's thread on a bare pooled cursor (a
        read of the file costs less than a hop to a worker thread). PostgreSQL runs it on
        an asyncpg pool, one pool per event loop, so that a read waiting for the server
        holds neither the event loop nor a thread: asyncpg's protocol, written in Cython,
        costs the server process about 40% less per read than psycopg's asyncio layer
        (docs/benchmarks.md), and the screen pop is the call a contact center makes
        most. A connection found dead is dropped and the read runs once more; errors
        surface as SQLAlchemy's (a lost server as OperationalError)."""
        if self.is_sqlite:
            return self._fetch_all_here(sql, values)
        for attempt in (1, 2):
            pool = await self._async_pool()
            try:
                return await pool.fetch(sql, *values)
            except _CONNECTION_LOST as exc:
                if attempt == 2:
                    raise OperationalError(sql, values, exc, connection_invalidated=True) from exc
                await pool.expire_connections()  # the server went away: renew the others
            except asyncpg.PostgresError as exc:
                raise DBAPIError(sql, values, exc) from exc
        raise AssertionError("unreachable")

    def _fetch_all_here(self, sql: str, values: Any) -> list[Any]:
        connection = self.engine.raw_connection()
        cursor = connection.cursor()
        try:
            cursor.execute(sql, values)
            return cursor.fetchall()
        except self.engine.dialect.loaded_dbapi.Error as exc:
            raise DBAPIError.instance(
                sql, values, exc, self.engine.dialect.loaded_dbapi.Error
            ) from exc
        finally:
            cursor.close()
            connection.close()  # back to the pool

    async def _async_pool(self) -> Any:
        """The event loop's pool, opened on first use; a server that cannot be reached is
        an OperationalError (503), and the next read tries to open the pool again."""
        loop = asyncio.get_running_loop()
        opening = self._async_pools.get(loop)
        if opening is None:
            opening = self._async_pools[loop] = loop.create_task(self._open_async_pool())
        try:
            return await opening
        except (*_CONNECTION_LOST, asyncpg.PostgresError) as exc:
            if self._async_pools.get(loop) is opening:
                del self._async_pools[loop]
            raise OperationalError("connect", None, exc) from exc

    @property
    def async_pool_size(self) -> int:
        """The most connections the async pool of one event loop opens: the engine's."""
        return max(2, self.engine.pool.size() if hasattr(self.engine.pool, "size") else 5)

    async def _open_async_pool(self) -> Any:
        url = self.engine.url.set(drivername="postgresql")
        return await asyncpg.create_pool(
            url.render_as_string(hide_password=False),
            min_size=1,
            max_size=self.async_pool_size,
            # The screen pop's statements are index look-ups whose best plan does not
            # depend on the key. PostgreSQL's default would plan a statement over an array
            # of keys afresh at every run (its generic plan, costed for an array of unknown
            # length, looks dearer than the plan for the array at hand): 0.25 ms of
            # planning for a 0.06 ms read.
            server_settings={"plan_cache_mode": "force_generic_plan"},
            init=_decode_json,
            reset=_keep_session,
        )

    async def close_async(self) -> None:
        """Closes the async pool of the running event loop (at the app's shutdown)."""
        opening = self._async_pools.pop(asyncio.get_running_loop(), None)
        if opening is not None:
            await (await opening).close()

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()


# What asyncpg raises when the server dropped a connection (a restart, a failover, a
# terminated backend): the read is worth trying once more on a fresh connection.
_CONNECTION_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,
    ConnectionError,
    OSError,
)


async def _keep_session(_connection: Any) -> None:
    """No reset query when a read's connection goes back to the pool: the reads are single
    statements that leave no session state behind (no SET, LISTEN, advisory lock or open
    transaction), and asyncpg's default reset is one more round trip per read."""


async def _decode_json(connection: Any) -> None:
    """JSON columns arrive as Python values, as psycopg gives them (asyncpg gives text)."""
    for name in ("json", "jsonb"):
        await connection.set_type_codec(
            name, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


class Checkpointer:
    """Copies SQLite's write-ahead log into the database file, in a thread of its own.

    SQLite's automatic checkpoint runs inside the commit that crosses its threshold. With
    the random index pages a batch of interactions touches in a large base, that made the
    commit several times slower than writing and syncing the log itself (see
    docs/benchmarks.md). So the engine's connections do not checkpoint
    (`wal_autocheckpoint=0`) and this thread runs a PASSIVE checkpoint after each write's
    commit (`kick`), and every few seconds in case a write came from elsewhere. A PASSIVE
    checkpoint blocks neither readers nor writers, and durability does not depend on it: a
    commit has synced the log already. The thread starts with the first kick.
    """

    IDLE_SECONDS = 5.0

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._wake = threading.Event()
        self._stopping = False
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self.completed = 0  # checkpoints run, for tests and diagnostics

    def kick(self) -> None:
        if self._thread is None:
            with self._start:
                if self._thread is None and not self._stopping:
                    self._thread = threading.Thread(
                        target=self._run, name="clientcard-checkpointer", daemon=True
                    )
                    self._thread.start()
        self._wake.set()

    def checkpoint(self) -> tuple[int, int, int]:
        """One PASSIVE checkpoint now: (busy, frames in the log, frames checkpointed)."""
        connection = self._engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("PRAGMA wal_checkpoint(PASSIVE)")
            busy, frames, done = cursor.fetchone()
            cursor.close()
        finally:
            connection.close()
        self.completed += 1
        return busy, frames, done

    def _run(self) -> None:
        while True:
            self._wake.wait(self.IDLE_SECONDS)
            if self._stopping:
                return
            self._wake.clear()
            try:
                self.checkpoint()
            except Exception:  # the next kick tries again; the log only grows meanwhile
                log.exception("a background checkpoint failed")

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
