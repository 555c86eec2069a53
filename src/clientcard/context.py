"""What a unit of work runs under: the settings of the `Database` that made its session.

Every service function receives the unit of work's `session`, so it reaches the settings
through it (`settings_of(session)`) instead of taking them as loose parameters that a caller
could forget or fill with a guess. A session made outside a `Database` has no settings, and
asking for them fails loudly rather than falling back to a default.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from clientcard.config import Settings
from clientcard.db import Database, database_of, make_engine


def settings_of(session: Session) -> Settings:
    """The settings of the unit of work `session` belongs to."""
    database = database_of(session)
    if database is None:
        raise RuntimeError(
            "this session belongs to no unit of work: open it with Database.read() or "
            "Database.write(), which carry the settings"
        )
    return database.settings


def open_database(settings: Settings) -> Database:
    """A `Database` for `settings`: its engine is made from them, and its units of work
    carry them."""
    return Database(make_engine(settings), settings)
