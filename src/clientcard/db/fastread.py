"""The screen pop's fast read path: single statements read outside any session.

- `FastReads` (one per `Database`, behind `Database.fetch_all`): the rows of one read
  statement for async routes. SQLite runs it on the caller's thread on a bare pooled
  cursor (a read of the file costs less than a hop to a worker thread). PostgreSQL runs it
  on an asyncpg pool, one pool per event loop, so that a read waiting for the server holds
  neither the event loop nor a thread: asyncpg's protocol, written in Cython, costs the
  server process less per read than psycopg's asyncio layer (see docs/benchmarks.md,
  "asyncpg instead of psycopg").
- `compile_for`: a statement's SQL, parameters and result processors, built once per
  statement and dialect.
- `coalescer`: keyed reads in flight together answered by one read (`coalesce.py`), one
  coalescer per database and name, for databases whose reads cross the network.
"""

from __future__ import annotations

import asyncio
import json
import weakref
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import asyncpg
from sqlalchemy import BindParameter, Dialect, Engine, Select, String, bindparam
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session

from clientcard.db.coalesce import Coalescer

if TYPE_CHECKING:
    from clientcard.db.work import Database

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def text_list(name: str) -> BindParameter[Any]:
    """A parameter holding a list of texts, for statements that read many keys at once
    (`unnest(:keys)`): the statements that `coalescer` reads."""
    return bindparam(name, type_=ARRAY(String))


class FastReads:
    """`fetch_all` and its asyncpg pools, for one engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.in_process = engine.dialect.name == "sqlite"
        # The dialect `fetch_all` reads in: the engine's on SQLite, asyncpg's on PostgreSQL.
        self.dialect: Dialect = (
            engine.dialect if self.in_process else asyncpg_dialect(paramstyle="numeric_dollar")
        )
        self._async_pools: dict[asyncio.AbstractEventLoop, asyncio.Task[Any]] = {}

    async def fetch_all(self, sql: str, values: Any) -> list[Any]:
        """The rows of one read statement (see the module's docstring). A connection found
        dead is dropped and the read runs once more; errors surface as SQLAlchemy's (a lost
        server as OperationalError)."""
        if self.in_process:
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
    def pool_size(self) -> int:
        """The most connections the async pool of one event loop opens: the engine's."""
        return max(2, self.engine.pool.size() if hasattr(self.engine.pool, "size") else 5)

    async def _open_async_pool(self) -> Any:
        url = self.engine.url.set(drivername="postgresql")
        return await asyncpg.create_pool(
            url.render_as_string(hide_password=False),
            min_size=1,
            max_size=self.pool_size,
            # The screen pop's statements are index look-ups whose best plan does not
            # depend on the key. PostgreSQL's default would plan a statement over an array
            # of keys afresh at every run (its generic plan, costed for an array of unknown
            # length, looks dearer than the plan for the array at hand): see
            # docs/benchmarks.md, "Generic plans".
            server_settings={"plan_cache_mode": "force_generic_plan"},
            init=_decode_json,
            reset=_keep_session,
        )

    async def close_async(self) -> None:
        """Closes the async pool of the running event loop (at the app's shutdown)."""
        opening = self._async_pools.pop(asyncio.get_running_loop(), None)
        if opening is not None:
            await (await opening).close()


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


# ---- statements compiled once ----------------------------------------------------------


@dataclass(frozen=True)
class Compiled:
    sql: str
    defaults: dict[str, Any]  # the statement's own parameters (IN lists, LIMIT)
    positional: tuple[str, ...] | None  # parameter order for positional paramstyles
    processors: tuple[Callable[[Any], Any] | None, ...]

    def values(self, params: dict[str, Any]) -> Any:
        """The DB-API parameters for `params`: a tuple or a dict, by paramstyle."""
        merged = {**self.defaults, **params}
        return tuple(merged[n] for n in self.positional) if self.positional else merged

    def execute(self, cursor: Any, params: dict[str, Any]) -> list[Any]:
        cursor.execute(self.sql, self.values(params))
        return cursor.fetchall()


_compiled: dict[tuple[str, str, int], Compiled] = {}


def compile_for(statement: Select[Any], dialect: Dialect, params: dict[str, Any]) -> Compiled:
    """The statement's SQL for `dialect`, its parameters and its columns' result processors,
    built once per statement and dialect. The statement must live as long as the process
    (a module-level constant): it is known by its id."""
    key = (dialect.name, dialect.driver, id(statement))
    found = _compiled.get(key)
    if found is None:
        placeholders = dict.fromkeys(params)
        expanded = statement.compile(dialect=dialect).construct_expanded_state(placeholders)
        processors = tuple(
            c.type.dialect_impl(dialect).result_processor(dialect, None)
            for c in statement.selected_columns
        )
        positional = tuple(expanded.positiontup) if expanded.positiontup else None
        found = _compiled[key] = Compiled(
            expanded.statement, dict(expanded.parameters), positional, processors
        )
    return found


def compile_read(db: Database, statement: Select[Any], params: dict[str, Any]) -> Compiled:
    """`compile_for` in the SQL `db.fetch_all` reads (`Database.read_dialect`)."""
    return compile_for(statement, db.read_dialect, params)


def fetch_in_session(
    session: Session, statement: Select[Any], params: dict[str, Any]
) -> tuple[tuple[Callable[[Any], Any] | None, ...], list[Any]]:
    """The raw rows of a statement inside the session's transaction, on its connection's
    bare cursor, and the result processors of its columns."""
    connection = session.connection()
    compiled = compile_for(statement, connection.dialect, params)
    cursor = connection.connection.driver_connection.cursor()
    try:
        return compiled.processors, compiled.execute(cursor, params)
    finally:
        cursor.close()


def fetch_on_cursor(
    cursor: Any, dialect: Dialect, statement: Select[Any], params: dict[str, Any]
) -> tuple[tuple[Callable[[Any], Any] | None, ...], list[Any]]:
    """`fetch_in_session` on a DB-API cursor the caller holds."""
    compiled = compile_for(statement, dialect, params)
    return compiled.processors, compiled.execute(cursor, params)


# ---- coalesced reads --------------------------------------------------------------------

_coalescers: weakref.WeakKeyDictionary[Database, dict[str, Coalescer[Any, Any]]] = (
    weakref.WeakKeyDictionary()
)


def coalescer(
    db: Database,
    name: str,
    read: Callable[[Database, list[K]], Awaitable[Mapping[K, V]]],
    *,
    missing: Callable[[], V],
) -> Coalescer[K, V]:
    """The database's coalescer called `name`, made on first use: `get(key)` answered by
    `read(db, keys)` for the keys asked for together, at most as many reads at once as the
    async pool has connections. It holds the database weakly, so a disposed database is
    freed."""
    per_database = _coalescers.setdefault(db, {})
    found = per_database.get(name)
    if found is None:
        database = weakref.ref(db)  # not the database itself: the entry would never go

        async def read_keys(keys: list[K]) -> Mapping[K, V]:
            return await read(database(), keys)  # type: ignore[arg-type]

        found = per_database[name] = Coalescer(
            read_keys, missing=missing, concurrency=db.async_pool_size
        )
    return found
