"""The change history: append-only entries written in the same transaction as the change."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from clientcard.audit.models import AuditEntry
from clientcard.auth.actor import Actor, Permission
from clientcard.base import utcnow
from clientcard.db import insert_many
from clientcard.pagination import MAX_LIMIT, decode_cursor, encode_cursor


def jsonable(value: Any) -> Any:
    """A value as it is written on the wire, so that before/after read like the API."""
    if isinstance(value, dt.datetime | dt.date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    return value


def diff(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field-by-field {"before", "after"} of the keys whose values differ."""
    changes = {}
    for key in before.keys() | after.keys():
        old, new = jsonable(before.get(key)), jsonable(after.get(key))
        if old != new:
            changes[key] = {"before": old, "after": new}
    return dict(sorted(changes.items()))


def record(
    session: Session,
    *,
    actor: Actor,
    action: str,
    entity: str,
    entity_id: int,
    customer_id: int | None,
    changes: dict[str, dict[str, Any]],
    origin: str = "api",
) -> AuditEntry:
    entry = AuditEntry(
        origin=origin,
        actor_id=actor.user_id,
        actor=actor.username,
        action=action,
        entity=entity,
        entity_id=entity_id,
        customer_id=customer_id,
        changes=changes,
    )
    session.add(entry)
    return entry


def record_created(
    session: Session,
    *,
    actor: Actor,
    entity: str,
    entity_id: int,
    customer_id: int | None,
    snapshot: dict[str, Any],
    origin: str = "api",
) -> AuditEntry:
    changes = created_changes(snapshot)
    return record(
        session,
        actor=actor,
        action=f"{entity}.created",
        entity=entity,
        entity_id=entity_id,
        customer_id=customer_id,
        changes=changes,
        origin=origin,
    )


def created_changes(snapshot: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The changes of a creation: every field given a value, from nothing."""
    return diff({}, {k: v for k, v in snapshot.items() if v not in (None, [], "", {})})


def record_created_many(
    session: Session,
    *,
    actor: Actor,
    entity: str,
    created: Sequence[tuple[int, int | None, dict[str, Any]]],
    origin: str = "api",
) -> None:
    """`record_created` for many rows of one entity, each given as (entity id, customer id,
    snapshot), in one INSERT; the entries do not enter the session."""
    now = utcnow()
    entries = [
        {
            "at": now,
            "actor_id": actor.user_id,
            "actor": actor.username,
            "action": f"{entity}.created",
            "entity": entity,
            "entity_id": entity_id,
            "customer_id": customer_id,
            "changes": created_changes(snapshot),
            "origin": origin,
        }
        for entity_id, customer_id, snapshot in created
    ]
    insert_many(session.connection(), AuditEntry.__table__, entries)


def customer_history(
    session: Session, *, actor: Actor, customer_id: int, cursor: str | None, limit: int
) -> tuple[list[AuditEntry], str | None]:
    """The customer's entries, newest first, keyset-paginated by entry id."""
    actor.require(Permission.HISTORY_READ)
    limit = max(1, min(limit, MAX_LIMIT))
    query = select(AuditEntry).where(AuditEntry.customer_id == customer_id)
    if cursor:
        (last_id,) = decode_cursor(cursor, kinds=(int,))
        query = query.where(AuditEntry.id < last_id)
    rows = list(session.scalars(query.order_by(AuditEntry.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    return rows[:limit], next_cursor
