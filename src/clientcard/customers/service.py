"""Customers: create, read, update, delete, restore, list and search, screen-pop look-up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Select, select, tuple_
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

from clientcard import access
from clientcard.addresses import (
    check_region,
    normalize_email,
    normalize_phone,
    phone_line,
)
from clientcard.audit import service as audit
from clientcard.auth.actor import Actor, Permission
from clientcard.auth.models import User
from clientcard.base import utcnow
from clientcard.contacts import service as contacts
from clientcard.contacts.models import ContactPoint
from clientcard.context import settings_of
from clientcard.custom_fields import service as custom_fields
from clientcard.customers import cards, search
from clientcard.customers.models import Customer
from clientcard.customers.rows import DERIVED_FROM, derived_columns, new_rows
from clientcard.customers.schemas import CustomerCreate, CustomerRead, CustomerUpdate
from clientcard.db import Database, insert_many, reserve_ids
from clientcard.errors import (
    Conflict,
    ErrorCollector,
    FieldError,
    Forbidden,
    Invalid,
)
from clientcard.pagination import MAX_LIMIT, decode_cursor, encode_cursor
from clientcard.statuses import service as statuses

PROFILE_FIELDS = (
    "kind",
    "first_name",
    "last_name",
    "company_name",
    "company_id",
    "identification_type",
    "identification_number",
    "gender",
    "birth_date",
    "language",
    "tags",
    "note",
    "vip",
    "hidden",
    "assigned_to",
    "lead_status",
    "rating",
    "custom",
    "lead_source",
)
# Writes made by the system on nobody's behalf: required custom fields are not demanded.
SYSTEM_ORIGINS = frozenset({"ingestion", "scheduler", "demo"})
NOT_NULLABLE = frozenset({"kind", "tags", "vip", "hidden", "custom"})
MAX_TAG_LENGTH = 50


def snapshot(customer: Customer) -> dict[str, Any]:
    return {name: getattr(customer, name) for name in PROFILE_FIELDS}


def snapshot_of(row: dict[str, Any]) -> dict[str, Any]:
    """`snapshot` of a customer row not loaded as an object."""
    return {name: row[name] for name in PROFILE_FIELDS}


def _changes(before: dict[str, Any], after: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Field-by-field changes; custom values are listed each as `custom.<key>`."""
    flat = {k: v for k, v in before.items() if k != "custom"}
    flat.update({f"custom.{k}": v for k, v in (before.get("custom") or {}).items()})
    new = {k: v for k, v in after.items() if k != "custom"}
    new.update({f"custom.{k}": v for k, v in (after.get("custom") or {}).items()})
    return audit.diff(flat, new)


def _check_owner(session: Session, actor: Actor, *, before: int | None, after: int | None):
    """P4: anyone who may edit sets an owner on an unowned card; only an administrator or
    the current owner changes or removes it."""
    if after == before:
        return
    if before is not None and not (
        actor.can(Permission.CUSTOMER_REASSIGN) or actor.user_id == before
    ):
        raise Forbidden(
            "only an administrator or the current owner may change or remove the owner",
            errors=[FieldError("assigned_to", "not yours to change")],
        )
    if after is not None:
        user = session.get(User, after)
        if user is None or not user.active:
            raise Invalid.field("assigned_to", f"user {after} does not exist or is inactive")


def _check_lead_status(session: Session, *, before: str | None, after: str | None) -> None:
    if after is not None and after != before:
        statuses.check_status(session, after)


def display_name(customer: Customer) -> str:
    if customer.kind == "company":
        return customer.company_name or ""
    return " ".join(p for p in (customer.first_name, customer.last_name) if p)


