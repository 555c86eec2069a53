"""Engines for SQLite and PostgreSQL, and SQLite's background checkpoints.

SQLite runs in WAL mode with ``synchronous=FULL`` and foreign keys on, so a write answered
2xx is on disk. Write transactions on SQLite start with ``BEGIN IMMEDIATE``: writers queue
on the database lock instead of failing when their snapshot turns stale, and a
read-check-write (such as the version check) is atomic. PostgreSQL locks the rows a write
changes with ``SELECT ... FOR UPDATE``.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url

from clientcard.config import Settings, get_settings

# The execution option of a write unit of work's connection: BEGIN IMMEDIATE on SQLite.
WRITE_OPTION = "clientcard_write"
log = logging.getLogger("clientcard.db")


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


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
        immediate = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


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
