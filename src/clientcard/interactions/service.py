"""Interactions: reading one, the ambiguous ones and resolving them; a customer's
last-interaction date. Ingestion, which creates them, is a use case above
(`clientcard.ingestion`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.orm import Session

from clientcard import access
from clientcard.audit import service as audit
from clientcard.auth.actor import Actor, Permission
from clientcard.customers.models import Customer
from clientcard.errors import Conflict, Invalid, NotFound
from clientcard.interactions.models import Interaction
from clientcard.live import bus as live
from clientcard.live import events as live_events
from clientcard.pagination import MAX_LIMIT, decode_cursor, encode_cursor


def move_last_interaction(session: Session, latest: dict[int, dt.datetime]) -> None:
    """Moves each customer's last-interaction date forward (never back). Not a card edit:
    the version stays, so an agent's open form does not go stale."""
    if not latest:
        return
    table = Customer.__table__
    statement = (
        update(table)
        .where(table.c.id == bindparam("b_id"))
        .where(
            or_(
                table.c.last_interaction_at.is_(None),
                table.c.last_interaction_at < bindparam("b_at"),
            )
        )
        .values(last_interaction_at=bindparam("b_at"))
    )
    session.connection().execute(
        statement, [{"b_id": cid, "b_at": at} for cid, at in sorted(latest.items())]
    )


# ---- reading -----------------------------------------------------------------------------


def get_interaction(session: Session, *, actor: Actor, interaction_id: int) -> Interaction:
    actor.require(Permission.INTERACTION_READ)
    interaction = session.get(Interaction, interaction_id)
    if interaction is None or not access.may_read(
        actor, session.get(Customer, interaction.customer_id)
    ):
        raise NotFound(f"interaction {interaction_id} does not exist")
    return interaction


def list_ambiguous(
    session: Session, *, actor: Actor, cursor: str | None, limit: int
) -> tuple[list[Interaction], str | None]:
    """Interactions whose contact point matched several customers, newest first."""
    actor.require(Permission.INTERACTION_READ)
    limit = max(1, min(limit, MAX_LIMIT))
    query = access.join_visible(
        select(Interaction).where(Interaction.ambiguous.is_(True)), actor, Interaction.customer_id
    )
    if cursor:
        (last_id,) = decode_cursor(cursor, kinds=(int,))
        query = query.where(Interaction.id < last_id)
    rows = list(session.scalars(query.order_by(Interaction.id.desc()).limit(limit + 1)))
    next_cursor = encode_cursor([rows[limit - 1].id]) if len(rows) > limit else None
    return rows[:limit], next_cursor


def resolve_ambiguous(
    session: Session, *, actor: Actor, interaction_id: int, customer_id: int
) -> Interaction:
    """An agent names the right customer of an ambiguous interaction."""
    actor.require(Permission.CUSTOMER_WRITE)
    owner_id = session.scalar(
        select(Interaction.customer_id).where(Interaction.id == interaction_id)
    )
    if owner_id is None:
        raise NotFound(f"interaction {interaction_id} does not exist")
    # Both cards change (the interaction leaves one timeline for the other): both locked,
    # customers first as everywhere, and nothing moves off or onto a deleted card.
    try:
        _, target = access.writable_with_other(session, actor, owner_id, customer_id)
    except NotFound:
        raise NotFound(f"interaction {interaction_id} does not exist") from None
    if target is None:
        raise Invalid.field("customer_id", f"customer {customer_id} does not exist")
    interaction = session.scalars(
        select(Interaction)
        .where(Interaction.id == interaction_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    if interaction.customer_id != owner_id:
        raise Conflict(f"interaction {interaction_id} was resolved at the same time; reload it")
    before = {"customer_id": interaction.customer_id, "ambiguous": interaction.ambiguous}
    interaction.customer_id = customer_id
    interaction.ambiguous = False
    changes = audit.diff(before, {"customer_id": customer_id, "ambiguous": False})
    for affected in {before["customer_id"], customer_id}:
        audit.record(
            session,
            actor=actor,
            action="interaction.resolved",
            entity="interaction",
            entity_id=interaction.id,
            customer_id=affected,
            changes=changes,
        )
    move_last_interaction(session, {customer_id: interaction.started_at})
    live.publish(
        session,
        [
            live_events.timeline_changed(before["customer_id"]),
            live_events.interactions_added(customer_id, [interaction.id]),
        ],
    )
    return interaction