def _clean_profile(values: dict[str, Any], *, reachable: bool) -> dict[str, Any]:
    """Applies the profile's rules to a complete set of values; reports every broken one.
    `reachable`: the customer has a contact point, so a person may go without a name
    (a lead that wrote in from an unknown address)."""
    errors = ErrorCollector()
    values = dict(values)
    for name in (
        "first_name",
        "last_name",
        "company_name",
        "identification_type",
        "note",
        "identification_number",
        "language",
    ):
        if isinstance(values.get(name), str):
            values[name] = values[name].strip() or None
    if values["identification_type"]:
        values["identification_type"] = values["identification_type"].lower()
    if values["identification_number"]:
        values["identification_number"] = (
            values["identification_number"].replace(" ", "").replace("-", "").upper()
        )
    if bool(values["identification_type"]) != bool(values["identification_number"]):
        missing = (
            "identification_type"
            if not values["identification_type"]
            else ("identification_number")
        )
        errors.add(missing, "identification needs both a document type and a number")

    if values["kind"] == "person":
        if not values["first_name"] and not values["last_name"] and not reachable:
            errors.add("first_name", "a person needs a first name, a last name or a contact point")
    else:
        if not values["company_name"]:
            errors.add("company_name", "a company needs a company name")
        if values["company_id"] is not None:
            errors.add("company_id", "a company cannot belong to another company")
        for name in ("gender", "birth_date"):
            if values[name] is not None:
                errors.add(name, "is only for persons")

    birth_date = values["birth_date"]
    if birth_date is not None and (
        birth_date > dt.date.today() or birth_date < dt.date(1900, 1, 1)
    ):
        errors.add("birth_date", "must lie between 1900-01-01 and today")

    if values.get("lead_source"):
        values["lead_source"] = {k: v for k, v in values["lead_source"].items() if v is not None}
    values["lead_source"] = values.get("lead_source") or None

    tags: list[str] = []
    for index, tag in enumerate(values["tags"]):
        tag = tag.strip()
        if not tag or len(tag) > MAX_TAG_LENGTH:
            errors.add(f"tags.{index}", f"a tag has 1 to {MAX_TAG_LENGTH} characters")
        elif tag not in tags:
            tags.append(tag)
    values["tags"] = tags
    errors.raise_if_any()
    return values


def _check_company(session: Session, company_id: int | None, *, self_id: int | None) -> None:
    if company_id is None:
        return
    company = session.get(Customer, company_id)
    if company_id == self_id:
        raise Invalid.field("company_id", "a customer cannot belong to itself")
    if company is None or company.deleted_at is not None:
        raise Invalid.field("company_id", f"customer {company_id} does not exist")
    if company.kind != "company":
        raise Invalid.field("company_id", f"customer {company_id} is not a company")


def _check_identification_free(session: Session, values: dict[str, Any], *, self_id: int | None):
    if not values["identification_number"]:
        return
    other = session.scalars(
        select(Customer.id).where(
            Customer.identification_type == values["identification_type"],
            Customer.identification_number == values["identification_number"],
            Customer.deleted_at.is_(None),
            Customer.id != (self_id or 0),
        )
    ).first()
    if other is not None:
        raise Conflict(
            f"customer {other} already has this identification",
            errors=[FieldError("identification_number", "already belongs to another customer")],
            existing_id=other,
        )


def _derive(customer: Customer) -> None:
    """Keeps the search and sort columns in step with the profile."""
    for name, value in derived_columns(
        {name: getattr(customer, name) for name in DERIVED_FROM}
    ).items():
        setattr(customer, name, value)


def create_customer(
    session: Session,
    *,
    actor: Actor,
    data: CustomerCreate,
    origin: str = "api",
) -> Customer:
    return create_customers(session, actor=actor, items=[data], origin=origin)[0]


def create_customers(
    session: Session,
    *,
    actor: Actor,
    items: Sequence[CustomerCreate],
    origin: str = "api",
) -> list[Customer]:
    """Creates customers with their contact points, each checked and recorded as
    `create_customer` does, with one flush for the customers and their points however many
    they are. Their rows are built by `customers.rows.new_rows`, as `create_leads` builds
    them."""
    actor.require(Permission.CUSTOMER_WRITE)
    profiles = [_checked_values(session, actor=actor, data=data, origin=origin) for data in items]
    points = [
        contacts.new_point_rows(session, data.contact_points, field_prefix="contact_points.")
        for data in items
    ]
    now = utcnow()
    customers = []
    for profile, point_values in zip(profiles, points, strict=True):
        row, point_rows = new_rows(profile, point_values, by=actor.username, at=now)
        customers.append(
            Customer(**row, contact_points=[ContactPoint(**point) for point in point_rows])
        )
    session.add_all(customers)
    _flush_guarded(session)
    for customer in customers:
        audit.record_created(
            session,
            actor=actor,
            entity="customer",
            entity_id=customer.id,
            customer_id=customer.id,
            snapshot=snapshot(customer),
            origin=origin,
        )
    for customer in customers:
        contacts.record_points(
            session, actor=actor, customer=customer, points=customer.contact_points, origin=origin
        )
    return customers


