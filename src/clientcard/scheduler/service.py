"""Applying scheduled changes when they fall due: a use case above the lead statuses (which
hold the changes) and the customers (whose card each change edits)."""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select
from sqlalchemy.orm import Session

from clientcard.auth.actor import system_actor
from clientcard.base import utcnow
from clientcard.customers import service as customers
from clientcard.customers.schemas import CustomerUpdate
from clientcard.errors import DomainError
from clientcard.statuses.models import ScheduledChange

log = logging.getLogger("clientcard.worker")
SCHEDULER = system_actor("scheduler")


def apply_due(session: Session, *, now: dt.datetime, limit: int) -> int:
    """Applies up to `limit` due changes in this transaction; returns how many were handled.

    The rows are claimed with FOR UPDATE SKIP LOCKED, so any number of workers can run and
    each change is applied exactly once (where writers are serialized, the write transaction
    holds the database lock). A change that can no longer be applied (customer deleted, status
    retired) is marked failed with the reason; the others go on.
    """
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
