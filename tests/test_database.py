"""The database layer's own promises: SQLite checkpoints in the background, not in commits."""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import text

from clientcard.config import Settings
from clientcard.db import Database, make_engine


def _write_rows(database: Database, count: int) -> None:
    for n in range(count):
        with database.write() as session:
            session.execute(
                text("INSERT INTO notes (body) VALUES (:body)"), {"body": "x" * 3000 * n}
            )


def test_sqlite_commits_leave_checkpoints_to_the_background(tmp_path: Path):
    database = Database(make_engine(Settings(database_url=f"sqlite:///{tmp_path}/c.db")))
    try:
        with database.engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar() == 0
            connection.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
            connection.commit()
        checkpointer = database.checkpointer
        assert checkpointer is not None
        _write_rows(database, 40)
        deadline = time.monotonic() + 10
        while checkpointer.completed == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert checkpointer.completed >= 1, "no checkpoint ran after the writes"
        _write_rows(database, 5)
        checkpointer.stop()  # so that its own checkpoint cannot hold ours off (busy)
        busy, frames, done = checkpointer.checkpoint()
        assert busy == 0 and frames > 0 and done == frames  # everything reached the file
        with database.read() as session:
            assert session.execute(text("SELECT count(*) FROM notes")).scalar() == 45
    finally:
        database.dispose()
    reopened = Database(make_engine(Settings(database_url=f"sqlite:///{tmp_path}/c.db")))
    try:
        with reopened.read() as session:
            assert session.execute(text("SELECT count(*) FROM notes")).scalar() == 45
    finally:
        reopened.dispose()
