"""Search operators, asked for by name, each on the index its database has.

- `words_starting_with`: rows whose words start with each of the terms. SQLite: the
  table's FTS5 index (`<table>_fts`, kept by triggers, migration 0001) with prefix
  queries; PostgreSQL: `LIKE '% term%'` on the folded text column (it starts with a space),
  answered by its pg_trgm GIN index.
- `digits_within`: rows whose text column holds the digits anywhere. SQLite: the FTS5
  trigram index (`<table>_fts`); PostgreSQL: `LIKE '%digits%'` through pg_trgm.
- `json_list_holds`: rows whose JSON list column holds a value (SQLite `json_each`,
  PostgreSQL `@>`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, and_, func, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session


def _sqlite(session: Session) -> bool:
    return session.get_bind().dialect.name == "sqlite"


def _escape_like(term: str) -> str:
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def words_starting_with(
    session: Session,
    *,
    id_column: InstrumentedAttribute[int],
    text_column: InstrumentedAttribute[Any],
    terms: tuple[str, ...],
) -> ColumnElement[bool]:
    """Rows having, for each term (folded, `clientcard.text.words`), a word that starts
    with it. `text_column` holds the row's folded words, starting with a space."""
    if _sqlite(session):
        index = f"{id_column.class_.__tablename__}_fts"
        match = " ".join(f'"{term}"*' for term in terms)
        return id_column.in_(
            select(text("rowid"))
            .select_from(text(index))
            .where(text(f"{index} MATCH :match").bindparams(match=match))
        )
    # text_column starts with a space, so '% term%' is a word prefix, like FTS5's "term"*.
    return and_(*[text_column.like("% " + _escape_like(term) + "%", escape="\\") for term in terms])


def digits_within(
    session: Session,
    *,
    id_column: InstrumentedAttribute[int],
    text_column: InstrumentedAttribute[Any],
    digits: str,
) -> ColumnElement[bool]:
    """Rows whose `text_column` holds `digits` (only digits) anywhere."""
    if _sqlite(session):
        index = f"{id_column.class_.__tablename__}_fts"
        return id_column.in_(
            select(text("rowid"))
            .select_from(text(index))
            .where(text(f"{index} MATCH :digits").bindparams(digits=f'"{digits}"'))
        )
    return text_column.like(f"%{digits}%")


def json_list_holds(
    session: Session, column: InstrumentedAttribute[Any], value: str
) -> ColumnElement[bool]:
    """Rows whose JSON list in `column` holds `value`."""
    if _sqlite(session):
        table, name = column.class_.__tablename__, column.key
        return text(
            f"EXISTS (SELECT 1 FROM json_each({table}.{name}) WHERE json_each.value = :value)"
        ).bindparams(value=value)
    return column.op("@>")(func.jsonb_build_array(value))
