"""Who may see or change a customer, and everything that belongs to one: the one place.

Every service that reads or writes a customer or an object under one (contact points,
cases with their notes and comments, interactions, accounts, relations, campaign records,
custom group records, attachments, scheduled changes, the history, the timeline, the
dashboard, the live stream) asks here, and nowhere else decides it. The rules
(docs/permissions.md has them by role):

- Reading needs the permission the caller names (`customer.read` unless the object has its
  own, such as `case.read`). A customer that does not exist and a soft-deleted one asked
  for by someone without `customer.read_deleted` get the same 404: the answer never
  reveals that a deleted card exists.
- A hidden customer is only left out of lists and search; the card itself and everything
  under it stay reachable (the screen pop finds it).
- Writing needs `customer.write` (or the named permission) and a live customer, whose row
  is locked for the rest of the transaction. A deleted customer is a 404 to whoever may
  not see it, and a 409 ("restore it first") to whoever may: nothing is written under a
  deleted card.
- A change to anything that is part of the card makes a new version of the card (`touch`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Select, select, true
from sqlalchemy.orm import Session

from clientcard.auth.actor import Actor, Permission
from clientcard.base import utcnow
from clientcard.customers.models import Customer
from clientcard.errors import Conflict, NotFound, PreconditionFailed


class _HasDeletedAt(Protocol):
    @property
    def deleted_at(self) -> Any: ...


def sees_deleted(actor: Actor) -> bool:
    """Whether the actor may see soft-deleted customers and what is under them."""
    return actor.can(Permission.CUSTOMER_READ_DELETED)


def may_read(actor: Actor, customer: _HasDeletedAt | None) -> bool:
    """Whether `customer` (a row, a card, or None when it does not exist) is visible."""
    return customer is not None and (customer.deleted_at is None or sees_deleted(actor))


def not_found(customer_id: int) -> NotFound:
    return NotFound(f"customer {customer_id} does not exist")


def check_readable(actor: Actor, customer: Customer | None, customer_id: int) -> Customer:
    """`customer`, loaded by the caller, if the actor may see it; else the 404."""
    if customer is None or not may_read(actor, customer):
        raise not_found(customer_id)
    return customer


def readable(
    session: Session,
    actor: Actor,
    customer_id: int,
    *,
    permission: Permission = Permission.CUSTOMER_READ,
    options: Sequence[Any] = (),
) -> Customer:
    """The customer, if the actor holds `permission` and may see it."""
    actor.require(permission)
    customer = session.get(Customer, customer_id, options=options)
    return check_readable(actor, customer, customer_id)


def visible(actor: Actor) -> ColumnElement[bool]:
    """The SQL condition on `Customer` that keeps what the actor may see, for lists and
    joins of objects under customers (join `Customer` on the object's `customer_id`)."""
    return true() if sees_deleted(actor) else Customer.deleted_at.is_(None)


def join_visible(query: Select[Any], actor: Actor, customer_id: Any) -> Select[Any]:
    """`query` restricted to rows whose customer (`customer_id`, a column of the query's
    entity) the actor may see."""
    query = query.join(Customer, Customer.id == customer_id)
    return query if sees_deleted(actor) else query.where(Customer.deleted_at.is_(None))


def check_writable(actor: Actor, customer: Customer | None, customer_id: int) -> Customer:
    """`customer`, loaded (and locked) by the caller, if it may be changed: a 404 when the
    actor may not see it, a 409 when it is deleted."""
    if customer is None or not may_read(actor, customer):
        raise not_found(customer_id)
    if customer.deleted_at is not None:
        raise Conflict(f"customer {customer_id} is deleted: restore it before changing it")
    return customer


def locked(session: Session, customer_ids: Iterable[int]) -> dict[int, Customer]:
    """The named customers, deleted ones included, locked in id order (two writers locking
    the same pair cannot deadlock). Rows already in the session are read again."""
    ids = sorted(set(customer_ids))
    if not ids:
        return {}
    found = session.scalars(
        select(Customer)
        .where(Customer.id.in_(ids))
        .order_by(Customer.id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    return {customer.id: customer for customer in found}


def writable(
    session: Session,
    actor: Actor,
    customer_id: int,
    *,
    permission: Permission = Permission.CUSTOMER_WRITE,
    expected_version: int | None = None,
) -> Customer:
    """The customer, locked, if the actor holds `permission` and it is live; with
    `expected_version`, a 412 unless the card is at that version."""
    actor.require(permission)
    customer = check_writable(actor, locked(session, [customer_id]).get(customer_id), customer_id)
    check_version(customer, expected_version)
    return customer


def writable_with_other(
    session: Session, actor: Actor, customer_id: int, other_id: int
) -> tuple[Customer, Customer | None]:
    """For a change that spans two cards (a relation): the customer as `writable` gives it,
    and the other one if it is live (None otherwise), both locked in id order so that two
    writers working on the same pair from either side cannot deadlock."""
    actor.require(Permission.CUSTOMER_WRITE)
    found = locked(session, [customer_id, other_id])
    customer = check_writable(actor, found.get(customer_id), customer_id)
    other = found.get(other_id)
    return customer, other if other is not None and other.deleted_at is None else None


def deleted_for_restore(session: Session, actor: Actor, customer_id: int) -> Customer:
    """A soft-deleted customer, locked, for an actor allowed to restore it."""
    actor.require(Permission.CUSTOMER_RESTORE)
    customer = locked(session, [customer_id]).get(customer_id)
    if customer is None or customer.deleted_at is None:
        raise NotFound(f"deleted customer {customer_id} does not exist")
    return customer


def check_version(customer: Customer, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != customer.version:
        raise PreconditionFailed(
            f"customer {customer.id} is at version {customer.version}, not {expected_version}; "
            "reload it and apply the change again",
            current_version=customer.version,
        )


def touch(customer: Customer, actor: Actor) -> None:
    """A change to anything on the card makes a new version of the card."""
    customer.updated_at = utcnow()
    customer.updated_by = actor.username
    customer.version += 1
