"""Units of work: `Database.read()` and `Database.write()`, and `after_commit`.

A route opens `db.write()` (or `db.read()`), calls one service function and builds its
response inside it; the unit of work commits once when the block ends. Service functions
never commit. Side effects are queued with `after_commit(session, callback)` and run after
the commit (or at the end of a read unit of work that raised nothing); a rollback drops
them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, sessionmaker

from clientcard.config import Settings
from clientcard.db.bulk import number_new_rows
from clientcard.db.engine import WRITE_OPTION, Checkpointer
from clientcard.db.fastread import FastReads

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


class Database:
    """An engine plus the two kinds of session the app uses, read and write, and the
    single-statement read of the screen pop (`fetch_all`)."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings  # what its units of work run under (clientcard.context)
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._fast = FastReads(engine)
        # The dialect `fetch_all` reads in (the statements of `fastread.compile_for`).
        self.read_dialect = self._fast.dialect
        self.checkpointer = Checkpointer(engine) if self.is_sqlite else None
        info: dict[str, Any] = {_DATABASE: self}
        self._read = sessionmaker(engine, expire_on_commit=False, autoflush=True, info=info)
        self._write = sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}),
            expire_on_commit=False,
            autoflush=True,
            info=info,
        )
        if self.is_sqlite:  # new rows take their ids from `reserve_ids` (db/bulk.py)
            event.listen(self._write, "before_flush", number_new_rows)
            event.listen(self._read, "before_flush", number_new_rows)

    @property
    def reads_in_process(self) -> bool:
        """True when a read runs inside this process (embedded SQLite) and is short: cheaper
        run on the caller's thread, even on the event loop, than sent to a worker thread,
        and cheaper alone than batched with others (see docs/benchmarks.md, the raw SQL
        rows). False when reads wait on a server."""
        return self.is_sqlite

    @property
    def shared_by_processes(self) -> bool:
        """True when several app processes may serve this database (a server database):
        what one process publishes must reach the others (`db.notify`)."""
        return not self.is_sqlite

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
        """The rows of one read statement of `read_dialect`, for async routes: the screen
        pop (`db/fastread.py`)."""
        return await self._fast.fetch_all(sql, values)

    @property
    def async_pool_size(self) -> int:
        """The most connections the async pool of one event loop opens: the engine's."""
        return self._fast.pool_size

    async def close_async(self) -> None:
        """Closes the async pool of the running event loop (at the app's shutdown)."""
        await self._fast.close_async()

    def dispose(self) -> None:
        if self.checkpointer is not None:
            self.checkpointer.stop()
        self.engine.dispose()
