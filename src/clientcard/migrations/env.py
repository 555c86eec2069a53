"""Alembic environment: migrations run against the engine clientcard is configured with."""

from __future__ import annotations

from alembic import context

import clientcard.models  # noqa: F401  (registers every table on the metadata)
from clientcard.base import Base
from clientcard.db import make_engine

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is not None:
        _run(connectable)
        return
    engine = make_engine()
    with engine.connect() as connection:
        _run(connection)
    engine.dispose()


def _include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leaves out what the migrations create by hand: FTS5 tables, pg_trgm indexes."""
    if type_ == "table" and name and "_fts" in name:
        return False
    return not (type_ == "index" and name and name.endswith("_trgm"))


def _run(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        include_object=_include_object,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