def _checked_values(
    session: Session, *, actor: Actor, data: CustomerCreate, origin: str
) -> dict[str, Any]:
    """The profile of a new customer, checked: every field of `PROFILE_FIELDS`."""
    values = _clean_profile(
        data.model_dump(exclude={"contact_points"}), reachable=bool(data.contact_points)
    )
    enforce_required = origin not in SYSTEM_ORIGINS
    if data.custom or enforce_required:  # a lead from ingestion has nothing to check
        values["custom"] = custom_fields.check_values(
            session,
            values=data.custom,
            current=None,
            enforce_required=enforce_required,
        )
    _check_company(session, values["company_id"], self_id=None)
    _check_identification_free(session, values, self_id=None)
    _check_owner(session, actor, before=None, after=values["assigned_to"])
    _check_lead_status(session, before=None, after=values["lead_status"])
    return values


def create_leads(
    session: Session,
    *,
    actor: Actor,
    items: Sequence[CustomerCreate],
    origin: str = "ingestion",
) -> list[int]:
    """`create_customers` for the new leads of an ingestion batch, returning their ids: the
    same checks, rows and history, written as one multi-row INSERT per table rather than
    as ORM objects. A batch of 1,000 interactions brings dozens of unknown addresses, and
    the ORM's per-object work for them (a customer, a contact point, two history entries
    each) cost more than the rest of the batch's writes (docs/benchmarks.md). The rows do
    not enter the session: callers get ids, not objects."""
    actor.require(Permission.CUSTOMER_WRITE)
    if not items:
        return []
    connection = session.connection()
    profiles = [_checked_values(session, actor=actor, data=data, origin=origin) for data in items]
    points = [
        contacts.new_point_rows(session, data.contact_points, field_prefix="contact_points.")
        for data in items
    ]
    now = utcnow()
    ids = reserve_ids(connection, Customer.__table__, len(items))
    built = [
        new_rows(profile, point_values, by=actor.username, at=now)
        for profile, point_values in zip(profiles, points, strict=True)
    ]
    customer_rows = [{**row, "id": id_} for id_, (row, _) in zip(ids, built, strict=True)]
    insert_many(connection, Customer.__table__, customer_rows)
    point_ids = iter(reserve_ids(connection, ContactPoint.__table__, sum(map(len, points))))
    point_rows = [
        {**row, "id": next(point_ids), "customer_id": id_}
        for id_, (_, rows) in zip(ids, built, strict=True)
        for row in rows
    ]
    insert_many(connection, ContactPoint.__table__, point_rows)
    audit.record_created_many(
        session,
        actor=actor,
        entity="customer",
        created=[(row["id"], row["id"], snapshot_of(row)) for row in customer_rows],
        origin=origin,
    )
    audit.record_created_many(
        session,
        actor=actor,
        entity="contact_point",
        created=[(row["id"], row["customer_id"], contacts.snapshot_of(row)) for row in point_rows],
        origin=origin,
    )
    return ids


def _flush_guarded(session: Session) -> None:
    """Flushes; a unique index that a concurrent writer beat us to is a 409, not a 500."""
    try:
        session.flush()
    except IntegrityError as exc:
        raise Conflict("the change collides with data written at the same time") from exc


def get_customer(session: Session, *, actor: Actor, customer_id: int) -> Customer:
    return access.readable(
        session, actor, customer_id, options=[selectinload(Customer.contact_points)]
    )


def update_customer(
    session: Session,
    *,
    actor: Actor,
    customer_id: int,
    data: CustomerUpdate,
    expected_version: int | None,
    origin: str = "api",
) -> Customer:
    customer = access.writable(session, actor, customer_id, expected_version=expected_version)
    given = data.model_dump(exclude_unset=True)
    errors = ErrorCollector()
    for name in NOT_NULLABLE & given.keys():
        if given[name] is None:
            errors.add(name, "may not be null")
    errors.raise_if_any()

    before = snapshot(customer)
    if given.get("custom") is not None:
        # Custom values are checked when they are written; a PATCH without `custom`
        # leaves them alone, so a field made required later blocks no other edit.
        given["custom"] = custom_fields.check_values(
            session,
            values=given["custom"],
            current=before["custom"],
            enforce_required=origin not in SYSTEM_ORIGINS,
        )
    values = _clean_profile({**before, **given}, reachable=bool(customer.contact_points))
    if values["company_id"] != before["company_id"]:
        _check_company(session, values["company_id"], self_id=customer.id)
    if (values["identification_type"], values["identification_number"]) != (
        before["identification_type"],
        before["identification_number"],
    ):
        _check_identification_free(session, values, self_id=customer.id)
    if values["kind"] == "person" and before["kind"] == "company":
        _check_no_members(session, customer)
    _check_owner(session, actor, before=before["assigned_to"], after=values["assigned_to"])
    _check_lead_status(session, before=before["lead_status"], after=values["lead_status"])

    changes = _changes(before, values)
    if not changes:
        return customer
    for name in PROFILE_FIELDS:
        if values[name] != before[name]:
            setattr(customer, name, values[name])
    _derive(customer)
    access.touch(customer, actor)
    _flush_guarded(session)
    audit.record(
        session,
        actor=actor,
        action="customer.updated",
        entity="customer",
        entity_id=customer.id,
        customer_id=customer.id,
        changes=changes,
        origin=origin,
    )
    return customer


