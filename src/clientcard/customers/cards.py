"""Reading cards on the hot path (the screen pop and the card view).

A card read is one statement: the customers a key selects (at most `LOOKUP_LIMIT`, most
recently active first) left-joined to their contact points. One statement is one snapshot
on both databases, so the read needs no transaction of its own, and it is one round trip to
a database server. Each statement is compiled once (`db.fastread.compile_for`); its rows
pass through the columns' own result processors straight into the API shape as plain
dicts. The screen pop reads them outside any session (`read_rows`, see
`Database.fetch_all`) and serializes them as they are; `read` runs the same statement
inside a session and wraps the dicts in the response models, built without validating the
rows again (they come from our own tables).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Select,
    bindparam,
    func,
    select,
    true,
)
from sqlalchemy.orm import Session

from clientcard.contacts.models import PHONE_TYPES, ContactPoint
from clientcard.contacts.schemas import ContactPointRead
from clientcard.customers.models import Customer
from clientcard.customers.schemas import CustomerRead, gravatar_for
from clientcard.db import Database, fastread
from clientcard.db.coalesce import Coalescer

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
    """`_owners` for a list of keys in one statement (read where reads cross the network,
    `read_owners`): for each key, in the list's order, the key itself and then the rows
    `_owners` gives for it alone."""
    wanted = (
        func.unnest(fastread.text_list("keys"))
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


async def read_rows(
    db: Database, statement: Select[Any], params: dict[str, Any]
) -> list[dict[str, Any]]:
    """The cards a statement of this module selects, as dicts in the API shape
    (`CustomerRead` with its `contact_points`), read outside any session
    (`Database.fetch_all`)."""
    compiled = fastread.compile_read(db, statement, params)
    fetched = await db.fetch_all(compiled.sql, compiled.values(params))
    return _assemble(compiled.processors, fetched)


async def read_owners(db: Database, owners: Owners, key: str) -> list[dict[str, Any]]:
    """The cards of the customers who own the normalized contact point `key`, as
    `read_rows` gives them. Where reads run in process, a read costs less than any
    batching could save, so each key is its own read. Where they cross the network, the
    look-ups in flight together share one statement and one round trip
    (`db.fastread.coalescer`); keys that arrive alone are read alone, with no wait."""
    if db.reads_in_process:
        return await read_rows(db, owners.one, {"normalized": key})
    return await _coalescer(db, owners).get(key)


def _coalescer(db: Database, owners: Owners) -> Coalescer[str, list[dict[str, Any]]]:
    async def read(database: Database, keys: list[str]) -> dict[str, list[dict[str, Any]]]:
        return await _read_keys(database, owners.many, keys)

    return fastread.coalescer(db, f"owners of {owners.name}", read, missing=list)


async def _read_keys(
    db: Database, statement: Select[Any], keys: list[str]
) -> dict[str, list[dict[str, Any]]]:
    params = {"keys": keys}
    compiled = fastread.compile_read(db, statement, params)
    by_key: dict[str, list[Any]] = {}
    for row in await db.fetch_all(compiled.sql, compiled.values(params)):
        by_key.setdefault(row[0], []).append(row[1:])
    after_key = compiled.processors[1:]  # after the key's column
    return {key: _assemble(after_key, found) for key, found in by_key.items()}


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
    found = _assemble(*fastread.fetch_in_session(session, statement, params))
    for card in found:
        card["contact_points"] = [
            ContactPointRead.model_construct(**p) for p in card["contact_points"]
        ]
    return [CustomerRead.model_construct(**card) for card in found]
