"""The explicit screen pop: a channel platform says a contact is ringing for an agent."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from clientcard.auth.actor import Actor, Permission
from clientcard.auth.models import User
from clientcard.customers import service as customers
from clientcard.errors import FieldError, Invalid, NotFound
from clientcard.live import bus, events
from clientcard.live.schemas import ScreenPopIn, ScreenPopRead


def screen_pop(session: Session, *, actor: Actor, data: ScreenPopIn) -> ScreenPopRead:
    """Finds the card (by id, or by the caller's address) and pops it on the agent's pages
    once the unit of work ends. Nothing is stored."""
    actor.require(Permission.INTERACTION_INGEST)
    if (data.customer_id is None) == (not data.from_):
        message = "give either customer_id or from"
        raise Invalid(
            message,
            errors=[FieldError("customer_id", message), FieldError("from", message)],
        )
    agent = session.scalar(
        select(User.username).where(User.username == data.agent, User.active.is_(True))
    )
    if agent is None:
        raise NotFound(
            f"no active user {data.agent!r}", errors=[FieldError("agent", "no such active user")]
        )
    if data.customer_id is not None:
        card = customers.read_card(session, actor=actor, customer_id=data.customer_id)
        if card.deleted_at is not None:
            raise NotFound(f"customer {data.customer_id} does not exist")
        candidates = [card.id]
    else:
        address = data.from_ or ""
        by_email = "@" in address
        try:
            cards = customers.lookup(
                session,
                actor=actor,
                phone=None if by_email else address,
                email=address if by_email else None,
                region=None,
            )
        except Invalid as exc:
            raise Invalid.field("from", "; ".join(e.message for e in exc.errors)) from exc
        if not cards:
            raise NotFound(
                f"no customer owns {address!r}",
                errors=[FieldError("from", "no customer owns this address")],
            )
        candidates = [c.id for c in cards]
    bus.publish(
        session, [events.screen_pop(agent, customer_id=candidates[0], channel=data.channel)]
    )
    return ScreenPopRead(
        agent=agent,
        customer_id=candidates[0],
        channel=data.channel,
        url=f"/customers/{candidates[0]}",
        candidates=candidates,
    )
