"""Lead statuses (P5) and changes scheduled for a time, applied by `clientcard worker`."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from clientcard.audit import service as audit
from clientcard.auth.actor import Actor, Permission, system_actor
from clientcard.base import utcnow
from clientcard.customers.models import Customer
from clientcard.errors import Conflict, DomainError, Forbidden, Invalid, NotFound
from clientcard.statuses.models import LeadStatus, ScheduledChange
from clientcard.statuses.schemas import LeadStatusCreate, LeadStatusUpdate, ScheduledChangeCreate

log = logging.getLogger("clientcard.worker")
SCHEDULER = system_actor("scheduler")


def _require_admin(actor: Actor) -> None:
    if not actor.is_admin:
        raise Forbidden("only administrators configure lead statuses")


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


def _customer(session: Session, customer_id: int) -> Customer:
    customer = session.get(Customer, customer_id)
    if customer is None or customer.deleted_at is not None:
        raise NotFound(f"customer {customer_id} does not exist")
    return customer


def schedule(
    session: Session, *, actor: Actor, customer_id: int, data: ScheduledChangeCreate
) -> ScheduledChange:
    actor.require(Permission.CUSTOMER_WRITE)
    _customer(session, customer_id)
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
    actor.require(Permission.CUSTOMER_READ)
    _customer(session, customer_id)
    return list(
        session.scalars(
            select(ScheduledChange)
            .where(ScheduledChange.customer_id == customer_id)
            .order_by(ScheduledChange.due_at.desc(), ScheduledChange.id.desc())
        )
    )


def cancel(session: Session, *, actor: Actor, customer_id: int, change_id: int) -> ScheduledChange:
    """Cancels a change that has not been applied yet."""
    actor.require(Permission.CUSTOMER_WRITE)
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


def apply_due(session: Session, *, now: dt.datetime, limit: int) -> int:
    """Applies up to `limit` due changes in this transaction; returns how many were handled.

    The rows are claimed with FOR UPDATE SKIP LOCKED (PostgreSQL), so any number of workers
    can run and each change is applied exactly once; on SQLite the write transaction holds
    the database lock. A change that can no longer be applied (customer deleted, status
    retired) is marked failed with the reason; the others go on.
    """
    from clientcard.customers import service as customers
    from clientcard.customers.schemas import CustomerUpdate

    due = list(
        session.scalars(
            select(ScheduledChange)
            .where(ScheduledChange.state == "pending", ScheduledChange.due_at <= now)
            .order_by(ScheduledChange.due_at, ScheduledChange.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    )
    for change in due:
        try:
            with session.begin_nested():
                customers.update_customer(
                    session,
                    actor=SCHEDULER,
                    customer_id=change.customer_id,
                    data=CustomerUpdate(lead_status=change.value),
                    expected_version=None,
                    origin="scheduler",
                )
        except DomainError as exc:
            change.state, change.error = "failed", exc.detail
            log.warning("scheduled change %s failed: %s", change.id, exc.detail)
        else:
            change.state = "applied"
        change.applied_at = utcnow()
    return len(due)
