"""Reading cards on the hot path (the screen pop and the card view).

A screen pop is two indexed queries; most of its cost used to be SQLAlchemy building,
compiling and executing statements and loading ORM objects, not the database. Here each
statement is compiled once per dialect, run on the session's own DB-API connection (inside
its transaction), and its rows pass through the columns' own result processors straight
into the API shape.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Dialect, Select, bindparam, select
from sqlalchemy.orm import Session

from clientcard.contacts.models import ContactPoint
from clientcard.contacts.normalize import PHONE_TYPES
from clientcard.contacts.schemas import ContactPointRead
from clientcard.customers.models import Customer
from clientcard.customers.schemas import CustomerRead, gravatar_url

LOOKUP_LIMIT = 20
_customers = Customer.__table__
_points = ContactPoint.__table__


def _owners(types: list[str]) -> Select[Any]:
    owners = select(_points.c.customer_id).where(
        _points.c.normalized == bindparam("normalized"), _points.c.type.in_(types)
    )
    return (
        select(_customers)
        .where(_customers.c.id.in_(owners), _customers.c.deleted_at.is_(None))
        .order_by(_customers.c.last_interaction_at.desc().nulls_last(), _customers.c.id.desc())
        .limit(LOOKUP_LIMIT)
    )


OWNERS_OF_PHONE = _owners(sorted(PHONE_TYPES))
OWNERS_OF_EMAIL = _owners(["email"])
BY_ID = select(_customers).where(_customers.c.id == bindparam("customer_id"))
POINTS_OF = (
    select(_points).where(_points.c.customer_id == bindparam("customer_id")).order_by(_points.c.id)
)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    defaults: dict[str, Any]  # the statement's own parameters (IN lists, LIMIT)
    positional: tuple[str, ...] | None  # parameter order for positional paramstyles
    columns: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def run(self, cursor: Any, params: dict[str, Any]) -> list[dict[str, Any]]:
        merged = {**self.defaults, **params}
        values = tuple(merged[n] for n in self.positional) if self.positional else merged
        cursor.execute(self.sql, values)
        pairs = tuple(zip(self.columns, self.processors, strict=True))
        return [
            {
                name: (process(value) if process else value)
                for (name, process), value in zip(pairs, row, strict=True)
            }
            for row in cursor.fetchall()
        ]


_compiled: dict[tuple[str, int], _Compiled] = {}


def _compile(statement: Select[Any], dialect: Dialect, params: dict[str, Any]) -> _Compiled:
    key = (dialect.name, id(statement))
    found = _compiled.get(key)
    if found is None:
        placeholders = dict.fromkeys(params)
        expanded = statement.compile(dialect=dialect).construct_expanded_state(placeholders)
        columns = tuple(c.name for c in statement.selected_columns)
        processors = tuple(
            c.type.dialect_impl(dialect).result_processor(dialect, None)
            for c in statement.selected_columns
        )
        positional = tuple(expanded.positiontup) if expanded.positiontup else None
        found = _compiled[key] = _Compiled(
            expanded.statement, dict(expanded.parameters), positional, columns, processors
        )
    return found


def read(session: Session, statement: Select[Any], params: dict[str, Any]) -> list[CustomerRead]:
    """Runs a statement over customers and returns their cards with their contact points.

    The rows come from our own tables through the columns' result processors, so they
    already hold the API's types: the shapes are built without validating them again."""
    connection = session.connection()
    dialect = connection.dialect
    cursor = connection.connection.driver_connection.cursor()
    try:
        rows = _compile(statement, dialect, params).run(cursor, params)
        cards = []
        for row in rows:
            of_customer = {"customer_id": row["id"]}
            points = [
                ContactPointRead.model_construct(**p)
                for p in _compile(POINTS_OF, dialect, of_customer).run(cursor, of_customer)
            ]
            row.update(contact_points=points, avatar_url=gravatar_url(points))
            cards.append(CustomerRead.model_construct(**row))
        return cards
    finally:
        cursor.close()
