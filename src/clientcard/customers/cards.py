"""Reading cards on the hot path (the screen pop and the card view).

A card read is one statement: the customers a key selects (at most `LOOKUP_LIMIT`, most
recently active first) left-joined to their contact points. One statement is one snapshot
on both databases, so the read needs no transaction of its own, and it is one round trip to
PostgreSQL. Each statement is compiled once per dialect; its rows pass through the columns'
own result processors straight into the API shape as plain dicts. The screen pop reads them
outside any session (`read_rows`, see `Database.fetch_all`) and serializes them as they
are; `read` runs the same statement inside a session and wraps the dicts in the response
models, built without validating the rows again (they come from our own tables).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Dialect, Select, bindparam, select
from sqlalchemy.orm import Session

from clientcard.contacts.models import ContactPoint
from clientcard.contacts.normalize import PHONE_TYPES
from clientcard.contacts.schemas import ContactPointRead
from clientcard.customers.models import Customer
from clientcard.customers.schemas import CustomerRead, gravatar_for
from clientcard.db import Database

LOOKUP_LIMIT = 20
_customers = Customer.__table__
_points = ContactPoint.__table__
_CARD_FIELDS = [n for n in CustomerRead.model_fields if n not in ("avatar_url", "contact_points")]
_POINT_FIELDS = list(ContactPointRead.model_fields)
_POINT_PREFIX = "point_"


def _cards(*where: ColumnElement[bool]) -> Select[Any]:
    chosen = (
        select(*[_customers.c[name] for name in _CARD_FIELDS])
        .where(*where)
        .order_by(_customers.c.last_interaction_at.desc().nulls_last(), _customers.c.id.desc())
        .limit(LOOKUP_LIMIT)
        .subquery("chosen")
    )
    points = [_points.c[name].label(_POINT_PREFIX + name) for name in _POINT_FIELDS]
    return (
        select(chosen, *points)
        .outerjoin(_points, _points.c.customer_id == chosen.c.id)
        .order_by(chosen.c.last_interaction_at.desc().nulls_last(), chosen.c.id.desc())
        .order_by(_points.c.id)
    )


def _owners(types: list[str]) -> Select[Any]:
    owners = select(_points.c.customer_id).where(
        _points.c.normalized == bindparam("normalized"), _points.c.type.in_(types)
    )
    return _cards(_customers.c.id.in_(owners), _customers.c.deleted_at.is_(None))


OWNERS_OF_PHONE = _owners(sorted(PHONE_TYPES))
OWNERS_OF_EMAIL = _owners(["email"])
BY_ID = _cards(_customers.c.id == bindparam("customer_id"))


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
    built once per statement and dialect."""
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


async def read_rows(
    db: Database, statement: Select[Any], params: dict[str, Any]
) -> list[dict[str, Any]]:
    """The cards a statement of this module selects, as dicts in the API shape
    (`CustomerRead` with its `contact_points`), read outside any session
    (`Database.fetch_all`)."""
    compiled = compile_for(statement, db.read_dialect, params)
    return _assemble(compiled, await db.fetch_all(compiled.sql, compiled.values(params)))


def rows(
    cursor: Any, dialect: Dialect, statement: Select[Any], params: dict[str, Any]
) -> list[dict[str, Any]]:
    """`read_rows` on a cursor the caller holds."""
    compiled = compile_for(statement, dialect, params)
    return _assemble(compiled, compiled.execute(cursor, params))


def _assemble(compiled: Compiled, fetched: list[Any]) -> list[dict[str, Any]]:
    width = len(_CARD_FIELDS)
    card_fields = tuple(zip(_CARD_FIELDS, compiled.processors[:width], strict=True))
    point_fields = tuple(zip(_POINT_FIELDS, compiled.processors[width:], strict=True))
    cards: list[dict[str, Any]] = []
    card: dict[str, Any] = {"id": None}
    for row in fetched:
        if row[0] != card["id"]:  # the customer's columns repeat on each of its points
            card = {n: p(v) if p else v for (n, p), v in zip(card_fields, row, strict=False)}
            card["avatar_url"] = None
            card["contact_points"] = []
            cards.append(card)
        if row[width] is None:  # a customer without contact points
            continue
        point = {n: p(v) if p else v for (n, p), v in zip(point_fields, row[width:], strict=True)}
        card["contact_points"].append(point)
        if point["type"] == "email" and point["primary"] and card["avatar_url"] is None:
            card["avatar_url"] = gravatar_for(point["normalized"])
    return cards


def read(session: Session, statement: Select[Any], params: dict[str, Any]) -> list[CustomerRead]:
    """The same cards as `rows`, read inside the session's transaction, as models."""
    connection = session.connection()
    cursor = connection.connection.driver_connection.cursor()
    try:
        found = rows(cursor, connection.dialect, statement, params)
    finally:
        cursor.close()
    for card in found:
        card["contact_points"] = [
            ContactPointRead.model_construct(**p) for p in card["contact_points"]
        ]
    return [CustomerRead.model_construct(**card) for card in found]
