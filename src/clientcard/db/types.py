"""Column types and indexes that differ by database, for the models.

- `BigId`: a 64-bit id; on SQLite an INTEGER, since SQLite only makes INTEGER PRIMARY KEY
  an alias of the rowid (and so numbered by the database).
- `JsonData`: JSON, stored as JSONB on PostgreSQL.
- `UTCDateTime`: a timezone-aware UTC timestamp on both databases (SQLite stores it naive).
- `partial_index`: an index over the rows a condition selects, on both databases.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Index, Integer, TypeDecorator, text
from sqlalchemy.dialects.postgresql import JSONB

BigId = BigInteger().with_variant(Integer, "sqlite")
JsonData = JSON().with_variant(JSONB(), "postgresql")


def partial_index(name: str, *columns: str, where: str, unique: bool = False) -> Index:
    """An index of the rows for which the SQL condition `where` holds, on both databases."""
    return Index(
        name,
        *columns,
        unique=unique,
        sqlite_where=text(where),
        postgresql_where=text(where),
    )


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on both databases (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; clientcard stores UTC only")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: dt.datetime | None) -> str | None:
            """SQLAlchemy's SQLite text form, written in one step (ingestion writes
            thousands per batch)."""
            if value is None:
                return None
            if value.tzinfo is None:
                raise ValueError("naive datetime given; clientcard stores UTC only")
            return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")

        return process

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)
