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

import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Dialect,
    FromClause,
    Select,
    String,
    bindparam,
    func,
    select,
    true,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from clientcard.coalesce import Coalescer
from clientcard.contacts.models import PHONE_TYPES, ContactPoint
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


def _chosen(*where: ColumnElement[bool]) -> Select[Any]:
    return (
        select(*[_customers.c[name] for name in _CARD_FIELDS])
        .where(*where)
        .order_by(_customers.c.last_interaction_at.desc().nulls_last(), _customers.c.id.desc())
        .limit(LOOKUP_LIMIT)
    )


def _with_points(query: Select[Any], chosen: FromClause) -> Select[Any]:
    """`query` over the chosen customers, left-joined to their contact points."""
    points = [_points.c[name].label(_POINT_PREFIX + name) for name in _POINT_FIELDS]
    return (
        query.add_columns(*points)
        .outerjoin(_points, _points.c.customer_id == chosen.c.id)
        .order_by(chosen.c.last_interaction_at.desc().nulls_last(), chosen.c.id.desc())
        .order_by(_points.c.id)
    )


def _cards(*where: ColumnElement[bool]) -> Select[Any]:
    chosen = _chosen(*where).subquery("chosen")
    return _with_points(select(chosen), chosen)


def _owners(types: list[str]) -> Select[Any]:
    owners = select(_points.c.customer_id).where(
        _points.c.normalized == bindparam("normalized"), _points.c.type.in_(types)
    )
    return _cards(_customers.c.id.in_(owners), _customers.c.deleted_at.is_(None))


def _owners_of_keys(types: list[str]) -> Select[Any]:
    """`_owners` for a list of keys in one statement (PostgreSQL): for each key, in the
    list's order, the key itself and then the rows `_owners` gives for it alone."""
    wanted = (
        func.unnest(bindparam("keys", type_=postgresql.ARRAY(String)))
        .table_valued("key", with_ordinality="n")
        .render_derived()
        .alias("wanted")
    )
    owners = (
        select(_points.c.customer_id)
        .where(_points.c.normalized == wanted.c.key, _points.c.type.in_(types))
        .correlate(wanted)
    )
    chosen = _chosen(_customers.c.id.in_(owners), _customers.c.deleted_at.is_(None)).lateral(
        "chosen"
    )
    query = select(wanted.c.key, chosen).select_from(wanted).join(chosen, true())
    return _with_points(query.order_by(wanted.c.n), chosen)


@dataclass(frozen=True)
class Owners:
    """The screen pop's read of the customers who own a normalized contact point: `one`
    for a single key, `many` for a list of keys (see `read_owners`)."""

    name: str
    one: Select[Any]
    many: Select[Any]


OWNERS_OF_PHONE = _owners(sorted(PHONE_TYPES))
OWNERS_OF_EMAIL = _owners(["email"])
PHONE_OWNERS = Owners("phone", OWNERS_OF_PHONE, _owners_of_keys(sorted(PHONE_TYPES)))
EMAIL_OWNERS = Owners("email", OWNERS_OF_EMAIL, _owners_of_keys(["email"]))
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
    fetched = await db.fetch_all(compiled.sql, compiled.values(params))
    return _assemble(compiled.processors, fetched)


async def read_owners(db: Database, owners: Owners, key: str) -> list[dict[str, Any]]:
    """The cards of the customers who own the normalized contact point `key`, as
    `read_rows` gives them. On SQLite a read of the file costs less than any batching
    could save, so each key is its own read. On PostgreSQL the look-ups in flight together
    share one statement and one round trip (`clientcard.coalesce`); keys that arrive
    alone are read alone, with no wait."""
    if db.is_sqlite:
        return await read_rows(db, owners.one, {"normalized": key})
    return await _coalescer(db, owners).get(key)


_coalescers: weakref.WeakKeyDictionary[Database, dict[str, Coalescer[str, Any]]] = (
    weakref.WeakKeyDictionary()
)


def _coalescer(db: Database, owners: Owners) -> Coalescer[str, list[dict[str, Any]]]:
    per_database = _coalescers.setdefault(db, {})
    found = per_database.get(owners.name)
    if found is None:
        database = weakref.ref(db)  # not the database itself: the entry would never go

        async def read(keys: list[str]) -> dict[str, list[dict[str, Any]]]:
            return await _read_keys(database(), owners.many, keys)  # type: ignore[arg-type]

        found = per_database[owners.name] = Coalescer(
            read, missing=list, concurrency=db.async_pool_size
        )
    return found


async def _read_keys(
    db: Database, statement: Select[Any], keys: list[str]
) -> dict[str, list[dict[str, Any]]]:
    params = {"keys": keys}
    compiled = compile_for(statement, db.read_dialect, params)
    by_key: dict[str, list[Any]] = {}
    for row in await db.fetch_all(compiled.sql, compiled.values(params)):
        by_key.setdefault(row[0], []).append(row[1:])
    processors = compiled.processors[1:]  # after the key's column
    return {key: _assemble(processors, found) for key, found in by_key.items()}


def rows(
    cursor: Any, dialect: Dialect, statement: Select[Any], params: dict[str, Any]
) -> list[dict[str, Any]]:
    """`read_rows` on a cursor the caller holds."""
    compiled = compile_for(statement, dialect, params)
    return _assemble(compiled.processors, compiled.execute(cursor, params))


def _assemble(
    processors: tuple[Callable[[Any], Any] | None, ...], fetched: list[Any]
) -> list[dict[str, Any]]:
    width = len(_CARD_FIELDS)
    card_fields = tuple(zip(_CARD_FIELDS, processors[:width], strict=True))
    point_fields = tuple(zip(_POINT_FIELDS, processors[width:], strict=True))
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
