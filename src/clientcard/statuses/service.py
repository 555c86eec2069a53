"""Lead statuses (P5) and changes scheduled for a time (applied by `clientcard.scheduler`)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from clientcard import access
from clientcard.audit import service as audit
from clientcard.auth.actor import Actor, Permission
from clientcard.base import utcnow
from clientcard.errors import Conflict, Invalid, NotFound
from clientcard.statuses.models import LeadStatus, ScheduledChange
from clientcard.statuses.schemas import LeadStatusCreate, LeadStatusUpdate, ScheduledChangeCreate


def _require_admin(actor: Actor) -> None:
    actor.require(Permission.LEAD_STATUS_MANAGE, "only administrators configure lead statuses")


def list_statuses(session: Session, *, actor: Actor) -> list[LeadStatus]:
    actor.require(Permission.CUSTOMER_READ)
    return list(session.scalars(select(LeadStatus).order_by(LeadStatus.position, LeadStatus.key)))


def create_status(session: Session, *, actor: Actor, data: LeadStatusCreate) -> LeadStatus:
    _require_admin(actor)
    if session.get(LeadStatus, data.key) is not None:
        raise Conflict(f"lead status {data.key!r} exists", errors=[])
    status = LeadStatus(key=data.key, label=data.label, position=data.position, active=True)
    session.add(status)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        entity="lead_status",
        entity_id=0,
        customer_id=None,
        snapshot={"key": status.key, "label": status.label, "position": status.position},
    )
    return status


def update_status(
    session: Session, *, actor: Actor, key: str, data: LeadStatusUpdate
) -> LeadStatus:
    _require_admin(actor)
    status = session.get(LeadStatus, key)
    if status is None:
        raise NotFound(f"lead status {key!r} does not exist")
    given = data.model_dump(exclude_unset=True)
    for name in given:
        if given[name] is None:
            raise Invalid.field(name, "may not be null")
    before = {"label": status.label, "position": status.position, "active": status.active}
    for name, value in given.items():
        setattr(status, name, value)
    changes = audit.diff(before, {n: getattr(status, n) for n in before})
    if changes:
        changes["key"] = {"before": key, "after": key}
        audit.record(
            session,
            actor=actor,
            action="lead_status.updated",
            entity="lead_status",
            entity_id=0,
            customer_id=None,
            changes=changes,
        )
    return status


def check_status(session: Session, key: str, *, field: str = "lead_status") -> None:
    """A lead status a customer may be given: one that exists and is active."""
    status = session.get(LeadStatus, key)
    if status is None or not status.active:
        raise Invalid.field(field, f"{key!r} is not an active lead status")


# ---- scheduled changes ---------------------------------------------------------------------


def schedule(
    session: Session, *, actor: Actor, customer_id: int, data: ScheduledChangeCreate
) -> ScheduledChange:
    access.writable(session, actor, customer_id)
    check_status(session, data.value, field="value")
    if data.due_at <= utcnow():
        raise Invalid.field("due_at", "must be in the future")
    change = ScheduledChange(
        customer_id=customer_id,
        field=data.field,
        value=data.value,
        due_at=data.due_at.astimezone(dt.UTC),
        state="pending",
        created_by=actor.username,
    )
    session.add(change)
    session.flush()
    audit.record_created(
        session,
        actor=actor,
        entity="scheduled_change",
        entity_id=change.id,
        customer_id=customer_id,
        snapshot={"field": change.field, "value": change.value, "due_at": change.due_at},
    )
    return change


def list_scheduled(session: Session, *, actor: Actor, customer_id: int) -> list[ScheduledChange]:
    access.readable(session, actor, customer_id)
    return list(
        session.scalars(
            select(ScheduledChange)
            .where(ScheduledChange.customer_id == customer_id)
            .order_by(ScheduledChange.due_at.desc(), ScheduledChange.id.desc())
        )
    )


def cancel(session: Session, *, actor: Actor, customer_id: int, change_id: int) -> ScheduledChange:
    """Cancels a change that has not been applied yet."""
    access.writable(session, actor, customer_id)
    change = session.scalars(
        select(ScheduledChange)
        .where(ScheduledChange.id == change_id, ScheduledChange.customer_id == customer_id)
        .with_for_update()
    ).one_or_none()
    if change is None:
        raise NotFound(f"scheduled change {change_id} does not exist on customer {customer_id}")
    if change.state != "pending":
        raise Conflict(f"the change is already {change.state}")
    change.state = "cancelled"
    change.cancelled_at = utcnow()
    change.cancelled_by = actor.username
    audit.record(
        session,
        actor=actor,
        action="scheduled_change.cancelled",
        entity="scheduled_change",
        entity_id=change.id,
        customer_id=customer_id,
        changes={"state": {"before": "pending", "after": "cancelled"}},
    )
    return change