def _check_no_members(session: Session, company: Customer) -> None:
    member = session.scalars(
        select(Customer.id).where(Customer.company_id == company.id, Customer.deleted_at.is_(None))
    ).first()
    if member is not None:
        raise Invalid.field("kind", "a company with people cannot become a person")


def delete_customer(
    session: Session, *, actor: Actor, customer_id: int, expected_version: int | None
) -> Customer:
    """Soft delete: the card leaves lists and look-ups; an administrator can restore it."""
    customer = access.writable(
        session,
        actor,
        customer_id,
        permission=Permission.CUSTOMER_DELETE,
        expected_version=expected_version,
    )
    now = utcnow()
    customer.deleted_at = now
    customer.deleted_by = actor.username
    access.touch(customer, actor)
    audit.record(
        session,
        actor=actor,
        action="customer.deleted",
        entity="customer",
        entity_id=customer.id,
        customer_id=customer.id,
        changes=audit.diff({"deleted_at": None}, {"deleted_at": now}),
    )
    return customer


def restore_customer(session: Session, *, actor: Actor, customer_id: int) -> Customer:
    customer = access.deleted_for_restore(session, actor, customer_id)
    _check_identification_free(session, snapshot(customer), self_id=customer.id)
    before = customer.deleted_at
    customer.deleted_at = None
    customer.deleted_by = None
    access.touch(customer, actor)
    _flush_guarded(session)
    audit.record(
        session,
        actor=actor,
        action="customer.restored",
        entity="customer",
        entity_id=customer.id,
        customer_id=customer.id,
        changes=audit.diff({"deleted_at": before}, {"deleted_at": None}),
    )
    return customer


# ---- lists and search ------------------------------------------------------------------

SortKey = Literal["-created_at", "created_at", "name", "-updated_at"]


@dataclass(frozen=True)
class CustomerFilter:
    q: str | None = None
    kind: str | None = None
    vip: bool | None = None
    tag: str | None = None
    company_id: int | None = None
    include_hidden: bool = False
    deleted: bool = False
    sort: SortKey = "-created_at"


def _sort_columns(sort: SortKey) -> tuple[list[Any], bool, tuple[type, ...]]:
    """The columns a sort orders by (always ending in id), its direction, cursor types."""
    if sort == "name":
        return [Customer.sort_name, Customer.id], False, (str, int)
    if sort == "-updated_at":
        return [Customer.updated_at, Customer.id], True, (dt.datetime, int)
    return [Customer.id], sort == "-created_at", (int,)


def _cursor_values(customer: Customer, sort: SortKey) -> list[Any]:
    if sort == "name":
        return [customer.sort_name, customer.id]
    if sort == "-updated_at":
        return [customer.updated_at, customer.id]
    return [customer.id]


def _filtered(session: Session, filters: CustomerFilter) -> Select[Any]:
    """The customers a list's filters select (before sorting and paging)."""
    query = select(Customer).where(
        Customer.deleted_at.is_not(None) if filters.deleted else Customer.deleted_at.is_(None)
    )
    if not filters.include_hidden:
        query = query.where(Customer.hidden.is_(False))
    if filters.kind:
        query = query.where(Customer.kind == filters.kind)
    if filters.vip is not None:
        query = query.where(Customer.vip.is_(filters.vip))
    if filters.company_id is not None:
        query = query.where(Customer.company_id == filters.company_id)
    if filters.tag:
        query = query.where(search.has_tag(session, filters.tag))
    if filters.q:
        parsed = search.classify(filters.q, region=settings_of(session).default_region)
        if parsed is not None:
            query = query.where(search.condition(session, parsed))
    return query


def _check_list_access(actor: Actor, filters: CustomerFilter) -> None:
    actor.require(Permission.CUSTOMER_READ)
    if filters.deleted:
        actor.require(Permission.CUSTOMER_READ_DELETED)


def list_customers(
    session: Session,
    *,
    actor: Actor,
    filters: CustomerFilter,
    cursor: str | None,
    limit: int,
) -> tuple[list[Customer], str | None]:
    _check_list_access(actor, filters)
    limit = max(1, min(limit, MAX_LIMIT))
    query = _filtered(session, filters)
    columns, descending, kinds = _sort_columns(filters.sort)
    if cursor:
        values = decode_cursor(cursor, kinds=kinds)
        key = tuple_(*columns)
        query = query.where(key < tuple_(*values) if descending else key > tuple_(*values))
    query = query.order_by(*[c.desc() if descending else c.asc() for c in columns])

    rows = list(
        session.scalars(query.limit(limit + 1).options(selectinload(Customer.contact_points)))
    )
    page = rows[:limit]
    next_cursor = (
        encode_cursor(_cursor_values(page[-1], filters.sort)) if len(rows) > limit else None
    )
    return page, next_cursor


def neighbours(
    session: Session,
    *,
    actor: Actor,
    filters: CustomerFilter,
    customer_id: int,
) -> tuple[int | None, int | None]:
    """P11: the ids before and after a customer in the list the agent came from (the same
    filters and sort); (None, None) when the customer is not in that list."""
    _check_list_access(actor, filters)
    query = _filtered(session, filters)
    if session.scalars(query.where(Customer.id == customer_id)).first() is None:
        return None, None
    customer = session.get(Customer, customer_id)
    columns, descending, _ = _sort_columns(filters.sort)
    key = tuple_(*columns)
    here = tuple_(*[getattr(customer, c.key) for c in columns])
    later = query.where(key < here if descending else key > here).order_by(
        *[c.desc() if descending else c.asc() for c in columns]
    )
    earlier = query.where(key > here if descending else key < here).order_by(
        *[c.asc() if descending else c.desc() for c in columns]
    )
    previous_id = session.scalars(earlier.with_only_columns(Customer.id).limit(1)).first()
    next_id = session.scalars(later.with_only_columns(Customer.id).limit(1)).first()
    return previous_id, next_id


def lookup(
    session: Session,
    *,
    actor: Actor,
    phone: str | None,
    email: str | None,
    region: str | None,
) -> list[CustomerRead]:
    """The screen pop: the cards that own a phone number or an e-mail, most recently active
    first. Hidden customers are found too; deleted ones are not."""
    owners, key = _screen_pop(actor, phone, email, region or settings_of(session).default_region)
    return cards.read(session, owners.one, {"normalized": key})


async def lookup_cards(
    db: Database,
    *,
    actor: Actor,
    phone: str | None,
    email: str | None,
    region: str | None,
) -> list[dict[str, Any]]:
    """`lookup` for the screen-pop route: the same cards as plain dicts in the API shape,
    read outside any session (see `cards.read_owners`)."""
    owners, key = _screen_pop(actor, phone, email, region or db.settings.default_region)
    return await cards.read_owners(db, owners, key)


def _screen_pop(
    actor: Actor, phone: str | None, email: str | None, region: str
) -> tuple[cards.Owners, str]:
    """What a screen pop reads, and its key: the normalized phone number (read in `region`
    when national) or e-mail."""
    actor.require(Permission.CUSTOMER_READ)
    if bool(phone) == bool(email):
        raise Invalid(
            "give either phone or email",
            errors=[
                FieldError("phone", "give either phone or email"),
                FieldError("email", "give either phone or email"),
            ],
        )
    if phone:
        region = check_region(region)
        line = phone_line(phone, region)  # cached: the same callers ring again
        normalized = line[0] if line else normalize_phone(phone, region=region, field="phone")
        return cards.PHONE_OWNERS, normalized
    return cards.EMAIL_OWNERS, normalize_email(email or "", field="email")


def read_card(session: Session, *, actor: Actor, customer_id: int) -> CustomerRead:
    """The card as the API shows it (the GET of a card is the second-hottest call)."""
    actor.require(Permission.CUSTOMER_READ)
    found = cards.read(session, cards.BY_ID, {"customer_id": customer_id})
    if not found or not access.may_read(actor, found[0]):
        raise access.not_found(customer_id)
    return found[0]


def customer_history(
    session: Session, *, actor: Actor, customer_id: int, cursor: str | None, limit: int
) -> tuple[list[Any], str | None]:
    """The change history of a card the actor may see."""
    access.readable(session, actor, customer_id, permission=Permission.HISTORY_READ)
    return audit.customer_history(
        session, actor=actor, customer_id=customer_id, cursor=cursor, limit=limit
    )
